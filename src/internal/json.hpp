// tailor internal: JSON helpers shared by every report (evaluation, tuning, drift, the guard).
//
// Thread-safety: pure functions; thread-safe.
#pragma once

#include <cmath>

#include <nlohmann/json.hpp>

namespace tailor::detail {

/// A number for a JSON report: the value, or null when it is NaN or infinite (JSON has neither).
inline nlohmann::json json_number(double v) {
  if (std::isfinite(v)) return v;
  return nullptr;
}

}  // namespace tailor::detail
