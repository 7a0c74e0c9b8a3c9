// tailor: retrain policy, candidate guard, incremental-versus-full study
// (see include/tailor/monitoring/retrain_policy.hpp).
#include "tailor/monitoring/retrain_guard.hpp"

#include "tailor/evaluation/evaluator.hpp"
#include "tailor/models/scorers.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iterator>
#include <memory>
#include <sstream>
#include <unordered_set>
#include <utility>

#include "tailor/core/error.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/evaluation/metrics.hpp"
#include "tailor/core/scored_item.hpp"
#include "internal/json.hpp"

namespace tailor {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using detail::json_number;

std::string fmt(double v, int digits = 4) { return detail::short_number(v, digits); }

}  // namespace

const char* guard_metric_name(GuardMetric metric) noexcept {
  switch (metric) {
    case GuardMetric::ndcg: return "ndcg";
    case GuardMetric::recall: return "recall";
    case GuardMetric::precision: return "precision";
    case GuardMetric::map: return "map";
    case GuardMetric::hit_rate: return "hit_rate";
  }
  return "unknown";
}

void GuardOptions::validate() const {
  if (k == 0) TAILOR_THROW(invalid_argument, "GuardOptions: k must be >= 1");
  if (!std::isfinite(margin) || margin < 0.0) {
    TAILOR_THROW(invalid_argument, "GuardOptions: margin must be finite and >= 0, got " << margin);
  }
  if (margin_kind == MarginKind::relative && margin >= 1.0) {
    TAILOR_THROW(invalid_argument, "GuardOptions: a relative margin must be < 1, got " << margin);
  }
  if (min_users == 0) TAILOR_THROW(invalid_argument, "GuardOptions: min_users must be >= 1");
}

nlohmann::json GuardOptions::to_json() const {
  return {{"metric", guard_metric_name(metric)},
          {"k", k},
          {"margin", margin},
          {"margin_kind", margin_kind == MarginKind::relative ? "relative" : "absolute"},
          {"min_users", min_users},
          {"accept_without_evidence", accept_without_evidence},
          {"threads", threads}};
}

nlohmann::json GuardDecision::to_json() const {
  return {{"accept", accept},
          {"metric", metric},
          {"serving_metric", json_number(serving_metric)},
          {"candidate_metric", json_number(candidate_metric)},
          {"required", json_number(required)},
          {"users", users},
          {"reason", reason}};
}

namespace {

double pick(const AccuracyMetrics& a, GuardMetric m) {
  switch (m) {
    case GuardMetric::ndcg: return a.ndcg;
    case GuardMetric::recall: return a.recall;
    case GuardMetric::precision: return a.precision;
    case GuardMetric::map: return a.map;
    case GuardMetric::hit_rate: return a.hit_rate;
  }
  return kNaN;
}

}  // namespace

GuardDecision evaluate_candidate(const Scorer& serving, const Scorer& candidate, const Evaluator& holdout,
                                 const GuardOptions& options) {
  options.validate();
  const auto& ks = holdout.options().ks;
  if (std::find(ks.begin(), ks.end(), options.k) == ks.end()) {
    TAILOR_THROW(invalid_argument, "evaluate_candidate: the holdout Evaluator does not evaluate k = "
                                       << options.k << " (add it to EvaluationOptions::ks)");
  }
  GuardDecision d;
  d.metric = std::string(guard_metric_name(options.metric)) + "@" + std::to_string(options.k);
  d.users = holdout.test_users().size();
  if (d.users < options.min_users) {
    d.accept = options.accept_without_evidence;
    d.reason = "only " + std::to_string(d.users) + " held-out users (min_users " +
               std::to_string(options.min_users) + "): " +
               (d.accept ? "candidate accepted without evidence" : "kept the serving model");
    return d;
  }
  d.serving_metric = pick(holdout.evaluate(serving).at(options.k).accuracy, options.metric);
  try {
    d.candidate_metric = pick(holdout.evaluate(candidate).at(options.k).accuracy, options.metric);
  } catch (const Error& e) {
    d.accept = false;
    d.reason = std::string("candidate rejected: evaluating it failed: ") + e.what();
    return d;
  }
  d.required = options.margin_kind == MarginKind::relative ? d.serving_metric * (1.0 - options.margin)
                                                           : d.serving_metric - options.margin;
  const std::string margin_text = options.margin_kind == MarginKind::relative
                                      ? fmt(100.0 * options.margin, 3) + "% relative margin"
                                      : fmt(options.margin, 3) + " absolute margin";
  const std::string figures = d.metric + " " + fmt(d.candidate_metric) + " vs serving " + fmt(d.serving_metric) +
                              " on " + std::to_string(d.users) + " held-out users";
  if (!std::isfinite(d.candidate_metric)) {
    d.reason = "candidate rejected: its " + d.metric + " is not finite";
    return d;
  }
  if (!std::isfinite(d.serving_metric)) {
    d.accept = true;
    d.reason = "candidate accepted: the serving model's " + d.metric + " is not finite (" + figures + ")";
    return d;
  }
  d.accept = d.candidate_metric >= d.required;
  d.reason = std::string(d.accept ? "candidate accepted: " : "candidate rejected: ") + figures + ", needs >= " +
             fmt(d.required) + " (" + margin_text + ")";
  return d;
}

GuardDecision evaluate_candidate(const Scorer& serving, const Scorer& candidate, const SparseMatrix& train,
                                 const SparseMatrix& holdout, const GuardOptions& options) {
  options.validate();
  const EvaluationOptions eo = EvaluationOptions::accuracy_at(options.k, options.threads);
  const Evaluator evaluator(train, holdout, eo);
  return evaluate_candidate(serving, candidate, evaluator, options);
}

}  // namespace tailor
