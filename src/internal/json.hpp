// tailor internal: number formatting shared by every report (evaluation, tuning, drift, the guard):
// NaN-safe JSON numbers and short decimal figures for the one-sentence reasons.
//
// Thread-safety: pure functions; thread-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iomanip>
#include <sstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tailor::detail {

/// A number for a JSON report: the value, or null when it is NaN or infinite (JSON has neither).
inline nlohmann::json json_number(double v) {
  if (std::isfinite(v)) return v;
  return nullptr;
}

/// The deepest nesting of arrays and objects in JSON `text`, found in one linear pass (strings and
/// their escapes skipped), so untrusted text can be refused before a recursive parser sees it.
/// Malformed text gives some depth; the parser reports the malformation.
inline std::size_t json_nesting_depth(std::string_view text) noexcept {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

/// `v` with `digits` significant digits ("0.0812", "1.5e+03"), for report sentences.
inline std::string short_number(double v, int digits) {
  std::ostringstream os;
  os << std::setprecision(digits) << v;
  return os.str();
}

}  // namespace tailor::detail
