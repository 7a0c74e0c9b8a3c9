// Private to libtailor: the Recommender's mutable state (profiles, kept events, caches, the
// published snapshot), shared by recommender.cpp (serving, training) and recommender_io.cpp
// (model files, event log).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <thread>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tailor/persistence/event_log.hpp"
#include "tailor/serving/recommender.hpp"
#include "serving/snapshot.hpp"

namespace tailor {

namespace detail {

struct ProfileEvent {
  Index item = 0;
  EventType type = EventType::view;
  Timestamp timestamp = 0;
  float weight = 0.0f;      // EventWeights weight (0 for events that do not count)
  std::uint64_t seq = 0;    // global ingestion order
};

struct KeptEvent {
  std::uint64_t seq = 0;
  std::uint64_t log_seq = 0;  // sequence number in the event log; 0 without a log
  std::shared_ptr<const Event> event;  // shared so a retrain collects pointers, not copies
};

// Checks a shopper's IDs wherever they enter (events, requests, erasure): IDs of at most
// kMaxIdBytes, and no user ID in the namespace of anonymous sessions. Calls fail(message).
template <class Fail>
void check_actor_ids(const std::string& user, const std::string& session, const Fail& fail) {
  if (user.size() > kMaxIdBytes) {
    fail("field 'user': " + std::to_string(user.size()) + " bytes, at most " +
         std::to_string(kMaxIdBytes));
  }
  if (user.compare(0, kSessionActorPrefix.size(), kSessionActorPrefix) == 0) {
    fail("field 'user': '" + user.substr(0, 64) + "' starts with '" +
         std::string(kSessionActorPrefix) + "', which is reserved for anonymous sessions");
  }
  if (session.size() > kMaxIdBytes) {
    fail("field 'session': " + std::to_string(session.size()) + " bytes, at most " +
         std::to_string(kMaxIdBytes));
  }
}

// Shared by the facade's sources.
// Erased actors still in a snapshot are saved under this prefix and a number (save()).
inline constexpr std::string_view kErasedActorPrefix = "erased:";

inline bool counts_for_profile(const Event& e) { return !e.item.empty(); }

inline std::string request_actor(const std::string& user, const std::string& session) {
  if (!user.empty()) return user;
  return "session:" + session;
}

inline std::string cache_key_of(const std::string& actor, const RecommendRequest& r) {
  std::string key = actor;
  key += '\x1f';
  key += r.cache_key;
  key += '\x1f';
  key += std::to_string(r.k);
  key += '\x1f';
  if (r.context_item) key += *r.context_item;
  return key;
}

struct CacheEntry {
  std::uint64_t model_version = 0;
  std::uint64_t profile_version = 0;
  RecommendResponse response;
};

}  // namespace detail

struct Recommender::Profile {
  std::deque<detail::ProfileEvent> events;  // oldest first, at most profile_events
  std::uint64_t version = 0;        // bumped by every event
  Vector vector;                    // cached user vector
  bool has_vector = false;          // false: no usable history
  std::uint64_t vector_model = 0;   // snapshot version the vector was computed for
  std::uint64_t vector_profile = std::numeric_limits<std::uint64_t>::max();
};

struct Recommender::Shard {
  mutable std::shared_mutex mutex;  // profiles and kept
  std::unordered_map<std::string, Profile> profiles;
  std::deque<detail::KeptEvent> kept;

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, detail::CacheEntry> cache;
  mutable std::deque<std::string> cache_order;  // FIFO eviction
};

struct Recommender::Core {
  std::vector<std::unique_ptr<Shard>> shards;

