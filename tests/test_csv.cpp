// Tests of the input plumbing: the CSV tokenizer, open_input (gzip), field parsers, LineReader.
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tailor/io/csv.hpp"
#include "tailor/io/input.hpp"
#include "test_data.hpp"

using tailor::CsvOptions;
using tailor::CsvReader;
using tailor::RejectReason;

namespace {

using Rows = std::vector<std::vector<std::string>>;

Rows parse_all(const std::string& text, CsvOptions options = {}) {
  std::istringstream in(text);
  CsvReader csv(in, "t.csv", options);
  Rows rows;
  while (csv.next_row()) {
    REQUIRE_FALSE(csv.issue());
    std::vector<std::string> row;
    for (std::size_t i = 0; i < csv.size(); ++i) row.emplace_back(csv.field(i));
    rows.push_back(row);
  }
  return rows;
}

// A stream buffer that hands out at most `step` bytes per read, to exercise chunk boundaries.
class TrickleBuf : public std::streambuf {
 public:
  TrickleBuf(std::string data, std::size_t step) : data_(std::move(data)), step_(step) {}

 protected:
  std::streamsize xsgetn(char* out, std::streamsize n) override {
    const std::size_t k = std::min({static_cast<std::size_t>(n), step_, data_.size() - pos_});
    std::copy_n(data_.data() + pos_, k, out);
    pos_ += k;
    return static_cast<std::streamsize>(k);
  }
  int_type underflow() override {
    return pos_ < data_.size() ? traits_type::to_int_type(data_[pos_]) : traits_type::eof();
  }
  int_type uflow() override {
    return pos_ < data_.size() ? traits_type::to_int_type(data_[pos_++]) : traits_type::eof();
  }

 private:
  std::string data_;
  std::size_t step_;
  std::size_t pos_ = 0;
};

std::string csv_escape(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void write_gzip(const std::string& path, const std::string& data, int members = 1) {
  std::ofstream out(path, std::ios::binary);
  const std::size_t per = data.size() / static_cast<std::size_t>(members) + 1;
  for (int m = 0; m < members; ++m) {
    const std::size_t begin = std::min(data.size(), per * static_cast<std::size_t>(m));
    const std::size_t end = std::min(data.size(), begin + per);
    z_stream zs{};
    REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::vector<unsigned char> buf(deflateBound(&zs, static_cast<uLong>(end - begin)) + 64);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + begin));
    zs.avail_in = static_cast<uInt>(end - begin);
    zs.next_out = buf.data();
    zs.avail_out = static_cast<uInt>(buf.size());
    REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    out.write(reinterpret_cast<const char*>(buf.data()),
              static_cast<std::streamsize>(buf.size() - zs.avail_out));
    deflateEnd(&zs);
  }
}

std::string read_all(std::istream& in) {
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::string scratch(const std::string& name) { return tailor::test::scratch_dir() + "/" + name; }

}  // namespace

TEST_CASE("CsvReader follows RFC 4180", "[csv]") {
  SECTION("plain fields, LF and a last line without newline") {
    CHECK(parse_all("a,b,c\n1,2,3\n4,5,6") == Rows{{"a", "b", "c"}, {"1", "2", "3"}, {"4", "5", "6"}});
  }
  SECTION("quoted fields with delimiters, doubled quotes and newlines") {
    const std::string text = "id,text\n1,\"a, b\"\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\n4,\"\"\n";
    CHECK(parse_all(text) ==
          Rows{{"id", "text"}, {"1", "a, b"}, {"2", "say \"hi\""}, {"3", "two\nlines"}, {"4", ""}});
  }
  SECTION("CRLF, lone CR, BOM") {
    CHECK(parse_all("\xEF\xBB\xBFx,y\r\n1,2\r\n3,4\r\n") == Rows{{"x", "y"}, {"1", "2"}, {"3", "4"}});
    CHECK(parse_all("x,y\r1,2\r") == Rows{{"x", "y"}, {"1", "2"}});
    CHECK(parse_all("\xEF\xBB\xBF") == Rows{});
  }
  SECTION("empty fields, trailing delimiter") {
    CHECK(parse_all(",,\na,,\n") == Rows{{"", "", ""}, {"a", "", ""}});
  }
  SECTION("blank lines are skipped and counted, a quoted empty line is a record") {
    std::istringstream in("a\n\n\r\nb\n\"\"\n");
    CsvReader csv(in, "t.csv");
    std::vector<std::uint64_t> lines;
    while (csv.next_row()) lines.push_back(csv.line());
    CHECK(lines == std::vector<std::uint64_t>{1, 4, 5});
    CHECK(csv.blank_lines() == 2);
  }
  SECTION("other delimiters") {
    CsvOptions tab;
    tab.delimiter = '\t';
    CHECK(parse_all("a\tb,c\n\"x\ty\"\t2\n", tab) == Rows{{"a", "b,c"}, {"x\ty", "2"}});
    CsvOptions semi;
    semi.delimiter = ';';
    CHECK(parse_all("a;b\n1,5;2\n", semi) == Rows{{"a", "b"}, {"1,5", "2"}});
  }
  SECTION("stray quotes are kept literally") {
    CHECK(parse_all("12\" ruler,x\n\"ab\"cd,y\n") == Rows{{"12\" ruler", "x"}, {"abcd", "y"}});
  }
  SECTION("line() is the line where a multi-line record starts") {
    std::istringstream in("h\n\"a\nb\nc\"\nnext\n");
    CsvReader csv(in, "t.csv");
    REQUIRE(csv.next_row());
    CHECK(csv.line() == 1);
    REQUIRE(csv.next_row());
    CHECK(csv.line() == 2);
    REQUIRE(csv.next_row());
    CHECK(csv.line() == 5);
    CHECK(csv.field(0) == "next");
    CHECK_FALSE(csv.next_row());
  }
}

