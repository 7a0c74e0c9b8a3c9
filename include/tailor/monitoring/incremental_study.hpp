// tailor: how long incremental updates can stand in for a full retrain.
// measure_incremental_drift trains ALS on a prefix of a time-ordered event stream, adds N further
// events by fold-in, by partial_fit or by a full refit, and measures how far the incremental
// models fall behind the refit on the events that follow (nDCG@k, and overlap of top lists with
// the refit). suggest_incremental_fraction turns such a study into
// RetrainPolicyOptions::max_incremental_fraction.
//
// Thread-safety: measure_incremental_drift and suggest_incremental_fraction are thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/data/event.hpp"
#include "tailor/data/interaction_matrix.hpp"
#include "tailor/models/als.hpp"

namespace tailor {

/// Options of measure_incremental_drift. Defaults: ALS with 32 factors, 8 iterations and lambda
/// 0.05, logarithmic confidence with alpha 8 (the Online Retail demo's), anonymous events skipped,
/// N = 1k, 10k and 50k new events, the following 20k events held out, purchases relevant, 3 seeds.
struct TAILOR_API IncrementalStudyOptions {
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
struct TAILOR_API IncrementalMethod {
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
struct TAILOR_API IncrementalPoint {
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
struct TAILOR_API IncrementalStudy {
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
TAILOR_API IncrementalStudy measure_incremental_drift(std::vector<Event> events,
                                                      const IncrementalStudyOptions& options);

/// The largest new_fraction of `study` up to which `method` kept ndcg >= (1 - tolerance) * the
/// full refit's at every point (points taken in increasing N); 0 if it failed at the first point.
/// Use it as RetrainPolicyOptions::max_incremental_fraction. Throws Error(invalid_argument) for an
/// unknown method, an empty study or tolerance outside [0, 1).
TAILOR_API double suggest_incremental_fraction(const IncrementalStudy& study,
                                               const std::string& method = "fold_in",
                                               double tolerance = 0.05);

}  // namespace tailor
