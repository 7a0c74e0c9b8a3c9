// tailor: retrain policy, candidate guard, incremental-versus-full study
// (see include/tailor/monitoring/retrain_policy.hpp).
#include "tailor/monitoring/retrain_policy.hpp"

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

using detail::json_number;

std::string fmt(double v, int digits = 4) { return detail::short_number(v, digits); }

std::string duration(Timestamp ms) {
  std::ostringstream os;
  os << std::setprecision(3);
  if (ms % (3600LL * 1000) == 0) {
    os << ms / (3600LL * 1000) << " h";
  } else if (ms >= 60LL * 1000) {
    os << static_cast<double>(ms) / (60.0 * 1000) << " min";
  } else {
    os << ms << " ms";
  }
  return os.str();
}

}  // namespace

// ---- incremental limit --------------------------------------------------------------------------

std::uint64_t suggested_full_retrain_events(std::uint64_t training_events, double fraction) {
  if (!std::isfinite(fraction) || !(fraction > 0.0)) {
    TAILOR_THROW(invalid_argument, "suggested_full_retrain_events: fraction must be finite and > 0, got " << fraction);
  }
  const double n = std::ceil(fraction * static_cast<double>(training_events));
  if (n >= 1.8e19) return std::numeric_limits<std::uint64_t>::max();
  return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(n));
}

// ---- policy -------------------------------------------------------------------------------------

void RetrainPolicyOptions::validate() const {
  if (every_ms < 0) TAILOR_THROW(invalid_argument, "RetrainPolicyOptions: every_ms must be >= 0, got " << every_ms);
  if (!(max_metric_drop >= 0.0 && max_metric_drop < 1.0)) {
    TAILOR_THROW(invalid_argument, "RetrainPolicyOptions: max_metric_drop must be in [0, 1), got " << max_metric_drop);
  }
  if (!std::isfinite(max_incremental_fraction) || max_incremental_fraction < 0.0) {
    TAILOR_THROW(invalid_argument, "RetrainPolicyOptions: max_incremental_fraction must be finite and >= 0, got "
                                       << max_incremental_fraction);
  }
  if (min_interval_ms < 0) {
    TAILOR_THROW(invalid_argument, "RetrainPolicyOptions: min_interval_ms must be >= 0, got " << min_interval_ms);
  }
}

nlohmann::json RetrainPolicyOptions::to_json() const {
  return {{"every_events", every_events},
          {"every_ms", every_ms},
          {"on_drift", on_drift},
          {"max_metric_drop", max_metric_drop},
          {"min_metric_samples", min_metric_samples},
          {"max_incremental_fraction", max_incremental_fraction},
          {"min_interval_ms", min_interval_ms}};
}

RetrainPolicy::RetrainPolicy(RetrainPolicyOptions options) : options_(options) { options_.validate(); }

std::optional<std::string> RetrainPolicy::should_retrain(const RetrainSignals& s) const {
  if (s.metric && !std::isfinite(*s.metric)) {
    TAILOR_THROW(invalid_argument, "RetrainSignals: metric must be finite, got " << *s.metric);
  }
  if (s.metric_baseline && !std::isfinite(*s.metric_baseline)) {
    TAILOR_THROW(invalid_argument, "RetrainSignals: metric_baseline must be finite, got " << *s.metric_baseline);
  }
  const RetrainPolicyOptions& o = options_;
  if (!s.last_retrain) return std::string("no model has been trained yet");
  // Elapsed time without overflow; a clock that went backwards counts as 0.
  Timestamp elapsed = 0;
  if (s.now > *s.last_retrain) {
    const auto diff = static_cast<std::uint64_t>(s.now) - static_cast<std::uint64_t>(*s.last_retrain);
    elapsed = diff > static_cast<std::uint64_t>(std::numeric_limits<Timestamp>::max())
                  ? std::numeric_limits<Timestamp>::max()
                  : static_cast<Timestamp>(diff);
  }
  if (elapsed < o.min_interval_ms) return std::nullopt;

  if (o.every_events > 0 && s.events_since_retrain >= o.every_events) {
    return std::to_string(s.events_since_retrain) + " events since the last retrain (every_events " +
           std::to_string(o.every_events) + ")";
  }
  if (o.max_incremental_fraction > 0.0 && s.training_events > 0) {
    const std::uint64_t limit = suggested_full_retrain_events(s.training_events, o.max_incremental_fraction);
    if (s.events_since_retrain >= limit) {
      return std::to_string(s.events_since_retrain) + " events since the last full retrain, " +
             fmt(100.0 * static_cast<double>(s.events_since_retrain) / static_cast<double>(s.training_events), 3) +
             "% of the " + std::to_string(s.training_events) +
             " it was trained on (max_incremental_fraction " + fmt(100.0 * o.max_incremental_fraction, 3) +
             "%: beyond it incremental updates fall behind a full refit)";
    }
  }
  if (o.every_ms > 0 && elapsed >= o.every_ms) {
    return "the model is " + duration(elapsed) + " old (every_ms " + duration(o.every_ms) + ")";
  }
  if (o.on_drift && s.drifted) {
    return s.drift_reason.empty() ? std::string("drift detected") : "drift detected: " + s.drift_reason;
  }
  if (o.max_metric_drop > 0.0 && s.metric && s.metric_baseline && *s.metric_baseline > 0.0 &&
      s.metric_samples >= o.min_metric_samples) {
    const double drop = (*s.metric_baseline - *s.metric) / *s.metric_baseline;
    if (drop >= o.max_metric_drop) {
      return "online metric fell " + fmt(100.0 * drop, 3) + "% from " + fmt(*s.metric_baseline) + " to " +
             fmt(*s.metric) + " since the last retrain (max_metric_drop " + fmt(100.0 * o.max_metric_drop, 3) +
             "%, " + std::to_string(s.metric_samples) + " samples)";
    }
  }
  return std::nullopt;
}

}  // namespace tailor
