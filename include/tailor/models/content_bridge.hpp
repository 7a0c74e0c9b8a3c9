// tailor: the cold-start bridge from content vectors into the collaborative (ALS) factor space.
//
// ContentBridge learns a ridge-regression linear map from content vectors to ALS item factors on
// the items that have at least `min_interactions` interactions (their factors are trustworthy),
// so a new item gets a vector in the collaborative space:
//   minimise sum_i |y_i - W^T x_i - b|^2 + ridge |W|_F^2   (b, the intercept, unregularised),
// solved in closed form from the d x d normal equations in double precision.
// blend_cold_item_factors then shrinks each item's CF vector towards its bridged one by how few
// interactions it has, which is how the ranker and the ANN index see new items.
// docs/algorithms/content.md explains the choice of items, the intercept and the shrinkage.
//
// Complexity, n = training items, d = content dimension, f = factors: fit O(n d^2 + d^3 + n d f);
// map O(d f); map_all O(rows d f); blend_cold_item_factors O(n_items f).
//
// Thread-safety: ContentBridge is thread-compatible (const methods may run concurrently; fit
// needs exclusion). The free function is thread-safe.
//
// **Example**:
//   tailor::ContentBridge bridge;
//   bridge.fit(content, als.item_factors(),
//              tailor::item_interaction_counts(matrix.confidence()));  // item_neighbors.hpp
//   tailor::Vector y_new = bridge.map(encoder.encode(new_item));  // score with x_u . y_new
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/core/types.hpp"

namespace tailor {

/// Options of ContentBridge.
struct TAILOR_API ContentBridgeOptions {
  std::uint32_t min_interactions = 5;  ///< items with fewer are not trained on, >= 1
  double ridge = 1.0;                  ///< lambda of the ridge penalty, finite and > 0
  std::size_t min_training_items = 2;  ///< fit fails with fewer qualifying items, >= 2

  /// Throws Error(invalid_argument) naming the field out of range.
  void validate() const;

  friend bool operator==(const ContentBridgeOptions& a, const ContentBridgeOptions& b) {
    return a.min_interactions == b.min_interactions && a.ridge == b.ridge &&
           a.min_training_items == b.min_training_items;
  }
  friend bool operator!=(const ContentBridgeOptions& a, const ContentBridgeOptions& b) {
    return !(a == b);
  }
};

/// Fitted state of a ContentBridge as plain data (empty weights = not fitted).
struct ContentBridgeState {
  ContentBridgeOptions options;
  RowMatrix weights;             ///< W, content dimension x factor dimension
  Vector bias;                   ///< b, factor dimension
  std::size_t training_items = 0;

  friend TAILOR_API bool operator==(const ContentBridgeState& a, const ContentBridgeState& b);
  friend bool operator!=(const ContentBridgeState& a, const ContentBridgeState& b) {
    return !(a == b);
  }
};

/// The cold-start bridge: y = W^T x + b from a content vector x to an ALS item factor y (see the
/// file comment). A zero content vector maps to b, the mean factor of the training items.
/// Thread-safety: thread-compatible (const methods may run concurrently; fit needs exclusion).
class TAILOR_API ContentBridge {
 public:
  ContentBridge() = default;
  /// A fitted map from saved state. Throws Error(invalid_argument) when options are invalid,
  /// bias.size() != weights.cols(), or a value is not finite. Empty weights = unfitted map.
  static ContentBridge from_state(ContentBridgeState state);

  /// Learns W and b on the items i with interaction_counts[i] >= options.min_interactions and a
  /// non-zero content row. Row i of `content` and of `item_factors` describe the same item.
  /// Throws Error(invalid_argument) naming the sizes when the row counts differ or a matrix has
  /// no columns, naming the row for a non-finite value, and naming the counts when fewer than
  /// options.min_training_items items qualify; Error(numerical_error) if the solve fails.
  void fit(const RowMatrix& content, const RowMatrix& item_factors,
           const std::vector<std::uint32_t>& interaction_counts,
           const ContentBridgeOptions& options = {});

  bool fitted() const noexcept { return state_.weights.size() != 0; }
  std::size_t content_dimension() const noexcept {
    return static_cast<std::size_t>(state_.weights.rows());
  }
  std::size_t factor_dimension() const noexcept {
    return static_cast<std::size_t>(state_.weights.cols());
  }
  /// Items the last fit() trained on.
  std::size_t training_items() const noexcept { return state_.training_items; }

  /// W^T content + b. Throws Error(not_fitted), or Error(invalid_argument) for a wrong size.
  Vector map(const Eigen::Ref<const Vector>& content) const;
  /// map() of every row: content W + 1 b^T (rows x factor_dimension()).
  RowMatrix map_all(const RowMatrix& content) const;

  /// The fitted state as plain data (what a model file stores).
  const ContentBridgeState& export_state() const noexcept { return state_; }

 private:
  void require_fitted(const char* what) const;
  ContentBridgeState state_;
};

/// The CF item vectors with cold items shrunk towards bridge vectors: row i =
/// (n_i y_i + m c_i) / (n_i + m), y_i = item_factors row i (0 beyond its rows), c_i = cold row i
/// (items beyond its rows keep y_i), n_i = counts[i] (0 beyond its size), m = pseudo_count >= 0.
/// n_items rows. Throws Error(invalid_argument) for mismatched columns or sizes > n_items.
TAILOR_API RowMatrix blend_cold_item_factors(const RowMatrix& item_factors,
                                             const RowMatrix& cold_item_factors,
                                             const std::vector<std::uint32_t>& counts,
                                             float pseudo_count, std::size_t n_items);

}  // namespace tailor
