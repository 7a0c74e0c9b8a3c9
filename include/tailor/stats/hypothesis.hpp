// tailor: hypothesis tests and the statistics behind A/B tests and drift: summaries, z, t and
// chi-square tests, intervals, lift, power and sample size, sample-ratio checks, an always-valid
// sequential test, multiple-comparison corrections, and the drift statistics (population
// stability index, two-sample Kolmogorov-Smirnov). Distributions are in distributions.hpp.
// tests/test_stats.cpp checks them against scipy.stats to 1e-6.
//
// Conventions:
//  - "a" is the control, "b" the treatment; differences and lifts are b - a and b / a - 1.
//  - Two-sided tests unless an Alternative is given; `greater` means b > a.
//  - Variances of samples use the n - 1 denominator.
//  - Bad arguments (n <= 0, p outside [0, 1], negative variance, NaN...) throw
//    Error(invalid_argument) naming the argument.
//
// Choices a reader of a report should know (docs/algorithms/statistics.md explains each):
//  - two proportions: the z-test pools the standard error, the interval of the difference does
//    not (Wald); power and sample size use the pooled error under the null, the unpooled one
//    under the alternative;
//  - relative lift: a delta-method interval on log(b/a), asymmetric, undefined (NaN bounds)
//    unless both means are > 0;
//  - ratio metrics (e.g. clicks per impression, users randomized): the delta-method variance of
//    sum(x)/sum(y) over independent units (Deng, Lu, Litz 2018);
//  - peeking: the mixture sequential probability ratio test (mSPRT; Johari, Pekelis, Walsh 2017),
//    whose always-valid p-value may be read after every event, with the planned minimum
//    detectable effect as the mixing scale tau;
//  - several treatments: Holm's step-down correction, with Bonferroni-level intervals.
//
// Complexity: O(1) per test or interval from summaries; sample sizes and detectable effects by
// bisection, O(log n) power evaluations; O(r c) for an r x c table; O(m log m) for a correction
// of m p-values; O(bins) for the PSI; O((n1 + n2) log(n1 + n2)) for the KS test.
//
// Thread-safety: every function is thread-safe (no shared state). Moments and RatioMoments are
// not thread-safe.
#pragma once
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/stats/distributions.hpp"

namespace tailor::stats {

// ---------------------------------------------------------------------------------------------
// Summaries

/// Count, mean and sum of squared deviations of a stream of values (Welford), mergeable (Chan et
/// al.). Not thread-safe.
struct TAILOR_API Moments {
  double n = 0;
  double mean = 0;
  double m2 = 0;  ///< sum of squared deviations from the mean

  void add(double x);
  void merge(const Moments& other);
  /// Sample variance (n - 1 denominator); 0 when n < 2.
  double variance() const { return n > 1 ? m2 / (n - 1) : 0.0; }
  double sum() const { return n * mean; }
  /// From a count, mean and sample standard deviation (e.g. from a published table).
  static Moments from_summary(double n, double mean, double sd);
};

/// Paired per-unit values (x, y) for a ratio metric sum(x) / sum(y), e.g. a user's clicks (x) and
/// impressions (y). Mergeable like Moments. Not thread-safe.
struct TAILOR_API RatioMoments {
  double n = 0;
  double mean_x = 0, mean_y = 0;
  double cxx = 0, cyy = 0, cxy = 0;  ///< sums of (co)deviation products

