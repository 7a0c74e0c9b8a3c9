// tailor: baseline recommenders, the yardsticks every model is compared against, and the
// item-to-item neighbours behind "customers who bought this also bought".
//
// Each baseline is fitted on a user x item SparseMatrix (CSR; a stored entry is an interaction, its
// value the interaction's strength; stored zeros are not interactions; values must be finite and
// >= 0). Then, for a user, it writes one score per item into a caller buffer (score) or returns the
// top k items, best first, excluding given items such as the ones the user already has
// (recommend; ties broken by lower index, see scored_item.hpp).
//
//   PopularityScorer  score(u, i) = popularity(i), the same for every user: the number of
//                          users with i, or the sum of interaction values, optionally time-decayed
//                          (each interaction weighted by 2^(-age / half_life)); also the most
//                          popular items of one category.
//   ItemKnnScorer     score(u, j) = sum over the user's items i of x'(u, i) * S(i, j), where
//                          S keeps, for each item i, its `neighbors` most similar items (cosine,
//                          raw co-occurrence or BM25-weighted co-occurrence, all computed as the
//                          sparse product X'^T X' one item row at a time) and x' is 1 (binarize)
//                          or the interaction value; similar_items(i, k) reads row i of S.
//   RandomScorer      score(u, i) = a hash of (seed, u, i) mapped to [0, 1): a uniformly
//                          random ranking per user, the same for the same seed on every run.
//
// All of them implement Scorer, the score-every-item interface shared by every model (ALSScorer
// adapts an ALSFactorizer, FunctionScorer any function), which Evaluator and the tuners consume.
//
// Thread-safety: thread-compatible (const methods may run concurrently; fit needs exclusion).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/models/als.hpp"
#include "tailor/models/item_neighbors.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/core/scored_item.hpp"
#include "tailor/core/types.hpp"
#include "tailor/core/span.hpp"

namespace tailor {

/// The items of row `user` of a user x item matrix (stored entries with value != 0), ascending.
/// The usual "seen items" to exclude from that user's recommendations.
TAILOR_API std::vector<Index> row_items(const SparseMatrix& interactions, Index user);

/// The interface every model offers to evaluation, tuning and serving code: one score per item for
/// a user, higher is better. The baselines below implement it, ALSScorer adapts a fitted
/// ALSFactorizer and FunctionScorer any callable.
/// Thread-safety: thread-compatible (const methods may run concurrently; fit needs exclusion).
class TAILOR_API Scorer {
 public:
  virtual ~Scorer() = default;

  /// Number of items scored (columns of the fitted matrix); 0 before fit.
  virtual std::size_t n_items() const = 0;

  /// Writes the score of every item for `user` into out[0..n_items()). Throws Error(not_fitted)
  /// before fit, Error(invalid_argument) if out_size != n_items() or the user is not valid for
  /// this model (see each class).
  virtual void score(Index user, float* out, std::size_t out_size) const = 0;

  /// score() into a new vector.
  std::vector<float> score(Index user) const;

  /// The k best items for `user`, best first, never one listed in `exclude`.
  virtual std::vector<ScoredItem> recommend(Index user, std::size_t k,
                                            Span<const Index> exclude = {}) const;
};

/// A Scorer over a caller's function fn(user, out, out_size), e.g. a hybrid model or a test
/// double. The function must be safe to call concurrently when the scorer is used from several
/// threads (Evaluator does that). Thread-safety: as the wrapped function.
class TAILOR_API FunctionScorer : public Scorer {
 public:
  using Function = std::function<void(Index user, float* out, std::size_t out_size)>;
  FunctionScorer(std::size_t n_items, Function fn);

  using Scorer::score;
  std::size_t n_items() const override { return n_items_; }
  void score(Index user, float* out, std::size_t out_size) const override;

 private:
  std::size_t n_items_;
  Function fn_;
};

/// Adapts a fitted ALSFactorizer: score(u, i) = x_u . y_i for the users and items it was fitted
/// on. Holds a pointer: the factorizer must outlive the adapter and must not be refitted while
/// the adapter is in use. Throws Error(not_fitted) on construction if the model is not fitted.
/// Thread-safety: thread-compatible (const methods may run concurrently).
class TAILOR_API ALSScorer : public Scorer {
 public:
  explicit ALSScorer(const ALSFactorizer& model);

  using Scorer::score;
  std::size_t n_items() const override;
  /// Throws Error(invalid_argument) for a user outside the fitted rows.
  void score(Index user, float* out, std::size_t out_size) const override;

