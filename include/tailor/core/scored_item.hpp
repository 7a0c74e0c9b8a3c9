// tailor: ScoredItem, the result type of every scorer, and the top-k selection they share.
//
// A scorer writes one float per item into a buffer; top_k turns that buffer into the k best items,
// best first. Order is total and deterministic: higher score first, and among equal scores the
// lower item index first. Items with a NaN score are never returned.
//
// Exclusion lists, here and everywhere in the library (scorers, ALS, content, the ranker's rules,
// ANN filters): any order, duplicates allowed, ids outside the item range ignored (such items
// cannot be returned anyway). They are taken as a Span<const Index>, so a vector or a braced list
// converts.
//
// Thread-safety: ScoredItem is a plain value type and top_k is a pure function; thread-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "tailor/core/id_map.hpp"
#include "tailor/core/span.hpp"

namespace tailor {

/// One recommended item and the score it was ranked by.
struct ScoredItem {
  Index item = 0;
  float score = 0.0f;

  friend bool operator==(const ScoredItem& a, const ScoredItem& b) {
    return a.item == b.item && a.score == b.score;
  }
  friend bool operator!=(const ScoredItem& a, const ScoredItem& b) { return !(a == b); }
};

/// True when `a` ranks before `b`: higher score, then lower index.
inline bool ranks_before(const ScoredItem& a, const ScoredItem& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.item < b.item;
}

/// The `k` best of `scores[0..n)` whose index `keep(i)` accepts, best first (see the file
/// comment for the order); NaN scores never count. Returns fewer than k items when fewer are
/// kept. O(n log k) plus n calls of `keep`.
template <class Keep>
std::vector<ScoredItem> top_k_where(const float* scores, std::size_t n, std::size_t k, Keep&& keep) {
  std::vector<ScoredItem> heap;
  if (k == 0 || n == 0) return heap;
  heap.reserve(std::min(k, n) + 1);
  // A min-heap on "ranks_before": the front is the worst of the current best k.
  for (std::size_t i = 0; i < n; ++i) {
    const float s = scores[i];
    if (std::isnan(s)) continue;
    const ScoredItem candidate{static_cast<Index>(i), s};
    if (heap.size() == k && !ranks_before(candidate, heap.front())) continue;
    if (!keep(static_cast<Index>(i))) continue;
    if (heap.size() < k) {
      heap.push_back(candidate);
      std::push_heap(heap.begin(), heap.end(), ranks_before);
    } else {
      std::pop_heap(heap.begin(), heap.end(), ranks_before);
      heap.back() = candidate;
      std::push_heap(heap.begin(), heap.end(), ranks_before);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), ranks_before);
  return heap;
}

/// The `k` best of `scores[0..n)`, best first, skipping items listed in `exclude` (any order,
/// duplicates allowed). Returns fewer than k items when fewer are eligible.
/// O(n log k + e log e) for e excluded items.
///
/// **Example**:
///   std::vector<float> s = {0.1f, 0.9f, 0.5f, 0.9f};
///   top_k(s.data(), s.size(), 2, {1});  // -> {{3, 0.9}, {2, 0.5}}
inline std::vector<ScoredItem> top_k(const float* scores, std::size_t n, std::size_t k,
                                     Span<const Index> exclude = {}) {
  if (exclude.empty()) return top_k_where(scores, n, k, [](Index) { return true; });
  std::vector<Index> skip(exclude.begin(), exclude.end());
  std::sort(skip.begin(), skip.end());
  return top_k_where(scores, n, k,
                     [&skip](Index i) { return !std::binary_search(skip.begin(), skip.end(), i); });
}

/// Convenience overload over a whole vector of scores.
inline std::vector<ScoredItem> top_k(const std::vector<float>& scores, std::size_t k,
                                     Span<const Index> exclude = {}) {
  return top_k(scores.data(), scores.size(), k, exclude);
}

/// The item indices of a ranked list, in order.
inline std::vector<Index> items_of(const std::vector<ScoredItem>& ranked) {
  std::vector<Index> out;
  out.reserve(ranked.size());
  for (const auto& r : ranked) out.push_back(r.item);
  return out;
}

}  // namespace tailor
