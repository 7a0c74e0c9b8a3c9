#include "internal/simd.hpp"

#include <cstdlib>
#include <cstring>

#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace tailor::detail {
namespace {

struct Cpu {
  SimdLevel level = SimdLevel::generic;
  bool crc32 = false;
};

SimdLevel cap_from_environment() {
  const char* env = std::getenv("TAILOR_SIMD");
  if (env == nullptr) return SimdLevel::avx512;
  if (std::strcmp(env, "generic") == 0) return SimdLevel::generic;
  if (std::strcmp(env, "avx2") == 0) return SimdLevel::avx2;
  return SimdLevel::avx512;
}

Cpu detect() {
  Cpu cpu;
  const SimdLevel cap = cap_from_environment();
#ifdef TAILOR_X86_SIMD
  __builtin_cpu_init();
  if (cap != SimdLevel::generic) {
    cpu.crc32 = __builtin_cpu_supports("sse4.2") != 0;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      cpu.level = SimdLevel::avx2;
      if (cap == SimdLevel::avx512 && __builtin_cpu_supports("avx512f")) {
        cpu.level = SimdLevel::avx512;
      }
    }
  }
#elif defined(__aarch64__) && defined(__linux__)
  // ARM64: Advanced SIMD (NEON) is part of the base architecture, so the generic kernels are
  // vectorised by the compiler and Eigen; only the CRC32 extension is optional.
  if (cap != SimdLevel::generic) cpu.crc32 = (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
#else
  (void)cap;
#endif
  return cpu;
}

const Cpu& cpu() {
  static const Cpu c = detect();
  return c;
}

}  // namespace

SimdLevel simd_level() noexcept { return cpu().level; }

bool simd_has_crc32() noexcept { return cpu().crc32; }

const char* simd_level_name(SimdLevel level) noexcept {
  switch (level) {
    case SimdLevel::generic: return "generic";
    case SimdLevel::avx2: return "avx2";
    case SimdLevel::avx512: return "avx512";
  }
  return "generic";
}

}  // namespace tailor::detail