  // Published state, read with std::atomic_load and written with std::atomic_store.
  std::shared_ptr<const ModelSnapshot> snapshot;
  std::shared_ptr<const Catalog> catalog;  // live catalog (newest), may be ahead of the snapshot
  std::shared_ptr<const ModelSnapshot> previous;  // for rollback(); guarded by publish_mutex
  std::shared_ptr<const ExperimentSet> experiments;  // atomic_load / atomic_store
  std::shared_ptr<OutcomeTracker> tracker;           // atomic_load / atomic_store
  std::shared_ptr<RecommenderObserver> observer;     // atomic_load / atomic_store
  std::atomic<bool> has_observer{false};             // lets calls skip the shared_ptr load
  std::unique_ptr<DriftMonitor> drift;               // set at construction when monitor_drift
  std::atomic<Timestamp> newest_event{0};            // newest event time ingested

  // start_auto_retrain's worker.
  std::mutex auto_mutex;
  std::condition_variable auto_cv;
  bool auto_stop = false;
  std::thread auto_thread;

  std::mutex catalog_mutex;  // writers of `catalog`
  // Held shared by ingest from its log append to its in-memory apply, exclusively by a retrain
  // while it collects: no event is ever in the log but missing from a collection.
  std::shared_mutex ingest_gate;
  std::unique_ptr<EventLog> log;  // set once by open_event_log, before any ingest
  std::mutex publish_mutex;  // builds and publishes snapshots
  std::mutex retrain_mutex;  // one retrain at a time

  std::mutex erased_mutex;
  // Erased actors whose trained rows must not be used: actor -> `collections` at erasure. A
  // retrain whose collection number is greater trained without their events.
  std::unordered_map<std::string, std::uint64_t> erased;

  std::atomic<std::uint64_t> next_seq{0};
  std::atomic<bool> restored_profiles{false};  // load() restored profiles (before any ingest)
  std::atomic<std::uint64_t> collections{0};  // retrains that have collected their events
  std::atomic<std::uint64_t> kept_count{0};
  std::atomic<std::uint64_t> version{0};
  mutable std::atomic<std::uint64_t> fold_ins{0};
  mutable std::atomic<std::uint64_t> fold_in_failures{0};
  mutable std::atomic<std::uint64_t> cache_hits{0};
  mutable std::atomic<std::uint64_t> cache_misses{0};
  std::atomic<std::uint64_t> retrains{0};

  Shard& shard_of(const std::string& actor) {
    return *shards[std::hash<std::string>{}(actor) % shards.size()];
  }
  const Shard& shard_of(const std::string& actor) const {
    return *shards[std::hash<std::string>{}(actor) % shards.size()];
  }
  std::shared_ptr<const ModelSnapshot> load_snapshot() const { return std::atomic_load(&snapshot); }
  std::shared_ptr<const Catalog> load_catalog() const { return std::atomic_load(&catalog); }
  std::shared_ptr<RecommenderObserver> load_observer() const {
    // (atomic_load of a shared_ptr takes a lock from a pool: not on every request without need)
    if (!has_observer.load(std::memory_order_acquire)) return nullptr;
    return std::atomic_load(&observer);
  }
};

namespace detail {

/// Calls `f(observer)` when there is an observer, swallowing what it throws.
template <class F>
void notify(const std::shared_ptr<RecommenderObserver>& observer, F&& f) noexcept {
  if (!observer) return;
  try {
    f(*observer);
  } catch (...) {  // an observer never changes what the Recommender does
  }
}

/// Runs a serving call, timing it for the observer when there is one.
template <class F>
auto observed(const std::shared_ptr<RecommenderObserver>& observer, Operation operation, F&& f)
    -> decltype(f()) {
  if (!observer) return f();
  const auto t0 = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  try {
    auto result = f();
    notify(observer, [&](RecommenderObserver& o) { o.on_request(operation, seconds(), true); });
    return result;
  } catch (...) {
    notify(observer, [&](RecommenderObserver& o) { o.on_request(operation, seconds(), false); });
    throw;
  }
}

}  // namespace detail


namespace detail {

/// Throws Error(invalid_argument) naming the field (and, when `batch`, the position `pos`) of an
/// event ingest cannot use: no actor, no item on a non-search event, an unusable value.
void check_event(const Event& e, const EventWeights& weights, const char* where, std::size_t pos,
                 bool batch);

}  // namespace detail
}  // namespace tailor