 private:
  const ALSFactorizer* model_;
};

// ---- popularity -----------------------------------------------------------------------------------

/// Options of PopularityScorer.
struct TAILOR_API PopularityOptions {
  /// false: every interaction counts 1 (popularity = number of users with the item);
  /// true: every interaction counts its value.
  bool use_values = false;
  /// Half-life of the time decay, in the units of the timestamps given to fit (e.g. seconds);
  /// 0 = no decay. Must be finite and >= 0; when > 0, fit needs timestamps.
  double half_life = 0.0;
  void validate() const;
};

/// Most popular items, globally or within a category. Any user index is accepted: the score does
/// not depend on the user, which makes this the fallback for users never seen in training.
/// Thread-safety: thread-compatible (const methods may run concurrently; fit needs exclusion).
class TAILOR_API PopularityScorer : public Scorer {
 public:
  explicit PopularityScorer(PopularityOptions options = {});

  /// Fits without time decay. Throws Error(invalid_argument) if options.half_life > 0.
  void fit(const SparseMatrix& interactions);

  /// Fits with time decay: timestamps[e] is the time of the e-th stored entry of `interactions`
  /// in storage order (row by row, valuePtr()[e]); the matrix must be compressed. An interaction
  /// of age a = now - timestamps[e] weighs 2^(-a / half_life) (future times count as age 0).
  /// With half_life == 0 the timestamps are checked but every weight is 1.
  void fit(const SparseMatrix& interactions, const std::vector<std::int64_t>& timestamps,
           std::int64_t now);

  /// Groups items by category for recommend_in_category: item_category[i] is the category of item
  /// i (size n_items(); categories are dense indices below 2^24). Call after fit; a later fit
  /// keeps the grouping if the item count is unchanged and drops it otherwise.
  void set_categories(const std::vector<Index>& item_category);

  /// The k most popular items of `category`, best first, skipping `exclude`. Empty for a category
  /// with no items. Throws Error(invalid_argument) if set_categories was not called.
  std::vector<ScoredItem> recommend_in_category(Index category, std::size_t k,
                                                Span<const Index> exclude = {}) const;

  /// Popularity of every item (the scores).
  const std::vector<float>& popularity() const { return popularity_; }

  using Scorer::score;
  std::size_t n_items() const override { return popularity_.size(); }
  void score(Index user, float* out, std::size_t out_size) const override;
  /// O(k + |exclude| log |exclude|): walks the items presorted by popularity.
  std::vector<ScoredItem> recommend(Index user, std::size_t k,
                                    Span<const Index> exclude = {}) const override;

 private:
  void finish_fit();

  PopularityOptions options_;
  bool fitted_ = false;
  std::vector<float> popularity_;
  std::vector<Index> ranked_;                     // all items, most popular first
  std::vector<std::vector<Index>> by_category_;  // per category, most popular first
};

// ---- item kNN -------------------------------------------------------------------------------------

/// Item-based collaborative filtering over a sparse top-N neighbour matrix.
/// score() accepts the users of the fitted matrix; score_history() scores any list of items.
/// Thread-safety: thread-compatible (const methods may run concurrently; fit needs exclusion).
class TAILOR_API ItemKnnScorer : public Scorer {
 public:
  explicit ItemKnnScorer(ItemKnnOptions options = {});

  /// Computes the neighbour matrix. Memory: one double and one index per item per thread, plus the
  /// result (at most neighbors entries per item). Time: sum over users of |items of u|^2.
  void fit(const SparseMatrix& interactions);

  /// Item x item CSR: row i holds i's neighbours (never i itself), only positive similarities,
  /// at most `neighbors` of them, column indices ascending.
  const SparseMatrix& similarity_matrix() const { return similarity_; }

  /// The k items most similar to `item`, best first, skipping `exclude` ("also bought").
  std::vector<ScoredItem> similar_items(Index item, std::size_t k,
                                        Span<const Index> exclude = {}) const;

  /// Scores for a user given only their items (weights[j] for items[j]; empty weights = all 1),
  /// e.g. a visitor's session. Items may repeat (their weights add up).
  void score_history(const std::vector<Index>& items, const std::vector<float>& weights, float* out,
                     std::size_t out_size) const;

  using Scorer::score;
  std::size_t n_items() const override { return static_cast<std::size_t>(similarity_.rows()); }
  void score(Index user, float* out, std::size_t out_size) const override;

 private:
  ItemKnnOptions options_;
  bool fitted_ = false;
  SparseMatrix train_;       // user x item, x' values
  SparseMatrix similarity_;  // item x item
};

// ---- random ---------------------------------------------------------------------------------------

/// A uniformly random ranking per user, reproducible from the seed. Any user index is accepted.
/// Thread-safety: thread-compatible (const methods may run concurrently; fit needs exclusion).
class TAILOR_API RandomScorer : public Scorer {
 public:
  explicit RandomScorer(std::uint64_t seed = 42) : seed_(seed) {}

  /// Records the number of items (columns); the interactions themselves are not used.
  void fit(const SparseMatrix& interactions);

  using Scorer::score;
  std::size_t n_items() const override { return n_items_; }
  void score(Index user, float* out, std::size_t out_size) const override;

 private:
  std::uint64_t seed_;
  bool fitted_ = false;
  std::size_t n_items_ = 0;
};

}  // namespace tailor
