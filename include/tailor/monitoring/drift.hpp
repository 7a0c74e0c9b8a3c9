// tailor: drift detection, i.e. has the traffic moved away from what the model was trained on?
//
// Two windows of events are compared: a reference (typically the recent traffic at the time the
// serving model was trained) and the current window. Four signals:
//
//   event_type_mix   PSI over the event types (one bin per type seen in either window), with the
//                    p-value of Pearson's chi-square test of homogeneity of the 2 x types table
//                    for information (large windows make tiny shifts significant, so the verdict
//                    rests on PSI);
//   item_popularity  PSI over the reference's `top_items` most frequent items plus one "other" bin
//                    (every other item, including items the reference never saw);
//   unseen_items     the share of the current window's item events whose item never appears in
//                    the reference (new products the model cannot score, or a catalog change);
//   scores           two-sample Kolmogorov-Smirnov test between samples of the recommendation
//                    scores the host served in each window (see DriftMonitor::observe_score).
//
// Population stability index of a reference distribution e and a current distribution a over the
// same bins: PSI = sum_i (a_i - e_i) ln(a_i / e_i), with every proportion floored at an epsilon
// (`psi_epsilon`, default 1e-4) so that an empty bin gives a large but finite term instead of an
// infinite one. Rule of thumb used by the defaults (credit scoring practice, e.g. Siddiqi 2006):
// PSI < 0.1 no significant shift, 0.1 to 0.25 moderate shift, >= 0.25 major shift. By default only
// a major shift counts as drift. PSI is noisy on small windows: with B bins and N, M events its
// expected value without any drift is about (B - 1)(1/N + 1/M); the report states it and signals
// are not evaluated below `min_events` events per window.
//
// Two-sample KS: D = max_x |F_a(x) - F_b(x)| over the empirical distribution functions, and the
// asymptotic p-value Q_KS(sqrt(n m / (n + m)) D) with the Kolmogorov distribution's survival
// function Q_KS(l) = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 l^2) (what scipy calls kstwobign.sf).
// Large samples make tiny shifts significant, so score drift needs both p < ks_p_value and
// D >= ks_min_statistic (an effect-size floor).
//
// Feeding. DriftProfile summarises one window (counts per event type and per item, a sample of
// scores); compare_profiles() turns two profiles into a DriftReport. DriftMonitor keeps the
// current window for a serving process: observe(event) is O(1) (one hash update under a mutex),
// the window slides in `window_buckets` steps of window_ms / window_buckets, and the clock is the
// latest event or score time seen (or advance(now)). After a retrain the host freezes the current
// window as the new reference with set_reference_from_current().
//
// **Example**:
//   tailor::DriftMonitor monitor;                      // 7-day window, PSI drift at 0.25
//   monitor.set_reference(tailor::DriftProfile::from_events(last_week_events));
//   for (const auto& e : incoming) monitor.observe(e);  // from the ingest path
//   tailor::DriftReport r = monitor.report();
//   if (r.drifted) std::cout << r.to_json().dump(2);
//
// Thread-safety: DriftMonitor is thread-safe. DriftOptions, DriftProfile and DriftReport are plain
// value types (thread-compatible); the free functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/data/event.hpp"
#include "tailor/stats/hypothesis.hpp"

namespace tailor {

/// Options of DriftMonitor and compare_profiles. Defaults: PSI >= 0.25 (major) is drift,
/// moderate (>= 0.1) is reported but not drift; top 20 items; 25% unseen-item traffic; scores
/// drift at p < 0.01 with D >= 0.1; at least 1,000 events and 200 scores per window; a 7-day
/// window sliding in 28 steps of 6 hours; 20,000 score samples per window.
struct TAILOR_API DriftOptions {
  double psi_moderate = 0.1;   ///< PSI at or above this is a "moderate" shift; > 0
  double psi_major = 0.25;     ///< PSI at or above this is a "major" shift; >= psi_moderate
  bool drift_on_moderate = false;  ///< true: a moderate shift already counts as drift
  double psi_epsilon = stats::kPsiEpsilon;  ///< floor of bin proportions, in (0, 0.01]
  std::size_t top_items = 20;  ///< reference items with their own popularity bin, >= 1
  /// Drift when this share (0, 1] of the current item events is on items unseen in the reference.
  double unseen_item_share = 0.25;
  double ks_p_value = 0.01;        ///< score drift needs p below this, in (0, 1)
  double ks_min_statistic = 0.1;   ///< ... and D at least this, in [0, 1]
  std::size_t min_events = 1000;   ///< fewer events in a window: event signals not evaluated; >= 1
  std::size_t min_scores = 200;    ///< fewer scores in a window: score signal not evaluated; >= 1
  /// DriftMonitor's current window, > 0 (ms): the window_buckets most recent buckets of
  /// floor(window_ms / window_buckets) ms each, the newest one still filling, so the window spans
  /// between (1 - 1 / window_buckets) and 1 times window_ms of traffic.
  Timestamp window_ms = 7LL * 24 * 3600 * 1000;
  std::size_t window_buckets = 28;  ///< steps the window slides by, in [1, 100000], <= window_ms
  std::size_t max_score_samples = 20000;  ///< scores kept per window (reservoirs), >= window_buckets
  std::size_t report_bins = 10;     ///< largest PSI contributions listed per signal in a report
  std::uint64_t seed = 42;          ///< seeds the score reservoirs

