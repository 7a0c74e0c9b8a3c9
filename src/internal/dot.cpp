#include "internal/dot.hpp"

#include <Eigen/Core>

#include "internal/simd.hpp"

#ifdef TAILOR_X86_SIMD
#include <immintrin.h>
#endif

namespace tailor::detail {
namespace {

using DotFn = float (*)(const float*, const float*, std::size_t);
using DotRowsFn = void (*)(const float*, std::size_t, std::size_t, const float*, float*);

float dot_generic(const float* a, const float* b, std::size_t d) {
  return Eigen::Map<const Eigen::VectorXf>(a, static_cast<Eigen::Index>(d))
      .dot(Eigen::Map<const Eigen::VectorXf>(b, static_cast<Eigen::Index>(d)));
}

void dot_rows_generic(const float* rows, std::size_t n, std::size_t d, const float* q, float* out) {
  for (std::size_t i = 0; i < n; ++i) out[i] = dot_generic(rows + i * d, q, d);
}

#ifdef TAILOR_X86_SIMD
__attribute__((target("avx2,fma"))) inline float dot_avx2_inline(const float* a, const float* b,
                                                                 std::size_t d) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  std::size_t j = 0;
  for (; j + 16 <= d; j += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8), acc1);
  }
  if (j + 8 <= d) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), acc0);
    j += 8;
  }
  const __m256 acc = _mm256_add_ps(acc0, acc1);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  float sum = _mm_cvtss_f32(s);
  for (; j < d; ++j) sum += a[j] * b[j];
  return sum;
}

__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, std::size_t d) {
  return dot_avx2_inline(a, b, d);
}

__attribute__((target("avx2,fma"))) void dot_rows_avx2(const float* rows, std::size_t n,
                                                       std::size_t d, const float* q, float* out) {
  for (std::size_t i = 0; i < n; ++i) out[i] = dot_avx2_inline(rows + i * d, q, d);
}
#endif

struct Kernels {
  DotFn dot;
  DotRowsFn dot_rows;
};

const Kernels& kernels() {
  static const Kernels k = [] {
#ifdef TAILOR_X86_SIMD
    if (simd_level() != SimdLevel::generic) return Kernels{dot_avx2, dot_rows_avx2};
#endif
    return Kernels{dot_generic, dot_rows_generic};
  }();
  return k;
}

}  // namespace

float dot(const float* a, const float* b, std::size_t d) noexcept { return kernels().dot(a, b, d); }

void dot_rows(const float* rows, std::size_t n, std::size_t d, const float* q, float* out) noexcept {
  kernels().dot_rows(rows, n, d, q, out);
}

}  // namespace tailor::detail
