// tailor (private): constants and argument checks shared by the statistics sources.
#pragma once

#include <cmath>
#include <limits>

#include "tailor/core/error.hpp"

namespace tailor::stats::detail {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr double kTiny = 1e-300;
constexpr double kPi = 3.14159265358979323846;
constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(sqrt(2 pi))
constexpr double kSqrt2 = 1.41421356237309504880;
constexpr int kMaxIterations = 10'000'000;

inline bool finite(double x) { return std::isfinite(x); }

inline void require_probability(double p, const char* name) {
  TAILOR_REQUIRE(p >= 0.0 && p <= 1.0, name << " must be in [0, 1], got " << p);
}

inline void require_level(double level, const char* name) {
  TAILOR_REQUIRE(level > 0.0 && level < 1.0, name << " must be in (0, 1), got " << level);
}

inline void require_df(double df) { TAILOR_REQUIRE(df > 0.0, "df must be > 0, got " << df); }

}  // namespace tailor::stats::detail
