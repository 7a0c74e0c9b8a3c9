// tailor: EASE, the closed-form item-to-item model of Steck (WWW 2019, "Embarrassingly Shallow
// Autoencoders for Sparse Data").
//
// With X the binary users x items matrix, EASE learns the items x items weights
//   B = argmin ||X - X B||^2 + lambda ||B||^2  subject to  diag(B) = 0,
// whose solution is P = (X^T X + lambda I)^-1, B_ij = -P_ij / P_jj (i != j), B_jj = 0. A user with
// items H scores item j as sum over i in H of B_ij. Unlike item-kNN, the weights are fitted jointly
// (an item's evidence is discounted by what the other history items already explain), and on
// dense, mid-sized catalogs it is often the strongest single model.
//
// Cost: fitting forms the dense Gram matrix and inverts it: O(n^3) time for n items (the Cholesky
// factorisation on one thread, the inverse's 2 n^3 flops of triangular solves split over the
// threads) and peak memory 8 n^2 bytes (two n x n float matrices); the model keeps B, 4 n^2
// bytes. At the default max_items = 20,000 that is 3.2 GB while fitting and 1.6 GB kept: the
// Recommender fits EASE only for catalogs up to max_items. Scoring a history of h items costs
// h * n additions.
//
// Thread-safety: EaseModel and EaseScorer are thread-compatible: const methods may run
// concurrently; fit() must not run concurrently with anything else on the object.
#pragma once

#include <cstddef>

#include "tailor/core/export.hpp"
#include "tailor/core/span.hpp"
#include "tailor/core/types.hpp"
#include "tailor/models/scorers.hpp"

namespace tailor {

/// Options of EaseModel (and of the Recommender's EASE source).
struct TAILOR_API EaseOptions {
  /// The Recommender fits EASE at retrain when the catalog has at most max_items items.
  bool enabled = true;
  double lambda = 300.0;           ///< L2 penalty, finite and > 0
  std::size_t max_items = 20000;   ///< EaseModel::fit refuses more items, in [1, 65536]
  std::size_t threads = 0;         ///< threads of the inverse; 0 = hardware threads

  /// Throws Error(invalid_argument) naming the field out of range.
  void validate() const;
};

/// A fitted EASE weight matrix.
class TAILOR_API EaseModel {
 public:
  EaseModel() = default;

  /// Fits B on `interactions` (users x items; every stored value > 0 counts as 1, others are
  /// ignored). Throws Error(invalid_argument) for more than options.max_items items or no items,
  /// and Error(numerical_error) if the Gram matrix cannot be factored.
  static EaseModel fit(const SparseMatrix& interactions, const EaseOptions& options);

  /// A model from stored weights (items x items, row i = item i's weights on every item). Throws
  /// Error(invalid_argument) unless square, finite and zero on the diagonal.
  static EaseModel from_weights(RowMatrix weights);

  bool fitted() const noexcept { return weights_.rows() > 0; }
  std::size_t n_items() const noexcept { return static_cast<std::size_t>(weights_.rows()); }
  const RowMatrix& weights() const noexcept { return weights_; }

  /// out[j] = sum over `items` of B(i, j) for j < n_items(); items at or beyond n_items() are
  /// ignored, repeated items count once per occurrence. out_size must be >= n_items(); entries
  /// beyond n_items() are set to 0.
  void score(Span<const Index> items, float* out, std::size_t out_size) const;

 private:
  RowMatrix weights_;
};

/// EASE as a Scorer of the users of its training matrix (the CLI's and Evaluator's baseline).
class TAILOR_API EaseScorer : public Scorer {
 public:
  explicit EaseScorer(EaseOptions options = {}) : options_(options) {}

  /// Fits EaseModel::fit(interactions, options) and keeps the users' items for scoring.
  void fit(const SparseMatrix& interactions);
  const EaseModel& model() const noexcept { return model_; }

  using Scorer::score;
  std::size_t n_items() const override { return model_.n_items(); }
  /// Throws Error(not_fitted) before fit, Error(invalid_argument) for a user outside the matrix.
  void score(Index user, float* out, std::size_t out_size) const override;

 private:
  EaseOptions options_;
  EaseModel model_;
  SparseMatrix train_;
};

}  // namespace tailor
