// Streaming RFC 4180 tokenizer: a small state machine over a reused chunk buffer.
#include "tailor/io/csv.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace tailor {

namespace {
constexpr std::size_t kChunkBytes = std::size_t{1} << 16;
constexpr std::size_t kNoField = static_cast<std::size_t>(-1);
}  // namespace

void CsvOptions::validate() const {
  TAILOR_REQUIRE(delimiter != quote && delimiter != '\n' && delimiter != '\r',
                 "CsvOptions: delimiter must differ from the quote, CR and LF");
  TAILOR_REQUIRE(quote != '\n' && quote != '\r', "CsvOptions: quote must not be CR or LF");
  TAILOR_REQUIRE(max_field_bytes > 0, "CsvOptions: max_field_bytes must be > 0");
  TAILOR_REQUIRE(max_record_bytes > 0, "CsvOptions: max_record_bytes must be > 0");
  TAILOR_REQUIRE(max_field_bytes <= max_record_bytes,
                 "CsvOptions: max_field_bytes (" << max_field_bytes
                                                 << ") must be <= max_record_bytes ("
                                                 << max_record_bytes << ")");
}

CsvReader::CsvReader(std::istream& in, std::string display_name, CsvOptions options)
    : buf_(in.rdbuf()), name_(std::move(display_name)), options_(options), chunk_(kChunkBytes) {
  options_.validate();
  TAILOR_REQUIRE(buf_ != nullptr, "CsvReader: stream for '" << name_ << "' has no buffer");
}

