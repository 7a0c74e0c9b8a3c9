// ALSFactorizer: training loop, per-row solvers and the SIMD kernels they run on.
//
// Hot path (CG): for every row, 1 + cg_steps passes over the row's stored entries, each pass a
// fused "dot with y_i, then add a multiple of y_i" over the rows y_i of the fixed side, plus one
// k x k Gram matrix-vector product. Both have an AVX2+FMA version selected at run time (the library
// itself is compiled for the baseline ISA) and an Eigen fallback.
#ifndef EIGEN_DONT_PARALLELIZE
#define EIGEN_DONT_PARALLELIZE  // Eigen must never start threads of its own here
#endif

#include "tailor/models/als.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Cholesky>

#include "tailor/core/error.hpp"
#include "internal/thread_pool.hpp"
#include "internal/random.hpp"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define TAILOR_ALS_X86 1
#include <immintrin.h>
#endif

namespace tailor {
namespace {

using Clock = std::chrono::steady_clock;
using ColMatrix = Eigen::MatrixXf;

// ---------------------------------------------------------------------------------------------
// Kernels

// out[0..k) += sum_i (a_i + sgn * s_i * (y_i . v)) y_i, y_i = Y + ld * idx[i]; a may be null (0).
using GramApplyFn = void (*)(const float* Y, std::size_t ld, const std::int32_t* idx,
                             std::size_t n, const float* a, const float* s, float sgn,
                             const float* v, float* out, std::size_t k);
// out = G v for a k x k matrix G (symmetric, so its storage order does not matter).
using MatVecFn = void (*)(const float* G, const float* v, float* out, std::size_t k);
// G += U'V over the upper triangle (and some entries below it) of the k x k row-major G, for m x k
// row-major U and V with U'V symmetric (U = V, or U = diag(s) V). Call mirror_upper() afterwards.
using SyrkFn = void (*)(const float* U, const float* V, std::size_t m, std::size_t k, float* G);

// The exact solver's normal matrix is kp x kp row-major, kp = k rounded up to the kernels' tile
// width T (8, or 16 with AVX-512; the padding is identity), and only its upper T x T tiles are
// computed and read: the diagonal tiles whole, their lower halves left as scratch. Every row and
// tile then starts on a multiple of T floats, so the kernels have no scalar tails. (The upper
// 16 x 16 tiles include the upper 8 x 8 ones, so the 8-wide Cholesky serves both widths.)
// A += sum_r U[r]' V[r] over those tiles, U m x kp row-major, V[r] a row of kp floats.
using SyrkTilesFn = void (*)(const float* U, const float* const* V, std::size_t m, std::size_t kp,
                             float* A);
// U[r] = s_r V[r] (the rows of U kp apart) and b += sum_r a_r V[r], kp a multiple of 8.
using ScaleRowsFn = void (*)(const float* const* V, const float* s, const float* a, std::size_t m,
                             std::size_t kp, float* U, float* b);
// Solves A x = b in place (x -> b) for symmetric positive definite A in that layout (A 32-byte
// aligned), overwriting A. Returns false if a pivot is not positive and finite.
using CholeskySolveFn = bool (*)(float* A, float* b, std::size_t kp);

// Copies the strict upper triangle of the k x k row-major G onto its lower triangle.
void mirror_upper(float* G, std::size_t k) {
  for (std::size_t i = 1; i < k; ++i) {
    for (std::size_t j = 0; j < i; ++j) G[i * k + j] = G[j * k + i];
  }
}

void syrk_generic(const float* U, const float* V, std::size_t m, std::size_t k, float* G) {
  const auto mm = static_cast<Eigen::Index>(m), kk = static_cast<Eigen::Index>(k);
  Eigen::Map<RowMatrix> g(G, kk, kk);
  g.noalias() += Eigen::Map<const RowMatrix>(U, mm, kk).transpose() *
                 Eigen::Map<const RowMatrix>(V, mm, kk);
}

void gram_apply_generic(const float* Y, std::size_t ld, const std::int32_t* idx, std::size_t n,
                        const float* a, const float* s, float sgn, const float* v, float* out,
                        std::size_t k) {
  const auto kk = static_cast<Eigen::Index>(k);
  Eigen::Map<const Vector> vv(v, kk);
  Eigen::Map<Vector> o(out, kk);
  for (std::size_t i = 0; i < n; ++i) {
    Eigen::Map<const Vector> y(Y + ld * static_cast<std::size_t>(idx[i]), kk);
    const float c = (a != nullptr ? a[i] : 0.0f) + sgn * s[i] * y.dot(vv);
    o += c * y;
  }
}

void matvec_generic(const float* G, const float* v, float* out, std::size_t k) {
  const auto kk = static_cast<Eigen::Index>(k);
  Eigen::Map<const ColMatrix> g(G, kk, kk);
  Eigen::Map<Vector>(out, kk).noalias() = g * Eigen::Map<const Vector>(v, kk);
}

#ifdef TAILOR_ALS_X86
__attribute__((target("avx2,fma"))) inline float hsum256(__m256 x) {
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 0x55));
  return _mm_cvtss_f32(lo);
}

#ifndef TAILOR_ALS_PREFETCH
#define TAILOR_ALS_PREFETCH 8
#endif
constexpr std::size_t kPrefetchAhead = TAILOR_ALS_PREFETCH;  // rows ahead, a multiple of 4

