// The SIMD kernels of the ALS solvers (see als_kernels.hpp).
#ifndef EIGEN_DONT_PARALLELIZE
#define EIGEN_DONT_PARALLELIZE  // Eigen must never start threads of its own here
#endif

#include "models/als_kernels.hpp"

#include <cstring>

#include <Eigen/Cholesky>

#include "tailor/core/types.hpp"
#include "internal/simd.hpp"

#ifdef TAILOR_X86_SIMD
#include <immintrin.h>
#endif

namespace tailor::als_kernels {
namespace {

using ColMatrix = Eigen::MatrixXf;



}  // namespace

void mirror_upper(float* G, std::size_t k) {
  for (std::size_t i = 1; i < k; ++i) {
    for (std::size_t j = 0; j < i; ++j) G[i * k + j] = G[j * k + i];
  }
}

namespace {

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

#ifdef TAILOR_X86_SIMD
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

#endif  // TAILOR_X86_SIMD

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

Kernels pick_kernels() {
  switch (detail::simd_level()) {
#ifdef TAILOR_X86_SIMD
    case detail::SimdLevel::avx512:
      return {gram_apply_avx2,   matvec_avx2,
              syrk_avx2,         scale_rows_avx2,
              syrk_tiles_avx512, cholesky_solve_tiles_avx512,
              16,                "avx2+fma+avx512f"};
    case detail::SimdLevel::avx2:
      return {gram_apply_avx2, matvec_avx2,     syrk_avx2,
              scale_rows_avx2, syrk_tiles_avx2, cholesky_solve_tiles_avx2,
              8,               "avx2+fma"};
#endif
    default:
      return {gram_apply_generic, matvec_generic,     syrk_generic,
              scale_rows_generic, syrk_tiles_generic, cholesky_solve_generic,
              8,                  "generic"};
  }
}

}  // namespace

const Kernels& kernels() {
  static const Kernels k = pick_kernels();
  return k;
}

}  // namespace tailor::als_kernels
