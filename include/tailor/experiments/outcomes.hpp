// tailor: online outcome tracking for experiments. Exposures (recommendation lists shown, with
// the variants that served them) and the shopper event stream go in; per-variant metrics with the
// sufficient statistics of their tests come out.
//
// Attribution is last-touch, per item and actor (the user ID, or "session:" + session for
// anonymous shoppers, as Event::actor()):
//   - a click, add-to-cart, purchase or dwell event of actor A on item I at time t is credited
//     to the latest exposure of I to A at a time e with e <= t <= e + attribution_window (both
//     ends inclusive). A later exposure of I replaces the earlier one as the touch, even when it
//     came from no experiment (then nothing is credited): last touch wins;
//   - clicks and add-to-carts count once per exposure and item (a second click on the same shown
//     item is not a second click-through); every purchase event counts, with its value as revenue
//     (Event::value when > 0, else 0; use a revenue function to price quantities);
//   - a return of I by A at time t is credited to A's latest attributed purchase of I at time
//     p <= t <= p + return_window, once per purchase;
//   - an order is the set of attributed purchases of one actor with the same Event::session
//     (the basket or invoice); purchases without a session are one order each;
//   - dwell: events of type dwell_event that carry a value (seconds) are dwell observations,
//     attributed like clicks (default: view events with a value).
// Events are attributed when they arrive, against the exposures recorded so far: feed exposures
// and events in time order (a replay should sort them; at equal times exposures first). Outcomes
// are credited to the unit's variant in every experiment tagged on the touched exposure; a unit's
// variant in an experiment is the one of its first exposure in it (a later exposure naming
// another variant is counted as a conflict, shown in the report, and does not move the unit).
// Forced assignments (QA) are not tracked.
//
// Per variant (ExperimentMetrics): units exposed, exposures, impressions, clicks, add-to-carts,
// purchases, orders, revenue, returns, dwell; the rates CTR (clicks / impressions), conversion
// rate (units with a purchase / units), add-to-cart rate, average order value (revenue /
// orders), revenue per unit (zeros included), return rate (returns / purchases) and mean dwell
// seconds; and the per-unit moments the tests need (see MetricEstimate).
//
// Memory: per actor, the counters of each experiment it is in (kept for the life of the tracker),
// a ring of the hashes of its last dedup_window recommendation IDs, and its live touches: about
// 40 bytes per exposed item plus one shared copy of each recommendation ID, in flat arrays swept
// of expired touches whenever they double (prune() sweeps every actor at once). Items are matched
// by a 64-bit hash of their ID (a collision between two live items of one actor, about n^2 / 2^65,
// is the only way an event could be credited to the wrong item).
//
// Thread-safety: OutcomeTracker is thread-safe (actors are sharded, one mutex per shard; request
// threads may record exposures and events concurrently). The value types are thread-compatible.
//
// **Example**:
//   tailor::OutcomeTracker tracker;                      // 24 h attribution window
//   tailor::Exposure x;
//   x.recommendation_id = tailor::make_recommendation_id();
//   x.user = "customer-17850";
//   x.items = {"sku-1", "sku-2"};
//   x.variants = assignments.experiments;                // from ExperimentSet::assign
//   x.timestamp = now_ms;
//   tracker.record_exposure(x);
//   tracker.record_event(click_event);                   // attributed to x if within 24 h
//   tailor::ExperimentMetrics m = tracker.metrics("als-vs-pop");
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/data/event.hpp"
#include "tailor/experiments/experiment.hpp"
#include "tailor/stats/hypothesis.hpp"

