#include "tailor/retrieval/item_bitset.hpp"

#include "tailor/core/error.hpp"
#include "retrieval/bits.hpp"

namespace tailor {

ItemBitset::ItemBitset(std::size_t universe)
    : words_(word_count(universe), 0), universe_(universe) {}

ItemBitset ItemBitset::of(const std::vector<Index>& items, std::size_t universe) {
  ItemBitset s(universe);
  for (Index i : items) s.set(i);
  return s;
}

void ItemBitset::set(Index item) {
  if (item >= universe_) {
    TAILOR_THROW(invalid_argument, "ItemBitset::set: item " << item << " is outside the universe [0, "
                                                            << universe_ << ")");
  }
  std::uint64_t& w = words_[item >> 6];
  const std::uint64_t m = std::uint64_t{1} << (item & 63);
  if ((w & m) == 0) {
    w |= m;
    ++count_;
  }
}

void ItemBitset::reset(Index item) noexcept {
  if (item >= universe_) return;
  std::uint64_t& w = words_[item >> 6];
  const std::uint64_t m = std::uint64_t{1} << (item & 63);
  if ((w & m) != 0) {
    w &= ~m;
    --count_;
  }
}

}  // namespace tailor
