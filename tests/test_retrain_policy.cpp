// Tests of the retrain policy (triggers, order, cool-down; injected clock values, no sleeping) and
// of the candidate guard (accept and reject around a stated margin, broken candidates, too little
// evidence).
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.hpp"
#include "sparse.hpp"
#include "tailor/models/scorers.hpp"
#include "tailor/core/error.hpp"
#include "tailor/evaluation/evaluator.hpp"
#include "tailor/monitoring/retrain_policy.hpp"
#include "tailor/monitoring/retrain_guard.hpp"
#include "tailor/monitoring/incremental_study.hpp"

using tailor::GuardDecision;
using tailor::GuardOptions;
using tailor::Index;
using tailor::RetrainPolicy;
using tailor::RetrainPolicyOptions;
using tailor::RetrainSignals;
using tailor::Timestamp;

namespace {

constexpr Timestamp kMinute = 60LL * 1000;
constexpr Timestamp kHour = 60 * kMinute;
constexpr Timestamp kDay = 24 * kHour;

// Every trigger off; tests switch on the one they exercise.
RetrainPolicyOptions all_off() {
  RetrainPolicyOptions o;
  o.every_events = 0;
  o.every_ms = 0;
  o.on_drift = false;
  o.max_metric_drop = 0.0;
  o.max_incremental_fraction = 0.0;
  o.min_interval_ms = 0;
  return o;
}

RetrainSignals trained_at(Timestamp last, Timestamp now) {
  RetrainSignals s;
  s.last_retrain = last;
  s.now = now;
  return s;
}

}  // namespace

// ---- policy -------------------------------------------------------------------------------------

TEST_CASE("Retrain policy: each trigger fires at its threshold and not before", "[retrain]") {
  const Timestamp t0 = 1'700'000'000'000;

  SECTION("no model yet") {
    const RetrainPolicy p(all_off());
    RetrainSignals s;
    s.now = t0;
    const auto why = p.should_retrain(s);
    REQUIRE(why);
    CHECK(*why == "no model has been trained yet");
  }
  SECTION("nothing switched on: never") {
    const RetrainPolicy p(all_off());
    RetrainSignals s = trained_at(t0, t0 + 365 * kDay);
    s.events_since_retrain = 1'000'000'000;
    s.training_events = 10;
    s.drifted = true;
    s.metric = 0.0;
    s.metric_baseline = 1.0;
    s.metric_samples = 1'000'000;
    CHECK_FALSE(p.should_retrain(s));
  }
  SECTION("every N events") {
    auto o = all_off();
    o.every_events = 50'000;
    const RetrainPolicy p(o);
    RetrainSignals s = trained_at(t0, t0 + kHour);
    s.events_since_retrain = 49'999;
    CHECK_FALSE(p.should_retrain(s));
    s.events_since_retrain = 50'000;
    const auto why = p.should_retrain(s);
    REQUIRE(why);
    CHECK(*why == "50000 events since the last retrain (every_events 50000)");
  }
  SECTION("every T") {
    auto o = all_off();
    o.every_ms = 6 * kHour;
    const RetrainPolicy p(o);
    CHECK_FALSE(p.should_retrain(trained_at(t0, t0 + 6 * kHour - 1)));
    const auto why = p.should_retrain(trained_at(t0, t0 + 6 * kHour));
    REQUIRE(why);
    CHECK(*why == "the model is 6 h old (every_ms 6 h)");
    // A clock that went backwards counts as no time elapsed.
    CHECK_FALSE(p.should_retrain(trained_at(t0, t0 - 30 * kDay)));
  }
  SECTION("incremental limit, a fraction of the training events") {
    auto o = all_off();
    o.max_incremental_fraction = 0.05;
    const RetrainPolicy p(o);
    RetrainSignals s = trained_at(t0, t0 + kHour);
    s.training_events = 200'000;
    s.events_since_retrain = 9'999;
    CHECK_FALSE(p.should_retrain(s));
    s.events_since_retrain = 10'000;
    const auto why = p.should_retrain(s);
    REQUIRE(why);
    CHECK_THAT(*why, Catch::Contains("10000 events since the last full retrain, 5% of the 200000"));
    // Unknown training size: the trigger cannot apply.
    s.training_events = 0;
    CHECK_FALSE(p.should_retrain(s));
  }
  SECTION("drift") {
    auto o = all_off();
    o.on_drift = true;
    const RetrainPolicy p(o);
    RetrainSignals s = trained_at(t0, t0 + kHour);
    CHECK_FALSE(p.should_retrain(s));
    s.drifted = true;
    s.drift_reason = "item popularity PSI 0.41 >= 0.25";
    const auto why = p.should_retrain(s);
    REQUIRE(why);
    CHECK(*why == "drift detected: item popularity PSI 0.41 >= 0.25");
  }
  SECTION("online metric drop, relative to its value after the last retrain") {
    auto o = all_off();
    o.max_metric_drop = 0.1;
    o.min_metric_samples = 1000;
    const RetrainPolicy p(o);
    RetrainSignals s = trained_at(t0, t0 + kHour);
    s.metric_baseline = 0.050;
    s.metric = 0.0451;  // 9.8% lower
    s.metric_samples = 5000;
    CHECK_FALSE(p.should_retrain(s));
    s.metric = 0.0449;  // 10.2% lower
    const auto why = p.should_retrain(s);
    REQUIRE(why);
    CHECK_THAT(*why, Catch::Contains("online metric fell 10.2% from 0.05 to 0.0449"));
    // Too few samples to trust it.
    s.metric_samples = 999;
    CHECK_FALSE(p.should_retrain(s));
    // No baseline, or a baseline of 0: no relative drop.
    s.metric_samples = 5000;
    s.metric_baseline.reset();
    CHECK_FALSE(p.should_retrain(s));
    s.metric_baseline = 0.0;
    CHECK_FALSE(p.should_retrain(s));
    // A rising metric never triggers.
    s.metric_baseline = 0.05;
    s.metric = 0.08;
    CHECK_FALSE(p.should_retrain(s));
    s.metric = NAN;
    CHECK_THROWS_AS(p.should_retrain(s), tailor::Error);
  }
}

