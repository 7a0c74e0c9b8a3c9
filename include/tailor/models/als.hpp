// tailor: ALSFactorizer, matrix factorization by alternating least squares.
//
// Implicit feedback (Hu, Koren, Volinsky 2008): the input is a user x item matrix of
// confidences c_ui > 0. Every stored entry is a positive, every absent entry a negative of weight
// alpha0 (`unobserved_weight`), and training minimizes
//
//   sum_(u,i stored) c_ui (1 - x_u.y_i)^2  +  alpha0 sum_(u,i absent) (x_u.y_i)^2
//   + sum_u lambda_u |x_u|^2 + sum_i lambda_i |y_i|^2,
//
// lambda_u = regularization * (n_u + alpha0 * n_items)^regularization_exponent (exponent 0, the
// default, is a constant lambda). ALSFeedback::explicit_ratings fits the stored ratings only.
// Each half-iteration solves every row of one side against the fixed other side, by
// `cg_steps` warm-started conjugate-gradient steps (the default) or exactly (ALSSolver::cholesky).
// docs/algorithms/als.md derives the solvers, the kernels and fold-in.
//
// Rows (users or items) with no stored entries get zero vectors. Training runs on `threads`
// threads; the factors are bit-identical for the same seed whatever the thread count, on CPUs
// that pick the same kernels (see kernel_name()).
//
// Complexity, k = factors, nnz = stored entries, n = users + items:
//   fit, per iteration:  CG O((1 + cg_steps) nnz k + cg_steps n k^2); Cholesky O(nnz k^2 + n k^3)
//   fold_in_user/item:   O(h k^2 + k^3) for a history of h entries
//   recommend:           O(items k + items log k);  similar_items likewise
//   memory:              O(n k) for the factors plus one copy of the matrix and its transpose
//
// Thread-safety: thread-compatible (const methods may run concurrently; fit and partial_fit need
// exclusion).
//
// **Example**:
//   tailor::ALSOptions opt;
//   opt.factors = 64;
//   tailor::ALSFactorizer als(opt);
//   als.fit(confidences);                                   // users x items, CSR
//   tailor::Vector u = als.fold_in_user({3, 17, 42}, {2.f, 1.f, 5.f});
//   auto top = als.recommend(u, 10, {3, 17, 42});          // seen items excluded
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/core/scored_item.hpp"
#include "tailor/core/span.hpp"
#include "tailor/core/types.hpp"

namespace tailor {

/// How each row's least-squares problem is solved during training.
enum class ALSSolver {
  conjugate_gradient,  ///< `cg_steps` CG steps per row, warm-started (Takacs et al. 2011)
  cholesky,            ///< exact: form the k x k system and factor it (O(k^3) per row)
};

/// What the stored values of the input matrix mean.
enum class ALSFeedback {
  implicit,          ///< confidences of positive interactions; absent entries are negatives
  explicit_ratings,  ///< ratings; absent entries are unknown and ignored
};

/// Options of ALSFactorizer. Defaults suit implicit feedback with confidences 1 + alpha * count.
struct TAILOR_API ALSOptions {
  std::size_t factors = 64;                 ///< latent dimension k, >= 1
  int iterations = 15;                      ///< full iterations (user side then item side), >= 1
  float regularization = 0.01f;             ///< lambda, > 0
  float regularization_exponent = 0.0f;     ///< nu in lambda * (n_row + alpha0 * n_other)^nu, >= 0
  float unobserved_weight = 1.0f;           ///< alpha0, weight of absent entries (implicit), >= 0
  ALSFeedback feedback = ALSFeedback::implicit;
  ALSSolver solver = ALSSolver::conjugate_gradient;
  int cg_steps = 3;                         ///< CG steps per row and half-iteration, >= 1
  std::uint64_t seed = 42;                  ///< seeds the initial factors
  float init_scale = 0.01f;                 ///< initial factors uniform in [-s, s] / sqrt(k), > 0
  std::size_t threads = 0;                  ///< training threads; 0 = hardware threads
  bool compute_loss = true;                 ///< compute the objective after each iteration
  int validation_every = 1;                 ///< evaluate ALSCallbacks::validation every N iterations
  int patience = 3;                         ///< stop after this many evaluations without improvement

  /// Throws Error(invalid_argument) naming the first option out of range.
  void validate() const;
};

/// What the progress callback sees after each full iteration.
struct ALSProgress {
  int iteration = 0;          ///< 1-based
  double loss = std::numeric_limits<double>::quiet_NaN();  ///< objective; NaN unless compute_loss
  double seconds = 0.0;       ///< wall time of this iteration (solves, Gram matrices, loss)
  double total_seconds = 0.0; ///< wall time since fit() started
  double validation = std::numeric_limits<double>::quiet_NaN();  ///< metric if evaluated now
};

class ALSFactorizer;

/// A fitted ALSFactorizer as plain data (ALSFactorizer::export_state / from_state): what a model
/// file stores, and how factors trained elsewhere (Spark, implicit) are adopted.
struct ALSState {
  ALSOptions options;
  RowMatrix user_factors;  ///< users x options.factors
  RowMatrix item_factors;  ///< items x options.factors
};

/// Optional hooks for fit().
struct ALSCallbacks {
  /// Called after every iteration; return false to stop training after this iteration.
  std::function<bool(const ALSProgress&)> progress;
  /// Validation metric, higher is better, evaluated every `validation_every` iterations on the
  /// current factors. Training stops after `patience` evaluations without improvement and the
  /// factors of the best evaluation are kept.
  std::function<double(const ALSFactorizer&)> validation;
};

class TAILOR_API ALSFactorizer {
 public:
  /// One recommended or similar item (the library-wide result type).
  using ScoredItem = ::tailor::ScoredItem;

