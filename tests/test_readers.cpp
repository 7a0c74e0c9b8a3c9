// Tests of the event and catalog readers (CSV and JSON Lines): good input, every kind of bad
// input in strict and lenient mode, gzip, streaming a large file, and the real Online Retail data.
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tailor/io/readers.hpp"
#include "test_data.hpp"

using tailor::ErrorPolicy;
using tailor::Event;
using tailor::EventReaderOptions;
using tailor::EventType;
using tailor::ReadReport;
using tailor::RejectReason;

namespace {

struct EventRun {
  ReadReport report;
  std::vector<Event> events;
};

EventRun events_csv(const std::string& text, EventReaderOptions opt = {},
                    const std::string& name = "events.csv") {
  std::istringstream in(text);
  EventRun run;
  run.report = tailor::read_events_csv(in, name, opt, [&](Event&& e) { run.events.push_back(e); });
  return run;
}

EventRun events_jsonl(const std::string& text, EventReaderOptions opt = {},
                      const std::string& name = "events.jsonl") {
  std::istringstream in(text);
  EventRun run;
  run.report = tailor::read_events_jsonl(in, name, opt, [&](Event&& e) { run.events.push_back(e); });
  return run;
}

/// The ParseError message a strict read of `text` throws ("" if none).
std::string strict_csv_error(const std::string& text, EventReaderOptions opt = {}) {
  opt.policy = ErrorPolicy::strict;
  try {
    events_csv(text, opt);
  } catch (const tailor::ParseError& e) {
    CHECK(e.code() == tailor::ErrorCode::parse_error);
    CHECK(e.rejection().message() == e.what());
    return e.what();
  }
  return "";
}

EventReaderOptions lenient() {
  EventReaderOptions opt;
  opt.policy = ErrorPolicy::lenient;
  return opt;
}

double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmHWM:") {
      double kib = 0;
      status >> kib;
      return kib / 1024.0;
    }
    status.ignore(1 << 12, '\n');
  }
  return 0.0;
}

std::string scratch(const std::string& name) { return tailor::test::scratch_dir() + "/" + name; }

const std::string kHeader = "user_id,item_id,event_type,timestamp\n";

}  // namespace

TEST_CASE("read_events_csv maps configured columns", "[readers]") {
  EventReaderOptions opt;
  opt.value_field = "rating";
  opt.session_field = "sess";
  opt.query_field = "q";
  const std::string text =
      "sess,q,item_id,user_id,timestamp,event_type,rating\n"
      "s1,,i1,u1,2011-12-09 08:39:00,view,\n"
      "s1,,i2,u1,1323419940,PURCHASE,2.5\n"
      "s2,red mug,,,2011-12-09T08:39:00+01:00,search,\n"
      "s2,, i3 ,,1323419940123,add-to-cart,-1\n"
      "s3,,i4,u2,1323419940,,4\n";
  const EventRun run = events_csv(text, opt);
  REQUIRE(run.events.size() == 5);
  CHECK(run.report.records == 5);
  CHECK(run.report.accepted == 5);
  CHECK(run.report.rejected == 0);
  CHECK(run.events[0].user == "u1");
  CHECK(run.events[0].item == "i1");
  CHECK(run.events[0].type == EventType::view);
  CHECK(run.events[0].timestamp == 1323419940000);
  CHECK_FALSE(run.events[0].value);
  CHECK(run.events[0].session == "s1");
  CHECK(run.events[1].type == EventType::purchase);
  CHECK(run.events[1].value == 2.5);
  CHECK(run.events[2].type == EventType::search);
  CHECK(run.events[2].item.empty());
  CHECK(run.events[2].query == "red mug");
  CHECK(run.events[2].timestamp == 1323416340000);
  CHECK(run.events[2].actor() == "session:s2");
  CHECK(run.events[3].item == "i3");
  CHECK(run.events[3].type == EventType::add_to_cart);
  CHECK(run.events[3].timestamp == 1323419940123);
  CHECK(run.events[3].value == -1.0);
  CHECK(run.events[4].type == EventType::view);  // empty type -> default_type
}

