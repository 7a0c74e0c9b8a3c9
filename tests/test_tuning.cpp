#include "tailor/evaluation/tuning.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tailor/models/als.hpp"
#include "tailor/models/scorers.hpp"
#include "tailor/core/error.hpp"
#include "tailor/evaluation/evaluator.hpp"

using tailor::GaussianProcess;
using tailor::GPOptions;
using tailor::Kernel;
using tailor::ParamSet;
using tailor::ParamSpace;
using tailor::SearchOptions;
using tailor::SearchResult;

namespace {

// A 2-D quadratic with its maximum 0 at x = 1.3, log10(y) = 0.5 (y ~ 3.16), on x in [-5, 5] and
// y in [0.01, 100] searched on the log scale.
double quadratic(const ParamSet& p) {
  const double dx = p.get("x") - 1.3;
  const double dy = std::log10(p.get("y")) - 0.5;
  return -(dx * dx + dy * dy);
}

ParamSpace quadratic_space() {
  ParamSpace s;
  s.add("x", -5.0, 5.0);
  s.add("y", 0.01, 100.0, /*log_scale=*/true);
  return s;
}

}  // namespace

TEST_CASE("ParamSpec scales and ParamSet lookups", "[tuning]") {
  ParamSpace s;
  s.add("lin", 2.0, 6.0).add("log", 0.1, 1000.0, true).add("int", 1.0, 10.0, false, true);
  const auto& p = s.params();
  CHECK(p[0].from_unit(0.25) == Approx(3.0));
  CHECK(p[1].from_unit(0.5) == Approx(10.0));  // geometric midpoint
  CHECK(p[1].to_unit(10.0) == Approx(0.5));
  CHECK(p[2].from_unit(0.5) == 6.0);           // 5.5 rounds to 6
  CHECK(p[2].from_unit(-1.0) == 1.0);          // clamped
  CHECK(p[0].to_unit(p[0].from_unit(0.37)) == Approx(0.37));
  CHECK_THROWS_AS(s.add("lin", 0, 1), tailor::Error);          // duplicate
  CHECK_THROWS_AS(s.add("bad", 0.0, 1.0, true), tailor::Error);  // log needs low > 0
  CHECK_THROWS_AS(s.add("bad", 2.0, 1.0), tailor::Error);
  CHECK_THROWS_AS(s.add("bad", 0.2, 0.8, false, true), tailor::Error);  // no integer inside

  ParamSet ps;
  ps.set("a", 2.6);
  CHECK(ps.get("a") == 2.6);
  CHECK(ps.get_int("a") == 3);
  CHECK(ps.get_or("b", 7.0) == 7.0);
  try {
    ps.get("missing");
    FAIL("no throw");
  } catch (const tailor::Error& e) {
    CHECK(std::string(e.what()).find("missing") != std::string::npos);
  }
}

TEST_CASE("grid_search enumerates the grid exactly, last parameter fastest", "[tuning]") {
  ParamSpace s;
  s.add_values("a", {1.0, 2.0, 3.0});
  s.add("b", 0.0, 1.0);
  s.add("c", 1.0, 4.0, false, true);  // 3 points 1, 2.5 -> 3 (rounded half away), 4
  SearchOptions o;
  o.grid_points = 3;
  std::vector<std::vector<double>> seen;
  const SearchResult r = tailor::grid_search(
      s,
      [&](const ParamSet& p) {
        seen.push_back({p.get("a"), p.get("b"), p.get("c")});
        return p.get("a") * 10 + p.get("b") - p.get("c");
      },
      o);
  std::vector<std::vector<double>> expected;
  for (double a : {1.0, 2.0, 3.0}) {
    for (double b : {0.0, 0.5, 1.0}) {
      for (double c : {1.0, 3.0, 4.0}) expected.push_back({a, b, c});
    }
  }
  CHECK(seen == expected);
  REQUIRE(r.trials.size() == 27);
  CHECK(r.method == "grid");
  for (std::size_t i = 0; i < r.trials.size(); ++i) {
    CHECK(r.trials[i].index == i);
    CHECK(r.trials[i].phase == "grid");
    CHECK(r.trials[i].seconds >= 0.0);
  }
  CHECK(r.best().params.get("a") == 3.0);
  CHECK(r.best().params.get("b") == 1.0);
  CHECK(r.best().params.get("c") == 1.0);
  CHECK(r.best().score == Approx(30.0));

  SECTION("integer duplicates are removed and size limits honoured") {
    ParamSpace t;
    t.add("k", 1.0, 2.0, false, true);
    o.grid_points = 5;
    CHECK(tailor::grid_points(t, o).size() == 2);
    CHECK(tailor::grid_points(s, o).size() == 3 * 5 * 4);  // c: 1, 1.75, 2.5, 3.25, 4 -> 1, 2, 3, 4
    o.max_grid_trials = 59;
    CHECK_THROWS_AS(tailor::grid_points(s, o), tailor::Error);
  }
}

