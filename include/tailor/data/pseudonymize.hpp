// tailor: keyed pseudonymization of user IDs (HMAC-SHA256), and the SHA-256 / HMAC it is built on.
//
// A pseudonym is key_version + ":" + encode(first output_bytes bytes of HMAC-SHA256(key, user_id)),
// e.g. "v1:3f9c..." (hex, 16 bytes = 128 bits by default). The same key maps an ID to the same
// pseudonym, so models can be trained and served on pseudonyms; without the key the mapping
// cannot be recomputed or reversed by hashing candidate IDs (which is why a plain hash is never
// offered). The key version prefix lets a shop rotate keys: pseudonyms of different versions never
// collide and tell which key made them.
//
// SHA-256 follows FIPS 180-4, HMAC follows RFC 2104; both are written here (no OpenSSL) and are
// checked in tests against the FIPS 180-2 examples and every RFC 4231 HMAC-SHA256 test case.
//
// **Example**:
//   tailor::PseudonymizerOptions o;
//   o.key = load_secret_32_bytes();     // raw bytes, >= 32; or tailor::from_hex("...64 hex...")
//   o.key_version = "v1";
//   tailor::Pseudonymizer p(o);
//   std::string pid = p.pseudonymize("customer-17850");   // "v1:" + 32 hex digits
//
// Thread-safety: Pseudonymizer is thread-safe (immutable after construction); from_hex is
// thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <memory>
#include <string_view>

#include "tailor/core/export.hpp"
#include "tailor/data/event.hpp"

namespace tailor {

namespace detail {
class HmacKey;  // internal/sha256.hpp
}  // namespace detail

/// Bytes of a hex string (either case). Throws Error(invalid_argument) for an odd length or a
/// non-hex character, naming its position.
TAILOR_API std::string from_hex(std::string_view hex);

enum class PseudonymEncoding { hex, base64url };

struct TAILOR_API PseudonymizerOptions {
  /// Raw secret key bytes; at least 32 (256 bits). Generate it with a CSPRNG and keep it out of
  /// the model files; from_hex() reads a hex-encoded key.
  std::string key;
  /// 1 to 16 characters from [A-Za-z0-9_-]; written before ':' in every pseudonym.
  std::string key_version = "v1";
  /// MAC bytes kept, 16 to 32 (128 to 256 bits). Default 16: collisions need ~2^64 IDs.
  std::size_t output_bytes = 16;
  PseudonymEncoding encoding = PseudonymEncoding::hex;

  /// Throws Error(invalid_argument) naming the bad field (never printing the key).
  void validate() const;
};

/// Maps user IDs to keyed pseudonyms. Thread-safe (immutable after construction).
class TAILOR_API Pseudonymizer {
 public:
  static constexpr std::size_t kMinKeyBytes = 32;
  static constexpr std::size_t kMinOutputBytes = 16;

  /// Throws Error(invalid_argument) when options.validate() does.
  explicit Pseudonymizer(const PseudonymizerOptions& options);
  Pseudonymizer(const Pseudonymizer&) = default;
  Pseudonymizer& operator=(const Pseudonymizer&) = default;
  ~Pseudonymizer();

  /// key_version + ":" + encoded truncated HMAC-SHA256(key, user_id).
  std::string pseudonymize(std::string_view user_id) const;

  /// A copy of `event` whose user is pseudonymized; an empty (anonymous) user stays empty.
  /// Session, item and the other fields are unchanged.
  Event pseudonymize(Event event) const;

  /// True when `id` has this pseudonymizer's version prefix and encoded length (a cheap guard
  /// against pseudonymizing twice; it does not prove the ID came from this key).
  bool looks_pseudonymized(std::string_view id) const;

  const std::string& key_version() const noexcept { return key_version_; }

 private:
  std::shared_ptr<const detail::HmacKey> key_;  // the keyed HMAC states (wiped when dropped)
  std::string key_version_;
  std::size_t output_bytes_;
  PseudonymEncoding encoding_;
};

}  // namespace tailor