TEST_CASE("read_events_csv without a type column, with a custom type and delimiter", "[readers]") {
  EventReaderOptions opt;
  opt.type_field = "";
  opt.default_type = EventType::rating;
  opt.value_field = "rating";
  opt.csv.delimiter = '\t';
  opt.timestamp_unit = tailor::TimestampUnit::seconds;
  const EventRun run = events_csv("user_id\titem_id\trating\ttimestamp\n196\t242\t3\t881250949\n", opt);
  REQUIRE(run.events.size() == 1);
  CHECK(run.events[0].type == EventType::rating);
  CHECK(run.events[0].timestamp == 881250949000);

  tailor::EventTypeRegistry types;
  const EventType wish = types.add("wishlist");
  std::istringstream in(kHeader + "u,i,wishlist,0\n");
  std::vector<Event> got;
  tailor::read_events_csv(in, "c.csv", EventReaderOptions{}, [&](Event&& e) { got.push_back(e); },
                          types);
  REQUIRE(got.size() == 1);
  CHECK(got[0].type == wish);
}

TEST_CASE("bad rows: strict throws naming file:line and column, lenient counts", "[readers]") {
  struct Case {
    std::string row;
    RejectReason reason;
    std::string where;  // expected message prefix
  };
  EventReaderOptions base;
  base.value_field = "value";
  base.value_non_negative = true;
  base.csv.max_field_bytes = 64;
  const std::string header = "user_id,item_id,event_type,timestamp,value\n";
  const std::string good = "u,i,view,1323419940,1\n";
  const std::vector<Case> cases = {
      {"u,i,view\n", RejectReason::wrong_column_count, "events.csv:3: wrong_column_count"},
      {"u,i,view,1323419940,1,extra\n", RejectReason::wrong_column_count, "events.csv:3: wrong"},
      {",i,view,1323419940,1\n", RejectReason::missing_value, "events.csv:3: column 'user_id': missing_value"},
      {"u,,view,1323419940,1\n", RejectReason::missing_value, "events.csv:3: column 'item_id': missing_value"},
      {"u,i,view,,1\n", RejectReason::missing_value, "events.csv:3: column 'timestamp': missing_value"},
      {"u,i,view,12a,1\n", RejectReason::invalid_timestamp,
       "events.csv:3: column 'timestamp': invalid_timestamp: '12a'"},
      {"u,i,view,2011-02-30,1\n", RejectReason::invalid_timestamp, "events.csv:3: column 'timestamp'"},
      {"u,i,view,1323419940,abc\n", RejectReason::invalid_number,
       "events.csv:3: column 'value': invalid_number: 'abc'"},
      {"u,i,view,1323419940,NaN\n", RejectReason::out_of_range, "events.csv:3: column 'value': out_of_range"},
      {"u,i,view,1323419940,-2\n", RejectReason::out_of_range, "events.csv:3: column 'value': out_of_range: '-2' is negative"},
      {"u,i,teleport,1323419940,1\n", RejectReason::unknown_event_type,
       "events.csv:3: column 'event_type': unknown_event_type: 'teleport'"},
      {"u,i\xFF,view,1323419940,1\n", RejectReason::invalid_utf8, "events.csv:3: column 'item_id': invalid_utf8"},
      {"u,\"i,view,1323419940,1\n", RejectReason::unterminated_quote,
       "events.csv:3: column 'item_id': unterminated_quote"},
      {"u," + std::string(100, 'x') + ",view,1323419940,1\n", RejectReason::field_too_large,
       "events.csv:3: column 'item_id': field_too_large"},
  };
  for (const Case& c : cases) {
    INFO(c.row);
    const std::string text = header + good + c.row + (c.reason == RejectReason::unterminated_quote ? "" : good);
    const std::string message = strict_csv_error(text, base);
    CHECK(message.rfind(c.where, 0) == 0);
    INFO(message);

    EventReaderOptions opt = base;
    opt.policy = ErrorPolicy::lenient;
    const EventRun run = events_csv(text, opt);
    const std::uint64_t goods = c.reason == RejectReason::unterminated_quote ? 1 : 2;
    CHECK(run.report.accepted == goods);
    CHECK(run.events.size() == goods);
    CHECK(run.report.rejected == 1);
    CHECK(run.report.records == goods + 1);
    CHECK(run.report.by_reason.at(c.reason) == 1);
    REQUIRE(run.report.samples.size() == 1);
    CHECK(run.report.samples[0].line == 3);
    CHECK(run.report.samples[0].reason == c.reason);
    CHECK(run.report.samples[0].message() == message);
  }
}

