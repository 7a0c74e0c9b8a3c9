// tailor internal: SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104) and byte encodings (hex,
// base64url): what the Pseudonymizer and the experiment hash keys are built on.
//
// Thread-safety: Sha256 and HmacKey are not thread-safe to modify; const use and the free
// functions are thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tailor::detail {

using Sha256Digest = std::array<std::uint8_t, 32>;

/// Incremental SHA-256 (FIPS 180-4). Not thread-safe.
class Sha256 {
 public:
  Sha256() { reset(); }
  void reset();
  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  /// Pads, returns the digest and resets the object.
  Sha256Digest finish();

  static constexpr std::size_t kBlockSize = 64;

 private:
  void compress(const std::uint8_t* block);

  std::array<std::uint32_t, 8> state_{};
  std::array<std::uint8_t, kBlockSize> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

/// SHA-256 of `data`.
Sha256Digest sha256(std::string_view data);

/// HMAC-SHA256 (RFC 2104) of `message` under `key` (raw bytes, any length: keys longer than 64
/// bytes are hashed first, as the RFC says). No minimum key length here; Pseudonymizer has one.
Sha256Digest hmac_sha256(std::string_view key, std::string_view message);

/// The two SHA-256 states of HMAC after absorbing (key ^ ipad) and (key ^ opad): each MAC under
/// the key then costs the message plus two compressions. The destructor wipes the states.
class HmacKey {
 public:
  explicit HmacKey(std::string_view key);
  HmacKey(const HmacKey&) = default;
  HmacKey& operator=(const HmacKey&) = default;
  ~HmacKey();
  Sha256Digest mac(std::string_view message) const;

 private:
  Sha256 inner_;
  Sha256 outer_;
};

/// Lower-case hex of `size` bytes.
std::string to_hex(const std::uint8_t* data, std::size_t size);
inline std::string to_hex(const Sha256Digest& digest) { return to_hex(digest.data(), digest.size()); }
/// Base64url (RFC 4648 section 5) without padding.
std::string to_base64url(const std::uint8_t* data, std::size_t size);
/// Overwrites memory in a way the optimizer may not drop as a dead store.
void secure_zero(void* p, std::size_t n) noexcept;

}  // namespace tailor::detail
