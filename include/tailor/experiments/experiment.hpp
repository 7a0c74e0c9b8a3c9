// tailor: A/B experiments. Named experiments with variants and traffic shares, deterministic
// assignment of users (or sessions) to variants, holdouts and mutually exclusive layers.
//
// Assignment is a pure function of (hash key, names, unit ID): no state, no storage, so a user
// lands in the same variant after a restart and on every machine that loads the same
// configuration. It uses SipHash-2-4 (Aumasson & Bernstein 2012), a keyed pseudo-random function
// designed for short inputs, keyed with the first 16 bytes of SHA-256(hash_key); each hash is
// read as a uniform number u in [0, 1) (its top 53 bits). SipHash is checked against the
// reference vectors of its paper, and tests pin a few assignments so a change of hashing cannot
// pass unnoticed. Changing hash_key, a layer name or an experiment salt reshuffles everybody.
//
// How a unit (user ID, or "session:" + session ID for anonymous shoppers, like Event::actor())
// is placed:
//   1. Global holdout: u = H("global-holdout", unit); u < global_holdout puts the unit in no
//      experiment at all (it gets the defaults everywhere).
//   2. Layers: a layer has `buckets` buckets (default 1000) and the unit falls in bucket
//      floor(H("layer", layer, unit) * buckets). Each experiment of the layer owns a contiguous
//      range of traffic * buckets buckets (placed after the previous one unless first_bucket is
//      given), so a unit is in at most one experiment per layer: experiments of one layer are
//      mutually exclusive, experiments of different layers overlap independently (the layer hashes
//      are independent). An experiment without a layer gets a private layer of its own.
//   3. Within the experiment: u = H("experiment", salt, unit); u < holdout puts the unit in the
//      experiment's holdout (served the defaults, tracked apart, excluded from the tests); the
//      rest, rescaled to [0, 1), is split by the variants' cumulative shares (config order).
//   Forced variants (ExperimentContext::forced_variants, for QA and previews) override all of this
//   and are marked `forced`; outcome tracking ignores forced exposures.
//
// A variant carries a free-form JSON `config` (e.g. {"model": "als-v2", "ranker": {"diversity":
// 0.3}, "rules": [...]}) that the host or the Recommender facade applies; merged_config() merges
// the configs of every experiment a unit is in (JSON merge patch, RFC 7386, experiments in config
// order, later ones winning on conflicting keys; give layers disjoint keys to avoid conflicts).
//
// Configuration JSON (unknown keys are rejected so typos do not pass silently):
//   {"hash_key": "shop-2024",                 // default "tailor"
//    "global_holdout": 0.02,                  // default 0
//    "layers": [{"name": "ranking", "buckets": 1000}],   // optional; layers named by an
//                                             // experiment but not listed get 1000 buckets
//    "experiments": [{
//       "name": "als-vs-pop", "layer": "ranking", "traffic": 0.5, "first_bucket": 0,
//       "salt": "als-vs-pop-1", "unit": "user", "holdout": 0.1, "control": "pop",
//       "enabled": true,
//       "variants": [{"name": "pop", "share": 0.5, "config": {"model": "popularity"}},
//                    {"name": "als", "share": 0.5, "config": {"model": "als"}}],
//       "analysis": {"primary_metric": "conversion_rate", "alpha": 0.05, "power": 0.8,
//                    "minimum_detectable_effect": 0.05, "baseline": 0.04,
//                    "mode": "sequential", "correction": "holm", "srm_threshold": 0.001,
//                    "min_units": 100}}]}
//
// Serving: Recommender::set_experiments(set, tracker) assigns every request with assign(),
// applies merged_config(), returns the assignments in the response and records the exposure in an
// OutcomeTracker (outcomes.hpp); report.hpp turns the tracked metrics into verdicts.
//
// Thread-safety: ExperimentSet is thread-safe (immutable after construction). The config and
// value structs are thread-compatible.
//
// **Example**:
//   auto experiments = tailor::ExperimentSet::load("experiments.json");
//   tailor::ExperimentContext ctx;
//   ctx.user = "customer-17850";
//   tailor::Assignments a = experiments.assign(ctx);
//   nlohmann::json overrides = experiments.merged_config(a);   // apply to the ranker/model
//   // ...serve, then record the exposure with a.served() (see outcomes.hpp)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/stats/hypothesis.hpp"

