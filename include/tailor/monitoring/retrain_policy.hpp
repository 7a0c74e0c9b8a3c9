// tailor: when to retrain, whether to serve the retrained model, and how long incremental
// updates can stand in for a full retrain.
//
//   RetrainPolicy        decides from plain signals (the clock, event counters, a drift verdict,
//                        an online metric) whether a full retrain is due, and says why. It keeps
//                        no state and reads no clock: the host passes `now`, so decisions are
//                        deterministic and testable.
//   evaluate_candidate   the guard: scores the serving and the candidate model on recent held-out
//                        data with the Evaluator and accepts the candidate only if it is not worse
//                        than the serving model by more than a margin. The caller keeps the
//                        previous model for rollback.
//   measure_incremental_drift
//                        trains ALS on a prefix of a time-ordered event stream, adds N further
//                        events by fold-in, by partial_fit or by a full refit, and measures how far
//                        the incremental models fall behind the refit on the events that follow
//                        (nDCG@k, and overlap of top lists with the refit). suggest_incremental_fraction
//                        turns such a study into the policy's max_incremental_fraction.
//
// **Example** (a host's retrain loop):
//   tailor::RetrainPolicy policy;  // daily, on drift, on a 10% metric drop, incremental limit
//   tailor::RetrainSignals s;
//   s.now = now_ms; s.last_retrain = last_ms; s.events_since_retrain = n; s.training_events = t;
//   s.drifted = monitor.report().drifted;
//   if (auto why = policy.should_retrain(s)) {
//     auto candidate = train(...);                        // off the serving path
//     auto d = tailor::evaluate_candidate(serving, *candidate, recent_holdout);
//     if (d.accept) swap_in(candidate); else log(d.reason);
//   }
//
// Thread-safety: RetrainPolicy is immutable after construction and thread-safe; the option,
// signal and result structs are plain value types (thread-compatible); evaluate_candidate and
// measure_incremental_drift are thread-safe (they share nothing; the scorers passed in must allow
// concurrent const calls, as Scorer requires).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/models/als.hpp"
#include "tailor/models/scorers.hpp"
#include "tailor/evaluation/evaluator.hpp"
#include "tailor/data/event.hpp"
#include "tailor/data/interaction_matrix.hpp"
#include "tailor/core/types.hpp"

namespace tailor {

// ---- incremental limit --------------------------------------------------------------------------

/// How many new events, as a fraction of the events the serving model was fully trained on, can
/// be absorbed by fold-in before a full retrain is due. Measured by tests/test_incremental.cpp on
/// Online Retail (README, "Monitoring and retraining"): with fold-in of the affected users,
/// nDCG@10 stayed within 5% of a full refit up to this fraction of new events.
inline constexpr double kSuggestedIncrementalFraction = 0.05;

/// The number of new events after which a full retrain is suggested for a model trained on
/// `training_events` events: ceil(fraction * training_events), at least 1. Throws
/// Error(invalid_argument) unless fraction is finite and > 0.
std::uint64_t suggested_full_retrain_events(std::uint64_t training_events,
                                            double fraction = kSuggestedIncrementalFraction);

// ---- policy -------------------------------------------------------------------------------------

/// Options of RetrainPolicy; each trigger can be switched off. Times are in ms (Timestamp units).
/// Defaults: daily, on drift, on a 10% relative drop of the online metric (once 1,000 samples
/// back it), when new events exceed kSuggestedIncrementalFraction of the training events, and
/// never twice within one hour.
struct RetrainPolicyOptions {
  std::uint64_t every_events = 0;                  ///< retrain after this many new events; 0 = off
  Timestamp every_ms = 24LL * 3600 * 1000;         ///< retrain when the model is this old; 0 = off
  bool on_drift = true;                            ///< retrain when the drift monitor says drifted
  /// Retrain when the online metric fell by this fraction of its value after the last retrain,
  /// in [0, 1); 0 = off.
  double max_metric_drop = 0.1;
  std::uint64_t min_metric_samples = 1000;  ///< the metric is trusted from this many samples on
  /// Retrain when events_since_retrain >= this fraction of training_events (see
  /// suggested_full_retrain_events); finite, >= 0; 0 = off.
  double max_incremental_fraction = kSuggestedIncrementalFraction;
  Timestamp min_interval_ms = 3600LL * 1000;  ///< no trigger fires sooner after a retrain, >= 0

