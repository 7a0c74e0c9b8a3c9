// Tests of tailor/stats.hpp: every function against scipy.stats / statsmodels reference values
// (tests/fixtures/scipy_stats.json, written by tests/fixtures/make_scipy_stats.py), argument
// checks, and simulations of the tests' error rates (false positives at alpha, power at the
// planned sample size, the mSPRT under continuous peeking).
#include "catch.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/error.hpp"
#include "tailor/stats/distributions.hpp"
#include "tailor/stats/hypothesis.hpp"

namespace st = tailor::stats;
using nlohmann::json;

namespace {

const json& fixture() {
  static const json doc = [] {
    const std::string path = std::string(TAILOR_TEST_SOURCE_DIR) + "/tests/fixtures/scipy_stats.json";
    std::ifstream in(path);
    REQUIRE(in.good());
    return json::parse(in);
  }();
  return doc;
}

double num(const json& j) {
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    return std::numeric_limits<double>::quiet_NaN();
  }
  return j.get<double>();
}

// Agreement to 1e-6: |got - want| <= 1e-6 * max(|want|, 1e-8), so far-tail probabilities (1e-20) must match to 6 significant digits
// too, and infinities must match exactly.
bool agrees(double got, double want, double tolerance = 1e-6) {
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= tolerance * std::max(std::fabs(want), 1e-8);
}

st::Alternative alternative(const json& j) {
  const std::string s = j.get<std::string>();
  if (s == "greater") return st::Alternative::greater;
  if (s == "less") return st::Alternative::less;
  return st::Alternative::two_sided;
}

#define CHECK_AGREES(got, want, what)                                                   \
  do {                                                                                  \
    const double got_ = (got), want_ = (want);                                          \
    INFO(what << ": got " << got_ << ", scipy " << want_);                              \
    CHECK(agrees(got_, want_));                                                         \
  } while (false)

}  // namespace

TEST_CASE("Distributions agree with scipy.stats to 1e-6", "[stats][scipy]") {
  std::size_t checked = 0;
  for (const auto& c : fixture()["distributions"]) {
    const std::string dist = c["dist"];
    const double df = c.contains("df") ? num(c["df"]) : 0.0;
    std::ostringstream where;
    where << c.dump();
    if (c.contains("x")) {
      const double x = num(c["x"]);
      if (dist == "normal") {
        CHECK_AGREES(st::normal_pdf(x), num(c["pdf"]), where.str() << " pdf");
        CHECK_AGREES(st::normal_cdf(x), num(c["cdf"]), where.str() << " cdf");
        CHECK_AGREES(st::normal_sf(x), num(c["sf"]), where.str() << " sf");
      } else if (dist == "t") {
        CHECK_AGREES(st::student_t_pdf(x, df), num(c["pdf"]), where.str() << " pdf");
        CHECK_AGREES(st::student_t_cdf(x, df), num(c["cdf"]), where.str() << " cdf");
        CHECK_AGREES(st::student_t_sf(x, df), num(c["sf"]), where.str() << " sf");
      } else {
        CHECK_AGREES(st::chi_square_pdf(x, df), num(c["pdf"]), where.str() << " pdf");
        CHECK_AGREES(st::chi_square_cdf(x, df), num(c["cdf"]), where.str() << " cdf");
        CHECK_AGREES(st::chi_square_sf(x, df), num(c["sf"]), where.str() << " sf");
      }
      checked += 3;
    } else {
      const double p = num(c["p"]);
      double q = 0;
      if (dist == "normal") q = st::normal_quantile(p);
      else if (dist == "t") q = st::student_t_quantile(p, df);
      else q = st::chi_square_quantile(p, df);
      CHECK_AGREES(q, num(c["quantile"]), where.str() << " quantile");
      ++checked;
    }
  }
  CHECK(checked > 900);
}

TEST_CASE("Special functions agree with scipy.special to 1e-6", "[stats][scipy]") {
  for (const auto& c : fixture()["special"]) {
    const std::string fn = c["fn"];
    const double want = num(c["value"]);
    double got = 0;
    if (fn == "log_gamma") got = st::log_gamma(num(c["x"]));
    else if (fn == "log_beta") got = st::log_beta(num(c["a"]), num(c["b"]));
    else if (fn == "gamma_p") got = st::regularized_gamma_p(num(c["a"]), num(c["x"]));
    else if (fn == "gamma_q") got = st::regularized_gamma_q(num(c["a"]), num(c["x"]));
    else got = st::regularized_beta(num(c["x"]), num(c["a"]), num(c["b"]));
    CHECK_AGREES(got, want, c.dump());
  }
}

