// tailor: the retrieval hook of the ranker: which items a search may return (ItemFilter) and the
// shape of a top-k inner-product search over item vectors (VectorSearch), with an exact scan as
// the default implementation. An AnnIndex plugs in here (see Recommender).
//
// Thread-safety: ItemFilter is thread-compatible; exact_vector_search's function is thread-safe
// as long as its vectors do not change.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/core/scored_item.hpp"
#include "tailor/core/span.hpp"
#include "tailor/core/types.hpp"
#include "tailor/retrieval/item_bitset.hpp"

namespace tailor {

/// Which items a retrieval may return: the request's rules, as HybridRanker::rank passes them.
/// `allows` is the whole test. HybridRanker also passes the same set in a form an index can plan
/// with: the rules' catalog part as a shared bitset (cached per distinct rules, see
/// RuleSet::catalog_filter) and the request's exclusions; then allows(i) == catalog->test(i) &&
/// i is not in `excluded`.
struct ItemFilter {
  std::function<bool(Index)> allows;          ///< empty: every item
  std::shared_ptr<const ItemBitset> catalog;  ///< may be null
  std::vector<Index> excluded;                ///< sorted, unique; meaningful with `catalog`

  explicit operator bool() const noexcept { return static_cast<bool>(allows); }
  bool operator()(Index item) const { return allows(item); }
};

/// Top-k inner-product search over item vectors among the items `eligible` accepts:
/// (query, k, eligible) -> up to k items, best first. Retrieval that honours the filter is what
/// keeps a request cheap when the rules exclude much of what the shopper would score highest (a
/// long purchase history, a price range): the ranker never has to widen to the whole catalog.
/// An AnnIndex does this with AnnFilter::where(eligible).
using VectorSearch = std::function<std::vector<ScoredItem>(Span<const float> query, std::size_t k,
                                                           const ItemFilter& eligible)>;

/// Exact top-k inner product over the rows of `vectors` (held by pointer: it must outlive the
/// returned function), among the eligible items.
TAILOR_API VectorSearch exact_vector_search(const RowMatrix* vectors);

}  // namespace tailor