TEST_CASE("CsvReader gives the same records whatever the read sizes", "[csv]") {
  std::mt19937 rng(42);
  const std::string alphabet = "ab,\"\r\n \xC3\xA9x";
  std::string text;
  Rows expected;
  for (int r = 0; r < 300; ++r) {
    std::vector<std::string> row;
    const int fields = 1 + static_cast<int>(rng() % 5);
    for (int f = 0; f < fields; ++f) {
      std::string field;
      const int len = static_cast<int>(rng() % 7);
      for (int k = 0; k < len; ++k) {
        const std::size_t pick = rng() % (alphabet.size() - 1);
        if (alphabet[pick] == '\xC3') {
          field += "\xC3\xA9";
        } else if (alphabet[pick] != '\xA9') {
          field += alphabet[pick];
        }
      }
      row.push_back(field);
    }
    if (row.size() == 1 && row[0].empty()) row[0] = "e";  // an empty line is not a record
    for (std::size_t f = 0; f < row.size(); ++f) {
      text += (f ? "," : "") + (row[f].empty() && r % 2 ? std::string("\"\"") : csv_escape(row[f]));
    }
    text += r % 3 == 0 ? "\r\n" : "\n";
    expected.push_back(row);
  }
  CHECK(parse_all(text) == expected);
  for (std::size_t step : {1u, 2u, 3u, 7u, 64u}) {
    TrickleBuf buf(text, step);
    std::istream in(&buf);
    CsvReader csv(in, "trickle.csv");
    Rows rows;
    while (csv.next_row()) {
      REQUIRE_FALSE(csv.issue());
      std::vector<std::string> row;
      for (std::size_t i = 0; i < csv.size(); ++i) row.emplace_back(csv.field(i));
      rows.push_back(row);
    }
    CHECK(rows == expected);
  }
}

