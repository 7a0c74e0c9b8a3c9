// tailor internal: checks of untrusted numbers shared by every component that takes vectors from
// a caller or a file.
//
// Thread-safety: pure functions; thread-safe.
#pragma once

#include <cmath>
#include <cstddef>

namespace tailor::detail {

/// The index of the first value of v[0..n) that is not finite (NaN or infinite), or n.
inline std::size_t first_non_finite(const float* v, std::size_t n) noexcept {
  for (std::size_t j = 0; j < n; ++j) {
    if (!std::isfinite(v[j])) return j;
  }
  return n;
}

/// True when every value of v[0..n) is finite.
inline bool all_finite(const float* v, std::size_t n) noexcept { return first_non_finite(v, n) == n; }

}  // namespace tailor::detail
