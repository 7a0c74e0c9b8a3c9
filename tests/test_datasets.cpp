#include "tailor/io/datasets.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tailor/core/error.hpp"
#include "test_data.hpp"

using tailor::Dataset;
using tailor::DatasetOptions;
using tailor::ErrorPolicy;
using tailor::Event;
using tailor::EventType;
using tailor::RejectReason;

namespace {

std::string write_scratch(const std::string& name, const std::string& content) {
  const std::string path = tailor::test::scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary);
  out << content;
  return path;
}

std::uint64_t get(const std::map<std::string, std::uint64_t>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

// Every row of every read is either rejected, excluded or an event (or a catalog record).
void check_retail_accounting(const Dataset& d) {
  REQUIRE(d.report.reads.size() == 1);
  const tailor::ReadReport& read = d.report.reads[0];
  CHECK(read.records == read.accepted + read.rejected);
  CHECK(read.accepted == d.events.size() + d.report.excluded_total());
  CHECK(d.unit_prices.size() == d.events.size());
}

constexpr const char* kRetailHeader =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";

}  // namespace

TEST_CASE("Online Retail rules on hand-made rows", "[datasets][retail]") {
  const std::string csv =
      std::string(kRetailHeader) +
      "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United "
      "Kingdom\n"                                                                        // purchase
      "536366,85123A,CREAM HANGING HEART ,2,2010-12-01 09:00:00,2.95,,United Kingdom\n"  // anonymous
      "536367,85123A,WHITE HANGING HEART T-LIGHT HOLDER  ,1,2010-12-01 "
      "10:00:00,3.25,13047.0,France\n"  // purchase
      "C536379,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-2,2010-12-01 "
      "11:00:00,2.55,17850.0,United Kingdom\n"                                       // return
      "536370,POST,POSTAGE,3,2010-12-01 12:00:00,18.0,12583.0,France\n"              // non-product
      "A563186,B,Adjust bad debt,1,2011-08-12 14:51:00,-11062.06,,United Kingdom\n"  // non-product
      "536371,21777,damaged,-10,2010-12-01 12:30:00,0.0,,United Kingdom\n"           // adjustment
      "536372,21778,found,5,2010-12-01 12:40:00,0.0,,United Kingdom\n"               // price 0
      "C536373,21779,odd,4,2010-12-01 12:50:00,1.0,17850.0,United Kingdom\n"         // bad cancel
      "536374,22423,\"RECORD FRAME 7\"\" SINGLE SIZE \",12,2010-12-01 "
      "13:00:00,12.75,17850.0,United Kingdom\n"                                 // quoted
      "536375,22424,BROKEN,x,2010-12-01 13:10:00,1.0,17850.0,United Kingdom\n"  // bad qty
      "536376,22425,BROKEN,1,2010-13-01 13:10:00,1.0,17850.0,United Kingdom\n"  // bad date
      "536377,22426,BROKEN,1,2010-12-01 13:10:00,1.0,17850.5,United Kingdom\n"  // bad customer
      "536378,22427,BROKEN,1,2010-12-01 13:10:00\n";                            // short row
  const std::string path = write_scratch("retail_rules.csv", csv);

  SECTION("lenient: every row accounted for by reason") {
    DatasetOptions opt;
    opt.policy = ErrorPolicy::lenient;
    Dataset d = tailor::load_online_retail(path, opt);
    check_retail_accounting(d);
    const auto& read = d.report.reads[0];
    CHECK(read.records == 14);
    CHECK(read.rejected == 4);
    CHECK(read.by_reason.at(RejectReason::invalid_number) == 1);
    CHECK(read.by_reason.at(RejectReason::invalid_timestamp) == 1);
    CHECK(read.by_reason.at(RejectReason::invalid_value) == 1);
    CHECK(read.by_reason.at(RejectReason::wrong_column_count) == 1);
    CHECK(get(d.report.excluded, "non_product_code") == 2);
    CHECK(get(d.report.excluded, "stock_adjustment") == 1);
    CHECK(get(d.report.excluded, "nonpositive_price") == 1);
    CHECK(get(d.report.excluded, "invalid_cancellation") == 1);
    REQUIRE(d.events.size() == 5);
    CHECK(get(d.report.counts, "purchase_events") == 4);
    CHECK(get(d.report.counts, "return_events") == 1);
    CHECK(get(d.report.counts, "anonymous_events") == 1);
    CHECK(get(d.report.counts, "customers") == 2);
    CHECK(get(d.report.counts, "invoices") == 5);

    const Event& first = d.events[0];
    CHECK(first.user == "17850");
    CHECK(first.item == "85123A");
    CHECK(first.type == EventType::purchase);
    CHECK(first.value == 6.0);
    CHECK(first.session == "536365");
    CHECK(first.timestamp == 1291191960000);  // 2010-12-01T08:26:00Z
    CHECK(d.unit_prices[0] == 2.55);
    CHECK(d.events[1].user.empty());
    CHECK(d.events[1].actor() == "session:536366");
    const Event& ret = d.events[3];
    CHECK(ret.type == EventType::return_);
    CHECK(ret.value == 2.0);
    CHECK(ret.session == "C536379");

    REQUIRE(d.catalog.size() == 2);
    const auto& heart = d.catalog.at("85123A");
    // 2 x "WHITE HANGING HEART T-LIGHT HOLDER" (after trimming) beats 1 x "CREAM HANGING HEART".
    CHECK(heart.title == "WHITE HANGING HEART T-LIGHT HOLDER");
    CHECK(heart.price == 2.95);  // lower median of purchases {2.55, 2.95, 3.25}
    CHECK(heart.attributes.at("family") == "85123");
    CHECK(d.catalog.at("22423").title == "RECORD FRAME 7\" SINGLE SIZE");
    CHECK(d.catalog.find("POST") == nullptr);
    CHECK(d.catalog.find("21778") == nullptr);
    CHECK(d.report.to_json()["excluded"]["non_product_code"] == 2);
  }
  SECTION("strict: the first malformed row throws with its place") {
    try {
      (void)tailor::load_online_retail(path);
      FAIL("expected a ParseError");
    } catch (const tailor::ParseError& e) {
      CHECK(e.rejection().line == 12);
      CHECK(e.rejection().column == "Quantity");
      CHECK(std::string(e.what()).find("retail_rules.csv:12") != std::string::npos);
    }
  }
  SECTION("catalog only") {
    DatasetOptions opt;
    opt.policy = ErrorPolicy::lenient;
    opt.load_events = false;
    Dataset d = tailor::load_online_retail(path, opt);
    CHECK(d.events.empty());
    CHECK(d.catalog.size() == 2);
    CHECK(get(d.report.counts, "purchase_events") == 4);
  }
  SECTION("a missing column is a file-level error") {
    const std::string bad = write_scratch("retail_nocol.csv", "InvoiceNo,StockCode\n1,2\n");
    CHECK_THROWS_AS(tailor::load_online_retail(bad), tailor::ParseError);
    CHECK_THROWS_AS(tailor::load_online_retail(tailor::test::scratch_dir() + "/does-not-exist.csv"),
                    tailor::Error);
  }
}

