// tailor: experiment verdicts (won / lost / inconclusive) with reasons, as JSON and as a table.
#include "tailor/experiments/report.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "tailor/core/error.hpp"

namespace tailor {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json interval_json(const stats::Interval& i) { return nlohmann::json::array({num(i.lower), num(i.upper)}); }

std::string fmt(const char* format, double v) {
  if (!std::isfinite(v)) return std::isinf(v) ? (v > 0 ? "inf" : "-inf") : "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string percent(double v, const char* format = "%+.2f%%") { return fmt(format, 100.0 * v); }

std::string p_text(double p) {
  if (!std::isfinite(p)) return "n/a";
  if (p < 1e-4) return fmt("%.1e", p);
  return fmt("%.4f", p);
}

std::string count_text(double v) {
  if (!std::isfinite(v)) return "n/a";
  return fmt("%.0f", v);
}

// A metric value in a form that suits it.
std::string metric_value_text(Metric m, double v) {
  switch (m) {
    case Metric::conversion_rate:
    case Metric::click_through_rate:
    case Metric::add_to_cart_rate:
    case Metric::return_rate: return percent(v, "%.3f%%");
    default: return fmt("%.4g", v);
  }
}

std::string difference_text(Metric m, double v) {
  switch (m) {
    case Metric::conversion_rate:
    case Metric::click_through_rate:
    case Metric::add_to_cart_rate:
    case Metric::return_rate: return percent(v, "%+.3f pp");
    default: return fmt("%+.4g", v);
  }
}

const std::vector<Metric>& all_metrics() {
  static const std::vector<Metric> kAll = {Metric::conversion_rate,  Metric::click_through_rate,
                                           Metric::add_to_cart_rate, Metric::revenue_per_user,
                                           Metric::average_order_value, Metric::return_rate,
                                           Metric::dwell_time};
  return kAll;
}

// Fixed-horizon test of one metric; `confidence` for the intervals.
MetricComparison compare(Metric metric, const VariantMetrics& control, const VariantMetrics& variant,
                         double confidence) {
  MetricComparison c;
  c.metric = metric;
  c.confidence = confidence;
  const MetricEstimate ec = estimate(control, metric);
  const MetricEstimate ev = estimate(variant, metric);
  c.control_value = ec.value;
  c.variant_value = ev.value;
  c.difference = ev.value - ec.value;
  c.relative_lift = ec.value != 0 ? ev.value / ec.value - 1.0 : kNaN;
  c.difference_ci = {kNaN, kNaN};
  c.lift_ci = {kNaN, kNaN};
  c.sequential_ci = {kNaN, kNaN};
  c.sequential_p_value = kNaN;
  c.p_value = kNaN;
  c.statistic = kNaN;
  c.df = kNaN;
  const MetricTest kind = metric_test(metric);
  c.test = kind == MetricTest::two_proportion ? "two-proportion z" : kind == MetricTest::welch ? "Welch t" : "delta-method z";
  if (!ec.defined() || !ev.defined()) {
    c.note = "not enough data (each arm needs 2 observations with a defined " + std::string(metric_name(metric)) + ")";
    return c;
  }
  if (ec.variance + ev.variance <= 0) {
    c.note = "no variation in either arm";
    return c;
  }
  stats::TestResult t;
  switch (kind) {
    case MetricTest::two_proportion: {
      const double sc = metric == Metric::conversion_rate ? double(control.converting_units) : double(control.carting_units);
      const double sv = metric == Metric::conversion_rate ? double(variant.converting_units) : double(variant.carting_units);
      t = stats::two_proportion_z_test(sc, double(control.units), sv, double(variant.units));
      c.difference_ci = stats::proportion_difference_ci(sc, double(control.units), sv, double(variant.units), confidence);
      break;
    }
    case MetricTest::welch: {
      const stats::Moments& mc = metric == Metric::revenue_per_user ? control.revenue_per_unit : control.order_values;
      const stats::Moments& mv = metric == Metric::revenue_per_user ? variant.revenue_per_unit : variant.order_values;
      t = stats::welch_t_test(mc, mv);
      c.difference_ci = stats::mean_difference_ci(mc, mv, confidence);
      break;
    }
    case MetricTest::ratio:
      t = stats::z_test(c.difference, std::sqrt(ec.variance + ev.variance));
      c.difference_ci = stats::normal_ci(c.difference, ec.variance + ev.variance, confidence);
      break;
  }
  c.tested = true;
  c.statistic = t.statistic;
  c.df = t.df;
  c.p_value = t.p_value;
  const stats::LiftEstimate lift = stats::relative_lift(ec.value, ec.variance, ev.value, ev.variance, confidence);
  c.relative_lift = lift.lift;
  c.lift_ci = lift.ci;
  return c;
}

bool is_rate(Metric m) {
  return m == Metric::conversion_rate || m == Metric::add_to_cart_rate;
}

}  // namespace

const char* verdict_name(Verdict verdict) noexcept {
  switch (verdict) {
    case Verdict::won: return "won";
    case Verdict::lost: return "lost";
    case Verdict::inconclusive: return "inconclusive";
  }
  return "unknown";
}

nlohmann::json MetricComparison::to_json() const {
  nlohmann::json j = {{"metric", metric_name(metric)},
                      {"tested", tested},
                      {"test", test},
                      {"control", num(control_value)},
                      {"variant", num(variant_value)},
                      {"difference", num(difference)},
                      {"difference_ci", interval_json(difference_ci)},
                      {"relative_lift", num(relative_lift)},
                      {"relative_lift_ci", interval_json(lift_ci)},
                      {"confidence", confidence},
                      {"statistic", num(statistic)},
                      {"df", std::isinf(df) ? nlohmann::json("inf") : num(df)},
                      {"p_value", num(p_value)}};
  if (std::isfinite(sequential_p_value)) {
    j["sequential_p_value"] = sequential_p_value;
    j["sequential_ci"] = interval_json(sequential_ci);
  }
  if (!note.empty()) j["note"] = note;
  return j;
}

nlohmann::json VariantResult::to_json() const {
  nlohmann::json j = {{"variant", variant},
                      {"verdict", verdict_name(verdict)},
                      {"reason", reason},
                      {"significant", significant},
                      {"decision_p_value", num(decision_p_value)},
                      {"adjusted_alpha", adjusted_alpha},
                      {"power_at_mde", num(power_at_mde)},
                      {"planned_units_control", num(planned_units_control)},
                      {"planned_units_variant", num(planned_units_variant)},
                      {"primary", primary.to_json()}};
  j["secondary"] = nlohmann::json::array();
  for (const auto& s : secondary) j["secondary"].push_back(s.to_json());
  return j;
}

nlohmann::json ExperimentReport::to_json() const {
  nlohmann::json j;
  j["experiment"] = experiment;
  j["control"] = control;
  j["plan"] = {{"primary_metric", metric_name(plan.primary_metric)},
               {"alpha", plan.alpha},
               {"power", plan.power},
               {"minimum_detectable_effect", plan.minimum_detectable_effect},
               {"baseline", plan.baseline ? nlohmann::json(*plan.baseline) : nlohmann::json(nullptr)},
               {"mode", analysis_mode_name(plan.mode)},
               {"correction", stats::correction_name(plan.correction)},
               {"srm_threshold", plan.srm_threshold},
               {"min_units", plan.min_units}};
  j["variants"] = nlohmann::json::array();
  for (const auto& v : variants) j["variants"].push_back(v.to_json());
  j["configured_shares"] = configured_shares;
  nlohmann::json s = {{"checked", srm_checked}};
  if (srm_checked) {
    s["mismatch"] = srm.mismatch;
    s["statistic"] = srm.test.statistic;
    s["df"] = srm.test.df;
    s["p_value"] = srm.test.p_value;
    s["threshold"] = srm.threshold;
    s["expected_units"] = srm.test.expected.empty() ? std::vector<double>{} : srm.test.expected[0];
  }
  j["sample_ratio"] = s;
  if (omnibus) {
    j["omnibus"] = {{"test", "chi-square of independence"},
                    {"statistic", omnibus->statistic},
                    {"df", omnibus->df},
                    {"p_value", omnibus->p_value}};
  }
  j["results"] = nlohmann::json::array();
  for (const auto& r : results) j["results"].push_back(r.to_json());
  j["warnings"] = warnings;
  return j;
}

std::string ExperimentReport::to_table() const {
  std::ostringstream os;
  const Metric pm = plan.primary_metric;
  os << "experiment " << experiment << ": control " << control << ", primary metric " << metric_name(pm)
     << ", " << (plan.mode == AnalysisMode::sequential ? "sequential (mSPRT, safe to peek)" : "fixed horizon")
     << ", " << stats::correction_name(plan.correction) << " correction, alpha " << fmt("%g", plan.alpha)
     << ", MDE " << percent(plan.minimum_detectable_effect, "%g%%") << "\n";
  if (srm_checked) {
    os << "sample ratio: " << (srm.mismatch ? "MISMATCH" : "ok") << " (chi-square " << fmt("%.3f", srm.test.statistic)
       << ", df " << fmt("%g", srm.test.df) << ", p " << p_text(srm.test.p_value) << ", threshold "
       << fmt("%g", srm.threshold) << ")\n";
  } else {
    os << "sample ratio: not checked (too few units)\n";
  }
  char line[512];
  std::snprintf(line, sizeof line, "\n%-14s %9s %10s %11s %9s %10s %9s %10s %12s %10s %8s\n", "variant", "units",
                "exposures", "impressions", "CTR", "conversion", "cart", "AOV", "revenue/user", "returns", "dwell s");
  os << line;
  for (const auto& v : variants) {
    std::snprintf(line, sizeof line, "%-14s %9llu %10llu %11llu %9s %10s %9s %10s %12s %10s %8s\n",
                  v.name.substr(0, 14).c_str(), static_cast<unsigned long long>(v.units),
                  static_cast<unsigned long long>(v.exposures), static_cast<unsigned long long>(v.impressions),
                  percent(v.click_through_rate(), "%.2f%%").c_str(), percent(v.conversion_rate(), "%.2f%%").c_str(),
                  percent(v.add_to_cart_rate(), "%.2f%%").c_str(), fmt("%.2f", v.average_order_value()).c_str(),
                  fmt("%.3f", v.revenue_per_user()).c_str(), percent(v.return_rate(), "%.2f%%").c_str(),
                  fmt("%.1f", v.mean_dwell_seconds()).c_str());
    os << line;
  }
  if (omnibus) {
    os << "all variants (chi-square of " << metric_name(pm) << "): chi2 " << fmt("%.3f", omnibus->statistic) << ", df "
       << fmt("%g", omnibus->df) << ", p " << p_text(omnibus->p_value) << "\n";
  }
  std::snprintf(line, sizeof line, "\n%-14s %-13s %-32s %-28s %9s %9s %9s %8s %18s\n", "vs control", "verdict",
                "difference (CI)", "lift (CI)", "p(seq)", "p(fixed)", "adj.alpha", "power", "planned units/arm");
  os << line;
  for (const auto& r : results) {
    const MetricComparison& c = r.primary;
    std::string verdict = verdict_name(r.verdict);
    std::transform(verdict.begin(), verdict.end(), verdict.begin(), [](unsigned char ch) {
      return static_cast<char>(std::toupper(ch));
    });
    const std::string diff = difference_text(pm, c.difference) + " [" + difference_text(pm, c.difference_ci.lower) +
                             ", " + difference_text(pm, c.difference_ci.upper) + "]";
    const std::string lift = percent(c.relative_lift, "%+.1f%%") + " [" + percent(c.lift_ci.lower, "%+.1f%%") + ", " +
                             percent(c.lift_ci.upper, "%+.1f%%") + "]";
    const std::string planned = count_text(r.planned_units_variant);
    std::snprintf(line, sizeof line, "%-14s %-13s %-32s %-28s %9s %9s %9s %8s %18s\n", r.variant.substr(0, 14).c_str(),
                  verdict.c_str(), diff.c_str(), lift.c_str(), p_text(c.sequential_p_value).c_str(),
                  p_text(c.p_value).c_str(), fmt("%.4g", r.adjusted_alpha).c_str(),
                  percent(r.power_at_mde, "%.0f%%").c_str(), planned.c_str());
    os << line;
    os << "  why: " << r.reason << "\n";
    for (const auto& s : r.secondary) {
      if (!s.tested) continue;
      os << "  secondary " << metric_name(s.metric) << ": " << metric_value_text(s.metric, s.control_value) << " -> "
         << metric_value_text(s.metric, s.variant_value) << " (lift " << percent(s.relative_lift, "%+.1f%%") << ", p "
         << p_text(s.p_value) << ", not corrected, not used for the verdict)\n";
    }
  }
  if (!warnings.empty()) {
    os << "\nwarnings:\n";
    for (const auto& w : warnings) os << "  - " << w << "\n";
  }
  return os.str();
}

ExperimentReport analyze_experiment(const ExperimentConfig& config, const ExperimentMetrics& metrics) {
  TAILOR_REQUIRE(metrics.experiment == config.name, "analyze_experiment: metrics of experiment '"
                                                        << metrics.experiment << "' given for experiment '"
                                                        << config.name << "'");
  config.analysis.validate();
  ExperimentReport r;
  r.experiment = config.name;
  r.control = config.control_name();
  r.plan = config.analysis;
  const AnalysisPlan& plan = config.analysis;
  const Metric pm = plan.primary_metric;

  // Variants in config order (zeros when never exposed), then the holdout.
  std::size_t control_index = 0;
  for (std::size_t i = 0; i < config.variants.size(); ++i) {
    const Variant& v = config.variants[i];
    const VariantMetrics* m = metrics.find(v.name);
    VariantMetrics vm = m != nullptr ? *m : VariantMetrics{};
    vm.name = v.name;
    vm.holdout = false;
    r.variants.push_back(std::move(vm));
    r.configured_shares.push_back(v.share);
    if (v.name == r.control) control_index = i;
  }
  if (const VariantMetrics* h = metrics.find(kHoldoutVariant)) r.variants.push_back(*h);
  for (const auto& m : metrics.variants) {
    if (m.holdout) continue;
    const bool known = std::any_of(config.variants.begin(), config.variants.end(),
                                   [&](const Variant& v) { return v.name == m.name; });
    if (!known) {
      r.warnings.push_back("exposures name variant '" + m.name + "', which is not in the configuration (" +
                           std::to_string(m.units) + " units ignored)");
    }
  }
  if (metrics.conflicting_units > 0) {
    r.warnings.push_back(std::to_string(metrics.conflicting_units) +
                         " units were exposed under more than one variant (counted in their first); "
                         "check that the configuration did not change during the experiment");
  }
  const std::size_t k = config.variants.size();

  // 1. Sample-ratio mismatch.
  std::vector<double> units(k);
  double total_units = 0, share_total = 0;
  for (std::size_t i = 0; i < k; ++i) {
    units[i] = double(r.variants[i].units);
    total_units += units[i];
    share_total += config.variants[i].share;
  }
  bool enough_for_srm = total_units > 0;
  for (std::size_t i = 0; i < k; ++i)
    enough_for_srm = enough_for_srm && config.variants[i].share / share_total * total_units >= 5.0;
  if (enough_for_srm) {
    r.srm_checked = true;
    r.srm = stats::sample_ratio_mismatch(units, r.configured_shares, plan.srm_threshold);
    if (r.srm.mismatch) {
      std::ostringstream w;
      w << "sample ratio mismatch: units per variant differ from the configured shares (chi-square p = "
        << p_text(r.srm.test.p_value) << " < " << plan.srm_threshold
        << "); assignment or exposure logging is broken, so no verdict can be trusted";
      r.warnings.push_back(w.str());
    }
  } else if (total_units == 0) {
    r.warnings.push_back("no exposures recorded for this experiment");
  }

  // Omnibus chi-square across all variants for a rate metric.
  if (k > 2 && is_rate(pm)) {
    std::vector<double> successes, trials;
    bool ok = true;
    for (std::size_t i = 0; i < k; ++i) {
      const auto& v = r.variants[i];
      ok = ok && v.units > 0;
      successes.push_back(double(pm == Metric::conversion_rate ? v.converting_units : v.carting_units));
      trials.push_back(double(v.units));
    }
    double s_total = 0, t_total = 0;
    for (std::size_t i = 0; i < k; ++i) {
      s_total += successes[i];
      t_total += trials[i];
    }
    if (ok && s_total > 0 && s_total < t_total) r.omnibus = stats::chi_square_rates(successes, trials);
  }

  // 2-3. Comparisons of each treatment with the control.
  const VariantMetrics& control = r.variants[control_index];
  const double m = static_cast<double>(k - 1);
  const double confidence = 1.0 - plan.alpha / m;
  const double plan_alpha = plan.alpha / m;  // planning at the Bonferroni level (conservative)
  const MetricEstimate ec = estimate(control, pm);
  const double baseline = plan.baseline.value_or(ec.value);
  std::vector<VariantResult> results;
  std::vector<double> decision_p;
  std::vector<bool> decidable;
  std::vector<std::string> blockers;
  for (std::size_t i = 0; i < k; ++i) {
    if (i == control_index) continue;
    const VariantMetrics& variant = r.variants[i];
    VariantResult vr;
    vr.variant = variant.name;
    vr.primary = compare(pm, control, variant, confidence);
    for (Metric other : all_metrics()) {
      if (other == pm) continue;
      MetricComparison s = compare(other, control, variant, 1.0 - plan.alpha);
      if (s.tested) vr.secondary.push_back(std::move(s));
    }
    const MetricEstimate ev = estimate(variant, pm);
    const double ratio = config.variants[i].share / config.variants[control_index].share;

    // Sequential test on the primary metric.
    const double tau = plan.minimum_detectable_effect * baseline;
    if (vr.primary.tested && std::isfinite(tau) && tau > 0) {
      const stats::SequentialResult seq = stats::msprt(vr.primary.difference, ec.variance + ev.variance, tau, plan_alpha);
      vr.primary.sequential_p_value = seq.p_value;
      vr.primary.sequential_ci = seq.confidence_sequence;
    }

    // Plan and power at the MDE.
    vr.planned_units_control = vr.planned_units_variant = kNaN;
    vr.power_at_mde = kNaN;
    const double target = baseline * (1.0 + (higher_is_better(pm) ? 1.0 : -1.0) * plan.minimum_detectable_effect);
    try {
      if (metric_test(pm) == MetricTest::two_proportion) {
        if (baseline > 0 && baseline < 1 && target > 0 && target < 1) {
          const stats::SampleSize n = stats::sample_size_two_proportions(baseline, target, plan_alpha, plan.power, ratio);
          vr.planned_units_control = n.n_a;
          vr.planned_units_variant = n.n_b;
          if (control.units > 0 && variant.units > 0) {
            vr.power_at_mde = stats::power_two_proportions(baseline, target, double(control.units),
                                                           double(variant.units), plan_alpha);
          }
        }
      } else if (ec.defined() && ec.sd() > 0 && baseline > 0) {
        const double delta = target - baseline;
        const double sd = ec.sd();
        const stats::SampleSize n = stats::sample_size_two_means(delta, sd, sd, plan_alpha, plan.power, ratio);
        vr.planned_units_control = n.n_a;
        vr.planned_units_variant = n.n_b;
        if (ev.n > 0) vr.power_at_mde = stats::power_two_means(delta, sd, sd, ec.n, ev.n, plan_alpha);
      }
    } catch (const Error&) {
      // Planning impossible (e.g. the MDE is below what 1e15 units can detect): left as NaN.
    }

    // What stops a decision, if anything.
    std::string blocker;
    const double needed = double(plan.min_units);
    if (r.srm_checked && r.srm.mismatch) {
      blocker = "sample ratio mismatch (p = " + p_text(r.srm.test.p_value) +
                "): assignment or logging is broken; fix it before reading any result";
    } else if (double(control.units) < needed || double(variant.units) < needed) {
      blocker = "not enough data: " + std::to_string(control.units) + " units in " + control.name + " and " +
                std::to_string(variant.units) + " in " + variant.name + " (at least " + std::to_string(plan.min_units) +
                " each before any verdict)";
    } else if (!vr.primary.tested) {
      blocker = std::string(metric_name(pm)) + " cannot be tested yet: " + vr.primary.note;
    } else if (plan.mode == AnalysisMode::sequential && !std::isfinite(vr.primary.sequential_p_value)) {
      blocker = "the sequential test needs a control " + std::string(metric_name(pm)) + " above 0 (or a baseline)";
    } else if (plan.mode == AnalysisMode::fixed_horizon) {
      if (!std::isfinite(vr.planned_units_variant)) {
        blocker = "fixed-horizon analysis without a plan: give analysis.baseline or wait for a control value above 0";
      } else if (double(control.units) < vr.planned_units_control || double(variant.units) < vr.planned_units_variant) {
        blocker = "fixed-horizon analysis: the planned sample (" + count_text(vr.planned_units_control) + " units in " +
                  control.name + ", " + count_text(vr.planned_units_variant) + " in " + variant.name +
                  ") is not reached (" + std::to_string(control.units) + " and " + std::to_string(variant.units) +
                  "); reading the test earlier inflates false positives, keep running";
      }
    }
    decidable.push_back(blocker.empty());
    blockers.push_back(blocker);
    const double p = plan.mode == AnalysisMode::sequential ? vr.primary.sequential_p_value : vr.primary.p_value;
    decision_p.push_back(blocker.empty() && std::isfinite(p) ? p : 1.0);
    vr.decision_p_value = blocker.empty() ? p : kNaN;
    results.push_back(std::move(vr));
  }

  // 5. Correction over all treatments, then 6. verdicts.
  const stats::MultipleTestResult corrected = stats::correct_p_values(decision_p, plan.alpha, plan.correction);
  for (std::size_t j = 0; j < results.size(); ++j) {
    VariantResult& vr = results[j];
    vr.adjusted_alpha = corrected.alpha[j];
    const MetricComparison& c = vr.primary;
    if (!decidable[j]) {
      vr.verdict = Verdict::inconclusive;
      vr.reason = "Inconclusive: " + blockers[j] + ".";
      continue;
    }
    vr.significant = corrected.reject[j];
    const std::string test_name = plan.mode == AnalysisMode::sequential ? "mSPRT always-valid p" : c.test + " p";
    std::ostringstream why;
    const std::string effect = std::string(metric_name(pm)) + " " + metric_value_text(pm, c.control_value) + " -> " +
                               metric_value_text(pm, c.variant_value) + " (" + difference_text(pm, c.difference) +
                               ", lift " + percent(c.relative_lift, "%+.1f%%") + ", " +
                               fmt("%g", 100.0 * c.confidence) + "% CI " + percent(c.lift_ci.lower, "%+.1f%%") +
                               " to " + percent(c.lift_ci.upper, "%+.1f%%") + ")";
    if (vr.significant) {
      const bool better = (c.difference > 0) == higher_is_better(pm);
      vr.verdict = better ? Verdict::won : Verdict::lost;
      why << (better ? "Won: " : "Lost: ") << effect << "; " << test_name << " = " << p_text(vr.decision_p_value)
          << " <= adjusted alpha " << fmt("%.4g", vr.adjusted_alpha) << " ("
          << stats::correction_name(plan.correction) << ")";
      if (!better && !higher_is_better(pm)) why << "; for " << metric_name(pm) << " lower is better";
      why << ".";
    } else {
      vr.verdict = Verdict::inconclusive;
      why << "Inconclusive: " << effect << "; " << test_name << " = " << p_text(vr.decision_p_value)
          << " > adjusted alpha " << fmt("%.4g", vr.adjusted_alpha) << ". ";
      if (std::isfinite(vr.power_at_mde) && vr.power_at_mde >= plan.power) {
        why << "Power to detect a " << percent(plan.minimum_detectable_effect, "%g%%") << " effect is already "
            << percent(vr.power_at_mde, "%.0f%%") << ": an effect that large would most likely have shown, so the "
            << "true effect is probably smaller than the MDE.";
      } else if (std::isfinite(vr.power_at_mde)) {
        why << "Power to detect a " << percent(plan.minimum_detectable_effect, "%g%%") << " effect is only "
            << percent(vr.power_at_mde, "%.0f%%") << " (target " << percent(plan.power, "%.0f%%")
            << "): keep running to about " << count_text(vr.planned_units_variant) << " units per arm.";
      } else {
        why << "Power cannot be estimated yet.";
      }
    }
    vr.reason = why.str();
  }
  r.results = std::move(results);
  return r;
}

}  // namespace tailor
