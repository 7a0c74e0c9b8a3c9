// tailor: hyperparameter search (grid, random, Bayesian optimisation) and temporal
// cross-validation folds.
//
// A ParamSpace lists numeric parameters (name, low, high, log scale, integer). The caller writes
// the objective, a function from a ParamSet (name -> value) to a score, typically "set ALSOptions
// from the params, fit on train, evaluate on validation, return nDCG@10"; higher is better unless
// SearchOptions::maximize is false. Every search records each trial (params, score, seconds) and
// the best one, and is deterministic for a seed (given a deterministic objective).
//
//   grid_search      the full product of each parameter's grid (explicit values, or grid_points
//                    points evenly spaced on the linear or log scale; integers rounded and
//                    deduplicated), the last parameter varying fastest.
//   random_search    `trials` points drawn uniformly on each parameter's (log) scale.
//   bayesian_search  `initial_points` random points, then, for each further trial, a Gaussian
//                    process fitted to the finite scores so far (inputs normalised to [0, 1] on
//                    each parameter's scale, scores standardised; RBF or Matern 5/2 kernel with a
//                    noise term, length scale chosen from a small grid by log marginal
//                    likelihood) and the next point is the one of `candidates` random points (plus
//                    local perturbations of the best trial) with the highest expected improvement.
//
// Objective scores that are NaN or infinite are recorded but never chosen as best and not fed to
// the Gaussian process. An exception thrown by the objective ends the search and propagates.
//
// rolling_windows() yields temporal cross-validation folds: k consecutive, disjoint validation
// windows at the end of the time line, each with the pairs before it (or a fixed span before it)
// as training data.
//
// **Example**:
//   tailor::ParamSpace space;
//   space.add("factors", 16, 128, /*log_scale=*/true, /*integer=*/true);
//   space.add("regularization", 0.1, 100, true);
//   auto objective = [&](const tailor::ParamSet& p) {
//     tailor::ALSOptions o;
//     o.factors = static_cast<std::size_t>(p.get_int("factors"));
//     o.regularization = static_cast<float>(p.get("regularization"));
//     tailor::ALSFactorizer als(o);
//     als.fit(train);
//     return evaluator.evaluate(tailor::ALSScorer(als)).at(10).accuracy.ndcg;
//   };
//   tailor::SearchOptions so;
//   so.trials = 30;
//   tailor::SearchResult r = tailor::bayesian_search(space, objective, so);
//   std::cout << r.to_json().dump(2);
//
// Thread-safety: ParamSpace, ParamSet, SearchResult and GaussianProcess are thread-compatible
// (const methods may run concurrently); the search functions are thread-safe when the objective is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/data/interaction_matrix.hpp"
#include "tailor/data/splits.hpp"

namespace tailor {

// ---- parameter space ------------------------------------------------------------------------------

/// One numeric parameter.
struct TAILOR_API ParamSpec {
  std::string name;
  double low = 0.0;
  double high = 1.0;
  bool log_scale = false;  ///< sample and normalise log(value); needs low > 0
  bool integer = false;    ///< values rounded to the nearest integer
  std::vector<double> grid_values;  ///< grid_search: these values (else evenly spaced points)

  /// Throws Error(invalid_argument) naming the parameter and the bad field.
  void validate() const;
  /// Maps u in [0, 1] to a value on this parameter's scale (rounded when integer, clamped).
  double from_unit(double u) const;
  /// Maps a value to [0, 1] on this parameter's scale.
  double to_unit(double value) const;
};

/// The parameters a search ranges over, in the order given.
class TAILOR_API ParamSpace {
 public:
  /// Adds a parameter; throws Error(invalid_argument) for a bad range or a duplicate name.
  ParamSpace& add(const std::string& name, double low, double high, bool log_scale = false,
                  bool integer = false);
  /// Adds a parameter with explicit grid values (their min and max are the range).
  ParamSpace& add_values(const std::string& name, std::vector<double> values,
                         bool log_scale = false, bool integer = false);
  ParamSpace& add(ParamSpec spec);

  const std::vector<ParamSpec>& params() const noexcept { return params_; }
  std::size_t size() const noexcept { return params_.size(); }
  bool empty() const noexcept { return params_.empty(); }
  nlohmann::json to_json() const;

