// tailor (private): the SIMD kernels of ALSFactorizer's solvers, picked once per process by
// the instruction set the CPU offers (internal/simd.hpp): AVX-512, AVX2 + FMA, or portable Eigen
// code. Every kernel of a level computes the same function; the tests rerun the solvers with
// each level forced (TAILOR_SIMD).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tailor::als_kernels {

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
void mirror_upper(float* G, std::size_t k);

struct Kernels {
  GramApplyFn gram_apply;
  MatVecFn matvec;
  SyrkFn syrk;
  ScaleRowsFn scale_rows;
  SyrkTilesFn syrk_tiles;
  CholeskySolveFn cholesky_solve;
  std::size_t tile;  // tile width of the exact solver's layout
  const char* name;  // "avx2+fma+avx512f", "avx2+fma" or "generic"
};

/// The kernels of this process (chosen on first use).
const Kernels& kernels();

}  // namespace tailor::als_kernels
