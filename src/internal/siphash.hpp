// tailor internal: SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012),
// the keyed hash behind deterministic experiment assignment. Words are read little-endian byte
// by byte, so the result does not depend on the machine's byte order.
//
// Thread-safety: a SipHasher is not thread-safe; siphash24 is a pure function.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace tailor::detail {

namespace sip {

constexpr std::uint64_t rotl(std::uint64_t x, unsigned b) { return (x << b) | (x >> (64 - b)); }

inline std::uint64_t load_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

struct SipState {
  std::uint64_t v0, v1, v2, v3;
  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }
  void absorb(std::uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

}  // namespace sip

// Streaming SipHash-2-4: pieces of a message absorbed without building it.
class SipHasher {
 public:
  explicit SipHasher(const std::array<std::uint8_t, 16>& key) {
    const std::uint64_t k0 = sip::load_le64(key.data());
    const std::uint64_t k1 = sip::load_le64(key.data() + 8);
    // The initial constants spell "somepseudorandomlygeneratedbytes" (from the paper).
    s_ = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL, k0 ^ 0x6c7967656e657261ULL,
          k1 ^ 0x7465646279746573ULL};
  }

  void update(std::string_view piece) {
    for (const char c : piece) {
      pending_ |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(c)) << (8 * (length_ % 8));
      ++length_;
      if (length_ % 8 == 0) {
        s_.absorb(pending_);
        pending_ = 0;
      }
    }
  }

  std::uint64_t finish() {
    // Last block: the remaining bytes, zero padding, and the length mod 256 in the top byte.
    s_.absorb(pending_ | (static_cast<std::uint64_t>(length_ & 0xff) << 56));
    s_.v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) s_.round();
    return s_.v0 ^ s_.v1 ^ s_.v2 ^ s_.v3;
  }

 private:
  sip::SipState s_{};
  std::uint64_t pending_ = 0;
  std::uint64_t length_ = 0;
};


/// SipHash-2-4 of `message` under a 128-bit key (the reference algorithm: key bytes 0-7 and 8-15
/// read little-endian, 64-bit output).
inline std::uint64_t siphash24(const std::array<std::uint8_t, 16>& key, std::string_view message) {
  SipHasher h(key);
  h.update(message);
  return h.finish();
}

}  // namespace tailor::detail
