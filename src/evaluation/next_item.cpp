#include "tailor/evaluation/next_item.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "tailor/core/error.hpp"

namespace tailor {

namespace {

template <class MapItem>
std::vector<SessionSequence> group(const std::vector<Event>& events, MapItem&& map_item) {
  std::unordered_map<std::string, std::size_t> index;
  std::vector<std::vector<std::pair<Timestamp, Index>>> grouped;
  for (const Event& e : events) {
    if (e.item.empty()) continue;
    const std::optional<Index> item = map_item(e.item);
    if (!item) continue;
    const auto [at, added] = index.emplace(e.actor(), grouped.size());
    if (added) grouped.emplace_back();
    grouped[at->second].emplace_back(e.timestamp, *item);
  }
  std::vector<SessionSequence> out(grouped.size());
  for (std::size_t s = 0; s < grouped.size(); ++s) {
    auto& g = grouped[s];
    std::stable_sort(g.begin(), g.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [t, i] : g) {
      out[s].times.push_back(t);
      out[s].items.push_back(i);
    }
  }
  return out;
}

}  // namespace

std::vector<SessionSequence> group_sessions(const std::vector<Event>& events, IdMap& items) {
  return group(events, [&items](const std::string& id) -> std::optional<Index> { return items.insert(id); });
}

std::vector<SessionSequence> group_sessions(const std::vector<Event>& events, const IdMap& items,
                                            std::size_t& dropped) {
  dropped = 0;
  return group(events, [&](const std::string& id) -> std::optional<Index> {
    const auto i = items.find(id);
    if (!i) ++dropped;
    return i;
  });
}

NextItemMetrics evaluate_next_item(const std::vector<SessionSequence>& sessions, std::size_t k,
                                   const NextItemRecommender& recommend) {
  if (k == 0) TAILOR_THROW(invalid_argument, "evaluate_next_item: k = 0, expected >= 1");
  NextItemMetrics m;
  double hits = 0.0, reciprocal = 0.0;
  for (std::size_t s = 0; s < sessions.size(); ++s) {
    const auto& session = sessions[s];
    if (session.items.size() != session.times.size()) {
      TAILOR_THROW(invalid_argument, "evaluate_next_item: session " << s << " has "
                                         << session.items.size() << " items and "
                                         << session.times.size() << " times");
    }
    if (session.items.size() < 2) continue;
    ++m.sessions;
    for (std::size_t p = 1; p < session.items.size(); ++p) {
      const std::vector<Index> list =
          recommend(Span<const Index>(session.items.data(), p), session.times[p - 1]);
      const auto end = list.begin() + static_cast<std::ptrdiff_t>(std::min(k, list.size()));
      const auto at = std::find(list.begin(), end, session.items[p]);
      ++m.predictions;
      if (at != end) {
        hits += 1.0;
        reciprocal += 1.0 / static_cast<double>(at - list.begin() + 1);
      }
    }
  }
  if (m.predictions > 0) {
    m.hit_rate = hits / static_cast<double>(m.predictions);
    m.mrr = reciprocal / static_cast<double>(m.predictions);
  }
  return m;
}

}  // namespace tailor
