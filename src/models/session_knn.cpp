#include "tailor/models/session_knn.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "tailor/core/error.hpp"

namespace tailor {

void SessionKnnOptions::validate() const {
  if (neighbors == 0) TAILOR_THROW(invalid_argument, "SessionKnnOptions.neighbors = 0, expected >= 1");
  if (sample_size == 0) {
    TAILOR_THROW(invalid_argument, "SessionKnnOptions.sample_size = 0, expected >= 1");
  }
  if (max_session_items == 0) {
    TAILOR_THROW(invalid_argument, "SessionKnnOptions.max_session_items = 0, expected >= 1");
  }
  if (position_decay == PositionDecay::exponential &&
      (!std::isfinite(position_lambda) || !(position_lambda > 0.0))) {
    TAILOR_THROW(invalid_argument, "SessionKnnOptions.position_lambda = "
                                       << position_lambda << ", expected finite and > 0");
  }
  if (recency_ms < 0) {
    TAILOR_THROW(invalid_argument,
                 "SessionKnnOptions.recency_ms = " << recency_ms << ", expected >= 0");
  }
  if (!std::isfinite(neighbor_lambda) || neighbor_lambda < 0.0) {
    TAILOR_THROW(invalid_argument, "SessionKnnOptions.neighbor_lambda = "
                                       << neighbor_lambda << ", expected finite and >= 0");
  }
}

SessionKnn SessionKnn::fit(const std::vector<TrainingSession>& sessions, std::size_t n_items,
                           const SessionKnnOptions& options) {
  options.validate();
  if (sessions.size() >= std::numeric_limits<std::uint32_t>::max()) {
    TAILOR_THROW(invalid_argument, "SessionKnn::fit: " << sessions.size()
                                       << " sessions, at most 2^32 - 2 are supported");
  }
  SessionKnn m;
  m.options_ = options;
  m.n_items_ = n_items;
  m.session_offsets_.push_back(0);

  // Each session's distinct items at their last occurrence, in order.
  std::vector<std::size_t> seen_in(n_items, std::numeric_limits<std::size_t>::max());
  std::vector<Index> distinct;
  std::vector<std::uint32_t> df(n_items, 0);
  for (std::size_t s = 0; s < sessions.size(); ++s) {
    const auto& items = sessions[s].items;
    distinct.clear();
    for (std::size_t p = items.size(); p-- > 0;) {
      const Index i = items[p];
      if (i >= n_items) {
        TAILOR_THROW(invalid_argument, "SessionKnn::fit: session " << s << ", position " << p
                                           << ": item " << i << " >= n_items = " << n_items);
      }
      if (seen_in[i] == s) continue;
      seen_in[i] = s;
      distinct.push_back(i);
    }
    if (distinct.empty()) continue;
    std::reverse(distinct.begin(), distinct.end());
    for (const Index i : distinct) ++df[i];
    m.items_.insert(m.items_.end(), distinct.begin(), distinct.end());
    m.session_offsets_.push_back(m.items_.size());
    m.times_.push_back(sessions[s].time);
  }
  const std::size_t kept = m.times_.size();
  if (kept == 0) {
    m.session_offsets_.clear();
    return m;
  }

  // Every item's sessions (compressed rows by df), then newest first and cut to sample_size.
  std::vector<std::size_t> all_offsets(n_items + 1, 0);
  for (std::size_t i = 0; i < n_items; ++i) all_offsets[i + 1] = all_offsets[i] + df[i];
  std::vector<std::uint32_t> all(all_offsets.back());
  std::vector<std::size_t> fill(all_offsets.begin(), all_offsets.end() - 1);
  for (std::size_t s = 0; s < kept; ++s) {
    for (std::size_t q = m.session_offsets_[s]; q < m.session_offsets_[s + 1]; ++q) {
      all[fill[m.items_[q]]++] = static_cast<std::uint32_t>(s);
    }
  }
  const auto newer = [&m](std::uint32_t a, std::uint32_t b) {
    if (m.times_[a] != m.times_[b]) return m.times_[a] > m.times_[b];
    return a > b;
  };
  m.posting_offsets_.assign(n_items + 1, 0);
  for (std::size_t i = 0; i < n_items; ++i) {
    const auto first = all.begin() + static_cast<std::ptrdiff_t>(all_offsets[i]);
    const auto last = all.begin() + static_cast<std::ptrdiff_t>(all_offsets[i + 1]);
    const std::size_t keep = std::min<std::size_t>(df[i], options.sample_size);
    std::partial_sort(first, first + static_cast<std::ptrdiff_t>(keep), last, newer);
    m.postings_.insert(m.postings_.end(), first, first + static_cast<std::ptrdiff_t>(keep));
    m.posting_offsets_[i + 1] = m.postings_.size();
  }

  m.idf_.assign(n_items, 1.0f);
  if (options.idf_weighting) {
    for (std::size_t i = 0; i < n_items; ++i) {
      if (df[i] > 0) {
        m.idf_[i] = static_cast<float>(std::log(static_cast<double>(kept) / df[i]));
      }
    }
  }
  return m;
}

namespace {

// Per-thread scratch of SessionKnn::recommend: dense accumulators reset through the lists of
// touched entries, so a request costs what it touches, not the model's size.
struct Scratch {
  std::vector<float> session_weight;        // per training session: sum of shared w1 * idf
  std::vector<std::uint32_t> session_anchor;  // per session: position (1-based) of a_n, 0 = untouched
  std::vector<std::uint32_t> sessions;      // touched sessions
  std::vector<float> item_score;            // per item
  std::vector<char> item_touched;
  std::vector<Index> items;                 // touched items
  std::vector<Index> current;               // the request's distinct items, oldest first
  std::vector<std::pair<float, std::uint32_t>> neighbours;
};

Scratch& scratch_for(std::size_t n_sessions, std::size_t n_items) {
  thread_local Scratch s;
  if (s.session_weight.size() < n_sessions) {
    s.session_weight.resize(n_sessions, 0.0f);
    s.session_anchor.resize(n_sessions, 0);
  }
  if (s.item_score.size() < n_items) {
    s.item_score.resize(n_items, 0.0f);
    s.item_touched.resize(n_items, 0);
  }
  return s;
}

}  // namespace

std::vector<ScoredItem> SessionKnn::recommend(Span<const Index> session, Timestamp now,
                                              std::size_t k) const {
  std::vector<ScoredItem> out;
  if (!fitted() || k == 0 || session.size() == 0) return out;
  Scratch& sc = scratch_for(n_sessions(), n_items_);

  // The newest max_session_items distinct known items, oldest first (item_touched marks them
  // here and is cleared before scoring).
  sc.current.clear();
  for (std::size_t p = session.size(); p-- > 0 && sc.current.size() < options_.max_session_items;) {
    const Index i = session[p];
    if (i >= n_items_ || sc.item_touched[i]) continue;
    sc.item_touched[i] = 1;
    sc.current.push_back(i);
  }
  for (const Index i : sc.current) sc.item_touched[i] = 0;
  std::reverse(sc.current.begin(), sc.current.end());
  const std::size_t m = sc.current.size();
  if (m == 0) return out;

  // Shared-item weights of every candidate session.
  sc.sessions.clear();
  for (std::size_t p = 1; p <= m; ++p) {
    const Index i = sc.current[p - 1];
    float w = idf_[i];
    switch (options_.position_decay) {
      case PositionDecay::none: break;
      case PositionDecay::linear: w *= static_cast<float>(p) / static_cast<float>(m); break;
      case PositionDecay::exponential:
        w *= static_cast<float>(std::exp((static_cast<double>(p) - static_cast<double>(m)) /
                                         options_.position_lambda));
        break;
    }
    for (std::size_t q = posting_offsets_[i]; q < posting_offsets_[i + 1]; ++q) {
      const std::uint32_t s = postings_[q];
      if (sc.session_anchor[s] == 0) sc.sessions.push_back(s);
      sc.session_weight[s] += w;
      sc.session_anchor[s] = static_cast<std::uint32_t>(p);
    }
  }

  // Similarities; the `neighbors` best are kept (ties by lower session index).
  sc.neighbours.clear();
  const double m_d = static_cast<double>(m);
  for (const std::uint32_t s : sc.sessions) {
    const double len = static_cast<double>(session_offsets_[s + 1] - session_offsets_[s]);
    double sim = sc.session_weight[s] / std::sqrt(m_d * len);
    if (options_.recency_ms > 0) {
      const double age = static_cast<double>(std::max<Timestamp>(0, now - times_[s]));
      sim *= std::exp(-age / static_cast<double>(options_.recency_ms));
    }
    if (sim > 0.0) sc.neighbours.emplace_back(static_cast<float>(sim), s);
  }
  const auto better = [](const std::pair<float, std::uint32_t>& a,
                         const std::pair<float, std::uint32_t>& b) {
    if (a.first != b.first) return a.first > b.first;
    return a.second < b.second;
  };
  if (sc.neighbours.size() > options_.neighbors) {
    std::nth_element(sc.neighbours.begin(),
                     sc.neighbours.begin() + static_cast<std::ptrdiff_t>(options_.neighbors),
                     sc.neighbours.end(), better);
    sc.neighbours.resize(options_.neighbors);
  }

  // Item scores from the kept neighbours.
  sc.items.clear();
  for (const auto& [sim, s] : sc.neighbours) {
    const std::size_t begin = session_offsets_[s], end = session_offsets_[s + 1];
    std::size_t anchor = begin;
    if (options_.neighbor_lambda > 0.0) {
      const Index a = sc.current[sc.session_anchor[s] - 1];
      while (anchor < end && items_[anchor] != a) ++anchor;
    }
    for (std::size_t q = begin; q < end; ++q) {
      const Index j = items_[q];
      float w = sim;
      if (options_.neighbor_lambda > 0.0) {
        const double distance = q > anchor ? static_cast<double>(q - anchor)
                                           : static_cast<double>(anchor - q);
        w *= static_cast<float>(std::exp(-distance / options_.neighbor_lambda));
      }
      if (!sc.item_touched[j]) {
        sc.item_touched[j] = 1;
        sc.items.push_back(j);
      }
      sc.item_score[j] += w;
    }
  }
  for (const std::uint32_t s : sc.sessions) {
    sc.session_weight[s] = 0.0f;
    sc.session_anchor[s] = 0;
  }

  out.reserve(sc.items.size());
  for (const Index j : sc.items) {
    if (sc.item_score[j] > 0.0f) out.push_back({j, sc.item_score[j]});
    sc.item_score[j] = 0.0f;
    sc.item_touched[j] = 0;
  }
  if (out.size() > k) {
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(),
                      ranks_before);
    out.resize(k);
  } else {
    std::sort(out.begin(), out.end(), ranks_before);
  }
  return out;
}

}  // namespace tailor
