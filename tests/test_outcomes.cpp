// Tests of tailor/outcomes.hpp and tailor/experiment_report.hpp: last-touch attribution and its
// window edges, per-variant metrics on a hand-computed scenario, concurrent ingestion, and the
// report's verdicts on synthetic shoppers (known lift, no lift, negative lift, skewed traffic,
// fixed-horizon peeking guard, three variants with Holm).
#include "catch.hpp"

#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/error.hpp"
#include "tailor/experiments/experiment.hpp"
#include "tailor/experiments/report.hpp"
#include "tailor/experiments/outcomes.hpp"

using namespace tailor;
using nlohmann::json;

namespace {

constexpr Timestamp kHour = 3600 * 1000;
constexpr Timestamp kDay = 24 * kHour;
constexpr Timestamp kT0 = 1'700'000'000'000;

Assignment tag(const std::string& experiment, const std::string& variant) {
  Assignment a;
  a.experiment = experiment;
  a.variant = variant;
  a.holdout = variant == kHoldoutVariant;
  return a;
}

Exposure exposure(const std::string& rec, const std::string& user, std::vector<std::string> items,
                  std::vector<Assignment> variants, Timestamp t) {
  Exposure x;
  x.recommendation_id = rec;
  x.user = user;
  x.items = std::move(items);
  x.variants = std::move(variants);
  x.timestamp = t;
  return x;
}

Event event(const std::string& user, const std::string& item, EventType type, Timestamp t,
            std::optional<double> value = std::nullopt, const std::string& session = "") {
  Event e;
  e.user = user;
  e.item = item;
  e.type = type;
  e.timestamp = t;
  e.value = value;
  e.session = session;
  return e;
}

bool invalid(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
  } catch (const Error& e) {
    INFO(e.what());
    return e.code() == ErrorCode::invalid_argument && std::string(e.what()).find(needle) != std::string::npos;
  }
  return false;
}

}  // namespace

TEST_CASE("Attribution: the window is inclusive at both ends and last touch wins", "[outcomes]") {
  OutcomeOptions o;
  o.attribution_window_ms = 2 * kHour;
  OutcomeTracker t(o);
  REQUIRE(t.record_exposure(exposure("r1", "u", {"a", "b", "c", "d"}, {tag("exp", "B")}, kT0)));

  // Before the exposure: not attributed.
  CHECK_FALSE(t.record_event(event("u", "a", EventType::click, kT0 - 1)));
  // At the exposure time and exactly at the end of the window: attributed.
  const auto at_start = t.record_event(event("u", "a", EventType::click, kT0));
  REQUIRE(at_start);
  CHECK(at_start->recommendation_id == "r1");
  CHECK(at_start->exposed_at == kT0);
  REQUIRE(at_start->variants.size() == 1);
  CHECK(at_start->variants[0] == tag("exp", "B"));
  CHECK(t.record_event(event("u", "b", EventType::click, kT0 + 2 * kHour)));
  // One millisecond later: not.
  CHECK_FALSE(t.record_event(event("u", "c", EventType::click, kT0 + 2 * kHour + 1)));
  // Other item, other user: not.
  CHECK_FALSE(t.record_event(event("u", "zz", EventType::click, kT0 + 1)));
  CHECK_FALSE(t.record_event(event("v", "a", EventType::click, kT0 + 1)));
  // A second click on the same shown item is attributed but not a second click-through.
  CHECK(t.record_event(event("u", "a", EventType::click, kT0 + 5)));
  ExperimentMetrics m = t.metrics("exp");
  REQUIRE(m.variants.size() == 1);
  CHECK(m.variants[0].clicks == 2);  // a and b
  CHECK(m.variants[0].impressions == 4);

  // A newer exposure of "d" from no experiment takes the touch: the purchase is attributed to it
  // and credits nothing to the experiment.
  REQUIRE(t.record_exposure(exposure("r2", "u", {"d"}, {}, kT0 + kHour)));
  const auto bought = t.record_event(event("u", "d", EventType::purchase, kT0 + kHour + 10, 30.0));
  REQUIRE(bought);
  CHECK(bought->recommendation_id == "r2");
  CHECK(bought->variants.empty());
  CHECK(t.metrics("exp").variants[0].purchases == 0);

  // The latest touch at or before the event decides, even if it is later than an older one in
  // the window: r3 at +3h shows "c" again; a click at +4.5h is within r3's window.
  REQUIRE(t.record_exposure(exposure("r3", "u", {"c"}, {tag("exp", "B")}, kT0 + 3 * kHour)));
  const auto late = t.record_event(event("u", "c", EventType::click, kT0 + 4 * kHour + 30 * 60 * 1000));
  REQUIRE(late);
  CHECK(late->recommendation_id == "r3");
  // An event between two exposures of one item goes to the earlier one.
  REQUIRE(t.record_exposure(exposure("r4", "u", {"e"}, {tag("exp", "B")}, kT0 + 5 * kHour)));
  REQUIRE(t.record_exposure(exposure("r5", "u", {"e"}, {tag("exp", "B")}, kT0 + 6 * kHour)));
  const auto between = t.record_event(event("u", "e", EventType::add_to_cart, kT0 + 5 * kHour + 1));
  REQUIRE(between);
  CHECK(between->recommendation_id == "r4");

  // Duplicate recommendation IDs (retried log lines) count once.
  CHECK_FALSE(t.record_exposure(exposure("r5", "u", {"e"}, {tag("exp", "B")}, kT0 + 6 * kHour)));
  const OutcomeCounters c = t.counters();
  CHECK(c.exposures == 5);
  CHECK(c.duplicate_exposures == 1);
  CHECK(t.metrics("exp").variants[0].exposures == 4);
}

