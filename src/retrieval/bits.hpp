// tailor (private): bit and list helpers of the retrieval sources.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tailor/core/id_map.hpp"

namespace tailor {

inline bool bit(const std::vector<std::uint64_t>& words, std::size_t i) {
  return ((words[i >> 6] >> (i & 63)) & 1u) != 0;
}
inline void set_bit(std::vector<std::uint64_t>& words, std::size_t i) {
  words[i >> 6] |= std::uint64_t{1} << (i & 63);
}
inline std::size_t word_count(std::size_t bits) { return (bits + 63) / 64; }

inline void sort_unique(std::vector<Index>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace tailor