TEST_CASE("Online Retail directory: *.csv files in name order, each with its header",
          "[datasets][retail]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(tailor::test::scratch_dir()) / "retail_by_day";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir / name, std::ios::binary) << content;
  };
  // Written out of order; the loader must read 2010-12-01 first.
  write("2010-12-02.csv", std::string(kRetailHeader) +
                              "536400,22000,B ITEM,1,2010-12-02 09:00:00,1.5,12000.0,UK\n"
                              "536401,POST,POSTAGE,1,2010-12-02 09:05:00,18.0,12000.0,UK\n");
  write("2010-12-01.csv",
        std::string(kRetailHeader) + "536300,21000,A ITEM,2,2010-12-01 09:00:00,2.5,,UK\n");
  write("notes.txt", "not data\n");
  Dataset d = tailor::load_online_retail(dir.string());
  check_retail_accounting(d);
  CHECK(get(d.report.counts, "files") == 2);
  CHECK(d.report.reads[0].records == 3);
  REQUIRE(d.events.size() == 2);
  CHECK(d.events[0].item == "21000");
  CHECK(d.events[1].item == "22000");
  CHECK(get(d.report.excluded, "non_product_code") == 1);
  CHECK(d.catalog.ids().id(0) == "21000");

  const fs::path empty = fs::path(tailor::test::scratch_dir()) / "retail_empty_dir";
  fs::create_directories(empty);
  CHECK_THROWS_AS(tailor::load_online_retail(empty.string()), tailor::Error);
}

