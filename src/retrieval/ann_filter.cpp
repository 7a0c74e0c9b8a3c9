// tailor: AnnFilter, the allowed set of a filtered search.
#include <algorithm>

#include "tailor/core/error.hpp"
#include "tailor/retrieval/ann_index.hpp"
#include "retrieval/bits.hpp"

namespace tailor {

AnnFilter AnnFilter::only(std::shared_ptr<const ItemBitset> allowed) {
  TAILOR_REQUIRE(allowed != nullptr, "AnnFilter::only: the bitset is null");
  AnnFilter f;
  f.kind_ = Kind::bitset;
  f.bitset_ = std::move(allowed);
  return f;
}

AnnFilter AnnFilter::only_items(std::vector<Index> allowed) {
  AnnFilter f;
  f.kind_ = Kind::items;
  f.items_ = std::move(allowed);
  sort_unique(f.items_);
  return f;
}

AnnFilter AnnFilter::where(std::function<bool(Index)> allowed, double expected_fraction) {
  TAILOR_REQUIRE(static_cast<bool>(allowed), "AnnFilter::where: the predicate is empty");
  TAILOR_REQUIRE(!std::isnan(expected_fraction) && expected_fraction <= 1.0,
                 "AnnFilter::where: expected_fraction must be in [0, 1] (or < 0: estimate), got "
                     << expected_fraction);
  AnnFilter f;
  f.kind_ = Kind::predicate;
  f.predicate_ = std::move(allowed);
  f.expected_fraction_ = expected_fraction;
  return f;
}

AnnFilter& AnnFilter::excluding(std::vector<Index> items) {
  excluded_.insert(excluded_.end(), items.begin(), items.end());
  sort_unique(excluded_);
  return *this;
}

}  // namespace tailor
