// tailor: adapters that turn public e-commerce and rating data sets into events and a catalog.
//
// Each loader reads the files of one data set in its published layout, keeps every decision about
// messy rows explicit, and returns a Dataset: the events (in file order), the catalog, and a
// DatasetReport that accounts for every input row:
//   rows read == parse rejections (ReadReport::rejected, by RejectReason)
//              + adapter exclusions (DatasetReport::excluded, by reason name)
//              + rows that became events (or catalog records).
// Parse problems follow DatasetOptions::policy (strict: the first one throws ParseError; lenient:
// counted with file:line samples). Exclusions are decisions about well-formed rows and are always
// counted, never thrown. Files may be gzip-compressed (detected by content).
//
// Supported sets (see each function for its rules):
//   - UCI Online Retail: the per-day CSV directory or the single bundled CSV(.gz);
//   - MovieLens 100K (u.data, u.item, u.genre);
//   - MovieLens latest-small (ratings.csv, movies.csv, tags.csv, links.csv);
//   - Amazon 2018 Magazine_Subscriptions (metadata JSON Lines, ratings CSV).
//
// Thread-safety: the loaders are thread-safe (each call reads its own files); Dataset,
// DatasetReport and DatasetOptions are value types (thread-compatible).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/data/catalog.hpp"
#include "tailor/data/event.hpp"
#include "tailor/io/input.hpp"

namespace tailor {

/// Options shared by the loaders.
struct TAILOR_API DatasetOptions {
  ErrorPolicy policy = ErrorPolicy::strict;  ///< what a malformed row does (see input.hpp)
  std::size_t max_samples = 100;             ///< rejections kept per ReadReport
  bool load_events = true;                   ///< false: read only the catalog files

  /// Throws Error(invalid_argument) if max_samples > 1'000'000.
  void validate() const;
};

/// Where every row of a data set went.
struct TAILOR_API DatasetReport {
  std::string dataset;                            ///< e.g. "online-retail"
  std::vector<ReadReport> reads;                  ///< one per input (a by-day directory is one)
  std::map<std::string, std::uint64_t> excluded;  ///< well-formed rows dropped, by reason
  std::map<std::string, std::uint64_t> counts;    ///< descriptive counts (see each loader)

