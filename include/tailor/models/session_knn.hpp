// tailor: session-based nearest neighbours, the "what next in this visit" signal for anonymous
// shoppers and for the live part of a known shopper's visit.
//
// SessionKnn answers from the ordered items of one session: it finds the past sessions most like
// it and scores the items those sessions hold. One model covers the session-kNN family of the
// session-based literature by its options:
//   * SKNN: no position weights, no recency, no neighbour-position weights;
//   * V-SKNN: linear position weights on the current session's items;
//   * STAN: exponential position weights, exponential recency of the neighbour session and
//     exponential weights on the distance, inside the neighbour, from the item they share.
//
// With the current session's distinct items s_1..s_m (oldest first, each at its last occurrence;
// at most max_session_items newest ones), a past session n (its distinct items, at their last
// occurrences, in order; t_n its last event's time) and `now` the time of the request:
//   w1(p)    = 1 | p / m | exp((p - m) / position_lambda)      (none | linear | exponential)
//   sim(s,n) = sum over shared items s_p of w1(p) * idf(s_p) / sqrt(m * |n|)
//              * exp(-max(0, now - t_n) / recency_ms)            (recency_ms = 0: factor 1)
//   idf(i)   = ln(N / df(i)) with idf_weighting (N training sessions, df(i) those holding i), else 1
// The `neighbors` past sessions with the highest positive sim are kept, and item j scores
//   score(j) = sum over kept n holding j of sim(s,n) * exp(-|pos_n(j) - pos_n(a_n)| / neighbor_lambda)
// where a_n is the newest item of s that n holds (neighbor_lambda = 0: factor 1). Candidate
// neighbours are, per item of s, the sample_size most recent training sessions holding it, which
// bounds a request's work by max_session_items * sample_size session visits.
//
// Thread-safety: SessionKnn is thread-compatible; const methods may run concurrently (each call
// uses scratch buffers of its own thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/core/scored_item.hpp"
#include "tailor/core/span.hpp"
#include "tailor/data/event.hpp"

namespace tailor {

/// How the current session's items are weighted by their position (see the file comment).
enum class PositionDecay { none, linear, exponential };

/// Options of SessionKnn. The defaults are STAN-style.
struct TAILOR_API SessionKnnOptions {
  std::size_t neighbors = 100;           ///< past sessions kept per request, >= 1
  std::size_t sample_size = 1000;        ///< most recent sessions per item considered, >= 1
  std::size_t max_session_items = 20;    ///< newest distinct items of a session used, >= 1
  PositionDecay position_decay = PositionDecay::exponential;
  double position_lambda = 2.0;          ///< exponential decay only; finite and > 0
  Timestamp recency_ms = 0;              ///< neighbour recency scale, ms; 0 = no recency weight
  double neighbor_lambda = 0.0;          ///< neighbour-position scale, >= 0; 0 = no weight
  bool idf_weighting = false;            ///< weight shared items by their inverse session frequency

  /// Throws Error(invalid_argument) naming the bad field.
  void validate() const;
};

/// One training session: its items in event order (repeats allowed) and its last event's time.
struct TrainingSession {
  std::vector<Index> items;
  Timestamp time = 0;
};

/// Session-kNN model (see the file comment).
/// Thread-safety: thread-compatible; const methods may run concurrently.
class TAILOR_API SessionKnn {
 public:
  SessionKnn() = default;

  /// Fits on `sessions` over an item space of n_items. Sessions with no item are skipped.
  /// Throws Error(invalid_argument) for bad options, an item >= n_items (naming the session and
  /// position) or more than 2^32 - 1 sessions.
  static SessionKnn fit(const std::vector<TrainingSession>& sessions, std::size_t n_items,
                        const SessionKnnOptions& options = {});

  bool fitted() const noexcept { return !session_offsets_.empty(); }
  std::size_t n_items() const noexcept { return n_items_; }
  /// Training sessions kept (those with at least one item).
  std::size_t n_sessions() const noexcept {
    return session_offsets_.empty() ? 0 : session_offsets_.size() - 1;
  }
  const SessionKnnOptions& options() const noexcept { return options_; }

  /// The k best items for a session whose items, in event order, are `session` (repeats
  /// allowed; items >= n_items() are ignored), asked at time `now` (UTC ms; used only with
  /// recency_ms > 0). Best first, ties by lower index; fewer than k when fewer items score
  /// above 0. Items of the session itself are not excluded. Empty for an unfitted model.
  std::vector<ScoredItem> recommend(Span<const Index> session, Timestamp now, std::size_t k) const;

 private:
  SessionKnnOptions options_;
  std::size_t n_items_ = 0;
  // Session s holds items_[session_offsets_[s] .. session_offsets_[s + 1]): its distinct items
  // at their last occurrence, in order.
  std::vector<std::size_t> session_offsets_;
  std::vector<Index> items_;
  std::vector<Timestamp> times_;
  // Item i's candidate sessions, newest first, at most sample_size of them:
  // postings_[posting_offsets_[i] .. posting_offsets_[i + 1]).
  std::vector<std::size_t> posting_offsets_;
  std::vector<std::uint32_t> postings_;
  std::vector<float> idf_;  ///< per item; 1 without idf_weighting
};

}  // namespace tailor
