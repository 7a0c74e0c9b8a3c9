// tailor internal: number formatting shared by every report (evaluation, tuning, drift, the guard):
// NaN-safe JSON numbers and short decimal figures for the one-sentence reasons.
//
// Thread-safety: pure functions; thread-safe.
#pragma once

#include <cmath>
#include <iomanip>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace tailor::detail {

/// A number for a JSON report: the value, or null when it is NaN or infinite (JSON has neither).
inline nlohmann::json json_number(double v) {
  if (std::isfinite(v)) return v;
  return nullptr;
}

/// `v` with `digits` significant digits ("0.0812", "1.5e+03"), for report sentences.
inline std::string short_number(double v, int digits) {
  std::ostringstream os;
  os << std::setprecision(digits) << v;
  return os.str();
}

}  // namespace tailor::detail
