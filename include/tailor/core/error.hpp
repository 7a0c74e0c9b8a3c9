// tailor: the one exception type of the library and the macros that raise it.
//
// Every failure the caller can cause (bad options, bad input files, unknown IDs, corrupt model
// files) is reported as a tailor::Error carrying an ErrorCode and a message that names the place:
//   "events.csv:1042: column 'timestamp': not a timestamp: '12a'"
// Internal invariants use assert(); they never fire on user input.
//
// Thread-safety: Error is an immutable value type; thread-safe.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

#include "tailor/core/export.hpp"

namespace tailor {

/// What kind of failure an Error reports. Stable: callers may switch on it.
enum class ErrorCode {
  invalid_argument,     ///< an option or argument is out of its documented range
  parse_error,          ///< an input row or record could not be read (file:line, column named)
  not_fitted,           ///< a model was used before it was trained or loaded
  unknown_id,           ///< an external user or item ID the model has never seen
  io_error,             ///< the operating system refused a read, write, fsync or rename
  corrupt_file,         ///< a file failed a checksum, bounds or structure check
  unsupported_version,  ///< a file was written by a format version this build cannot read
  numerical_error,      ///< non-finite values appeared during a computation
};

/// Lower-case name of an ErrorCode, e.g. "parse_error".
inline const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::parse_error: return "parse_error";
    case ErrorCode::not_fitted: return "not_fitted";
    case ErrorCode::unknown_id: return "unknown_id";
    case ErrorCode::io_error: return "io_error";
    case ErrorCode::corrupt_file: return "corrupt_file";
    case ErrorCode::unsupported_version: return "unsupported_version";
    case ErrorCode::numerical_error: return "numerical_error";
  }
  return "unknown";
}

/// The exception thrown by every tailor component.
class TAILOR_API Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

namespace detail {
[[noreturn]] inline void throw_error(ErrorCode code, const std::string& message) {
  throw Error(code, message);
}
}  // namespace detail

}  // namespace tailor

/// Throws tailor::Error(code, message) where message is built with stream syntax:
///   TAILOR_THROW(invalid_argument, "factors must be > 0, got " << factors);
#define TAILOR_THROW(code, stream_expr)                                  \
  do {                                                                  \
    std::ostringstream tailor_throw_os_;                                \
    tailor_throw_os_ << stream_expr;                                    \
    ::tailor::detail::throw_error(::tailor::ErrorCode::code, tailor_throw_os_.str()); \
  } while (false)

/// Throws tailor::Error(invalid_argument, ...) unless cond holds; the message names the condition.
#define TAILOR_REQUIRE(cond, stream_expr)                                        \
  do {                                                                          \
    if (!(cond)) TAILOR_THROW(invalid_argument, stream_expr << " [" #cond "]"); \
  } while (false)