TEST_CASE("Gaussian process interpolates noise-free training points", "[tuning]") {
  Eigen::MatrixXd x(6, 2);
  Eigen::VectorXd y(6);
  for (int i = 0; i < 6; ++i) {
    x(i, 0) = i / 5.0;
    x(i, 1) = std::fmod(i * 0.37, 1.0);
    y(i) = std::sin(3 * x(i, 0)) + x(i, 1) * x(i, 1) + 4.0;
  }
  for (Kernel k : {Kernel::rbf, Kernel::matern52}) {
    GPOptions o;
    o.kernel = k;
    o.length_scale = 0.3;
    o.noise = 0.0;
    GaussianProcess gp(o);
    gp.fit(x, y);
    for (int i = 0; i < 6; ++i) {
      const auto pred = gp.predict(x.row(i).transpose());
      CHECK(pred.first == Approx(y(i)).margin(1e-5));
      CHECK(pred.second <= 1e-6);
    }
    // Away from the data the posterior is uncertain, and far away it returns to the prior.
    Eigen::VectorXd mid(2);
    mid << 0.1, 0.9;
    CHECK(gp.predict(mid).second > 1e-3);
    Eigen::VectorXd far(2);
    far << 50.0, 50.0;
    CHECK(gp.predict(far).first == Approx(y.mean()).margin(1e-6));
  }
  SECTION("with noise the posterior smooths") {
    GPOptions o;
    o.noise = 0.5;
    GaussianProcess gp(o);
    gp.fit(x, y);
    double max_err = 0.0;
    for (int i = 0; i < 6; ++i) max_err = std::max(max_err, std::abs(gp.predict(x.row(i).transpose()).first - y(i)));
    CHECK(max_err > 1e-3);
  }
  SECTION("fit_best picks the length scale with the highest marginal likelihood") {
    GPOptions o;
    o.noise = 1e-6;
    const std::vector<double> scales = {0.01, 0.1, 0.3, 1.0, 3.0};
    const GaussianProcess best = GaussianProcess::fit_best(x, y, o, scales);
    for (double l : scales) {
      o.length_scale = l;
      GaussianProcess gp(o);
      gp.fit(x, y);
      CHECK(best.log_marginal_likelihood() >= gp.log_marginal_likelihood());
    }
  }
}

TEST_CASE("Expected improvement is >= 0 and 0 at a known maximum with zero noise", "[tuning]") {
  for (double m : {-3.0, -0.1, 0.0, 0.2, 5.0}) {
    for (double sd : {0.0, 1e-9, 0.1, 1.0, 10.0}) {
      for (double xi : {0.0, 0.05}) CHECK(tailor::expected_improvement(m, sd, 0.0, xi) >= 0.0);
    }
  }
  CHECK(tailor::expected_improvement(1.5, 0.0, 1.0) == Approx(0.5));
  CHECK(tailor::expected_improvement(0.5, 0.0, 1.0) == 0.0);
  // mean == best: EI = sd * phi(0).
  CHECK(tailor::expected_improvement(1.0, 2.0, 1.0) == Approx(2.0 / std::sqrt(2.0 * 3.14159265358979)));

  Eigen::MatrixXd x(5, 1);
  Eigen::VectorXd y(5);
  for (int i = 0; i < 5; ++i) {
    x(i, 0) = i / 4.0;
    y(i) = -(x(i, 0) - 0.5) * (x(i, 0) - 0.5);  // max at x = 0.5, a training point
  }
  GPOptions o;
  o.noise = 0.0;
  GaussianProcess gp(o);
  gp.fit(x, y);
  Eigen::VectorXd at_max(1);
  at_max << 0.5;
  const auto pred = gp.predict(at_max);
  const double ei = tailor::expected_improvement(pred.first, std::sqrt(pred.second), y.maxCoeff());
  CHECK(ei >= 0.0);
  CHECK(ei <= 1e-6);
  Eigen::VectorXd between(1);
  between << 0.6;
  const auto p2 = gp.predict(between);
  CHECK(tailor::expected_improvement(p2.first, std::sqrt(p2.second), y.maxCoeff()) > ei);
}

