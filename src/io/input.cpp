// Input plumbing: file opening with transparent gzip (zlib stays private to this file), rejection
// reports, field parsers and the line splitter.
#include "tailor/io/input.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

namespace tailor {

// =============================================================================================
// Opening input

namespace {

constexpr std::size_t kChunkBytes = std::size_t{1} << 18;

struct FileCloser {
  void operator()(std::FILE* f) const noexcept {
    if (f != nullptr) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

FilePtr open_file(const std::string& path) {
  errno = 0;
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    const int err = errno;
    TAILOR_THROW(io_error, path << ": cannot open for reading: "
                                << (err != 0 ? std::strerror(err) : "unknown error"));
  }
  return file;
}

// Reads up to `size` bytes; throws io_error on a read error (not on end of file).
std::size_t read_some(std::FILE* file, char* data, std::size_t size, const std::string& name) {
  const std::size_t n = std::fread(data, 1, size, file);
  if (n < size && std::ferror(file) != 0) {
    TAILOR_THROW(io_error, name << ": read error: " << std::strerror(errno));
  }
  return n;
}

// Plain file: serves the already-read first chunk, then reads on.
class PlainFileBuf : public std::streambuf {
 public:
  PlainFileBuf(FilePtr file, std::string name, std::vector<char> first, std::size_t first_size)
      : file_(std::move(file)), name_(std::move(name)), buf_(std::move(first)) {
    setg(buf_.data(), buf_.data(), buf_.data() + first_size);
  }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    const std::size_t n = read_some(file_.get(), buf_.data(), buf_.size(), name_);
    if (n == 0) return traits_type::eof();
    setg(buf_.data(), buf_.data(), buf_.data() + n);
    return traits_type::to_int_type(*gptr());
  }

 private:
  FilePtr file_;
  std::string name_;
  std::vector<char> buf_;
};

// Gzip file: inflates member after member; any damage throws io_error naming the file.
class GzipFileBuf : public std::streambuf {
 public:
  GzipFileBuf(FilePtr file, std::string name, std::vector<char> first, std::size_t first_size)
      : file_(std::move(file)), name_(std::move(name)), in_(std::move(first)), out_(kChunkBytes) {
    std::memset(&zs_, 0, sizeof zs_);
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) {
      TAILOR_THROW(io_error, name_ << ": cannot initialise zlib");
    }
    zs_.next_in = reinterpret_cast<Bytef*>(in_.data());
    zs_.avail_in = static_cast<uInt>(first_size);
    compressed_read_ = first_size;
    setg(out_.data(), out_.data(), out_.data());
  }
  ~GzipFileBuf() override { inflateEnd(&zs_); }
  GzipFileBuf(const GzipFileBuf&) = delete;
  GzipFileBuf& operator=(const GzipFileBuf&) = delete;

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    for (;;) {
      if (finished_) return traits_type::eof();
      if (zs_.avail_in == 0 && !input_eof_) {
        const std::size_t n = read_some(file_.get(), in_.data(), in_.size(), name_);
        compressed_read_ += n;
        zs_.next_in = reinterpret_cast<Bytef*>(in_.data());
        zs_.avail_in = static_cast<uInt>(n);
        if (n == 0) input_eof_ = true;
      }
      if (zs_.avail_in == 0 && input_eof_) {
        if (member_done_) {
          finished_ = true;
          return traits_type::eof();
        }
        TAILOR_THROW(io_error, name_ << ": truncated gzip stream (input ends after "
                                     << compressed_read_ << " compressed bytes, "
                                     << decompressed_ << " bytes decompressed)");
      }
      if (member_done_) {
        // Another member may follow (concatenated gzip files); anything else is garbage.
        if (*zs_.next_in != 0x1f) {
          TAILOR_THROW(io_error, name_ << ": trailing garbage after gzip data at compressed byte "
                                       << (compressed_read_ - zs_.avail_in));
        }
        if (inflateReset(&zs_) != Z_OK) TAILOR_THROW(io_error, name_ << ": zlib reset failed");
        member_done_ = false;
      }
      zs_.next_out = reinterpret_cast<Bytef*>(out_.data());
      zs_.avail_out = static_cast<uInt>(out_.size());
      const uInt avail_in_before = zs_.avail_in;
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      const std::size_t produced = out_.size() - zs_.avail_out;
      decompressed_ += produced;
      if (rc == Z_STREAM_END) {
        member_done_ = true;
      } else if (rc == Z_BUF_ERROR) {
        if (zs_.avail_in != 0 && produced == 0 && zs_.avail_in == avail_in_before) {
          TAILOR_THROW(io_error, name_ << ": corrupt gzip data (no progress)");
        }
      } else if (rc != Z_OK) {
        TAILOR_THROW(io_error, name_ << ": corrupt gzip data at compressed byte "
                                     << (compressed_read_ - zs_.avail_in) << ": "
                                     << (zs_.msg != nullptr ? zs_.msg : "zlib error"));
      }
      if (produced > 0) {
        setg(out_.data(), out_.data(), out_.data() + produced);
        return traits_type::to_int_type(*gptr());
      }
    }
  }

