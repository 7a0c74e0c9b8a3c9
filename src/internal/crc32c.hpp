// tailor: CRC-32C (Castagnoli), the checksum of model files and event log records.
//
// CRC-32C uses the polynomial 0x1EDC6F41 (reflected 0x82F63B78) with the usual pre- and
// post-inversion, so crc32c("123456789") == 0xE3069283. The portable implementation processes
// eight bytes per step with eight lookup tables ("slice-by-8"); on x86-64 CPUs with SSE4.2, and
// on ARM64 CPUs with the CRC32 extension, the crc32 instructions are used instead, chosen once at
// run time (internal/simd.hpp). All give identical results.
//
// Thread-safety: pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tailor::detail {

/// CRC-32C of `size` bytes at `data`. To checksum data in pieces, pass the previous result as
/// `crc`: crc32c(b, nb, crc32c(a, na)) == crc32c of a followed by b.
std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0) noexcept;

/// CRC-32C of the bytes of `bytes`.
inline std::uint32_t crc32c(std::string_view bytes) noexcept {
  return crc32c(bytes.data(), bytes.size());
}

/// Which implementation crc32c() uses on this machine: "sse4.2", "armv8-crc" or "slice-by-8".
const char* crc32c_implementation() noexcept;

/// The table-driven implementation, whatever the CPU (for tests and benchmarks).
std::uint32_t crc32c_portable(const void* data, std::size_t size, std::uint32_t crc) noexcept;
/// The SSE4.2 implementation; falls back to crc32c_portable when the CPU lacks SSE4.2.
std::uint32_t crc32c_hardware(const void* data, std::size_t size, std::uint32_t crc) noexcept;
}  // namespace tailor::detail