__attribute__((target("avx2,fma"))) void gram_apply_avx2(const float* Y, std::size_t ld,
                                                         const std::int32_t* idx, std::size_t n,
                                                         const float* a, const float* s, float sgn,
                                                         const float* v, float* out,
                                                         std::size_t k) {
  const std::size_t k8 = k & ~std::size_t{7};
  std::size_t i = 0;
  // Groups of 8 rows: 8 independent dot-product chains, reduced together into one vector.
  const __m256 sgnv = _mm256_set1_ps(sgn);
  for (; i + 8 <= n; i += 8) {
    const float* y[8];
    for (int q = 0; q < 8; ++q) y[q] = Y + ld * static_cast<std::size_t>(idx[i + q]);
    if (i + kPrefetchAhead + 8 <= n) {
      for (std::size_t q = i + kPrefetchAhead; q < i + kPrefetchAhead + 8; ++q) {
        const char* next = reinterpret_cast<const char*>(Y + ld * static_cast<std::size_t>(idx[q]));
        for (std::size_t off = 0; off < k * sizeof(float); off += 64) {
          _mm_prefetch(next + off, _MM_HINT_T0);
        }
      }
    }
    __m256 d[8];
    for (int q = 0; q < 8; ++q) d[q] = _mm256_setzero_ps();
    for (std::size_t j = 0; j < k8; j += 8) {
      const __m256 vv = _mm256_loadu_ps(v + j);
      for (int q = 0; q < 8; ++q) d[q] = _mm256_fmadd_ps(_mm256_loadu_ps(y[q] + j), vv, d[q]);
    }
    const __m256 t0 = _mm256_hadd_ps(_mm256_hadd_ps(d[0], d[1]), _mm256_hadd_ps(d[2], d[3]));
    const __m256 t1 = _mm256_hadd_ps(_mm256_hadd_ps(d[4], d[5]), _mm256_hadd_ps(d[6], d[7]));
    __m256 sums = _mm256_add_ps(_mm256_permute2f128_ps(t0, t1, 0x20),
                                _mm256_permute2f128_ps(t0, t1, 0x31));
    if (k8 < k) {
      alignas(32) float extra[8];
      for (int q = 0; q < 8; ++q) {
        float e = 0.0f;
        for (std::size_t j = k8; j < k; ++j) e += y[q][j] * v[j];
        extra[q] = e;
      }
      sums = _mm256_add_ps(sums, _mm256_load_ps(extra));
    }
    __m256 cv = _mm256_mul_ps(_mm256_mul_ps(sgnv, _mm256_loadu_ps(s + i)), sums);
    if (a != nullptr) cv = _mm256_add_ps(cv, _mm256_loadu_ps(a + i));
    alignas(32) float c[8];
    _mm256_store_ps(c, cv);
    __m256 cb[8];
    for (int q = 0; q < 8; ++q) cb[q] = _mm256_set1_ps(c[q]);
    for (std::size_t j = 0; j < k8; j += 8) {
      __m256 o = _mm256_loadu_ps(out + j);
      for (int q = 0; q < 8; ++q) o = _mm256_fmadd_ps(cb[q], _mm256_loadu_ps(y[q] + j), o);
      _mm256_storeu_ps(out + j, o);
    }
    for (std::size_t j = k8; j < k; ++j) {
      float o = out[j];
      for (int q = 0; q < 8; ++q) o += c[q] * y[q][j];
      out[j] = o;
    }
  }
  for (; i + 4 <= n; i += 4) {
    const float* y0 = Y + ld * static_cast<std::size_t>(idx[i]);
    const float* y1 = Y + ld * static_cast<std::size_t>(idx[i + 1]);
    const float* y2 = Y + ld * static_cast<std::size_t>(idx[i + 2]);
    const float* y3 = Y + ld * static_cast<std::size_t>(idx[i + 3]);
    if (i + kPrefetchAhead + 4 <= n) {  // rows of a later group (misses: mostly the first pass)
      for (std::size_t q = i + kPrefetchAhead; q < i + kPrefetchAhead + 4; ++q) {
        const char* next = reinterpret_cast<const char*>(Y + ld * static_cast<std::size_t>(idx[q]));
        for (std::size_t off = 0; off < k * sizeof(float); off += 64) {
          _mm_prefetch(next + off, _MM_HINT_T0);
        }
      }
    }
    __m256 d0 = _mm256_setzero_ps(), d1 = d0, d2 = d0, d3 = d0;
    for (std::size_t j = 0; j < k8; j += 8) {
      const __m256 vv = _mm256_loadu_ps(v + j);
      d0 = _mm256_fmadd_ps(_mm256_loadu_ps(y0 + j), vv, d0);
      d1 = _mm256_fmadd_ps(_mm256_loadu_ps(y1 + j), vv, d1);
      d2 = _mm256_fmadd_ps(_mm256_loadu_ps(y2 + j), vv, d2);
      d3 = _mm256_fmadd_ps(_mm256_loadu_ps(y3 + j), vv, d3);
    }
    float e0 = hsum256(d0), e1 = hsum256(d1), e2 = hsum256(d2), e3 = hsum256(d3);
    for (std::size_t j = k8; j < k; ++j) {
      e0 += y0[j] * v[j];
      e1 += y1[j] * v[j];
      e2 += y2[j] * v[j];
      e3 += y3[j] * v[j];
    }
    float c0 = sgn * s[i] * e0, c1 = sgn * s[i + 1] * e1;
    float c2 = sgn * s[i + 2] * e2, c3 = sgn * s[i + 3] * e3;
    if (a != nullptr) {
      c0 += a[i];
      c1 += a[i + 1];
      c2 += a[i + 2];
      c3 += a[i + 3];
    }
    const __m256 c0v = _mm256_set1_ps(c0), c1v = _mm256_set1_ps(c1);
    const __m256 c2v = _mm256_set1_ps(c2), c3v = _mm256_set1_ps(c3);
    for (std::size_t j = 0; j < k8; j += 8) {
      __m256 o = _mm256_loadu_ps(out + j);
      o = _mm256_fmadd_ps(c0v, _mm256_loadu_ps(y0 + j), o);
      o = _mm256_fmadd_ps(c1v, _mm256_loadu_ps(y1 + j), o);
      o = _mm256_fmadd_ps(c2v, _mm256_loadu_ps(y2 + j), o);
      o = _mm256_fmadd_ps(c3v, _mm256_loadu_ps(y3 + j), o);
      _mm256_storeu_ps(out + j, o);
    }
    for (std::size_t j = k8; j < k; ++j) {
      out[j] += c0 * y0[j] + c1 * y1[j] + c2 * y2[j] + c3 * y3[j];
    }
  }
  for (; i < n; ++i) {
    const float* y = Y + ld * static_cast<std::size_t>(idx[i]);
    __m256 d = _mm256_setzero_ps();
    for (std::size_t j = 0; j < k8; j += 8) {
      d = _mm256_fmadd_ps(_mm256_loadu_ps(y + j), _mm256_loadu_ps(v + j), d);
    }
    float e = hsum256(d);
    for (std::size_t j = k8; j < k; ++j) e += y[j] * v[j];
    const float c = (a != nullptr ? a[i] : 0.0f) + sgn * s[i] * e;
    const __m256 cv = _mm256_set1_ps(c);
    for (std::size_t j = 0; j < k8; j += 8) {
      _mm256_storeu_ps(out + j, _mm256_fmadd_ps(cv, _mm256_loadu_ps(y + j),
                                                _mm256_loadu_ps(out + j)));
    }
    for (std::size_t j = k8; j < k; ++j) out[j] += c * y[j];
  }
}

// out[c..c+8B) = sum_j v_j G[j, c..c+8B): B independent accumulators per pass over the rows.
template <int B>
__attribute__((target("avx2,fma"))) inline void matvec_block_avx2(const float* G, const float* v,
                                                                  float* out, std::size_t k,
                                                                  std::size_t c) {
  __m256 acc[B];
  for (int b = 0; b < B; ++b) acc[b] = _mm256_setzero_ps();
  for (std::size_t j = 0; j < k; ++j) {
    const __m256 vj = _mm256_set1_ps(v[j]);
    const float* g = G + j * k + c;
    for (int b = 0; b < B; ++b) acc[b] = _mm256_fmadd_ps(vj, _mm256_loadu_ps(g + 8 * b), acc[b]);
  }
  for (int b = 0; b < B; ++b) _mm256_storeu_ps(out + c + 8 * b, acc[b]);
}

__attribute__((target("avx2,fma"))) void matvec_avx2(const float* G, const float* v, float* out,
                                                     std::size_t k) {
  const std::size_t k8 = k & ~std::size_t{7};
  std::size_t c = 0;
  for (; c + 64 <= k8; c += 64) matvec_block_avx2<8>(G, v, out, k, c);
  for (; c + 32 <= k8; c += 32) matvec_block_avx2<4>(G, v, out, k, c);
  for (; c < k8; c += 8) matvec_block_avx2<1>(G, v, out, k, c);
  for (; c < k; ++c) {
    float sum = 0.0f;
    for (std::size_t j = 0; j < k; ++j) sum += G[j * k + c] * v[j];
    out[c] = sum;
  }
}
// Rows i0..i0+H of G, columns from (i0 rounded down to 8) to k, over rows [r0, r1) of U and V.
template <int H>
__attribute__((target("avx2,fma"))) inline void syrk_rows_avx2(const float* U, const float* V,
                                                               std::size_t r0, std::size_t r1,
                                                               std::size_t k, std::size_t i0,
                                                               float* G) {
  const std::size_t k8 = k & ~std::size_t{7};
  std::size_t j = i0 & ~std::size_t{7};
  for (; j + 16 <= k8; j += 16) {
    __m256 acc[H][2];
    for (int h = 0; h < H; ++h) {
      acc[h][0] = _mm256_loadu_ps(G + (i0 + h) * k + j);
      acc[h][1] = _mm256_loadu_ps(G + (i0 + h) * k + j + 8);
    }
    for (std::size_t r = r0; r < r1; ++r) {
      const float* u = U + r * k + i0;
      const __m256 v0 = _mm256_loadu_ps(V + r * k + j);
      const __m256 v1 = _mm256_loadu_ps(V + r * k + j + 8);
      for (int h = 0; h < H; ++h) {
        const __m256 b = _mm256_broadcast_ss(u + h);
        acc[h][0] = _mm256_fmadd_ps(b, v0, acc[h][0]);
        acc[h][1] = _mm256_fmadd_ps(b, v1, acc[h][1]);
      }
    }
    for (int h = 0; h < H; ++h) {
      _mm256_storeu_ps(G + (i0 + h) * k + j, acc[h][0]);
      _mm256_storeu_ps(G + (i0 + h) * k + j + 8, acc[h][1]);
    }
  }
  for (; j < k8; j += 8) {
    __m256 acc[H];
    for (int h = 0; h < H; ++h) acc[h] = _mm256_loadu_ps(G + (i0 + h) * k + j);
    for (std::size_t r = r0; r < r1; ++r) {
      const __m256 v0 = _mm256_loadu_ps(V + r * k + j);
      for (int h = 0; h < H; ++h) {
        acc[h] = _mm256_fmadd_ps(_mm256_broadcast_ss(U + r * k + i0 + h), v0, acc[h]);
      }
    }
    for (int h = 0; h < H; ++h) _mm256_storeu_ps(G + (i0 + h) * k + j, acc[h]);
  }
  for (; j < k; ++j) {
    for (int h = 0; h < H; ++h) {
      float sum = 0.0f;
      for (std::size_t r = r0; r < r1; ++r) sum += U[r * k + i0 + h] * V[r * k + j];
      G[(i0 + h) * k + j] += sum;
    }
  }
}

__attribute__((target("avx2,fma"))) void syrk_avx2(const float* U, const float* V, std::size_t m,
                                                   std::size_t k, float* G) {
  constexpr std::size_t kRows = 128;  // rows of U and V kept in cache across the tiles of G
  for (std::size_t r0 = 0; r0 < m; r0 += kRows) {
    const std::size_t r1 = std::min(m, r0 + kRows);
    std::size_t i0 = 0;
    for (; i0 + 4 <= k; i0 += 4) syrk_rows_avx2<4>(U, V, r0, r1, k, i0, G);
    for (; i0 < k; ++i0) syrk_rows_avx2<1>(U, V, r0, r1, k, i0, G);
  }
}

