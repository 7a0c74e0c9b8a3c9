#include "tailor/models/session_baselines.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "tailor/core/error.hpp"

namespace tailor {

namespace {

void check_items(const std::vector<TrainingSession>& sessions, std::size_t n_items,
                 const char* who) {
  for (std::size_t s = 0; s < sessions.size(); ++s) {
    for (std::size_t p = 0; p < sessions[s].items.size(); ++p) {
      if (sessions[s].items[p] >= n_items) {
        TAILOR_THROW(invalid_argument, who << ": session " << s << ", position " << p << ": item "
                                           << sessions[s].items[p] << " >= n_items = " << n_items);
      }
    }
  }
}

// Distinct items of a session, first occurrence order.
std::vector<Index> distinct_items(const std::vector<Index>& items) {
  std::vector<Index> d(items);
  std::sort(d.begin(), d.end());
  d.erase(std::unique(d.begin(), d.end()), d.end());
  return d;
}

}  // namespace

SessionPopularity SessionPopularity::fit(const std::vector<TrainingSession>& sessions,
                                         std::size_t n_items) {
  check_items(sessions, n_items, "SessionPopularity::fit");
  SessionPopularity m;
  m.popularity_.assign(n_items, 0.0f);
  for (const auto& s : sessions) {
    for (const Index i : distinct_items(s.items)) m.popularity_[i] += 1.0f;
  }
  m.ranked_.resize(n_items);
  for (std::size_t i = 0; i < n_items; ++i) m.ranked_[i] = static_cast<Index>(i);
  std::stable_sort(m.ranked_.begin(), m.ranked_.end(),
                   [&m](Index a, Index b) { return m.popularity_[a] > m.popularity_[b]; });
  return m;
}

std::vector<ScoredItem> SessionPopularity::recommend(Span<const Index> session,
                                                     std::size_t k) const {
  std::vector<ScoredItem> out;
  if (k == 0) return out;
  const float top = ranked_.empty() ? 0.0f : popularity_[ranked_.front()];
  // A session item scores 1 + its count, plus its popularity below 1; other items only that.
  const auto pop = [&](Index i) { return popularity_[i] / (top + 1.0f); };
  std::vector<std::pair<Index, std::uint32_t>> counts;
  for (std::size_t p = 0; p < session.size(); ++p) {
    const Index i = session[p];
    if (i >= popularity_.size()) continue;
    auto at = std::find_if(counts.begin(), counts.end(), [i](const auto& c) { return c.first == i; });
    if (at == counts.end()) {
      counts.emplace_back(i, 1);
    } else {
      ++at->second;
    }
  }
  for (const auto& [i, c] : counts) out.push_back({i, 1.0f + static_cast<float>(c) + pop(i)});
  std::sort(out.begin(), out.end(), ranks_before);
  if (out.size() > k) out.resize(k);
  for (std::size_t r = 0; r < ranked_.size() && out.size() < k; ++r) {
    const Index i = ranked_[r];
    if (std::any_of(counts.begin(), counts.end(), [i](const auto& c) { return c.first == i; })) continue;
    out.push_back({i, pop(i)});
  }
  return out;
}

SessionItemKnn SessionItemKnn::fit(const std::vector<TrainingSession>& sessions,
                                   std::size_t n_items, const ItemKnnOptions& options) {
  check_items(sessions, n_items, "SessionItemKnn::fit");
  std::vector<Eigen::Triplet<float, std::int32_t>> cells;
  std::int32_t row = 0;
  for (const auto& s : sessions) {
    const auto items = distinct_items(s.items);
    if (items.empty()) continue;
    for (const Index i : items) cells.emplace_back(row, static_cast<std::int32_t>(i), 1.0f);
    ++row;
  }
  SparseMatrix x(row, static_cast<std::int32_t>(n_items));
  x.setFromTriplets(cells.begin(), cells.end());
  SessionItemKnn m;
  m.neighbors_ = build_item_neighbors(x, options);
  return m;
}

std::vector<ScoredItem> SessionItemKnn::recommend(Span<const Index> session, std::size_t k) const {
  std::vector<ScoredItem> out;
  for (std::size_t p = session.size(); p-- > 0;) {
    const Index last = session[p];
    if (last >= neighbors_.n_items()) continue;
    for (const auto& n : neighbors_.of(last)) {
      if (out.size() == k) break;
      out.push_back({n.item, n.similarity});
    }
    break;
  }
  return out;
}

}  // namespace tailor
