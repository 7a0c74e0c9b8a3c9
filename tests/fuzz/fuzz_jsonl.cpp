// Fuzz target for the JSON Lines event and catalog readers: no crash or hang, only
// tailor::Error(parse_error) escapes, and every line is accepted, rejected or a blank line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "reader_invariants.hpp"
#include "tailor/io/readers.hpp"

namespace {

using tailor::fuzz::check;

void events(const std::string& text, tailor::ErrorPolicy policy) {
  tailor::EventReaderOptions opt;
  opt.value_field = "value";
  opt.session_field = "session";
  opt.query_field = "query";
  opt.policy = policy;
  opt.max_samples = 5;
  opt.csv.max_field_bytes = 512;
  opt.csv.max_record_bytes = 2048;
  tailor::fuzz::check_event_reader(
      [](auto&&... args) { return tailor::read_events_jsonl(args...); }, text, opt);
}

void catalog(const std::string& text) {
  tailor::fuzz::check_catalog_reader(
      [](auto&&... args) { return tailor::read_catalog_jsonl(args...); }, text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  events(text, tailor::ErrorPolicy::lenient);
  events(text, tailor::ErrorPolicy::strict);
  catalog(text);
  return 0;
}
