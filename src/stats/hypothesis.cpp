// tailor: hypothesis tests, intervals, power, SRM, mSPRT, corrections, PSI and KS (see
// hypothesis.hpp).
#include "tailor/stats/hypothesis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "stats/checks.hpp"
#include "internal/json.hpp"

namespace tailor::stats {
namespace {

using namespace detail;

using tailor::detail::json_number;

double two_sided_critical(double alpha) { return normal_quantile(1.0 - 0.5 * alpha); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Moments

void Moments::add(double x) {
  n += 1.0;
  const double delta = x - mean;
  mean += delta / n;
  m2 += delta * (x - mean);
}

void Moments::merge(const Moments& other) {
  if (other.n == 0) return;
  if (n == 0) {
    *this = other;
    return;
  }
  const double total = n + other.n;
  const double delta = other.mean - mean;
  mean += delta * other.n / total;
  m2 += other.m2 + delta * delta * n * other.n / total;
  n = total;
}

Moments Moments::from_summary(double n, double mean, double sd) {
  TAILOR_REQUIRE(n >= 0 && finite(mean) && sd >= 0 && finite(sd),
                 "Moments::from_summary: need n >= 0, finite mean and sd >= 0");
  Moments m;
  m.n = n;
  m.mean = mean;
  m.m2 = n > 1 ? sd * sd * (n - 1) : 0.0;
  return m;
}

void RatioMoments::add(double x, double y) {
  n += 1.0;
  const double dx = x - mean_x;
  const double dy = y - mean_y;
  mean_x += dx / n;
  mean_y += dy / n;
  cxx += dx * (x - mean_x);
  cyy += dy * (y - mean_y);
  cxy += dx * (y - mean_y);
}

void RatioMoments::merge(const RatioMoments& other) {
  if (other.n == 0) return;
  if (n == 0) {
    *this = other;
    return;
  }
  const double total = n + other.n;
  const double dx = other.mean_x - mean_x;
  const double dy = other.mean_y - mean_y;
  const double w = n * other.n / total;
  cxx += other.cxx + dx * dx * w;
  cyy += other.cyy + dy * dy * w;
  cxy += other.cxy + dx * dy * w;
  mean_x += dx * other.n / total;
  mean_y += dy * other.n / total;
  n = total;
}

double RatioMoments::ratio() const { return mean_y == 0.0 ? kNaN : mean_x / mean_y; }

double RatioMoments::ratio_variance() const {
  if (n < 2 || mean_y == 0.0) return kNaN;
  const double r = mean_x / mean_y;
  const double sxx = cxx / (n - 1), syy = cyy / (n - 1), sxy = cxy / (n - 1);
  return std::max(0.0, (sxx - 2.0 * r * sxy + r * r * syy) / (n * mean_y * mean_y));
}

// ---------------------------------------------------------------------------------------------
// Tests

double z_p_value(double z, Alternative alternative) {
  TAILOR_REQUIRE(!std::isnan(z), "z_p_value: z is NaN");
  switch (alternative) {
    case Alternative::greater: return normal_sf(z);
    case Alternative::less: return normal_cdf(z);
    case Alternative::two_sided: break;
  }
  return std::min(1.0, 2.0 * normal_sf(std::fabs(z)));
}

double t_p_value(double t, double df, Alternative alternative) {
  switch (alternative) {
    case Alternative::greater: return student_t_sf(t, df);
    case Alternative::less: return student_t_cdf(t, df);
    case Alternative::two_sided: break;
  }
  return std::min(1.0, 2.0 * student_t_sf(std::fabs(t), df));
}

TestResult z_test(double estimate, double standard_error, Alternative alternative) {
  TAILOR_REQUIRE(finite(estimate), "z_test: estimate must be finite, got " << estimate);
  TAILOR_REQUIRE(standard_error > 0 && finite(standard_error),
                 "z_test: standard_error must be > 0, got " << standard_error);
  TestResult r;
  r.estimate = estimate;
  r.standard_error = standard_error;
  r.statistic = estimate / standard_error;
  r.df = kInf;
  r.p_value = z_p_value(r.statistic, alternative);
  return r;
}

namespace {
void require_binomial(double successes, double trials, const char* which) {
  TAILOR_REQUIRE(trials >= 1 && finite(trials), which << ": trials must be >= 1, got " << trials);
  TAILOR_REQUIRE(successes >= 0 && successes <= trials,
                 which << ": successes must be in [0, trials], got " << successes << " of " << trials);
}
}  // namespace

TestResult two_proportion_z_test(double successes_a, double trials_a, double successes_b,
                                 double trials_b, Alternative alternative) {
  require_binomial(successes_a, trials_a, "two_proportion_z_test: group a");
  require_binomial(successes_b, trials_b, "two_proportion_z_test: group b");
  const double pa = successes_a / trials_a;
  const double pb = successes_b / trials_b;
  const double pooled = (successes_a + successes_b) / (trials_a + trials_b);
  TestResult r;
  r.estimate = pb - pa;
  r.df = kInf;
  r.standard_error = std::sqrt(pooled * (1.0 - pooled) * (1.0 / trials_a + 1.0 / trials_b));
  if (r.standard_error == 0.0) {
    r.statistic = 0.0;
    r.p_value = 1.0;
    return r;
  }
  r.statistic = r.estimate / r.standard_error;
  r.p_value = z_p_value(r.statistic, alternative);
  return r;
}

namespace {
struct WelchParts {
  double se;
  double df;
};
WelchParts welch_parts(const Moments& a, const Moments& b, const char* who) {
  TAILOR_REQUIRE(a.n >= 2 && b.n >= 2, who << ": each group needs n >= 2, got " << a.n << " and " << b.n);
  const double va = a.variance() / a.n;
  const double vb = b.variance() / b.n;
  TAILOR_REQUIRE(va + vb > 0.0, who << ": both groups have zero variance");
  const double df = (va + vb) * (va + vb) / (va * va / (a.n - 1) + vb * vb / (b.n - 1));
  return {std::sqrt(va + vb), df};
}
}  // namespace

TestResult welch_t_test(const Moments& a, const Moments& b, Alternative alternative) {
  const WelchParts w = welch_parts(a, b, "welch_t_test");
  TestResult r;
  r.estimate = b.mean - a.mean;
  r.standard_error = w.se;
  r.df = w.df;
  r.statistic = r.estimate / w.se;
  r.p_value = t_p_value(r.statistic, w.df, alternative);
  return r;
}

ChiSquareResult chi_square_independence(const std::vector<std::vector<double>>& table, bool yates) {
  const std::size_t rows = table.size();
  TAILOR_REQUIRE(rows >= 2, "chi_square_independence: need >= 2 rows, got " << rows);
  const std::size_t cols = table[0].size();
  TAILOR_REQUIRE(cols >= 2, "chi_square_independence: need >= 2 columns, got " << cols);
  std::vector<double> row_sum(rows, 0.0), col_sum(cols, 0.0);
  double total = 0.0;
  for (std::size_t i = 0; i < rows; ++i) {
    TAILOR_REQUIRE(table[i].size() == cols, "chi_square_independence: row " << i << " has "
                                                << table[i].size() << " columns, row 0 has " << cols);
    for (std::size_t j = 0; j < cols; ++j) {
      const double v = table[i][j];
      TAILOR_REQUIRE(v >= 0 && finite(v), "chi_square_independence: cell (" << i << ", " << j
                                                                          << ") must be a count >= 0, got " << v);
      row_sum[i] += v;
      col_sum[j] += v;
      total += v;
    }
  }
  for (std::size_t i = 0; i < rows; ++i)
    TAILOR_REQUIRE(row_sum[i] > 0, "chi_square_independence: row " << i << " sums to 0");
  for (std::size_t j = 0; j < cols; ++j)
    TAILOR_REQUIRE(col_sum[j] > 0, "chi_square_independence: column " << j << " sums to 0");
  ChiSquareResult r;
  r.df = static_cast<double>((rows - 1) * (cols - 1));
  const bool correct = yates && r.df == 1.0;
  r.expected.assign(rows, std::vector<double>(cols, 0.0));
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < cols; ++j) {
      const double e = row_sum[i] * col_sum[j] / total;
      r.expected[i][j] = e;
      double gap = std::fabs(table[i][j] - e);
      if (correct) gap = std::max(gap - 0.5, 0.0);
      r.statistic += gap * gap / e;
    }
  }
  r.p_value = chi_square_sf(r.statistic, r.df);
  return r;
}

ChiSquareResult chi_square_rates(const std::vector<double>& successes,
                                 const std::vector<double>& trials) {
  TAILOR_REQUIRE(successes.size() == trials.size(),
                 "chi_square_rates: " << successes.size() << " success counts for " << trials.size() << " groups");
  std::vector<std::vector<double>> table;
  for (std::size_t i = 0; i < trials.size(); ++i) {
    require_binomial(successes[i], trials[i], "chi_square_rates");
    table.push_back({successes[i], trials[i] - successes[i]});
  }
  return chi_square_independence(table, false);
}

ChiSquareResult chi_square_goodness_of_fit(const std::vector<double>& observed,
                                           const std::vector<double>& expected_shares) {
  const std::size_t k = observed.size();
  TAILOR_REQUIRE(k >= 2, "chi_square_goodness_of_fit: need >= 2 categories, got " << k);
  TAILOR_REQUIRE(expected_shares.size() == k, "chi_square_goodness_of_fit: " << expected_shares.size()
                                                  << " shares for " << k << " categories");
  double total = 0.0, share_sum = 0.0;
  for (std::size_t i = 0; i < k; ++i) {
    TAILOR_REQUIRE(observed[i] >= 0 && finite(observed[i]),
                   "chi_square_goodness_of_fit: observed[" << i << "] must be >= 0, got " << observed[i]);
    TAILOR_REQUIRE(expected_shares[i] > 0 && finite(expected_shares[i]),
                   "chi_square_goodness_of_fit: expected_shares[" << i << "] must be > 0, got "
                                                                  << expected_shares[i]);
    total += observed[i];
    share_sum += expected_shares[i];
  }
  TAILOR_REQUIRE(total > 0, "chi_square_goodness_of_fit: no observations");
  ChiSquareResult r;
  r.df = static_cast<double>(k - 1);
  r.expected.assign(1, std::vector<double>(k, 0.0));
  for (std::size_t i = 0; i < k; ++i) {
    const double e = expected_shares[i] / share_sum * total;
    r.expected[0][i] = e;
    r.statistic += (observed[i] - e) * (observed[i] - e) / e;
  }
  r.p_value = chi_square_sf(r.statistic, r.df);
  return r;
}

Interval proportion_difference_ci(double successes_a, double trials_a, double successes_b,
                                  double trials_b, double confidence) {
  require_binomial(successes_a, trials_a, "proportion_difference_ci: group a");
  require_binomial(successes_b, trials_b, "proportion_difference_ci: group b");
  require_level(confidence, "proportion_difference_ci: confidence");
  const double pa = successes_a / trials_a;
  const double pb = successes_b / trials_b;
  const double se = std::sqrt(pa * (1 - pa) / trials_a + pb * (1 - pb) / trials_b);
  const double z = two_sided_critical(1.0 - confidence);
  return {pb - pa - z * se, pb - pa + z * se};
}

Interval mean_difference_ci(const Moments& a, const Moments& b, double confidence) {
  require_level(confidence, "mean_difference_ci: confidence");
  const WelchParts w = welch_parts(a, b, "mean_difference_ci");
  const double t = student_t_quantile(1.0 - 0.5 * (1.0 - confidence), w.df);
  const double d = b.mean - a.mean;
  return {d - t * w.se, d + t * w.se};
}

Interval normal_ci(double estimate, double variance, double confidence) {
  require_level(confidence, "normal_ci: confidence");
  TAILOR_REQUIRE(variance >= 0 && finite(variance), "normal_ci: variance must be >= 0, got " << variance);
  const double half = two_sided_critical(1.0 - confidence) * std::sqrt(variance);
  return {estimate - half, estimate + half};
}

LiftEstimate relative_lift(double estimate_a, double variance_a, double estimate_b,
                           double variance_b, double confidence) {
  require_level(confidence, "relative_lift: confidence");
  TAILOR_REQUIRE(variance_a >= 0 && variance_b >= 0 && finite(variance_a) && finite(variance_b),
                 "relative_lift: variances must be finite and >= 0");
  TAILOR_REQUIRE(finite(estimate_a) && finite(estimate_b), "relative_lift: estimates must be finite");
  LiftEstimate r;
  r.lift = estimate_a == 0.0 ? kNaN : estimate_b / estimate_a - 1.0;
  if (estimate_a > 0.0 && estimate_b > 0.0) {
    const double log_ratio = std::log(estimate_b / estimate_a);
    const double se = std::sqrt(variance_a / (estimate_a * estimate_a) +
                                variance_b / (estimate_b * estimate_b));
    const double z = two_sided_critical(1.0 - confidence);
    r.ci = {std::expm1(log_ratio - z * se), std::expm1(log_ratio + z * se)};
  } else {
    r.ci = {kNaN, kNaN};
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Power and sample size

namespace {

void require_rate(double p, const char* name) {
  TAILOR_REQUIRE(p > 0.0 && p < 1.0, name << " must be in (0, 1), got " << p);
}

double critical_value(double alpha, Alternative alternative) {
  return alternative == Alternative::two_sided ? normal_quantile(1.0 - 0.5 * alpha)
                                               : normal_quantile(1.0 - alpha);
}

// Power of a z test whose statistic is (d_hat / se0) with d_hat ~ N(d, se1^2).
double z_power(double d, double se0, double se1, double alpha, Alternative alternative) {
  const double c = critical_value(alpha, alternative);
  const double up = normal_cdf((d - c * se0) / se1);
  const double down = normal_cdf((-d - c * se0) / se1);
  switch (alternative) {
    case Alternative::greater: return up;
    case Alternative::less: return down;
    case Alternative::two_sided: break;
  }
  return std::min(1.0, up + down);
}

// Smallest integer n_a >= 2 with power(n_a, ceil(ratio n_a)) >= target (power increases with
// n), found by an exponential search from `start` and a binary search.
template <class PowerFn>
SampleSize smallest_n(const PowerFn& power, double target, double start, double ratio) {
  const auto n_b = [ratio](double n_a) { return std::ceil(ratio * n_a - 1e-9); };
  const auto passes = [&](double n) { return n >= 2.0 && power(n, n_b(n)) >= target; };
  constexpr double kCap = 1e15;
  const double n0 = std::max(2.0, std::ceil(start));
  if (!finite(n0) || n0 > kCap) TAILOR_THROW(invalid_argument, "sample size exceeds 1e15 (effect too small)");
  double lo, hi;  // lo fails (or is below 2), hi passes
  if (passes(n0)) {
    hi = n0;
    double step = 1.0;
    lo = n0 - step;
    while (passes(lo)) {
      hi = lo;
      step *= 2.0;
      lo = std::max(1.0, n0 - step);
    }
  } else {
    lo = n0;
    double step = 1.0;
    hi = n0 + step;
    while (!passes(hi)) {
      lo = hi;
      step *= 2.0;
      hi = n0 + step;
      if (hi > kCap) TAILOR_THROW(invalid_argument, "sample size exceeds 1e15 (effect too small)");
    }
  }
  while (hi - lo > 1.0) {
    const double mid = std::floor(0.5 * (lo + hi));
    if (passes(mid)) hi = mid; else lo = mid;
  }
  return {hi, n_b(hi)};
}

void require_power_args(double alpha, double power) {
  require_level(alpha, "alpha");
  TAILOR_REQUIRE(power > 0.0 && power < 1.0, "power must be in (0, 1), got " << power);
}

}  // namespace

double power_two_proportions(double p_a, double p_b, double n_a, double n_b, double alpha,
                             Alternative alternative) {
  require_rate(p_a, "power_two_proportions: p_a");
  require_rate(p_b, "power_two_proportions: p_b");
  require_level(alpha, "power_two_proportions: alpha");
  TAILOR_REQUIRE(n_a > 0 && n_b > 0, "power_two_proportions: group sizes must be > 0");
  const double pooled = (n_a * p_a + n_b * p_b) / (n_a + n_b);
  const double se0 = std::sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b));
  const double se1 = std::sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b);
  return z_power(p_b - p_a, se0, se1, alpha, alternative);
}

