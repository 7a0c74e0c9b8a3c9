// Invariants the fuzz targets check on every reader run, beyond "no crash, no hang": only
// tailor::Error(parse_error) escapes, every record is accepted or rejected, every accepted record
// reaches the sink, and what reaches the sink obeys the readers' documented guarantees.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "tailor/io/readers.hpp"

namespace tailor::fuzz {

inline void check(bool ok) {
  if (!ok) std::abort();
}

/// Runs an event reader `read(istream&, name, options, sink)` over `text`.
template <class ReadFn>
void check_event_reader(ReadFn read, const std::string& text, const EventReaderOptions& opt) {
  std::istringstream in(text);
  std::uint64_t delivered = 0;
  try {
    const ReadReport report = read(in, "fuzz.input", opt, [&](Event&& e) {
      check(!e.user.empty() || !e.session.empty());
      check(!e.item.empty() || e.type == EventType::search);
      check(!opt.value_non_negative || !e.value || *e.value >= 0);
      ++delivered;
    });
    check(report.records == report.accepted + report.rejected);
    check(report.accepted == delivered);
    check(report.samples.size() <= opt.max_samples && report.samples.size() <= report.rejected);
    (void)report.to_json().dump();  // rejection text must stay valid UTF-8
  } catch (const Error& e) {
    check(e.code() == ErrorCode::parse_error);
  }
}

/// Runs a catalog reader `read(istream&, name, options, sink)` over `text`, lenient.
template <class ReadFn>
void check_catalog_reader(ReadFn read, const std::string& text) {
  CatalogReaderOptions opt;
  opt.policy = ErrorPolicy::lenient;
  std::istringstream in(text);
  std::uint64_t delivered = 0;
  try {
    const ReadReport report = read(in, "fuzz.input", opt, [&](CatalogItem&& item) {
      check(!item.id.empty());
      check(!item.price || *item.price >= 0);
      ++delivered;
    });
    check(report.records == report.accepted + report.rejected);
    check(report.accepted == delivered);
    (void)report.to_json().dump();
  } catch (const Error& e) {
    check(e.code() == ErrorCode::parse_error);
  }
}

}  // namespace tailor::fuzz