 private:
  FilePtr file_;
  std::string name_;
  std::vector<char> in_;
  std::vector<char> out_;
  z_stream zs_;
  bool input_eof_ = false, member_done_ = false, finished_ = false;
  std::uint64_t compressed_read_ = 0, decompressed_ = 0;
};

// An istream that owns its stream buffer; badbit exceptions on so buffer errors propagate.
class OwningIstream : public std::istream {
 public:
  explicit OwningIstream(std::unique_ptr<std::streambuf> buf)
      : std::istream(nullptr), buf_(std::move(buf)) {
    rdbuf(buf_.get());
    exceptions(std::ios::badbit);
  }

 private:
  std::unique_ptr<std::streambuf> buf_;
};

bool has_gzip_magic(const char* data, std::size_t size) {
  return size >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b;
}

}  // namespace

std::unique_ptr<std::istream> open_input(const std::string& path) {
  FilePtr file = open_file(path);
  std::vector<char> first(kChunkBytes);
  const std::size_t n = read_some(file.get(), first.data(), first.size(), path);
  std::unique_ptr<std::streambuf> buf;
  if (has_gzip_magic(first.data(), n)) {
    buf = std::make_unique<GzipFileBuf>(std::move(file), path, std::move(first), n);
  } else {
    buf = std::make_unique<PlainFileBuf>(std::move(file), path, std::move(first), n);
  }
  return std::make_unique<OwningIstream>(std::move(buf));
}

bool is_gzip_file(const std::string& path) {
  FilePtr file = open_file(path);
  char magic[2] = {0, 0};
  const std::size_t n = read_some(file.get(), magic, 2, path);
  return has_gzip_magic(magic, n);
}

// =============================================================================================
// Rejections and reports

const char* reject_reason_name(RejectReason reason) noexcept {
  switch (reason) {
    case RejectReason::wrong_column_count: return "wrong_column_count";
    case RejectReason::missing_value: return "missing_value";
    case RejectReason::invalid_number: return "invalid_number";
    case RejectReason::invalid_timestamp: return "invalid_timestamp";
    case RejectReason::invalid_utf8: return "invalid_utf8";
    case RejectReason::unterminated_quote: return "unterminated_quote";
    case RejectReason::field_too_large: return "field_too_large";
    case RejectReason::record_too_large: return "record_too_large";
    case RejectReason::out_of_range: return "out_of_range";
    case RejectReason::unknown_event_type: return "unknown_event_type";
    case RejectReason::invalid_json: return "invalid_json";
    case RejectReason::wrong_type: return "wrong_type";
    case RejectReason::invalid_value: return "invalid_value";
    case RejectReason::empty_file: return "empty_file";
    case RejectReason::missing_header: return "missing_header";
    case RejectReason::missing_column: return "missing_column";
  }
  return "unknown";
}