SampleSize sample_size_two_proportions(double p_a, double p_b, double alpha, double power,
                                       double ratio, Alternative alternative) {
  require_rate(p_a, "sample_size_two_proportions: p_a");
  require_rate(p_b, "sample_size_two_proportions: p_b");
  require_power_args(alpha, power);
  TAILOR_REQUIRE(ratio > 0 && finite(ratio), "sample_size_two_proportions: ratio must be > 0, got " << ratio);
  TAILOR_REQUIRE(p_a != p_b, "sample_size_two_proportions: p_a equals p_b (no effect to detect)");
  // Closed form without the far tail: n_a = (c sqrt(pq (1 + 1/r)) + z_beta sqrt(p_a q_a +
  // p_b q_b / r))^2 / d^2.
  const double pooled = (p_a + ratio * p_b) / (1 + ratio);
  const double c = critical_value(alpha, alternative);
  const double zb = normal_quantile(power);
  const double d = p_b - p_a;
  const double root = c * std::sqrt(pooled * (1 - pooled) * (1 + 1 / ratio)) +
                      zb * std::sqrt(p_a * (1 - p_a) + p_b * (1 - p_b) / ratio);
  const double start = root * root / (d * d);
  return smallest_n(
      [&](double na, double nb) { return power_two_proportions(p_a, p_b, na, nb, alpha, alternative); },
      power, start, ratio);
}