TEST_CASE("Welch's t-test and interval agree with scipy", "[stats][scipy]") {
  for (const auto& c : fixture()["welch"]) {
    const auto a = st::Moments::from_summary(num(c["a"][0]), num(c["a"][1]), num(c["a"][2]));
    const auto b = st::Moments::from_summary(num(c["b"][0]), num(c["b"][1]), num(c["b"][2]));
    const st::TestResult r = st::welch_t_test(a, b, alternative(c["alternative"]));
    CHECK_AGREES(r.statistic, num(c["t"]), c.dump() << " t");
    CHECK_AGREES(r.p_value, num(c["p"]), c.dump() << " p");
    CHECK_AGREES(r.df, num(c["df"]), c.dump() << " df");
    if (c.contains("ci")) {
      for (const auto& ci : c["ci"]) {
        const st::Interval i = st::mean_difference_ci(a, b, num(ci[0]));
        CHECK_AGREES(i.lower, num(ci[1]), c.dump() << " lower");
        CHECK_AGREES(i.upper, num(ci[2]), c.dump() << " upper");
      }
    }
  }
}

TEST_CASE("Two-proportion z-test, Wald interval and 2x2 chi-square agree with statsmodels/scipy",
          "[stats][scipy]") {
  for (const auto& c : fixture()["proportions"]) {
    const double sa = num(c["a"][0]), na = num(c["a"][1]), sb = num(c["b"][0]), nb = num(c["b"][1]);
    const st::TestResult r = st::two_proportion_z_test(sa, na, sb, nb, alternative(c["alternative"]));
    CHECK_AGREES(r.statistic, num(c["z"]), c.dump() << " z");
    CHECK_AGREES(r.p_value, num(c["p"]), c.dump() << " p");
    if (c.contains("ci")) {
      for (const auto& ci : c["ci"]) {
        const st::Interval i = st::proportion_difference_ci(sa, na, sb, nb, num(ci[0]));
        CHECK_AGREES(i.lower, num(ci[1]), c.dump() << " lower");
        CHECK_AGREES(i.upper, num(ci[2]), c.dump() << " upper");
      }
      const st::ChiSquareResult chi = st::chi_square_rates({sa, sb}, {na, nb});
      CHECK_AGREES(chi.statistic, num(c["chi2"][0]), c.dump() << " chi2");
      CHECK_AGREES(chi.p_value, num(c["chi2"][1]), c.dump() << " chi2 p");
      // z^2 = chi-square for two groups.
      CHECK(agrees(r.statistic * r.statistic, chi.statistic, 1e-9));
    }
  }
}

TEST_CASE("Chi-square tests agree with scipy", "[stats][scipy]") {
  for (const auto& c : fixture()["contingency"]) {
    const auto table = c["table"].get<std::vector<std::vector<double>>>();
    const st::ChiSquareResult r = st::chi_square_independence(table, c["yates"].get<bool>());
    CHECK_AGREES(r.statistic, num(c["statistic"]), c.dump());
    CHECK_AGREES(r.p_value, num(c["p"]), c.dump());
    CHECK(r.df == c["df"].get<double>());
    const auto expected = c["expected"].get<std::vector<std::vector<double>>>();
    for (std::size_t i = 0; i < expected.size(); ++i)
      for (std::size_t j = 0; j < expected[i].size(); ++j)
        CHECK_AGREES(r.expected[i][j], expected[i][j], c.dump() << " expected");
  }
  for (const auto& c : fixture()["goodness_of_fit"]) {
    const auto r = st::chi_square_goodness_of_fit(c["observed"].get<std::vector<double>>(),
                                                  c["shares"].get<std::vector<double>>());
    CHECK_AGREES(r.statistic, num(c["statistic"]), c.dump());
    CHECK_AGREES(r.p_value, num(c["p"]), c.dump());
  }
}