  /// Throws Error(invalid_argument) naming the first field out of range.
  void validate() const;
  nlohmann::json to_json() const;
};

/// What one window of traffic looked like: enough to compare two windows.
/// Thread-safety: plain value type; thread-compatible.
struct TAILOR_API DriftProfile {
  std::uint64_t events = 0;       ///< events added
  std::uint64_t item_events = 0;  ///< events with a non-empty item
  std::map<std::uint16_t, std::uint64_t> event_types;   ///< count per EventType code
  std::unordered_map<std::string, std::uint64_t> items;  ///< count per item ID
  std::vector<double> scores;     ///< a sample of the recommendation scores served
  std::uint64_t scores_seen = 0;  ///< scores observed (scores may hold a subsample)
  Timestamp first_time = std::numeric_limits<Timestamp>::max();  ///< earliest event time
  Timestamp last_time = std::numeric_limits<Timestamp>::min();   ///< latest event time

  /// Counts one event (its type, and its item unless empty).
  void add(const Event& event);
  /// Adds one score to the sample; throws Error(invalid_argument) if it is NaN.
  void add_score(double score);
  /// A profile of `events` with `scores` as its score sample (NaN scores throw, naming the index).
  static DriftProfile from_events(const std::vector<Event>& events,
                                  const std::vector<double>& scores = {});
  /// {"events", "item_events", "distinct_items", "event_types": {name: count}, "scores_seen",
  ///  "score_samples", "first_time", "last_time"} (times null when there are no events).
  nlohmann::json summary() const;
};

/// One bin of a PSI signal.
struct DriftBin {
  std::string label;            ///< event type name, item ID or "(other)"
  double reference_share = 0.0;
  double current_share = 0.0;
  double contribution = 0.0;    ///< this bin's term of the PSI sum
};

/// One statistic of a DriftReport.
struct TAILOR_API DriftSignal {
  std::string name;       ///< "event_type_mix", "item_popularity", "unseen_items" or "scores"
  std::string statistic;  ///< "psi", "share" or "ks"
  bool evaluated = false; ///< false when a window had too little data (see note)
  double value = std::numeric_limits<double>::quiet_NaN();      ///< PSI, share or KS D
  /// KS p-value (scores); chi-square p-value (event_type_mix, two types or more); else NaN.
  double p_value = std::numeric_limits<double>::quiet_NaN();
  double threshold = std::numeric_limits<double>::quiet_NaN();  ///< drift at value >= threshold
  /// PSI: "none", "moderate", "major"; others: "none" or "drift"; "" when not evaluated.
  std::string severity;
  bool drifted = false;
  std::uint64_t reference_count = 0;  ///< events (or scores) in the reference
  std::uint64_t current_count = 0;    ///< events (or scores) in the current window
  /// PSI only: about (bins - 1)(1/N + 1/M), the value expected without any drift.
  double expected_without_drift = std::numeric_limits<double>::quiet_NaN();
  std::vector<DriftBin> bins;  ///< PSI only: the largest contributions first (report_bins)
  std::string note;            ///< why the signal was not evaluated
  nlohmann::json to_json() const;
};

/// The comparison of a reference window and a current window.
/// Thread-safety: plain value type; thread-compatible.
struct TAILOR_API DriftReport {
  DriftSignal event_types;
  DriftSignal item_popularity;
  DriftSignal unseen_items;
  DriftSignal scores;
  bool drifted = false;              ///< any signal drifted
  std::vector<std::string> reasons;  ///< one sentence per drifted signal, with the figures
  std::vector<std::string> notes;    ///< signals not evaluated and why
  nlohmann::json reference;          ///< DriftProfile::summary() of the reference
  nlohmann::json current;            ///< DriftProfile::summary() of the current window