double power_two_means(double difference, double sd_a, double sd_b, double n_a, double n_b,
                       double alpha, Alternative alternative) {
  require_level(alpha, "power_two_means: alpha");
  TAILOR_REQUIRE(finite(difference), "power_two_means: difference must be finite");
  TAILOR_REQUIRE(sd_a >= 0 && sd_b >= 0 && sd_a + sd_b > 0 && finite(sd_a) && finite(sd_b),
                 "power_two_means: standard deviations must be >= 0, not both 0");
  TAILOR_REQUIRE(n_a > 0 && n_b > 0, "power_two_means: group sizes must be > 0");
  const double se = std::sqrt(sd_a * sd_a / n_a + sd_b * sd_b / n_b);
  return z_power(difference, se, se, alpha, alternative);
}

SampleSize sample_size_two_means(double difference, double sd_a, double sd_b, double alpha,
                                 double power, double ratio, Alternative alternative) {
  require_power_args(alpha, power);
  TAILOR_REQUIRE(difference != 0 && finite(difference), "sample_size_two_means: difference must be != 0");
  TAILOR_REQUIRE(ratio > 0 && finite(ratio), "sample_size_two_means: ratio must be > 0, got " << ratio);
  TAILOR_REQUIRE(sd_a >= 0 && sd_b >= 0 && sd_a + sd_b > 0 && finite(sd_a) && finite(sd_b),
                 "sample_size_two_means: standard deviations must be >= 0, not both 0");
  const double c = critical_value(alpha, alternative);
  const double zb = normal_quantile(power);
  const double start =
      (c + zb) * (c + zb) * (sd_a * sd_a + sd_b * sd_b / ratio) / (difference * difference);
  return smallest_n(
      [&](double na, double nb) {
        return power_two_means(difference, sd_a, sd_b, na, nb, alpha, alternative);
      },
      power, start, ratio);
}