TEST_CASE("Attribution: returns, orders, dwell, anonymous sessions, holdouts and forced variants",
          "[outcomes]") {
  OutcomeOptions o;
  o.attribution_window_ms = kDay;
  o.return_window_ms = 10 * kDay;
  OutcomeTracker t(o);
  t.record_exposure(exposure("r1", "u", {"a", "b", "c"}, {tag("exp", "A")}, kT0));
  // Two purchases in one basket (session "inv-1"), one without session: two orders.
  CHECK(t.record_event(event("u", "a", EventType::purchase, kT0 + 10, 20.0, "inv-1")));
  CHECK(t.record_event(event("u", "b", EventType::purchase, kT0 + 11, 5.0, "inv-1")));
  CHECK(t.record_event(event("u", "c", EventType::purchase, kT0 + 12, std::nullopt)));  // no value
  // Return of "a" within 10 days: credited; a second return of the same purchase: not; return of
  // "b" after 10 days + 1 ms: not.
  const auto ret = t.record_event(event("u", "a", EventType::return_, kT0 + 10 * kDay + 10));
  REQUIRE(ret);
  CHECK(ret->exposed_at == kT0 + 10);  // the purchase it was credited to
  CHECK_FALSE(t.record_event(event("u", "a", EventType::return_, kT0 + 10 * kDay + 20)));
  CHECK_FALSE(t.record_event(event("u", "b", EventType::return_, kT0 + 11 + 10 * kDay + 1)));
  // Dwell: views with a value are dwell seconds; views without one are ignored.
  CHECK(t.record_event(event("u", "a", EventType::view, kT0 + 100, 12.5)));
  CHECK(t.record_event(event("u", "b", EventType::view, kT0 + 200, 7.5)));
  CHECK_FALSE(t.record_event(event("u", "b", EventType::view, kT0 + 300)));
  CHECK(invalid([&] { t.record_event(event("u", "a", EventType::view, kT0 + 400, -1.0)); }, "dwell seconds"));

  const ExperimentMetrics m = t.metrics("exp");
  REQUIRE(m.variants.size() == 1);
  const VariantMetrics& v = m.variants[0];
  CHECK(v.purchases == 3);
  CHECK(v.orders == 2);
  CHECK(v.revenue == 25.0);
  CHECK(v.average_order_value() == 12.5);
  CHECK(v.returns == 1);
  CHECK(v.return_rate() == Approx(1.0 / 3.0));
  CHECK(v.dwell_events == 2);
  CHECK(v.mean_dwell_seconds() == 10.0);
  CHECK(v.converting_units == 1);
  CHECK(v.conversion_rate() == 1.0);

  // Anonymous shoppers are tracked by session; a logged-in event is another actor.
  Exposure anon = exposure("r9", "", {"x"}, {tag("exp", "B")}, kT0);
  anon.session = "s-7";
  t.record_exposure(anon);
  Event by_session = event("", "x", EventType::click, kT0 + 5);
  by_session.session = "s-7";
  CHECK(t.record_event(by_session));
  Event by_user = event("someone", "x", EventType::click, kT0 + 6);
  by_user.session = "s-7";
  CHECK_FALSE(t.record_event(by_user));

  // Holdout units are tracked apart and listed last; forced exposures are not tracked.
  t.record_exposure(exposure("r10", "h", {"x"}, {tag("exp", "holdout")}, kT0));
  Assignment forced = tag("exp", "A");
  forced.forced = true;
  t.record_exposure(exposure("r11", "qa", {"x"}, {forced}, kT0));
  const ExperimentMetrics m2 = t.metrics("exp");
  REQUIRE(m2.variants.size() == 3);
  CHECK(m2.variants[2].holdout);
  CHECK(m2.find("holdout")->units == 1);
  CHECK(m2.find("A")->units == 1);  // "qa" not counted
  CHECK(m2.find("B")->units == 1);

  // A unit exposed under two variants is a conflict and stays in its first.
  t.record_exposure(exposure("r12", "u", {"z"}, {tag("exp", "B")}, kT0 + 1000));
  const ExperimentMetrics m3 = t.metrics("exp");
  CHECK(m3.conflicting_units == 1);
  CHECK(m3.find("A")->units == 1);
  CHECK(t.metrics("never").variants.empty());

  // Bad input.
  CHECK(invalid([&] { t.record_exposure(exposure("", "u", {"a"}, {}, kT0)); }, "recommendation_id"));
  CHECK(invalid([&] { t.record_exposure(exposure("r", "", {"a"}, {}, kT0)); }, "needs a user or a session"));
  CHECK(invalid([&] { t.record_exposure(exposure("r", "u", {""}, {}, kT0)); }, "items[0] is empty"));
  CHECK(invalid([] { OutcomeOptions bad; bad.shards = 0; OutcomeTracker x(bad); }, "shards"));
  CHECK(invalid([] { OutcomeOptions bad; bad.attribution_window_ms = -1; bad.validate(); }, "attribution_window_ms"));
  OutcomeOptions priced;
  priced.revenue = [](const Event& e) { return e.value.value_or(0) * 2.5; };  // quantity x price
  OutcomeTracker p(priced);
  p.record_exposure(exposure("r1", "u", {"a"}, {tag("e", "A")}, kT0));
  p.record_event(event("u", "a", EventType::purchase, kT0, 4.0));
  CHECK(p.metrics("e").variants[0].revenue == 10.0);
  priced.revenue = [](const Event&) { return -1.0; };
  OutcomeTracker q(priced);
  q.record_exposure(exposure("r1", "u", {"a"}, {tag("e", "A")}, kT0));
  CHECK(invalid([&] { q.record_event(event("u", "a", EventType::purchase, kT0, 4.0)); }, "revenue"));
}