std::string Rejection::message() const {
  std::string out = file.empty() ? std::string("<input>") : file;
  if (line != 0) {
    out += ':';
    out += std::to_string(line);
  }
  out += ": ";
  if (!column.empty()) {
    out += "column '";
    out += column;
    out += "': ";
  }
  out += reject_reason_name(reason);
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

ParseError::ParseError(Rejection rejection)
    : Error(ErrorCode::parse_error, rejection.message()), rejection_(std::move(rejection)) {}

namespace {
// `text` with every byte that is not part of a valid UTF-8 sequence written as \xNN, so that the
// report can always be serialised (nlohmann::json::dump throws on invalid UTF-8).
std::string utf8_safe(std::string_view text) {
  if (is_valid_utf8(text)) return std::string(text);
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t len = 1;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      if (i + len > text.size() || !is_valid_utf8(text.substr(i, len))) len = 0;
    }
    if (len == 0) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}
}  // namespace

nlohmann::json ReadReport::to_json() const {
  nlohmann::json reasons = nlohmann::json::object();
  for (const auto& [reason, count] : by_reason) reasons[reject_reason_name(reason)] = count;
  nlohmann::json list = nlohmann::json::array();
  for (const Rejection& r : samples) {
    list.push_back({{"line", r.line},
                    {"column", utf8_safe(r.column)},
                    {"reason", reject_reason_name(r.reason)},
                    {"detail", utf8_safe(r.detail)},
                    {"message", utf8_safe(r.message())}});
  }
  return nlohmann::json{{"file", utf8_safe(file)},
                        {"records", records},
                        {"accepted", accepted},
                        {"rejected", rejected},
                        {"blank_lines", blank_lines},
                        {"by_reason", std::move(reasons)},
                        {"samples", std::move(list)}};
}

ReportBuilder::ReportBuilder(std::string file, ErrorPolicy policy, std::size_t max_samples)
    : policy_(policy), max_samples_(max_samples) {
  TAILOR_REQUIRE(max_samples <= 1000000, "ReportBuilder: max_samples must be <= 1000000, got "
                                             << max_samples);
  report_.file = std::move(file);
}

void ReportBuilder::reject(Rejection rejection) {
  if (policy_ == ErrorPolicy::strict) throw ParseError(std::move(rejection));
  ++report_.records;
  ++report_.rejected;
  ++report_.by_reason[rejection.reason];
  if (report_.samples.size() < max_samples_) report_.samples.push_back(std::move(rejection));
}

std::string quote_value(std::string_view value) {
  constexpr std::size_t kShown = 80;
  static const char* const kHex = "0123456789abcdef";
  std::string out = "'";
  const std::size_t shown = std::min(value.size(), kShown);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (value.size() > kShown) out += "...";
  out += '\'';
  if (value.size() > kShown) out += " (" + std::to_string(value.size()) + " bytes)";
  return out;
}

// =============================================================================================
// Field parsers

std::string_view trim_blanks(std::string_view text) noexcept {
  std::size_t b = 0, e = text.size();
  while (b < e && (text[b] == ' ' || text[b] == '\t')) ++b;
  while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t')) --e;
  return text.substr(b, e - b);
}

