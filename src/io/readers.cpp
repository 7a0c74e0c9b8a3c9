// Event and catalog readers for CSV and JSON Lines. Both formats reduce a record to text views of
// the configured fields, then share the checks that turn those views into an Event or CatalogItem.
#include "tailor/io/readers.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

namespace tailor {

namespace {

constexpr std::size_t kNoColumn = static_cast<std::size_t>(-1);
constexpr std::size_t kMaxJsonDepth = 64;

/// Why a record could not be used: the reason, the field name and specifics.
struct Problem {
  RejectReason reason;
  std::string field;
  std::string detail;
};

// ---------------------------------------------------------------------------------------------
// Events

enum EventSlot { kUser, kItem, kType, kTime, kValue, kSession, kQuery, kEventSlots };

const std::string& event_field_name(const EventReaderOptions& o, int slot) {
  switch (slot) {
    case kUser: return o.user_field;
    case kItem: return o.item_field;
    case kType: return o.type_field;
    case kTime: return o.timestamp_field;
    case kValue: return o.value_field;
    case kSession: return o.session_field;
    default: return o.query_field;
  }
}

/// Text of each configured field of one record; nullopt when the field is absent.
using EventText = std::optional<std::string_view>[kEventSlots];

std::optional<EventType> find_type(const EventTypeRegistry& types, std::string_view name) {
  if (auto t = types.find(name)) return t;
  if (name.size() > 64) return std::nullopt;
  char lower[64];
  bool changed = false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    changed = changed || lower[i] != c;
  }
  return changed ? types.find(std::string_view(lower, name.size())) : std::nullopt;
}

/// Fills `out` from `text`; returns the first problem, or nullopt if the event is good.
std::optional<Problem> build_event(const EventText& text, const EventReaderOptions& o,
                                   const EventTypeRegistry& types, Event& out) {
  auto get = [&](int slot) -> std::string_view {
    return text[slot] ? trim_blanks(*text[slot]) : std::string_view();
  };
  const std::string_view user = get(kUser), item = get(kItem), type = get(kType),
                         time = get(kTime), value = get(kValue), session = get(kSession);

  if (user.empty() && session.empty()) {
    return Problem{RejectReason::missing_value, o.user_field.empty() ? o.session_field : o.user_field,
                   o.session_field.empty() || o.user_field.empty()
                       ? "empty"
                       : "user and session are both empty"};
  }
  out.type = o.default_type;
  if (!type.empty()) {
    const auto t = find_type(types, type);
    if (!t) return Problem{RejectReason::unknown_event_type, o.type_field, quote_value(type)};
    out.type = *t;
  }
  if (item.empty() && out.type != EventType::search) {
    return Problem{RejectReason::missing_value, o.item_field, "empty"};
  }
  out.timestamp = 0;
  if (!time.empty()) {
    const auto ts = parse_timestamp(time, o.timestamp_unit);
    if (!ts) {
      return Problem{RejectReason::invalid_timestamp, o.timestamp_field,
                     quote_value(time) + " is not an ISO-8601 date-time or epoch number"};
    }
    out.timestamp = *ts;
  } else if (o.require_timestamp) {
    return Problem{RejectReason::missing_value, o.timestamp_field, "empty"};
  }
  out.value.reset();
  if (!value.empty()) {
    const auto v = parse_double(value);
    if (!v) return Problem{RejectReason::invalid_number, o.value_field, quote_value(value)};
    if (!std::isfinite(*v)) {
      return Problem{RejectReason::out_of_range, o.value_field, quote_value(value) + " is not finite"};
    }
    if (o.value_non_negative && *v < 0) {
      return Problem{RejectReason::out_of_range, o.value_field, quote_value(value) + " is negative"};
    }
    out.value = *v;
  }
  out.user.assign(user);
  out.item.assign(item);
  out.session.assign(session);
  out.query.assign(get(kQuery));
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Catalog items

enum CatalogSlot { kId, kTitle, kDescription, kCategory, kBrand, kPrice, kInStock, kCatalogSlots };

const std::string& catalog_field_name(const CatalogReaderOptions& o, int slot) {
  switch (slot) {
    case kId: return o.id_field;
    case kTitle: return o.title_field;
    case kDescription: return o.description_field;
    case kCategory: return o.category_field;
    case kBrand: return o.brand_field;
    case kPrice: return o.price_field;
    default: return o.in_stock_field;
  }
}

using CatalogText = std::optional<std::string_view>[kCatalogSlots];

/// Fills the fixed fields of `out` (not category when `category_done`, not attributes).
std::optional<Problem> build_item(const CatalogText& text, const CatalogReaderOptions& o,
                                  bool category_done, CatalogItem& out) {
  auto get = [&](int slot) -> std::string_view {
    return text[slot] ? *text[slot] : std::string_view();
  };
  const std::string_view id = trim_blanks(get(kId));
  if (id.empty()) return Problem{RejectReason::missing_value, o.id_field, "empty"};
  out.price.reset();
  const std::string_view price = trim_blanks(get(kPrice));
  if (!price.empty()) {
    const auto v = parse_double(price);
    if (!v) return Problem{RejectReason::invalid_number, o.price_field, quote_value(price)};
    if (!std::isfinite(*v) || *v < 0) {
      return Problem{RejectReason::out_of_range, o.price_field,
                     quote_value(price) + " is not a finite number >= 0"};
    }
    out.price = *v;
  }
  out.in_stock = true;
  const std::string_view stock = trim_blanks(get(kInStock));
  if (!stock.empty()) {
    const auto b = parse_bool(stock);
    if (!b) {
      return Problem{RejectReason::invalid_value, o.in_stock_field,
                     quote_value(stock) + " is not true/false/1/0/yes/no"};
    }
    out.in_stock = *b;
  }
  out.id.assign(id);
  out.title.assign(trim_blanks(get(kTitle)));
  out.description.assign(get(kDescription));
  out.brand.assign(trim_blanks(get(kBrand)));
  if (!category_done) out.category_path = split_category_path(get(kCategory), o.category_separators);
  return std::nullopt;
}

void check_unique(const std::vector<const std::string*>& names, const char* what) {
  std::set<std::string_view> seen;
  for (const std::string* name : names) {
    if (name->empty()) continue;
    TAILOR_REQUIRE(seen.insert(*name).second,
                   what << ": field name '" << *name << "' is configured twice");
  }
}

void check_samples(std::size_t max_samples, const char* what) {
  TAILOR_REQUIRE(max_samples <= 1000000,
                 what << ": max_samples must be <= 1000000, got " << max_samples);
}

// ---------------------------------------------------------------------------------------------
// CSV plumbing

/// Column index of each configured name (kNoColumn for ""), throwing missing_header when none of
/// the required names is in the header and missing_column for the first that is not.
template <std::size_t N>
void map_columns(const CsvReader& csv, const std::string* const (&names)[N],
                 const bool (&required)[N], std::size_t (&columns)[N]) {
  bool any = false;
  std::string wanted;
  for (std::size_t i = 0; i < N; ++i) {
    columns[i] = names[i]->empty() ? kNoColumn : csv.column(*names[i]).value_or(kNoColumn);
    any = any || columns[i] != kNoColumn;
    if (required[i] && !names[i]->empty()) {
      if (!wanted.empty()) wanted += ", ";
      wanted += quote_value(*names[i]);
    }
  }
  if (!any) {
    std::string found;
    for (std::size_t i = 0; i < csv.header().size() && i < 16; ++i) {
      if (i > 0) found += ", ";
      found += quote_value(csv.header()[i]);
    }
    throw ParseError(Rejection{csv.display_name(), csv.line(), "", RejectReason::missing_header,
                               "the first record does not name any configured column (wanted " +
                                   wanted + "; found " + found + ")"});
  }
  for (std::size_t i = 0; i < N; ++i) {
    if (required[i] && !names[i]->empty() && columns[i] == kNoColumn) csv.require_column(*names[i]);
  }
}

// ---------------------------------------------------------------------------------------------
// JSON Lines plumbing

/// Nesting depth of a JSON text, counting brackets outside strings; stops early past `limit`.
std::size_t json_depth(std::string_view line, std::size_t limit) {
  std::size_t depth = 0, max_depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max_depth = std::max(max_depth, ++depth);
      if (max_depth > limit) return max_depth;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

bool is_blank_line(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

/// Reads JSON Lines, parses each line into an object and hands it to `handle`, which returns a
/// Problem to reject the record. Bad lines (too long, invalid UTF-8, too deep, not JSON, not an
/// object) are rejected here.
template <typename Handle>
ReadReport read_jsonl(std::istream& in, const std::string& name, const CsvOptions& limits,
                      ErrorPolicy policy, std::size_t max_samples, Handle&& handle) {
  ReportBuilder report(name, policy, max_samples);
  LineReader lines(in, limits.max_record_bytes);
  bool any_bytes = false;
  nlohmann::json doc;
  while (lines.next()) {
    any_bytes = true;
    const std::string_view line = lines.line();
    auto reject = [&](RejectReason reason, std::string field, std::string detail) {
      report.reject(Rejection{name, lines.line_number(), std::move(field), reason, std::move(detail)});
    };
    if (lines.too_long()) {
      reject(RejectReason::record_too_large, "",
             "line is longer than max_record_bytes (" + std::to_string(limits.max_record_bytes) + ")");
      continue;
    }
    if (is_blank_line(line)) {
      report.blank_line();
      continue;
    }
    if (!is_valid_utf8(line)) {
      reject(RejectReason::invalid_utf8, "", "the line is not valid UTF-8");
      continue;
    }
    if (json_depth(line, kMaxJsonDepth) > kMaxJsonDepth) {
      reject(RejectReason::invalid_json, "",
             "nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      continue;
    }
    try {
      doc = nlohmann::json::parse(line.begin(), line.end());
    } catch (const nlohmann::json::exception& e) {
      // The message quotes input bytes and may cut a multi-byte character: keep it ASCII.
      std::string what;
      for (const char* c = e.what(); *c != '\0'; ++c) {
        if (static_cast<unsigned char>(*c) < 0x80) what += *c;
        else what += '?';
      }
      reject(RejectReason::invalid_json, "", std::move(what));
      continue;
    }
    if (!doc.is_object()) {
      reject(RejectReason::invalid_json, "",
             std::string("expected a JSON object, found ") + doc.type_name());
      continue;
    }
    if (std::optional<Problem> problem = handle(doc)) {
      reject(problem->reason, std::move(problem->field), std::move(problem->detail));
      continue;
    }
    report.accept();
  }
  if (!any_bytes) {
    throw ParseError(Rejection{name, 0, "", RejectReason::empty_file, "the input is empty"});
  }
  return report.take();
}

/// Text of a scalar JSON value: strings as they are, numbers formatted into `scratch`.
/// Null or a missing key is absent (nullopt). Other types yield a wrong_type problem.
std::optional<Problem> json_scalar(const nlohmann::json& doc, const std::string& key,
                                   std::string& scratch, std::optional<std::string_view>& out) {
  out.reset();
  if (key.empty()) return std::nullopt;
  const auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) {
    out = std::string_view(it->get_ref<const std::string&>());
  } else if (it->is_number()) {
    scratch = it->dump();
    out = std::string_view(scratch);
  } else {
    return Problem{RejectReason::wrong_type, key,
                   std::string("expected a string or number, found ") + it->type_name()};
  }
  return std::nullopt;
}

}  // namespace

// =============================================================================================
// Options

void EventReaderOptions::validate() const {
  TAILOR_REQUIRE(!user_field.empty() || !session_field.empty(),
                 "EventReaderOptions: user_field and session_field are both empty");
  TAILOR_REQUIRE(!item_field.empty(), "EventReaderOptions: item_field is empty");
  TAILOR_REQUIRE(!timestamp_field.empty() || !require_timestamp,
                 "EventReaderOptions: timestamp_field is empty but require_timestamp is set");
  check_unique({&user_field, &item_field, &type_field, &timestamp_field, &value_field,
                &session_field, &query_field},
               "EventReaderOptions");
  csv.validate();
  check_samples(max_samples, "EventReaderOptions");
}

void CatalogReaderOptions::validate() const {
  TAILOR_REQUIRE(!id_field.empty(), "CatalogReaderOptions: id_field is empty");
  check_unique({&id_field, &title_field, &description_field, &category_field, &brand_field,
                &price_field, &in_stock_field},
               "CatalogReaderOptions");
  csv.validate();
  check_samples(max_samples, "CatalogReaderOptions");
}

std::vector<std::string> split_category_path(std::string_view text, std::string_view separators) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t end = separators.empty() ? std::string_view::npos
                                         : text.find_first_of(separators, begin);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view part = trim_blanks(text.substr(begin, end - begin));
    if (!part.empty()) parts.emplace_back(part);
    begin = end + 1;
  }
  return parts;
}

// =============================================================================================
// Events

ReadReport read_events_csv(std::istream& in, const std::string& display_name,
                           const EventReaderOptions& options,
                           const std::function<void(Event&&)>& sink,
                           const EventTypeRegistry& types) {
  options.validate();
  TAILOR_REQUIRE(sink, "read of '" << display_name << "': the sink is empty");
  CsvReader csv(in, display_name, options.csv);
  csv.read_header();
  const std::string* const names[kEventSlots] = {
      &options.user_field,  &options.item_field,    &options.type_field, &options.timestamp_field,
      &options.value_field, &options.session_field, &options.query_field};
  const bool required[kEventSlots] = {true, true, true, true, true, true, true};
  std::size_t columns[kEventSlots];
  map_columns(csv, names, required, columns);

  ReportBuilder report(display_name, options.policy, options.max_samples);
  Event event;
  EventText text;
  while (csv.next_valid_row(report)) {
    for (int s = 0; s < kEventSlots; ++s) {
      text[s] = columns[s] == kNoColumn ? std::optional<std::string_view>()
                                        : std::optional<std::string_view>(csv.field(columns[s]));
    }
    if (auto problem = build_event(text, options, types, event)) {
      Rejection rejection = csv.rejection(problem->reason, kNoColumn, std::move(problem->detail));
      rejection.column = std::move(problem->field);
      report.reject(std::move(rejection));
      continue;
    }
    sink(std::move(event));
    report.accept();
  }
  ReadReport result = report.take();
  result.blank_lines = csv.blank_lines();
  return result;
}

ReadReport read_events_csv(const std::string& path, const EventReaderOptions& options,
                           const std::function<void(Event&&)>& sink,
                           const EventTypeRegistry& types) {
  options.validate();
  auto in = open_input(path);
  return read_events_csv(*in, path, options, sink, types);
}

ReadReport read_events_jsonl(std::istream& in, const std::string& display_name,
                             const EventReaderOptions& options,
                             const std::function<void(Event&&)>& sink,
                             const EventTypeRegistry& types) {
  options.validate();
  TAILOR_REQUIRE(sink, "read of '" << display_name << "': the sink is empty");
  Event event;
  EventText text;
  std::string scratch[kEventSlots];
  return read_jsonl(in, display_name, options.csv, options.policy, options.max_samples,
                    [&](const nlohmann::json& doc) -> std::optional<Problem> {
                      for (int s = 0; s < kEventSlots; ++s) {
                        if (auto p = json_scalar(doc, event_field_name(options, s), scratch[s],
                                                 text[s])) {
                          return p;
                        }
                      }
                      if (auto p = build_event(text, options, types, event)) return p;
                      sink(std::move(event));
                      return std::nullopt;
                    });
}

ReadReport read_events_jsonl(const std::string& path, const EventReaderOptions& options,
                             const std::function<void(Event&&)>& sink,
                             const EventTypeRegistry& types) {
  options.validate();
  auto in = open_input(path);
  return read_events_jsonl(*in, path, options, sink, types);
}

// =============================================================================================
// Catalog

ReadReport read_catalog_csv(std::istream& in, const std::string& display_name,
                            const CatalogReaderOptions& options,
                            const std::function<void(CatalogItem&&)>& sink) {
  options.validate();
  TAILOR_REQUIRE(sink, "read of '" << display_name << "': the sink is empty");
  CsvReader csv(in, display_name, options.csv);
  csv.read_header();
  const std::string* const names[kCatalogSlots] = {
      &options.id_field,    &options.title_field, &options.description_field,
      &options.category_field, &options.brand_field, &options.price_field,
      &options.in_stock_field};
  const bool required[kCatalogSlots] = {true, false, false, false, false, false, false};
  std::size_t columns[kCatalogSlots];
  map_columns(csv, names, required, columns);
  std::vector<std::size_t> attribute_columns;
  if (options.other_fields_as_attributes) {
    for (std::size_t i = 0; i < csv.header().size(); ++i) {
      if (std::find(std::begin(columns), std::end(columns), i) == std::end(columns) &&
          !csv.header()[i].empty()) {
        attribute_columns.push_back(i);
      }
    }
  }

  ReportBuilder report(display_name, options.policy, options.max_samples);
  CatalogItem item;
  CatalogText text;
  while (csv.next_valid_row(report)) {
    for (int s = 0; s < kCatalogSlots; ++s) {
      text[s] = columns[s] == kNoColumn ? std::optional<std::string_view>()
                                        : std::optional<std::string_view>(csv.field(columns[s]));
    }
    if (auto problem = build_item(text, options, false, item)) {
      Rejection rejection = csv.rejection(problem->reason, kNoColumn, std::move(problem->detail));
      rejection.column = std::move(problem->field);
      report.reject(std::move(rejection));
      continue;
    }
    item.attributes.clear();
    for (const std::size_t col : attribute_columns) {
      const std::string_view value = csv.field(col);
      if (!value.empty()) item.attributes.emplace(csv.header()[col], value);
    }
    sink(std::move(item));
    report.accept();
  }
  ReadReport result = report.take();
  result.blank_lines = csv.blank_lines();
  return result;
}

ReadReport read_catalog_csv(const std::string& path, const CatalogReaderOptions& options,
                            const std::function<void(CatalogItem&&)>& sink) {
  options.validate();
  auto in = open_input(path);
  return read_catalog_csv(*in, path, options, sink);
}

ReadReport read_catalog_jsonl(std::istream& in, const std::string& display_name,
                              const CatalogReaderOptions& options,
                              const std::function<void(CatalogItem&&)>& sink) {
  options.validate();
  TAILOR_REQUIRE(sink, "read of '" << display_name << "': the sink is empty");
  CatalogItem item;
  CatalogText text;
  std::string scratch[kCatalogSlots];
  return read_jsonl(
      in, display_name, options.csv, options.policy, options.max_samples,
      [&](const nlohmann::json& doc) -> std::optional<Problem> {
        bool category_done = false;
        for (int s = 0; s < kCatalogSlots; ++s) {
          const std::string& key = catalog_field_name(options, s);
          if (s == kInStock && !key.empty()) {
            const auto it = doc.find(key);
            if (it != doc.end() && it->is_boolean()) {
              scratch[s] = it->get<bool>() ? "true" : "false";
              text[s] = std::string_view(scratch[s]);
              continue;
            }
          }
          if (s == kCategory && !key.empty()) {
            const auto it = doc.find(key);
            if (it != doc.end() && it->is_array()) {
              item.category_path.clear();
              for (const auto& part : *it) {
                if (!part.is_string()) {
                  return Problem{RejectReason::wrong_type, key,
                                 std::string("category array holds a ") + part.type_name() +
                                     ", expected strings"};
                }
                const std::string_view p = trim_blanks(part.get_ref<const std::string&>());
                if (!p.empty()) item.category_path.emplace_back(p);
              }
              category_done = true;
              text[s].reset();
              continue;
            }
          }
          if (auto p = json_scalar(doc, key, scratch[s], text[s])) return p;
        }
        if (auto p = build_item(text, options, category_done, item)) return p;
        item.attributes.clear();
        if (options.other_fields_as_attributes) {
          for (const auto& [key, value] : doc.items()) {
            bool known = false;
            for (int s = 0; s < kCatalogSlots && !known; ++s) {
              known = key == catalog_field_name(options, s);
            }
            if (known || value.is_null()) continue;
            item.attributes.emplace(key, value.is_string() ? value.get<std::string>() : value.dump());
          }
        }
        sink(std::move(item));
        return std::nullopt;
      });
}

ReadReport read_catalog_jsonl(const std::string& path, const CatalogReaderOptions& options,
                              const std::function<void(CatalogItem&&)>& sink) {
  options.validate();
  auto in = open_input(path);
  return read_catalog_jsonl(*in, path, options, sink);
}

}  // namespace tailor