 private:
  std::vector<ParamSpec> params_;
};

/// Parameter values by name.
class TAILOR_API ParamSet {
 public:
  ParamSet() = default;
  void set(const std::string& name, double value) { values_[name] = value; }
  bool contains(const std::string& name) const { return values_.count(name) != 0; }
  /// The value of `name`; throws Error(invalid_argument) naming it if absent.
  double get(const std::string& name) const;
  /// get(name) rounded to the nearest integer.
  std::int64_t get_int(const std::string& name) const;
  /// get(name), or `fallback` if absent.
  double get_or(const std::string& name, double fallback) const;
  const std::map<std::string, double>& values() const noexcept { return values_; }
  nlohmann::json to_json() const;

  friend bool operator==(const ParamSet& a, const ParamSet& b) { return a.values_ == b.values_; }
  friend bool operator!=(const ParamSet& a, const ParamSet& b) { return !(a == b); }

 private:
  std::map<std::string, double> values_;
};

/// What the caller optimises. Higher is better unless SearchOptions::maximize is false.
using Objective = std::function<double(const ParamSet&)>;

// ---- searches -------------------------------------------------------------------------------------

/// Kernel of the Gaussian process (on normalised inputs, r = |x - x'| / length_scale).
enum class Kernel {
  rbf,       ///< exp(-r^2 / 2)
  matern52,  ///< (1 + sqrt5 r + 5 r^2 / 3) exp(-sqrt5 r)
};

struct Trial;

/// Options of the searches.
struct TAILOR_API SearchOptions {
  std::size_t trials = 20;       ///< random and Bayesian: objective evaluations, >= 1
  std::uint64_t seed = 42;
  bool maximize = true;
  std::size_t grid_points = 5;   ///< grid: points per parameter without grid_values, >= 1
  std::size_t max_grid_trials = 100000;  ///< grid: refuse larger products
  // Bayesian optimisation.
  std::size_t initial_points = 5;     ///< random points before the GP takes over, >= 1
  std::size_t candidates = 2000;      ///< random candidates scored by EI per trial, >= 1
  Kernel kernel = Kernel::matern52;
  double noise = 1e-4;                ///< noise variance on standardised scores, >= 0
  std::vector<double> length_scales = {0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5};  ///< ML-II grid
  double xi = 0.01;                   ///< EI exploration margin (standardised units), >= 0
  /// Called after every trial (e.g. to log progress); may be empty.
  std::function<void(const Trial&)> on_trial;

  void validate() const;
  nlohmann::json to_json() const;
};

/// One evaluation of the objective.
struct TAILOR_API Trial {
  std::size_t index = 0;   ///< 0-based, in evaluation order
  ParamSet params;
  double score = 0.0;
  double seconds = 0.0;    ///< wall time of the objective call
  std::string phase;       ///< "grid", "random", "initial" or "bayes"
  nlohmann::json to_json() const;
};

/// Every trial of a search and the best one.
struct TAILOR_API SearchResult {
  std::string method;            ///< "grid", "random" or "bayesian"
  nlohmann::json space;          ///< ParamSpace::to_json()
  nlohmann::json options;        ///< SearchOptions::to_json()
  std::vector<Trial> trials;
  std::optional<std::size_t> best_index;  ///< into trials; empty if no score was finite
  double seconds = 0.0;          ///< wall time of the whole search

