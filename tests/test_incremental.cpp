// Incremental updates versus a full refit on real data (measure_incremental_drift), and the
// limit the retrain policy takes from it (suggest_incremental_fraction,
// kSuggestedIncrementalFraction). docs/quality.md shows the output of these studies, recorded
// through TAILOR_RESULTS (tests/support/results.hpp); TAILOR_PRINT_FIGURES=1 prints them too.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.hpp"
#include "results.hpp"
#include "test_data.hpp"
#include "tailor/io/datasets.hpp"
#include "tailor/core/error.hpp"
#include "tailor/monitoring/retrain_policy.hpp"
#include "tailor/monitoring/incremental_study.hpp"

namespace {

// Records the study for docs/quality.md when TAILOR_RESULTS is set; with TAILOR_PRINT_FIGURES
// set (and not "0"), also prints it as one JSON line.
void maybe_print(const std::string& name, const tailor::IncrementalStudy& study) {
  tailor::test::record_result("incremental_study", {{"dataset", name}, {"result", study.to_json()}});
  const char* env = std::getenv("TAILOR_PRINT_FIGURES");
  if (env != nullptr && *env != '\0' && std::string(env) != "0") {
    std::cout << nlohmann::json{{"study", name}, {"result", study.to_json()}}.dump() << "\n";
  }
}

const std::vector<tailor::Event>& retail_events() {
  static const std::vector<tailor::Event> events = [] {
    tailor::DatasetOptions o;
    o.policy = tailor::ErrorPolicy::lenient;
    return tailor::load_online_retail(tailor::test::bundled_retail(), o).events;
  }();
  return events;
}

double ratio(const tailor::IncrementalPoint& p, const std::string& method) { return p.method(method).ndcg_ratio; }

}  // namespace

// Online Retail (536,429 events, time order): ALS (32 factors, 8 iterations, lambda 0.05, log
// confidence alpha 8) on the first 200,000 events, N more events added, evaluated on the purchases
// (new to the shopper) among the 50,000 events after prefix + N; means over seeds 42 and 43.
// Measured (nDCG@10 ratio to the full refit / top-20 overlap with it):
//   N (fraction)   fold_in      partial_fit_0  partial_fit_1  stale        refit, other seed
//   1k (0.5%)      1.012/0.93   1.011/0.93     1.013/0.91     1.011/0.93   1.014/0.42
//   10k (5%)       1.008/0.77   1.005/0.76     1.003/0.78     0.984/0.75   1.018/0.42
//   50k (25%)      0.948/0.57   0.955/0.54     1.001/0.60     0.894/0.50   1.009/0.43
//   100k (50%)     0.894/0.48   0.910/0.44     0.998/0.52     0.753/0.38   0.995/0.43
// With seeds 100-101 and 7-8 fold_in's ratio was 0.961-0.977 at 5%, 0.956-0.963 at 25% and
// 0.920-0.922 at 50%: the seed noise of these ratios is about +-3%, so tolerances are 5% or more.
TEST_CASE("Incremental vs full refit on Online Retail", "[incremental][retail]") {
  tailor::IncrementalStudyOptions o;
  o.prefix_events = 200000;
  o.new_events = {1000, 10000, 50000, 100000};
  o.test_events = 50000;
  o.repeats = 2;
  o.partial_fit_iterations = {0, 1};  // 2 iterations add little here and cost time under asan
  const tailor::IncrementalStudy study = tailor::measure_incremental_drift(retail_events(), o);
  maybe_print("online-retail", study);
  REQUIRE(study.points.size() == 4);
  const auto& p1k = study.points[0];
  const auto& p10k = study.points[1];
  const auto& p50k = study.points[2];
  const auto& p100k = study.points[3];
  for (const auto& p : study.points) {
    INFO(p.to_json().dump());
    CHECK(p.test_users >= 800);  // enough held-out shoppers for the tolerances below
    CHECK(p.methods.front().name == "full_refit");
    CHECK(p.method("full_refit").ndcg > 0.05);  // 0.068-0.076 measured
  }

  // Small N: fold-in is as good as a refit (within 3%) and its top-20 lists mostly agree with it.
  CHECK(ratio(p1k, "fold_in") == Approx(1.0).margin(0.03));
  CHECK(p1k.method("fold_in").overlap >= 0.85);
  // Up to 5% new events fold-in stays within 5%: the policy's default limit is backed by this.
  CHECK(ratio(p10k, "fold_in") >= 0.95);
  CHECK(tailor::suggest_incremental_fraction(study, "fold_in", 0.05) >= tailor::kSuggestedIncrementalFraction);

  // Degrading as N grows: the lists drift away from the refit's, and quality with them.
  CHECK(p1k.method("fold_in").overlap > p10k.method("fold_in").overlap);
  CHECK(p10k.method("fold_in").overlap > p50k.method("fold_in").overlap);
  CHECK(p50k.method("fold_in").overlap > p100k.method("fold_in").overlap);
  CHECK(ratio(p100k, "fold_in") < 0.97);
  CHECK(ratio(p1k, "fold_in") - ratio(p100k, "fold_in") >= 0.04);

  // Updating beats not updating once N is large (3% of the refit's nDCG or more).
  CHECK(ratio(p50k, "fold_in") - ratio(p50k, "stale") >= 0.03);
  CHECK(ratio(p100k, "fold_in") - ratio(p100k, "stale") >= 0.03);
  CHECK(ratio(p100k, "stale") < 0.85);
  // One warm-started iteration after partial_fit recovers the refit's quality at every N.
  for (const auto& p : study.points) CHECK(ratio(p, "partial_fit_1") >= 0.95);

  // Two full refits with different seeds share few top-20 items on this data (about 0.42): an
  // incremental model's rankings stay closer to the refit's than that at small N.
  CHECK(p1k.method("full_refit_other_seed").overlap < 0.6);
  CHECK(p1k.method("fold_in").overlap >= p1k.method("full_refit_other_seed").overlap + 0.3);
}