  /// Throws Error(invalid_argument) naming the first field out of range.
  void validate() const;
  nlohmann::json to_json() const;
};

/// What the host knows when it asks whether to retrain. All plain values.
struct RetrainSignals {
  Timestamp now = 0;                      ///< the host's clock (ms)
  std::optional<Timestamp> last_retrain;  ///< when the serving model was trained; none = no model
  std::uint64_t events_since_retrain = 0; ///< events ingested since then
  std::uint64_t training_events = 0;      ///< events the serving model was trained on; 0 = unknown
  bool drifted = false;                   ///< DriftReport::drifted
  std::string drift_reason;               ///< e.g. DriftReport::reasons.front(), quoted in the reason
  std::optional<double> metric;           ///< online metric now, higher is better (e.g. CTR)
  std::optional<double> metric_baseline;  ///< its value right after the last retrain
  std::uint64_t metric_samples = 0;       ///< observations behind `metric`
};

/// Decides whether a full retrain is due.
/// Thread-safety: thread-safe (immutable after construction).
class RetrainPolicy {
 public:
  /// Throws Error(invalid_argument) if options.validate() does.
  explicit RetrainPolicy(RetrainPolicyOptions options = {});

  const RetrainPolicyOptions& options() const noexcept { return options_; }

  /// The reason to retrain now, or nullopt. Checked in this order, the first that fires wins:
  ///   1. no model yet (last_retrain empty): always, regardless of the cool-down;
  ///   2. cool-down: now - last_retrain < min_interval_ms: nullopt (a clock that went backwards
  ///      counts as no time elapsed);
  ///   3. every_events; 4. max_incremental_fraction (needs training_events > 0); 5. every_ms;
  ///   6. on_drift; 7. max_metric_drop (needs metric, a baseline > 0 and enough samples).
  /// Throws Error(invalid_argument) for a non-finite metric or baseline.
  std::optional<std::string> should_retrain(const RetrainSignals& signals) const;

 private:
  RetrainPolicyOptions options_;
};

// ---- guard --------------------------------------------------------------------------------------

/// The metric the guard compares.
enum class GuardMetric { ndcg, recall, precision, map, hit_rate };
/// "ndcg", "recall", "precision", "map", "hit_rate".
const char* guard_metric_name(GuardMetric metric) noexcept;

/// How GuardOptions::margin is read.
enum class MarginKind {
  relative,  ///< accept when candidate >= serving * (1 - margin)
  absolute,  ///< accept when candidate >= serving - margin
};

/// Options of evaluate_candidate. Defaults: nDCG@10, a candidate may be up to 2% (relative) worse
/// than the serving model, at least 20 held-out users, no decision without evidence (keep serving).
struct GuardOptions {
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
struct GuardDecision {
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
GuardDecision evaluate_candidate(const Scorer& serving, const Scorer& candidate,
                                 const Evaluator& holdout, const GuardOptions& options = {});

/// The same on a train/held-out pair of users x items matrices (the train matrix gives the items
/// each user already has, excluded from the rankings); both scorers must score that item space.
GuardDecision evaluate_candidate(const Scorer& serving, const Scorer& candidate,
                                 const SparseMatrix& train, const SparseMatrix& holdout,
                                 const GuardOptions& options = {});

// ---- incremental versus full --------------------------------------------------------------------

/// Options of measure_incremental_drift. Defaults: ALS with 32 factors, 8 iterations and lambda
/// 0.05, logarithmic confidence with alpha 8 (the Online Retail demo's), anonymous events skipped,
/// N = 1k, 10k and 50k new events, the following 20k events held out, purchases relevant, 3 seeds.
struct IncrementalStudyOptions {
  ALSOptions als = default_als();
  InteractionMatrixOptions matrix = default_matrix();
  std::size_t prefix_events = 0;  ///< events the first model is trained on, >= 1 (required)
  std::vector<std::size_t> new_events = {1000, 10000, 50000};  ///< N values, each >= 1
  std::size_t test_events = 20000;  ///< events after prefix + N scanned for held-out pairs, >= 1
  /// Event types whose (user, item) pairs in the held-out events are relevant (only items new to
  /// the user and known to the models count); empty = every type.
  std::vector<EventType> relevant_types = {EventType::purchase};
  std::size_t k = 10;           ///< nDCG cut-off, >= 1
  std::size_t overlap_k = 20;   ///< length of the top lists compared with the full refit, >= 1
  std::vector<int> partial_fit_iterations = {0, 1, 2};  ///< each >= 0
  /// Also refit with seed + 1000: the overlap two full refits reach, the floor set by randomness.
  bool refit_seed_noise = true;
  /// The whole study is run with ALS seeds als.seed, als.seed + 1, ... and every figure is the
  /// mean over these runs (single runs on a few hundred held-out users vary by several percent).
  std::size_t repeats = 3;

