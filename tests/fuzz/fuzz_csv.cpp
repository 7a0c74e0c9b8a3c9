// Fuzz target for the CSV tokenizer and the CSV event and catalog readers.
// Checks, beyond "no crash, no hang": every record is either accepted or rejected
// (records == accepted + rejected, accepted == events delivered), and each well-formed record
// survives a round trip (fields written back fully quoted parse to the same fields).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "tailor/io/csv.hpp"
#include "reader_invariants.hpp"
#include "tailor/io/readers.hpp"

namespace {

using tailor::fuzz::check;

std::string quote_all(const std::vector<std::string>& fields, char delimiter) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += delimiter;
    out += '"';
    for (char c : fields[i]) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  return out + "\r\n";
}

void tokenize(const std::string& text, char delimiter) {
  tailor::CsvOptions opt;
  opt.delimiter = delimiter;
  opt.max_field_bytes = 64;
  opt.max_record_bytes = 256;
  std::istringstream in(text);
  tailor::CsvReader csv(in, "fuzz.csv", opt);
  std::uint64_t last_line = 0;
  while (csv.next_row()) {
    check(csv.size() >= 1);
    check(csv.line() > last_line);
    last_line = csv.line();
    std::vector<std::string> fields;
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < csv.size(); ++i) {
      fields.emplace_back(csv.field(i));
      bytes += fields.back().size();
      check(fields.back().size() <= opt.max_field_bytes);
    }
    check(bytes <= opt.max_record_bytes);
    if (csv.issue()) {
      check(!csv.rejection_for_issue().message().empty());
      continue;
    }
    std::istringstream again(quote_all(fields, delimiter));
    tailor::CsvOptions loose = opt;
    loose.max_field_bytes = loose.max_record_bytes = 4096;
    tailor::CsvReader csv2(again, "again.csv", loose);
    check(csv2.next_row());
    check(!csv2.issue());
    check(csv2.size() == fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i) check(csv2.field(i) == fields[i]);
    check(!csv2.next_row());
  }
}

void events(const std::string& text, tailor::ErrorPolicy policy) {
  tailor::EventReaderOptions opt;
  opt.value_field = "value";
  opt.value_non_negative = true;
  opt.policy = policy;
  opt.max_samples = 5;
  opt.csv.max_field_bytes = 128;
  opt.csv.max_record_bytes = 1024;
  tailor::fuzz::check_event_reader(
      [](auto&&... args) { return tailor::read_events_csv(args...); }, text, opt);
}

void catalog(const std::string& text) {
  tailor::fuzz::check_catalog_reader(
      [](auto&&... args) { return tailor::read_catalog_csv(args...); }, text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  tokenize(text, ',');
  tokenize(text, '\t');
  events(text, tailor::ErrorPolicy::lenient);
  events(text, tailor::ErrorPolicy::strict);
  catalog(text);
  return 0;
}
