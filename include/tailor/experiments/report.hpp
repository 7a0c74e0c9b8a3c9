// tailor: the experiment report. Turns an experiment's configuration and its tracked metrics into
// a verdict per treatment variant (won, lost or inconclusive) and the reasons for it, as JSON and
// as a readable table.
//
// How a verdict is reached, for each treatment against the control, on the plan's primary metric:
//   1. Sample-ratio mismatch: units per variant against the configured shares (chi-square
//      goodness of fit, stats::sample_ratio_mismatch). A mismatch (p < srm_threshold) makes every
//      verdict inconclusive: assignment or logging is broken, no effect estimate can be trusted.
//      The check needs >= 5 expected units per variant; with fewer it is skipped (and said so).
//   2. Enough data: both arms need min_units units and a testable metric (two units with a
//      variance, a control value > 0 for planning).
//   3. The test (by metric, see outcomes.hpp MetricTest): two-proportion z-test for rates of
//      units, Welch's t-test for revenue per user and order value, a delta-method z-test for
//      ratio metrics (CTR, return rate, dwell). Confidence intervals for the difference and the
//      relative lift (delta method on the log ratio) at level 1 - alpha/m, m = number of
//      treatments (Bonferroni; Holm has no simultaneous intervals).
//   4. Peeking guard. mode sequential (default): the decision uses the mSPRT's always-valid
//      p-value (tau = minimum_detectable_effect * baseline), valid whenever the report is read.
//      mode fixed_horizon: the decision uses the fixed-horizon p-value, and only once both arms
//      reached the planned sample size; before that the verdict is inconclusive.
//   5. Multiple comparisons: the decision p-values of all treatments are corrected together
//      (Holm by default) at family-wise level alpha; "adjusted alpha" is the level each p-value
//      was compared with.
//   6. Significant and better in the metric's good direction: won; significant and worse: lost;
//      otherwise inconclusive, with the power the fixed-horizon test has at the minimum
//      detectable effect with the units so far, and the planned units per arm (from
//      stats::sample_size_*, at alpha/m). In sequential mode the mSPRT needs somewhat more units
//      than that plan.
// Secondary metrics (every other metric with data) are reported with fixed-horizon tests and are
// not used for the verdict. With more than two variants and a rate as primary metric, a
// chi-square test across all variants is added (omnibus).
//
// Thread-safety: plain functions and value types; thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/experiments/experiment.hpp"
#include "tailor/experiments/outcomes.hpp"
#include "tailor/stats/hypothesis.hpp"

namespace tailor {

enum class Verdict { won, lost, inconclusive };
/// "won", "lost", "inconclusive".
TAILOR_API const char* verdict_name(Verdict verdict) noexcept;

/// One metric of one treatment against the control.
struct TAILOR_API MetricComparison {
  Metric metric = Metric::conversion_rate;
  bool tested = false;       ///< false: not enough data for the test (see note)
  std::string note;          ///< why it was not tested; empty when tested
  std::string test;          ///< "two-proportion z", "Welch t", "delta-method z"
  double control_value = 0;
  double variant_value = 0;
  double difference = 0;     ///< variant - control
  stats::Interval difference_ci;
  double relative_lift = 0;  ///< variant / control - 1 (NaN when control is 0)
  stats::Interval lift_ci;   ///< NaN bounds when undefined
  double confidence = 0.95;  ///< level of both intervals
  double statistic = 0;      ///< z or t
  double df = 0;             ///< +inf for z tests
  double p_value = 1;        ///< fixed-horizon, two-sided
  double sequential_p_value = 1;        ///< mSPRT always-valid p-value (primary metric only)
  stats::Interval sequential_ci{0, 0};  ///< mSPRT confidence sequence of the difference

  nlohmann::json to_json() const;
};

/// The verdict of one treatment.
struct TAILOR_API VariantResult {
  std::string variant;
  Verdict verdict = Verdict::inconclusive;
  std::string reason;                    ///< one or two plain sentences
  MetricComparison primary;
  std::vector<MetricComparison> secondary;
  double decision_p_value = 1;           ///< the p-value the verdict compared (sequential or fixed)
  double adjusted_alpha = 0.05;          ///< what it was compared with after the correction
  bool significant = false;
  double power_at_mde = 0;               ///< fixed-horizon power at the MDE with the current units
  double planned_units_control = 0;      ///< planned units for the control arm (NaN if unknown)
  double planned_units_variant = 0;      ///< planned units for this arm (NaN if unknown)

  nlohmann::json to_json() const;
};

/// Everything the report says about one experiment.
struct TAILOR_API ExperimentReport {
  std::string experiment;
  std::string control;
  AnalysisPlan plan;
  std::vector<VariantMetrics> variants;     ///< config order, then the holdout if it was exposed
  std::vector<double> configured_shares;    ///< per variant (not the holdout), config order
  bool srm_checked = false;
  stats::SrmResult srm;
  std::optional<stats::ChiSquareResult> omnibus;
  std::vector<VariantResult> results;       ///< one per treatment, config order
  std::vector<std::string> warnings;

  nlohmann::json to_json() const;
  /// A readable fixed-width table with the per-variant metrics, verdicts and reasons.
  std::string to_table() const;
};

/// Analyzes one experiment's metrics against its configuration (see the header comment).
/// Throws Error(invalid_argument) when metrics.experiment is not config.name.
TAILOR_API ExperimentReport analyze_experiment(const ExperimentConfig& config,
                                               const ExperimentMetrics& metrics);

}  // namespace tailor
