// tailor: when to retrain. RetrainPolicy decides from plain signals (the clock, event counters,
// a drift verdict, an online metric) whether a full retrain is due, and says why. It keeps no
// state and reads no clock: the host passes `now`, so decisions are deterministic and testable.
// Whether to serve the retrained model is the guard's call (retrain_guard.hpp); how many events
// fold-in can absorb before a retrain is measured by incremental_study.hpp.
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
// Thread-safety: RetrainPolicy is immutable after construction and thread-safe; the option and
// signal structs are plain value types (thread-compatible).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/data/event.hpp"


namespace tailor {

// ---- incremental limit --------------------------------------------------------------------------

/// How many new events, as a fraction of the events the serving model was fully trained on, can
/// be absorbed by fold-in before a full retrain is due: the default of RetrainPolicyOptions::
/// max_incremental_fraction. tests/test_incremental.cpp checks it against the study of
/// incremental_study.hpp on real data (docs/quality.md); suggest_incremental_fraction() derives
/// the limit from a study on your own data.
inline constexpr double kSuggestedIncrementalFraction = 0.05;

/// The number of new events after which a full retrain is suggested for a model trained on
/// `training_events` events: ceil(fraction * training_events), at least 1. Throws
/// Error(invalid_argument) unless fraction is finite and > 0.
TAILOR_API std::uint64_t suggested_full_retrain_events(
    std::uint64_t training_events, double fraction = kSuggestedIncrementalFraction);

// ---- policy -------------------------------------------------------------------------------------

/// Options of RetrainPolicy; each trigger can be switched off. Times are in ms (Timestamp units).
/// Defaults: daily, on drift, on a 10% relative drop of the online metric (once 1,000 samples
/// back it), when new events exceed kSuggestedIncrementalFraction of the training events, and
/// never twice within one hour.
struct TAILOR_API RetrainPolicyOptions {
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
class TAILOR_API RetrainPolicy {
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

}  // namespace tailor
