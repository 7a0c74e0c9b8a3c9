// tailor: the simple session-based baselines SessionKnn is measured against.
//
//   SessionPopularity (S-POP): the items of the current session, most clicked first, then the
//     items most often in training sessions;
//   SessionItemKnn (item-kNN): the items most similar to the session's last item, by cosine of
//     their session co-occurrence (sessions as the rows of build_item_neighbors).
//
// Thread-safety: both are thread-compatible (const methods may run concurrently).
#pragma once

#include <cstddef>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/core/scored_item.hpp"
#include "tailor/core/span.hpp"
#include "tailor/models/item_neighbors.hpp"
#include "tailor/models/session_knn.hpp"

namespace tailor {

/// S-POP (see the file comment).
class TAILOR_API SessionPopularity {
 public:
  /// Counts the training sessions holding each item. Throws Error(invalid_argument) for an item
  /// >= n_items.
  static SessionPopularity fit(const std::vector<TrainingSession>& sessions, std::size_t n_items);

  /// Session items by their count in the session (ties by popularity, then index), then the most
  /// popular other items; k at most.
  std::vector<ScoredItem> recommend(Span<const Index> session, std::size_t k) const;

 private:
  std::vector<float> popularity_;  ///< sessions holding the item, per item
  std::vector<Index> ranked_;      ///< items by popularity, best first
};

/// Item-kNN over sessions (see the file comment).
class TAILOR_API SessionItemKnn {
 public:
  /// Throws Error(invalid_argument) for an item >= n_items or bad options.
  static SessionItemKnn fit(const std::vector<TrainingSession>& sessions, std::size_t n_items,
                            const ItemKnnOptions& options = {});

  /// The last known item's neighbours, best first, k at most; empty when no item is known.
  std::vector<ScoredItem> recommend(Span<const Index> session, std::size_t k) const;

 private:
  ItemNeighbors neighbors_;
};

}  // namespace tailor
