#include "tailor/data/cleaning.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "tailor/core/error.hpp"

namespace tailor {
namespace {

constexpr Timestamp kMillisPerDay = 24LL * 60 * 60 * 1000;

// Floor division, so that events before 1970 fall on the right UTC day.
Timestamp utc_day(Timestamp ms) {
  Timestamp day = ms / kMillisPerDay;
  if (ms % kMillisPerDay < 0) --day;
  return day;
}

// Keeps the events whose keep flag is set, in their input order.
std::size_t compact(std::vector<Event>& events, const std::vector<char>& keep) {
  std::size_t out = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!keep[i]) continue;
    if (out != i) events[out] = std::move(events[i]);
    ++out;
  }
  const std::size_t removed = events.size() - out;
  events.resize(out);
  return removed;
}

// Actor keys computed once (Event::actor() allocates).
std::vector<std::string> actor_keys(const std::vector<Event>& events) {
  std::vector<std::string> actors;
  actors.reserve(events.size());
  for (const Event& e : events) actors.push_back(e.actor());
  return actors;
}

// Indices sorted by (actor, timestamp, input position): a stable, deterministic grouping.
std::vector<std::size_t> order_by_actor_time(const std::vector<Event>& events,
                                             const std::vector<std::string>& actors) {
  std::vector<std::size_t> order(events.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (int c = actors[a].compare(actors[b]); c != 0) return c < 0;
    if (events[a].timestamp != events[b].timestamp)
      return events[a].timestamp < events[b].timestamp;
    return a < b;
  });
  return order;
}

}  // namespace

void CleaningOptions::validate() const {
  if (remove_bots && bot_max_events_in_window > 0 && bot_window_ms <= 0)
    TAILOR_THROW(invalid_argument,
                 "CleaningOptions: bot_window_ms must be > 0 when the window rule is on, got "
                     << bot_window_ms);
  if (remove_bots && bot_rate_types.empty())
    TAILOR_THROW(invalid_argument,
                 "CleaningOptions: bot_rate_types is empty while remove_bots is on");
  if (collapse_repeated_views && view_collapse_window_ms < 0)
    TAILOR_THROW(invalid_argument, "CleaningOptions: view_collapse_window_ms must be >= 0, got "
                                       << view_collapse_window_ms);
  if (collapse_repeated_views && collapse_types.empty())
    TAILOR_THROW(invalid_argument,
                 "CleaningOptions: collapse_types is empty while collapse_repeated_views is on");
}

nlohmann::json CleaningReport::to_json() const {
  nlohmann::json flagged = nlohmann::json::array();
  for (const FlaggedActor& b : bots) {
    flagged.push_back({{"actor", b.actor},
                       {"events", b.events},
                       {"peak_in_window", b.peak_in_window},
                       {"peak_window_start", b.peak_window_start},
                       {"peak_per_day", b.peak_per_day},
                       {"window_rule", b.window_rule},
                       {"daily_rule", b.daily_rule}});
  }
  return {{"input_events", input_events},
          {"duplicates_removed", duplicates_removed},
          {"bot_events_removed", bot_events_removed},
          {"views_collapsed", views_collapsed},
          {"output_events", output_events},
          {"bots", flagged}};
}

std::size_t remove_duplicate_events(std::vector<Event>& events) {
  std::vector<std::size_t> order(events.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  // A value's sort key: absent < NaN < numbers, so NaN cannot break the strict weak order.
  auto value_key = [](const std::optional<double>& v) {
    const int rank = !v ? 0 : (std::isnan(*v) ? 1 : 2);
    return std::make_pair(rank, rank == 2 ? *v : 0.0);
  };
  auto key = [&](std::size_t i) {
    const Event& e = events[i];
    using Key = std::tuple<const std::string&, const std::string&, const std::string&, Timestamp,
                           EventType, std::pair<int, double>, const std::string&>;
    return Key(e.user, e.session, e.item, e.timestamp, e.type, value_key(e.value), e.query);
  };
  // The tie on position keeps the first occurrence first.
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto ka = key(a);
    const auto kb = key(b);
    if (ka < kb) return true;
    if (kb < ka) return false;
    return a < b;
  });
  std::vector<char> keep(events.size(), 1);
  for (std::size_t k = 1; k < order.size(); ++k) {
    if (events[order[k]] == events[order[k - 1]]) keep[order[k]] = 0;
  }
  return compact(events, keep);
}