TEST_CASE("CsvReader flags malformed records and recovers", "[csv]") {
  SECTION("unterminated quote names the line and the field") {
    std::istringstream in("a,b\n1,2\n3,\"open\n4,5\n");
    CsvReader csv(in, "bad.csv");
    csv.read_header();
    REQUIRE(csv.next_row());
    CHECK_FALSE(csv.issue());
    REQUIRE(csv.next_row());
    REQUIRE(csv.issue());
    CHECK(csv.issue()->reason == RejectReason::unterminated_quote);
    const std::string msg = csv.rejection_for_issue().message();
    CHECK(msg.find("bad.csv:3: column 'b': unterminated_quote") == 0);
    CHECK(msg.find("opened on line 3 is not closed before the end of the input; lines 3-4 were") !=
          std::string::npos);
    CHECK_FALSE(csv.next_row());
  }
  SECTION("a field over max_field_bytes is rejected, the next record is fine") {
    CsvOptions opt;
    opt.max_field_bytes = 8;
    opt.max_record_bytes = 64;
    std::istringstream in("x,y\n1,123456789\n2,\"12345678\"\n");
    CsvReader csv(in, "big.csv", opt);
    csv.read_header();
    REQUIRE(csv.next_row());
    REQUIRE(csv.issue());
    CHECK(csv.issue()->reason == RejectReason::field_too_large);
    CHECK(csv.rejection_for_issue().message().find("big.csv:2: column 'y': field_too_large") == 0);
    REQUIRE(csv.next_row());
    CHECK_FALSE(csv.issue());
    CHECK(csv.field(1) == "12345678");
    CHECK(csv.line() == 3);
  }
  SECTION("a record over max_record_bytes, including one of many empty fields") {
    CsvOptions opt;
    opt.max_field_bytes = 16;
    opt.max_record_bytes = 32;
    std::istringstream in(std::string(100, ',') + "\n" + "aaaaaaaaaaaa,bbbbbbbbbbbb,cccccccccccc\nok\n");
    CsvReader csv(in, "wide.csv", opt);
    REQUIRE(csv.next_row());
    REQUIRE(csv.issue());
    CHECK(csv.issue()->reason == RejectReason::record_too_large);
    REQUIRE(csv.next_row());
    REQUIRE(csv.issue());
    CHECK(csv.issue()->reason == RejectReason::record_too_large);
    CHECK(csv.line() == 2);
    REQUIRE(csv.next_row());
    CHECK_FALSE(csv.issue());
    CHECK(csv.field(0) == "ok");
  }
  SECTION("invalid UTF-8 names the field, also when a sequence is split by a delimiter") {
    std::istringstream in("a,b,c\n1,x\xFFy,3\n1,\xC3,\xA9\n\xC3\xA9,\xE2\x82\xAC,ok\n");
    CsvReader csv(in, "u.csv");
    csv.read_header();
    REQUIRE(csv.next_row());
    REQUIRE(csv.issue());
    CHECK(csv.issue()->reason == RejectReason::invalid_utf8);
    CHECK(csv.rejection_for_issue().message().find("u.csv:2: column 'b': invalid_utf8") == 0);
    REQUIRE(csv.next_row());
    REQUIRE(csv.issue());
    CHECK(csv.issue()->field == 1);
    REQUIRE(csv.next_row());
    CHECK_FALSE(csv.issue());
  }
  SECTION("wrong column count") {
    std::istringstream in("a,b\n1\n1,2,3\n1,2\n");
    CsvReader csv(in, "n.csv");
    csv.read_header();
    REQUIRE(csv.next_row());
    REQUIRE(csv.check_column_count());
    CHECK(csv.check_column_count()->message() ==
          "n.csv:2: wrong_column_count: expected 2 fields, found 1");
    REQUIRE(csv.next_row());
    CHECK(csv.check_column_count());
    REQUIRE(csv.next_row());
    CHECK_FALSE(csv.check_column_count());
  }
}

TEST_CASE("CsvReader header handling", "[csv]") {
  SECTION("empty input") {
    for (const char* text : {"", "\n\n", "\xEF\xBB\xBF"}) {
      std::istringstream in(text);
      CsvReader csv(in, "empty.csv");
      try {
        csv.read_header();
        FAIL("no exception");
      } catch (const tailor::ParseError& e) {
        CHECK(e.code() == tailor::ErrorCode::parse_error);
        CHECK(e.rejection().reason == RejectReason::empty_file);
        CHECK(std::string(e.what()).find("empty.csv: empty_file") == 0);
      }
    }
  }
  SECTION("columns by name, blanks trimmed, missing column named") {
    std::istringstream in("user , item,ts\n");
    CsvReader csv(in, "h.csv");
    csv.read_header();
    CHECK(csv.require_column("user") == 0);
    CHECK(csv.require_column("item") == 1);
    CHECK_FALSE(csv.column("rating"));
    try {
      csv.require_column("rating");
      FAIL("no exception");
    } catch (const tailor::ParseError& e) {
      CHECK(e.rejection().reason == RejectReason::missing_column);
      CHECK(std::string(e.what()).find("h.csv:1: column 'rating': missing_column") == 0);
      CHECK(std::string(e.what()).find("'user'") != std::string::npos);
    }
  }
  SECTION("options are validated") {
    CsvOptions opt;
    opt.delimiter = '"';
    CHECK_THROWS_AS(opt.validate(), tailor::Error);
    opt = CsvOptions{};
    opt.max_field_bytes = 0;
    CHECK_THROWS_AS(opt.validate(), tailor::Error);
    opt = CsvOptions{};
    opt.max_field_bytes = 100;
    opt.max_record_bytes = 10;
    CHECK_THROWS_AS(opt.validate(), tailor::Error);
  }
}

