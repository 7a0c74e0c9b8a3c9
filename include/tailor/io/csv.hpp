// tailor: a streaming RFC 4180 CSV tokenizer.
//
// CsvReader pulls one record at a time from a std::istream with memory bounded by the largest
// record (never by the file): quoted fields with doubled quotes, embedded delimiters and newlines,
// LF, CRLF or lone-CR line ends, an optional UTF-8 BOM, any one-byte delimiter. Fields are views
// into a buffer the reader reuses, valid until the next call to next_row().
//
// Malformed records do not stop the reader: next_row() still returns them, with issue() telling
// what is wrong (unterminated quote, field or record too large, invalid UTF-8) so the caller can
// reject them by line and column and carry on. A quote inside an unquoted field, or text after a
// closing quote, is kept literally (as most producers mean it: 12" ruler).
//
// Example:
//   auto in = tailor::open_input("orders.csv.gz");
//   tailor::CsvReader csv(*in, "orders.csv.gz");
//   csv.read_header();
//   const std::size_t sku = csv.require_column("StockCode");
//   tailor::ReportBuilder report("orders.csv.gz", tailor::ErrorPolicy::lenient);
//   while (csv.next_valid_row(report)) {   // malformed records are rejected and skipped
//     use(csv.field(sku));
//     report.accept();
//   }
//
// Thread-safety: not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/io/input.hpp"

namespace tailor {

/// Tokenizer options.
struct TAILOR_API CsvOptions {
  char delimiter = ',';                               ///< any byte except quote, CR, LF
  char quote = '"';                                   ///< any byte except delimiter, CR, LF
  std::size_t max_field_bytes = std::size_t{1} << 20;   ///< longer fields -> field_too_large
  std::size_t max_record_bytes = std::size_t{16} << 20; ///< longer records -> record_too_large
  bool validate_utf8 = true;                          ///< flag records with invalid UTF-8

  /// Throws Error(invalid_argument) for a delimiter equal to the quote, CR or LF, or zero sizes,
  /// or max_field_bytes > max_record_bytes.
  void validate() const;
};

/// What is wrong with the current record (see CsvReader::issue()).
struct CsvIssue {
  RejectReason reason;   ///< unterminated_quote, field_too_large, record_too_large, invalid_utf8
  std::size_t field;     ///< 0-based index of the field at fault
  std::string detail;
};

class TAILOR_API CsvReader {
 public:
  /// Reads from `in` (which must outlive the reader); `display_name` names the input in messages.
  /// Throws Error(invalid_argument) if options are invalid.
  CsvReader(std::istream& in, std::string display_name, CsvOptions options = {});

  /// Advances to the next record; false at end of input. Empty lines are skipped and counted
  /// (blank_lines()); they are not records.
  bool next_row();

  /// Number of fields in the current record.
  std::size_t size() const noexcept { return ends_.size(); }
  /// Field i (0-based, i < size()), unquoted; valid until the next next_row().
  std::string_view field(std::size_t i) const noexcept {
    const std::size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(record_.data() + begin, ends_[i] - begin);
  }
  /// 1-based line where the current record starts.
  std::uint64_t line() const noexcept { return line_; }
  /// Number of data and header records returned so far.
  std::uint64_t records_read() const noexcept { return records_read_; }
  std::uint64_t blank_lines() const noexcept { return blank_lines_; }
  const std::string& display_name() const noexcept { return name_; }

  /// Problem with the current record, if any. When set, the fields may be incomplete.
  const std::optional<CsvIssue>& issue() const noexcept { return issue_; }

  // --- Header support ----------------------------------------------------------------------

  /// Reads the first record as the header. Throws ParseError(empty_file) if the input has no
  /// record, or ParseError for a malformed header record (its issue's reason).
  void read_header();
  const std::vector<std::string>& header() const noexcept { return header_; }
  /// Index of column `name` in the header (exact match after trimming blanks), or nullopt.
  std::optional<std::size_t> column(std::string_view name) const;
  /// Index of column `name`; throws ParseError(missing_column) naming the file and the header.
  std::size_t require_column(std::string_view name) const;
  /// Name of column i from the header, or "#i+1" if there is no header or it is shorter.
  std::string column_name(std::size_t i) const;

  /// A Rejection for the current record: file, line, the name of `field` (none if npos).
  Rejection rejection(RejectReason reason, std::size_t field, std::string detail) const;
  /// The Rejection describing issue(); call only when issue() is set.
  Rejection rejection_for_issue() const;
  /// A wrong_column_count Rejection if size() differs from `expected` (default: the header's
  /// size; no check without a header), else nullopt.
  std::optional<Rejection> check_column_count(std::optional<std::size_t> expected = {}) const;

  /// Advances to the next well-formed record: records with an issue() or the wrong number of
  /// fields (see check_column_count) are passed to report.reject() and skipped, so in strict mode
  /// the first one throws. False at end of input. The loop most readers want:
  ///   while (csv.next_valid_row(report)) { ...fields...; report.accept(); }
  bool next_valid_row(ReportBuilder& report, std::optional<std::size_t> expected_fields = {});

 private:
  bool parse_record();
  bool refill();
  void end_field();
  void append(const char* begin, const char* end);
  void set_issue(RejectReason reason, std::size_t field, std::string detail);

  std::streambuf* buf_;
  std::string name_;
  CsvOptions options_;
  std::vector<char> chunk_;
  std::size_t pos_ = 0, len_ = 0;
  bool eof_ = false, started_ = false;

  std::string record_;              // unquoted bytes of all fields, back to back
  std::vector<std::size_t> ends_;   // end offset of each field in record_
  std::size_t field_begin_ = 0;
  bool discarding_ = false;         // after field/record overflow: parse but do not store
  bool last_quoted_ = false;        // the current record had a quoted field
  std::optional<CsvIssue> issue_;
  std::uint64_t line_ = 0, next_line_ = 1, records_read_ = 0, blank_lines_ = 0;
  std::vector<std::string> header_;
  std::uint64_t header_line_ = 0;
};

}  // namespace tailor