  /// The best trial; throws Error(invalid_argument) if no trial had a finite score.
  const Trial& best() const;
  /// {"method", "space", "options", "trials": [...], "best": {...} or null, "seconds"}.
  nlohmann::json to_json() const;
};

/// Every grid point, in order (the last parameter varies fastest). Throws Error(invalid_argument)
/// for an empty space or more than options.max_grid_trials points.
TAILOR_API std::vector<ParamSet> grid_points(const ParamSpace& space,
                                             const SearchOptions& options = {});

TAILOR_API SearchResult grid_search(const ParamSpace& space, const Objective& objective,
                                    const SearchOptions& options = {});
TAILOR_API SearchResult random_search(const ParamSpace& space, const Objective& objective,
                                      const SearchOptions& options = {});
TAILOR_API SearchResult bayesian_search(const ParamSpace& space, const Objective& objective,
                                        const SearchOptions& options = {});

// ---- Gaussian process -----------------------------------------------------------------------------

/// Hyperparameters of a GaussianProcess.
struct TAILOR_API GPOptions {
  Kernel kernel = Kernel::matern52;
  double length_scale = 0.3;      ///< > 0, in normalised input units
  double signal_variance = 1.0;   ///< > 0, prior variance of the standardised function
  double noise = 1e-6;            ///< >= 0, observation noise variance (standardised units)
  void validate() const;
};

/// GP regression with a zero-mean prior on standardised targets (y - mean) / sd. A tiny jitter is
/// added to the diagonal so that noise = 0 still factors.
/// Thread-safety: thread-compatible (const methods may run concurrently; fit needs exclusion).
class TAILOR_API GaussianProcess {
 public:
  explicit GaussianProcess(GPOptions options = {});

  /// x: n x d inputs (one point per row), y: n targets; n >= 1. Throws Error(invalid_argument) on
  /// a shape mismatch or non-finite values, Error(numerical_error) if the kernel matrix does not
  /// factor.
  void fit(const Eigen::MatrixXd& x, const Eigen::VectorXd& y);

  /// Fits with each length scale of `length_scales` and keeps the one with the highest log
  /// marginal likelihood (ties: the first).
  static GaussianProcess fit_best(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                  GPOptions base, const std::vector<double>& length_scales);

  /// Posterior mean and variance (of the latent function, in the units of y) at one point.
  std::pair<double, double> predict(const Eigen::VectorXd& x) const;
  /// Log marginal likelihood of the standardised targets.
  double log_marginal_likelihood() const noexcept { return log_likelihood_; }
  const GPOptions& options() const noexcept { return options_; }
  bool fitted() const noexcept { return fitted_; }

 private:
  double kernel(const Eigen::VectorXd& a, const Eigen::VectorXd& b) const;

  GPOptions options_;
  bool fitted_ = false;
  Eigen::MatrixXd x_;
  Eigen::MatrixXd chol_l_;   // lower Cholesky factor of K + (noise + jitter) I
  Eigen::VectorXd alpha_;    // (K + noise I)^-1 y_standardised
  double y_mean_ = 0.0;
  double y_scale_ = 1.0;
  double log_likelihood_ = 0.0;
};

/// Expected improvement of a maximisation at a point with posterior `mean` and standard deviation
/// `sd` over the best value so far: E[max(f - best - xi, 0)]. Always >= 0; with sd == 0 it is
/// max(mean - best - xi, 0).
TAILOR_API double expected_improvement(double mean, double sd, double best, double xi = 0.0);

// ---- temporal cross-validation --------------------------------------------------------------------

/// Options of rolling_windows.
struct TAILOR_API RollingWindowOptions {
  std::size_t folds = 3;              ///< k validation windows, >= 1
  double validation_fraction = 0.1;   ///< each window holds about this share of all pairs, in (0, 1)
  /// Training span before each cutoff in ms; 0 = everything before the cutoff (expanding window).
  Timestamp train_span = 0;
  void validate() const;
};

/// One temporal fold: train pairs have last_time in [train_begin, cutoff), validation pairs in
/// [cutoff, end). Folds are ordered by cutoff and their validation windows are disjoint.
struct TemporalFold {
  Timestamp train_begin = 0;
  Timestamp cutoff = 0;
  Timestamp end = 0;
  Split split;  ///< train and validation (split.test) pairs, input order
};

/// The k folds over `interactions` ordered by last_time: the last k * validation_fraction of the
/// pairs are cut into k consecutive windows of (about) equal counts, cut at timestamps (pairs with
/// the same time stay together). Fold j trains on what precedes window j (within train_span) and
/// validates on window j. Throws Error(invalid_argument) if there are too few distinct timestamps
/// for k non-empty windows with some training data before the first.
TAILOR_API std::vector<TemporalFold> rolling_windows(const std::vector<Interaction>& interactions,
                                                     const RollingWindowOptions& options = {});

}  // namespace tailor