TEST_CASE("lenient mode keeps the first max_samples rejections and counts all", "[readers]") {
  EventReaderOptions opt = lenient();
  opt.max_samples = 3;
  std::string text = kHeader;
  for (int i = 0; i < 10; ++i) text += "u,i,view,bad" + std::to_string(i) + "\nu,i,view,5\n,i,view,5\n";
  const EventRun run = events_csv(text, opt);
  CHECK(run.report.records == 30);
  CHECK(run.report.accepted == 10);
  CHECK(run.report.rejected == 20);
  CHECK(run.report.by_reason.at(RejectReason::invalid_timestamp) == 10);
  CHECK(run.report.by_reason.at(RejectReason::missing_value) == 10);
  REQUIRE(run.report.samples.size() == 3);
  CHECK(run.report.samples[0].line == 2);
  CHECK(run.report.samples[1].line == 4);
  CHECK(run.report.samples[2].line == 5);
  const nlohmann::json j = run.report.to_json();
  CHECK(j["records"] == 30);
  CHECK(j["by_reason"]["invalid_timestamp"] == 10);
  CHECK(j["samples"].size() == 3);
  CHECK(j["samples"][0]["message"] ==
        "events.csv:2: column 'timestamp': invalid_timestamp: 'bad0' is not an ISO-8601 date-time "
        "or epoch number");
}

TEST_CASE("file-level problems throw in both modes", "[readers]") {
  for (ErrorPolicy policy : {ErrorPolicy::strict, ErrorPolicy::lenient}) {
    EventReaderOptions opt;
    opt.policy = policy;
    auto reason_of = [&](const std::string& text, std::string* what = nullptr) {
      try {
        events_csv(text, opt);
      } catch (const tailor::ParseError& e) {
        if (what) *what = e.what();
        return e.rejection().reason;
      }
      FAIL("no exception for " << text);
      return RejectReason::invalid_value;
    };
    std::string what;
    CHECK(reason_of("", &what) == RejectReason::empty_file);
    CHECK(what == "events.csv: empty_file: the input has no header record (it is empty)");
    CHECK(reason_of("\r\n\n") == RejectReason::empty_file);
    CHECK(reason_of("u1,i1,view,1323419940\n", &what) == RejectReason::missing_header);
    CHECK(what.rfind("events.csv:1: missing_header", 0) == 0);
    CHECK(reason_of("user_id,item_id,timestamp\nu,i,5\n", &what) == RejectReason::missing_column);
    CHECK(what.rfind("events.csv:1: column 'event_type': missing_column", 0) == 0);
    CHECK(reason_of("user_id,\"item_id\n") == RejectReason::unterminated_quote);

    std::istringstream jin("");
    CHECK_THROWS_AS(tailor::read_events_jsonl(jin, "e.jsonl", opt, [](Event&&) {}), tailor::ParseError);
  }
}

TEST_CASE("reader options are validated", "[readers]") {
  EventReaderOptions opt;
  opt.item_field = "";
  CHECK_THROWS_AS(opt.validate(), tailor::Error);
  opt = EventReaderOptions{};
  opt.value_field = "user_id";
  CHECK_THROWS_AS(opt.validate(), tailor::Error);
  opt = EventReaderOptions{};
  opt.user_field = "";
  CHECK_THROWS_AS(opt.validate(), tailor::Error);
  opt.session_field = "session";
  CHECK_NOTHROW(opt.validate());
  opt.csv.delimiter = '\n';
  CHECK_THROWS_AS(opt.validate(), tailor::Error);
  tailor::CatalogReaderOptions copt;
  copt.id_field = "";
  CHECK_THROWS_AS(copt.validate(), tailor::Error);
  CHECK_THROWS_AS(events_csv(kHeader, opt), tailor::Error);
}