// Rows i0..i0+4 of A, columns [c, c + 8W): += sum_r U[r][i0 + h] V[r][c..], V[r] a row pointer.
template <int W>
__attribute__((target("avx2,fma"), always_inline)) inline void syrk_tile_avx2(const float* U,
                                                               const float* const* V,
                                                               std::size_t m, std::size_t kp,
                                                               std::size_t i0, std::size_t c,
                                                               float* A) {
  __m256 acc[4][W];
  for (int h = 0; h < 4; ++h) {
    for (int w = 0; w < W; ++w) acc[h][w] = _mm256_load_ps(A + (i0 + h) * kp + c + 8 * w);
  }
  for (std::size_t r = 0; r < m; ++r) {
    const float* u = U + r * kp + i0;
    const float* v = V[r] + c;
    __m256 vv[W];
    for (int w = 0; w < W; ++w) vv[w] = _mm256_loadu_ps(v + 8 * w);
    for (int h = 0; h < 4; ++h) {
      const __m256 bh = _mm256_broadcast_ss(u + h);
      for (int w = 0; w < W; ++w) acc[h][w] = _mm256_fmadd_ps(bh, vv[w], acc[h][w]);
    }
  }
  for (int h = 0; h < 4; ++h) {
    for (int w = 0; w < W; ++w) _mm256_store_ps(A + (i0 + h) * kp + c + 8 * w, acc[h][w]);
  }
}

// A += sum_r U[r]' V[r] over the upper tiles; 4 x 16 register tiles (8 accumulators, 6 loads per
// 8 FMAs), which keeps the loop at FMA throughput.
__attribute__((target("avx2,fma"))) void syrk_tiles_avx2(const float* U, const float* const* V,
                                                         std::size_t m, std::size_t kp, float* A) {
  for (std::size_t i0 = 0; i0 < kp; i0 += 4) {
    std::size_t c = i0 & ~std::size_t{7};
    for (; c + 16 <= kp; c += 16) syrk_tile_avx2<2>(U, V, m, kp, i0, c, A);
    if (c < kp) syrk_tile_avx2<1>(U, V, m, kp, i0, c, A);
  }
}

// Rows j0 + h0 .. + 4 of A, columns [c, c + 8W): -= sum_(p<j0) U[p][j0 + h0 + h] U[p][c..].
template <int W>
__attribute__((target("avx2,fma"), always_inline)) inline void cholesky_tile_update_avx2(float* A, std::size_t kp,
                                                                          std::size_t j0,
                                                                          std::size_t h0,
                                                                          std::size_t c) {
  float* const out = A + (j0 + h0) * kp + c;
  __m256 acc[4][W];
  for (int h = 0; h < 4; ++h) {
    for (int w = 0; w < W; ++w) acc[h][w] = _mm256_load_ps(out + h * kp + 8 * w);
  }
  for (std::size_t p = 0; p < j0; ++p) {
    const float* u = A + p * kp;
    __m256 uc[W];
    for (int w = 0; w < W; ++w) uc[w] = _mm256_load_ps(u + c + 8 * w);
    for (int h = 0; h < 4; ++h) {
      const __m256 bh = _mm256_broadcast_ss(u + j0 + h0 + h);
      for (int w = 0; w < W; ++w) acc[h][w] = _mm256_fnmadd_ps(bh, uc[w], acc[h][w]);
    }
  }
  for (int h = 0; h < 4; ++h) {
    for (int w = 0; w < W; ++w) _mm256_store_ps(out + h * kp + 8 * w, acc[h][w]);
  }
}

// Columns [c, c + 8W) of U and b; b stays in registers across the rows.
template <int W>
__attribute__((target("avx2,fma"), always_inline)) inline void scale_rows_block_avx2(
    const float* const* V, const float* s, const float* a, std::size_t m, std::size_t kp,
    std::size_t c, float* U, float* b) {
  __m256 acc[W];
  for (int w = 0; w < W; ++w) acc[w] = _mm256_loadu_ps(b + c + 8 * w);
  for (std::size_t r = 0; r < m; ++r) {
    const __m256 sr = _mm256_broadcast_ss(s + r), ar = _mm256_broadcast_ss(a + r);
    for (int w = 0; w < W; ++w) {
      const __m256 v = _mm256_loadu_ps(V[r] + c + 8 * w);
      _mm256_store_ps(U + r * kp + c + 8 * w, _mm256_mul_ps(sr, v));
      acc[w] = _mm256_fmadd_ps(ar, v, acc[w]);
    }
  }
  for (int w = 0; w < W; ++w) _mm256_storeu_ps(b + c + 8 * w, acc[w]);
}

__attribute__((target("avx2,fma"))) void scale_rows_avx2(const float* const* V, const float* s,
                                                         const float* a, std::size_t m,
                                                         std::size_t kp, float* U, float* b) {
  std::size_t c = 0;
  for (; c + 64 <= kp; c += 64) scale_rows_block_avx2<8>(V, s, a, m, kp, c, U, b);
  for (; c < kp; c += 8) scale_rows_block_avx2<1>(V, s, a, m, kp, c, U, b);
}

// Block row j0 (rows j0..j0+8), columns [j0, kp): -= sum_(p<j0) U[p][j0 + h] U[p][c..].
__attribute__((target("avx2,fma"))) void cholesky_block_row_update_avx2(float* A, std::size_t kp,
                                                                        std::size_t j0) {
  for (std::size_t h0 = 0; h0 < 8; h0 += 4) {
    std::size_t c = j0;
    for (; c + 16 <= kp; c += 16) cholesky_tile_update_avx2<2>(A, kp, j0, h0, c);
    if (c < kp) cholesky_tile_update_avx2<1>(A, kp, j0, h0, c);
  }
}