TEST_CASE("Bayesian search beats random search on a 2-D quadratic with the same budget",
          "[tuning]") {
  // Budget 25 trials (5 initial random points). Tolerance: the Bayesian best is within 0.01 of
  // the optimum 0 for every seed, and better than random search's best with the same seed.
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    SearchOptions o;
    o.trials = 25;
    o.seed = seed;
    const SearchResult bayes = tailor::bayesian_search(quadratic_space(), quadratic, o);
    const SearchResult random = tailor::random_search(quadratic_space(), quadratic, o);
    INFO("seed " << seed << ": bayes " << bayes.best().score << ", random " << random.best().score);
    REQUIRE(bayes.trials.size() == 25);
    REQUIRE(random.trials.size() == 25);
    CHECK(bayes.best().score >= -0.01);
    CHECK(bayes.best().score > random.best().score);
    CHECK(bayes.trials[0].phase == "initial");
    CHECK(bayes.trials[24].phase == "bayes");
  }
}

TEST_CASE("Searches are deterministic, honour minimize, skip NaN scores and report JSON",
          "[tuning]") {
  SearchOptions o;
  o.trials = 12;
  o.seed = 9;
  const auto a = tailor::bayesian_search(quadratic_space(), quadratic, o);
  const auto b = tailor::bayesian_search(quadratic_space(), quadratic, o);
  REQUIRE(a.trials.size() == b.trials.size());
  for (std::size_t i = 0; i < a.trials.size(); ++i) CHECK(a.trials[i].params == b.trials[i].params);
  o.seed = 10;
  const auto c = tailor::random_search(quadratic_space(), quadratic, o);
  CHECK(c.trials[0].params != a.trials[0].params);

  SECTION("minimize") {
    o.maximize = false;
    const auto r = tailor::random_search(quadratic_space(), quadratic, o);
    double worst = 0.0;
    for (const auto& t : r.trials) worst = std::min(worst, t.score);
    CHECK(r.best().score == worst);
  }
  SECTION("NaN scores are recorded, never best, and keep the GP going") {
    int calls = 0;
    auto flaky = [&](const ParamSet& p) {
      return (calls++ % 3 == 0) ? std::numeric_limits<double>::quiet_NaN() : quadratic(p);
    };
    const auto r = tailor::bayesian_search(quadratic_space(), flaky, o);
    CHECK(r.trials.size() == 12);
    CHECK(std::isnan(r.trials[0].score));
    CHECK(std::isfinite(r.best().score));
    const auto j = r.to_json();
    CHECK(j["trials"][0]["score"].is_null());
  }
  SECTION("every trial and the best in the JSON report") {
    std::size_t hooked = 0;
    o.on_trial = [&](const tailor::Trial&) { ++hooked; };
    const auto r = tailor::random_search(quadratic_space(), quadratic, o);
    CHECK(hooked == 12);
    const auto j = r.to_json();
    CHECK(j["method"] == "random");
    CHECK(j["trials"].size() == 12);
    CHECK(j["trials"][3].contains("params"));
    CHECK(j["trials"][3].contains("score"));
    CHECK(j["trials"][3].contains("seconds"));
    CHECK(j["best"]["score"].get<double>() == r.best().score);
    CHECK(j["best"]["params"]["x"].get<double>() == r.best().params.get("x"));
    CHECK(j["space"].size() == 2);
    CHECK(j["options"]["seed"] == 10);
  }
  SECTION("no finite score: no best") {
    const auto r = tailor::random_search(
        quadratic_space(), [](const ParamSet&) { return std::numeric_limits<double>::quiet_NaN(); }, o);
    CHECK_FALSE(r.best_index.has_value());
    CHECK_THROWS_AS(r.best(), tailor::Error);
    CHECK(r.to_json()["best"].is_null());
  }
}