  static ALSOptions default_als();
  static InteractionMatrixOptions default_matrix();
  /// Throws Error(invalid_argument) naming the first field out of range.
  void validate() const;
  nlohmann::json to_json() const;
};

/// One way of updating the prefix model, measured at one N.
struct IncrementalMethod {
  /// "full_refit", "full_refit_other_seed", "fold_in", "partial_fit_0", "partial_fit_1", ...,
  /// "stale" (the prefix model unchanged; users new in the N events score nothing).
  std::string name;
  double ndcg = std::numeric_limits<double>::quiet_NaN();        ///< mean nDCG@k (held-out pairs)
  double ndcg_ratio = std::numeric_limits<double>::quiet_NaN();  ///< ndcg / the full refit's ndcg
  /// Mean over held-out users (and seeds) of |top list ∩ the same seed's full refit's top list| /
  /// overlap_k. Rankings, not raw factors, are compared: ALS factors are only defined up to a
  /// rotation, so cosines between factor vectors of two fits say nothing.
  double overlap = std::numeric_limits<double>::quiet_NaN();
  nlohmann::json to_json() const;
};

/// The measurement at one N.
struct IncrementalPoint {
  std::size_t new_events = 0;
  std::size_t training_events = 0;  ///< the prefix
  double new_fraction = 0.0;        ///< new_events / training_events
  std::size_t affected_users = 0;   ///< users with an event among the N (fold-in recomputes them)
  std::size_t new_users = 0;        ///< of which first seen among the N
  std::size_t new_items = 0;        ///< items first seen among the N
  std::size_t test_users = 0;       ///< held-out users evaluated
  std::size_t relevant_pairs = 0;
  std::vector<IncrementalMethod> methods;  ///< full_refit first

  /// The method called `name`; throws Error(invalid_argument) if absent.
  const IncrementalMethod& method(const std::string& name) const;
  nlohmann::json to_json() const;
};

/// What measure_incremental_drift returns.
struct IncrementalStudy {
  std::vector<IncrementalPoint> points;  ///< in the order of options.new_events
  nlohmann::json options;                ///< IncrementalStudyOptions::to_json()
  nlohmann::json to_json() const;
};

/// Runs the study on `events` (sorted by time here, stably). For each N: the prefix model (fit on
/// the first prefix_events events) is updated with the next N events by
///   fold_in        fold_in_user for every user with an event among the N (new users included),
///                  over their items known to the prefix model; items first seen among the N
///                  cannot be scored (ranked last);
///   partial_fit_j  ALSFactorizer::partial_fit(prefix + N, j) on a copy of the prefix model;
///   full_refit     a new fit on prefix + N (same options and seed);
/// and each model is evaluated on the held-out pairs: (user, item) pairs of the relevant types in
/// the test_events events after prefix + N whose user and item appear in prefix + N and whose item
/// the user did not have there. Users and items are indexed in order of first appearance, so the
/// prefix model's rows are the first rows of every later matrix. Throws Error(invalid_argument)
/// if options.validate() fails or prefix_events + max(N) + test_events exceeds events.size().
IncrementalStudy measure_incremental_drift(std::vector<Event> events,
                                           const IncrementalStudyOptions& options);

/// The largest new_fraction of `study` up to which `method` kept ndcg >= (1 - tolerance) * the
/// full refit's at every point (points taken in increasing N); 0 if it failed at the first point.
/// Use it as RetrainPolicyOptions::max_incremental_fraction. Throws Error(invalid_argument) for an
/// unknown method, an empty study or tolerance outside [0, 1).
double suggest_incremental_fraction(const IncrementalStudy& study,
                                    const std::string& method = "fold_in", double tolerance = 0.05);

}  // namespace tailor