TEST_CASE("Power, sample size and MDE agree with statsmodels", "[stats][scipy]") {
  for (const auto& c : fixture()["power"]) {
    double got = 0;
    if (c["kind"] == "proportions") {
      got = st::power_two_proportions(num(c["p_a"]), num(c["p_b"]), num(c["n_a"]), num(c["n_b"]),
                                      num(c["alpha"]), alternative(c["alternative"]));
    } else {
      got = st::power_two_means(num(c["difference"]), num(c["sd_a"]), num(c["sd_b"]), num(c["n_a"]),
                                num(c["n_b"]), num(c["alpha"]), alternative(c["alternative"]));
    }
    CHECK_AGREES(got, num(c["power"]), c.dump());
  }
  for (const auto& c : fixture()["sample_size"]) {
    st::SampleSize n;
    if (c["kind"] == "proportions") {
      n = st::sample_size_two_proportions(num(c["p_a"]), num(c["p_b"]), num(c["alpha"]), num(c["power"]),
                                          num(c["ratio"]), alternative(c["alternative"]));
    } else {
      n = st::sample_size_two_means(num(c["difference"]), num(c["sd_a"]), num(c["sd_b"]), num(c["alpha"]),
                                    num(c["power"]), num(c["ratio"]), alternative(c["alternative"]));
    }
    INFO(c.dump());
    CHECK(n.n_a == num(c["n_a"]));  // integers: exact
    CHECK(n.n_b == num(c["n_b"]));
  }
  for (const auto& c : fixture()["mde"]) {
    const double d = st::minimum_detectable_difference_proportions(num(c["p_a"]), num(c["n_a"]), num(c["n_b"]),
                                                                   num(c["alpha"]), num(c["power"]));
    CHECK_AGREES(d, num(c["difference"]), c.dump());
  }
}

TEST_CASE("Relative lift, Holm/Bonferroni and mSPRT agree with the references", "[stats][scipy]") {
  for (const auto& c : fixture()["lift"]) {
    const st::LiftEstimate l = st::relative_lift(num(c["a"]), num(c["var_a"]), num(c["b"]), num(c["var_b"]),
                                                 num(c["confidence"]));
    CHECK_AGREES(l.lift, num(c["lift"]), c.dump());
    CHECK_AGREES(l.ci.lower, num(c["lower"]), c.dump());
    CHECK_AGREES(l.ci.upper, num(c["upper"]), c.dump());
  }
  for (const auto& c : fixture()["multiple"]) {
    const auto p = c["p"].get<std::vector<double>>();
    const auto r = st::correct_p_values(p, num(c["alpha"]), st::parse_correction(c["method"]));
    for (std::size_t i = 0; i < p.size(); ++i) {
      INFO(c.dump() << " hypothesis " << i);
      CHECK(r.reject[i] == c["reject"][i].get<bool>());
      CHECK_AGREES(r.adjusted_p[i], num(c["adjusted"][i]), c.dump());
      // Rejected exactly when the adjusted p-value is at most alpha.
      CHECK(r.reject[i] == (r.adjusted_p[i] <= num(c["alpha"])));
    }
  }
  for (const auto& c : fixture()["msprt"]) {
    const auto r = st::msprt(num(c["estimate"]), num(c["variance"]), num(c["tau"]), num(c["alpha"]));
    CHECK_AGREES(r.log_likelihood_ratio, num(c["llr"]), c.dump());
    CHECK_AGREES(r.p_value, num(c["p"]), c.dump());
    CHECK(r.reject == c["reject"].get<bool>());
    CHECK_AGREES(r.confidence_sequence.lower, num(c["lower"]), c.dump());
    CHECK_AGREES(r.confidence_sequence.upper, num(c["upper"]), c.dump());
  }
}

TEST_CASE("Quantiles invert their distribution functions", "[stats]") {
  for (double df : {0.3, 1.0, 2.5, 8.0, 40.0, 3000.0}) {
    for (double p : {1e-15, 1e-8, 0.01, 0.2, 0.5, 0.8, 0.99, 1 - 1e-8}) {
      INFO("df " << df << " p " << p);
      CHECK(agrees(st::student_t_cdf(st::student_t_quantile(p, df), df), p, 1e-10));
      CHECK(agrees(st::chi_square_cdf(st::chi_square_quantile(p, df), df), p, 1e-10));
    }
  }
  CHECK(st::normal_quantile(0.0) == -std::numeric_limits<double>::infinity());
  CHECK(st::normal_quantile(1.0) == std::numeric_limits<double>::infinity());
  CHECK(st::chi_square_quantile(0.0, 3.0) == 0.0);
  CHECK(st::student_t_quantile(0.975, std::numeric_limits<double>::infinity()) ==
        Approx(1.959963984540054).epsilon(1e-14));
}