TEST_CASE("parse_timestamp reads ISO-8601 and epoch numbers", "[csv][timestamp]") {
  using tailor::parse_timestamp;
  using tailor::TimestampUnit;
  const tailor::Timestamp t = 1323419940000;  // 2011-12-09T08:39:00Z
  SECTION("ISO variants") {
    CHECK(parse_timestamp("2011-12-09 08:39:00") == t);
    CHECK(parse_timestamp("2011-12-09T08:39:00") == t);
    CHECK(parse_timestamp("2011-12-09T08:39") == t);
    CHECK(parse_timestamp("2011-12-09T08:39:00Z") == t);
    CHECK(parse_timestamp("2011-12-09t08:39:00z") == t);
    CHECK(parse_timestamp(" 2011-12-09T08:39:00.000Z ") == t);
    CHECK(parse_timestamp("2011-12-09T08:39:00.5Z") == t + 500);
    CHECK(parse_timestamp("2011-12-09T08:39:00,123456") == t + 123);
    CHECK(parse_timestamp("2011-12-09") == t - (8 * 60 + 39) * 60000);
    CHECK(parse_timestamp("1970-01-01T00:00:00Z") == 0);
    CHECK(parse_timestamp("1969-12-31T23:59:59Z") == -1000);
  }
  SECTION("offsets") {
    CHECK(parse_timestamp("2011-12-09T09:39:00+01:00") == t);
    CHECK(parse_timestamp("2011-12-09T09:39:00+0100") == t);
    CHECK(parse_timestamp("2011-12-09T09:39:00+01") == t);
    CHECK(parse_timestamp("2011-12-09T03:09:00-05:30") == t);
    CHECK(parse_timestamp("2011-12-09T08:39:00+00:00") == t);
  }
  SECTION("epoch seconds and milliseconds") {
    CHECK(parse_timestamp("1323419940") == t);
    CHECK(parse_timestamp("1323419940000") == t);
    CHECK(parse_timestamp("1323419940.25") == t + 250);
    CHECK(parse_timestamp("1323419940", TimestampUnit::seconds) == t);
    CHECK(parse_timestamp("1323419940000", TimestampUnit::milliseconds) == t);
    CHECK(parse_timestamp("1323419940", TimestampUnit::milliseconds) == 1323419940);
    CHECK(parse_timestamp("0") == 0);
    CHECK(parse_timestamp("-86400") == -86400000);
    CHECK(parse_timestamp("874965758") == 874965758000);  // MovieLens 100k, 1997
  }
  SECTION("leap years and impossible dates") {
    CHECK(parse_timestamp("2012-02-29"));
    CHECK(parse_timestamp("2000-02-29"));
    CHECK_FALSE(parse_timestamp("2011-02-29"));
    CHECK_FALSE(parse_timestamp("1900-02-29"));
    CHECK_FALSE(parse_timestamp("2011-02-30"));
    CHECK_FALSE(parse_timestamp("2011-04-31"));
    CHECK_FALSE(parse_timestamp("2011-13-01"));
    CHECK_FALSE(parse_timestamp("2011-00-10"));
    CHECK_FALSE(parse_timestamp("2011-12-00"));
    CHECK_FALSE(parse_timestamp("2011-12-09 24:00"));
    CHECK_FALSE(parse_timestamp("2011-12-09 08:60"));
    CHECK_FALSE(parse_timestamp("2011-12-09 08:39:60"));
    CHECK(parse_timestamp("2012-03-01") == *parse_timestamp("2012-02-29") + 86400000);
    CHECK(parse_timestamp("2011-03-01") == *parse_timestamp("2011-02-28") + 86400000);
  }
  SECTION("garbage") {
    for (const char* bad : {"", " ", "12a", "2011-12-09X08:39", "2011-12-09T08", "2011-12-09T08:39:",
                            "2011-12-09T08:39:00.", "2011-12-09T08:39:00+1", "2011-12-09T08:39Zx",
                            "2011/12/09", "nan", "inf", "1e300", "99999999999999999999",
                            "2011-1-09", "--1", "+-5", "0x10"}) {
      INFO(bad);
      CHECK_FALSE(parse_timestamp(bad));
    }
  }
  SECTION("format_timestamp is the inverse") {
    CHECK(tailor::format_timestamp(t) == "2011-12-09T08:39:00.000Z");
    CHECK(tailor::format_timestamp(-1) == "1969-12-31T23:59:59.999Z");
    std::mt19937_64 rng(7);
    for (int i = 0; i < 2000; ++i) {
      const auto ms = static_cast<tailor::Timestamp>(rng() % 8000000000000ULL) - 2000000000000LL;
      INFO(ms);
      CHECK(parse_timestamp(tailor::format_timestamp(ms)) == ms);
    }
  }
}