// Solves A x = b in place (x -> b) for a symmetric positive definite A in the exact solver's tile
// layout (see SyrkTilesFn; kp a multiple of 8, A 32-byte aligned). A is overwritten by U with A = U'U, except that U's
// diagonal holds reciprocals (every use of U[j][j] divides by it). Left-looking by block rows of
// 8: a block row is first updated from the finished rows above it (register-blocked, the bulk of
// the arithmetic, at FMA throughput), then its diagonal tile is factored in registers: that
// pivot -> square root -> reciprocal -> next row chain is the critical path, 8 links per block
// row, so it is kept free of memory round trips. The off-diagonal tiles of the block row are
// independent triangular solves that overlap the chain. BlockRowUpdate is the AVX2 or the
// AVX-512 update. Returns false if a pivot is not positive and finite.
template <void (*BlockRowUpdate)(float*, std::size_t, std::size_t)>
__attribute__((target("avx2,fma"))) bool cholesky_solve_tiles(float* A, float* b, std::size_t kp) {
  for (std::size_t j0 = 0; j0 < kp; j0 += 8) {
    if (j0 > 0) BlockRowUpdate(A, kp, j0);
    float* const R = A + j0 * kp;  // the block row
    __m256 D[8];
    alignas(32) float inv[8];
#pragma GCC unroll 8
    for (int t = 0; t < 8; ++t) {
      D[t] = _mm256_load_ps(R + t * kp + j0);
      const __m256i lane = _mm256_set1_epi32(t);
#pragma GCC unroll 8
      for (int p = 0; p < t; ++p) {
        D[t] = _mm256_fnmadd_ps(_mm256_permutevar8x32_ps(D[p], lane), D[p], D[t]);
      }
      const float d = _mm256_cvtss_f32(_mm256_permutevar8x32_ps(D[t], lane));
      if (!(d > 0.0f) || !std::isfinite(d)) return false;
      inv[t] = 1.0f / std::sqrt(d);
      D[t] = _mm256_mul_ps(D[t], _mm256_set1_ps(inv[t]));
    }
    for (int t = 0; t < 8; ++t) {
      _mm256_store_ps(R + t * kp + j0, D[t]);
      R[t * kp + j0 + t] = inv[t];
    }
    // Off-diagonal tiles: T <- U_JJ'^-1 T, row t from rows p < t.
    for (std::size_t c = j0 + 8; c < kp; c += 8) {
      __m256 T[8];
#pragma GCC unroll 8
      for (int t = 0; t < 8; ++t) {
        T[t] = _mm256_load_ps(R + t * kp + c);
#pragma GCC unroll 8
        for (int p = 0; p < t; ++p) {
          T[t] = _mm256_fnmadd_ps(_mm256_broadcast_ss(R + p * kp + j0 + t), T[p], T[t]);
        }
        T[t] = _mm256_mul_ps(T[t], _mm256_broadcast_ss(inv + t));
        _mm256_store_ps(R + t * kp + c, T[t]);
      }
    }
    // Forward substitution U' z = b for this block's entries (z overwrites b).
    __m256 z0 = _mm256_loadu_ps(b + j0), z1 = _mm256_setzero_ps();
    std::size_t p = 0;
    for (; p + 2 <= j0; p += 2) {
      z0 = _mm256_fnmadd_ps(_mm256_broadcast_ss(b + p), _mm256_load_ps(A + p * kp + j0), z0);
      z1 = _mm256_fnmadd_ps(_mm256_broadcast_ss(b + p + 1),
                            _mm256_load_ps(A + (p + 1) * kp + j0), z1);
    }
    alignas(32) float rhs[8];
    _mm256_store_ps(rhs, _mm256_add_ps(z0, z1));
    float z[8];  // in registers: reloading scalar stores as a vector stalls store forwarding
#pragma GCC unroll 8
    for (int t = 0; t < 8; ++t) {
      float sum = rhs[t];
#pragma GCC unroll 8
      for (int q = 0; q < t; ++q) sum -= R[q * kp + j0 + t] * z[q];  // newest z[t - 1] last
      z[t] = sum * inv[t];
    }
    _mm256_storeu_ps(b + j0, _mm256_setr_ps(z[0], z[1], z[2], z[3], z[4], z[5], z[6], z[7]));
  }
  // Back substitution U x = z, block rows from the last: dot products with the solved tail (eight
  // rows reduced together), then the diagonal tile.
  for (std::size_t j0 = kp; j0 > 0;) {
    j0 -= 8;
    const float* R = A + j0 * kp;
    __m256 acc[8];
    for (int h = 0; h < 8; ++h) acc[h] = _mm256_setzero_ps();
    for (std::size_t c = j0 + 8; c < kp; c += 8) {
      const __m256 xc = _mm256_loadu_ps(b + c);
      for (int h = 0; h < 8; ++h) {
        acc[h] = _mm256_fmadd_ps(_mm256_load_ps(R + h * kp + c), xc, acc[h]);
      }
    }
    const __m256 t0 = _mm256_hadd_ps(_mm256_hadd_ps(acc[0], acc[1]), _mm256_hadd_ps(acc[2], acc[3]));
    const __m256 t1 = _mm256_hadd_ps(_mm256_hadd_ps(acc[4], acc[5]), _mm256_hadd_ps(acc[6], acc[7]));
    const __m256 sums = _mm256_add_ps(_mm256_permute2f128_ps(t0, t1, 0x20),
                                      _mm256_permute2f128_ps(t0, t1, 0x31));
    alignas(32) float rhs[8];
    _mm256_store_ps(rhs, _mm256_sub_ps(_mm256_loadu_ps(b + j0), sums));
    float x[8];
#pragma GCC unroll 8
    for (int t = 7; t >= 0; --t) {
      float sum = rhs[t];
#pragma GCC unroll 8
      for (int q = 7; q > t; --q) sum -= R[t * kp + j0 + q] * x[q];  // newest x[t + 1] last
      x[t] = sum * R[t * kp + j0 + t];
    }
    _mm256_storeu_ps(b + j0, _mm256_setr_ps(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]));
  }
  return true;
}

bool cholesky_solve_tiles_avx2(float* A, float* b, std::size_t kp) {
  return cholesky_solve_tiles<cholesky_block_row_update_avx2>(A, b, kp);
}

// Rows i0..i0+8 of A, columns [c, c + 16W): += sum_r U[r][i0 + h] V[r][c..] (16 accumulators
// for W = 2: 10 loads per 16 FMAs).
template <int W>
__attribute__((target("avx512f"), always_inline)) inline void syrk_tile_avx512(
    const float* U, const float* const* V, std::size_t m, std::size_t kp, std::size_t i0,
    std::size_t c, float* A) {
  __m512 acc[8][W];
  for (int h = 0; h < 8; ++h) {
    for (int w = 0; w < W; ++w) acc[h][w] = _mm512_load_ps(A + (i0 + h) * kp + c + 16 * w);
  }
  for (std::size_t r = 0; r < m; ++r) {
    const float* u = U + r * kp + i0;
    const float* v = V[r] + c;
    __m512 vv[W];
    for (int w = 0; w < W; ++w) vv[w] = _mm512_loadu_ps(v + 16 * w);
    for (int h = 0; h < 8; ++h) {
      const __m512 bh = _mm512_set1_ps(u[h]);
      for (int w = 0; w < W; ++w) acc[h][w] = _mm512_fmadd_ps(bh, vv[w], acc[h][w]);
    }
  }
  for (int h = 0; h < 8; ++h) {
    for (int w = 0; w < W; ++w) _mm512_store_ps(A + (i0 + h) * kp + c + 16 * w, acc[h][w]);
  }
}

// The AVX2 syrk_tiles with 16-wide tiles: half the FMAs, which is what this step is bound by (on
// cores with full-width 512-bit FMA units; others split them and run about as fast as AVX2).
__attribute__((target("avx512f"))) void syrk_tiles_avx512(const float* U, const float* const* V,
                                                          std::size_t m, std::size_t kp,
                                                          float* A) {
  for (std::size_t i0 = 0; i0 < kp; i0 += 8) {
    std::size_t c = i0 & ~std::size_t{15};
    for (; c + 32 <= kp; c += 32) syrk_tile_avx512<2>(U, V, m, kp, i0, c, A);
    if (c < kp) syrk_tile_avx512<1>(U, V, m, kp, i0, c, A);
  }
}

// Rows j0..j0+8 of A, columns [c, c + 16W): -= sum_(p<j0) U[p][j0 + h] U[p][c..].
template <int W>
__attribute__((target("avx512f,avx2,fma"), always_inline)) inline void cholesky_tile_update_avx512(
    float* A, std::size_t kp, std::size_t j0, std::size_t c) {
  float* const out = A + j0 * kp + c;
  __m512 acc[8][W];
  for (int h = 0; h < 8; ++h) {
    for (int w = 0; w < W; ++w) acc[h][w] = _mm512_load_ps(out + h * kp + 16 * w);
  }
  for (std::size_t p = 0; p < j0; ++p) {
    const float* u = A + p * kp;
    __m512 uc[W];
    for (int w = 0; w < W; ++w) uc[w] = _mm512_load_ps(u + c + 16 * w);
    for (int h = 0; h < 8; ++h) {
      const __m512 bh = _mm512_set1_ps(u[j0 + h]);
      for (int w = 0; w < W; ++w) acc[h][w] = _mm512_fnmadd_ps(bh, uc[w], acc[h][w]);
    }
  }
  for (int h = 0; h < 8; ++h) {
    for (int w = 0; w < W; ++w) _mm512_store_ps(out + h * kp + 16 * w, acc[h][w]);
  }
}

// kp a multiple of 16: an odd block row's first 8 columns take the AVX2 tile, the rest 16 wide.
__attribute__((target("avx512f,avx2,fma"))) void cholesky_block_row_update_avx512(
    float* A, std::size_t kp, std::size_t j0) {
  std::size_t c = j0;
  if (c % 16 != 0) {
    cholesky_tile_update_avx2<1>(A, kp, j0, 0, c);
    cholesky_tile_update_avx2<1>(A, kp, j0, 4, c);
    c += 8;
  }
  for (; c + 32 <= kp; c += 32) cholesky_tile_update_avx512<2>(A, kp, j0, c);
  if (c < kp) cholesky_tile_update_avx512<1>(A, kp, j0, c);
}

bool cholesky_solve_tiles_avx512(float* A, float* b, std::size_t kp) {
  return cholesky_solve_tiles<cholesky_block_row_update_avx512>(A, b, kp);
}

#endif  // TAILOR_ALS_X86

void syrk_tiles_generic(const float* U, const float* const* V, std::size_t m, std::size_t kp,
                        float* A) {
  for (std::size_t r = 0; r < m; ++r) {
    const float* u = U + r * kp;
    const float* v = V[r];
    for (std::size_t i = 0; i < kp; ++i) {
      float* a = A + i * kp;
      for (std::size_t c = i & ~std::size_t{7}; c < kp; ++c) a[c] += u[i] * v[c];
    }
  }
}

void scale_rows_generic(const float* const* V, const float* s, const float* a, std::size_t m,
                        std::size_t kp, float* U, float* b) {
  for (std::size_t r = 0; r < m; ++r) {
    for (std::size_t c = 0; c < kp; ++c) {
      U[r * kp + c] = s[r] * V[r][c];
      b[c] += a[r] * V[r][c];
    }
  }
}

// Eigen's LLT reads the lower triangle of the column-major view, i.e. the upper row-major one.
bool cholesky_solve_generic(float* A, float* b, std::size_t k) {
  const auto kk = static_cast<Eigen::Index>(k);
  Eigen::Map<Eigen::MatrixXf> a(A, kk, kk);
  Eigen::LLT<Eigen::Ref<Eigen::MatrixXf>> llt(a);
  if (llt.info() != Eigen::Success) return false;
  Eigen::Map<Vector> x(b, kk);
  llt.solveInPlace(x);
  return true;
}