TEST_CASE("Moments and RatioMoments merge like one pass", "[stats]") {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> value(2.0, 1.0);
  std::poisson_distribution<int> views(6);
  st::Moments all, left, right;
  st::RatioMoments rall, rleft, rright;
  for (int i = 0; i < 1000; ++i) {
    const double v = value(rng);
    const double y = views(rng) + 1;
    const double x = std::floor(y * 0.3 + (i % 3));
    all.add(v);
    rall.add(x, y);
    (i < 400 ? left : right).add(v);
    (i < 400 ? rleft : rright).add(x, y);
  }
  left.merge(right);
  rleft.merge(rright);
  CHECK(left.n == all.n);
  CHECK(left.mean == Approx(all.mean).epsilon(1e-12));
  CHECK(left.variance() == Approx(all.variance()).epsilon(1e-12));
  CHECK(rleft.ratio() == Approx(rall.ratio()).epsilon(1e-12));
  CHECK(rleft.ratio_variance() == Approx(rall.ratio_variance()).epsilon(1e-10));
  // With y == 1 for every unit the ratio is a mean and its variance is var/n.
  st::RatioMoments plain;
  st::Moments same;
  for (int i = 0; i < 50; ++i) {
    plain.add(i * 0.5, 1.0);
    same.add(i * 0.5);
  }
  CHECK(plain.ratio_variance() == Approx(same.variance() / same.n).epsilon(1e-12));
}

TEST_CASE("Statistics reject bad arguments with typed errors", "[stats]") {
  const auto invalid = [](auto&& f) {
    try {
      f();
    } catch (const tailor::Error& e) {
      return e.code() == tailor::ErrorCode::invalid_argument;
    }
    return false;
  };
  CHECK(invalid([] { st::normal_quantile(1.5); }));
  CHECK(invalid([] { st::student_t_cdf(1.0, 0.0); }));
  CHECK(invalid([] { st::chi_square_sf(1.0, -2.0); }));
  CHECK(invalid([] { st::log_gamma(0.0); }));
  CHECK(invalid([] { st::two_proportion_z_test(11, 10, 1, 10); }));
  CHECK(invalid([] { st::two_proportion_z_test(1, 0, 1, 10); }));
  CHECK(invalid([] { st::welch_t_test(st::Moments::from_summary(1, 0, 1), st::Moments::from_summary(5, 0, 1)); }));
  CHECK(invalid([] { st::welch_t_test(st::Moments::from_summary(5, 0, 0), st::Moments::from_summary(5, 1, 0)); }));
  CHECK(invalid([] { st::chi_square_independence({{1, 2}}); }));
  CHECK(invalid([] { st::chi_square_independence({{1, 2}, {3}}); }));
  CHECK(invalid([] { st::chi_square_independence({{0, 0}, {3, 4}}); }));
  CHECK(invalid([] { st::chi_square_goodness_of_fit({10, 20}, {0.5, 0.0}); }));
  CHECK(invalid([] { st::sample_size_two_proportions(0.1, 0.1, 0.05, 0.8); }));
  CHECK(invalid([] { st::sample_size_two_proportions(0.1, 0.2, 0.05, 1.0); }));
  CHECK(invalid([] { st::msprt(0.1, 0.0, 0.1, 0.05); }));
  CHECK(invalid([] { st::correct_p_values({0.1, 1.2}, 0.05, st::Correction::holm); }));
  CHECK(invalid([] { st::parse_correction("sidak"); }));
  // Equal rates of 0 or 1 have no pooled error: no evidence of a difference.
  const auto zero = st::two_proportion_z_test(0, 10, 0, 12);
  CHECK(zero.p_value == 1.0);
  CHECK(zero.statistic == 0.0);
  // A lift over a zero baseline is undefined.
  CHECK(std::isnan(st::relative_lift(0.0, 0.0, 0.1, 0.001, 0.95).ci.lower));
}