TEST_CASE("read_events_jsonl", "[readers][jsonl]") {
  EventReaderOptions opt = lenient();
  opt.value_field = "value";
  opt.session_field = "session";
  const std::string text =
      "{\"user_id\":\"u1\",\"item_id\":\"i1\",\"event_type\":\"click\",\"timestamp\":1323419940}\n"
      "{\"user_id\":17850,\"item_id\":85123,\"timestamp\":\"2011-12-09T08:39:00Z\",\"value\":6,\"extra\":[1]}\n"
      "\n"
      "{\"user_id\":null,\"session\":\"s9\",\"item_id\":\"i\",\"timestamp\":1323419940000.0,\"value\":\"2.5\"}\n"
      "{\"user_id\":{\"id\":1},\"item_id\":\"i\",\"timestamp\":1}\n"
      "{\"user_id\":\"u\",\"item_id\":\"i\"}\n"
      "{\"user_id\":\"u\",\"item_id\":\"i\",\"timestamp\":1,\n"
      "[1,2,3]\n"
      "{\"user_id\":\"u\",\"item_id\":\"i\",\"timestamp\":1,\"event_type\":true}\n"
      "{\"user_id\":\"u\",\"item_id\":\"i\",\"timestamp\":1,\"value\":\"x\"}\n"
      "{\"user_id\":\"u\",\"item_id\":\"i\",\"timestamp\":\"yesterday\"}\n"
      "{\"user_id\":\"u\",\"item_id\":\"\xFF\",\"timestamp\":1}\n" +
      std::string(200, '[') + std::string(200, ']') + "\n" +
      "{\"user_id\":\"u\",\"item_id\":\"i\",\"timestamp\":1,\"event_type\":\"dance\"}\r\n";
  const EventRun run = events_jsonl(text, opt);
  REQUIRE(run.events.size() == 3);
  CHECK(run.events[0].type == EventType::click);
  CHECK(run.events[0].timestamp == 1323419940000);
  CHECK(run.events[1].user == "17850");
  CHECK(run.events[1].item == "85123");
  CHECK(run.events[1].value == 6.0);
  CHECK(run.events[1].timestamp == 1323419940000);
  CHECK(run.events[2].user.empty());
  CHECK(run.events[2].session == "s9");
  CHECK(run.events[2].value == 2.5);
  CHECK(run.events[2].timestamp == 1323419940000);
  const auto& r = run.report;
  CHECK(r.blank_lines == 1);
  CHECK(r.records == 13);
  CHECK(r.accepted == 3);
  CHECK(r.rejected == 10);
  CHECK(r.by_reason.at(RejectReason::wrong_type) == 2);
  CHECK(r.by_reason.at(RejectReason::missing_value) == 1);
  CHECK(r.by_reason.at(RejectReason::invalid_json) == 3);
  CHECK(r.by_reason.at(RejectReason::invalid_number) == 1);
  CHECK(r.by_reason.at(RejectReason::invalid_timestamp) == 1);
  CHECK(r.by_reason.at(RejectReason::invalid_utf8) == 1);
  CHECK(r.by_reason.at(RejectReason::unknown_event_type) == 1);
  REQUIRE(r.samples.size() == 10);
  CHECK(r.samples[0].message() ==
        "events.jsonl:5: column 'user_id': wrong_type: expected a string or number, found object");
  CHECK(r.samples[1].message() == "events.jsonl:6: column 'timestamp': missing_value: empty");
  CHECK(r.samples[2].line == 7);
  CHECK(r.samples[2].reason == RejectReason::invalid_json);
  CHECK(r.samples[3].message() == "events.jsonl:8: invalid_json: expected a JSON object, found array");
  CHECK(r.samples[9].line == 14);

  // A parser message that quotes half of a multi-byte character still serialises.
  const EventRun cut = events_jsonl("{\"user_id\":\"\xC3\xA9\xC3\xA9\"\xE2\x82\xAC\n", opt);
  CHECK(cut.report.by_reason.at(RejectReason::invalid_json) == 1);
  CHECK_NOTHROW(cut.report.to_json().dump());

  opt.policy = ErrorPolicy::strict;
  try {
    events_jsonl(text, opt);
    FAIL("no exception");
  } catch (const tailor::ParseError& e) {
    CHECK(std::string(e.what()) == r.samples[0].message());
  }
  opt.csv.max_record_bytes = 50;
  opt.csv.max_field_bytes = 50;
  opt.policy = ErrorPolicy::lenient;
  const EventRun small = events_jsonl(text, opt);
  CHECK(small.report.by_reason.at(RejectReason::record_too_large) == 8);  // lines over 50 bytes
  CHECK(small.report.records == 13);
}