std::vector<FlaggedActor> find_bots(const std::vector<Event>& events,
                                    const CleaningOptions& options) {
  options.validate();
  std::vector<FlaggedActor> bots;
  if (!options.remove_bots) return bots;
  const bool window_on = options.bot_max_events_in_window > 0;
  const bool daily_on = options.bot_max_events_per_day > 0;
  if (!window_on && !daily_on) return bots;

  const std::vector<std::string> actors = actor_keys(events);
  const std::vector<std::size_t> order = order_by_actor_time(events, actors);
  std::vector<Timestamp> counted;
  std::size_t begin = 0;
  while (begin < order.size()) {
    std::size_t end = begin + 1;
    while (end < order.size() && actors[order[end]] == actors[order[begin]]) ++end;

    FlaggedActor f;
    f.actor = actors[order[begin]];
    f.events = end - begin;
    // Only the event types that are single actions count toward the rates.
    counted.clear();
    for (std::size_t j = begin; j < end; ++j) {
      const Event& e = events[order[j]];
      if (std::find(options.bot_rate_types.begin(), options.bot_rate_types.end(), e.type) !=
          options.bot_rate_types.end())
        counted.push_back(e.timestamp);
    }
    // Sliding window: for each counted event j, the counted events in (t_j - window, t_j].
    std::size_t left = 0;
    for (std::size_t j = 0; j < counted.size(); ++j) {
      while (counted[j] - counted[left] >= options.bot_window_ms) ++left;
      const std::size_t in_window = j - left + 1;
      if (in_window > f.peak_in_window) {
        f.peak_in_window = in_window;
        f.peak_window_start = counted[left];
      }
    }
    // Calendar days: the counted times are sorted, so each day is one run.
    std::size_t run = 0;
    for (std::size_t j = 0; j < counted.size(); ++j) {
      run = (j > 0 && utc_day(counted[j]) == utc_day(counted[j - 1])) ? run + 1 : 1;
      f.peak_per_day = std::max(f.peak_per_day, run);
    }
    f.window_rule = window_on && f.peak_in_window > options.bot_max_events_in_window;
    f.daily_rule = daily_on && f.peak_per_day > options.bot_max_events_per_day;
    if (f.window_rule || f.daily_rule) bots.push_back(std::move(f));
    begin = end;
  }
  return bots;  // already sorted by actor
}

std::size_t remove_actors(std::vector<Event>& events, const std::vector<FlaggedActor>& actors) {
  if (actors.empty()) return 0;
  std::unordered_set<std::string> flagged;
  for (const FlaggedActor& a : actors) flagged.insert(a.actor);
  std::vector<char> keep(events.size(), 1);
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (flagged.count(events[i].actor()) != 0) keep[i] = 0;
  }
  return compact(events, keep);
}

std::size_t collapse_repeated_views(std::vector<Event>& events, const CleaningOptions& options) {
  options.validate();
  if (!options.collapse_repeated_views) return 0;
  const std::set<EventType> types(options.collapse_types.begin(), options.collapse_types.end());

  std::vector<std::size_t> order;
  std::vector<std::string> actors(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (types.count(events[i].type) == 0) continue;
    order.push_back(i);
    actors[i] = events[i].actor();
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const Event& ea = events[a];
    const Event& eb = events[b];
    if (int c = actors[a].compare(actors[b]); c != 0) return c < 0;
    if (int c = ea.item.compare(eb.item); c != 0) return c < 0;
    if (ea.type != eb.type) return ea.type < eb.type;
    if (ea.timestamp != eb.timestamp) return ea.timestamp < eb.timestamp;
    return a < b;
  });

  std::vector<char> keep(events.size(), 1);
  std::size_t last_kept = 0;
  bool have_last = false;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const std::size_t i = order[k];
    const Event& e = events[i];
    if (have_last) {
      const Event& prev = events[last_kept];
      const bool same_group =
          actors[i] == actors[last_kept] && e.item == prev.item && e.type == prev.type;
      if (same_group && e.timestamp - prev.timestamp < options.view_collapse_window_ms) {
        keep[i] = 0;
        continue;
      }
    }
    last_kept = i;
    have_last = true;
  }
  return compact(events, keep);
}

CleaningReport clean_events(std::vector<Event>& events, const CleaningOptions& options) {
  options.validate();
  CleaningReport report;
  report.input_events = events.size();
  if (options.remove_duplicates) report.duplicates_removed = remove_duplicate_events(events);
  if (options.remove_bots) {
    report.bots = find_bots(events, options);
    report.bot_events_removed = remove_actors(events, report.bots);
  }
  report.views_collapsed = collapse_repeated_views(events, options);
  report.output_events = events.size();
  return report;
}

}  // namespace tailor