TEST_CASE("number, bool and UTF-8 helpers", "[csv]") {
  using tailor::parse_double;
  using tailor::parse_int64;
  CHECK(parse_int64("42") == 42);
  CHECK(parse_int64(" -7 ") == -7);
  CHECK(parse_int64("+7") == 7);
  CHECK_FALSE(parse_int64("7.0"));
  CHECK_FALSE(parse_int64("9223372036854775808"));
  CHECK_FALSE(parse_int64(""));
  CHECK(parse_double("17850.0") == 17850.0);
  CHECK(parse_double("-2.5e3") == -2500.0);
  CHECK(parse_double(".5") == 0.5);
  CHECK_FALSE(parse_double("1,5"));
  CHECK_FALSE(parse_double("abc"));
  CHECK_FALSE(parse_double("1e999"));
  CHECK(std::isnan(*parse_double("nan")));
  CHECK(tailor::parse_bool("Yes") == true);
  CHECK(tailor::parse_bool("0") == false);
  CHECK(tailor::parse_bool("FALSE") == false);
  CHECK_FALSE(tailor::parse_bool("maybe"));
  CHECK(tailor::is_valid_utf8("plain ascii text, long enough for the fast path"));
  CHECK(tailor::is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  CHECK_FALSE(tailor::is_valid_utf8("\xC0\xAF"));          // overlong
  CHECK_FALSE(tailor::is_valid_utf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(tailor::is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(tailor::is_valid_utf8("abc\xE2\x82"));       // truncated
  CHECK(tailor::quote_value("a'b\n") == "'a\\x27b\\x0a'");
}

TEST_CASE("LineReader splits lines with bounded memory", "[csv]") {
  std::istringstream in("\xEF\xBB\xBFone\r\ntwo\n\n" + std::string(100, 'x') + "\nlast");
  tailor::LineReader lines(in, 10);
  std::vector<std::string> got;
  std::vector<bool> long_flags;
  while (lines.next()) {
    got.emplace_back(lines.line());
    long_flags.push_back(lines.too_long());
  }
  CHECK(got == std::vector<std::string>{"one", "two", "", std::string(10, 'x'), "last"});
  CHECK(long_flags == std::vector<bool>{false, false, false, true, false});
  CHECK(lines.line_number() == 5);
}

TEST_CASE("open_input reads plain and gzip files alike", "[csv][gzip]") {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += std::to_string(i) + ",item" + std::to_string(i % 97) + "\n";
  const std::string plain = scratch("io_plain.csv");
  std::ofstream(plain, std::ios::binary) << text;
  const std::string gz = scratch("io_data.bin");  // no .gz extension: detected by content
  write_gzip(gz, text);
  const std::string multi = scratch("io_multi.csv.gz");
  write_gzip(multi, text, 3);

  CHECK_FALSE(tailor::is_gzip_file(plain));
  CHECK(tailor::is_gzip_file(gz));
  CHECK(read_all(*tailor::open_input(plain)) == text);
  CHECK(read_all(*tailor::open_input(gz)) == text);
  CHECK(read_all(*tailor::open_input(multi)) == text);

  SECTION("missing file") {
    try {
      tailor::open_input(scratch("does_not_exist.csv"));
      FAIL("no exception");
    } catch (const tailor::Error& e) {
      CHECK(e.code() == tailor::ErrorCode::io_error);
      CHECK(std::string(e.what()).find("does_not_exist.csv") != std::string::npos);
    }
  }
  SECTION("truncated and corrupt gzip throw io_error naming the file") {
    std::ifstream src(gz, std::ios::binary);
    const std::string bytes = read_all(src);
    const std::string truncated = scratch("io_truncated.csv.gz");
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    std::string flipped = bytes;
    for (std::size_t i = 40; i < flipped.size() && i < 400; i += 7) flipped[i] = static_cast<char>(~flipped[i]);
    const std::string corrupt = scratch("io_corrupt.csv.gz");
    std::ofstream(corrupt, std::ios::binary) << flipped;
    const std::string garbage = scratch("io_garbage.csv.gz");
    std::ofstream(garbage, std::ios::binary) << bytes << "trailing";
    for (const std::string& path : {truncated, corrupt, garbage}) {
      INFO(path);
      try {
        auto in = tailor::open_input(path);
        CsvReader csv(*in, path);
        while (csv.next_row()) {
        }
        FAIL("no exception");
      } catch (const tailor::Error& e) {
        CHECK(e.code() == tailor::ErrorCode::io_error);
        CHECK(std::string(e.what()).find(path) == 0);
      }
    }
  }
}