// MovieLens 100K (100,000 ratings, time order): ALS (32 factors, 8 iterations, lambda 30,
// confidence 1 + 0.6 x rating) on the first 50,000 ratings; held out: the ratings among the 20,000
// after prefix + N by users and of movies seen before; seeds 42 and 43. Measured:
//   N (fraction)   fold_in      partial_fit_0  partial_fit_1  stale        refit, other seed
//   1k (2%)        1.013/0.97   1.014/0.96     1.008/0.98     1.010/0.94   1.010/0.98
//   5k (10%)       0.979/0.93   0.958/0.91     0.996/0.97     0.909/0.83   0.991/0.98
//   10k (20%)      0.935/0.90   0.913/0.87     0.999/0.95     0.856/0.73   0.988/0.98
//   25k (50%)      0.917/0.83   0.869/0.79     0.959/0.91     0.769/0.58   1.000/0.97
// Only 107-118 held-out users (most later ratings come from users who joined later), so the
// tolerances are wide; strong regularization makes refits agree (overlap 0.97-0.98).
TEST_CASE("Incremental vs full refit on MovieLens 100K", "[incremental][ml100k]") {
  const auto events = tailor::load_movielens_100k(tailor::test::data_path("ml-100k")).events;
  tailor::IncrementalStudyOptions o;
  o.matrix = tailor::InteractionMatrixOptions{};
  o.matrix.transform = tailor::ConfidenceTransform::linear;
  o.matrix.alpha = 0.6;
  o.als.regularization = 30.0f;
  o.relevant_types = {tailor::EventType::rating};
  o.prefix_events = 50000;
  o.new_events = {1000, 5000, 10000, 25000};
  o.test_events = 20000;
  o.repeats = 2;
  const tailor::IncrementalStudy study = tailor::measure_incremental_drift(events, o);
  maybe_print("ml-100k", study);
  REQUIRE(study.points.size() == 4);
  for (const auto& p : study.points) {
    INFO(p.to_json().dump());
    CHECK(p.test_users >= 100);
    CHECK(p.method("full_refit").ndcg > 0.10);  // 0.155 measured at N = 1k
    CHECK(ratio(p, "partial_fit_2") >= 0.93);
  }
  CHECK(ratio(study.points[0], "fold_in") == Approx(1.0).margin(0.05));
  CHECK(tailor::suggest_incremental_fraction(study, "fold_in", 0.05) >= tailor::kSuggestedIncrementalFraction);
  CHECK(study.points[0].method("fold_in").overlap > study.points[3].method("fold_in").overlap + 0.08);
  CHECK(ratio(study.points[3], "fold_in") - ratio(study.points[3], "stale") >= 0.05);
}

TEST_CASE("Incremental study: input checks and the suggested limit", "[incremental]") {
  SECTION("options and sizes are validated") {
    tailor::IncrementalStudyOptions o;
    CHECK_THROWS_AS(o.validate(), tailor::Error);  // prefix_events is required
    o.prefix_events = 10;
    CHECK_NOTHROW(o.validate());
    o.repeats = 0;
    CHECK_THROWS_WITH(o.validate(), Catch::Contains("repeats"));
    o.repeats = 1;
    o.new_events = {5, 0};
    CHECK_THROWS_WITH(o.validate(), Catch::Contains("new_events[1]"));
    o.new_events = {5};
    o.partial_fit_iterations = {-1};
    CHECK_THROWS_WITH(o.validate(), Catch::Contains("partial_fit_iterations[0]"));
    o.partial_fit_iterations = {0};
    o.test_events = 10;
    std::vector<tailor::Event> few(24);
    CHECK_THROWS_WITH(tailor::measure_incremental_drift(few, o), Catch::Contains("exceed the 24 events"));
  }
  SECTION("suggest_incremental_fraction takes the last N before the first failure") {
    auto point = [](std::size_t n, double fraction, double full, double fold) {
      tailor::IncrementalPoint p;
      p.new_events = n;
      p.new_fraction = fraction;
      p.methods.push_back({"full_refit", full, 1.0, 1.0});
      p.methods.push_back({"fold_in", fold, fold / full, 0.5});
      return p;
    };
    tailor::IncrementalStudy s;
    s.points = {point(30, 0.3, 0.10, 0.090), point(10, 0.1, 0.10, 0.096), point(20, 0.2, 0.10, 0.097)};
    CHECK(tailor::suggest_incremental_fraction(s, "fold_in", 0.05) == 0.2);  // 0.09 < 0.095 at 0.3
    CHECK(tailor::suggest_incremental_fraction(s, "fold_in", 0.15) == 0.3);
    // Failing at the smallest N (0.096 < 0.0965) gives 0 even though N = 20 would pass.
    CHECK(tailor::suggest_incremental_fraction(s, "fold_in", 0.035) == 0.0);
    CHECK(tailor::suggest_incremental_fraction(s, "fold_in", 0.0) == 0.0);
    CHECK_THROWS_AS(tailor::suggest_incremental_fraction(s, "nope"), tailor::Error);
    CHECK_THROWS_AS(tailor::suggest_incremental_fraction(s, "fold_in", 1.0), tailor::Error);
    CHECK_THROWS_AS(tailor::suggest_incremental_fraction(tailor::IncrementalStudy{}), tailor::Error);
  }
}