// ---------------------------------------------------------------------------------------------
// Simulations. Synthetic shoppers convert independently with a known rate per variant; each run
// has its own seed. Bands are binomial: with R runs and true rate r the observed rejection share
// has standard deviation sqrt(r (1 - r) / R); we accept 3 standard deviations (a false alarm
// rate of 0.3% per check if the test is correct).

namespace {

struct Arm {
  double successes = 0;
  double trials = 0;
};

// n shoppers in one arm, each converting with probability p.
void shop(std::mt19937_64& rng, Arm& arm, std::size_t n, double p) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (std::size_t i = 0; i < n; ++i) arm.successes += u(rng) < p ? 1.0 : 0.0;
  arm.trials += static_cast<double>(n);
}

double band(double rate, double runs) { return 3.0 * std::sqrt(rate * (1 - rate) / runs); }

}  // namespace

TEST_CASE("Simulation: the z-test's false-positive rate is alpha and its power is as planned",
          "[stats][simulation]") {
  constexpr double kAlpha = 0.05;
  constexpr double kPower = 0.8;
  constexpr double kBase = 0.10;
  constexpr double kLift = 0.30;  // relative: 10% -> 13%
  constexpr int kRuns = 2000;
  const st::SampleSize plan = st::sample_size_two_proportions(kBase, kBase * (1 + kLift), kAlpha, kPower);
  REQUIRE(plan.n_a > 1000);
  REQUIRE(plan.n_a < 2500);  // keeps the simulation to a few million shoppers
  const auto n = static_cast<std::size_t>(plan.n_a);

  int false_positives = 0, detections = 0;
  for (int run = 0; run < kRuns; ++run) {
    std::mt19937_64 rng(1000 + run);
    Arm a, b, a2, b2;
    shop(rng, a, n, kBase);
    shop(rng, b, n, kBase);  // no lift
    shop(rng, a2, n, kBase);
    shop(rng, b2, n, kBase * (1 + kLift));  // the planned lift
    if (st::two_proportion_z_test(a.successes, a.trials, b.successes, b.trials).p_value < kAlpha)
      ++false_positives;
    if (st::two_proportion_z_test(a2.successes, a2.trials, b2.successes, b2.trials).p_value < kAlpha)
      ++detections;
  }
  const double fpr = false_positives / double(kRuns);
  const double power = detections / double(kRuns);
  INFO("false-positive rate " << fpr << ", power " << power << " at n = " << n << " per arm");
  // 0.05 +- 3 sd = [0.0354, 0.0646].
  CHECK(std::fabs(fpr - kAlpha) <= band(kAlpha, kRuns));
  // 0.80 +- 3 sd = +-0.027, plus 0.01 for the normal approximation behind the plan.
  CHECK(std::fabs(power - kPower) <= band(kPower, kRuns) + 0.01);
}

