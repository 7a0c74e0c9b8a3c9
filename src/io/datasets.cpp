// Dataset adapters: Online Retail, MovieLens 100K and latest-small, Amazon Magazine_Subscriptions.
#include "tailor/io/datasets.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tailor/io/csv.hpp"
#include "tailor/core/error.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/io/input.hpp"
#include "tailor/io/readers.hpp"

namespace tailor {
namespace {

namespace fs = std::filesystem;


bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c); });
}

// "17850.0" -> "17850"; "17850" -> "17850"; anything else -> empty (invalid).
std::string_view customer_id(std::string_view text) {
  const std::size_t dot = text.find('.');
  if (dot == std::string_view::npos) return all_digits(text) ? text : std::string_view();
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac = text.substr(dot + 1);
  if (!all_digits(whole) || frac.empty()) return {};
  if (!std::all_of(frac.begin(), frac.end(), [](char c) { return c == '0'; })) return {};
  return whole;
}

// The "(1995)" at the end of a MovieLens title, or empty.
std::string title_year(std::string_view title) {
  title = trim_blanks(title);
  if (title.size() < 6 || title.back() != ')') return {};
  const std::string_view tail = title.substr(title.size() - 6);
  if (tail[0] != '(' || !all_digits(tail.substr(1, 4))) return {};
  return std::string(tail.substr(1, 4));
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::string in_dir(const std::string& dir, const char* name) {
  return (fs::path(dir) / name).string();
}

// Appends code point `cp` as UTF-8; false (nothing appended) for surrogates and cp > U+10FFFF.
bool append_utf8(std::string& out, std::uint32_t cp) {
  if (cp >= 0xD800 && cp <= 0xDFFF) return false;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp <= 0x10FFFF) {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    return false;
  }
  return true;
}