  /// Sum of excluded.
  std::uint64_t excluded_total() const;
  /// {"dataset":..., "reads":[ReadReport::to_json()...], "excluded":{...}, "counts":{...}}
  nlohmann::json to_json() const;
};

/// What a loader returns.
struct Dataset {
  std::vector<Event> events;  ///< in input order
  Catalog catalog;
  DatasetReport report;
  /// Unit price paid, parallel to events, for sources that have one per line (Online Retail);
  /// empty otherwise. Line revenue = unit_prices[i] * events[i].value.
  std::vector<double> unit_prices;
};

/// UCI Online Retail (Chen, Sain, Guo 2012; UCI dataset 352).
///
/// `path` is either a directory of per-day files (every "*.csv" in it, read in file-name order,
/// each with its own header) or one CSV file, plain or gzip (the bundled
/// examples/data/online-retail.csv.gz). Columns are found by header name.
///
/// Rows, in this order of rules:
///  1. malformed (bad CSV, empty InvoiceNo/StockCode, Quantity not an integer, UnitPrice not a
///     number, InvoiceDate not a date-time, CustomerID not "digits" or "digits.0"): parse
///     rejection per the policy;
///  2. StockCode not starting with a digit (POST, DOT, M, C2, D, S, BANK CHARGES, AMAZONFEE, CRUK,
///     B "Adjust bad debt", gift vouchers, ...): excluded "non_product_code";
///  3. InvoiceNo starting with 'C' (a cancellation) with Quantity < 0: a return event, value =
///     units returned (-Quantity, so > 0); with Quantity >= 0: excluded "invalid_cancellation";
///  4. other rows with Quantity <= 0 (stock write-offs: "damaged", "check", empty description,
///     all at price 0 without a customer): excluded "stock_adjustment";
///  5. other rows with UnitPrice <= 0 (stock found, adjustments, a few free items for customers):
///     excluded "nonpositive_price";
///  6. everything else: a purchase event, value = Quantity.
/// Every event has session = InvoiceNo (the basket); user = CustomerID without the ".0" suffix,
/// or empty for rows without a customer (anonymous events, actor "session:<invoice>").
/// InvoiceDate is UK local time without a zone; it is taken as UTC (off by one hour in summer).
/// unit_prices holds each event's UnitPrice.
///
/// Catalog: one item per StockCode that has at least one event, in order of first appearance.
/// title = the most frequent trimmed Description among the item's event rows (ties: the
/// byte-wise smallest); price = the lower median UnitPrice of its purchase rows (of its return
/// rows if it has no purchase); attributes["family"] = the leading digits of the code (variants
/// like 85123A/85123B share a family). StockCodes are kept as written (case-sensitive).
///
/// counts: "rows", "purchase_events", "return_events", "anonymous_events", "customers",
/// "invoices", "files".
TAILOR_API Dataset load_online_retail(const std::string& path, const DatasetOptions& options = {});

/// MovieLens 100K from its folder (u.data, u.item, u.genre).
///
/// Events: one rating event per u.data line (tab-separated user, item, rating, Unix seconds);
/// value = the rating, session empty. Catalog (u.item, '|'-separated, Latin-1 converted to UTF-8):
/// title as published ("Toy Story (1995)"); category_path = {first genre flagged, in u.genre
/// order}; attributes "genres" (all flagged genres joined by '|'), "year" (from the title's
/// trailing "(YYYY)"), "release_date", "video_release_date", "imdb_url" when non-empty.
/// counts: "ratings", "users", "items".
TAILOR_API Dataset load_movielens_100k(const std::string& dir, const DatasetOptions& options = {});

/// MovieLens latest-small from its folder (ratings.csv, movies.csv, tags.csv, links.csv).
///
/// Events: one rating event per ratings.csv row, value = rating (0.5..5), timestamp in Unix
/// seconds. Catalog from movies.csv: title as published; category_path = {first genre} (none for
/// "(no genres listed)"); attributes "genres" ('|'-joined as published) and "year". tags.csv:
/// each movie's distinct tags (first-seen order) go to attributes["tags"] ('|'-joined) and to
/// description ("tag1, tag2, ..."); tags of unknown movies are excluded "tag_unknown_movie".
/// links.csv: attributes "imdb_id", "tmdb_id" when non-empty; unknown movies excluded
/// "link_unknown_movie". Missing tags.csv or links.csv is allowed (counted as 0).
/// counts: "ratings", "users", "movies", "tag_applications", "tagged_movies", "rated_movies".
TAILOR_API Dataset load_movielens_latest_small(const std::string& dir,
                                               const DatasetOptions& options = {});

/// Amazon Review Data 2018, Magazine_Subscriptions (Ni, Li, McAuley 2019), from its folder:
/// meta_Magazine_Subscriptions.json.gz (catalog) and, when options.load_events and the file
/// exists, Magazine_Subscriptions.csv (no header: asin, reviewer, rating, Unix seconds -> rating
/// events).
///
/// Catalog, one item per asin (repeated lines are merged with UpsertMode::merge and counted):
/// title unless it contains HTML markup ('<'), which is the case for most lines (then empty;
/// counted "title_html_dropped"); description = the description list joined by a blank line,
/// HTML tags removed and entities (&amp; &lt; &gt; &quot; &#39; &nbsp; &#NNN;) decoded;
/// category_path = the category list, cleaned the same way; brand = brand, else
/// details["Publisher:"]; price only when the field is a plain amount like "$12.99" (else absent,
/// counted "price_unusable"); attributes "main_cat", "format" (details["Format:"]), "publisher".
/// counts: "meta_lines", "items", "duplicate_meta_lines", "with_description", "with_category",
/// "ratings", "users", "rated_items", "rated_items_with_metadata".
TAILOR_API Dataset load_amazon_magazines(const std::string& dir,
                                         const DatasetOptions& options = {});

/// Session clicks in the session-rec framework's prepared form (the YooChoose / RSC15 files):
/// tab-separated with a header SessionId, ItemId, Time (Unix seconds, a fraction allowed). Every
/// row is a click event of an anonymous session (user empty, session = SessionId), in file order.
/// counts: "clicks", "sessions", "items". The catalog is empty.
TAILOR_API Dataset load_session_clicks(const std::string& path, const DatasetOptions& options = {});

/// Latin-1 (ISO-8859-1) bytes to UTF-8.
TAILOR_API std::string latin1_to_utf8(std::string_view text);

/// Removes HTML tags ("<i>", "</span ...>") and decodes the common entities; collapses runs of
/// whitespace to one space and trims.
TAILOR_API std::string strip_html(std::string_view text);

}  // namespace tailor