std::optional<std::int64_t> parse_int64(std::string_view text) noexcept {
  text = trim_blanks(text);
  if (!text.empty() && text[0] == '+') {
    text.remove_prefix(1);
    if (!text.empty() && text[0] == '-') return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto res = std::from_chars(text.data(), end, value);
  if (res.ec != std::errc() || res.ptr != end) return std::nullopt;
  return value;
}

std::optional<double> parse_double(std::string_view text) noexcept {
  text = trim_blanks(text);
  if (!text.empty() && text[0] == '+') {
    text.remove_prefix(1);
    if (!text.empty() && text[0] == '-') return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  double value = 0;
  const char* end = text.data() + text.size();
  const auto res = std::from_chars(text.data(), end, value, std::chars_format::general);
  if (res.ec != std::errc() || res.ptr != end) return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(std::string_view text) noexcept {
  text = trim_blanks(text);
  if (text.size() > 5) return std::nullopt;
  char lower[6] = {};
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view t(lower, text.size());
  if (t == "true" || t == "1" || t == "yes" || t == "y" || t == "t") return true;
  if (t == "false" || t == "0" || t == "no" || t == "n" || t == "f") return false;
  return std::nullopt;
}

bool is_valid_utf8(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  while (p < end) {
    // Fast path: eight ASCII bytes at a time.
    if (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t len;
    std::uint32_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;        // no overlongs
      else if (c == 0xED) hi = 0x9F;   // no UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;        // no overlongs
      else if (c == 0xF4) hi = 0x8F;   // nothing above U+10FFFF
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) < len) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (std::size_t k = 2; k < len; ++k) {
      if (p[k] < 0x80 || p[k] > 0xBF) return false;
    }
    p += len;
  }
  return true;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (counting in 400-year eras that start on
// March 1st, so the leap day is the last day of an era-year).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);             // 0..399
  const unsigned month_from_march = month > 2 ? month - 3 : month + 9;           // 0..11
  const unsigned day_of_year = (153 * month_from_march + 2) / 5 + day - 1;       // 0..365
  const unsigned day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;     // 0..146096
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

bool is_leap(int year) noexcept { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) noexcept {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

bool digits(std::string_view s, std::size_t pos, std::size_t count, int& out) noexcept {
  if (pos + count > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

std::optional<Timestamp> parse_iso8601(std::string_view s) noexcept {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!digits(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
  std::size_t pos = 10;
  int offset_minutes = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
    ++pos;
    if (!digits(s, pos, 2, hour) || pos + 2 >= s.size() || s[pos + 2] != ':' ||
        !digits(s, pos + 3, 2, minute)) {
      return std::nullopt;
    }
    pos += 5;
    if (pos < s.size() && s[pos] == ':') {
      if (!digits(s, pos + 1, 2, second)) return std::nullopt;
      pos += 3;
      if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
        ++pos;
        const std::size_t first = pos;
        int scale = 100;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          millis += (s[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        if (pos == first) return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
    if (pos < s.size()) {
      const char z = s[pos];
      if (z == 'Z' || z == 'z') {
        ++pos;
      } else if (z == '+' || z == '-') {
        int oh = 0, om = 0;
        if (!digits(s, pos + 1, 2, oh)) return std::nullopt;
        pos += 3;
        if (pos < s.size()) {
          if (s[pos] == ':') ++pos;
          if (!digits(s, pos, 2, om)) return std::nullopt;
          pos += 2;
        }
        if (oh > 23 || om > 59) return std::nullopt;
        offset_minutes = (oh * 60 + om) * (z == '-' ? -1 : 1);
      } else {
        return std::nullopt;
      }
    }
    if (pos != s.size()) return std::nullopt;
  }
  return make_utc_timestamp(year, month, day, hour, minute, second, millis) -
         static_cast<Timestamp>(offset_minutes) * 60000;
}

}  // namespace

Timestamp make_utc_timestamp(int year, int month, int day, int hour, int minute, int second,
                             int millisecond) noexcept {
  const std::int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return ((days * 24 + hour) * 60 + minute) * 60000 + static_cast<std::int64_t>(second) * 1000 +
         millisecond;
}

std::string format_timestamp(Timestamp ms) {
  std::int64_t days = ms / 86400000;
  std::int64_t rem = ms % 86400000;
  if (rem < 0) {
    rem += 86400000;
    --days;
  }
  // Inverse of days_from_civil.
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<long long>(year), month, day, static_cast<int>(rem / 3600000),
                static_cast<int>(rem / 60000 % 60), static_cast<int>(rem / 1000 % 60),
                static_cast<int>(rem % 1000));
  return buf;
}

std::optional<Timestamp> parse_timestamp(std::string_view text, TimestampUnit unit) noexcept {
  text = trim_blanks(text);
  if (text.empty()) return std::nullopt;
  if (text.size() >= 10 && text[4] == '-') return parse_iso8601(text);
  // Epoch number: at most ~3000 years either side of 1970 in milliseconds.
  constexpr double kMaxMillis = 1e14;
  const bool integral = text.find_first_of(".eE") == std::string_view::npos;
  double magnitude = 0;
  std::int64_t as_int = 0;
  if (integral) {
    const auto v = parse_int64(text);
    if (!v) return std::nullopt;
    as_int = *v;
    magnitude = std::fabs(static_cast<double>(as_int));
  } else {
    const auto v = parse_double(text);
    if (!v || !std::isfinite(*v)) return std::nullopt;
    magnitude = std::fabs(*v);
  }
  bool millis = unit == TimestampUnit::milliseconds;
  if (unit == TimestampUnit::auto_detect) millis = magnitude >= 1e11;
  if ((millis ? magnitude : magnitude * 1000.0) > kMaxMillis) return std::nullopt;
  if (integral) return millis ? as_int : as_int * 1000;
  const double v = *parse_double(text);
  return static_cast<Timestamp>(std::llround(millis ? v : v * 1000.0));
}

// =============================================================================================
// LineReader

LineReader::LineReader(std::istream& in, std::size_t max_line_bytes)
    : buf_(in.rdbuf()), max_line_bytes_(max_line_bytes), chunk_(std::size_t{1} << 16) {
  TAILOR_REQUIRE(buf_ != nullptr, "LineReader: stream has no buffer");
  TAILOR_REQUIRE(max_line_bytes > 0, "LineReader: max_line_bytes must be > 0");
}

bool LineReader::fill() {
  if (eof_) return false;
  const std::streamsize n = buf_->sgetn(chunk_.data(), static_cast<std::streamsize>(chunk_.size()));
  pos_ = 0;
  len_ = n > 0 ? static_cast<std::size_t>(n) : 0;
  bytes_read_ += len_;
  if (len_ == 0) eof_ = true;
  return len_ > 0;
}

bool LineReader::next() {
  line_.clear();
  too_long_ = false;
  if (!started_) {
    started_ = true;
    // Skip a UTF-8 BOM; it may straddle the first reads only if the stream delivers < 3 bytes,
    // so gather up to three bytes first.
    if (fill()) {
      while (len_ < 3 && !eof_) {
        const std::streamsize n = buf_->sgetn(chunk_.data() + len_,
                                              static_cast<std::streamsize>(chunk_.size() - len_));
        if (n <= 0) break;
        len_ += static_cast<std::size_t>(n);
        bytes_read_ += static_cast<std::size_t>(n);
      }
      if (len_ >= 3 && std::memcmp(chunk_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
    }
  }
  bool any = false;
  for (;;) {
    if (pos_ == len_ && !fill()) {
      if (!any) return false;
      break;  // last line without newline
    }
    any = true;
    const char* begin = chunk_.data() + pos_;
    const auto* nl = static_cast<const char*>(std::memchr(begin, '\n', len_ - pos_));
    const char* end = nl != nullptr ? nl : chunk_.data() + len_;
    const std::size_t room = max_line_bytes_ - std::min(max_line_bytes_, line_.size());
    const auto seg = static_cast<std::size_t>(end - begin);
    if (seg > room) too_long_ = true;
    line_.append(begin, std::min(seg, room));
    if (nl != nullptr) {
      pos_ = static_cast<std::size_t>(nl - chunk_.data()) + 1;
      break;
    }
    pos_ = len_;
  }
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  ++line_number_;
  return true;
}

}  // namespace tailor