namespace tailor {

/// The variant name that stands for an experiment's holdout in exposures, reports and files;
/// no variant may be called this.
inline constexpr std::string_view kHoldoutVariant = "holdout";

/// What a unit of randomization is.
enum class AssignmentUnit {
  user,     ///< the user ID; anonymous shoppers fall back to "session:" + session ID
  session,  ///< the session ID ("session:" + session): for anonymous or per-visit tests
};

/// Outcome metrics an experiment can be judged by (see outcomes.hpp for definitions).
enum class Metric {
  conversion_rate,      ///< share of exposed units with an attributed purchase
  click_through_rate,   ///< attributed clicks / impressions (ratio metric, per-unit delta method)
  add_to_cart_rate,     ///< share of exposed units with an attributed add-to-cart
  revenue_per_user,     ///< attributed revenue per exposed unit (zeros included)
  average_order_value,  ///< attributed revenue per attributed order
  return_rate,          ///< returns / attributed purchases (lower is better)
  dwell_time,           ///< mean dwell seconds of attributed dwell events
};

/// "conversion_rate", ...; parse_metric throws Error(invalid_argument) for other names.
TAILOR_API const char* metric_name(Metric metric) noexcept;
TAILOR_API Metric parse_metric(const std::string& name);
/// False only for return_rate.
TAILOR_API bool higher_is_better(Metric metric) noexcept;

/// How verdicts are reached (see experiment_report.hpp).
enum class AnalysisMode {
  sequential,     ///< always-valid mSPRT p-values: safe to look at any time (default)
  fixed_horizon,  ///< classical tests, valid only once the planned sample size is reached
};
TAILOR_API const char* analysis_mode_name(AnalysisMode mode) noexcept;
TAILOR_API AnalysisMode parse_analysis_mode(const std::string& name);

/// The statistical plan of an experiment.
struct TAILOR_API AnalysisPlan {
  Metric primary_metric = Metric::conversion_rate;  ///< the metric verdicts are based on
  double alpha = 0.05;   ///< family-wise false-positive rate over all treatment-vs-control tests
  double power = 0.8;    ///< target power at the minimum detectable effect, in (0, 1)
  /// Relative effect worth detecting (0.05 = a 5% lift of the primary metric), > 0. Sets the
  /// planned sample size and the mSPRT's tau.
  double minimum_detectable_effect = 0.05;
  /// Expected control value of the primary metric for planning (e.g. a conversion rate of 0.04);
  /// when absent the observed control value is used.
  std::optional<double> baseline;
  AnalysisMode mode = AnalysisMode::sequential;
  stats::Correction correction = stats::Correction::holm;
  double srm_threshold = 0.001;  ///< sample-ratio-mismatch p-value below which results are void
  std::size_t min_units = 100;   ///< units per variant before any verdict, >= 2

  /// Throws Error(invalid_argument) naming the field.
  void validate() const;
};

/// One arm of an experiment.
struct Variant {
  std::string name;   ///< unique in its experiment, not "holdout"
  double share = 0;   ///< share of the experiment's non-holdout units, in (0, 1]; shares sum to 1
  nlohmann::json config = nlohmann::json::object();  ///< applied by the host; usually an object
};

/// One experiment.
struct TAILOR_API ExperimentConfig {
  std::string name;        ///< unique, non-empty
  std::string layer;       ///< empty: a private layer (overlaps every other experiment)
  double traffic = 1.0;    ///< share of the layer's buckets, in (0, 1]; traffic * buckets integral
  /// First bucket of the experiment's range; default: right after the previous experiment of the
  /// same layer (config order). Give it explicitly to keep ranges stable when editing.
  std::optional<std::size_t> first_bucket;
  std::string salt;        ///< hash salt of the variant split; empty: the name
  AssignmentUnit unit = AssignmentUnit::user;
  double holdout = 0.0;    ///< share of the experiment's units held out, in [0, 1)
  std::string control;     ///< the control variant; empty: the first variant
  bool enabled = true;     ///< false: nobody is assigned (the buckets stay reserved)
  std::vector<Variant> variants;  ///< at least 2
  AnalysisPlan analysis;

