// tailor internal: the one run-time dispatcher of instruction sets.
//
// Kernels that have vector versions (ALS solves, dot products and scans, CRC-32C) ask
// simd_level() which one to run. It is the best level this CPU supports, chosen once per process;
// the environment variable TAILOR_SIMD=generic|avx2|avx512 caps it (to test the lower kernels on
// a machine that has the higher ones; a level the CPU lacks is never chosen). The library itself
// is compiled for the baseline instruction set of its target, so one binary runs everywhere.
//
// Thread-safety: thread-safe (the level is computed once, on first use).
#pragma once

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define TAILOR_X86_SIMD 1
#endif

namespace tailor::detail {

enum class SimdLevel {
  generic,  ///< portable code (Eigen, scalar loops, table-driven CRC; NEON on ARM64 via Eigen)
  avx2,     ///< x86-64 AVX2 + FMA (and SSE4.2 for CRC-32C)
  avx512,   ///< AVX2 level plus AVX-512F
};

/// The level the kernels run at.
SimdLevel simd_level() noexcept;
/// "generic", "avx2" or "avx512".
const char* simd_level_name(SimdLevel level) noexcept;
/// True when the CPU has a CRC-32C instruction (x86-64: SSE4.2; ARM64: the CRC32 extension) and
/// the level is not capped to generic.
bool simd_has_crc32() noexcept;

}  // namespace tailor::detail
