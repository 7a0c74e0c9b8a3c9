// tailor: item-to-item neighbour lists, the "customers who bought this also bought" signal of
// the ranker, and the item-kNN similarity they are computed with.
//
// ItemNeighbors stores, for every item, its most similar items best first, contiguously.
// build_item_neighbors computes them from a user x item interaction matrix with one of the
// similarities below (the same ones ItemKnnScorer scores with), as the sparse product X'^T X'
// one item row at a time.
//
// Thread-safety: ItemNeighbors is thread-compatible (const methods may run concurrently); the
// free functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/core/span.hpp"
#include "tailor/core/types.hpp"

namespace tailor {

/// Item-item similarity of ItemKnnScorer. With x' the (binarized or raw) interaction values,
/// c(i, j) = sum over users u of w(u, i) * w(u, j):
enum class Similarity {
  /// w = x'; S = c(i, j) / (|x'_i| |x'_j| + shrinkage), |x'_i| the L2 norm of item i's column.
  cosine,
  /// w = x'; S = c(i, j): raw co-occurrence counts (with binarize), favouring popular items.
  cooccurrence,
  /// w = BM25 weight of x' with users as documents and items as terms:
  ///   w(u, i) = x'(u, i) (k1 + 1) / (x'(u, i) + k1 (1 - b + b len(u) / avg len)) * idf(i),
  ///   idf(i) = ln(1 + (n_users - df(i) + 0.5) / (df(i) + 0.5)), len(u) = sum of x'(u, .),
  /// which damps very popular items and very heavy users. S = c(i, j).
  bm25,
};

/// Options of item-kNN similarity (build_item_neighbors, ItemKnnScorer).
struct TAILOR_API ItemKnnOptions {
  Similarity similarity = Similarity::cosine;
  std::size_t neighbors = 100;  ///< most similar items kept per item, >= 1
  bool binarize = true;         ///< x' = 1 for every interaction (else x' = the value)
  double shrinkage = 0.0;       ///< cosine only, >= 0: damps similarities built on few users
  double bm25_k1 = 1.2;         ///< bm25 only, >= 0
  double bm25_b = 0.75;         ///< bm25 only, in [0, 1]
  std::size_t threads = 1;      ///< threads used by fit; 0 = hardware threads
  void validate() const;
};

/// One neighbour of an item and its similarity.
struct ItemNeighbor {
  Index item = 0;
  float similarity = 0.0f;
};

/// Per-item neighbour lists, best first, stored contiguously.
/// Thread-safety: thread-compatible (const methods may run concurrently).
class TAILOR_API ItemNeighbors {
 public:
  using List = Span<const ItemNeighbor>;

  ItemNeighbors() = default;

  /// From an item x item similarity matrix (e.g. ItemKnnScorer::similarity_matrix()): row
  /// i's positive entries other than i, best first (ties by lower index), at most max_per_item of
  /// them (0 = all). Throws Error(invalid_argument) for a non-square matrix or a non-finite value
  /// (naming its row and column).
  static ItemNeighbors from_similarity(const SparseMatrix& similarity,
                                       std::size_t max_per_item = 0);

  /// From explicit lists (lists[i] = neighbours of item i, any order; sorted here). Throws
  /// Error(invalid_argument) for an item index >= lists.size() or a non-finite similarity.
  static ItemNeighbors from_lists(const std::vector<std::vector<ItemNeighbor>>& lists);

  std::size_t n_items() const noexcept { return offsets_.empty() ? 0 : offsets_.size() - 1; }
  /// Neighbours of `item`, best first; empty for an item >= n_items().
  List of(Index item) const;

 private:
  std::vector<std::size_t> offsets_;
  std::vector<ItemNeighbor> entries_;
};

/// Neighbour lists from a user x item interaction matrix (cosine by
/// default, options.neighbors per item).
TAILOR_API ItemNeighbors build_item_neighbors(const SparseMatrix& interactions,
                                              const ItemKnnOptions& options = {});

/// Number of users with each item (stored non-zero entries per column), one entry per column.
TAILOR_API std::vector<std::uint32_t> item_interaction_counts(const SparseMatrix& interactions);

}  // namespace tailor