  /// The control variant's name (control, or the first variant's).
  const std::string& control_name() const;
  /// The salt used (salt, or the name).
  const std::string& salt_or_name() const { return salt.empty() ? name : salt; }
};

/// A layer of mutually exclusive experiments.
struct LayerConfig {
  std::string name;
  std::size_t buckets = 1000;  ///< 1 .. 1'000'000
};

/// Everything ExperimentSet needs.
struct TAILOR_API ExperimentSetConfig {
  std::string hash_key = "tailor";  ///< any non-empty string; changing it reshuffles everybody
  double global_holdout = 0.0;      ///< share of units in no experiment, in [0, 1)
  std::vector<LayerConfig> layers;
  std::vector<ExperimentConfig> experiments;

  /// Throws Error(invalid_argument) naming the field, e.g. "experiments[1].variants[0].share".
  void validate() const;

  /// Parses the JSON form (see the header comment). Throws Error(invalid_argument) naming
  /// `source` and the JSON path of the bad value; does not validate() (the ExperimentSet
  /// constructor does).
  static ExperimentSetConfig from_json(const nlohmann::json& j, const std::string& source = "config");
  nlohmann::json to_json() const;
};

/// What a request carries into assignment.
struct ExperimentContext {
  std::string user;     ///< user ID; empty for anonymous shoppers
  std::string session;  ///< session ID; used when user is empty or the unit is session
  /// Experiment name -> variant name (or "holdout") to serve regardless of the hash (QA,
  /// previews). Forced assignments are marked and not counted by OutcomeTracker.
  std::map<std::string, std::string> forced_variants;
  /// True for traffic that must stay out of every experiment (bots, staff, load tests).
  bool excluded = false;
};

/// A unit's place in one experiment: what a response records as the variant that served it.
struct Assignment {
  std::string experiment;
  std::string variant;   ///< the variant name, or "holdout"
  bool holdout = false;  ///< in the experiment's holdout (variant == "holdout")
  bool forced = false;   ///< set by ExperimentContext::forced_variants

  friend bool operator==(const Assignment& a, const Assignment& b) {
    return a.experiment == b.experiment && a.variant == b.variant && a.holdout == b.holdout &&
           a.forced == b.forced;
  }
  friend bool operator!=(const Assignment& a, const Assignment& b) { return !(a == b); }
};

/// A unit's assignments across all experiments.
struct TAILOR_API Assignments {
  bool global_holdout = false;  ///< in the global holdout: no experiment applies
  std::vector<Assignment> experiments;  ///< at most one per layer, in config order

  /// The assignment of `experiment`, or nullptr when the unit is not in it.
  const Assignment* find(std::string_view experiment) const;
};

/// A validated, immutable set of experiments that assigns units. Thread-safe.
class TAILOR_API ExperimentSet {
 public:
  /// An empty set (assigns nobody).
  ExperimentSet();
  /// Validates `config`; throws Error(invalid_argument) naming the bad field.
  explicit ExperimentSet(ExperimentSetConfig config);
  /// From the JSON form; errors name `source` and the JSON path.
  static ExperimentSet from_json(const nlohmann::json& j, const std::string& source = "config");
  /// Reads a JSON file (gzip ok). Error(io_error) when unreadable, Error(parse_error) for bad
  /// JSON, Error(invalid_argument) for a bad configuration; messages name the file.
  static ExperimentSet load(const std::string& path);

  /// The unit's assignments. Throws Error(invalid_argument) when a forced variant names an
  /// unknown experiment or variant. A context without user and session gets no assignments.
  Assignments assign(const ExperimentContext& context) const;

  /// The configs of the unit's variants merged in experiment config order (RFC 7386 merge patch;
  /// holdouts contribute nothing). An empty object when the unit is in no experiment.
  nlohmann::json merged_config(const Assignments& assignments) const;

  /// The experiment named `name`, or nullptr.
  const ExperimentConfig* find(std::string_view name) const;
  /// The variant of an assignment, or nullptr for holdouts and unknown names.
  const Variant* variant(const Assignment& assignment) const;

  const ExperimentSetConfig& config() const;
  const std::vector<ExperimentConfig>& experiments() const { return config().experiments; }

  /// The bucket range [first, last) an experiment occupies in its layer and the layer's size.
  struct Placement {
    std::string layer;  ///< empty for a private layer
    std::size_t first = 0;
    std::size_t last = 0;
    std::size_t buckets = 0;
  };
  const Placement& placement(std::string_view experiment) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace tailor
