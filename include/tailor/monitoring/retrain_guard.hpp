// tailor: the retrain guard. evaluate_candidate scores the serving and the candidate model on
// recent held-out data and accepts the candidate only if it is not worse than the serving model
// by more than a margin; the caller keeps the previous model for rollback. Recommender runs it
// when RecommenderOptions::guard_holdout > 0.
//
// Thread-safety: the option and result structs are plain value types (thread-compatible);
// evaluate_candidate is thread-safe (the scorers passed in must allow concurrent const calls, as
// Scorer requires).
#pragma once

#include <cstddef>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/core/types.hpp"

namespace tailor {

class Scorer;     // models/scorers.hpp
class Evaluator;  // evaluation/evaluator.hpp

/// The metric the guard compares.
enum class GuardMetric { ndcg, recall, precision, map, hit_rate };
/// "ndcg", "recall", "precision", "map", "hit_rate".
TAILOR_API const char* guard_metric_name(GuardMetric metric) noexcept;

/// How GuardOptions::margin is read.
enum class MarginKind {
  relative,  ///< accept when candidate >= serving * (1 - margin)
  absolute,  ///< accept when candidate >= serving - margin
};

/// Options of evaluate_candidate. Defaults: nDCG@10, a candidate may be up to 2% (relative) worse
/// than the serving model, at least 20 held-out users, no decision without evidence (keep serving).
struct TAILOR_API GuardOptions {
  GuardMetric metric = GuardMetric::ndcg;
  std::size_t k = 10;               ///< cut-off, >= 1
  double margin = 0.02;             ///< finite, >= 0 (relative: < 1)
  MarginKind margin_kind = MarginKind::relative;
  std::size_t min_users = 20;       ///< fewer evaluated held-out users: no evidence, >= 1
  bool accept_without_evidence = false;  ///< with too few users: accept (true) or keep serving
  std::size_t threads = 1;          ///< evaluation threads of the matrix overload; 0 = hardware

  /// Throws Error(invalid_argument) naming the first field out of range.
  void validate() const;
  nlohmann::json to_json() const;
};

/// The guard's verdict.
struct TAILOR_API GuardDecision {
  bool accept = false;
  std::string metric;                ///< e.g. "ndcg@10"
  double serving_metric = std::numeric_limits<double>::quiet_NaN();
  double candidate_metric = std::numeric_limits<double>::quiet_NaN();
  double required = std::numeric_limits<double>::quiet_NaN();  ///< the least accepted candidate value
  std::size_t users = 0;             ///< held-out users evaluated
  std::string reason;                ///< one sentence with the figures
  nlohmann::json to_json() const;    ///< NaN as null
};

/// Evaluates both models on `holdout` (whose options.ks must contain options.k) and decides. An
/// Error thrown while scoring the candidate (wrong item count, not fitted, ...) or a non-finite
/// candidate metric rejects it, with the error in the reason; an Error from the serving model
/// propagates. Throws Error(invalid_argument) if options.validate() fails or k was not evaluated.
TAILOR_API GuardDecision evaluate_candidate(const Scorer& serving, const Scorer& candidate,
                                            const Evaluator& holdout,
                                            const GuardOptions& options = {});

/// The same on a train/held-out pair of users x items matrices (the train matrix gives the items
/// each user already has, excluded from the rankings); both scorers must score that item space.
TAILOR_API GuardDecision evaluate_candidate(const Scorer& serving, const Scorer& candidate,
                                            const SparseMatrix& train, const SparseMatrix& holdout,
                                            const GuardOptions& options = {});

}  // namespace tailor