struct Kernels {
  GramApplyFn gram_apply;
  MatVecFn matvec;
  SyrkFn syrk;
  ScaleRowsFn scale_rows;
  SyrkTilesFn syrk_tiles;
  CholeskySolveFn cholesky_solve;
  std::size_t tile;  // tile width of the exact solver's layout
  const char* name;
};

// TAILOR_ALS_KERNEL=generic (or =avx2) in the environment forces the Eigen kernels (or the AVX2
// ones on an AVX-512 machine), to test them.
Kernels pick_kernels() {
  const char* env = std::getenv("TAILOR_ALS_KERNEL");
  const std::string forced = env != nullptr ? env : "";
#ifdef TAILOR_ALS_X86
  __builtin_cpu_init();
  if (forced != "generic" && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    if (forced != "avx2" && __builtin_cpu_supports("avx512f")) {
      return {gram_apply_avx2,   matvec_avx2,
              syrk_avx2,         scale_rows_avx2,
              syrk_tiles_avx512, cholesky_solve_tiles_avx512,
              16,                "avx2+fma+avx512f"};
    }
    return {gram_apply_avx2, matvec_avx2,     syrk_avx2,
            scale_rows_avx2, syrk_tiles_avx2, cholesky_solve_tiles_avx2,
            8,               "avx2+fma"};
  }
#endif
  return {gram_apply_generic, matvec_generic,     syrk_generic,
          scale_rows_generic, syrk_tiles_generic, cholesky_solve_generic,
          8,                  "generic"};
}

const Kernels& kernels() {
  static const Kernels k = pick_kernels();
  return k;
}

// ---------------------------------------------------------------------------------------------
// Per-row problems

// One side's half-iteration: solve the rows of `rows` (CSR, rows x n_other) against `other`.
struct HalfProblem {
  const SparseMatrix* rows = nullptr;
  const RowMatrix* other = nullptr;
  const ColMatrix* gram = nullptr;  // alpha0 * other' other (k x k); unused when alpha0 == 0
  float gram_scale = 1.0f;          // exact solves use gram_scale * gram (fold-in: alpha0 * Y'Y)
  float alpha0 = 1.0f;
  float lambda = 0.01f;
  float nu = 0.0f;
  bool explicit_ratings = false;
  std::size_t k = 0;
  int iteration = 0;      // for error messages; 0 = fold-in / partial fit
  const char* side = "";  // "user" or "item"
};

float row_lambda(const HalfProblem& p, std::size_t n_row) {
  if (p.nu == 0.0f) return p.lambda;
  const double base = static_cast<double>(n_row) +
                      static_cast<double>(p.alpha0) * static_cast<double>(p.other->rows());
  return static_cast<float>(static_cast<double>(p.lambda) * std::pow(base, p.nu));
}

// Floats starting on a cache line (the exact solver's kernels load whole aligned rows), grown on
// demand and never shrunk, so a thread's scratch stops allocating after its largest row.
class AlignedFloats {
 public:
  float* get(std::size_t n) {
    if (buf_.size() < n + kSlack) buf_.resize(n + kSlack);
    const auto misalign = reinterpret_cast<std::uintptr_t>(buf_.data()) % kAlign;
    return buf_.data() + (misalign == 0 ? 0 : (kAlign - misalign) / sizeof(float));
  }

 private:
  static constexpr std::size_t kAlign = 64, kSlack = kAlign / sizeof(float);
  std::vector<float> buf_;
};

struct Scratch {
  Vector r, p, ap;
  std::vector<float> a, s;
  // Exact solves: normal matrix, right-hand side, scaled rows, padded rows, row pointers.
  AlignedFloats A, b, U, padded;
  std::vector<const float*> V;

  void reserve(std::size_t k, std::size_t max_nnz) {
    const auto kk = static_cast<Eigen::Index>(k);
    r.resize(kk);
    p.resize(kk);
    ap.resize(kk);
    if (a.size() < max_nnz) {
      a.resize(max_nnz);
      s.resize(max_nnz);
    }
  }
};

[[noreturn]] void throw_non_finite(const HalfProblem& p, std::size_t row, const char* what) {
  if (p.iteration > 0) {
    TAILOR_THROW(numerical_error, "ALSFactorizer: iteration " << p.iteration << ": " << p.side
                                  << " " << row << ": " << what);
  }
  TAILOR_THROW(numerical_error, "ALSFactorizer: " << p.side << " " << row << ": " << what);
}

// Fills s_i = w_i - alpha0 and a_i = w_i t_i for one row's stored entries.
void row_coefficients(const HalfProblem& p, const float* val, std::size_t n, Scratch& sc) {
  if (sc.a.size() < n) {
    sc.a.resize(n);
    sc.s.resize(n);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const float w = p.explicit_ratings ? 1.0f : val[i];
    const float t = p.explicit_ratings ? val[i] : 1.0f;
    sc.a[i] = w * t;
    sc.s[i] = w - p.alpha0;
  }
}

void solve_row_cg(const HalfProblem& p, const std::int32_t* idx, const float* val, std::size_t n,
                  float* x_out, Scratch& sc, int steps, std::size_t row) {
  const auto kk = static_cast<Eigen::Index>(p.k);
  Eigen::Map<Vector> x(x_out, kk);
  if (n == 0) {
    x.setZero();
    return;
  }
  const Kernels& kern = kernels();
  const float lam = row_lambda(p, n);
  row_coefficients(p, val, n, sc);
  const float* Y = p.other->data();
  const bool gram = p.alpha0 != 0.0f;

  // r = b - A x
  if (gram) {
    kern.matvec(p.gram->data(), x.data(), sc.r.data(), p.k);
    sc.r = -sc.r - lam * x;
  } else {
    sc.r = -lam * x;
  }
  kern.gram_apply(Y, p.k, idx, n, sc.a.data(), sc.s.data(), -1.0f, x.data(), sc.r.data(), p.k);
  sc.p = sc.r;
  float rs = sc.r.squaredNorm();
  if (!std::isfinite(rs)) throw_non_finite(p, row, "residual is not finite");
  for (int step = 0; step < steps; ++step) {
    if (!(rs > 1e-20f)) break;
    if (gram) {
      kern.matvec(p.gram->data(), sc.p.data(), sc.ap.data(), p.k);
      sc.ap += lam * sc.p;
    } else {
      sc.ap = lam * sc.p;
    }
    kern.gram_apply(Y, p.k, idx, n, nullptr, sc.s.data(), 1.0f, sc.p.data(), sc.ap.data(), p.k);
    const float pap = sc.p.dot(sc.ap);
    if (!std::isfinite(pap)) throw_non_finite(p, row, "conjugate gradient step is not finite");
    if (!(pap > 0.0f)) break;  // converged to rounding
    const float alpha = rs / pap;
    x += alpha * sc.p;
    sc.r -= alpha * sc.ap;
    const float rs_new = sc.r.squaredNorm();
    sc.p = sc.r + (rs_new / rs) * sc.p;
    rs = rs_new;
  }
  if (!x.allFinite()) throw_non_finite(p, row, "factor vector is not finite");
}

constexpr std::size_t kCholeskyBlock = 256;

// A = gram_scale * gram + lambda I in the exact solver's tile layout (kp x kp, padding identity).
void init_normal_matrix(const HalfProblem& p, float lam, std::size_t kp, std::size_t tile,
                        float* A) {
  const std::size_t k = p.k;
  const float* G = p.alpha0 != 0.0f ? p.gram->data() : nullptr;  // symmetric: column i is row i
  const float scale = p.gram_scale;
  for (std::size_t i = 0; i < kp; ++i) {
    float* __restrict a = A + i * kp;
    std::size_t c = i & ~(tile - 1);
    if (i < k && G != nullptr) {
      const float* __restrict g = G + i * k;
      for (; c < k; ++c) a[c] = scale * g[c];
    }
    for (; c < kp; ++c) a[c] = 0.0f;
    a[i] = i < k ? a[i] + lam : 1.0f;
  }
}