double minimum_detectable_difference_proportions(double p_a, double n_a, double n_b, double alpha,
                                                 double power) {
  require_rate(p_a, "minimum_detectable_difference_proportions: p_a");
  require_power_args(alpha, power);
  TAILOR_REQUIRE(n_a > 0 && n_b > 0, "minimum_detectable_difference_proportions: group sizes must be > 0");
  double lo = 0.0, hi = 1.0 - p_a;
  const auto pw = [&](double d) { return power_two_proportions(p_a, p_a + d, n_a, n_b, alpha); };
  if (pw(hi * (1 - 1e-12)) < power) return kNaN;
  for (int it = 0; it < 200 && hi - lo > 1e-15; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (mid > 0 && pw(mid) >= power) hi = mid; else lo = mid;
  }
  return hi;
}

// ---------------------------------------------------------------------------------------------
// SRM, sequential, multiple comparisons

SrmResult sample_ratio_mismatch(const std::vector<double>& units,
                                const std::vector<double>& expected_shares, double threshold) {
  require_level(threshold, "sample_ratio_mismatch: threshold");
  SrmResult r;
  r.test = chi_square_goodness_of_fit(units, expected_shares);
  r.threshold = threshold;
  r.mismatch = r.test.p_value < threshold;
  return r;
}

