#include "internal/crc32c.hpp"
#include "internal/simd.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TAILOR_CRC32C_X86 1
#include <nmmintrin.h>
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define TAILOR_CRC32C_ARM 1
#include <arm_acle.h>
#endif

namespace tailor::detail {
namespace {

constexpr std::uint32_t kPolyReflected = 0x82F63B78u;

using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? (c >> 1) ^ kPolyReflected : c >> 1;
    t[0][i] = c;
  }
  // t[k][i]: the CRC of byte i followed by k zero bytes.
  for (std::size_t k = 1; k < 8; ++k)
    for (std::size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFu];
  return t;
}

constexpr Tables kTables = make_tables();

inline std::uint64_t load_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

#ifdef TAILOR_CRC32C_X86
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(const unsigned char* p,
                                                             std::size_t n, std::uint32_t crc) {
  std::uint64_t c = ~crc;
  while (n > 0 && (reinterpret_cast<std::uintptr_t>(p) & 7u) != 0) {
    c = _mm_crc32_u8(static_cast<std::uint32_t>(c), *p++);
    --n;
  }
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = _mm_crc32_u8(static_cast<std::uint32_t>(c), *p++);
    --n;
  }
  return ~static_cast<std::uint32_t>(c);
}

#elif defined(TAILOR_CRC32C_ARM)
// ARMv8's CRC32 extension (optional in 8.0, present on the ARM64 servers and laptops in use).
__attribute__((target("+crc"))) std::uint32_t crc32c_armv8(const unsigned char* p, std::size_t n,
                                                          std::uint32_t crc) {
  std::uint32_t c = ~crc;
  while (n > 0 && (reinterpret_cast<std::uintptr_t>(p) & 7u) != 0) {
    c = __crc32cb(c, *p++);
    --n;
  }
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c = __crc32cd(c, word);
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = __crc32cb(c, *p++);
    --n;
  }
  return ~c;
}
#endif

}  // namespace

std::uint32_t crc32c_portable(const void* data, std::size_t size, std::uint32_t crc) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = ~crc;
  while (size >= 8) {
    const std::uint64_t word = load_le64(p) ^ c;
    c = kTables[7][word & 0xFFu] ^ kTables[6][(word >> 8) & 0xFFu] ^
        kTables[5][(word >> 16) & 0xFFu] ^ kTables[4][(word >> 24) & 0xFFu] ^
        kTables[3][(word >> 32) & 0xFFu] ^ kTables[2][(word >> 40) & 0xFFu] ^
        kTables[1][(word >> 48) & 0xFFu] ^ kTables[0][word >> 56];
    p += 8;
    size -= 8;
  }
  while (size > 0) {
    c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xFFu];
    --size;
  }
  return ~c;
}

std::uint32_t crc32c_hardware(const void* data, std::size_t size, std::uint32_t crc) noexcept {
#if defined(TAILOR_CRC32C_X86)
  if (simd_has_crc32()) return crc32c_sse42(static_cast<const unsigned char*>(data), size, crc);
#elif defined(TAILOR_CRC32C_ARM)
  if (simd_has_crc32()) return crc32c_armv8(static_cast<const unsigned char*>(data), size, crc);
#endif
  return crc32c_portable(data, size, crc);
}

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc) noexcept {
  if (size == 0) return crc;
  return crc32c_hardware(data, size, crc);
}

const char* crc32c_implementation() noexcept {
#if defined(TAILOR_CRC32C_X86)
  if (simd_has_crc32()) return "sse4.2";
#elif defined(TAILOR_CRC32C_ARM)
  if (simd_has_crc32()) return "armv8-crc";
#endif
  return "slice-by-8";
}

}  // namespace tailor::detail