void solve_row_exact(const HalfProblem& p, const std::int32_t* idx, const float* val,
                     std::size_t n, float* x_out, Scratch& sc, std::size_t row) {
  const std::size_t k = p.k;
  if (n == 0) {
    std::fill(x_out, x_out + k, 0.0f);
    return;
  }
  const float lam = row_lambda(p, n);
  const float* Y = p.other->data();
  // Start fetching the first block's rows (scattered over the factor matrix) while the normal
  // matrix is initialised: on a large catalog these misses cost as much as the arithmetic.
  for (std::size_t e = 0; e < std::min(n, kCholeskyBlock); ++e) {
    const char* y = reinterpret_cast<const char*>(Y + k * static_cast<std::size_t>(idx[e]));
    for (std::size_t off = 0; off < k * sizeof(float); off += 64) __builtin_prefetch(y + off);
  }
  row_coefficients(p, val, n, sc);
  const Kernels& kern = kernels();
  const std::size_t kp = (k + kern.tile - 1) & ~(kern.tile - 1);
  float* const A = sc.A.get(kp * kp);
  float* const b = sc.b.get(kp);
  init_normal_matrix(p, lam, kp, kern.tile, A);
  std::fill(b, b + kp, 0.0f);
  const std::size_t block = std::min(n, kCholeskyBlock);
  float* const U = sc.U.get(block * kp);
  // With k a multiple of the tile width the kernels read the factor rows in place; otherwise from
  // zero-padded copies.
  float* const padded = k == kp ? nullptr : sc.padded.get(block * kp);
  sc.V.resize(block);
  for (std::size_t lo = 0; lo < n; lo += kCholeskyBlock) {
    const std::size_t m = std::min(kCholeskyBlock, n - lo);
    for (std::size_t i = 0; i < m; ++i) {
      const float* y = Y + k * static_cast<std::size_t>(idx[lo + i]);
      if (padded == nullptr) {
        sc.V[i] = y;
      } else {
        float* v = padded + i * kp;
        std::copy(y, y + k, v);
        std::fill(v + k, v + kp, 0.0f);
        sc.V[i] = v;
      }
    }
    kern.scale_rows(sc.V.data(), sc.s.data() + lo, sc.a.data() + lo, m, kp, U, b);
    kern.syrk_tiles(U, sc.V.data(), m, kp, A);
  }
  if (!kern.cholesky_solve(A, b, kp)) {
    throw_non_finite(p, row, "normal equations are not positive definite (non-finite input?)");
  }
  std::copy(b, b + k, x_out);
  if (!Eigen::Map<const Vector>(x_out, static_cast<Eigen::Index>(k)).allFinite()) {
    throw_non_finite(p, row, "factor vector is not finite");
  }
}

// Objective terms of one row: alpha0 x'Gx + sum_i [w (t - d)^2 - alpha0 d^2] + lambda |x|^2.
double row_loss(const HalfProblem& p, const std::int32_t* idx, const float* val, std::size_t n,
                const float* x_ptr) {
  const auto kk = static_cast<Eigen::Index>(p.k);
  Eigen::Map<const Vector> x(x_ptr, kk);
  double total = 0.0;
  if (p.alpha0 != 0.0f) {
    total += static_cast<double>(x.dot(*p.gram * x));  // gram already carries alpha0
  }
  for (std::size_t i = 0; i < n; ++i) {
    const float d = x.dot(p.other->row(idx[i]).transpose());
    const float w = p.explicit_ratings ? 1.0f : val[i];
    const float t = p.explicit_ratings ? val[i] : 1.0f;
    total += static_cast<double>(w) * static_cast<double>(t - d) * static_cast<double>(t - d) -
             static_cast<double>(p.alpha0) * static_cast<double>(d) * static_cast<double>(d);
  }
  total += static_cast<double>(row_lambda(p, n)) * static_cast<double>(x.squaredNorm());
  return total;
}

// ---------------------------------------------------------------------------------------------
// Whole-side operations

constexpr std::size_t kRowGrain = 64;       // rows per parallel_for chunk (dynamic scheduling)
constexpr std::size_t kGramChunk = 2048;    // rows per partial Gram matrix (fixed order of sums)

// alpha * F'F, summed over fixed row chunks in chunk order (identical for any thread count).
ColMatrix gram_matrix(const RowMatrix& F, float alpha, ThreadPool& pool) {
  const Eigen::Index k = F.cols();
  const auto n = static_cast<std::size_t>(F.rows());
  const std::size_t chunks = (n + kGramChunk - 1) / kGramChunk;
  std::vector<ColMatrix> partial(chunks);
  pool.parallel_for(0, chunks, 1, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t c = lo; c < hi; ++c) {
      const auto first = static_cast<Eigen::Index>(c * kGramChunk);
      const auto rows = static_cast<Eigen::Index>(std::min(kGramChunk, n - c * kGramChunk));
      partial[c].setZero(k, k);
      kernels().syrk(F.data() + first * k, F.data() + first * k, static_cast<std::size_t>(rows),
                     static_cast<std::size_t>(k), partial[c].data());
    }
  });
  ColMatrix G = ColMatrix::Zero(k, k);
  for (const auto& P : partial) G += P;
  mirror_upper(G.data(), static_cast<std::size_t>(k));
  if (alpha != 1.0f) G *= alpha;
  return G;
}

std::size_t max_row_nnz(const SparseMatrix& m) {
  std::size_t best = 0;
  for (Eigen::Index r = 0; r < m.outerSize(); ++r) {
    best = std::max(best, static_cast<std::size_t>(m.outerIndexPtr()[r + 1] - m.outerIndexPtr()[r]));
  }
  return best;
}

void solve_rows(const HalfProblem& p, RowMatrix& X, std::size_t row_begin, std::size_t row_end,
                bool exact, int cg_steps, ThreadPool& pool, std::vector<Scratch>& scratch) {
  const SparseMatrix& m = *p.rows;
  const std::int32_t* outer = m.outerIndexPtr();
  const std::int32_t* inner = m.innerIndexPtr();
  const float* values = m.valuePtr();
  pool.parallel_for(row_begin, row_end, kRowGrain, [&](std::size_t lo, std::size_t hi,
                                                       std::size_t worker) {
    Scratch& sc = scratch[worker];
    for (std::size_t r = lo; r < hi; ++r) {
      const auto start = static_cast<std::size_t>(outer[r]);
      const auto n = static_cast<std::size_t>(outer[r + 1] - outer[r]);
      float* x = X.data() + r * p.k;
      if (exact) {
        solve_row_exact(p, inner + start, values + start, n, x, sc, r);
      } else {
        solve_row_cg(p, inner + start, values + start, n, x, sc, cg_steps, r);
      }
    }
  });
}

double side_loss(const HalfProblem& p, const RowMatrix& X, ThreadPool& pool) {
  const SparseMatrix& m = *p.rows;
  const auto rows = static_cast<std::size_t>(m.outerSize());
  const std::size_t chunks = (rows + kGramChunk - 1) / kGramChunk;
  std::vector<double> partial(chunks, 0.0);
  pool.parallel_for(0, chunks, 1, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t c = lo; c < hi; ++c) {
      double sum = 0.0;
      const std::size_t end = std::min(rows, (c + 1) * kGramChunk);
      for (std::size_t r = c * kGramChunk; r < end; ++r) {
        const auto start = static_cast<std::size_t>(m.outerIndexPtr()[r]);
        const auto n = static_cast<std::size_t>(m.outerIndexPtr()[r + 1]) - start;
        sum += row_loss(p, m.innerIndexPtr() + start, m.valuePtr() + start, n,
                        X.data() + r * p.k);
      }
      partial[c] = sum;
    }
  });
  double total = 0.0;
  for (double v : partial) total += v;
  return total;
}

// Sum over the rows of Y of lambda_i |y_i|^2 (the other side's regularization term).
double regularization_term(const HalfProblem& p_other_side, const SparseMatrix& other_rows,
                           const RowMatrix& Y) {
  double total = 0.0;
  for (Eigen::Index i = 0; i < Y.rows(); ++i) {
    const auto n = static_cast<std::size_t>(other_rows.outerIndexPtr()[i + 1] -
                                            other_rows.outerIndexPtr()[i]);
    total += static_cast<double>(row_lambda(p_other_side, n)) *
             static_cast<double>(Y.row(i).squaredNorm());
  }
  return total;
}

// Initial factors: row r of a side gets values from its own seeded stream, so the result depends
// neither on the thread count nor on how many rows exist (partial_fit grows consistently).
void init_rows(RowMatrix& F, std::size_t row_begin, std::uint64_t seed, std::uint64_t side,
               float scale) {
  const auto k = static_cast<std::size_t>(F.cols());
  const float s = scale / std::sqrt(static_cast<float>(k));
  for (Eigen::Index r = static_cast<Eigen::Index>(row_begin); r < F.rows(); ++r) {
    detail::SplitMix64 rng(seed ^ (side * 0xD1B54A32D192ED03ULL) ^
                           (static_cast<std::uint64_t>(r) * 0x8CB92BA72F3D8DD7ULL));
    rng.next();
    for (std::size_t j = 0; j < k; ++j) {
      const double u = rng.uniform();  // [0, 1)
      F(r, static_cast<Eigen::Index>(j)) = static_cast<float>((2.0 * u - 1.0) * s);
    }
  }
}

