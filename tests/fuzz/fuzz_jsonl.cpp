// Fuzz target for the JSON Lines event and catalog readers: no crash or hang, only
// tailor::Error(parse_error) escapes, and every line is accepted, rejected or a blank line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "tailor/readers.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void events(const std::string& text, tailor::ErrorPolicy policy) {
  tailor::EventReaderOptions opt;
  opt.value_field = "value";
  opt.session_field = "session";
  opt.query_field = "query";
  opt.policy = policy;
  opt.max_samples = 5;
  opt.csv.max_field_bytes = 512;
  opt.csv.max_record_bytes = 2048;
  std::istringstream in(text);
  std::uint64_t delivered = 0;
  try {
    const tailor::ReadReport report = tailor::read_events_jsonl(in, "fuzz.jsonl", opt, [&](tailor::Event&& e) {
      check(!e.user.empty() || !e.session.empty());
      check(!e.item.empty() || e.type == tailor::EventType::search);
      ++delivered;
    });
    check(report.records == report.accepted + report.rejected);
    check(report.accepted == delivered);
    check(report.samples.size() <= 5 && report.samples.size() <= report.rejected);
    (void)report.to_json().dump();
  } catch (const tailor::Error& e) {
    check(e.code() == tailor::ErrorCode::parse_error);
  }
}

void catalog(const std::string& text) {
  tailor::CatalogReaderOptions opt;
  opt.policy = tailor::ErrorPolicy::lenient;
  std::istringstream in(text);
  std::uint64_t delivered = 0;
  try {
    const tailor::ReadReport report = tailor::read_catalog_jsonl(in, "fuzz.jsonl", opt, [&](tailor::CatalogItem&& item) {
      check(!item.id.empty());
      check(!item.price || *item.price >= 0);
      ++delivered;
    });
    check(report.records == report.accepted + report.rejected);
    check(report.accepted == delivered);
  } catch (const tailor::Error& e) {
    check(e.code() == tailor::ErrorCode::parse_error);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  events(text, tailor::ErrorPolicy::lenient);
  events(text, tailor::ErrorPolicy::strict);
  catalog(text);
  return 0;
}
