// Tests of drift detection: PSI and KS against hand-computed and SciPy values, drift verdicts on
// seeded synthetic streams, the sliding window of DriftMonitor, its thread safety and the report.
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.hpp"
#include "tailor/monitoring/drift.hpp"
#include "tailor/core/error.hpp"

using tailor::DriftMonitor;
using tailor::DriftOptions;
using tailor::DriftProfile;
using tailor::DriftReport;
using tailor::Event;
using tailor::EventType;
using tailor::Timestamp;

namespace {

constexpr Timestamp kHour = 3600LL * 1000;
constexpr Timestamp kDay = 24 * kHour;

// A seeded generator of shopper events: event types from a mix, items from a Zipf law (exponent
// 1) over `n_items` items, with optional renaming of the items, and normal scores.
class Stream {
 public:
  explicit Stream(std::uint64_t seed) : state_(seed) {}

  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double normal() {
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  struct Shape {
    std::vector<double> type_mix = {0.70, 0.20, 0.07, 0.03};  // view, click, cart, purchase
    std::size_t n_items = 500;
    std::string item_prefix = "sku";
    std::size_t item_offset = 0;  // rank r maps to item (r + offset) % n_items
    double score_mean = 0.0;
    double score_sd = 1.0;
  };

  std::vector<Event> events(const Shape& shape, std::size_t n, Timestamp start, Timestamp step) {
    std::vector<double> cdf(shape.n_items);
    double total = 0.0;
    for (std::size_t r = 0; r < shape.n_items; ++r) cdf[r] = (total += 1.0 / static_cast<double>(r + 1));
    std::vector<Event> out;
    out.reserve(n);
    for (std::size_t e = 0; e < n; ++e) {
      Event ev;
      ev.user = "u" + std::to_string(next() % 1000);
      double t = uniform();
      std::size_t type = 0;
      while (type + 1 < shape.type_mix.size() && t >= shape.type_mix[type]) t -= shape.type_mix[type++];
      ev.type = static_cast<EventType>(type);
      const double z = uniform() * total;
      const auto rank = static_cast<std::size_t>(std::lower_bound(cdf.begin(), cdf.end(), z) - cdf.begin());
      ev.item = shape.item_prefix + std::to_string((std::min(rank, shape.n_items - 1) + shape.item_offset) % shape.n_items);
      ev.timestamp = start + static_cast<Timestamp>(e) * step;
      out.push_back(std::move(ev));
    }
    return out;
  }

  std::vector<double> scores(const Shape& shape, std::size_t n) {
    std::vector<double> out(n);
    for (double& s : out) s = shape.score_mean + shape.score_sd * normal();
    return out;
  }

 private:
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
};


}  // namespace


TEST_CASE("No drift between two windows of the same seeded stream", "[drift]") {
  const Stream::Shape shape;
  // 20,000 events per window; PSI without drift is about (bins - 1)(2 / 20000) = 0.002 for 21
  // item bins, far below the 0.1 moderate threshold; KS on 2,000 scores each has D ~ 0.03.
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    Stream s1(seed * 2), s2(seed * 2 + 1);
    const auto ref = s1.events(shape, 20000, 0, 1000);
    const auto cur = s2.events(shape, 20000, 20000 * 1000, 1000);
    const DriftReport r = tailor::compare_windows(ref, cur, {}, s1.scores(shape, 2000), s2.scores(shape, 2000));
    INFO(r.to_json().dump(1));
    CHECK_FALSE(r.drifted);
    CHECK(r.reasons.empty());
    CHECK(r.notes.empty());
    CHECK(r.event_types.evaluated);
    CHECK(r.event_types.value < 0.01);
    CHECK(r.event_types.severity == "none");
    CHECK(r.event_types.p_value > 1e-4);  // chi-square on 4 types, same mix
    CHECK(r.item_popularity.value < 0.01);
    CHECK(r.item_popularity.expected_without_drift == Approx(20.0 * 2.0 / 20000.0));
    CHECK(r.unseen_items.value < 0.01);  // a few tail items only
    CHECK(r.scores.evaluated);
    CHECK(r.scores.value < 0.1);
  }
}

