// tailor: streaming readers of shopper events and catalog items from CSV and JSON Lines.
//
// Each reader hands every good record to a sink as it is read (memory does not grow with the
// file) and returns a ReadReport: how many records were accepted and rejected, counts by reason,
// and the first rejections with file:line, column and reason. In strict mode (the default) the
// first bad record throws ParseError instead. File-level problems (empty input, missing header,
// configured column not in the header) throw ParseError in both modes. Files may be gzip-compressed
// (detected by content). Exceptions thrown by the sink propagate unchanged.
//
// Example:
//   tailor::EventReaderOptions opt;
//   opt.user_field = "CustomerID"; opt.item_field = "StockCode"; opt.timestamp_field = "InvoiceDate";
//   opt.type_field = ""; opt.default_type = tailor::EventType::purchase;
//   opt.policy = tailor::ErrorPolicy::lenient;
//   auto report = tailor::read_events_csv("retail.csv.gz", opt, [&](tailor::Event&& e) { ... });
//   std::cout << report.to_json().dump(2);
//
// Thread-safety: the functions are thread-safe as long as the sink is (one reader per call).
#pragma once

#include <cstddef>
#include <functional>
#include <istream>
#include <string>

#include "tailor/core/export.hpp"
#include "tailor/io/csv.hpp"
#include "tailor/data/event.hpp"
#include "tailor/io/input.hpp"

namespace tailor {

/// How to read events. Field names are CSV header names or JSON keys; an empty name means the
/// field is absent. In CSV every non-empty name must be a header column (else
/// ParseError(missing_column)); in JSON Lines a key may be missing from a record, and then it is
/// absent for that record (a missing required key rejects the record with missing_value).
struct TAILOR_API EventReaderOptions {
  std::string user_field = "user_id";
  std::string item_field = "item_id";
  std::string type_field = "event_type";  ///< empty: every event gets default_type
  std::string timestamp_field = "timestamp";
  std::string value_field;                ///< rating / quantity / price; optional
  std::string session_field;              ///< optional
  std::string query_field;                ///< optional

  EventType default_type = EventType::view;  ///< for no type field, or an empty type value
  TimestampUnit timestamp_unit = TimestampUnit::auto_detect;
  bool require_timestamp = true;     ///< false: an empty/missing timestamp gives 0
  bool value_non_negative = false;   ///< reject negative values (e.g. ratings) as out_of_range
  // A record always needs a user or a session (anonymous events), and an item unless its type is
  // search. NaN or infinite values are always rejected as out_of_range.

  CsvOptions csv;                    ///< delimiter, size limits (CSV); size limits (JSON Lines)
  ErrorPolicy policy = ErrorPolicy::strict;
  std::size_t max_samples = 100;     ///< rejections kept in ReadReport::samples

  /// Throws Error(invalid_argument): empty user_field and session_field, empty item_field,
  /// empty timestamp_field with require_timestamp, duplicate field names, bad csv options,
  /// max_samples > 1'000'000.
  void validate() const;
};

/// Reads events from a CSV file (gzip or plain). Throws Error(io_error) if it cannot be opened.
TAILOR_API ReadReport read_events_csv(const std::string& path, const EventReaderOptions& options,
                                      const std::function<void(Event&&)>& sink,
                                      const EventTypeRegistry& types = EventTypeRegistry());
/// Same from a stream; `display_name` names it in messages.
TAILOR_API ReadReport read_events_csv(std::istream& in, const std::string& display_name,
                                      const EventReaderOptions& options,
                                      const std::function<void(Event&&)>& sink,
                                      const EventTypeRegistry& types = EventTypeRegistry());

/// Reads events from JSON Lines: one JSON object per line, blank lines skipped. IDs may be JSON
/// strings or integers; value a number (or numeric string); timestamp a number (epoch per
/// timestamp_unit) or a string (ISO-8601 or epoch).
TAILOR_API ReadReport read_events_jsonl(const std::string& path, const EventReaderOptions& options,
                                        const std::function<void(Event&&)>& sink,
                                        const EventTypeRegistry& types = EventTypeRegistry());
TAILOR_API ReadReport read_events_jsonl(std::istream& in, const std::string& display_name,
                                        const EventReaderOptions& options,
                                        const std::function<void(Event&&)>& sink,
                                        const EventTypeRegistry& types = EventTypeRegistry());

/// How to read catalog items. Only id_field is required; the others are used when present
/// (CSV header column or JSON key) and ignored when absent or named "".
struct TAILOR_API CatalogReaderOptions {
  std::string id_field = "item_id";
  std::string title_field = "title";
  std::string description_field = "description";
  std::string category_field = "category";  ///< a path "Home > Kitchen > Mugs" (see separators)
  std::string brand_field = "brand";
  std::string price_field = "price";        ///< must be a finite number >= 0 when non-empty
  std::string in_stock_field = "in_stock";  ///< true/false/1/0/yes/no; empty -> true
  std::string category_separators = ">/";   ///< any of these bytes splits the path; parts trimmed
  bool other_fields_as_attributes = true;   ///< other non-empty columns/keys -> attributes

  CsvOptions csv;
  ErrorPolicy policy = ErrorPolicy::strict;
  std::size_t max_samples = 100;

  /// Throws Error(invalid_argument): empty id_field, duplicate names, bad csv options.
  void validate() const;
};

TAILOR_API ReadReport read_catalog_csv(const std::string& path, const CatalogReaderOptions& options,
                                       const std::function<void(CatalogItem&&)>& sink);
TAILOR_API ReadReport read_catalog_csv(std::istream& in, const std::string& display_name,
                                       const CatalogReaderOptions& options,
                                       const std::function<void(CatalogItem&&)>& sink);

/// JSON Lines catalog: one object per line. "category" may be a string path or an array of
/// strings; attributes take strings, numbers and booleans (as text), other values as JSON text.
TAILOR_API ReadReport read_catalog_jsonl(const std::string& path,
                                         const CatalogReaderOptions& options,
                                         const std::function<void(CatalogItem&&)>& sink);
TAILOR_API ReadReport read_catalog_jsonl(std::istream& in, const std::string& display_name,
                                         const CatalogReaderOptions& options,
                                         const std::function<void(CatalogItem&&)>& sink);

/// Splits a category path on any of `separators`, trimming blanks and dropping empty parts:
/// split_category_path("Home > Kitchen/Mugs", ">/") == {"Home", "Kitchen", "Mugs"}.
TAILOR_API std::vector<std::string> split_category_path(std::string_view text,
                                                        std::string_view separators);

}  // namespace tailor