TEST_CASE("MovieLens and Amazon loaders on hand-made folders", "[datasets]") {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(tailor::test::scratch_dir()) / "handmade_sets";
  fs::remove_all(root);
  auto write = [&](const std::string& rel, const std::string& content) {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel, std::ios::binary) << content;
  };
  DatasetOptions lenient;
  lenient.policy = ErrorPolicy::lenient;

  SECTION("ml-100k layout") {
    write("ml100k/u.genre", "unknown|0\nAction|1\nDrama|2\n\n");
    write("ml100k/u.item",
          "1|Caf\xe9 Society (1995)|01-Jan-1995||http://x/1|0|0|1\n"
          "2|Heat (1995)|01-Jan-1995||http://x/2|0|1|1\n"
          "3|Broken|01-Jan-1995||http://x/3|0|2|1\n");  // bad genre flag
    write("ml100k/u.data",
          "10\t1\t4\t881250949\n11\t2\t5\t881250950\n12\t2\tfive\t881250951\n13\t1\n");
    Dataset d = tailor::load_movielens_100k((root / "ml100k").string(), lenient);
    CHECK(d.catalog.size() == 2);
    CHECK(d.catalog.at("1").title == "Caf\xc3\xa9 Society (1995)");
    CHECK(d.catalog.at("1").category_path == std::vector<std::string>{"Drama"});
    CHECK(d.catalog.at("2").attributes.at("genres") == "Action|Drama");
    CHECK_FALSE(d.catalog.at("2").attributes.count("video_release_date"));
    REQUIRE(d.events.size() == 2);
    CHECK(d.events[0].timestamp == 881250949000);
    CHECK(d.events[1].value == 5.0);
    REQUIRE(d.report.reads.size() == 3);
    CHECK(d.report.reads[1].rejected == 1);
    CHECK(d.report.reads[2].rejected == 2);
    CHECK(d.report.reads[2].by_reason.at(RejectReason::invalid_number) == 1);
    CHECK(d.report.reads[2].by_reason.at(RejectReason::wrong_column_count) == 1);
    CHECK_THROWS_AS(tailor::load_movielens_100k((root / "ml100k").string()), tailor::ParseError);
  }
  SECTION("ml-latest-small layout") {
    write("mls/movies.csv",
          "movieId,title,genres\n1,\"American President, The (1995)\",Comedy|Drama|Romance\n"
          "2,Untitled,(no genres listed)\n");
    write("mls/ratings.csv",
          "userId,movieId,rating,timestamp\n1,1,4.5,964982703\n2,2,3.0,964982704\n");
    write("mls/tags.csv",
          "userId,movieId,tag,timestamp\n1,1,politics,1\n2,1,politics,2\n2,1,romance,3\n3,99,lost,"
          "4\n");
    Dataset d = tailor::load_movielens_latest_small((root / "mls").string());
    CHECK(d.catalog.size() == 2);
    const auto& m = d.catalog.at("1");
    CHECK(m.title == "American President, The (1995)");
    CHECK(m.category_path == std::vector<std::string>{"Comedy"});
    CHECK(m.attributes.at("year") == "1995");
    CHECK(m.attributes.at("tags") == "politics|romance");
    CHECK(m.description == "politics, romance");
    CHECK(d.catalog.at("2").category_path.empty());
    CHECK_FALSE(d.catalog.at("2").attributes.count("year"));
    CHECK(get(d.report.counts, "tag_applications") == 3);
    CHECK(get(d.report.excluded, "tag_unknown_movie") == 1);
    REQUIRE(d.events.size() == 2);
    CHECK(d.events[0].type == EventType::rating);
    CHECK(d.events[0].value == 4.5);
    CHECK(d.events[0].timestamp == 964982703000);
  }
  SECTION("Amazon layout (plain JSON Lines under the .gz name: gzip is detected by content)") {
    write("amz/meta_Magazine_Subscriptions.json.gz",
          "{\"asin\": \"A1\", \"title\": \"<span class=\\\"x\\\"\", \"description\": [\"Arts &amp; "
          "<i>Crafts</i>\", \"\"],"
          " \"category\": [\"Magazine Subscriptions\", \"Arts, Music &amp; Photography\"], "
          "\"brand\": \"\","
          " \"details\": {\"Publisher:\": \"Pub Co\", \"Format:\": \"Print Magazine\"}, \"price\": "
          "\"$12.99\"}\n"
          "{\"asin\": \"A2\", \"title\": \"Time\", \"price\": \".a-box{color:#fff}\"}\n"
          "not json\n"
          "{\"asin\": \"A1\", \"title\": \"<span\"}\n");
    write("amz/Magazine_Subscriptions.csv", "A1,U1,5.0,1005177600\nA3,U2,1.0,1005177601\n");
    Dataset d = tailor::load_amazon_magazines((root / "amz").string(), lenient);
    CHECK(d.catalog.size() == 2);
    const auto& a1 = d.catalog.at("A1");
    CHECK(a1.title.empty());
    CHECK(a1.description == "Arts & Crafts");
    CHECK(a1.category_path ==
          std::vector<std::string>{"Magazine Subscriptions", "Arts, Music & Photography"});
    CHECK(a1.brand == "Pub Co");
    CHECK(a1.price == 12.99);
    CHECK(a1.attributes.at("format") == "Print Magazine");
    CHECK(d.catalog.at("A2").title == "Time");
    CHECK_FALSE(d.catalog.at("A2").price.has_value());
    const auto& c = d.report.counts;
    CHECK(get(c, "meta_lines") == 3);
    CHECK(get(c, "duplicate_meta_lines") == 1);
    CHECK(get(c, "title_html_dropped") == 2);
    CHECK(get(c, "price_unusable") == 1);
    CHECK(d.report.reads[0].by_reason.at(RejectReason::invalid_json) == 1);
    CHECK(d.report.reads[0].samples.at(0).line == 3);
    REQUIRE(d.events.size() == 2);
    CHECK(d.events[0].user == "U1");
    CHECK(d.events[0].item == "A1");
    CHECK(get(c, "rated_items_with_metadata") == 1);
  }
}