TEST_CASE("Attribution state stays bounded: sweeps, the per-item cap and prune", "[outcomes]") {
  OutcomeOptions o;
  o.attribution_window_ms = kHour;
  OutcomeTracker t(o);
  constexpr Timestamp kStep = 10 * 60 * 1000;  // an exposure every 10 minutes for a week
  constexpr int kExposures = 1000;
  for (int k = 0; k < kExposures; ++k) {
    t.record_exposure(exposure("r" + std::to_string(k), "u", {"a", "i" + std::to_string(k)}, {tag("exp", "A")},
                              kT0 + k * kStep));
    t.record_event(event("u", "a", EventType::purchase, kT0 + k * kStep + 1, 1.0));
  }
  const Timestamp last = kT0 + (kExposures - 1) * kStep;
  OutcomeCounters c = t.counters();
  // Live: the last hour's 6 exposures x 2 items, plus up to one sweep interval (64) of slack.
  CHECK(c.live_touches <= 64 + 2);
  CHECK(c.live_purchases <= 16 + 1);
  CHECK(c.actors == 1);
  // Still correct after the sweeps: "a" goes to the last exposure, old items are gone.
  const auto latest = t.record_event(event("u", "a", EventType::click, last + 30 * 60 * 1000));
  REQUIRE(latest);
  CHECK(latest->recommendation_id == "r999");
  CHECK_FALSE(t.record_event(event("u", "i5", EventType::click, kT0 + 5 * kStep + 1)));
  CHECK(t.metrics("exp").variants[0].purchases == kExposures);
  t.prune(last + 2 * kHour);
  c = t.counters();
  CHECK(c.live_touches == 0);
  CHECK(c.live_purchases == 8);  // within the 30-day return window, capped at max_touches_per_item
  t.prune(last + 31 * kDay);
  CHECK(t.counters().live_purchases == 0);
  CHECK(t.metrics("exp").variants[0].purchases == kExposures);  // counters survive pruning

  // The per-item cap: five exposures of "a" a minute apart; a late event stamped between the
  // first two finds its touch only if the cap keeps five.
  for (std::size_t cap : {3, 8}) {
    OutcomeOptions capped;
    capped.max_touches_per_item = cap;
    OutcomeTracker tc(capped);
    for (int k = 0; k < 5; ++k)
      tc.record_exposure(exposure("c" + std::to_string(k), "u", {"a"}, {tag("exp", "A")}, kT0 + k * 60'000));
    const auto late = tc.record_event(event("u", "a", EventType::click, kT0 + 30'000));
    CHECK(late.has_value() == (cap == 8));
  }
}

TEST_CASE("Recommendation IDs are 32 hex digits and unique across threads", "[outcomes][threads]") {
  std::vector<std::vector<std::string>> ids(2);
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < ids.size(); ++w) {
    threads.emplace_back([&ids, w] {
      for (int i = 0; i < 5000; ++i) ids[w].push_back(make_recommendation_id());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& list : ids) {
    for (const auto& id : list) {
      CHECK(id.size() == 32);
      CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
      all.insert(id);
    }
  }
  CHECK(all.size() == 10000);
}

TEST_CASE("Per-variant metrics and their moments on a hand-computed scenario", "[outcomes]") {
  OutcomeTracker t;
  // A: u1 sees 2 lists of 3 items, clicks 2, buys 1 for 10; u2 sees 1 list of 3, nothing.
  t.record_exposure(exposure("a1", "u1", {"i1", "i2", "i3"}, {tag("x", "A")}, kT0));
  t.record_exposure(exposure("a2", "u1", {"i4", "i5", "i6"}, {tag("x", "A")}, kT0 + 1));
  t.record_exposure(exposure("a3", "u2", {"i1", "i2", "i3"}, {tag("x", "A")}, kT0 + 2));
  t.record_event(event("u1", "i1", EventType::click, kT0 + 10));
  t.record_event(event("u1", "i5", EventType::click, kT0 + 11));
  t.record_event(event("u1", "i5", EventType::add_to_cart, kT0 + 12));
  t.record_event(event("u1", "i5", EventType::purchase, kT0 + 13, 10.0));
  // B: u3 sees 1 list of 2, clicks 1, buys 2 items for 4 + 6 in one basket.
  t.record_exposure(exposure("b1", "u3", {"i1", "i2"}, {tag("x", "B")}, kT0));
  t.record_event(event("u3", "i2", EventType::click, kT0 + 5));
  t.record_event(event("u3", "i1", EventType::purchase, kT0 + 6, 4.0, "basket"));
  t.record_event(event("u3", "i2", EventType::purchase, kT0 + 6, 6.0, "basket"));
  const ExperimentMetrics m = t.metrics("x");
  const VariantMetrics& a = *m.find("A");
  const VariantMetrics& b = *m.find("B");
  CHECK(a.units == 2);
  CHECK(a.exposures == 3);
  CHECK(a.impressions == 9);
  CHECK(a.click_through_rate() == Approx(2.0 / 9.0));
  CHECK(a.conversion_rate() == 0.5);
  CHECK(a.add_to_cart_rate() == 0.5);
  CHECK(a.revenue_per_user() == 5.0);
  CHECK(a.average_order_value() == 10.0);
  CHECK(b.click_through_rate() == 0.5);
  CHECK(b.orders == 1);
  CHECK(b.average_order_value() == 10.0);
  CHECK(b.revenue_per_user() == 10.0);
  // Moments: revenue per unit of A is {10, 0}: mean 5, sample variance 50.
  CHECK(a.revenue_per_unit.mean == 5.0);
  CHECK(a.revenue_per_unit.variance() == Approx(50.0));
  const MetricEstimate e = estimate(a, Metric::revenue_per_user);
  CHECK(e.variance == Approx(25.0));
  CHECK(e.n == 2);
  const MetricEstimate ctr = estimate(a, Metric::click_through_rate);
  CHECK(ctr.value == Approx(2.0 / 9.0));
  // Units (clicks, impressions): (2, 6), (0, 3). R = 2/9; s_xx = 2, s_yy = 4.5, s_xy = 3;
  // var = (2 - 2 R 3 + R^2 4.5) / (2 * 4.5^2).
  const double r = 2.0 / 9.0;
  CHECK(ctr.variance == Approx((2 - 2 * r * 3 + r * r * 4.5) / (2 * 4.5 * 4.5)));
  const json j = m.to_json();
  CHECK(j["variants"].size() == 2);
  CHECK(j["variants"][0]["mean_dwell_seconds"].is_null());
}

TEST_CASE("Concurrent ingestion from many threads loses nothing", "[outcomes][threads]") {
  OutcomeTracker t;
  constexpr int kThreads = 4;
  constexpr int kUsers = 500;
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&t, w] {
      for (int u = 0; u < kUsers; ++u) {
        const std::string user = "t" + std::to_string(w) + "-u" + std::to_string(u);
        const std::string variant = u % 2 == 0 ? "A" : "B";
        t.record_exposure(exposure(user + "-r", user, {"a", "b"}, {tag("exp", variant)}, kT0 + u));
        t.record_event(event(user, "a", EventType::click, kT0 + u + 1));
        if (u % 5 == 0) t.record_event(event(user, "b", EventType::purchase, kT0 + u + 2, 3.0));
        if (u % 100 == 0) (void)t.metrics("exp");  // readers interleave with writers
      }
    });
  }
  for (auto& th : threads) th.join();
  const ExperimentMetrics m = t.metrics("exp");
  REQUIRE(m.variants.size() == 2);
  const std::uint64_t units = m.variants[0].units + m.variants[1].units;
  CHECK(units == kThreads * kUsers);
  CHECK(m.variants[0].clicks + m.variants[1].clicks == kThreads * kUsers);
  CHECK(m.variants[0].purchases + m.variants[1].purchases == kThreads * (kUsers / 5));
  CHECK(m.find("A")->units == kThreads * kUsers / 2);
  CHECK(t.counters().attributed == kThreads * (kUsers + kUsers / 5));
}

// ---------------------------------------------------------------------------------------------
// The report on synthetic shoppers. Each shopper is assigned by an ExperimentSet, sees one
// recommendation list, and buys a recommended item with the true rate of its variant (optionally
// clicking first), with a lognormal order value. Fixed seeds.

namespace {

struct Shoppers {
  std::size_t users = 4000;
  std::map<std::string, double> conversion;  // true rate per variant
  double click_rate = 0.3;
  std::string drop_variant;  // lose this share of this variant's exposures (SRM)
  double drop_share = 0.0;
  std::uint64_t seed = 1;
};

ExperimentMetrics simulate(const ExperimentSet& set, const std::string& experiment, const Shoppers& s) {
  OutcomeTracker tracker;
  std::mt19937_64 rng(s.seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::lognormal_distribution<double> price(3.0, 0.5);
  for (std::size_t i = 0; i < s.users; ++i) {
    ExperimentContext ctx;
    ctx.user = "shopper-" + std::to_string(s.seed) + "-" + std::to_string(i);
    const Assignments a = set.assign(ctx);
    const Assignment* mine = a.find(experiment);
    if (mine == nullptr) continue;
    if (mine->variant == s.drop_variant && u(rng) < s.drop_share) continue;  // lost log line
    const Timestamp t = kT0 + static_cast<Timestamp>(i) * 1000;
    tracker.record_exposure(exposure(make_recommendation_id(), ctx.user, {"p1", "p2", "p3"}, a.experiments, t));
    const auto rate = s.conversion.find(mine->variant);
    const double p = rate == s.conversion.end() ? 0.0 : rate->second;
    if (u(rng) < s.click_rate) tracker.record_event(event(ctx.user, "p2", EventType::click, t + 10));
    if (u(rng) < p) tracker.record_event(event(ctx.user, "p1", EventType::purchase, t + 20, price(rng)));
  }
  return tracker.metrics(experiment);
}

ExperimentSet two_arms(const std::string& mode = "sequential", double holdout = 0.0) {
  json j = json::parse(R"({"experiments": [{"name": "rec", "control": "A",
      "variants": [{"name": "A", "share": 0.5}, {"name": "B", "share": 0.5}],
      "analysis": {"primary_metric": "conversion_rate", "minimum_detectable_effect": 0.3,
                   "baseline": 0.1}}]})");
  j["experiments"][0]["analysis"]["mode"] = mode;
  j["experiments"][0]["holdout"] = holdout;
  return ExperimentSet::from_json(j);
}

}  // namespace