namespace tailor {

/// Options of OutcomeTracker.
struct TAILOR_API OutcomeOptions {
  /// How long after an exposure a click, add-to-cart, purchase or dwell event is credited to it,
  /// in milliseconds, >= 0. Default 24 hours.
  Timestamp attribution_window_ms = 24LL * 3600 * 1000;
  /// How long after an attributed purchase a return is credited to it, in ms, >= 0. Default 30
  /// days.
  Timestamp return_window_ms = 30LL * 24 * 3600 * 1000;
  /// Events of this type with a value are dwell-time observations in seconds (value >= 0).
  /// nullopt: no dwell tracking. Default: view.
  std::optional<EventType> dwell_event = EventType::view;
  /// Revenue of an attributed purchase event; default (empty): Event::value when > 0, else 0.
  /// Called under a shard lock: keep it cheap and non-blocking. Must return a finite value >= 0.
  std::function<double(const Event&)> revenue;
  /// Independent actor shards (one mutex each), 1 .. 4096. Default 16.
  std::size_t shards = 16;
  /// Recent exposures kept per actor and item (older ones drop out), 1 .. 1024. Default 8.
  std::size_t max_touches_per_item = 8;
  /// Recommendation IDs (their 64-bit hashes) remembered per actor to drop duplicate exposures
  /// (retried log lines), 1 .. 4096. Default 64.
  std::size_t dedup_window = 64;

  /// Throws Error(invalid_argument) naming the field.
  void validate() const;
};

/// One recommendation response shown to a shopper.
struct Exposure {
  std::string recommendation_id;  ///< unique per response (make_recommendation_id())
  std::string user;               ///< as Event::user; empty for anonymous shoppers
  std::string session;            ///< as Event::session
  std::vector<std::string> items; ///< the items shown (duplicates count once)
  std::vector<Assignment> variants;  ///< the unit's assignments that served it (may be empty)
  Timestamp timestamp = 0;        ///< UTC ms

  /// user, or "session:" + session (Event::actor()).
  std::string actor() const { return user.empty() ? "session:" + session : user; }
};

/// What an outcome event was credited to.
struct Attribution {
  std::string recommendation_id;
  std::string item;
  EventType type = EventType::click;
  Timestamp exposed_at = 0;          ///< time of the exposure (or of the purchase, for returns)
  std::vector<Assignment> variants;  ///< the tracked assignments credited
};

/// Counts of one variant (or the holdout) of one experiment, and the per-unit moments behind
/// its tests.
struct TAILOR_API VariantMetrics {
  std::string name;      ///< variant name, or "holdout"
  bool holdout = false;
  std::uint64_t units = 0;        ///< distinct actors exposed
  std::uint64_t exposures = 0;    ///< recommendation lists shown
  std::uint64_t impressions = 0;  ///< items shown
  std::uint64_t clicks = 0;       ///< attributed, once per exposure and item
  std::uint64_t add_to_carts = 0; ///< attributed, once per exposure and item
  std::uint64_t purchases = 0;    ///< attributed purchase events
  std::uint64_t orders = 0;       ///< distinct (actor, session) among attributed purchases
  std::uint64_t returns = 0;      ///< returns of attributed purchases
  double revenue = 0;             ///< attributed revenue
  std::uint64_t dwell_events = 0;
  std::uint64_t clicking_units = 0;    ///< units with >= 1 attributed click
  std::uint64_t carting_units = 0;     ///< units with >= 1 attributed add-to-cart
  std::uint64_t converting_units = 0;  ///< units with >= 1 attributed purchase
  stats::Moments revenue_per_unit;     ///< one value per unit (zeros included)
  stats::Moments order_values;         ///< one value per order
  stats::RatioMoments click_through;   ///< per unit (clicks, impressions)
  stats::RatioMoments returns_per_purchase;  ///< per unit (returns, purchases)
  stats::RatioMoments dwell;           ///< per unit (dwell seconds, dwell events)

  double click_through_rate() const;   ///< clicks / impressions (NaN without impressions)
  double conversion_rate() const;      ///< converting_units / units (NaN without units)
  double add_to_cart_rate() const;     ///< carting_units / units
  double average_order_value() const;  ///< revenue / orders (NaN without orders)
  double revenue_per_user() const;     ///< revenue / units
  double return_rate() const;          ///< returns / purchases (NaN without purchases)
  double mean_dwell_seconds() const;   ///< dwell seconds / dwell events (NaN without)