TEST_CASE("Text helpers: Latin-1 to UTF-8 and HTML stripping", "[datasets]") {
  CHECK(tailor::latin1_to_utf8("Mis\xe9rables") == "Mis\xc3\xa9rables");
  CHECK(tailor::latin1_to_utf8("plain") == "plain");
  CHECK(tailor::latin1_to_utf8("\xff") == "\xc3\xbf");
  CHECK(tailor::strip_html("Arts &amp; Crafts") == "Arts & Crafts");
  CHECK(tailor::strip_html("<i>Time</i>  magazine<br/>weekly") == "Time magazine weekly");
  CHECK(tailor::strip_html("caf&#233; &#x41; &lt;b&gt;") == "caf\xc3\xa9 A <b>");
  CHECK(tailor::strip_html("a & b; no entity &bogus;") == "a & b; no entity &bogus;");
  CHECK(tailor::strip_html("unclosed <tag") == "unclosed <tag");
  CHECK(tailor::strip_html("  \n ").empty());
  CHECK(tailor::strip_html("&#0; &#xD800; &#99999999;") == "&#0; &#xD800; &#99999999;");
}

// Expected numbers for the full data set, computed independently with Python's csv module over
// the 305 by-day files (the same as the bundled file):
//   for r in rows:  inv, code, desc, qty, date, price, cust, country = r
//     if not code[:1].isdigit(): non_product_code += 1
//     elif inv.startswith('C'): return (all have qty < 0)
//     elif int(qty) <= 0: stock_adjustment += 1
//     elif float(price) <= 0: nonpositive_price += 1
//     else: purchase
//   anonymous = accepted rows with cust == ''; customers/invoices/items = distinct values over
//   accepted rows; price = sorted(purchase prices)[(n-1)//2].
TEST_CASE("Bundled Online Retail: exact counts", "[datasets][retail]") {
  const auto start = std::chrono::steady_clock::now();
  Dataset d = tailor::load_online_retail(tailor::test::bundled_retail());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "{\"load_online_retail_bundled_seconds\": " << seconds << "}\n";

  check_retail_accounting(d);
  const auto& read = d.report.reads[0];
  CHECK(read.records == 541909);
  CHECK(read.rejected == 0);
  CHECK(get(d.report.excluded, "non_product_code") == 2995);
  CHECK(get(d.report.excluded, "stock_adjustment") == 1324);
  CHECK(get(d.report.excluded, "nonpositive_price") == 1161);
  CHECK(get(d.report.excluded, "invalid_cancellation") == 0);
  CHECK(d.report.excluded_total() == 5480);
  CHECK(d.events.size() == 536429);
  CHECK(get(d.report.counts, "purchase_events") == 527725);
  CHECK(get(d.report.counts, "return_events") == 8704);
  CHECK(get(d.report.counts, "anonymous_events") == 131553);
  CHECK(get(d.report.counts, "customers") == 4362);
  CHECK(get(d.report.counts, "invoices") == 23195);
  CHECK(d.catalog.size() == 3914);
  CHECK(d.catalog.at("85123A").title == "WHITE HANGING HEART T-LIGHT HOLDER");
  CHECK(d.catalog.at("85123A").price == 2.95);
  CHECK(d.catalog.at("22423").price == 12.75);
  CHECK(d.events.front().timestamp == 1291191960000);  // 2010-12-01 08:26:00
  CHECK(d.events.back().timestamp == 1323435000000);   // 2011-12-09 12:50:00
  for (const auto& item : d.catalog) CHECK(!item.title.empty());
}