TEST_CASE("Report: a real lift wins, no lift is inconclusive, a real loss loses", "[outcomes][report]") {
  const ExperimentSet set = two_arms("sequential", 0.1);
  const ExperimentConfig& config = *set.find("rec");

  Shoppers lift;
  lift.users = 6000;
  lift.conversion = {{"A", 0.10}, {"B", 0.16}, {"holdout", 0.10}};
  ExperimentReport r = analyze_experiment(config, simulate(set, "rec", lift));
  REQUIRE(r.results.size() == 1);
  INFO(r.to_table());
  CHECK(r.results[0].verdict == Verdict::won);
  CHECK(r.results[0].reason.rfind("Won: conversion_rate", 0) == 0);
  CHECK(r.results[0].primary.difference_ci.contains(0.06));
  CHECK(r.results[0].primary.lift_ci.lower > 0);
  CHECK(r.srm_checked);
  CHECK_FALSE(r.srm.mismatch);
  CHECK(r.variants.back().holdout);  // reported, not tested
  CHECK(r.to_table().find("WON") != std::string::npos);
  // Secondary metrics are reported and not corrected.
  bool has_ctr = false;
  for (const auto& s : r.results[0].secondary) has_ctr = has_ctr || s.metric == Metric::click_through_rate;
  CHECK(has_ctr);

  Shoppers none = lift;
  none.conversion = {{"A", 0.10}, {"B", 0.10}};
  none.seed = 2;
  r = analyze_experiment(config, simulate(set, "rec", none));
  CHECK(r.results[0].verdict == Verdict::inconclusive);
  CHECK(r.results[0].reason.find("Power to detect a 30% effect") != std::string::npos);

  Shoppers loss = lift;
  loss.conversion = {{"A", 0.12}, {"B", 0.06}};
  loss.seed = 3;
  r = analyze_experiment(config, simulate(set, "rec", loss));
  CHECK(r.results[0].verdict == Verdict::lost);

  const json j = r.to_json();
  CHECK(j["results"][0]["verdict"] == "lost");
  CHECK(j["results"][0]["primary"]["test"] == "two-proportion z");
  CHECK(j["sample_ratio"]["checked"] == true);
  CHECK(j["plan"]["mode"] == "sequential");
}

