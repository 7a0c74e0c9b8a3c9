// tailor internal: the float dot-product kernels every exact score goes through (vector search
// scans, graph candidates, side buffers), at the instruction set internal/simd.hpp picks. One
// routine scores an item on every path, so an item's score does not depend on how it was found.
//
// Thread-safety: pure functions; thread-safe.
#pragma once

#include <cstddef>

namespace tailor::detail {

/// a . b over d floats.
float dot(const float* a, const float* b, std::size_t d) noexcept;
/// out[i] = rows[i] . q for the n row-major rows of d floats at `rows`.
void dot_rows(const float* rows, std::size_t n, std::size_t d, const float* q, float* out) noexcept;

}  // namespace tailor::detail
