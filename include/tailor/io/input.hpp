// tailor: input plumbing shared by every reader of events and catalogs.
//
// - open_input(): opens a file for streaming reads; gzip is detected by its magic bytes (not by the
//   file name) and decompressed on the fly.
// - Rejection / ReadReport / ReportBuilder: how readers report the rows they could not use. Every
//   rejected row names its place ("events.csv:1042: column 'timestamp': invalid_timestamp: '12a'");
//   strict mode throws ParseError on the first one, lenient mode counts them by reason and keeps the
//   first few as samples.
// - parse_timestamp(), parse_int64(), parse_double(), utf8 checks: small field parsers that never
//   allocate.
// - LineReader: a bounded-memory line splitter (used by the JSON Lines readers).
//
// Thread-safety: the free functions are thread-safe. ReportBuilder and LineReader are not
// thread-safe. Rejection, ReadReport and ParseError are value types (thread-compatible).
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/error.hpp"
#include "tailor/core/export.hpp"
#include "tailor/data/event.hpp"

namespace tailor {

// ---------------------------------------------------------------------------------------------
// Opening input

/// Opens `path` for reading. If the file starts with the gzip magic bytes (1f 8b) it is
/// decompressed transparently (concatenated gzip members are supported). The returned stream has
/// badbit exceptions enabled, so a truncated or corrupt gzip stream surfaces as an Error thrown
/// from the read that hit it. Throws Error(io_error) naming the path when the file cannot be
/// opened; gzip failures (truncated, corrupt, trailing garbage) are Error(io_error) naming the path.
TAILOR_API std::unique_ptr<std::istream> open_input(const std::string& path);

/// True if the file at `path` starts with the gzip magic bytes. Throws Error(io_error) if it
/// cannot be opened.
TAILOR_API bool is_gzip_file(const std::string& path);

// ---------------------------------------------------------------------------------------------
// Rejections and reports

/// Why a row or record was rejected (or, for the file-level reasons, why a whole input was).
enum class RejectReason {
  wrong_column_count,   ///< a CSV record has more or fewer fields than the header
  missing_value,        ///< a required field is empty or absent
  invalid_number,       ///< a numeric field does not parse as a number
  invalid_timestamp,    ///< not ISO-8601, not an epoch number, or an impossible date
  invalid_utf8,         ///< a field contains bytes that are not valid UTF-8
  unterminated_quote,   ///< a quoted CSV field runs to the end of the input
  field_too_large,      ///< a field exceeds the configured max_field_bytes
  record_too_large,     ///< a record (CSV record or JSON line) exceeds max_record_bytes
  out_of_range,         ///< NaN, infinity, or a negative value where only >= 0 makes sense
  unknown_event_type,   ///< an event type name the EventTypeRegistry does not know
  invalid_json,         ///< a JSON line does not parse, or is not a JSON object
  wrong_type,           ///< a JSON value has the wrong type (e.g. an object where an ID belongs)
  invalid_value,        ///< any other unusable value (e.g. "maybe" for a boolean)
  // File-level reasons: thrown as ParseError in both strict and lenient mode.
  empty_file,           ///< the input has no bytes, or (CSV) no header record
  missing_header,       ///< the first CSV record does not look like a header
  missing_column,       ///< a configured column is not in the CSV header
};

/// Lower-case name of a reason, e.g. "invalid_timestamp".
TAILOR_API const char* reject_reason_name(RejectReason reason) noexcept;

/// Where and why one row was rejected.
struct TAILOR_API Rejection {
  std::string file;         ///< display name of the input (a path, or a name given by the caller)
  std::uint64_t line = 0;   ///< 1-based line where the record starts; 0 when not applicable
  std::string column;       ///< column or JSON key; empty when the whole record is at fault
  RejectReason reason = RejectReason::invalid_value;
  std::string detail;       ///< human-readable specifics, usually quoting the bad value

  /// "events.csv:1042: column 'timestamp': invalid_timestamp: '12a' is not ..." (parts that are
  /// empty are left out).
  std::string message() const;
};

/// The exception of strict mode and of file-level failures: an Error with code parse_error whose
/// what() is rejection().message().
class TAILOR_API ParseError : public Error {
 public:
  explicit ParseError(Rejection rejection);
  const Rejection& rejection() const noexcept { return rejection_; }

 private:
  Rejection rejection_;
};

/// What a reader does with a bad row.
enum class ErrorPolicy {
  strict,   ///< throw ParseError on the first rejected row
  lenient,  ///< skip it, count it by reason, keep the first max_samples as samples
};

/// Summary of one read. Invariant: records == accepted + rejected.
struct TAILOR_API ReadReport {
  std::string file;                               ///< display name of the input
  std::uint64_t records = 0;                      ///< data records seen (header and blank lines excluded)
  std::uint64_t accepted = 0;                     ///< records handed to the sink
  std::uint64_t rejected = 0;                     ///< records skipped (lenient mode)
  std::uint64_t blank_lines = 0;                  ///< empty lines skipped (not records)
  std::map<RejectReason, std::uint64_t> by_reason;
  std::vector<Rejection> samples;                 ///< the first rejections, in input order