  /// Throws Error(invalid_argument) if options.validate() does.
  explicit ALSFactorizer(ALSOptions options = {});

  /// A fitted model made from stored factors (a model file, or factors trained elsewhere)
  /// without training: users x k and items x k, k = options.factors. Fold-in and scoring caches
  /// are rebuilt; iterations_run() and best_iteration() are 0. Throws Error(invalid_argument) if
  /// options.validate() does, if a matrix does not have options.factors columns, or if a value
  /// is not finite or beyond +-kMaxFactorMagnitude (naming the matrix, row and column), or if
  /// the factors' Gram matrix overflows.
  static ALSFactorizer from_state(ALSState state);
  /// The largest factor magnitude from_state accepts. Trained factors are of the order of the
  /// square root of the largest target (1 for implicit feedback, the rating scale for explicit);
  /// far larger values can only come from a damaged or crafted file, and would overflow the
  /// fold-in's normal equations.
  static constexpr float kMaxFactorMagnitude = 1e4f;
  /// The fitted model as plain data; throws Error(not_fitted) before fit.
  ALSState export_state() const;

  const ALSOptions& options() const noexcept { return options_; }

  /// Trains from scratch on `ratings` (users x items; confidences, or ratings in explicit mode).
  /// Throws Error(invalid_argument) for a stored value that is not finite (or not > 0 in implicit
  /// mode), naming its row and column; Error(numerical_error) naming the iteration, side and row
  /// if a factor becomes non-finite or an exact solve fails.
  void fit(const SparseMatrix& ratings, const ALSCallbacks& callbacks = {});

  /// Grows a fitted model to the shape of `ratings`, which must keep the existing users and items
  /// as its first rows and columns. New users are solved exactly against the current item factors,
  /// then new items against the user factors, then the new users once more against the grown item
  /// factors; existing rows are untouched. Then `iterations` full iterations (warm-started, over
  /// all rows) follow. Fits from scratch if the model is not fitted yet.
  void partial_fit(const SparseMatrix& ratings, int iterations = 0);

  bool fitted() const noexcept { return fitted_; }
  Index users() const noexcept { return static_cast<Index>(user_factors_.rows()); }
  Index items() const noexcept { return static_cast<Index>(item_factors_.rows()); }
  /// Iterations run by the last fit() (including those after the best one when early stopping).
  int iterations_run() const noexcept { return iterations_run_; }
  /// Iteration whose factors are kept: the best validation one, else the last.
  int best_iteration() const noexcept { return best_iteration_; }
  /// Best validation metric of the last fit(); NaN without a validation callback.
  double best_validation() const noexcept { return best_validation_; }

  /// users x factors and items x factors, row-major.
  const RowMatrix& user_factors() const noexcept { return user_factors_; }
  const RowMatrix& item_factors() const noexcept { return item_factors_; }

  /// The user vector that best explains `items` with `confidences` (ratings in explicit mode)
  /// given the current item factors: one exact solve with the cached Gram matrix Y'Y, as in
  /// training. Duplicated items count twice. Throws not_fitted, or invalid_argument for mismatched
  /// sizes, an item out of range or a bad confidence.
  Vector fold_in_user(Span<const Index> items, Span<const float> confidences) const;
  /// The item vector for interactions with `users` (cached X'X); see fold_in_user.
  Vector fold_in_item(Span<const Index> users, Span<const float> confidences) const;

  /// The k items with the highest user_vector . y_i, best first (ties by lower index), skipping the
  /// items in `exclude` (see scored_item.hpp for exclusion lists).
  std::vector<ScoredItem> recommend(const Eigen::Ref<const Vector>& user_vector, std::size_t k,
                                    Span<const Index> exclude = {}) const;
  /// The k items most similar to `item` by cosine of item factors, best first, itself excluded.
  /// Items with zero vectors score 0.
  std::vector<ScoredItem> similar_items(Index item, std::size_t k) const;

  /// The training objective (see the header comment) of the current factors on `ratings`.
  double loss(const SparseMatrix& ratings) const;

  /// Instruction set of the training and fold-in kernels picked at run time: "avx2+fma+avx512f",
  /// "avx2+fma" or "generic". TAILOR_SIMD=avx2 or =generic in the environment caps it.
  static const char* kernel_name() noexcept;

 private:
  void require_fitted(const char* what) const;
  void refresh_caches();

  ALSOptions options_;
  RowMatrix user_factors_;
  RowMatrix item_factors_;
  Eigen::MatrixXf user_gram_;  // X'X, k x k
  Eigen::MatrixXf item_gram_;  // Y'Y, k x k
  Vector item_norms_;
  bool fitted_ = false;
  int iterations_run_ = 0;
  int best_iteration_ = 0;
  double best_validation_ = std::numeric_limits<double>::quiet_NaN();
};

}  // namespace tailor