TEST_CASE("read_catalog_csv and read_catalog_jsonl", "[readers][catalog]") {
  tailor::CatalogReaderOptions opt;
  opt.policy = ErrorPolicy::lenient;
  const std::string csv =
      "item_id,title,category,brand,price,in_stock,colour,size\n"
      "85123A,WHITE HANGING HEART,Home > Decor/Lights,Acme,2.55,yes,white,\n"
      "71053,\"LANTERN, METAL\",,,,,,L\n"
      "22752,SET 7 BABUSHKA,Toys,,-1,true,,\n"
      "21730,GLASS STAR,Home,,1.5,sometimes,,\n"
      ",NO ID,Home,,1,1,,\n";
  std::istringstream in(csv);
  std::vector<tailor::CatalogItem> items;
  const ReadReport report = tailor::read_catalog_csv(in, "catalog.csv", opt,
                                                     [&](tailor::CatalogItem&& it) { items.push_back(it); });
  REQUIRE(items.size() == 2);
  CHECK(items[0].id == "85123A");
  CHECK(items[0].category_path == std::vector<std::string>{"Home", "Decor", "Lights"});
  CHECK(items[0].brand == "Acme");
  CHECK(items[0].price == 2.55);
  CHECK(items[0].in_stock);
  CHECK(items[0].attributes == std::map<std::string, std::string>{{"colour", "white"}});
  CHECK(items[1].title == "LANTERN, METAL");
  CHECK_FALSE(items[1].price);
  CHECK(items[1].category_path.empty());
  CHECK(items[1].attributes == std::map<std::string, std::string>{{"size", "L"}});
  CHECK(report.rejected == 3);
  CHECK(report.by_reason.at(RejectReason::out_of_range) == 1);
  CHECK(report.by_reason.at(RejectReason::invalid_value) == 1);
  CHECK(report.by_reason.at(RejectReason::missing_value) == 1);
  CHECK(report.samples[1].message() ==
        "catalog.csv:5: column 'in_stock': invalid_value: 'sometimes' is not true/false/1/0/yes/no");

  const std::string jsonl =
      "{\"item_id\":\"B1\",\"title\":\"Mug\",\"category\":[\"Home\",\" Kitchen \"],\"price\":3,"
      "\"in_stock\":false,\"pages\":120,\"tags\":[\"a\"]}\n"
      "{\"item_id\":2,\"category\":\"Books/Fiction\",\"price\":\"4.5\",\"in_stock\":0}\n"
      "{\"item_id\":\"B3\",\"category\":[1]}\n"
      "{\"item_id\":\"B4\",\"price\":\"cheap\"}\n";
  std::istringstream jin(jsonl);
  items.clear();
  const ReadReport jr = tailor::read_catalog_jsonl(jin, "catalog.jsonl", opt,
                                                   [&](tailor::CatalogItem&& it) { items.push_back(it); });
  REQUIRE(items.size() == 2);
  CHECK(items[0].category_path == std::vector<std::string>{"Home", "Kitchen"});
  CHECK(items[0].price == 3.0);
  CHECK_FALSE(items[0].in_stock);
  CHECK(items[0].attributes ==
        std::map<std::string, std::string>{{"pages", "120"}, {"tags", "[\"a\"]"}});
  CHECK(items[1].id == "2");
  CHECK(items[1].category_path == std::vector<std::string>{"Books", "Fiction"});
  CHECK(items[1].price == 4.5);
  CHECK_FALSE(items[1].in_stock);
  CHECK(jr.by_reason.at(RejectReason::wrong_type) == 1);
  CHECK(jr.by_reason.at(RejectReason::invalid_number) == 1);
  CHECK(tailor::split_category_path(" a >> b / ", ">/") == std::vector<std::string>{"a", "b"});
}

TEST_CASE("gzip event files are read transparently", "[readers][gzip]") {
  std::string text = kHeader;
  for (int i = 0; i < 1000; ++i) text += "u" + std::to_string(i % 7) + ",i" + std::to_string(i) + ",view," + std::to_string(1323419940 + i) + "\n";
  const std::string path = scratch("readers_events.csv.gz");
  {
    gzFile gz = gzopen(path.c_str(), "wb");
    REQUIRE(gz != nullptr);
    REQUIRE(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()));
    REQUIRE(gzclose(gz) == Z_OK);
  }
  std::size_t n = 0;
  const ReadReport report = tailor::read_events_csv(path, EventReaderOptions{}, [&](Event&& e) {
    CHECK(e.item == "i" + std::to_string(n));
    ++n;
  });
  CHECK(report.accepted == 1000);
  CHECK(report.file == path);

  // Cut inside the compressed data: io_error naming the file, never a silent short read.
  std::ifstream src(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(src)), std::istreambuf_iterator<char>());
  const std::string cut = scratch("readers_cut.csv.gz");
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 12);
  try {
    tailor::read_events_csv(cut, EventReaderOptions{}, [](Event&&) {});
    FAIL("no exception");
  } catch (const tailor::Error& e) {
    CHECK(e.code() == tailor::ErrorCode::io_error);
    CHECK(std::string(e.what()).rfind(cut + ": truncated gzip", 0) == 0);
  }
  CHECK_THROWS_AS(tailor::read_events_csv(scratch("nope.csv"), EventReaderOptions{}, [](Event&&) {}),
                  tailor::Error);
}

