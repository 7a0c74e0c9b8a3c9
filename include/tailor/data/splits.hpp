// tailor: train/test splits for offline evaluation.
//
// Splits work on aggregated (user, item) pairs, InteractionMatrix::interactions(), so a pair goes
// whole to one side and train/test matrices share the full matrix's index spaces:
//   auto split = tailor::split_stratified(m.interactions(), 0.75, 42, tailor::StratifyBy::item);
//   tailor::InteractionMatrix train = m.with_interactions(split.train);
//   tailor::InteractionMatrix test  = m.with_interactions(split.test);
// Every split is a partition: each input record lands in exactly one of train and test, both keep
// the input order, and the result depends only on the input multiset and the seed (random splits
// draw from our own SplitMix64 stream, per user or item, never from std:: distributions, so the
// result is the same on every platform and standard library). For event-level evaluation,
// split_events_temporal() splits raw events by time instead.
//
// Thread-safety: free functions without shared state; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/data/event.hpp"
#include "tailor/data/interaction_matrix.hpp"

namespace tailor {

/// The two sides of a split, each in input order.
struct Split {
  std::vector<Interaction> train;
  std::vector<Interaction> test;
};

/// Global temporal cutoff: a pair whose last_time < cutoff goes to train, otherwise to test.
TAILOR_API Split split_temporal(const std::vector<Interaction>& interactions, Timestamp cutoff);

/// The cutoff that puts about `test_fraction` (0 < f < 1) of the pairs, the latest by last_time,
/// on the test side of split_temporal (ties at the cutoff all go to test).
/// Throws Error(invalid_argument) for an empty input or f outside (0, 1).
TAILOR_API Timestamp temporal_cutoff(const std::vector<Interaction>& interactions,
                                     double test_fraction);

/// Per-user leave-last-k: each user's min(k, n - 1) most recent pairs (by last_time, ties broken
/// by item index) go to test, so every user keeps at least one pair in train.
/// Throws Error(invalid_argument) when k == 0.
TAILOR_API Split split_leave_last_k(const std::vector<Interaction>& interactions, std::size_t k);

/// Which key stratified splits group by.
enum class StratifyBy { user, item };

/// Stratified random split: within each user (or item) group of n pairs, a seeded shuffle puts
/// n_train = clamp(round(train_ratio * n), 1, n) pairs in train and the rest in test, so every
/// group keeps at least one pair in train (a group of one stays wholly in train).
/// "75/25 stratified per item with seed 42" is split_stratified(x, 0.75, 42, StratifyBy::item).
/// Throws Error(invalid_argument) unless 0 < train_ratio < 1.
TAILOR_API Split split_stratified(const std::vector<Interaction>& interactions, double train_ratio,
                                  std::uint64_t seed, StratifyBy by);

/// New-item split: an item whose first interaction (min first_time) is at or after `cutoff` is a
/// new item and all of its pairs go to test; every other pair goes to train.
TAILOR_API Split split_new_items(const std::vector<Interaction>& interactions, Timestamp cutoff);

/// Raw events on either side of a time cutoff.
struct EventSplit {
  std::vector<Event> train;  ///< timestamp < cutoff, input order
  std::vector<Event> test;   ///< timestamp >= cutoff, input order
};

/// Event-level global temporal split (a pair may then appear on both sides).
TAILOR_API EventSplit split_events_temporal(const std::vector<Event>& events, Timestamp cutoff);

}  // namespace tailor