TEST_CASE("Online Retail by-day directory agrees with the bundled file",
          "[datasets][online-retail-by-day]") {
  Dataset by_day = tailor::load_online_retail(tailor::test::data_path("online-retail/by-day"));
  Dataset bundled = tailor::load_online_retail(tailor::test::bundled_retail());
  check_retail_accounting(by_day);
  CHECK(get(by_day.report.counts, "files") == 305);
  CHECK(by_day.report.reads[0].records == 541909);
  CHECK(by_day.report.reads[0].rejected == 0);
  CHECK(by_day.report.excluded == bundled.report.excluded);
  auto counts = by_day.report.counts;
  counts["files"] = 1;
  CHECK(counts == bundled.report.counts);
  CHECK(by_day.events.size() == 536429);
  CHECK(by_day.events == bundled.events);
  CHECK(by_day.unit_prices == bundled.unit_prices);
  CHECK(by_day.catalog == bundled.catalog);

  // The bundled file is byte for byte the by-day files concatenated in name order with every
  // header after the first dropped (the transformation examples/data/README.md documents).
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(tailor::test::data_path("online-retail/by-day")))
    if (entry.path().extension() == ".csv") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() == 305);
  std::string expected;
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::ifstream in(files[i], std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    expected += i == 0 ? content : content.substr(content.find('\n') + 1);
  }
  auto bundled_in = tailor::open_input(tailor::test::bundled_retail());
  std::string actual((std::istreambuf_iterator<char>(*bundled_in)),
                     std::istreambuf_iterator<char>());
  CHECK(actual.size() == expected.size());
  CHECK(actual == expected);
}

