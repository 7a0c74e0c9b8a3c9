// tailor: trending scores, the "rising now" signal of the ranker: items whose recent event
// rate is above their longer-run rate.
//
// Thread-safety: the functions are thread-safe.
#pragma once

#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/data/event.hpp"

namespace tailor {

/// Options of trending_scores.
struct TAILOR_API TrendingOptions {
  Timestamp now = 0;                         ///< reference time, UTC ms; 0 = the latest event
  Timestamp recent_window = 7 * 86400000LL;  ///< > 0
  Timestamp long_window = 28 * 86400000LL;   ///< > recent_window
  double prior = 5.0;                        ///< pseudo-count damping small counts, > 0

  /// Throws Error(invalid_argument) naming the bad field.
  void validate() const;
};

/// Trending score per item of `items` (index space of the map): with r_i events of item i in
/// (now - recent_window, now], l_i in (now - long_window, now], e_i = l_i * recent / long (the
/// recent count expected if the rate were steady), trending_i = r_i * ln((r_i + prior) /
/// (e_i + prior)) when positive, else 0. A rising item scores high, a steady best seller about 0.
/// Counts events of every type but search and return; events with an item not in `items`, or
/// outside the long window, are ignored.
TAILOR_API std::vector<float> trending_scores(const std::vector<Event>& events, const IdMap& items,
                                              const TrendingOptions& options = {});

}  // namespace tailor
