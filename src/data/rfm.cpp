#include "tailor/data/rfm.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "tailor/core/error.hpp"

namespace tailor {

namespace {

constexpr double kMsPerDay = 86400000.0;

// Quintile scores where larger `values` are better: 1 + floor(5 * worse / n), worse = number of
// values strictly smaller; ties share a score.
std::vector<std::uint8_t> quintile_scores(const std::vector<double>& values) {
  const std::size_t n = values.size();
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::uint8_t> scores(n);
  for (std::size_t k = 0; k < n; ++k) {
    const auto worse = static_cast<std::size_t>(std::lower_bound(sorted.begin(), sorted.end(), values[k]) - sorted.begin());
    scores[k] = static_cast<std::uint8_t>(1 + (5 * worse) / n);
  }
  return scores;
}

}  // namespace

nlohmann::json RfmRecord::to_json() const {
  return {{"user", user},         {"recency_days", recency_days}, {"frequency", frequency},
          {"monetary", monetary}, {"purchases", purchases},       {"returns", returns},
          {"purchases_without_value", purchases_without_value},
          {"r_score", r_score},   {"f_score", f_score},           {"m_score", m_score}};
}

void RfmAccumulator::add(const Event& event, std::optional<double> unit_price) {
  latest_ = latest_ ? std::max(*latest_, event.timestamp) : event.timestamp;
  const bool is_purchase = event.type == EventType::purchase;
  if (!is_purchase && event.type != EventType::return_) return;
  if (event.user.empty() && (!options_.include_anonymous || event.session.empty())) return;
  if (event.value && !std::isfinite(*event.value)) return;
  std::optional<double> amount = event.value;
  if (amount && unit_price) amount = std::isfinite(*unit_price) ? std::optional<double>(*amount * *unit_price) : std::nullopt;
  const Index u = event.user.empty() ? users_.insert(event.actor()) : users_.insert(event.user);
  if (u >= states_.size()) states_.resize(static_cast<std::size_t>(u) + 1);
  State& s = states_[u];
  const bool is_return = !is_purchase || (event.value && *event.value < 0);
  if (is_return) {
    ++s.returns;
    if (amount) s.monetary -= std::fabs(*amount);
    return;
  }
  if (s.purchases == 0 || event.timestamp > s.last_purchase) s.last_purchase = event.timestamp;
  ++s.purchases;
  if (amount) {
    s.monetary += *amount;
  } else {
    ++s.purchases_without_value;
  }
  if (options_.frequency_by_basket) {
    s.baskets.insert(event.session.empty() ? "t:" + std::to_string(event.timestamp) : "s:" + event.session);
  }
}

std::vector<RfmRecord> RfmAccumulator::finish() const {
  std::vector<RfmRecord> out;
  const Timestamp reference = options_.reference_time ? *options_.reference_time : latest_.value_or(0);
  for (std::size_t u = 0; u < states_.size(); ++u) {
    const State& s = states_[u];
    if (s.purchases == 0) continue;
    RfmRecord r;
    r.user = users_.id(static_cast<Index>(u));
    r.recency_days = std::max(0.0, static_cast<double>(reference - s.last_purchase) / kMsPerDay);
    r.frequency = options_.frequency_by_basket ? static_cast<std::uint32_t>(s.baskets.size()) : s.purchases;
    r.monetary = s.monetary;
    r.purchases = s.purchases;
    r.returns = s.returns;
    r.purchases_without_value = s.purchases_without_value;
    out.push_back(std::move(r));
  }
  if (options_.scores && !out.empty()) {
    std::vector<double> recency(out.size()), frequency(out.size()), monetary(out.size());
    for (std::size_t k = 0; k < out.size(); ++k) {
      recency[k] = -out[k].recency_days;  // more recent is better
      frequency[k] = out[k].frequency;
      monetary[k] = out[k].monetary;
    }
    const auto rs = quintile_scores(recency);
    const auto fs = quintile_scores(frequency);
    const auto ms = quintile_scores(monetary);
    for (std::size_t k = 0; k < out.size(); ++k) {
      out[k].r_score = rs[k];
      out[k].f_score = fs[k];
      out[k].m_score = ms[k];
    }
  }
  return out;
}

std::vector<RfmRecord> compute_rfm(const std::vector<Event>& events, const RfmOptions& options) {
  RfmAccumulator acc(options);
  for (const Event& e : events) acc.add(e);
  return acc.finish();
}

std::vector<RfmRecord> compute_rfm(const std::vector<Event>& events, const std::vector<double>& unit_prices,
                                   const RfmOptions& options) {
  if (unit_prices.size() != events.size()) {
    TAILOR_THROW(invalid_argument, "compute_rfm: unit_prices has " << unit_prices.size() << " entries for " << events.size() << " events");
  }
  RfmAccumulator acc(options);
  for (std::size_t k = 0; k < events.size(); ++k) acc.add(events[k], unit_prices[k]);
  return acc.finish();
}

}  // namespace tailor