SequentialResult msprt(double estimate, double variance, double tau, double alpha) {
  TAILOR_REQUIRE(finite(estimate), "msprt: estimate must be finite, got " << estimate);
  TAILOR_REQUIRE(variance > 0 && finite(variance), "msprt: variance must be > 0, got " << variance);
  TAILOR_REQUIRE(tau > 0 && finite(tau), "msprt: tau must be > 0, got " << tau);
  require_level(alpha, "msprt: alpha");
  const double v = variance;
  const double t2 = tau * tau;
  SequentialResult r;
  r.log_likelihood_ratio =
      0.5 * std::log(v / (v + t2)) + t2 * estimate * estimate / (2.0 * v * (v + t2));
  r.p_value = std::min(1.0, std::exp(-r.log_likelihood_ratio));
  r.reject = r.log_likelihood_ratio >= -std::log(alpha);
  const double half = std::sqrt(2.0 * v * (v + t2) / t2 * (-std::log(alpha) + 0.5 * std::log((v + t2) / v)));
  r.confidence_sequence = {estimate - half, estimate + half};
  return r;
}

const char* correction_name(Correction correction) noexcept {
  switch (correction) {
    case Correction::none: return "none";
    case Correction::bonferroni: return "bonferroni";
    case Correction::holm: return "holm";
  }
  return "unknown";
}