  /// {"drifted", "reasons", "notes", "signals": {name: DriftSignal::to_json()}, "reference",
  ///  "current"}; NaN figures are written as null.
  nlohmann::json to_json() const;
};

/// Compares `current` against `reference` on the four signals. Throws Error(invalid_argument) if
/// options.validate() does.
TAILOR_API DriftReport compare_profiles(const DriftProfile& reference, const DriftProfile& current,
                                        const DriftOptions& options = {});

/// compare_profiles of DriftProfile::from_events of each side.
TAILOR_API DriftReport compare_windows(const std::vector<Event>& reference,
                                       const std::vector<Event>& current,
                                       const DriftOptions& options = {},
                                       const std::vector<double>& reference_scores = {},
                                       const std::vector<double>& current_scores = {});

/// Keeps the current window of a serving process and compares it to a reference window.
/// Memory: per bucket, one counter per distinct item seen in it and a score reservoir of
/// max_score_samples / window_buckets values; the reference profile (one counter per item).
/// Thread-safety: thread-safe (one internal mutex; report() builds the merged window under it and
/// computes the statistics outside it).
class TAILOR_API DriftMonitor {
 public:
  /// Throws Error(invalid_argument) if options.validate() does.
  explicit DriftMonitor(DriftOptions options = {});

  const DriftOptions& options() const noexcept { return options_; }

  /// Replaces the reference window.
  void set_reference(DriftProfile reference);
  /// Makes the current window the reference (e.g. right after a retrained model is swapped in).
  /// The current window keeps its contents.
  void set_reference_from_current();
  bool has_reference() const;

  /// Counts one event in the current window at its timestamp. Events older than the window
  /// (relative to the latest time seen) are not counted; late_events() counts them. O(1).
  void observe(const Event& event);
  /// Records one recommendation score the host served at `time`. Throws Error(invalid_argument)
  /// for a NaN score. O(1).
  void observe_score(double score, Timestamp time);
  /// Moves the clock to `now` (if later than the latest time seen), expiring old buckets.
  void advance(Timestamp now);

  /// The current window merged into one profile (scores subsampled evenly across buckets).
  DriftProfile current() const;
  /// The start of the current window, [start, latest time seen]; min() before any event.
  Timestamp window_start() const;
  /// Events that arrived too late for the window.
  std::uint64_t late_events() const;

  /// compare_profiles(reference, current()). Without a reference every signal is "not
  /// evaluated" with the note "no reference window".
  DriftReport report() const;

 private:
  struct Bucket {
    std::int64_t epoch = std::numeric_limits<std::int64_t>::min();  // floor(time / width)
    DriftProfile profile;  // scores: a reservoir of at most reservoir_ capacity
  };
  Bucket& bucket_for(std::int64_t epoch);  // resets a stale slot; caller checks the epoch
  // Moves the window head to `epoch` when it is newer; false (and counted late) when `epoch` is
  // outside the window. mutex_ held.
  bool admit(std::int64_t epoch);
  bool in_window(std::int64_t epoch) const {  // epoch in (head_ - buckets, head_]
    return started_ && epoch <= head_ &&
           static_cast<std::uint64_t>(head_) - static_cast<std::uint64_t>(epoch) < buckets_.size();
  }
  std::int64_t buckets_n() const { return static_cast<std::int64_t>(buckets_.size()); }
  std::int64_t epoch_of(Timestamp t) const;
  DriftProfile merged_locked() const;

  DriftOptions options_;
  Timestamp width_ = 1;
  std::size_t reservoir_ = 1;
  mutable std::mutex mutex_;
  std::vector<Bucket> buckets_;
  bool started_ = false;  // a time has been seen
  std::int64_t head_ = 0;  // latest epoch seen
  bool has_reference_ = false;
  DriftProfile reference_;
  std::uint64_t late_ = 0;
  std::uint64_t rng_state_ = 0;
};

}  // namespace tailor