TEST_CASE("Report: a sample-ratio mismatch voids the verdict", "[outcomes][report]") {
  const ExperimentSet set = two_arms();
  Shoppers skewed;
  skewed.users = 20000;
  skewed.conversion = {{"A", 0.10}, {"B", 0.16}};
  skewed.drop_variant = "B";
  skewed.drop_share = 0.05;  // 5% of B's exposures lost
  const ExperimentReport r = analyze_experiment(*set.find("rec"), simulate(set, "rec", skewed));
  INFO(r.to_table());
  CHECK(r.srm.mismatch);
  CHECK(r.results[0].verdict == Verdict::inconclusive);
  CHECK(r.results[0].reason.find("sample ratio mismatch") != std::string::npos);
  CHECK(r.to_table().find("sample ratio: MISMATCH") != std::string::npos);
  // The same traffic without the loss passes the check.
  Shoppers fair = skewed;
  fair.drop_share = 0.0;
  const ExperimentReport ok = analyze_experiment(*set.find("rec"), simulate(set, "rec", fair));
  CHECK_FALSE(ok.srm.mismatch);
  CHECK(ok.results[0].verdict == Verdict::won);
}

TEST_CASE("Report: fixed-horizon mode withholds a verdict until the planned sample", "[outcomes][report]") {
  const ExperimentSet set = two_arms("fixed_horizon");
  const ExperimentConfig& config = *set.find("rec");
  // Plan at 10% -> 13%, alpha 0.05, power 0.8: 1774 per arm (see test_stats).
  Shoppers early;
  early.users = 1200;  // ~600 per arm
  early.conversion = {{"A", 0.10}, {"B", 0.20}};
  ExperimentReport r = analyze_experiment(config, simulate(set, "rec", early));
  INFO(r.to_table());
  CHECK(r.results[0].planned_units_variant == 1774);
  CHECK(r.results[0].primary.p_value < 0.05);  // the naive test would already "win"
  CHECK(r.results[0].verdict == Verdict::inconclusive);
  CHECK(r.results[0].reason.find("planned sample") != std::string::npos);
  Shoppers enough = early;
  enough.users = 4000;
  r = analyze_experiment(config, simulate(set, "rec", enough));
  CHECK(r.results[0].verdict == Verdict::won);
  // Not enough units for any verdict.
  Shoppers tiny = early;
  tiny.users = 100;
  r = analyze_experiment(config, simulate(set, "rec", tiny));
  CHECK(r.results[0].verdict == Verdict::inconclusive);
  CHECK(r.results[0].reason.find("not enough data") != std::string::npos);
}