  void add(double x, double y);
  void merge(const RatioMoments& other);
  double sum_x() const { return n * mean_x; }
  double sum_y() const { return n * mean_y; }
  /// sum(x) / sum(y); NaN when sum(y) == 0.
  double ratio() const;
  /// Delta-method variance of ratio() over independent units:
  /// (s_xx - 2 R s_xy + R^2 s_yy) / (n * mean_y^2). NaN when n < 2 or mean_y == 0.
  double ratio_variance() const;
};

// ---------------------------------------------------------------------------------------------
// Tests and intervals

enum class Alternative {
  two_sided,
  greater,  ///< b > a (the statistic is large and positive)
  less,     ///< b < a
};

/// A closed interval; bounds may be NaN when undefined (e.g. a lift over a zero baseline).
struct Interval {
  double lower = 0;
  double upper = 0;
  bool contains(double x) const { return lower <= x && x <= upper; }
};

/// Result of a test with a normal (z) or t statistic.
struct TestResult {
  double statistic = 0;  ///< z or t (b - a direction)
  double df = 0;         ///< degrees of freedom; +inf for z tests
  double p_value = 1;
  double estimate = 0;   ///< the estimated difference b - a
  double standard_error = 0;
};

/// Result of a chi-square test.
struct ChiSquareResult {
  double statistic = 0;
  double df = 0;
  double p_value = 1;
  std::vector<std::vector<double>> expected;  ///< expected counts (rows x columns; 1 row for GOF)
};

/// p-value of a z statistic.
TAILOR_API double z_p_value(double z, Alternative alternative = Alternative::two_sided);
/// p-value of a t statistic with df degrees of freedom.
TAILOR_API double t_p_value(double t, double df, Alternative alternative = Alternative::two_sided);

/// z test of an estimate against 0 given its standard error (> 0): z = estimate / se.
TAILOR_API TestResult z_test(double estimate, double standard_error,
                             Alternative alternative = Alternative::two_sided);

/// Two-proportion z-test of H0: p_a = p_b with the pooled standard error.
/// successes <= trials, trials >= 1. When both rates are 0 or both 1 the pooled error is 0 and
/// the result is z = 0, p = 1 (no evidence of a difference).
TAILOR_API TestResult two_proportion_z_test(double successes_a, double trials_a, double successes_b,
                                            double trials_b,
                                            Alternative alternative = Alternative::two_sided);

/// Welch's t-test of H0: mean_a = mean_b without assuming equal variances; df by the
/// Welch-Satterthwaite equation. Both groups need n >= 2 and at least one a positive variance.
TAILOR_API TestResult welch_t_test(const Moments& a, const Moments& b,
                                   Alternative alternative = Alternative::two_sided);

/// Pearson's chi-square test of independence of an r x c contingency table of counts (every
/// row and column sum > 0, r, c >= 2). `yates` applies Yates' continuity correction (2 x 2 only,
/// as scipy.stats.chi2_contingency does by default; ignored for larger tables).
TAILOR_API ChiSquareResult chi_square_independence(const std::vector<std::vector<double>>& table,
                                                   bool yates = false);

/// Chi-square test that k rates differ: the k x 2 table (successes, failures).
TAILOR_API ChiSquareResult chi_square_rates(const std::vector<double>& successes,
                                            const std::vector<double>& trials);

/// Chi-square goodness of fit of observed counts against expected shares (normalized to sum
/// 1; every share > 0): statistic sum (o - e)^2 / e with e = share * total, df = k - 1.
TAILOR_API ChiSquareResult chi_square_goodness_of_fit(const std::vector<double>& observed,
                                                      const std::vector<double>& expected_shares);

/// Confidence interval of p_b - p_a with the unpooled (Wald) standard error.
TAILOR_API Interval proportion_difference_ci(double successes_a, double trials_a,
                                             double successes_b, double trials_b,
                                             double confidence);

/// Confidence interval of mean_b - mean_a with Welch's standard error and df.
TAILOR_API Interval mean_difference_ci(const Moments& a, const Moments& b, double confidence);

/// Normal-approximation interval estimate +- z * sqrt(variance).
TAILOR_API Interval normal_ci(double estimate, double variance, double confidence);

/// Relative lift b / a - 1 of two estimates with the variances of the estimates (not of units):
/// the delta method on log(b / a), see the header comment. NaN bounds unless both estimates are
/// > 0.
struct LiftEstimate {
  double lift = 0;  ///< b / a - 1 (NaN when a == 0)
  Interval ci;
};
TAILOR_API LiftEstimate relative_lift(double estimate_a, double variance_a, double estimate_b,
                                      double variance_b, double confidence);

// ---------------------------------------------------------------------------------------------
// Power and sample size

/// Users needed per group. n_a and n_b are rounded up; ratio = n_b / n_a.
struct SampleSize {
  double n_a = 0;
  double n_b = 0;
  double total() const { return n_a + n_b; }
};

/// Power of the (two-sided unless stated) two-proportion z-test to detect p_b vs p_a with n_a and
/// n_b users: pooled error under the null, unpooled under the alternative; both tails counted.
TAILOR_API double power_two_proportions(double p_a, double p_b, double n_a, double n_b,
                                        double alpha,
                                        Alternative alternative = Alternative::two_sided);

/// Smallest n_a (and n_b = ceil(ratio * n_a)) whose power_two_proportions reaches `power`.
TAILOR_API SampleSize sample_size_two_proportions(double p_a, double p_b, double alpha,
                                                  double power, double ratio = 1.0,
                                                  Alternative alternative = Alternative::two_sided);

/// Power of a two-sample z test of means to detect `difference` with standard deviations sd_a,
/// sd_b (per unit) and n_a, n_b units (normal approximation; also used for ratio metrics with the
/// delta-method standard deviation per unit).
TAILOR_API double power_two_means(double difference, double sd_a, double sd_b, double n_a,
                                  double n_b, double alpha,
                                  Alternative alternative = Alternative::two_sided);

/// Smallest n_a (n_b = ceil(ratio * n_a)) whose power_two_means reaches `power`.
TAILOR_API SampleSize sample_size_two_means(double difference, double sd_a, double sd_b,
                                            double alpha, double power, double ratio = 1.0,
                                            Alternative alternative = Alternative::two_sided);

/// Smallest absolute difference p_b - p_a > 0 the two-proportion z-test detects with the given
/// power and group sizes (two-sided); found by bisection on power_two_proportions.
TAILOR_API double minimum_detectable_difference_proportions(double p_a, double n_a, double n_b,
                                                            double alpha, double power);

// ---------------------------------------------------------------------------------------------
// Sample-ratio mismatch

/// Chi-square goodness of fit of the units seen per variant against the configured shares.
struct SrmResult {
  ChiSquareResult test;
  bool mismatch = false;  ///< p_value < the threshold given
  double threshold = 0.001;
};
/// Sample-ratio-mismatch check. A threshold of 0.001 (the default) is usual: a mismatch that
/// unlikely under correct assignment means broken assignment or logging, not bad luck.
TAILOR_API SrmResult sample_ratio_mismatch(const std::vector<double>& units,
                                           const std::vector<double>& expected_shares,
                                           double threshold = 0.001);

// ---------------------------------------------------------------------------------------------
// Sequential testing (peeking guard)

/// mSPRT after one look; see the header comment.
struct SequentialResult {
  double log_likelihood_ratio = 0;  ///< log Lambda
  double p_value = 1;               ///< always-valid: min(1, 1 / Lambda)
  bool reject = false;              ///< Lambda >= 1 / alpha
  Interval confidence_sequence;     ///< always-valid 1 - alpha interval of the difference
};

/// mSPRT of H0: difference = 0 given the current estimate, its variance (> 0) and the mixing
/// standard deviation tau (> 0, on the scale of the difference).
TAILOR_API SequentialResult msprt(double estimate, double variance, double tau, double alpha);

// ---------------------------------------------------------------------------------------------
// Multiple comparisons

enum class Correction {
  none,
  bonferroni,
  holm,  ///< Holm (1979) step-down
};

/// "none", "bonferroni", "holm"; parse_correction throws Error(invalid_argument) otherwise.
TAILOR_API const char* correction_name(Correction correction) noexcept;
TAILOR_API Correction parse_correction(const std::string& name);

/// A family of m hypotheses after correction.
struct MultipleTestResult {
  std::vector<double> adjusted_p;  ///< adjusted p-values (as statsmodels.multipletests)
  std::vector<double> alpha;       ///< the level each raw p-value was compared with
  std::vector<bool> reject;
};

/// Applies the correction at family-wise level alpha. For Holm, alpha[i] = alpha / (m - rank_i)
/// (rank in ascending p order) and rejection stops at the first p-value above its level.
TAILOR_API MultipleTestResult correct_p_values(const std::vector<double>& p_values, double alpha,
                                               Correction correction);

// ---------------------------------------------------------------------------------------------
// Drift statistics

/// Default epsilon of population_stability_index: the floor of every bin proportion.
inline constexpr double kPsiEpsilon = 1e-4;

/// PSI of the binned counts `current` against `reference` (same bins, same order): proportions
/// e_i = reference_i / sum(reference), a_i = current_i / sum(current), each floored at `epsilon`,
/// PSI = sum_i (a_i - e_i) ln(a_i / e_i) >= 0. Throws Error(invalid_argument) for different sizes,
/// no bins, a count that is negative or not finite (naming its side and index), an all-zero side,
/// or epsilon outside (0, 1).
///
/// **Example**:
///   population_stability_index({50, 30, 20}, {40, 30, 30});  // 0.0629 (no significant shift)
TAILOR_API double population_stability_index(const std::vector<double>& reference,
                                             const std::vector<double>& current,
                                             double epsilon = kPsiEpsilon);

/// Result of ks_two_sample.
struct TAILOR_API KsResult {
  double statistic = std::numeric_limits<double>::quiet_NaN();  ///< D in [0, 1]
  double p_value = std::numeric_limits<double>::quiet_NaN();    ///< asymptotic, two-sided
  std::size_t n1 = 0;  ///< size of the first sample
  std::size_t n2 = 0;  ///< size of the second sample
  nlohmann::json to_json() const;
};

/// Two-sample Kolmogorov-Smirnov test: D = sup |F_1 - F_2| (ties handled exactly) and the
/// asymptotic p-value kolmogorov_survival(sqrt(n1 n2 / (n1 + n2)) D), which matches scipy's
/// kstwobign.sf and is accurate when n1 n2 / (n1 + n2) is above a few dozen (it overstates p
/// slightly for smaller samples). Throws Error(invalid_argument) for an empty sample or a value
/// that is NaN (naming the sample and index). O((n1 + n2) log(n1 + n2)).
TAILOR_API KsResult ks_two_sample(std::vector<double> sample1, std::vector<double> sample2);

}  // namespace tailor::stats