void check_values(const SparseMatrix& m, bool explicit_ratings) {
  for (Eigen::Index r = 0; r < m.outerSize(); ++r) {
    for (SparseMatrix::InnerIterator it(m, r); it; ++it) {
      const float v = it.value();
      if (!std::isfinite(v) || (!explicit_ratings && !(v > 0.0f))) {
        TAILOR_THROW(invalid_argument,
                     "ALSFactorizer: ratings(" << it.row() << ", " << it.col() << ") = " << v
                     << ": " << (explicit_ratings ? "ratings must be finite"
                                                  : "confidences must be finite and > 0"));
      }
    }
  }
}

// Everything one training run needs: both orientations of the matrix, the pool, scratch.
struct Trainer {
  const ALSOptions& opt;
  SparseMatrix by_user;  // users x items, compressed
  SparseMatrix by_item;  // items x users
  ThreadPool pool;
  std::vector<Scratch> scratch;
  float alpha0;

  Trainer(const ALSOptions& o, const SparseMatrix& ratings)
      : opt(o), by_user(ratings), pool(o.threads),
        alpha0(o.feedback == ALSFeedback::explicit_ratings ? 0.0f : o.unobserved_weight) {
    by_user.makeCompressed();
    by_item = by_user.transpose();
    by_item.makeCompressed();
    scratch.resize(pool.size());
    const std::size_t max_nnz = std::max(max_row_nnz(by_user), max_row_nnz(by_item));
    for (auto& s : scratch) s.reserve(o.factors, max_nnz);
  }

  HalfProblem problem(bool user_side, const RowMatrix& other, const ColMatrix& gram,
                      int iteration) const {
    HalfProblem p;
    p.rows = user_side ? &by_user : &by_item;
    p.other = &other;
    p.gram = &gram;
    p.alpha0 = alpha0;
    p.lambda = opt.regularization;
    p.nu = opt.regularization_exponent;
    p.explicit_ratings = opt.feedback == ALSFeedback::explicit_ratings;
    p.k = opt.factors;
    p.iteration = iteration;
    p.side = user_side ? "user" : "item";
    return p;
  }

  ColMatrix gram(const RowMatrix& F) {
    if (alpha0 == 0.0f) return ColMatrix::Zero(F.cols(), F.cols());
    return gram_matrix(F, alpha0, pool);
  }

  // One full iteration; returns the Gram matrix of the new item factors (alpha0-scaled).
  ColMatrix iterate(RowMatrix& X, RowMatrix& Y, const ColMatrix& gram_y, int iteration) {
    const bool exact = opt.solver == ALSSolver::cholesky;
    const HalfProblem pu = problem(true, Y, gram_y, iteration);
    solve_rows(pu, X, 0, static_cast<std::size_t>(X.rows()), exact, opt.cg_steps, pool, scratch);
    const ColMatrix gram_x = gram(X);
    const HalfProblem pi = problem(false, X, gram_x, iteration);
    solve_rows(pi, Y, 0, static_cast<std::size_t>(Y.rows()), exact, opt.cg_steps, pool, scratch);
    return gram(Y);
  }

  double loss(const RowMatrix& X, const RowMatrix& Y, const ColMatrix& gram_y) {
    const HalfProblem pu = problem(true, Y, gram_y, 0);
    // Items' regularization uses n_i and the user count, i.e. the item-side problem's lambda_i.
    const HalfProblem pi = problem(false, X, gram_y, 0);
    return side_loss(pu, X, pool) + regularization_term(pi, by_item, Y);
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------

void ALSOptions::validate() const {
  TAILOR_REQUIRE(factors >= 1 && factors <= 4096,
                 "ALSOptions.factors must be in [1, 4096], got " << factors);
  TAILOR_REQUIRE(iterations >= 1, "ALSOptions.iterations must be >= 1, got " << iterations);
  TAILOR_REQUIRE(std::isfinite(regularization) && regularization > 0.0f,
                 "ALSOptions.regularization must be finite and > 0, got " << regularization);
  TAILOR_REQUIRE(std::isfinite(regularization_exponent) && regularization_exponent >= 0.0f,
                 "ALSOptions.regularization_exponent must be finite and >= 0, got "
                     << regularization_exponent);
  TAILOR_REQUIRE(std::isfinite(unobserved_weight) && unobserved_weight >= 0.0f,
                 "ALSOptions.unobserved_weight must be finite and >= 0, got " << unobserved_weight);
  TAILOR_REQUIRE(feedback == ALSFeedback::implicit || feedback == ALSFeedback::explicit_ratings,
                 "ALSOptions.feedback is not a known ALSFeedback value");
  TAILOR_REQUIRE(solver == ALSSolver::conjugate_gradient || solver == ALSSolver::cholesky,
                 "ALSOptions.solver is not a known ALSSolver value");
  TAILOR_REQUIRE(cg_steps >= 1, "ALSOptions.cg_steps must be >= 1, got " << cg_steps);
  TAILOR_REQUIRE(std::isfinite(init_scale) && init_scale > 0.0f,
                 "ALSOptions.init_scale must be finite and > 0, got " << init_scale);
  TAILOR_REQUIRE(threads <= 1024, "ALSOptions.threads must be <= 1024 (0 = hardware), got "
                                      << threads);
  TAILOR_REQUIRE(validation_every >= 1,
                 "ALSOptions.validation_every must be >= 1, got " << validation_every);
  TAILOR_REQUIRE(patience >= 1, "ALSOptions.patience must be >= 1, got " << patience);
}

ALSFactorizer::ALSFactorizer(ALSOptions options) : options_(std::move(options)) {
  options_.validate();
}

ALSFactorizer ALSFactorizer::from_factors(ALSOptions options, RowMatrix user_factors,
                                          RowMatrix item_factors) {
  ALSFactorizer als(std::move(options));
  const auto k = static_cast<Eigen::Index>(als.options_.factors);
  const std::pair<const char*, const RowMatrix*> sides[] = {{"user_factors", &user_factors},
                                                            {"item_factors", &item_factors}};
  for (const auto& [name, m] : sides) {
    TAILOR_REQUIRE(m->cols() == k, "ALSFactorizer::from_factors: " << name << " has " << m->cols()
                                       << " columns, options.factors is " << k);
    if (!m->allFinite()) {
      for (Eigen::Index r = 0; r < m->rows(); ++r)
        for (Eigen::Index c = 0; c < m->cols(); ++c)
          if (!std::isfinite((*m)(r, c)))
            TAILOR_THROW(invalid_argument, "ALSFactorizer::from_factors: " << name << "(" << r
                                               << ", " << c << ") is not finite: " << (*m)(r, c));
    }
  }
  als.user_factors_ = std::move(user_factors);
  als.item_factors_ = std::move(item_factors);
  als.refresh_caches();
  als.fitted_ = true;
  return als;
}

const char* ALSFactorizer::kernel_name() noexcept { return kernels().name; }

void ALSFactorizer::require_fitted(const char* what) const {
  if (!fitted_) TAILOR_THROW(not_fitted, "ALSFactorizer::" << what << ": model is not fitted");
}

void ALSFactorizer::refresh_caches() {
  ThreadPool pool(options_.threads);
  user_gram_ = gram_matrix(user_factors_, 1.0f, pool);
  item_gram_ = gram_matrix(item_factors_, 1.0f, pool);
  item_norms_ = item_factors_.rowwise().norm();
}

void ALSFactorizer::fit(const SparseMatrix& ratings, const ALSCallbacks& callbacks) {
  TAILOR_REQUIRE(ratings.rows() > 0 && ratings.cols() > 0,
                 "ALSFactorizer::fit: ratings must have at least one user and one item, got "
                     << ratings.rows() << " x " << ratings.cols());
  const bool explicit_ratings = options_.feedback == ALSFeedback::explicit_ratings;
  check_values(ratings, explicit_ratings);
  const auto start = Clock::now();
  Trainer tr(options_, ratings);
  const auto k = static_cast<Eigen::Index>(options_.factors);

  fitted_ = false;
  user_factors_.resize(ratings.rows(), k);
  item_factors_.resize(ratings.cols(), k);
  init_rows(user_factors_, 0, options_.seed, 1, options_.init_scale);
  init_rows(item_factors_, 0, options_.seed, 2, options_.init_scale);
  iterations_run_ = 0;
  best_iteration_ = 0;
  best_validation_ = std::numeric_limits<double>::quiet_NaN();

  RowMatrix best_users, best_items;
  int since_best = 0;
  int best_iteration = 0;
  ColMatrix gram_y = tr.gram(item_factors_);
  for (int it = 1; it <= options_.iterations; ++it) {
    const auto t0 = Clock::now();
    gram_y = tr.iterate(user_factors_, item_factors_, gram_y, it);
    ALSProgress progress;
    progress.iteration = it;
    if (options_.compute_loss) {
      progress.loss = tr.loss(user_factors_, item_factors_, gram_y);
      if (!std::isfinite(progress.loss)) {
        TAILOR_THROW(numerical_error,
                     "ALSFactorizer: iteration " << it << ": loss is not finite: " << progress.loss);
      }
    }
    progress.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    iterations_run_ = it;
    bool stop = false;
    if (callbacks.validation && it % options_.validation_every == 0) {
      fitted_ = true;  // the callback may use recommend() and friends
      refresh_caches();
      const double metric = callbacks.validation(*this);
      fitted_ = false;
      progress.validation = metric;
      if (std::isnan(best_validation_) || metric > best_validation_) {
        best_validation_ = metric;
        best_iteration = it;
        best_users = user_factors_;
        best_items = item_factors_;
        since_best = 0;
      } else if (++since_best >= options_.patience) {
        stop = true;
      }
    }
    progress.total_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (callbacks.progress && !callbacks.progress(progress)) stop = true;
    if (stop) break;
  }
  best_iteration_ = iterations_run_;
  if (best_users.size() > 0) {
    user_factors_ = std::move(best_users);
    item_factors_ = std::move(best_items);
    best_iteration_ = best_iteration;
  }
  refresh_caches();
  fitted_ = true;
}

void ALSFactorizer::partial_fit(const SparseMatrix& ratings, int iterations) {
  TAILOR_REQUIRE(iterations >= 0, "ALSFactorizer::partial_fit: iterations must be >= 0, got "
                                      << iterations);
  if (!fitted_) {
    fit(ratings);
    return;
  }
  TAILOR_REQUIRE(ratings.rows() >= user_factors_.rows() && ratings.cols() >= item_factors_.rows(),
                 "ALSFactorizer::partial_fit: ratings (" << ratings.rows() << " x "
                     << ratings.cols() << ") must not be smaller than the model ("
                     << user_factors_.rows() << " users x " << item_factors_.rows() << " items)");
  check_values(ratings, options_.feedback == ALSFeedback::explicit_ratings);
  const auto old_users = static_cast<std::size_t>(user_factors_.rows());
  const auto old_items = static_cast<std::size_t>(item_factors_.rows());
  const auto k = static_cast<Eigen::Index>(options_.factors);
  Trainer tr(options_, ratings);
  fitted_ = false;
  user_factors_.conservativeResize(ratings.rows(), k);
  item_factors_.conservativeResize(ratings.cols(), k);
  user_factors_.bottomRows(ratings.rows() - static_cast<Eigen::Index>(old_users)).setZero();
  item_factors_.bottomRows(ratings.cols() - static_cast<Eigen::Index>(old_items)).setZero();
  const auto n_users = static_cast<std::size_t>(ratings.rows());
  const auto n_items = static_cast<std::size_t>(ratings.cols());

  ColMatrix gram_y = tr.gram(item_factors_);
  solve_rows(tr.problem(true, item_factors_, gram_y, 0), user_factors_, old_users, n_users, true,
             options_.cg_steps, tr.pool, tr.scratch);
  const ColMatrix gram_x = tr.gram(user_factors_);
  solve_rows(tr.problem(false, user_factors_, gram_x, 0), item_factors_, old_items, n_items, true,
             options_.cg_steps, tr.pool, tr.scratch);
  gram_y = tr.gram(item_factors_);
  solve_rows(tr.problem(true, item_factors_, gram_y, 0), user_factors_, old_users, n_users, true,
             options_.cg_steps, tr.pool, tr.scratch);
  for (int it = 1; it <= iterations; ++it) {
    gram_y = tr.iterate(user_factors_, item_factors_, gram_y, it);
  }
  refresh_caches();
  fitted_ = true;
}

namespace {

Vector fold_in(const ALSOptions& opt, const RowMatrix& other, const ColMatrix& gram,
               Span<const Index> ids, Span<const float> values,
               const char* side, const char* other_name) {
  TAILOR_REQUIRE(ids.size() == values.size(),
                 "ALSFactorizer::fold_in_" << side << ": " << ids.size() << " " << other_name
                     << "s but " << values.size() << " confidences");
  const bool explicit_ratings = opt.feedback == ALSFeedback::explicit_ratings;
  thread_local std::vector<std::int32_t> idx;
  idx.resize(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] >= static_cast<Index>(other.rows())) {
      TAILOR_THROW(invalid_argument, "ALSFactorizer::fold_in_" << side << ": " << other_name
                                     << " " << ids[i] << " at position " << i
                                     << " is out of range (model has " << other.rows() << ")");
    }
    const float v = values[i];
    if (!std::isfinite(v) || (!explicit_ratings && !(v > 0.0f))) {
      TAILOR_THROW(invalid_argument, "ALSFactorizer::fold_in_" << side << ": confidence " << v
                                     << " at position " << i << " must be finite"
                                     << (explicit_ratings ? "" : " and > 0"));
    }
    idx[i] = static_cast<std::int32_t>(ids[i]);
  }
  const float alpha0 = explicit_ratings ? 0.0f : opt.unobserved_weight;
  HalfProblem p;
  p.other = &other;
  p.gram = &gram;
  p.gram_scale = alpha0;
  p.alpha0 = alpha0;
  p.lambda = opt.regularization;
  p.nu = opt.regularization_exponent;
  p.explicit_ratings = explicit_ratings;
  p.k = opt.factors;
  p.side = side;
  thread_local Scratch sc;
  sc.reserve(opt.factors, ids.size());
  Vector x(static_cast<Eigen::Index>(opt.factors));
  solve_row_exact(p, idx.data(), values.data(), ids.size(), x.data(), sc, 0);
  return x;
}

}  // namespace