Correction parse_correction(const std::string& name) {
  if (name == "none") return Correction::none;
  if (name == "bonferroni") return Correction::bonferroni;
  if (name == "holm") return Correction::holm;
  TAILOR_THROW(invalid_argument, "unknown correction '" << name << "' (expected none, bonferroni or holm)");
}

MultipleTestResult correct_p_values(const std::vector<double>& p_values, double alpha,
                                    Correction correction) {
  require_level(alpha, "correct_p_values: alpha");
  const std::size_t m = p_values.size();
  for (std::size_t i = 0; i < m; ++i) {
    TAILOR_REQUIRE(p_values[i] >= 0 && p_values[i] <= 1,
                   "correct_p_values: p_values[" << i << "] must be in [0, 1], got " << p_values[i]);
  }
  MultipleTestResult r;
  r.adjusted_p.assign(m, 0.0);
  r.alpha.assign(m, alpha);
  r.reject.assign(m, false);
  const double md = static_cast<double>(m);
  switch (correction) {
    case Correction::none:
      for (std::size_t i = 0; i < m; ++i) {
        r.adjusted_p[i] = p_values[i];
        r.reject[i] = p_values[i] <= alpha;
      }
      break;
    case Correction::bonferroni:
      for (std::size_t i = 0; i < m; ++i) {
        r.adjusted_p[i] = std::min(1.0, md * p_values[i]);
        r.alpha[i] = alpha / md;
        r.reject[i] = p_values[i] <= r.alpha[i];
      }
      break;
    case Correction::holm: {
      std::vector<std::size_t> order(m);
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return p_values[a] < p_values[b]; });
      double running = 0.0;
      bool rejecting = true;
      for (std::size_t rank = 0; rank < m; ++rank) {
        const std::size_t i = order[rank];
        const double factor = md - static_cast<double>(rank);
        running = std::max(running, std::min(1.0, factor * p_values[i]));
        r.adjusted_p[i] = running;
        r.alpha[i] = alpha / factor;
        rejecting = rejecting && p_values[i] <= r.alpha[i];
        r.reject[i] = rejecting;
      }
      break;
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Drift statistics

double population_stability_index(const std::vector<double>& reference,
                                  const std::vector<double>& current, double epsilon) {
  if (!(epsilon > 0.0 && epsilon < 1.0)) {
    TAILOR_THROW(invalid_argument, "population_stability_index: epsilon must be in (0, 1), got " << epsilon);
  }
  if (reference.size() != current.size()) {
    TAILOR_THROW(invalid_argument, "population_stability_index: reference has " << reference.size()
                                       << " bins but current has " << current.size());
  }
  if (reference.empty()) TAILOR_THROW(invalid_argument, "population_stability_index: no bins");
  double ref_sum = 0.0, cur_sum = 0.0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    if (!std::isfinite(reference[i]) || reference[i] < 0.0) {
      TAILOR_THROW(invalid_argument, "population_stability_index: reference[" << i
                                         << "] must be finite and >= 0, got " << reference[i]);
    }
    if (!std::isfinite(current[i]) || current[i] < 0.0) {
      TAILOR_THROW(invalid_argument, "population_stability_index: current[" << i
                                         << "] must be finite and >= 0, got " << current[i]);
    }
    ref_sum += reference[i];
    cur_sum += current[i];
  }
  if (!(ref_sum > 0.0)) TAILOR_THROW(invalid_argument, "population_stability_index: reference counts sum to 0");
  if (!(cur_sum > 0.0)) TAILOR_THROW(invalid_argument, "population_stability_index: current counts sum to 0");
  double psi = 0.0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const double e = std::max(reference[i] / ref_sum, epsilon);
    const double a = std::max(current[i] / cur_sum, epsilon);
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

nlohmann::json KsResult::to_json() const {
  return {{"statistic", json_number(statistic)}, {"p_value", json_number(p_value)}, {"n1", n1}, {"n2", n2}};
}

KsResult ks_two_sample(std::vector<double> sample1, std::vector<double> sample2) {
  if (sample1.empty()) TAILOR_THROW(invalid_argument, "ks_two_sample: sample1 is empty");
  if (sample2.empty()) TAILOR_THROW(invalid_argument, "ks_two_sample: sample2 is empty");
  for (std::size_t i = 0; i < sample1.size(); ++i) {
    if (std::isnan(sample1[i])) TAILOR_THROW(invalid_argument, "ks_two_sample: sample1[" << i << "] is NaN");
  }
  for (std::size_t i = 0; i < sample2.size(); ++i) {
    if (std::isnan(sample2[i])) TAILOR_THROW(invalid_argument, "ks_two_sample: sample2[" << i << "] is NaN");
  }
  std::sort(sample1.begin(), sample1.end());
  std::sort(sample2.begin(), sample2.end());
  const std::size_t n = sample1.size();
  const std::size_t m = sample2.size();
  // |F1 - F2| = |i m - j n| / (n m) after consuming every value <= x from both samples; exact in
  // integers so that ties never produce a spurious gap.
  std::size_t i = 0, j = 0;
  long double best = 0.0L;
  while (i < n && j < m) {
    const double x = std::min(sample1[i], sample2[j]);
    while (i < n && sample1[i] <= x) ++i;
    while (j < m && sample2[j] <= x) ++j;
    const long double a = static_cast<long double>(i) * static_cast<long double>(m);
    const long double b = static_cast<long double>(j) * static_cast<long double>(n);
    best = std::max(best, a > b ? a - b : b - a);
  }
  KsResult r;
  r.n1 = n;
  r.n2 = m;
  r.statistic = static_cast<double>(best / (static_cast<long double>(n) * static_cast<long double>(m)));
  const double en = static_cast<double>(n) * static_cast<double>(m) / static_cast<double>(n + m);
  r.p_value = kolmogorov_survival(std::sqrt(en) * r.statistic);
  return r;
}

}  // namespace tailor::stats