TEST_CASE("Drift fires on each deliberately shifted signal", "[drift]") {
  Stream s1(11), s2(12);
  const Stream::Shape base;
  const auto ref = s1.events(base, 20000, 0, 1000);
  const auto ref_scores = s1.scores(base, 2000);

  SECTION("event-type mix: purchases 3% -> 25%") {
    Stream::Shape shifted = base;
    shifted.type_mix = {0.55, 0.15, 0.05, 0.25};
    const DriftReport r = tailor::compare_windows(ref, s2.events(shifted, 20000, 0, 1000), {}, ref_scores,
                                                  s2.scores(base, 2000));
    INFO(r.to_json().dump(1));
    CHECK(r.drifted);
    CHECK(r.event_types.drifted);
    CHECK(r.event_types.severity == "major");
    CHECK(r.event_types.bins.front().label == "purchase");
    CHECK(r.event_types.bins.front().current_share == Approx(0.25).margin(0.01));
    CHECK(r.event_types.p_value < 1e-12);  // chi-square test of homogeneity
    CHECK_FALSE(r.item_popularity.drifted);
    CHECK_FALSE(r.scores.drifted);
    REQUIRE(r.reasons.size() == 1);
    CHECK_THAT(r.reasons[0], Catch::Contains("event-type mix PSI"));
  }
  SECTION("item popularity: the best sellers change") {
    Stream::Shape shifted = base;
    shifted.item_offset = 7;  // rank r is now item r + 7: new best sellers, same catalog
    const DriftReport r = tailor::compare_windows(ref, s2.events(shifted, 20000, 0, 1000), {}, ref_scores,
                                                  s2.scores(base, 2000));
    INFO(r.to_json().dump(1));
    CHECK(r.drifted);
    CHECK(r.item_popularity.drifted);
    CHECK(r.item_popularity.value >= 0.25);
    CHECK_FALSE(r.event_types.drifted);
    CHECK_FALSE(r.unseen_items.drifted);  // same catalog
    CHECK(r.unseen_items.value < 0.01);
  }
  SECTION("a third of the traffic on new items") {
    std::vector<Event> cur = s2.events(base, 14000, 0, 1000);
    Stream::Shape fresh = base;
    fresh.item_prefix = "new";
    for (auto& e : s2.events(fresh, 7000, 0, 1000)) cur.push_back(std::move(e));
    const DriftReport r = tailor::compare_windows(ref, cur, {}, ref_scores, s2.scores(base, 2000));
    INFO(r.to_json().dump(1));
    CHECK(r.unseen_items.drifted);
    CHECK(r.unseen_items.value == Approx(1.0 / 3.0).margin(0.01));
    CHECK(r.drifted);
  }
  SECTION("scores shift by half a standard deviation") {
    Stream::Shape shifted = base;
    shifted.score_mean = 0.5;  // D = 2 Phi(0.25) - 1 = 0.197 in expectation
    const DriftReport r = tailor::compare_windows(ref, s2.events(base, 20000, 0, 1000), {}, ref_scores,
                                                  s2.scores(shifted, 2000));
    INFO(r.to_json().dump(1));
    CHECK(r.scores.drifted);
    CHECK(r.scores.value >= 0.1);
    CHECK(r.scores.p_value < 1e-6);
    CHECK_FALSE(r.item_popularity.drifted);
    CHECK_FALSE(r.event_types.drifted);
    CHECK(r.drifted);
  }
  SECTION("a moderate type shift is reported but only drifts with drift_on_moderate") {
    Stream::Shape shifted = base;
    shifted.type_mix = {0.62, 0.20, 0.07, 0.11};  // PSI about 0.11
    const auto cur = s2.events(shifted, 20000, 0, 1000);
    const DriftReport r = tailor::compare_windows(ref, cur);
    INFO(r.to_json().dump(1));
    CHECK(r.event_types.severity == "moderate");
    CHECK_FALSE(r.event_types.drifted);
    DriftOptions strict;
    strict.drift_on_moderate = true;
    const DriftReport r2 = tailor::compare_windows(ref, cur, strict);
    CHECK(r2.event_types.drifted);
    CHECK(r2.event_types.threshold == 0.1);
  }
}

TEST_CASE("Small windows are not judged", "[drift]") {
  Stream s(3);
  const Stream::Shape shape;
  const auto ref = s.events(shape, 5000, 0, 1000);
  Stream::Shape shifted = shape;
  shifted.type_mix = {0.0, 0.0, 0.0, 1.0};
  const DriftReport r = tailor::compare_windows(ref, s.events(shifted, 200, 0, 1000));
  CHECK_FALSE(r.drifted);
  CHECK_FALSE(r.event_types.evaluated);
  CHECK_FALSE(r.item_popularity.evaluated);
  CHECK_FALSE(r.unseen_items.evaluated);
  CHECK_FALSE(r.scores.evaluated);
  REQUIRE(r.notes.size() == 4);
  CHECK_THAT(r.notes[0], Catch::Contains("current window has 200"));
  CHECK_THAT(r.notes[3], Catch::Contains("reference window has 0"));
  // The same events with a lower min_events are judged, and drift.
  DriftOptions o;
  o.min_events = 100;
  CHECK(tailor::compare_windows(ref, s.events(shifted, 200, 0, 1000), o).event_types.drifted);
}