  /// Counts and rates; undefined rates are null.
  nlohmann::json to_json() const;
};

/// An estimate of one metric for one variant, with what tests and power need.
struct TAILOR_API MetricEstimate {
  double value = 0;       ///< the metric (NaN when undefined)
  double variance = 0;    ///< variance of the estimate (not of a unit); NaN when unknown
  double n = 0;           ///< independent observations (units; orders for average order value)
  /// Per-observation standard deviation: sqrt(variance * n).
  double sd() const;
  bool defined() const;   ///< value and variance are finite and n >= 2
};

/// How a metric is tested: two_proportion (z-test, pooled), welch (t-test on per-unit or
/// per-order values) or ratio (z-test with delta-method variances).
enum class MetricTest { two_proportion, welch, ratio };
TAILOR_API MetricTest metric_test(Metric metric) noexcept;

/// The estimate of `metric` for a variant. Proportions: p and p(1-p)/units; means: mean and
/// variance/n; ratios: RatioMoments::ratio() and ratio_variance().
TAILOR_API MetricEstimate estimate(const VariantMetrics& v, Metric metric);

/// Every variant (and the holdout, if seen) of one experiment.
struct TAILOR_API ExperimentMetrics {
  std::string experiment;
  std::vector<VariantMetrics> variants;  ///< in order of first exposure; the holdout last
  std::uint64_t conflicting_units = 0;   ///< units exposed under two variants of it

  /// The variant named `name` (or "holdout"), or nullptr.
  const VariantMetrics* find(std::string_view name) const;
  nlohmann::json to_json() const;
};

/// Tracker-wide counters.
struct OutcomeCounters {
  std::uint64_t exposures = 0;            ///< recorded
  std::uint64_t duplicate_exposures = 0;  ///< dropped: recommendation ID seen for the actor
  std::uint64_t events = 0;               ///< events given to record_event
  std::uint64_t attributed = 0;           ///< events credited to an exposure or purchase
  std::uint64_t unattributed = 0;         ///< outcome events with no touch in the window
  std::uint64_t ignored = 0;              ///< events of other types (views without value, ...)
  std::uint64_t actors = 0;               ///< actors with state
  std::uint64_t live_touches = 0;         ///< exposed (actor, item) touches held for attribution
  std::uint64_t live_purchases = 0;       ///< attributed purchases held for returns
};

/// Tracks exposures and outcomes. Thread-safe.
class TAILOR_API OutcomeTracker {
 public:
  /// Throws Error(invalid_argument) when options.validate() does.
  explicit OutcomeTracker(OutcomeOptions options = {});
  ~OutcomeTracker();
  OutcomeTracker(const OutcomeTracker&) = delete;
  OutcomeTracker& operator=(const OutcomeTracker&) = delete;

  /// Records an exposure. Returns false (and counts it) when the actor already had this
  /// recommendation ID recently (a retried log line). Throws Error(invalid_argument) for an empty
  /// recommendation ID, no user and no session, an empty item ID or an assignment without
  /// experiment or variant name.
  bool record_exposure(const Exposure& exposure);

  /// Attributes one event (see the header comment). Returns what it was credited to, or nullopt.
  /// Throws Error(invalid_argument) for a negative dwell value or a bad revenue function result.
  std::optional<Attribution> record_event(const Event& event);

  /// Metrics of one experiment (empty variants when it was never exposed).
  ExperimentMetrics metrics(std::string_view experiment) const;
  /// Experiments seen in exposures, in order of first exposure.
  std::vector<std::string> experiments() const;
  /// Counters; the live_* and actors fields walk every shard (O(actors)).
  OutcomeCounters counters() const;

  /// Drops touches that can no longer be credited at time `now` (exposures older than now -
  /// attribution window, purchases older than now - return window). Counters are kept.
  void prune(Timestamp now);

  const OutcomeOptions& options() const noexcept { return options_; }

 private:
  struct Impl;
  OutcomeOptions options_;
  std::unique_ptr<Impl> impl_;
};

/// A new random recommendation ID: 32 hex digits (128 bits from a per-thread generator seeded
/// from std::random_device). Thread-safe.
TAILOR_API std::string make_recommendation_id();

}  // namespace tailor
