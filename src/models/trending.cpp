#include "tailor/models/trending.hpp"

#include <algorithm>
#include <cmath>

#include "tailor/core/error.hpp"

namespace tailor {

void TrendingOptions::validate() const {
  if (now < 0) TAILOR_THROW(invalid_argument, "TrendingOptions.now = " << now << ", expected >= 0");
  if (recent_window <= 0) {
    TAILOR_THROW(invalid_argument,
                 "TrendingOptions.recent_window = " << recent_window << ", expected > 0");
  }
  if (long_window <= recent_window) {
    TAILOR_THROW(invalid_argument, "TrendingOptions.long_window = "
                                       << long_window
                                       << ", expected > recent_window = " << recent_window);
  }
  if (!(prior > 0.0) || !std::isfinite(prior)) {
    TAILOR_THROW(invalid_argument,
                 "TrendingOptions.prior = " << prior << ", expected finite and > 0");
  }
}

std::vector<float> trending_scores(const std::vector<Event>& events, const IdMap& items,
                                   const TrendingOptions& options) {
  options.validate();
  auto counted = [](const Event& e) {
    return e.type != EventType::search && e.type != EventType::return_;
  };
  Timestamp now = options.now;
  if (now == 0) {
    bool any = false;
    for (const auto& e : events) {
      if (!counted(e) || !items.contains(e.item)) continue;
      now = any ? std::max(now, e.timestamp) : e.timestamp;
      any = true;
    }
  }
  std::vector<double> recent(items.size(), 0.0), longer(items.size(), 0.0);
  for (const auto& e : events) {
    if (!counted(e) || e.timestamp > now || e.timestamp <= now - options.long_window) continue;
    const auto i = items.find(e.item);
    if (!i) continue;
    longer[*i] += 1.0;
    if (e.timestamp > now - options.recent_window) recent[*i] += 1.0;
  }
  const double ratio =
      static_cast<double>(options.recent_window) / static_cast<double>(options.long_window);
  std::vector<float> out(items.size(), 0.0f);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double r = recent[i];
    const double expected = longer[i] * ratio;
    const double score = r * std::log((r + options.prior) / (expected + options.prior));
    out[i] = score > 0.0 ? static_cast<float>(score) : 0.0f;
  }
  return out;
}

}  // namespace tailor