bool CsvReader::refill() {
  if (eof_) return false;
  const std::streamsize n = buf_->sgetn(chunk_.data(), static_cast<std::streamsize>(chunk_.size()));
  pos_ = 0;
  len_ = n > 0 ? static_cast<std::size_t>(n) : 0;
  if (!started_) {
    started_ = true;
    // A stream may deliver fewer than three bytes per read; gather them before the BOM test.
    while (len_ > 0 && len_ < 3) {
      const std::streamsize more = buf_->sgetn(chunk_.data() + len_,
                                               static_cast<std::streamsize>(chunk_.size() - len_));
      if (more <= 0) break;
      len_ += static_cast<std::size_t>(more);
    }
    if (len_ >= 3 && std::memcmp(chunk_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
  }
  if (len_ == 0) {
    eof_ = true;
    return false;
  }
  return pos_ < len_ || refill();
}

void CsvReader::set_issue(RejectReason reason, std::size_t field, std::string detail) {
  if (!issue_) issue_ = CsvIssue{reason, field, std::move(detail)};
}

void CsvReader::append(const char* begin, const char* end) {
  if (discarding_ || begin == end) return;
  const auto n = static_cast<std::size_t>(end - begin);
  if (record_.size() - field_begin_ + n > options_.max_field_bytes) {
    set_issue(RejectReason::field_too_large, ends_.size(),
              "field is longer than max_field_bytes (" + std::to_string(options_.max_field_bytes) +
                  ")");
    discarding_ = true;
    return;
  }
  if (record_.size() + ends_.size() + n > options_.max_record_bytes) {
    set_issue(RejectReason::record_too_large, ends_.size(),
              "record is longer than max_record_bytes (" +
                  std::to_string(options_.max_record_bytes) + ")");
    discarding_ = true;
    return;
  }
  record_.append(begin, n);
}

void CsvReader::end_field() {
  if (discarding_) return;
  if (record_.size() + ends_.size() + 1 > options_.max_record_bytes) {
    set_issue(RejectReason::record_too_large, ends_.size(),
              "record is longer than max_record_bytes (" +
                  std::to_string(options_.max_record_bytes) + ")");
    discarding_ = true;
    return;
  }
  ends_.push_back(record_.size());
  field_begin_ = record_.size();
}

bool CsvReader::parse_record() {
  record_.clear();
  ends_.clear();
  issue_.reset();
  discarding_ = false;
  field_begin_ = 0;
  line_ = next_line_;
  if (pos_ == len_ && !refill()) return false;

  enum class State { field_start, unquoted, quoted, after_quote };
  State state = State::field_start;
  const char delim = options_.delimiter;
  const char quote = options_.quote;
  std::uint64_t quote_line = 0;
  bool quoted_ends_with_newline = false;  // for the line span of an unterminated quote
  for (;;) {
    if (pos_ == len_ && !refill()) {
      if (state == State::quoted) {
        set_issue(RejectReason::unterminated_quote, ends_.size(),
                  "quoted field opened on line " + std::to_string(quote_line) +
                      " is not closed before the end of the input; lines " +
                      std::to_string(line_) + "-" +
                      std::to_string(next_line_ - (quoted_ends_with_newline ? 1 : 0)) +
                      " were read as this one rejected record");
      }
      end_field();
      if (ends_.empty()) ends_.push_back(record_.size());  // a discarded record has >= 1 field
      return true;
    }
    const char* const data = chunk_.data();
    const char* p = data + pos_;
    const char* const e = data + len_;
    switch (state) {
      case State::field_start:
        if (*p == quote) {
          ++pos_;
          state = State::quoted;
          quote_line = next_line_;
          quoted_ends_with_newline = false;
          last_quoted_ = true;
          continue;
        }
        state = State::unquoted;
        [[fallthrough]];
      case State::unquoted: {
        const char* s = p;
        while (p < e && *p != delim && *p != '\n' && *p != '\r') ++p;
        append(s, p);
        pos_ = static_cast<std::size_t>(p - data);
        if (p == e) continue;
        const char c = *p;
        ++pos_;
        end_field();
        if (c == delim) {
          state = State::field_start;
          continue;
        }
        if (c == '\r' && (pos_ < len_ || refill()) && chunk_[pos_] == '\n') ++pos_;
        ++next_line_;
        if (ends_.empty()) ends_.push_back(record_.size());
        return true;
      }
      case State::quoted: {
        const char* s = p;
        while (p < e && *p != quote && *p != '\n') ++p;
        if (p > s) quoted_ends_with_newline = false;
        if (p < e && *p == '\n') {
          quoted_ends_with_newline = true;
          ++p;
          ++next_line_;
          append(s, p);
          pos_ = static_cast<std::size_t>(p - data);
          continue;
        }
        append(s, p);
        pos_ = static_cast<std::size_t>(p - data);
        if (p == e) continue;
        ++pos_;  // the quote
        state = State::after_quote;
        continue;
      }
      case State::after_quote:
        if (*p == quote) {  // doubled quote: a literal quote, still inside the quoted field
          append(p, p + 1);
          ++pos_;
          state = State::quoted;
          quoted_ends_with_newline = false;
        } else {
          // Delimiter or line end (handled by the unquoted scan), or text after the closing quote,
          // which is kept literally.
          state = State::unquoted;
        }
        continue;
    }
  }
}

bool CsvReader::next_row() {
  for (;;) {
    last_quoted_ = false;
    if (!parse_record()) {
      record_.clear();
      ends_.clear();
      issue_.reset();
      return false;
    }
    if (!issue_ && ends_.size() == 1 && ends_[0] == 0 && !last_quoted_) {
      ++blank_lines_;
      continue;
    }
    ++records_read_;
    if (!issue_ && options_.validate_utf8) {
      // Checked field by field: a multi-byte sequence split across two fields is invalid too.
      const bool ascii = std::none_of(record_.begin(), record_.end(),
                                      [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
      for (std::size_t i = 0; !ascii && i < ends_.size(); ++i) {
        if (!is_valid_utf8(field(i))) {
          set_issue(RejectReason::invalid_utf8, i, "invalid UTF-8 in " + quote_value(field(i)));
          break;
        }
      }
    }
    return true;
  }
}

void CsvReader::read_header() {
  if (!next_row()) {
    throw ParseError(Rejection{name_, 0, "", RejectReason::empty_file,
                               "the input has no header record (it is empty)"});
  }
  if (issue_) throw ParseError(rejection_for_issue());
  header_.clear();
  header_line_ = line_;
  header_.reserve(size());
  for (std::size_t i = 0; i < size(); ++i) header_.emplace_back(trim_blanks(field(i)));
}

std::optional<std::size_t> CsvReader::column(std::string_view name) const {
  const std::string_view wanted = trim_blanks(name);
  for (std::size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == wanted) return i;
  }
  return std::nullopt;
}

std::size_t CsvReader::require_column(std::string_view name) const {
  if (auto idx = column(name)) return *idx;
  std::string columns;
  for (std::size_t i = 0; i < header_.size() && i < 32; ++i) {
    if (i > 0) columns += ", ";
    columns += quote_value(header_[i]);
  }
  if (header_.size() > 32) columns += ", ...";
  throw ParseError(Rejection{name_, header_line_, std::string(name),
                             RejectReason::missing_column,
                             "not in the header (columns: " + columns + ")"});
}

std::string CsvReader::column_name(std::size_t i) const {
  if (i < header_.size() && !header_[i].empty()) return header_[i];
  return "#" + std::to_string(i + 1);
}

Rejection CsvReader::rejection(RejectReason reason, std::size_t field, std::string detail) const {
  return Rejection{name_, line_, field == kNoField ? std::string() : column_name(field), reason,
                   std::move(detail)};
}

Rejection CsvReader::rejection_for_issue() const {
  if (!issue_) return rejection(RejectReason::invalid_value, kNoField, "no issue");
  return rejection(issue_->reason, issue_->field, issue_->detail);
}

std::optional<Rejection> CsvReader::check_column_count(std::optional<std::size_t> expected) const {
  if (!expected) {
    if (header_.empty()) return std::nullopt;
    expected = header_.size();
  }
  if (size() == *expected) return std::nullopt;
  return rejection(RejectReason::wrong_column_count, kNoField,
                   "expected " + std::to_string(*expected) + " fields, found " +
                       std::to_string(size()));
}

bool CsvReader::next_valid_row(ReportBuilder& report, std::optional<std::size_t> expected_fields) {
  while (next_row()) {
    if (issue_) {
      report.reject(rejection_for_issue());
      continue;
    }
    if (auto wrong = check_column_count(expected_fields)) {
      report.reject(std::move(*wrong));
      continue;
    }
    return true;
  }
  return false;
}

}  // namespace tailor