  /// {"file":..., "records":..., "accepted":..., "rejected":..., "blank_lines":...,
  ///  "by_reason":{"invalid_timestamp":3,...}, "samples":[{"line":..,"column":..,"reason":..,
  ///  "detail":..,"message":..}, ...]}
  nlohmann::json to_json() const;
};

/// Applies an ErrorPolicy while a reader runs; readers (and dataset adapters) call accept() or
/// reject() once per record. Not thread-safe.
class TAILOR_API ReportBuilder {
 public:
  /// Throws Error(invalid_argument) if max_samples > 1'000'000.
  ReportBuilder(std::string file, ErrorPolicy policy, std::size_t max_samples = 100);

  void accept() {
    ++report_.records;
    ++report_.accepted;
  }
  /// Strict: throws ParseError(rejection). Lenient: counts it and keeps it if samples are short.
  void reject(Rejection rejection);
  void blank_line() { ++report_.blank_lines; }

  ErrorPolicy policy() const noexcept { return policy_; }
  const ReadReport& report() const noexcept { return report_; }
  ReadReport take() { return std::move(report_); }

 private:
  ReadReport report_;
  ErrorPolicy policy_;
  std::size_t max_samples_;
};

/// Quotes `value` for an error message: at most 80 bytes shown (then "..."), control and
/// non-ASCII bytes escaped as \xNN, e.g. "'12a'".
TAILOR_API std::string quote_value(std::string_view value);

// ---------------------------------------------------------------------------------------------
// Field parsers (no allocation; leading and trailing ASCII blanks are ignored)

/// How numeric timestamps are read.
enum class TimestampUnit {
  auto_detect,   ///< |value| >= 1e11 means milliseconds, otherwise seconds
  seconds,       ///< Unix seconds (a fraction is allowed: "1322000000.25")
  milliseconds,  ///< Unix milliseconds
};

/// Parses a timestamp into UTC milliseconds since the epoch. Accepted forms:
///  - epoch numbers, read per `unit` ("1291191960", "1291191960000", "1291191960.5");
///  - ISO-8601 calendar dates: "2011-12-09", "2011-12-09T08:39", "2011-12-09 08:39:00",
///    "2011-12-09T08:39:00.123456Z", "2011-12-09T08:39:00+01:00" (also +0100 and +01).
///    A date or date-time WITHOUT an offset is taken as UTC. Fractions beyond milliseconds are
///    truncated. Impossible dates (2011-02-30, 25:00) are rejected; years 0000..9999 only.
/// Returns nullopt for anything else.
TAILOR_API std::optional<Timestamp> parse_timestamp(
    std::string_view text, TimestampUnit unit = TimestampUnit::auto_detect) noexcept;

/// Milliseconds since the epoch of a UTC civil date-time; no range checks beyond the arithmetic.
TAILOR_API Timestamp make_utc_timestamp(int year, int month, int day, int hour = 0, int minute = 0,
                                        int second = 0, int millisecond = 0) noexcept;

/// "2011-12-09T08:39:00.000Z" for a UTC millisecond timestamp (the inverse of parse_timestamp).
TAILOR_API std::string format_timestamp(Timestamp ms);

/// A decimal integer with optional sign; nullopt on any other text or overflow.
TAILOR_API std::optional<std::int64_t> parse_int64(std::string_view text) noexcept;

/// A decimal floating-point number (also "nan", "inf" which callers then reject as out_of_range);
/// nullopt on any other text or overflow.
TAILOR_API std::optional<double> parse_double(std::string_view text) noexcept;

/// "true/false/1/0/yes/no/y/n/t/f" (any case) as a bool; nullopt otherwise.
TAILOR_API std::optional<bool> parse_bool(std::string_view text) noexcept;

/// `text` without leading and trailing spaces and tabs.
TAILOR_API std::string_view trim_blanks(std::string_view text) noexcept;

/// True if `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
TAILOR_API bool is_valid_utf8(std::string_view text) noexcept;

// ---------------------------------------------------------------------------------------------
// Line splitting

/// Splits a stream into lines with bounded memory: LF or CRLF endings (the CR is removed), a
/// UTF-8 BOM at the start is skipped, a final line without newline is returned too.
/// A line longer than max_line_bytes is returned truncated with too_long() set (the rest of it is
/// skipped), so a reader can reject it and carry on.
/// Exceptions from the stream buffer (e.g. a corrupt gzip stream) propagate. Not thread-safe.
class TAILOR_API LineReader {
 public:
  LineReader(std::istream& in, std::size_t max_line_bytes = std::size_t{16} << 20);

  /// Advances to the next line; false at end of input.
  bool next();
  std::string_view line() const noexcept { return line_; }
  /// 1-based number of the current line.
  std::uint64_t line_number() const noexcept { return line_number_; }
  bool too_long() const noexcept { return too_long_; }
  /// Total bytes consumed from the stream so far.
  std::uint64_t bytes_read() const noexcept { return bytes_read_; }

 private:
  bool fill();

  std::streambuf* buf_;
  std::size_t max_line_bytes_;
  std::vector<char> chunk_;
  std::size_t pos_ = 0, len_ = 0;
  bool eof_ = false, started_ = false, too_long_ = false;
  std::string line_;
  std::uint64_t line_number_ = 0, bytes_read_ = 0;
};

}  // namespace tailor