TEST_CASE("a 200k-row file streams with flat memory", "[readers][streaming]") {
  const std::string path = scratch("readers_stream.csv");
  constexpr int kRows = 200000;
  {
    std::ofstream out(path, std::ios::binary);
    out << "user_id,item_id,event_type,timestamp,value,comment\n";
    for (int i = 0; i < kRows; ++i) {
      out << "user" << i % 5003 << ",item" << i % 997 << ",purchase," << 1291191960 + i << ','
          << (i % 1000 == 999 ? "oops" : std::to_string(i % 10)) << ",\"a long, quoted comment "
          << "that pads every row to about a hundred bytes so the file is ~20 MB\"\n";
    }
  }
  EventReaderOptions opt = lenient();
  opt.value_field = "value";
  const double before = peak_rss_mib();
  std::uint64_t seen = 0;
  double sum = 0;
  const ReadReport report = tailor::read_events_csv(path, opt, [&](Event&& e) {
    ++seen;
    sum += *e.value;
  });
  const double growth = peak_rss_mib() - before;
  CHECK(report.records == kRows);
  CHECK(report.rejected == kRows / 1000);
  CHECK(report.accepted == seen);
  CHECK(report.by_reason.at(RejectReason::invalid_number) == kRows / 1000);
  CHECK(report.samples.size() == 100);
  CHECK(report.samples.back().line == 100 * 1000 + 1);
  CHECK(sum == Approx(4.5 * kRows - 9.0 * kRows / 1000).epsilon(1e-12));
  INFO("peak RSS growth " << growth << " MiB for a "
                          << std::filesystem::file_size(path) / 1048576.0 << " MiB file");
  CHECK(growth < 8.0);  // buffers are ~1 MiB; the file is ~20 MiB
  std::filesystem::remove(path);
}

namespace {
EventReaderOptions retail_options() {
  EventReaderOptions opt;
  opt.user_field = "CustomerID";
  opt.session_field = "InvoiceNo";
  opt.item_field = "StockCode";
  opt.timestamp_field = "InvoiceDate";
  opt.value_field = "Quantity";
  opt.type_field = "";
  opt.default_type = EventType::purchase;
  opt.policy = ErrorPolicy::strict;
  return opt;
}
}  // namespace

TEST_CASE("the bundled Online Retail file (gzip) reads without loss", "[readers][gzip]") {
  std::uint64_t anonymous = 0;
  const ReadReport report = tailor::read_events_csv(
      tailor::test::bundled_retail(), retail_options(),
      [&](Event&& e) { anonymous += e.user.empty() ? 1 : 0; });
  CHECK(report.records == 541909);  // the UCI row count
  CHECK(report.accepted == 541909);
  CHECK(anonymous == 135080);
}

TEST_CASE("the Online Retail by-day files read without loss", "[readers][online-retail-by-day]") {
  const EventReaderOptions opt = retail_options();
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(tailor::test::data_path("online-retail/by-day"))) {
    if (entry.path().extension() == ".csv") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() == 305);
  std::uint64_t rows = 0, anonymous = 0, negative = 0;
  tailor::Timestamp first = INT64_MAX, last = INT64_MIN;
  for (const auto& file : files) {
    const ReadReport report = tailor::read_events_csv(file.string(), opt, [&](Event&& e) {
      anonymous += e.user.empty() ? 1 : 0;
      negative += *e.value < 0 ? 1 : 0;
      first = std::min(first, e.timestamp);
      last = std::max(last, e.timestamp);
    });
    CHECK(report.rejected == 0);
    rows += report.accepted;
  }
  // Counts from the data set's README.
  CHECK(rows == 541909);
  CHECK(anonymous == 135080);
  CHECK(negative == 10624);
  CHECK(tailor::format_timestamp(first) == "2010-12-01T08:26:00.000Z");
  CHECK(tailor::format_timestamp(last) == "2011-12-09T12:50:00.000Z");
}