// Decodes the entity starting at text[i] == '&'; on success appends it and returns its length.
std::size_t decode_entity(std::string_view text, std::size_t i, std::string& out) {
  const std::size_t semi = text.find(';', i);
  if (semi == std::string_view::npos || semi - i > 10) return 0;
  const std::string_view name = text.substr(i + 1, semi - i - 1);
  static const std::pair<std::string_view, std::uint32_t> kNamed[] = {
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", ' '}};
  for (const auto& [n, cp] : kNamed) {
    if (name == n) {
      out += static_cast<char>(cp);
      return semi - i + 1;
    }
  }
  if (name.size() >= 2 && name[0] == '#') {
    std::uint32_t cp = 0;
    const bool hex = name[1] == 'x' || name[1] == 'X';
    const std::string_view digits = name.substr(hex ? 2 : 1);
    if (digits.empty() || digits.size() > 7) return 0;
    for (char c : digits) {
      std::uint32_t d = 0;
      if (is_digit(c)) {
        d = static_cast<std::uint32_t>(c - '0');
      } else if (hex && c >= 'a' && c <= 'f') {
        d = static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (hex && c >= 'A' && c <= 'F') {
        d = static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return 0;
      }
      cp = cp * (hex ? 16 : 10) + d;
    }
    if (cp == 0 || !append_utf8(out, cp)) return 0;
    return semi - i + 1;
  }
  return 0;
}

std::string json_string(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// "$12.99", "12.99", "$1,299.00" -> the amount; nullopt for anything else (HTML, ranges, text).
std::optional<double> parse_price(std::string_view text) {
  text = trim_blanks(text);
  if (!text.empty() && text.front() == '$') text.remove_prefix(1);
  std::string digits;
  for (char c : text) {
    if (c == ',') continue;
    if (!is_digit(c) && c != '.') return std::nullopt;
    digits += c;
  }
  if (digits.empty()) return std::nullopt;
  auto value = parse_double(digits);
  if (!value || !std::isfinite(*value) || *value < 0) return std::nullopt;
  return value;
}

// Counts distinct strings.
std::uint64_t count_distinct(const std::vector<Event>& events, std::string Event::*field,
                             bool skip_empty) {
  std::unordered_set<std::string_view> seen;
  for (const Event& e : events) {
    const std::string& v = e.*field;
    if (skip_empty && v.empty()) continue;
    seen.insert(v);
  }
  return seen.size();
}

// ---------------------------------------------------------------------------------------------
// Online Retail

struct RetailItem {
  std::vector<std::pair<std::string, std::uint32_t>> descriptions;  // trimmed text, count
  std::vector<double> purchase_prices;
  std::vector<double> return_prices;
};

double lower_median(std::vector<double> values) {
  const std::size_t mid = (values.size() - 1) / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  return values[mid];
}

class RetailLoader {
 public:
  RetailLoader(const std::string& path, const DatasetOptions& options)
      : report_(path, options.policy, options.max_samples), load_events_(options.load_events) {}

  void read_file(const std::string& path) {
    auto in = open_input(path);
    CsvReader csv(*in, path);
    csv.read_header();
    const std::size_t c_invoice = csv.require_column("InvoiceNo");
    const std::size_t c_code = csv.require_column("StockCode");
    const std::size_t c_desc = csv.require_column("Description");
    const std::size_t c_qty = csv.require_column("Quantity");
    const std::size_t c_date = csv.require_column("InvoiceDate");
    const std::size_t c_price = csv.require_column("UnitPrice");
    const std::size_t c_customer = csv.require_column("CustomerID");
    while (csv.next_valid_row(report_)) {
      const std::string_view invoice = trim_blanks(csv.field(c_invoice));
      const std::string_view code = trim_blanks(csv.field(c_code));
      if (invoice.empty()) {
        report_.reject(
            csv.rejection(RejectReason::missing_value, c_invoice, "empty invoice number"));
        continue;
      }
      if (code.empty()) {
        report_.reject(csv.rejection(RejectReason::missing_value, c_code, "empty stock code"));
        continue;
      }
      const auto quantity = parse_int64(csv.field(c_qty));
      if (!quantity) {
        report_.reject(csv.rejection(RejectReason::invalid_number, c_qty,
                                     "not an integer: " + quote_value(csv.field(c_qty))));
        continue;
      }
      const auto price = parse_double(csv.field(c_price));
      if (!price) {
        report_.reject(csv.rejection(RejectReason::invalid_number, c_price,
                                     "not a number: " + quote_value(csv.field(c_price))));
        continue;
      }
      if (!std::isfinite(*price)) {
        report_.reject(csv.rejection(RejectReason::out_of_range, c_price,
                                     "not finite: " + quote_value(csv.field(c_price))));
        continue;
      }
      const auto when = parse_timestamp(csv.field(c_date));
      if (!when) {
        report_.reject(csv.rejection(RejectReason::invalid_timestamp, c_date,
                                     "not a date-time: " + quote_value(csv.field(c_date))));
        continue;
      }
      const std::string_view customer_text = trim_blanks(csv.field(c_customer));
      const std::string_view customer = customer_id(customer_text);
      if (!customer_text.empty() && customer.empty()) {
        report_.reject(csv.rejection(RejectReason::invalid_value, c_customer,
                                     "not a customer number: " + quote_value(customer_text)));
        continue;
      }
      report_.accept();

      if (!is_digit(code.front())) {
        ++excluded_["non_product_code"];
        continue;
      }
      EventType type = EventType::purchase;
      double value = static_cast<double>(*quantity);
      if (invoice.front() == 'C') {
        if (*quantity >= 0) {
          ++excluded_["invalid_cancellation"];
          continue;
        }
        type = EventType::return_;
        value = -value;
      } else if (*quantity <= 0) {
        ++excluded_["stock_adjustment"];
        continue;
      } else if (*price <= 0) {
        ++excluded_["nonpositive_price"];
        continue;
      }

      const Index item = codes_.insert(code);
      if (item == items_.size()) items_.emplace_back();
      RetailItem& acc = items_[item];
      const std::string_view description = trim_blanks(csv.field(c_desc));
      if (!description.empty()) {
        auto it = std::find_if(acc.descriptions.begin(), acc.descriptions.end(),
                               [&](const auto& d) { return d.first == description; });
        if (it == acc.descriptions.end()) {
          acc.descriptions.emplace_back(std::string(description), 1);
        } else {
          ++it->second;
        }
      }
      (type == EventType::purchase ? acc.purchase_prices : acc.return_prices).push_back(*price);
      ++(type == EventType::purchase ? purchases_ : returns_);
      if (customer.empty()) ++anonymous_;

      if (!load_events_) continue;
      Event e;
      e.user = std::string(customer);
      e.item = std::string(code);
      e.type = type;
      e.timestamp = *when;
      e.value = value;
      e.session = std::string(invoice);
      events_.push_back(std::move(e));
      unit_prices_.push_back(*price);
    }
    for (std::uint64_t i = 0; i < csv.blank_lines(); ++i) report_.blank_line();
  }

  Dataset finish(std::uint64_t files) {
    Dataset data;
    data.report.dataset = "online-retail";
    data.catalog.reserve(items_.size());
    for (Index i = 0; i < items_.size(); ++i) {
      RetailItem& acc = items_[i];
      CatalogItem item;
      item.id = codes_.id(i);
      const std::pair<std::string, std::uint32_t>* best = nullptr;
      for (const auto& d : acc.descriptions) {
        if (best == nullptr || d.second > best->second ||
            (d.second == best->second && d.first < best->first))
          best = &d;
      }
      if (best != nullptr) item.title = best->first;
      if (!acc.purchase_prices.empty()) {
        item.price = lower_median(std::move(acc.purchase_prices));
      } else if (!acc.return_prices.empty()) {
        item.price = lower_median(std::move(acc.return_prices));
      }
      std::size_t digits = 0;
      while (digits < item.id.size() && is_digit(item.id[digits])) ++digits;
      item.attributes["family"] = item.id.substr(0, digits);
      data.catalog.upsert(std::move(item));
    }
    data.report.excluded = std::move(excluded_);
    auto& counts = data.report.counts;
    counts["rows"] = report_.report().records;
    counts["purchase_events"] = purchases_;
    counts["return_events"] = returns_;
    counts["anonymous_events"] = anonymous_;
    counts["files"] = files;
    if (load_events_) {
      counts["customers"] = count_distinct(events_, &Event::user, true);
      counts["invoices"] = count_distinct(events_, &Event::session, true);
    }
    data.report.reads.push_back(report_.take());
    data.events = std::move(events_);
    data.unit_prices = std::move(unit_prices_);
    return data;
  }

 private:
  ReportBuilder report_;
  bool load_events_;
  IdMap codes_;
  std::vector<RetailItem> items_;
  std::vector<Event> events_;
  std::vector<double> unit_prices_;
  std::map<std::string, std::uint64_t> excluded_;
  std::uint64_t purchases_ = 0, returns_ = 0, anonymous_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Header-less delimited files (MovieLens 100K, Amazon ratings)

template <typename RowFn>
ReadReport read_plain_rows(const std::string& path, char delimiter, bool utf8, std::size_t fields,
                           const DatasetOptions& options, RowFn&& on_row) {
  auto in = open_input(path);
  CsvOptions csv_options;
  csv_options.delimiter = delimiter;
  csv_options.validate_utf8 = utf8;
  CsvReader csv(*in, path, csv_options);
  ReportBuilder report(path, options.policy, options.max_samples);
  while (csv.next_valid_row(report, fields)) {
    if (auto rejection = on_row(csv)) {
      report.reject(std::move(*rejection));
    } else {
      report.accept();
    }
  }
  for (std::uint64_t i = 0; i < csv.blank_lines(); ++i) report.blank_line();
  return report.take();
}

// A rating event from text fields; a Rejection if a field is bad.
std::optional<Rejection> make_rating(const CsvReader& csv, std::size_t c_user, std::size_t c_item,
                                     std::size_t c_rating, std::size_t c_time, Event& out) {
  const std::string_view user = trim_blanks(csv.field(c_user));
  const std::string_view item = trim_blanks(csv.field(c_item));
  if (user.empty()) return csv.rejection(RejectReason::missing_value, c_user, "empty user");
  if (item.empty()) return csv.rejection(RejectReason::missing_value, c_item, "empty item");
  const auto rating = parse_double(csv.field(c_rating));
  if (!rating)
    return csv.rejection(RejectReason::invalid_number, c_rating,
                         "not a number: " + quote_value(csv.field(c_rating)));
  if (!std::isfinite(*rating) || *rating < 0)
    return csv.rejection(RejectReason::out_of_range, c_rating,
                         "not a rating: " + quote_value(csv.field(c_rating)));
  const auto when = parse_timestamp(csv.field(c_time), TimestampUnit::seconds);
  if (!when)
    return csv.rejection(RejectReason::invalid_timestamp, c_time,
                         "not Unix seconds: " + quote_value(csv.field(c_time)));
  out = Event();
  out.user = std::string(user);
  out.item = std::string(item);
  out.type = EventType::rating;
  out.timestamp = *when;
  out.value = *rating;
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void DatasetOptions::validate() const {
  if (max_samples > 1'000'000)
    TAILOR_THROW(invalid_argument,
                 "DatasetOptions: max_samples must be <= 1000000, got " << max_samples);
}

std::uint64_t DatasetReport::excluded_total() const {
  std::uint64_t total = 0;
  for (const auto& [reason, n] : excluded) total += n;
  return total;
}

nlohmann::json DatasetReport::to_json() const {
  nlohmann::json reads_json = nlohmann::json::array();
  for (const ReadReport& r : reads) reads_json.push_back(r.to_json());
  return {{"dataset", dataset}, {"reads", reads_json}, {"excluded", excluded}, {"counts", counts}};
}

std::string latin1_to_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) append_utf8(out, static_cast<unsigned char>(c));
  return out;
}

std::string strip_html(std::string_view text) {
  std::string decoded;
  decoded.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '<') {
      const std::size_t close = text.find('>', i);
      if (close != std::string_view::npos) {
        decoded += ' ';  // a tag separates words ("a<br>b" -> "a b")
        i = close + 1;
        continue;
      }
    } else if (c == '&') {
      if (std::size_t n = decode_entity(text, i, decoded); n > 0) {
        i += n;
        continue;
      }
    }
    decoded += c;
    ++i;
  }
  std::string out;
  out.reserve(decoded.size());
  bool pending_space = false;
  for (char c : decoded) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

Dataset load_online_retail(const std::string& path, const DatasetOptions& options) {
  options.validate();
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path)) {
      if (entry.is_regular_file() && entry.path().extension() == ".csv")
        files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    if (files.empty())
      TAILOR_THROW(io_error, path << ": no *.csv files in the Online Retail directory");
  } else {
    files.push_back(path);
  }
  RetailLoader loader(path, options);
  for (const std::string& file : files) loader.read_file(file);
  return loader.finish(files.size());
}

