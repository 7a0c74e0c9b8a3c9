// tailor: ItemBitset, a set of item ids as a bitset (AnnIndex filters, the ranker's rule cache).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/core/id_map.hpp"

namespace tailor {

/// A set of item ids as a bitset over [0, universe), with its size kept up to date. Ids at or
/// beyond the universe are not in the set. Thread-compatible (const methods may run
/// concurrently): build it, then share it read-only (e.g. std::shared_ptr<const ItemBitset>).
class TAILOR_API ItemBitset {
 public:
  ItemBitset() = default;
  /// An empty set over [0, universe).
  explicit ItemBitset(std::size_t universe);
  /// The set of `items` over [0, universe); throws invalid_argument for an id >= universe.
  static ItemBitset of(const std::vector<Index>& items, std::size_t universe);

  std::size_t universe() const noexcept { return universe_; }
  /// Number of ids in the set.
  std::size_t count() const noexcept { return count_; }
  bool test(Index item) const noexcept {
    return item < universe_ && ((words_[item >> 6] >> (item & 63)) & 1u) != 0;
  }
  /// Adds `item` (< universe(), else invalid_argument).
  void set(Index item);
  /// Removes `item` (ids outside the universe are ignored).
  void reset(Index item) noexcept;
  /// The 64-bit words of the set, bit (i & 63) of word i / 64 for id i.
  const std::vector<std::uint64_t>& words() const noexcept { return words_; }

 private:
  std::vector<std::uint64_t> words_;
  std::size_t universe_ = 0;
  std::size_t count_ = 0;
};

}  // namespace tailor