TEST_CASE("A new event type in the current window is a major shift", "[drift]") {
  std::vector<Event> ref(2000), cur(2000);
  for (std::size_t i = 0; i < ref.size(); ++i) ref[i].item = cur[i].item = "a" + std::to_string(i % 50);
  for (std::size_t i = 0; i < 400; ++i) cur[i].type = static_cast<EventType>(40);  // custom type
  const DriftReport r = tailor::compare_windows(ref, cur);
  CHECK(r.event_types.drifted);
  CHECK(r.event_types.bins.front().label == "custom_40");
  CHECK(r.event_types.bins.front().reference_share == 0.0);
  CHECK(r.event_types.bins.front().current_share == Approx(0.2));
}

// ---- DriftMonitor -------------------------------------------------------------------------------

TEST_CASE("DriftMonitor keeps a sliding time window", "[drift][monitor]") {
  DriftOptions o;
  o.window_ms = 4 * kHour;
  o.window_buckets = 4;  // one bucket per hour
  DriftMonitor m(o);
  CHECK(m.window_start() == std::numeric_limits<Timestamp>::min());
  CHECK(m.current().events == 0);

  auto event = [](Timestamp t, const std::string& item) {
    Event e;
    e.user = "u";
    e.item = item;
    e.timestamp = t;
    return e;
  };
  const Timestamp t0 = 1000 * kDay;  // bucket-aligned
  m.observe(event(t0 + 10, "a"));
  m.observe(event(t0 + kHour + 10, "b"));
  m.observe(event(t0 + 2 * kHour + 10, "c"));
  m.observe(event(t0 + 3 * kHour + 10, "d"));
  CHECK(m.current().events == 4);
  CHECK(m.window_start() == t0);
  // The fifth hour pushes the first one out.
  m.observe(event(t0 + 4 * kHour + 10, "e"));
  DriftProfile p = m.current();
  CHECK(p.events == 4);
  CHECK(p.items.count("a") == 0);
  CHECK(p.items.at("e") == 1);
  CHECK(p.first_time == t0 + kHour + 10);
  CHECK(p.last_time == t0 + 4 * kHour + 10);
  // An event older than the window is late and not counted; one inside the window is.
  m.observe(event(t0 + 10, "late"));
  m.observe(event(t0 + 2 * kHour + 20, "c"));
  CHECK(m.late_events() == 1);
  p = m.current();
  CHECK(p.events == 5);
  CHECK(p.items.at("c") == 2);
  // Time passing without events empties the window.
  m.advance(t0 + 100 * kHour);
  CHECK(m.current().events == 0);
  // A clock that goes backwards does not move the window back.
  m.advance(t0);
  CHECK(m.window_start() == t0 + 97 * kHour);
}

TEST_CASE("DriftMonitor's report equals the batch comparison of the same windows", "[drift][monitor]") {
  Stream s(21);
  const Stream::Shape base;
  Stream::Shape shifted = base;
  shifted.item_offset = 3;
  const auto ref = s.events(base, 6000, 0, 60 * 1000);
  // 3 days of events, one a minute, in a 7-day window: all of them are current.
  const auto cur = s.events(shifted, 4320, 5 * kDay, 60 * 1000);
  DriftMonitor m;
  CHECK_FALSE(m.has_reference());
  for (const auto& e : cur) m.observe(e);
  const DriftReport none = m.report();
  CHECK_FALSE(none.drifted);
  REQUIRE(none.notes.size() == 1);
  CHECK_THAT(none.notes[0], Catch::Contains("no reference window"));

  m.set_reference(DriftProfile::from_events(ref));
  CHECK(m.has_reference());
  const DriftReport live = m.report();
  const DriftReport batch = tailor::compare_windows(ref, cur);
  CHECK(live.to_json() == batch.to_json());
  CHECK(live.item_popularity.drifted);

  // After a retrain the current window becomes the reference: no drift against itself.
  m.set_reference_from_current();
  const DriftReport after = m.report();
  CHECK_FALSE(after.drifted);
  CHECK(after.item_popularity.value == Approx(0.0).margin(1e-12));
}