Dataset load_movielens_100k(const std::string& dir, const DatasetOptions& options) {
  options.validate();
  Dataset data;
  data.report.dataset = "ml-100k";

  std::vector<std::string> genres;
  data.report.reads.push_back(read_plain_rows(
      in_dir(dir, "u.genre"), '|', true, 2, options,
      [&](const CsvReader& csv) -> std::optional<Rejection> {
        const auto index = parse_int64(csv.field(1));
        if (!index || *index != static_cast<std::int64_t>(genres.size()))
          return csv.rejection(RejectReason::invalid_value, 1,
                               "expected genre number " + std::to_string(genres.size()) + ", got " +
                                   quote_value(csv.field(1)));
        genres.emplace_back(trim_blanks(csv.field(0)));
        return std::nullopt;
      }));
  if (genres.empty()) TAILOR_THROW(corrupt_file, in_dir(dir, "u.genre") << ": no genres");

  data.report.reads.push_back(
      read_plain_rows(in_dir(dir, "u.item"), '|', false, 5 + genres.size(), options,
                      [&](const CsvReader& csv) -> std::optional<Rejection> {
                        const std::string_view id = trim_blanks(csv.field(0));
                        if (id.empty())
                          return csv.rejection(RejectReason::missing_value, 0, "empty movie id");
                        CatalogItem item;
                        item.id = std::string(id);
                        item.title = latin1_to_utf8(trim_blanks(csv.field(1)));
                        std::vector<std::string> flagged;
                        for (std::size_t g = 0; g < genres.size(); ++g) {
                          const std::string_view flag = trim_blanks(csv.field(5 + g));
                          if (flag == "1") {
                            flagged.push_back(genres[g]);
                          } else if (flag != "0") {
                            return csv.rejection(RejectReason::invalid_value, 5 + g,
                                                 "genre flag not 0/1: " + quote_value(flag));
                          }
                        }
                        if (!flagged.empty()) {
                          item.category_path = {flagged.front()};
                          item.attributes["genres"] = join(flagged, "|");
                        }
                        if (auto year = title_year(item.title); !year.empty())
                          item.attributes["year"] = year;
                        const std::pair<const char*, std::size_t> extra[] = {
                            {"release_date", 2}, {"video_release_date", 3}, {"imdb_url", 4}};
                        for (const auto& [key, column] : extra) {
                          const std::string_view v = trim_blanks(csv.field(column));
                          if (!v.empty()) item.attributes[key] = latin1_to_utf8(v);
                        }
                        data.catalog.upsert(std::move(item));
                        return std::nullopt;
                      }));

  if (options.load_events) {
    data.report.reads.push_back(
        read_plain_rows(in_dir(dir, "u.data"), '\t', true, 4, options,
                        [&](const CsvReader& csv) -> std::optional<Rejection> {
                          Event e;
                          if (auto bad = make_rating(csv, 0, 1, 2, 3, e)) return bad;
                          data.events.push_back(std::move(e));
                          return std::nullopt;
                        }));
  }
  data.report.counts["ratings"] = data.events.size();
  data.report.counts["users"] = count_distinct(data.events, &Event::user, true);
  data.report.counts["items"] = data.catalog.size();
  return data;
}

