// tailor: learn_blend, the search that tunes HybridRanker's blend (the history half-lives, the
// bridge pseudo-count and the source weights) on validation requests by coordinate search over
// grids, maximising mean nDCG@k.
//
// Thread-safety: learn_blend is thread-safe (it ranks the cases on its own threads).
#pragma once

#include <cstddef>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/ranking/hybrid_ranker.hpp"

namespace tailor {

/// One validation request and the items the user went on to interact with.
struct BlendValidationCase {
  RankRequest request;
  std::vector<Index> relevant;
};

/// Options of learn_blend: coordinate search over grids, each parameter in turn set to the grid
/// value that maximises mean nDCG@k over the cases (the current value is kept unless another is
/// strictly better), for `passes` rounds or until a round changes nothing.
struct TAILOR_API BlendSearchOptions {
  std::size_t k = 10;  ///< >= 1
  int passes = 2;      ///< >= 1
  std::vector<float> user_half_grid = {0.0f, 1.0f, 3.0f, 10.0f, 30.0f, 100.0f};
  std::vector<float> item_half_grid = {0.0f, 1.0f, 3.0f, 10.0f, 30.0f, 100.0f};
  std::vector<float> bridge_grid = {0.0f, 1.0f, 3.0f, 10.0f, 30.0f};    ///< only with a bridge
  std::vector<float> knn_grid = {0.0f, 0.25f, 0.5f, 1.0f, 2.0f, 4.0f};  ///< only with neighbours
  std::vector<float> ease_grid = {0.0f, 0.25f, 0.5f, 1.0f, 2.0f, 4.0f}; ///< only with EASE
  std::vector<float> content_grid = {0.0f, 0.5f, 1.0f, 2.0f, 4.0f};     ///< only with content
  std::vector<float> popular_grid = {0.0f, 0.1f, 0.25f, 0.5f, 1.0f, 2.0f};  ///< with popularity
  std::vector<float> trending_grid = {0.0f, 0.1f, 0.25f, 0.5f, 1.0f};       ///< only with trending
  std::size_t threads = 1;  ///< threads ranking the cases; 0 = hardware threads

  /// Throws Error(invalid_argument) naming the bad field (k, passes, a negative or non-finite
  /// grid value, an empty grid).
  void validate() const;
};

/// What learn_blend found.
struct BlendSearchResult {
  HybridRankerOptions options;  ///< the start options with the best blend parameters
  double ndcg = 0.0;            ///< mean nDCG@k of `options` on the cases
  double start_ndcg = 0.0;      ///< mean nDCG@k of the start options
  std::size_t evaluations = 0;  ///< configurations scored
};

/// Learns h_u, h_i, m_b and the source weights (weight_als stays fixed: the CF part is scale-free
/// in its two weights) by coordinate search on validation cases (cases without relevant items are
/// skipped). Deterministic for any thread count. Throws Error(invalid_argument) when there is no
/// case with a relevant item, or as HybridRanker's constructor.
TAILOR_API BlendSearchResult learn_blend(const RankerModel& model,
                                         const std::vector<BlendValidationCase>& cases,
                                         const HybridRankerOptions& start = {},
                                         const BlendSearchOptions& search = {});

}  // namespace tailor
