// tailor: train/test splits over aggregated interactions and raw events.
#include "tailor/data/splits.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>
#include <unordered_map>

#include "tailor/core/error.hpp"
#include "internal/random.hpp"

namespace tailor {

namespace {

using detail::SplitMix64;

auto full_key(const Interaction& x) {
  return std::make_tuple(x.user, x.item, x.first_time, x.last_time, x.weight, x.count);
}

Split from_mask(const std::vector<Interaction>& interactions, const std::vector<char>& to_test) {
  Split out;
  const auto n_test = static_cast<std::size_t>(std::count(to_test.begin(), to_test.end(), 1));
  out.test.reserve(n_test);
  out.train.reserve(interactions.size() - n_test);
  for (std::size_t k = 0; k < interactions.size(); ++k) (to_test[k] ? out.test : out.train).push_back(interactions[k]);
  return out;
}

}  // namespace

Split split_temporal(const std::vector<Interaction>& interactions, Timestamp cutoff) {
  std::vector<char> to_test(interactions.size(), 0);
  for (std::size_t k = 0; k < interactions.size(); ++k) to_test[k] = interactions[k].last_time >= cutoff ? 1 : 0;
  return from_mask(interactions, to_test);
}

Timestamp temporal_cutoff(const std::vector<Interaction>& interactions, double test_fraction) {
  if (interactions.empty()) TAILOR_THROW(invalid_argument, "temporal_cutoff: no interactions");
  if (!(test_fraction > 0.0 && test_fraction < 1.0)) TAILOR_THROW(invalid_argument, "temporal_cutoff: test_fraction must be in (0, 1), got " << test_fraction);
  std::vector<Timestamp> times(interactions.size());
  for (std::size_t k = 0; k < interactions.size(); ++k) times[k] = interactions[k].last_time;
  std::sort(times.begin(), times.end());
  const std::size_t n = times.size();
  auto n_test = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(n)));
  n_test = std::clamp<std::size_t>(n_test, 1, n);
  return times[n - n_test];
}

Split split_leave_last_k(const std::vector<Interaction>& interactions, std::size_t k) {
  if (k == 0) TAILOR_THROW(invalid_argument, "split_leave_last_k: k must be >= 1, got 0");
  std::vector<std::size_t> order(interactions.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const Interaction& x = interactions[a];
    const Interaction& y = interactions[b];
    return std::make_tuple(x.user, x.last_time, full_key(x)) < std::make_tuple(y.user, y.last_time, full_key(y));
  });
  std::vector<char> to_test(interactions.size(), 0);
  for (std::size_t begin = 0; begin < order.size();) {
    std::size_t end = begin + 1;
    while (end < order.size() && interactions[order[end]].user == interactions[order[begin]].user) ++end;
    const std::size_t n = end - begin;
    const std::size_t n_test = std::min(k, n - 1);
    for (std::size_t j = end - n_test; j < end; ++j) to_test[order[j]] = 1;
    begin = end;
  }
  return from_mask(interactions, to_test);
}

Split split_stratified(const std::vector<Interaction>& interactions, double train_ratio, std::uint64_t seed,
                       StratifyBy by) {
  if (!(train_ratio > 0.0 && train_ratio < 1.0)) {
    TAILOR_THROW(invalid_argument, "split_stratified: train_ratio must be in (0, 1), got " << train_ratio);
  }
  auto group = [by](const Interaction& x) { return by == StratifyBy::user ? x.user : x.item; };
  // Canonical order (group, then every field) so the result does not depend on the input order.
  std::vector<std::size_t> order(interactions.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const Interaction& x = interactions[a];
    const Interaction& y = interactions[b];
    return std::make_tuple(group(x), full_key(x)) < std::make_tuple(group(y), full_key(y));
  });
  std::vector<char> to_test(interactions.size(), 0);
  for (std::size_t begin = 0; begin < order.size();) {
    const Index key = group(interactions[order[begin]]);
    std::size_t end = begin + 1;
    while (end < order.size() && group(interactions[order[end]]) == key) ++end;
    const std::size_t n = end - begin;
    // One stream per group: mixing the key into the seed keeps groups independent of each other.
    SplitMix64 rng(seed ^ (0xD1B54A32D192ED03ull * (static_cast<std::uint64_t>(key) + 1)));
    rng.next();
    for (std::size_t j = n - 1; j > 0; --j) {  // Fisher-Yates over order[begin, end)
      const std::size_t r = static_cast<std::size_t>(rng.below(j + 1));
      std::swap(order[begin + j], order[begin + r]);
    }
    auto n_train = static_cast<std::size_t>(std::llround(train_ratio * static_cast<double>(n)));
    n_train = std::clamp<std::size_t>(n_train, 1, n);
    for (std::size_t j = begin + n_train; j < end; ++j) to_test[order[j]] = 1;
    begin = end;
  }
  return from_mask(interactions, to_test);
}

Split split_new_items(const std::vector<Interaction>& interactions, Timestamp cutoff) {
  std::unordered_map<Index, Timestamp> first_seen;
  first_seen.reserve(interactions.size());
  for (const Interaction& x : interactions) {
    auto [it, inserted] = first_seen.emplace(x.item, x.first_time);
    if (!inserted) it->second = std::min(it->second, x.first_time);
  }
  std::vector<char> to_test(interactions.size(), 0);
  for (std::size_t k = 0; k < interactions.size(); ++k) to_test[k] = first_seen[interactions[k].item] >= cutoff ? 1 : 0;
  return from_mask(interactions, to_test);
}

EventSplit split_events_temporal(const std::vector<Event>& events, Timestamp cutoff) {
  EventSplit out;
  for (const Event& e : events) (e.timestamp < cutoff ? out.train : out.test).push_back(e);
  return out;
}

}  // namespace tailor