TEST_CASE("Retrain policy: cool-down and the order of triggers", "[retrain]") {
  const Timestamp t0 = 1'700'000'000'000;
  RetrainPolicyOptions o;  // defaults: daily, drift, 10% metric drop, incremental limit, 1 h cool-down
  const RetrainPolicy p(o);
  RetrainSignals s = trained_at(t0, t0 + 30 * kMinute);
  s.events_since_retrain = 1'000'000;
  s.training_events = 100;
  s.drifted = true;
  // Within the cool-down nothing fires, however strong the signals.
  CHECK_FALSE(p.should_retrain(s));
  // After it, the first trigger in the documented order wins: the incremental limit before drift.
  s.now = t0 + kHour;
  auto why = p.should_retrain(s);
  REQUIRE(why);
  CHECK_THAT(*why, Catch::Contains("max_incremental_fraction"));
  s.events_since_retrain = 0;
  why = p.should_retrain(s);
  REQUIRE(why);
  CHECK(*why == "drift detected");
  // The daily schedule comes before drift.
  s.now = t0 + kDay;
  why = p.should_retrain(s);
  REQUIRE(why);
  CHECK_THAT(*why, Catch::Contains("every_ms 24 h"));
  // "No model" ignores the cool-down.
  s.last_retrain.reset();
  CHECK(p.should_retrain(s).value() == "no model has been trained yet");
}

TEST_CASE("Retrain policy options are validated", "[retrain]") {
  auto fails = [](RetrainPolicyOptions o, const std::string& field) {
    try {
      RetrainPolicy p(o);
      FAIL("accepted bad " << field);
    } catch (const tailor::Error& e) {
      CHECK(e.code() == tailor::ErrorCode::invalid_argument);
      CHECK_THAT(e.what(), Catch::Contains(field));
    }
  };
  RetrainPolicyOptions o;
  o.every_ms = -1;
  fails(o, "every_ms");
  o = {};
  o.max_metric_drop = 1.0;
  fails(o, "max_metric_drop");
  o = {};
  o.max_incremental_fraction = -0.1;
  fails(o, "max_incremental_fraction");
  o = {};
  o.min_interval_ms = -5;
  fails(o, "min_interval_ms");
  CHECK(RetrainPolicyOptions{}.to_json().at("every_ms") == 24 * kHour);
}

