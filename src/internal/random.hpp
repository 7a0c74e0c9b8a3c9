// tailor internal: the one integer mixer and seeded generator of the library.
//
// mix64 is the SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijection on 64-bit integers
// that spreads every input bit over the output. SplitMix64 is the generator built on it. Both are
// fixed by their definition, so every seeded draw (initial factors, splits, samples, graph
// levels, tuning) is the same on every platform and compiler; std:: distributions are not.
//
// Thread-safety: mix64 is a pure function; a SplitMix64 is not thread-safe (one per thread).
#pragma once

#include <cmath>
#include <cstdint>

namespace tailor::detail {

/// The golden-ratio increment of SplitMix64.
inline constexpr std::uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;

/// SplitMix64's finaliser.
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// A seeded stream of 64-bit values: next() = mix64(state += kGoldenGamma).
class SplitMix64 {
 public:
  explicit constexpr SplitMix64(std::uint64_t seed) noexcept : state_(seed) {}

  constexpr std::uint64_t next() noexcept { return mix64(state_ += kGoldenGamma); }
  /// The state: SplitMix64(state()) continues this stream (for a stream kept in a plain integer).
  constexpr std::uint64_t state() const noexcept { return state_; }
  /// Uniform in [0, 1), 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Standard normal (Box-Muller, one value per call).
  double normal() noexcept {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  /// Uniform in [0, n) for n > 0, unbiased (draws that fall in the short low range are redrawn).
  std::uint64_t below(std::uint64_t n) noexcept {
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }

 private:
  std::uint64_t state_;
};

}  // namespace tailor::detail