TEST_CASE("rolling_windows: disjoint, ordered validation windows after their training data",
          "[tuning]") {
  std::vector<tailor::Interaction> pairs;
  for (tailor::Index i = 0; i < 1000; ++i) {
    tailor::Interaction x;
    x.user = (i * 7919u) % 50;
    x.item = (i * 104729u) % 80;
    x.last_time = x.first_time = 1000 * static_cast<tailor::Timestamp>((i * 337u) % 1000);  // shuffled
    x.weight = 1.0f;
    x.count = 1;
    pairs.push_back(x);
  }
  tailor::RollingWindowOptions o;
  o.folds = 3;
  o.validation_fraction = 0.1;
  const auto folds = tailor::rolling_windows(pairs, o);
  REQUIRE(folds.size() == 3);
  for (std::size_t j = 0; j < 3; ++j) {
    const auto& f = folds[j];
    CHECK(f.cutoff == 1000 * static_cast<tailor::Timestamp>(700 + 100 * j));
    CHECK(f.end == (j + 1 < 3 ? folds[j + 1].cutoff : 999001));
    CHECK(f.split.test.size() == 100);
    CHECK(f.split.train.size() == 700 + 100 * j);  // expanding window
    for (const auto& x : f.split.train) CHECK(x.last_time < f.cutoff);
    for (const auto& x : f.split.test) {
      CHECK(x.last_time >= f.cutoff);
      CHECK(x.last_time < f.end);
    }
    if (j > 0) CHECK(folds[j - 1].end <= f.cutoff);  // ordered and disjoint
  }
  SECTION("fixed training span") {
    o.train_span = 200 * 1000;
    const auto fixed = tailor::rolling_windows(pairs, o);
    for (const auto& f : fixed) {
      CHECK(f.split.train.size() == 200);
      CHECK(f.train_begin == f.cutoff - 200 * 1000);
    }
  }
  SECTION("bad requests") {
    o.folds = 0;
    CHECK_THROWS_AS(tailor::rolling_windows(pairs, o), tailor::Error);
    o.folds = 10;
    o.validation_fraction = 0.1;  // 10 x 0.1 leaves nothing to train on
    CHECK_THROWS_AS(tailor::rolling_windows(pairs, o), tailor::Error);
    o.folds = 3;
    std::vector<tailor::Interaction> same(pairs.begin(), pairs.begin() + 50);
    for (auto& x : same) x.last_time = 5;
    CHECK_THROWS_AS(tailor::rolling_windows(same, o), tailor::Error);
    CHECK_THROWS_AS(tailor::rolling_windows({}, o), tailor::Error);
  }
}

TEST_CASE("Tuning ALS regularization with a temporal fold and the Evaluator", "[tuning]") {
  // Two user groups with disjoint tastes; interactions spread over time.
  tailor::IdMap users, items;
  for (int u = 0; u < 40; ++u) users.insert("u" + std::to_string(u));
  for (int i = 0; i < 30; ++i) items.insert("i" + std::to_string(i));
  std::vector<tailor::Interaction> all;
  std::uint64_t t = 0;
  for (tailor::Index u = 0; u < 40; ++u) {
    for (tailor::Index k = 0; k < 8; ++k) {
      tailor::Interaction x;
      x.user = u;
      x.item = (u % 2) * 15 + (u * 3 + k * 5) % 15;
      x.weight = 1.0f;
      x.first_time = x.last_time = static_cast<tailor::Timestamp>((t++ * 7919) % 320);
      x.count = 1;
      all.push_back(x);
    }
  }
  const auto full = tailor::InteractionMatrix::from_interactions(all, users, items);
  tailor::RollingWindowOptions ro;
  ro.folds = 1;
  ro.validation_fraction = 0.2;
  const auto folds = tailor::rolling_windows(full.interactions(), ro);
  REQUIRE(folds.size() == 1);
  const tailor::TrainTest tt = tailor::make_train_test(full, folds[0].split);
  tailor::EvaluationOptions eo;
  eo.ks = {5};
  eo.threads = 1;
  const tailor::Evaluator ev(tt.train, tt.test, eo);

  ParamSpace space;
  space.add_values("regularization", {0.01, 1.0, 1000.0}, true);
  auto objective = [&](const ParamSet& p) {
    tailor::ALSOptions o;
    o.factors = 4;
    o.iterations = 8;
    o.threads = 1;
    o.regularization = static_cast<float>(p.get("regularization"));
    tailor::ALSFactorizer als(o);
    als.fit(tt.train.confidence());
    return ev.evaluate(tailor::ALSScorer(als)).at(5).accuracy.ndcg;
  };
  const auto r = tailor::grid_search(space, objective);
  REQUIRE(r.trials.size() == 3);
  for (const auto& trial : r.trials) CHECK(std::isfinite(trial.score));
  // Crushing the factors with lambda = 1000 cannot beat a moderate lambda.
  CHECK(r.best().params.get("regularization") < 1000.0);
}