TEST_CASE("suggested_full_retrain_events", "[retrain]") {
  CHECK(tailor::suggested_full_retrain_events(200'000, 0.05) == 10'000);
  CHECK(tailor::suggested_full_retrain_events(3, 0.05) == 1);  // ceil, at least 1
  CHECK(tailor::suggested_full_retrain_events(0, 0.05) == 1);
  CHECK(tailor::suggested_full_retrain_events(1'000'000) ==
        static_cast<std::uint64_t>(std::ceil(1e6 * tailor::kSuggestedIncrementalFraction)));
  CHECK_THROWS_AS(tailor::suggested_full_retrain_events(10, 0.0), tailor::Error);
  CHECK_THROWS_AS(tailor::suggested_full_retrain_events(10, NAN), tailor::Error);
}

// ---- guard --------------------------------------------------------------------------------------

namespace {

// 40 users x 50 items. User u has training item u % 50 and one held-out item (7u + 3) % 50.
constexpr std::size_t kUsers = 40;
constexpr std::size_t kItems = 50;

Index train_item(std::size_t u) { return static_cast<Index>(u % kItems); }
Index held_item(std::size_t u) { return static_cast<Index>((7 * u + 3) % kItems); }

tailor::SparseMatrix train_matrix() {
  std::vector<tailor::test::Triplet> t;
  for (std::size_t u = 0; u < kUsers; ++u) t.emplace_back(static_cast<int>(u), static_cast<int>(train_item(u)), 1.0f);
  return tailor::test::make_matrix(kUsers, kItems, t);
}

tailor::SparseMatrix holdout_matrix(std::size_t users = kUsers) {
  std::vector<tailor::test::Triplet> t;
  for (std::size_t u = 0; u < users; ++u) t.emplace_back(static_cast<int>(u), static_cast<int>(held_item(u)), 1.0f);
  return tailor::test::make_matrix(kUsers, kItems, t);
}

// A scorer that ranks each user's held-out item first for the first `first` users and second for
// the others (behind the best other item). With one relevant item, nDCG@10 is 1 at rank 1 and
// 1 / log2(3) = 0.6309 at rank 2, so nDCG@10 = (first + (40 - first) * 0.6309) / 40.
tailor::FunctionScorer ranked_scorer(std::size_t first) {
  return tailor::FunctionScorer(kItems, [first](Index user, float* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = -static_cast<float>(i);
    const Index held = held_item(user);
    if (user < first) {
      out[held] = 100.0f;
    } else {
      // Just below the best item that is neither held out nor a training item.
      std::size_t best = 0;
      while (best == held || best == train_item(user)) ++best;
      out[held] = out[best] - 0.5f;
    }
  });
}

double expected_ndcg(std::size_t first) {
  return (static_cast<double>(first) + static_cast<double>(kUsers - first) / std::log2(3.0)) / kUsers;
}

}  // namespace

TEST_CASE("Guard accepts a candidate within the margin and rejects one beyond it", "[retrain][guard]") {
  const auto train = train_matrix();
  const auto holdout = holdout_matrix();
  const auto serving = ranked_scorer(40);  // nDCG@10 = 1
  GuardOptions o;  // nDCG@10, 2% relative margin
  REQUIRE(o.margin == 0.02);
  REQUIRE(o.margin_kind == tailor::MarginKind::relative);

  SECTION("equal: accepted") {
    const GuardDecision d = tailor::evaluate_candidate(serving, ranked_scorer(40), train, holdout, o);
    CHECK(d.accept);
    CHECK(d.serving_metric == Approx(1.0));
    CHECK(d.candidate_metric == Approx(1.0));
    CHECK(d.required == Approx(0.98));
    CHECK(d.users == kUsers);
    CHECK(d.metric == "ndcg@10");
  }
  SECTION("0.9% worse: accepted") {
    const GuardDecision d = tailor::evaluate_candidate(serving, ranked_scorer(39), train, holdout, o);
    CHECK(d.candidate_metric == Approx(expected_ndcg(39)));  // 0.99077
    CHECK(d.accept);
    CHECK_THAT(d.reason, Catch::StartsWith("candidate accepted: ndcg@10 0.9908 vs serving 1 on 40 held-out users"));
  }
  SECTION("2.8% worse: rejected") {
    const GuardDecision d = tailor::evaluate_candidate(serving, ranked_scorer(37), train, holdout, o);
    CHECK(d.candidate_metric == Approx(expected_ndcg(37)));  // 0.97232
    CHECK_FALSE(d.accept);
    CHECK_THAT(d.reason, Catch::Contains("needs >= 0.98 (2% relative margin)"));
  }
  SECTION("better: accepted; and the serving model is judged the same way the other way round") {
    const auto weaker = ranked_scorer(20);
    CHECK(tailor::evaluate_candidate(weaker, serving, train, holdout, o).accept);
    CHECK_FALSE(tailor::evaluate_candidate(serving, weaker, train, holdout, o).accept);
  }
  SECTION("absolute margin") {
    o.margin_kind = tailor::MarginKind::absolute;
    o.margin = 0.03;
    // 1 - 0.9723 = 0.0277 <= 0.03: accepted; 1 - 0.9631 = 0.0369 > 0.03: rejected.
    CHECK(tailor::evaluate_candidate(serving, ranked_scorer(37), train, holdout, o).accept);
    const GuardDecision d = tailor::evaluate_candidate(serving, ranked_scorer(36), train, holdout, o);
    CHECK_FALSE(d.accept);
    CHECK(d.required == Approx(0.97));
    CHECK_THAT(d.reason, Catch::Contains("0.03 absolute margin"));
  }
  SECTION("zero margin: the candidate must be at least as good") {
    o.margin = 0.0;
    CHECK_FALSE(tailor::evaluate_candidate(serving, ranked_scorer(39), train, holdout, o).accept);
    CHECK(tailor::evaluate_candidate(serving, ranked_scorer(40), train, holdout, o).accept);
  }
  SECTION("other metrics: recall@1 and hit_rate@1") {
    o.k = 1;
    o.metric = tailor::GuardMetric::recall;
    GuardDecision d = tailor::evaluate_candidate(serving, ranked_scorer(30), train, holdout, o);
    CHECK(d.metric == "recall@1");
    CHECK(d.candidate_metric == Approx(0.75));
    CHECK_FALSE(d.accept);
    o.metric = tailor::GuardMetric::hit_rate;
    o.margin = 0.3;
    d = tailor::evaluate_candidate(serving, ranked_scorer(30), train, holdout, o);
    CHECK(d.candidate_metric == Approx(0.75));
    CHECK(d.accept);  // 0.75 >= 1 * (1 - 0.3)
  }
}

TEST_CASE("Guard rejects a broken candidate and keeps serving without evidence", "[retrain][guard]") {
  const auto train = train_matrix();
  const auto serving = ranked_scorer(40);

  SECTION("a candidate scoring another item space is rejected, not thrown") {
    const tailor::FunctionScorer wrong(kItems + 5, [](Index, float* out, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) out[i] = 0.0f;
    });
    const GuardDecision d = tailor::evaluate_candidate(serving, wrong, train, holdout_matrix());
    CHECK_FALSE(d.accept);
    CHECK_THAT(d.reason, Catch::StartsWith("candidate rejected: evaluating it failed:"));
    CHECK(std::isnan(d.candidate_metric));
    CHECK(nlohmann::json::parse(d.to_json().dump()).at("candidate_metric").is_null());
  }
  SECTION("a candidate that throws while scoring is rejected") {
    const tailor::FunctionScorer throwing(kItems, [](Index user, float*, std::size_t) {
      TAILOR_THROW(not_fitted, "candidate not trained (user " << user << ")");
    });
    const GuardDecision d = tailor::evaluate_candidate(serving, throwing, train, holdout_matrix());
    CHECK_FALSE(d.accept);
    CHECK_THAT(d.reason, Catch::Contains("candidate not trained"));
  }
  SECTION("an error of the serving model propagates") {
    const tailor::FunctionScorer wrong(kItems + 1, [](Index, float*, std::size_t) {});
    CHECK_THROWS_AS(tailor::evaluate_candidate(wrong, serving, train, holdout_matrix()), tailor::Error);
  }
  SECTION("too few held-out users: keep serving, or accept when configured") {
    const auto small = holdout_matrix(5);
    GuardOptions o;
    o.min_users = 20;
    GuardDecision d = tailor::evaluate_candidate(serving, ranked_scorer(0), train, small, o);
    CHECK_FALSE(d.accept);
    CHECK(d.users == 5);
    CHECK(d.reason == "only 5 held-out users (min_users 20): kept the serving model");
    o.accept_without_evidence = true;
    d = tailor::evaluate_candidate(serving, ranked_scorer(0), train, small, o);
    CHECK(d.accept);
    o.min_users = 5;
    CHECK_FALSE(tailor::evaluate_candidate(serving, ranked_scorer(0), train, small, o).accept);
  }
  SECTION("an Evaluator without the guard's k is an error; options are validated") {
    tailor::EvaluationOptions eo;
    eo.ks = {5};
    const tailor::Evaluator ev(train, holdout_matrix(), eo);
    CHECK_THROWS_AS(tailor::evaluate_candidate(serving, serving, ev), tailor::Error);
    GuardOptions o;
    o.k = 5;
    CHECK(tailor::evaluate_candidate(serving, serving, ev, o).accept);
    o.margin = -0.1;
    CHECK_THROWS_AS(tailor::evaluate_candidate(serving, serving, ev, o), tailor::Error);
    o.margin = 1.0;  // relative margins must be < 1
    CHECK_THROWS_AS(o.validate(), tailor::Error);
    o.margin_kind = tailor::MarginKind::absolute;
    CHECK_NOTHROW(o.validate());
    o.k = 0;
    CHECK_THROWS_AS(o.validate(), tailor::Error);
  }
}