TEST_CASE("Simulation: the mSPRT keeps the false-positive rate under alpha with repeated looks",
          "[stats][simulation]") {
  // 2000 A/A runs, 20 looks each (every 150 shoppers per arm, 3000 per arm in the end). Naive
  // peeking (stop at the first look with z-test p < 0.05) inflates the false-positive rate far
  // above 0.05 (about 0.2 in theory for 20 looks); the mSPRT's always-valid p-value must stay at
  // most alpha (+ the 3-sd binomial band). The mSPRT must also still find a real lift.
  constexpr double kAlpha = 0.05;
  constexpr double kBase = 0.10;
  constexpr int kRuns = 2000;
  constexpr int kLooks = 20;
  constexpr std::size_t kPerLook = 150;
  const double tau = 0.03;  // the effect size we plan for (absolute)
  int naive = 0, sequential = 0, sequential_lift = 0;
  for (int run = 0; run < kRuns; ++run) {
    std::mt19937_64 rng(50'000 + run);
    Arm a, b, a2, b2;
    bool naive_hit = false, seq_hit = false, lift_hit = false;
    for (int look = 0; look < kLooks; ++look) {
      shop(rng, a, kPerLook, kBase);
      shop(rng, b, kPerLook, kBase);
      shop(rng, a2, kPerLook, kBase);
      shop(rng, b2, kPerLook, kBase + tau);
      if (st::two_proportion_z_test(a.successes, a.trials, b.successes, b.trials).p_value < kAlpha)
        naive_hit = true;
      const auto seq = [&](const Arm& x, const Arm& y) {
        const double pa = x.successes / x.trials, pb = y.successes / y.trials;
        const double v = pa * (1 - pa) / x.trials + pb * (1 - pb) / y.trials;
        return v > 0 && st::msprt(pb - pa, v, tau, kAlpha).reject;
      };
      seq_hit = seq_hit || seq(a, b);
      lift_hit = lift_hit || seq(a2, b2);
    }
    naive += naive_hit;
    sequential += seq_hit;
    sequential_lift += lift_hit;
  }
  const double naive_rate = naive / double(kRuns);
  const double seq_rate = sequential / double(kRuns);
  const double lift_rate = sequential_lift / double(kRuns);
  INFO("naive peeking " << naive_rate << ", mSPRT " << seq_rate << ", mSPRT power " << lift_rate);
  CHECK(naive_rate > 0.12);                              // peeking inflates (theory ~0.2)
  CHECK(seq_rate <= kAlpha + band(kAlpha, kRuns));       // the guard holds
  // and still detects a 10% -> 13% lift most of the time (measured 0.78 with these seeds; a
  // fixed-horizon test at 3000 per arm has power 0.96: the price of looking at every step).
  CHECK(lift_rate > 0.7);
}

// ---- drift statistics (PSI, KS) against NumPy / SciPy (tests/fixtures/scipy_drift.json)

namespace {

nlohmann::json load_drift_fixture() {
  const std::string path = std::string(TAILOR_TEST_SOURCE_DIR) + "/tests/fixtures/scipy_drift.json";
  std::ifstream in(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("PSI matches hand-computed values", "[stats][psi]") {
  // e = (.5, .3, .2), a = (.4, .3, .3): (-.1) ln(.8) + 0 + (.1) ln(1.5).
  CHECK(st::population_stability_index({50, 30, 20}, {40, 30, 30}) ==
        Approx(0.1 * std::log(1.25) + 0.1 * std::log(1.5)).epsilon(1e-12));
  CHECK(st::population_stability_index({50, 30, 20}, {40, 30, 30}) == Approx(0.0628608659).epsilon(1e-9));
  // Counts are normalised: scaling one side changes nothing.
  CHECK(st::population_stability_index({1, 2, 3}, {100, 200, 300}) == Approx(0.0).margin(1e-15));
  // An empty current bin is floored at epsilon = 1e-4:
  // (1 - .5) ln(1 / .5) + (1e-4 - .5) ln(1e-4 / .5) = 4.60431846666895.
  CHECK(st::population_stability_index({1, 1}, {1, 0}) == Approx(4.60431846666895).epsilon(1e-12));
  // PSI is symmetric in its two arguments.
  CHECK(st::population_stability_index({1, 0}, {1, 1}) == Approx(4.60431846666895).epsilon(1e-12));
  // A larger epsilon gives a smaller (still large) value for the same empty bin.
  CHECK(st::population_stability_index({1, 1}, {1, 0}, 1e-2) <
        st::population_stability_index({1, 1}, {1, 0}, 1e-4));
}

TEST_CASE("PSI matches the NumPy reference of the fixture", "[stats][psi][scipy]") {
  const auto fixture = load_drift_fixture();
  const auto& cases = fixture.at("psi");
  REQUIRE(cases.size() >= 10);
  for (const auto& c : cases) {
    INFO("case " << c.at("name").get<std::string>() << ", epsilon " << c.at("epsilon").get<double>());
    const double got = st::population_stability_index(c.at("reference").get<std::vector<double>>(),
                                                          c.at("current").get<std::vector<double>>(),
                                                          c.at("epsilon").get<double>());
    CHECK(got == Approx(c.at("psi").get<double>()).epsilon(1e-12).margin(1e-15));
  }
}

TEST_CASE("PSI rejects bad input with a typed error naming the problem", "[stats][psi]") {
  using tailor::stats::population_stability_index;
  auto fails_with = [](auto fn, const std::string& what) {
    try {
      fn();
      FAIL("no exception; expected one mentioning " << what);
    } catch (const tailor::Error& e) {
      CHECK(e.code() == tailor::ErrorCode::invalid_argument);
      CHECK_THAT(e.what(), Catch::Contains(what));
    }
  };
  fails_with([] { population_stability_index({1, 2}, {1, 2, 3}); }, "2 bins but current has 3");
  fails_with([] { population_stability_index({}, {}); }, "no bins");
  fails_with([] { population_stability_index({1, -2}, {1, 2}); }, "reference[1]");
  fails_with([] { population_stability_index({1, 2}, {1, NAN}); }, "current[1]");
  fails_with([] { population_stability_index({0, 0}, {1, 2}); }, "reference counts sum to 0");
  fails_with([] { population_stability_index({1, 2}, {0, 0}); }, "current counts sum to 0");
  fails_with([] { population_stability_index({1, 2}, {1, 2}, 0.0); }, "epsilon");
}

// ---- KS -----------------------------------------------------------------------------------------

TEST_CASE("Kolmogorov survival function matches SciPy's kolmogorov", "[stats][ks][scipy]") {
  const auto fixture = load_drift_fixture();
  for (const auto& c : fixture.at("kolmogorov")) {
    const double x = c.at("x").get<double>();
    INFO("x = " << x);
    CHECK(st::kolmogorov_survival(x) == Approx(c.at("sf").get<double>()).epsilon(1e-10).margin(1e-14));
  }
  // Textbook critical values: P(K > 1.358) = 0.05, P(K > 1.628) = 0.01.
  CHECK(st::kolmogorov_survival(1.3581) == Approx(0.05).margin(1e-4));
  CHECK(st::kolmogorov_survival(1.6276) == Approx(0.01).margin(1e-4));
  CHECK(st::kolmogorov_survival(0.0) == 1.0);
  CHECK(st::kolmogorov_survival(-1.0) == 1.0);
  CHECK(std::isnan(st::kolmogorov_survival(NAN)));
  // Continuous across the switch between the two series at 1.18.
  CHECK(st::kolmogorov_survival(1.18 - 1e-12) == Approx(st::kolmogorov_survival(1.18)).epsilon(1e-10));
}

TEST_CASE("Two-sample KS statistic and p-value match SciPy", "[stats][ks][scipy]") {
  const auto fixture = load_drift_fixture();
  const auto& cases = fixture.at("ks");
  REQUIRE(cases.size() >= 8);
  for (const auto& c : cases) {
    INFO("case " << c.at("name").get<std::string>());
    const auto a = c.at("a").get<std::vector<double>>();
    const auto b = c.at("b").get<std::vector<double>>();
    const st::KsResult r = st::ks_two_sample(a, b);
    CHECK(r.n1 == a.size());
    CHECK(r.n2 == b.size());
    CHECK(r.statistic == Approx(c.at("statistic").get<double>()).margin(1e-12));
    CHECK(r.p_value == Approx(c.at("p_asymptotic").get<double>()).epsilon(1e-9).margin(1e-14));
    // The test is symmetric.
    const st::KsResult swapped = st::ks_two_sample(b, a);
    CHECK(swapped.statistic == r.statistic);
    CHECK(swapped.p_value == r.p_value);
  }
}

TEST_CASE("Two-sample KS by hand, ties and errors", "[stats][ks]") {
  // F1 = F2 up to 2; at 3: F1 = 1, F2 = 3/4.
  auto r = st::ks_two_sample({1, 2, 3}, {1, 2, 3, 4});
  CHECK(r.statistic == Approx(0.25).margin(1e-15));
  // Heavy ties: {0,0,0,1} vs {0,1,1,1}: at 0, 3/4 vs 1/4.
  r = st::ks_two_sample({0, 0, 0, 1}, {0, 1, 1, 1});
  CHECK(r.statistic == Approx(0.5).margin(1e-15));
  // Identical samples: D = 0, p = 1.
  r = st::ks_two_sample({5, 5, 5}, {5, 5});
  CHECK(r.statistic == 0.0);
  CHECK(r.p_value == 1.0);
  // Infinities are ordinary values.
  r = st::ks_two_sample({-INFINITY, 1.0}, {1.0, INFINITY});
  CHECK(r.statistic == Approx(0.5).margin(1e-15));
  CHECK_THROWS_AS(st::ks_two_sample({}, {1.0}), tailor::Error);
  CHECK_THROWS_AS(st::ks_two_sample({1.0}, {}), tailor::Error);
  try {
    st::ks_two_sample({1.0, 2.0}, {1.0, NAN});
    FAIL("NaN accepted");
  } catch (const tailor::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("sample2[1] is NaN"));
  }
}

// ---- verdicts on synthetic streams --------------------------------------------------------------