TEST_CASE("MovieLens 100K counts", "[datasets][ml100k]") {
  Dataset d = tailor::load_movielens_100k(tailor::test::data_path("ml-100k"));
  CHECK(d.events.size() == 100000);
  CHECK(get(d.report.counts, "users") == 943);
  CHECK(d.catalog.size() == 1682);
  for (const auto& r : d.report.reads) CHECK(r.rejected == 0);
  std::map<double, int> histogram;
  for (const Event& e : d.events) {
    REQUIRE(e.type == EventType::rating);
    ++histogram[*e.value];
  }
  CHECK(histogram ==
        std::map<double, int>{{1, 6110}, {2, 11370}, {3, 27145}, {4, 34174}, {5, 21201}});
  tailor::Timestamp lo = d.events[0].timestamp, hi = lo;
  for (const Event& e : d.events) {
    lo = std::min(lo, e.timestamp);
    hi = std::max(hi, e.timestamp);
  }
  CHECK(lo == 874724710000);  // 1997-09-20 03:05:10 UTC
  CHECK(hi == 893286638000);  // 1998-04-22 23:10:38 UTC
  const auto& toy = d.catalog.at("1");
  CHECK(toy.title == "Toy Story (1995)");
  CHECK(toy.category_path == std::vector<std::string>{"Animation"});
  CHECK(toy.attributes.at("genres") == "Animation|Children's|Comedy");
  CHECK(toy.attributes.at("year") == "1995");
  CHECK(d.catalog.at("543").title == "Mis\xc3\xa9rables, Les (1995)");
  for (const auto& item : d.catalog) CHECK(tailor::is_valid_utf8(item.title));
}

TEST_CASE("MovieLens latest-small counts", "[datasets][ml-latest-small]") {
  Dataset d = tailor::load_movielens_latest_small(tailor::test::data_path("ml-latest-small"));
  for (const auto& r : d.report.reads) CHECK(r.rejected == 0);
  CHECK(d.events.size() == 100836);
  CHECK(get(d.report.counts, "users") == 610);
  CHECK(get(d.report.counts, "rated_movies") == 9724);
  CHECK(d.catalog.size() == 9742);
  CHECK(get(d.report.counts, "tag_applications") == 3683);
  CHECK(get(d.report.counts, "tagged_movies") == 1572);
  CHECK(d.report.excluded_total() == 0);
  std::size_t no_genre = 0;
  for (const auto& item : d.catalog) no_genre += item.category_path.empty() ? 1 : 0;
  CHECK(no_genre == 34);
  double lo = 10, hi = 0;
  for (const Event& e : d.events) {
    lo = std::min(lo, *e.value);
    hi = std::max(hi, *e.value);
  }
  CHECK(lo == 0.5);
  CHECK(hi == 5.0);
  const auto& toy = d.catalog.at("1");
  CHECK(toy.category_path == std::vector<std::string>{"Adventure"});
  CHECK(toy.attributes.at("year") == "1995");
  CHECK(toy.attributes.at("imdb_id") == "0114709");
  CHECK(toy.attributes.at("tmdb_id") == "862");
  CHECK(d.catalog.at("60756").attributes.at("tags").find("funny") != std::string::npos);
}

TEST_CASE("Amazon Magazine_Subscriptions counts", "[datasets][amazon-magazines]") {
  Dataset d =
      tailor::load_amazon_magazines(tailor::test::data_path("amazon-2018-magazine-subscriptions"));
  for (const auto& r : d.report.reads) CHECK(r.rejected == 0);
  const auto& c = d.report.counts;
  CHECK(get(c, "meta_lines") == 3385);
  CHECK(d.catalog.size() == 2320);
  CHECK(get(c, "duplicate_meta_lines") == 1065);
  CHECK(get(c, "title_html_dropped") == 3153);
  CHECK(get(c, "with_description") == 2909);
  CHECK(get(c, "with_category") == 2883);
  CHECK(get(c, "price_unusable") == 18);
  CHECK(d.events.size() == 89689);
  CHECK(get(c, "users") == 72098);
  CHECK(get(c, "rated_items") == 2428);
  CHECK(get(c, "rated_items_with_metadata") == 2320);
  const auto& reason = d.catalog.at("B00005N7NQ");
  CHECK(reason.brand == "Reason Magazine");
  CHECK(reason.title.empty());
  CHECK(reason.category_path.front() == "Magazine Subscriptions");
  CHECK(reason.attributes.at("format") == "Print Magazine");
  CHECK(reason.description.find("REASON is edited") == 0);
  for (const auto& item : d.catalog) {
    CHECK_FALSE(item.price.has_value());
    for (const auto& part : item.category_path) CHECK(part.find("&amp;") == std::string::npos);
  }
}