Vector ALSFactorizer::fold_in_user(Span<const Index> items, Span<const float> confidences) const {
  require_fitted("fold_in_user");
  return fold_in(options_, item_factors_, item_gram_, items, confidences, "user", "item");
}

Vector ALSFactorizer::fold_in_item(Span<const Index> users, Span<const float> confidences) const {
  require_fitted("fold_in_item");
  return fold_in(options_, user_factors_, user_gram_, users, confidences, "item", "user");
}

std::vector<ALSFactorizer::ScoredItem> ALSFactorizer::recommend(
    const Eigen::Ref<const Vector>& user_vector, std::size_t k, Span<const Index> exclude) const {
  require_fitted("recommend");
  TAILOR_REQUIRE(user_vector.size() == static_cast<Eigen::Index>(options_.factors),
                 "ALSFactorizer::recommend: user vector has " << user_vector.size()
                     << " values, the model has " << options_.factors << " factors");
  TAILOR_REQUIRE(user_vector.allFinite(), "ALSFactorizer::recommend: user vector is not finite");
  if (!std::is_sorted(exclude.begin(), exclude.end())) {
    TAILOR_THROW(invalid_argument, "ALSFactorizer::recommend: exclude list must be sorted");
  }
  if (k == 0) return {};
  const Vector scores = item_factors_ * user_vector;
  return top_k(scores.data(), static_cast<std::size_t>(scores.size()), k,
               std::vector<Index>(exclude.begin(), exclude.end()));
}

std::vector<ALSFactorizer::ScoredItem> ALSFactorizer::similar_items(Index item,
                                                                     std::size_t k) const {
  require_fitted("similar_items");
  TAILOR_REQUIRE(item < items(), "ALSFactorizer::similar_items: item " << item
                                     << " is out of range (model has " << items() << ")");
  if (k == 0) return {};
  const float norm = item_norms_[static_cast<Eigen::Index>(item)];
  Vector scores = Vector::Zero(item_factors_.rows());
  if (norm > 0.0f) {
    scores.noalias() = item_factors_ * item_factors_.row(item).transpose();
    for (Eigen::Index i = 0; i < scores.size(); ++i) {
      scores[i] = item_norms_[i] > 0.0f ? scores[i] / (item_norms_[i] * norm) : 0.0f;
    }
  }
  return top_k(scores.data(), static_cast<std::size_t>(scores.size()), k, {item});
}

double ALSFactorizer::loss(const SparseMatrix& ratings) const {
  require_fitted("loss");
  TAILOR_REQUIRE(ratings.rows() == user_factors_.rows() && ratings.cols() == item_factors_.rows(),
                 "ALSFactorizer::loss: ratings are " << ratings.rows() << " x " << ratings.cols()
                     << ", the model " << user_factors_.rows() << " x " << item_factors_.rows());
  Trainer tr(options_, ratings);
  const ColMatrix gram_y = tr.alpha0 == 0.0f ? ColMatrix::Zero(item_gram_.rows(), item_gram_.cols())
                                             : ColMatrix(tr.alpha0 * item_gram_);
  return tr.loss(user_factors_, item_factors_, gram_y);
}

}  // namespace tailor