TEST_CASE("Report: three variants are corrected with Holm, and revenue uses Welch", "[outcomes][report]") {
  const ExperimentSet set = ExperimentSet::from_json(json::parse(R"({"experiments": [{"name": "three",
      "variants": [{"name": "A", "share": 0.34}, {"name": "B", "share": 0.33}, {"name": "C", "share": 0.33}],
      "analysis": {"primary_metric": "revenue_per_user", "minimum_detectable_effect": 0.2,
                   "mode": "fixed_horizon"}}]})"));
  Shoppers s;
  s.users = 30000;
  s.conversion = {{"A", 0.10}, {"B", 0.14}, {"C", 0.10}};
  const ExperimentReport r = analyze_experiment(*set.find("three"), simulate(set, "three", s));
  INFO(r.to_table());
  REQUIRE(r.results.size() == 2);
  CHECK(r.results[0].variant == "B");
  CHECK(r.results[0].primary.test == "Welch t");
  CHECK(r.results[0].verdict == Verdict::won);
  CHECK(r.results[0].adjusted_alpha == Approx(0.025));  // Holm: smallest p against alpha / 2
  CHECK(r.results[1].verdict == Verdict::inconclusive);
  CHECK(r.results[1].adjusted_alpha == Approx(0.05));   // then alpha / 1
  CHECK_FALSE(r.omnibus.has_value());                   // revenue is not a rate
  CHECK(r.results[0].primary.confidence == Approx(0.975));
  CHECK(invalid([&] { analyze_experiment(*set.find("three"), ExperimentMetrics{"other", {}, 0}); }, "metrics of experiment"));
}