TEST_CASE("DriftMonitor keeps an even sample of scores", "[drift][monitor]") {
  DriftOptions o;
  o.window_ms = 10 * kHour;
  o.window_buckets = 10;
  o.max_score_samples = 10000;  // 1,000 per bucket
  DriftMonitor m(o);
  Stream s(5);
  // Busy first hour (20,000 scores, mean 0) and nine quiet hours (222 each, mean 3): 9% of the
  // scores have mean 3. The union of the reservoirs would hold 1,998 quiet and 1,000 busy ones;
  // the merged sample must keep the proportion of the window (1,000 busy, 9 x 11 quiet).
  std::vector<double> truth;
  for (int i = 0; i < 20000; ++i) {
    const double v = s.normal();
    truth.push_back(v);
    m.observe_score(v, 10);
  }
  for (int h = 1; h < 10; ++h) {
    for (int i = 0; i < 222; ++i) {
      const double v = 3.0 + s.normal();
      truth.push_back(v);
      m.observe_score(v, h * kHour + 10);
    }
  }
  const DriftProfile p = m.current();
  CHECK(p.scores_seen == truth.size());
  CHECK(p.scores.size() == 1000 + 9 * 11);
  // Kolmogorov-Smirnov distance between the sample and everything observed: for an even sample
  // of 1,099 values the critical D at p = 0.01 is about 0.05; the union of the reservoirs would
  // be about 0.6 away.
  CHECK(tailor::stats::ks_two_sample(p.scores, truth).statistic < 0.05);
  CHECK_THROWS_AS(m.observe_score(NAN, 10), tailor::Error);
}

TEST_CASE("DriftMonitor is safe to feed from several threads", "[drift][monitor][threads]") {
  DriftMonitor m;
  const Timestamp t0 = 2000 * kDay;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 5000; ++i) {
        Event e;
        e.user = "u" + std::to_string(t);
        e.item = "i" + std::to_string(i % 97);
        e.type = i % 10 == 0 ? EventType::purchase : EventType::view;
        e.timestamp = t0 + i * 1000;
        m.observe(e);
        m.observe_score(static_cast<double>(i % 13), e.timestamp);
        if (i % 1000 == 0) (void)m.report();
      }
    });
  }
  for (auto& th : threads) th.join();
  const DriftProfile p = m.current();
  CHECK(p.events == 20000);
  CHECK(p.event_types.at(static_cast<std::uint16_t>(EventType::purchase)) == 2000);
  CHECK(p.scores_seen == 20000);
  CHECK(m.late_events() == 0);
}

// ---- options and JSON ---------------------------------------------------------------------------

TEST_CASE("DriftOptions validation names the field", "[drift]") {
  auto fails = [](DriftOptions o, const std::string& field) {
    try {
      o.validate();
      FAIL("accepted bad " << field);
    } catch (const tailor::Error& e) {
      CHECK(e.code() == tailor::ErrorCode::invalid_argument);
      CHECK_THAT(e.what(), Catch::Contains(field));
    }
  };
  DriftOptions o;
  CHECK_NOTHROW(o.validate());
  o.psi_moderate = 0;
  fails(o, "psi_moderate");
  o = {};
  o.psi_major = 0.05;
  fails(o, "psi_major");
  o = {};
  o.psi_epsilon = 0.5;
  fails(o, "psi_epsilon");
  o = {};
  o.top_items = 0;
  fails(o, "top_items");
  o = {};
  o.unseen_item_share = 0;
  fails(o, "unseen_item_share");
  o = {};
  o.ks_p_value = 1.0;
  fails(o, "ks_p_value");
  o = {};
  o.ks_min_statistic = 2.0;
  fails(o, "ks_min_statistic");
  o = {};
  o.min_events = 0;
  fails(o, "min_events");
  o = {};
  o.window_ms = 0;
  fails(o, "window_ms");
  o = {};
  o.window_buckets = 0;
  fails(o, "window_buckets");
  o = {};
  o.max_score_samples = 10;
  fails(o, "max_score_samples");
  CHECK_THROWS_AS(DriftMonitor(o), tailor::Error);
}

TEST_CASE("DriftReport JSON carries every signal, with null for NaN", "[drift]") {
  Stream s(8);
  const Stream::Shape base;
  const auto ref = s.events(base, 3000, 0, 1000);
  const auto cur = s.events(base, 3000, 0, 1000);
  const DriftReport r = tailor::compare_windows(ref, cur);  // no scores
  const nlohmann::json j = nlohmann::json::parse(r.to_json().dump());
  CHECK(j.at("drifted") == false);
  for (const char* name : {"event_type_mix", "item_popularity", "unseen_items", "scores"}) {
    INFO(name);
    REQUIRE(j.at("signals").contains(name));
    CHECK(j.at("signals").at(name).at("name") == name);
  }
  CHECK(j.at("signals").at("scores").at("evaluated") == false);
  CHECK(j.at("signals").at("scores").at("value").is_null());
  CHECK(j.at("signals").at("scores").at("p_value").is_null());
  CHECK(j.at("signals").at("item_popularity").at("threshold") == 0.25);
  CHECK(j.at("signals").at("item_popularity").at("bins").size() == 10);
  CHECK(j.at("reference").at("events") == 3000);
  CHECK(j.at("reference").at("event_types").at("view").get<int>() > 1500);
  CHECK(j.at("notes").size() == 1);
}