Dataset load_movielens_latest_small(const std::string& dir, const DatasetOptions& options) {
  options.validate();
  Dataset data;
  data.report.dataset = "ml-latest-small";
  auto& counts = data.report.counts;
  auto& excluded = data.report.excluded;

  {  // movies.csv
    const std::string path = in_dir(dir, "movies.csv");
    auto in = open_input(path);
    CsvReader csv(*in, path);
    csv.read_header();
    const std::size_t c_id = csv.require_column("movieId");
    const std::size_t c_title = csv.require_column("title");
    const std::size_t c_genres = csv.require_column("genres");
    ReportBuilder report(path, options.policy, options.max_samples);
    while (csv.next_valid_row(report)) {
      const std::string_view id = trim_blanks(csv.field(c_id));
      if (id.empty()) {
        report.reject(csv.rejection(RejectReason::missing_value, c_id, "empty movie id"));
        continue;
      }
      report.accept();
      CatalogItem item;
      item.id = std::string(id);
      item.title = std::string(trim_blanks(csv.field(c_title)));
      const std::string_view genres = trim_blanks(csv.field(c_genres));
      if (!genres.empty() && genres != "(no genres listed)") {
        item.attributes["genres"] = std::string(genres);
        item.category_path = {std::string(trim_blanks(genres.substr(0, genres.find('|'))))};
      }
      if (auto year = title_year(item.title); !year.empty()) item.attributes["year"] = year;
      data.catalog.upsert(std::move(item));
    }
    data.report.reads.push_back(report.take());
  }

  const std::string tags_path = in_dir(dir, "tags.csv");
  counts["tag_applications"] = 0;
  counts["tagged_movies"] = 0;
  if (file_exists(tags_path)) {
    auto in = open_input(tags_path);
    CsvReader csv(*in, tags_path);
    csv.read_header();
    const std::size_t c_movie = csv.require_column("movieId");
    const std::size_t c_tag = csv.require_column("tag");
    ReportBuilder report(tags_path, options.policy, options.max_samples);
    std::unordered_map<Index, std::vector<std::string>> tags;
    while (csv.next_valid_row(report)) {
      const std::string_view tag = trim_blanks(csv.field(c_tag));
      if (tag.empty()) {
        report.reject(csv.rejection(RejectReason::missing_value, c_tag, "empty tag"));
        continue;
      }
      report.accept();
      const auto movie = data.catalog.index_of(trim_blanks(csv.field(c_movie)));
      if (!movie) {
        ++excluded["tag_unknown_movie"];
        continue;
      }
      ++counts["tag_applications"];
      auto& list = tags[*movie];
      if (std::find(list.begin(), list.end(), tag) == list.end()) list.emplace_back(tag);
    }
    data.report.reads.push_back(report.take());
    counts["tagged_movies"] = tags.size();
    for (Index i = 0; i < data.catalog.size(); ++i) {
      auto it = tags.find(i);
      if (it == tags.end()) continue;
      CatalogItem update;
      update.id = data.catalog.at(i).id;
      update.in_stock = data.catalog.at(i).in_stock;
      update.description = join(it->second, ", ");
      update.attributes["tags"] = join(it->second, "|");
      data.catalog.upsert(std::move(update));
    }
  }

  const std::string links_path = in_dir(dir, "links.csv");
  if (file_exists(links_path)) {
    auto in = open_input(links_path);
    CsvReader csv(*in, links_path);
    csv.read_header();
    const std::size_t c_movie = csv.require_column("movieId");
    const std::size_t c_imdb = csv.require_column("imdbId");
    const std::size_t c_tmdb = csv.require_column("tmdbId");
    ReportBuilder report(links_path, options.policy, options.max_samples);
    while (csv.next_valid_row(report)) {
      report.accept();
      const std::string_view movie = trim_blanks(csv.field(c_movie));
      if (!data.catalog.contains(movie)) {
        ++excluded["link_unknown_movie"];
        continue;
      }
      CatalogItem update;
      update.id = std::string(movie);
      update.in_stock = data.catalog.at(movie).in_stock;
      if (auto v = trim_blanks(csv.field(c_imdb)); !v.empty())
        update.attributes["imdb_id"] = std::string(v);
      if (auto v = trim_blanks(csv.field(c_tmdb)); !v.empty())
        update.attributes["tmdb_id"] = std::string(v);
      data.catalog.upsert(std::move(update));
    }
    data.report.reads.push_back(report.take());
  }

  if (options.load_events) {
    EventReaderOptions ro;
    ro.user_field = "userId";
    ro.item_field = "movieId";
    ro.type_field = "";
    ro.default_type = EventType::rating;
    ro.timestamp_field = "timestamp";
    ro.timestamp_unit = TimestampUnit::seconds;
    ro.value_field = "rating";
    ro.value_non_negative = true;
    ro.policy = options.policy;
    ro.max_samples = options.max_samples;
    data.report.reads.push_back(read_events_csv(
        in_dir(dir, "ratings.csv"), ro, [&](Event&& e) { data.events.push_back(std::move(e)); }));
  }
  counts["ratings"] = data.events.size();
  counts["users"] = count_distinct(data.events, &Event::user, true);
  counts["rated_movies"] = count_distinct(data.events, &Event::item, true);
  counts["movies"] = data.catalog.size();
  return data;
}

