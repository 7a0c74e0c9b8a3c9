// tailor: the next-item protocol of session-based recommendation.
//
// Every test session s_1..s_L (L >= 2) is replayed event by event: after each prefix s_1..s_p,
// p = 1..L-1, the recommender answers a list for that prefix at the time of s_p, and the list is
// scored against the next item s_{p+1}:
//   HR@k  = share of predictions whose next item is in the first k of the list
//   MRR@k = mean of 1 / (its rank) when it is there, else 0
// (the convention of the session-based evaluation studies: every prefix counts, repeated clicks
// included, so a session of L events makes L - 1 predictions).
//
// Thread-safety: evaluate_next_item is thread-safe when `recommend` is.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/core/span.hpp"
#include "tailor/data/event.hpp"

namespace tailor {

/// One session's events in order: items[e] at times[e] (UTC ms).
struct SessionSequence {
  std::vector<Index> items;
  std::vector<Timestamp> times;
};

/// Groups events into sessions by Event::actor() (a user's events form one sequence), in order of
/// first appearance, each by timestamp (ties in input order). Items are mapped through `items`,
/// which gets the unseen ones; search events (no item) are skipped.
TAILOR_API std::vector<SessionSequence> group_sessions(const std::vector<Event>& events, IdMap& items);
/// The same with a fixed item map: events of unknown items are dropped and counted in `dropped`.
TAILOR_API std::vector<SessionSequence> group_sessions(const std::vector<Event>& events,
                                                       const IdMap& items, std::size_t& dropped);

/// Next-item metrics at one k.
struct NextItemMetrics {
  std::size_t sessions = 0;     ///< test sessions with at least two events
  std::size_t predictions = 0;  ///< prefixes scored
  double hit_rate = 0.0;        ///< HR@k
  double mrr = 0.0;             ///< MRR@k
};

/// Answers a list (best first) for a session prefix at time `now`; at least k long is not
/// required, and items after the k-th are ignored.
using NextItemRecommender = std::function<std::vector<Index>(Span<const Index> prefix, Timestamp now)>;

/// Scores `recommend` on every prefix of every session (see the file comment). Throws
/// Error(invalid_argument) for k == 0 or a session whose items and times differ in length
/// (naming it).
TAILOR_API NextItemMetrics evaluate_next_item(const std::vector<SessionSequence>& sessions,
                                              std::size_t k, const NextItemRecommender& recommend);

}  // namespace tailor