Dataset load_amazon_magazines(const std::string& dir, const DatasetOptions& options) {
  options.validate();
  Dataset data;
  data.report.dataset = "amazon-magazine-subscriptions";
  auto& counts = data.report.counts;
  for (const char* key : {"meta_lines", "duplicate_meta_lines", "title_html_dropped",
                          "price_unusable", "with_description", "with_category"})
    counts[key] = 0;

  const std::string meta_path = in_dir(dir, "meta_Magazine_Subscriptions.json.gz");
  {
    auto in = open_input(meta_path);
    LineReader lines(*in);
    ReportBuilder report(meta_path, options.policy, options.max_samples);
    auto reject = [&](RejectReason reason, const char* column, std::string detail) {
      report.reject(Rejection{meta_path, lines.line_number(), column, reason, std::move(detail)});
    };
    while (lines.next()) {
      if (trim_blanks(lines.line()).empty()) {
        report.blank_line();
        continue;
      }
      if (lines.too_long()) {
        reject(RejectReason::record_too_large, "", "line too long");
        continue;
      }
      nlohmann::json j = nlohmann::json::parse(lines.line(), nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object()) {
        reject(RejectReason::invalid_json, "", "not a JSON object");
        continue;
      }
      const std::string asin = std::string(trim_blanks(json_string(j, "asin")));
      if (asin.empty()) {
        reject(RejectReason::missing_value, "asin", "missing or empty asin");
        continue;
      }
      report.accept();
      ++counts["meta_lines"];
      if (data.catalog.contains(asin)) ++counts["duplicate_meta_lines"];

      CatalogItem item;
      item.id = asin;
      const std::string raw_title = json_string(j, "title");
      if (raw_title.find('<') != std::string::npos) {
        ++counts["title_html_dropped"];
      } else {
        item.title = strip_html(raw_title);
      }
      if (auto it = j.find("description"); it != j.end()) {
        std::vector<std::string> parts;
        if (it->is_array()) {
          for (const auto& part : *it)
            if (part.is_string())
              if (auto text = strip_html(part.get<std::string>()); !text.empty())
                parts.push_back(std::move(text));
        } else if (it->is_string()) {
          if (auto text = strip_html(it->get<std::string>()); !text.empty())
            parts.push_back(std::move(text));
        }
        item.description = join(parts, "\n\n");
        if (!item.description.empty()) ++counts["with_description"];
      }
      if (auto it = j.find("category"); it != j.end() && it->is_array()) {
        if (!it->empty()) ++counts["with_category"];
        for (const auto& part : *it)
          if (part.is_string())
            if (auto text = strip_html(part.get<std::string>()); !text.empty())
              item.category_path.push_back(std::move(text));
      }
      std::string publisher, format;
      if (auto it = j.find("details"); it != j.end() && it->is_object()) {
        publisher = strip_html(json_string(*it, "Publisher:"));
        format = strip_html(json_string(*it, "Format:"));
      }
      item.brand = strip_html(json_string(j, "brand"));
      if (item.brand.empty()) item.brand = publisher;
      const std::string raw_price = json_string(j, "price");
      if (!trim_blanks(raw_price).empty()) {
        if (auto price = parse_price(raw_price)) {
          item.price = price;
        } else {
          ++counts["price_unusable"];
        }
      }
      if (auto v = strip_html(json_string(j, "main_cat")); !v.empty())
        item.attributes["main_cat"] = v;
      if (!format.empty()) item.attributes["format"] = format;
      if (!publisher.empty()) item.attributes["publisher"] = publisher;
      data.catalog.upsert(std::move(item));
    }
    data.report.reads.push_back(report.take());
  }
  counts["items"] = data.catalog.size();

  const std::string ratings_path = in_dir(dir, "Magazine_Subscriptions.csv");
  if (options.load_events && file_exists(ratings_path)) {
    data.report.reads.push_back(read_plain_rows(
        ratings_path, ',', true, 4, options, [&](const CsvReader& csv) -> std::optional<Rejection> {
          Event e;
          if (auto bad = make_rating(csv, 1, 0, 2, 3, e)) return bad;
          data.events.push_back(std::move(e));
          return std::nullopt;
        }));
    counts["ratings"] = data.events.size();
    counts["users"] = count_distinct(data.events, &Event::user, true);
    std::unordered_set<std::string_view> rated;
    std::uint64_t with_meta = 0;
    for (const Event& e : data.events)
      if (rated.insert(e.item).second && data.catalog.contains(e.item)) ++with_meta;
    counts["rated_items"] = rated.size();
    counts["rated_items_with_metadata"] = with_meta;
  }
  return data;
}

Dataset load_session_clicks(const std::string& path, const DatasetOptions& options) {
  options.validate();
  Dataset data;
  data.report.dataset = "session-clicks";
  EventReaderOptions read;
  read.user_field = "";
  read.session_field = "SessionId";
  read.item_field = "ItemId";
  read.type_field = "";
  read.timestamp_field = "Time";
  read.default_type = EventType::click;
  read.timestamp_unit = TimestampUnit::seconds;
  read.csv.delimiter = '\t';
  read.policy = options.policy;
  read.max_samples = options.max_samples;
  std::unordered_set<std::string> sessions, items;
  data.report.reads.push_back(read_events_csv(path, read, [&](Event&& e) {
    sessions.insert(e.session);
    items.insert(e.item);
    data.events.push_back(std::move(e));
  }));
  data.report.counts["clicks"] = data.events.size();
  data.report.counts["sessions"] = sessions.size();
  data.report.counts["items"] = items.size();
  return data;
}

}  // namespace tailor
