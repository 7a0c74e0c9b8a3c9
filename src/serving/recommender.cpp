#include "tailor/serving/recommender.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <utility>

#include "tailor/core/error.hpp"
#include "internal/thread_pool.hpp"
#include "serving/recommender_state.hpp"
#include "serving/training.hpp"

namespace tailor {

// ---------------------------------------------------------------------------------------------
// Options

void BlendLearningOptions::validate() const {
  TAILOR_REQUIRE(validation_days >= 0.0 && std::isfinite(validation_days),
                 "BlendLearningOptions::validation_days must be finite and >= 0, got " << validation_days);
  TAILOR_REQUIRE(k >= 1, "BlendLearningOptions::k must be >= 1");
  TAILOR_REQUIRE(min_users >= 1, "BlendLearningOptions::min_users must be >= 1");
  TAILOR_REQUIRE(max_users >= min_users, "BlendLearningOptions::max_users must be >= min_users = "
                                             << min_users << ", got " << max_users);
  TAILOR_REQUIRE(passes >= 1, "BlendLearningOptions::passes must be >= 1, got " << passes);
}

void RecommenderOptions::validate() const {
  InteractionMatrixOptions matrix_checked = matrix;  // no reference: each retrain's newest event
  if (!matrix_checked.weights.reference_time) matrix_checked.weights.reference_time = 0;
  matrix_checked.validate();
  als.validate();
  ranker.validate();
  blend.validate();
  neighbors.validate();
  if (ease.enabled) ease.validate();
  if (use_content) {
    content.validate();
    bridge.validate();
  }
  trending.validate();
  TAILOR_REQUIRE(popularity_half_life_days >= 0.0 && std::isfinite(popularity_half_life_days),
                 "RecommenderOptions::popularity_half_life_days must be finite and >= 0, got "
                     << popularity_half_life_days);
  ann.validate();
  TAILOR_REQUIRE(profile_events >= 1, "RecommenderOptions::profile_events must be >= 1");
  TAILOR_REQUIRE(profile_shards >= 1, "RecommenderOptions::profile_shards must be >= 1");
  TAILOR_REQUIRE(basket_max_items >= 2, "RecommenderOptions::basket_max_items must be >= 2");
  TAILOR_REQUIRE(bought_together_per_item >= 1,
                 "RecommenderOptions::bought_together_per_item must be >= 1");
  TAILOR_REQUIRE(guard_holdout >= 0.0 && guard_holdout <= 0.5,
                 "RecommenderOptions::guard_holdout must be in [0, 0.5], got " << guard_holdout);
  guard.validate();
  if (monitor_drift) drift.validate();
  if (pseudonymize) {
    try {
      pseudonymize->validate();
    } catch (const Error& e) {
      TAILOR_THROW(invalid_argument, "RecommenderOptions::pseudonymize: " << e.what());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// State

using detail::CacheEntry;
using detail::KeptEvent;
using detail::ProfileEvent;
using detail::cache_key_of;
using detail::counts_for_profile;
using detail::request_actor;


// ---------------------------------------------------------------------------------------------
// Construction

Recommender::Recommender(RecommenderOptions options)
    : options_(std::move(options)), core_(std::make_unique<Core>()) {
  options_.validate();
  if (options_.pseudonymize) pseudonymizer_.emplace(*options_.pseudonymize);
  core_->shards.reserve(options_.profile_shards);
  for (std::size_t i = 0; i < options_.profile_shards; ++i) {
    core_->shards.push_back(std::make_unique<Shard>());
  }
  if (options_.monitor_drift) core_->drift = std::make_unique<DriftMonitor>(options_.drift);
  auto empty = std::make_shared<ModelSnapshot>();
  empty->catalog = std::make_shared<const Catalog>();
  core_->catalog = empty->catalog;
  core_->snapshot = std::move(empty);
}

Recommender::~Recommender() { stop_auto_retrain(); }

// ---------------------------------------------------------------------------------------------
// Observer

const char* operation_name(Operation operation) noexcept {
  switch (operation) {
    case Operation::recommend: return "recommend";
    case Operation::similar_items: return "similar_items";
    case Operation::bought_together: return "bought_together";
    case Operation::trending: return "trending";
  }
  return "unknown";
}

void RecommenderObserver::on_request(Operation, double, bool) {}
void RecommenderObserver::on_events(std::size_t) {}
void RecommenderObserver::on_retrain_start() {}
void RecommenderObserver::on_retrain_end(const RetrainReport*, const std::string&) {}
void RecommenderObserver::on_event_log_error(const std::string&) {}
void RecommenderObserver::on_drift(const DriftReport&) {}

void Recommender::set_observer(std::shared_ptr<RecommenderObserver> observer) {
  const bool any = observer != nullptr;
  std::atomic_store(&core_->observer, std::move(observer));
  core_->has_observer.store(any, std::memory_order_release);
}

void Recommender::upsert_items(const std::vector<CatalogItem>& items) {
  std::lock_guard<std::mutex> catalog_lock(core_->catalog_mutex);
  auto next = std::make_shared<Catalog>(*core_->load_catalog());
  for (std::size_t i = 0; i < items.size(); ++i) {
    try {
      next->upsert(items[i]);
    } catch (const Error& e) {
      TAILOR_THROW(invalid_argument, "Recommender::upsert_items: item " << i << ": " << e.what());
    }
  }
  std::shared_ptr<const Catalog> published = std::move(next);
  std::lock_guard<std::mutex> publish_lock(core_->publish_mutex);
  const auto current = core_->load_snapshot();
  auto snap = make_snapshot(options_, current->parts, published, current->content,
                            current->cold_factors, current->trained_through);
  snap->trained_log_sequence = current->trained_log_sequence;
  snap->version = ++core_->version;
  std::atomic_store(&core_->catalog, published);
  std::atomic_store(&core_->snapshot, std::shared_ptr<const ModelSnapshot>(std::move(snap)));
}

bool Recommender::remove_item(const std::string& item_id) {
  const CatalogItem* current = core_->load_catalog()->find(item_id);
  if (current == nullptr) return false;
  CatalogItem flagged = *current;  // merge applies in_stock: keep every field as it is
  flagged.attributes[options_.ranker.never_recommend_attribute.empty()
                         ? std::string("never_recommend")
                         : options_.ranker.never_recommend_attribute] = "1";
  upsert_items({flagged});
  return true;
}

std::optional<Index> Recommender::item_index(const std::string& item_id) const {
  return core_->load_catalog()->index_of(item_id);
}

std::shared_ptr<const Catalog> Recommender::catalog() const {
  return core_->load_snapshot()->catalog;
}

std::uint64_t Recommender::model_version() const { return core_->load_snapshot()->version; }

// ---------------------------------------------------------------------------------------------
// Events


void detail::check_event(const Event& e, const EventWeights& weights, const char* where, std::size_t pos,
                 bool batch) {
  auto fail = [&](const std::string& what) {
    if (batch) {
      TAILOR_THROW(invalid_argument, where << ": event " << pos << ": " << what);
    }
    TAILOR_THROW(invalid_argument, where << ": " << what);
  };
  if (e.user.empty() && e.session.empty()) fail("field 'user': empty, and no session either");
  check_actor_ids(e.user, e.session, fail);
  if (e.item.empty() && e.type != EventType::search) {
    fail("field 'item': empty (only search events may omit it)");
  }
  if (e.item.size() > kMaxIdBytes) {
    fail("field 'item': " + std::to_string(e.item.size()) + " bytes, at most " +
         std::to_string(kMaxIdBytes));
  }
  if (e.value && std::isfinite(*e.value) && std::abs(*e.value) > weights.max_value) {
    std::ostringstream os;
    os << "field 'value': " << *e.value << " is beyond +-" << weights.max_value
       << " (EventWeights::max_value)";
    fail(os.str());
  }
  if (!weights.weight(e)) fail("field 'value': missing or not finite for this event type");
}

std::string Recommender::inside_id(const std::string& id) const {
  if (!pseudonymizer_ || id.empty() ||
      id.compare(0, kSessionActorPrefix.size(), kSessionActorPrefix) == 0) {
    return id;
  }
  return pseudonymizer_->pseudonymize(id);
}

void Recommender::ingest(const Event& event) {
  detail::check_event(event, options_.matrix.weights, "Recommender::ingest", 0, false);
  if (!pseudonymizer_) return ingest_checked(&event, 1);
  const Event inside = pseudonymizer_->pseudonymize(event);
  ingest_checked(&inside, 1);
}

void Recommender::ingest(const std::vector<Event>& events) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    detail::check_event(events[i], options_.matrix.weights, "Recommender::ingest", i, events.size() > 1);
  }
  if (!pseudonymizer_) return ingest_checked(events.data(), events.size());
  std::vector<Event> inside;
  inside.reserve(events.size());
  for (const Event& e : events) inside.push_back(pseudonymizer_->pseudonymize(e));
  ingest_checked(inside.data(), inside.size());
}

void Recommender::ingest_checked(const Event* events, std::size_t n) {
  if (n == 0) return;
  // Durable first (all or none: a batch the log refuses changes nothing, not even the catalog),
  // then visible. The gate keeps a retrain from collecting while an event is in the log but not
  // yet in memory.
  std::shared_lock<std::shared_mutex> gate(core_->ingest_gate);
  std::uint64_t log_seq = 0;
  if (core_->log) {
    try {
      log_seq = n == 1 ? core_->log->append(events[0])
                       : core_->log->append(std::vector<Event>(events, events + n));
    } catch (const std::exception& e) {
      detail::notify(core_->load_observer(),
                     [&](RecommenderObserver& o) { o.on_event_log_error(e.what()); });
      throw;
    }
    log_seq -= n - 1;  // the batch's first sequence number
  }
  // Register unknown items in one catalog copy.
  auto catalog = core_->load_catalog();
  bool unknown = false;
  for (std::size_t i = 0; i < n && !unknown; ++i) {
    unknown = !events[i].item.empty() && !catalog->contains(events[i].item);
  }
  if (unknown) {
    std::lock_guard<std::mutex> lock(core_->catalog_mutex);
    auto next = std::make_shared<Catalog>(*core_->load_catalog());
    for (std::size_t i = 0; i < n; ++i) {
      if (!events[i].item.empty() && !next->contains(events[i].item)) {
        CatalogItem bare;
        bare.id = events[i].item;
        next->upsert(std::move(bare));
      }
    }
    catalog = next;
    std::atomic_store(&core_->catalog, std::shared_ptr<const Catalog>(std::move(next)));
  }
  for (std::size_t i = 0; i < n; ++i) {
    apply_event(events[i], *catalog, log_seq == 0 ? 0 : log_seq + i);
  }
  gate.unlock();
  if (core_->drift) {
    for (std::size_t i = 0; i < n; ++i) {
      core_->drift->observe(events[i]);
      Timestamp seen = core_->newest_event.load(std::memory_order_relaxed);
      while (events[i].timestamp > seen &&
             !core_->newest_event.compare_exchange_weak(seen, events[i].timestamp)) {
      }
    }
  }
  if (const auto tracker = std::atomic_load(&core_->tracker)) {
    for (std::size_t i = 0; i < n; ++i) tracker->record_event(events[i]);
  }
  detail::notify(core_->load_observer(), [n](RecommenderObserver& o) { o.on_events(n); });
}

void Recommender::apply_event(const Event& e, const Catalog& catalog, std::uint64_t log_seq,
                              bool to_profile) {
  const std::string actor = e.actor();
  Shard& shard = core_->shard_of(actor);
  const auto weight = static_cast<float>(*options_.matrix.weights.weight(e));
  auto kept = std::make_shared<const Event>(e);
  std::unique_lock<std::shared_mutex> lock(shard.mutex);
  const std::uint64_t seq = core_->next_seq.fetch_add(1, std::memory_order_relaxed);
  if (to_profile && counts_for_profile(e)) {
    Profile& p = shard.profiles[actor];
    if (p.events.size() >= options_.profile_events) p.events.pop_front();
    p.events.push_back({*catalog.index_of(e.item), e.type, e.timestamp, weight, seq});
    ++p.version;  // also invalidates the shopper's cached responses
  }
  shard.kept.push_back({seq, log_seq, std::move(kept)});
  core_->kept_count.fetch_add(1, std::memory_order_relaxed);
  if (options_.max_kept_events > 0) {
    const std::size_t per_shard =
        std::max<std::size_t>(1, options_.max_kept_events / core_->shards.size());
    while (shard.kept.size() > per_shard) {
      shard.kept.pop_front();
      core_->kept_count.fetch_sub(1, std::memory_order_relaxed);
    }
  }
}

RetrainReport Recommender::retrain() {
  const auto observer = core_->load_observer();
  detail::notify(observer, [](RecommenderObserver& o) { o.on_retrain_start(); });
  try {
    RetrainReport report = retrain_unobserved();
    detail::notify(observer, [&](RecommenderObserver& o) { o.on_retrain_end(&report, {}); });
    return report;
  } catch (const std::exception& e) {
    detail::notify(observer, [&](RecommenderObserver& o) { o.on_retrain_end(nullptr, e.what()); });
    throw;
  }
}

RetrainReport Recommender::retrain_unobserved() {
  std::lock_guard<std::mutex> retrain_lock(core_->retrain_mutex);
  const auto t0 = std::chrono::steady_clock::now();
  RetrainReport report;
  auto phase_start = t0;
  auto phase = [&](const char* name) {
    const auto now = std::chrono::steady_clock::now();
    report.phases.emplace_back(name, std::chrono::duration<double>(now - phase_start).count());
    phase_start = now;
  };
  // Cut: every event ingested before this point is trained on.
  std::vector<KeptEvent> kept;
  std::uint64_t cut = 0;
  std::uint64_t collection = 0;
  std::uint64_t trained_log = 0;
  {
    // With the gate held exclusively no event is added anywhere, so the shards are read one at a
    // time (holding all 64 shard locks at once also overflowed ThreadSanitizer's lock tracking).
    // erase_user may still run between two shards: it reads `collections` under its shard's lock,
    // so an erasure of a shard read later records this collection's number, and the trained row
    // is hidden as if the events had been trained on (safe either way).
    std::unique_lock<std::shared_mutex> gate(core_->ingest_gate);
    cut = core_->next_seq.load();
    collection = ++core_->collections;
    trained_log = core_->log ? core_->log->last_sequence() : 0;
    for (auto& s : core_->shards) {
      std::shared_lock<std::shared_mutex> lock(s->mutex);
      kept.insert(kept.end(), s->kept.begin(), s->kept.end());
    }
  }
  std::sort(kept.begin(), kept.end(),
            [](const KeptEvent& a, const KeptEvent& b) { return a.seq < b.seq; });
  std::vector<const Event*> events;  // alive while `kept` holds them
  events.reserve(kept.size());
  for (const auto& k : kept) events.push_back(k.event.get());
  // Guard: the newest share is held out of the candidate's training (and counts as "newer than
  // the model" at serving time when the candidate is published).
  const auto serving = core_->load_snapshot();
  std::vector<const Event*> holdout;
  if (options_.guard_holdout > 0.0 && serving->parts) {
    const auto h = static_cast<std::size_t>(options_.guard_holdout * static_cast<double>(events.size()));
    if (h > 0 && h < events.size()) {
      const std::size_t first = events.size() - h;
      holdout.assign(events.begin() + static_cast<std::ptrdiff_t>(first), events.end());
      events.resize(first);
      cut = kept[first].seq;
      if (core_->log) {
        std::uint64_t lowest = std::numeric_limits<std::uint64_t>::max();
        for (std::size_t i = first; i < kept.size(); ++i) lowest = std::min(lowest, kept[i].log_seq);
        trained_log = lowest - 1;
      }
    }
  }
  phase("collect");

  const auto catalog = core_->load_catalog();  // has every kept event's item
  std::optional<HybridRankerOptions> learned;
  if (options_.blend.validation_days > 0.0) {
    learned = learn_blend_on_validation(events, catalog, options_, report);
    phase("blend");
  }
  RecommenderOptions train_options = options_;  // the ANN index follows the learned bridge blend
  if (learned) train_options.ranker = *learned;
  TrainedModels trained = train_models(events, *catalog, train_options, phase, report);
  trained.parts->ranker = learned;

  if (!holdout.empty()) {
    report.guard = guard_candidate(*serving->parts, *trained.parts, trained.confidence, holdout,
                                   *catalog, options_);
    phase("guard");
    if (!report.guard->accept) {
      report.published = false;
      report.model_version = serving->version;
      core_->retrains.fetch_add(1);
      report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return report;
    }
  }
  {
    std::lock_guard<std::mutex> publish_lock(core_->publish_mutex);
    auto snap = make_snapshot(options_, std::move(trained.parts), core_->load_catalog(),
                              trained.content, trained.cold, cut);
    snap->trained_log_sequence = trained_log;
    snap->trained_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    snap->trained_events = events.size();
    core_->previous = core_->load_snapshot();
    if (!core_->previous->parts) core_->previous.reset();
    snap->version = ++core_->version;
    report.model_version = snap->version;
    std::atomic_store(&core_->snapshot, std::shared_ptr<const ModelSnapshot>(std::move(snap)));
  }
  if (core_->drift) {
    if (core_->drift->has_reference()) {
      detail::notify(core_->load_observer(),
                     [&](RecommenderObserver& o) { o.on_drift(core_->drift->report()); });
    }
    core_->drift->set_reference_from_current();
  }
  phase("publish");
  {
    // Erasures before this retrain's collection are reflected in the events it trained on.
    std::lock_guard<std::mutex> lock(core_->erased_mutex);
    for (auto it = core_->erased.begin(); it != core_->erased.end();) {
      it = it->second < collection ? core_->erased.erase(it) : std::next(it);
    }
  }
  core_->retrains.fetch_add(1);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

// ---------------------------------------------------------------------------------------------
// Privacy and monitoring

std::size_t Recommender::erase_user(const std::string& id) {
  const std::string actor = inside_id(id);
  Shard& shard = core_->shard_of(actor);
  std::size_t dropped = 0;
  {
    // Marked first, so a request racing with the erasure never reads the trained row again.
    std::lock_guard<std::mutex> lock(core_->erased_mutex);
    core_->erased[actor] = std::numeric_limits<std::uint64_t>::max();
  }
  if (core_->log) {  // durable first: a restart replays the tombstone
    core_->log->erase_user(actor, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
    if (options_.compact_log_on_erase) core_->log->compact(TombstonePolicy::digest);
  }
  std::uint64_t collection = 0;
  {
    std::unique_lock<std::shared_mutex> lock(shard.mutex);  // excludes a retrain's collection
    collection = core_->collections.load();
    shard.profiles.erase(actor);
    const auto before = shard.kept.size();
    shard.kept.erase(std::remove_if(shard.kept.begin(), shard.kept.end(),
                                    [&](const KeptEvent& k) { return k.event->actor() == actor; }),
                     shard.kept.end());
    dropped = before - shard.kept.size();
    core_->kept_count.fetch_sub(dropped);
  }
  {
    std::lock_guard<std::mutex> lock(core_->erased_mutex);
    core_->erased[actor] = collection;
  }
  {
    std::lock_guard<std::mutex> lock(shard.cache_mutex);
    const std::string prefix = actor + '\x1f';
    for (auto it = shard.cache.begin(); it != shard.cache.end();) {
      it = it->first.compare(0, prefix.size(), prefix) == 0 ? shard.cache.erase(it) : std::next(it);
    }
  }
  return dropped;
}

std::uint64_t Recommender::compact_event_log() {
  if (!core_->log) return 0;
  return core_->log->compact(TombstonePolicy::digest);
}

bool Recommender::rollback() {
  std::lock_guard<std::mutex> publish_lock(core_->publish_mutex);
  const auto previous = core_->previous;
  if (!previous) return false;
  const auto current = core_->load_snapshot();
  auto snap = make_snapshot(options_, previous->parts, core_->load_catalog(),
                                    previous->content, previous->cold_factors,
                                    previous->trained_through);
  snap->trained_log_sequence = previous->trained_log_sequence;
  snap->trained_at = previous->trained_at;
  snap->trained_events = previous->trained_events;
  snap->version = ++core_->version;
  core_->previous = current;
  std::atomic_store(&core_->snapshot, std::shared_ptr<const ModelSnapshot>(std::move(snap)));
  return true;
}

void Recommender::start_auto_retrain(
    RetrainPolicy policy, std::chrono::milliseconds check_every,
    std::function<void(const RetrainReport*, const std::string&)> on_retrain,
    std::function<void(RetrainSignals&)> signals) {
  TAILOR_REQUIRE(check_every.count() > 0, "Recommender::start_auto_retrain: check_every must be > 0");
  stop_auto_retrain();
  std::lock_guard<std::mutex> lock(core_->auto_mutex);
  core_->auto_stop = false;
  core_->auto_thread = std::thread([this, policy = std::move(policy), check_every,
                                    on_retrain = std::move(on_retrain),
                                    signals = std::move(signals)] {
    std::unique_lock<std::mutex> wait_lock(core_->auto_mutex);
    while (!core_->auto_cv.wait_for(wait_lock, check_every, [this] { return core_->auto_stop; })) {
      wait_lock.unlock();
      const auto snap = core_->load_snapshot();
      RetrainSignals sig;
      sig.now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
      if (snap->parts) sig.last_retrain = snap->trained_at;
      sig.events_since_retrain = core_->next_seq.load() - snap->trained_through;
      sig.training_events = snap->trained_events;
      if (core_->drift && core_->drift->has_reference()) {
        const DriftReport drift = core_->drift->report();
        sig.drifted = drift.drifted;
        if (!drift.reasons.empty()) sig.drift_reason = drift.reasons.front();
        detail::notify(core_->load_observer(), [&](RecommenderObserver& o) { o.on_drift(drift); });
      }
      if (signals) signals(sig);
      if (policy.should_retrain(sig)) {
        try {
          const RetrainReport report = retrain();
          if (on_retrain) on_retrain(&report, std::string());
        } catch (const std::exception& e) {
          if (on_retrain) on_retrain(nullptr, e.what());
        }
      }
      wait_lock.lock();
    }
  });
}

void Recommender::stop_auto_retrain() {
  std::thread worker;
  {
    std::lock_guard<std::mutex> lock(core_->auto_mutex);
    core_->auto_stop = true;
    worker = std::move(core_->auto_thread);
  }
  core_->auto_cv.notify_all();
  if (worker.joinable()) worker.join();
}

DriftReport Recommender::drift_report() const {
  TAILOR_REQUIRE(core_->drift != nullptr,
                 "Recommender::drift_report: drift monitoring is off (RecommenderOptions::monitor_drift)");
  return core_->drift->report();
}

std::vector<std::string> Recommender::model_users() const {
  const auto snap = core_->load_snapshot();
  if (!snap->parts) TAILOR_THROW(not_fitted, "Recommender::model_users: no model yet");
  std::unordered_map<std::string, std::uint64_t> erased;
  {
    std::lock_guard<std::mutex> lock(core_->erased_mutex);
    erased = core_->erased;
  }
  std::vector<std::string> out;
  const IdMap& users = snap->parts->users;
  out.reserve(users.size());
  for (std::size_t i = 0; i < users.size(); ++i) {
    const std::string& id = users.id(static_cast<Index>(i));
    if (id.compare(0, kSessionActorPrefix.size(), kSessionActorPrefix) == 0) continue;
    if (id.compare(0, detail::kErasedActorPrefix.size(), detail::kErasedActorPrefix) == 0) continue;
    if (erased.count(id) != 0) continue;
    out.push_back(id);
  }
  return out;
}

RecommenderStats Recommender::stats() const {
  RecommenderStats s;
  const auto snap = core_->load_snapshot();
  s.model_version = snap->version;
  s.events_ingested = core_->next_seq.load() - (core_->restored_profiles ? 1 : 0);
  s.events_kept = core_->kept_count.load();
  for (const auto& shard : core_->shards) {
    std::shared_lock<std::shared_mutex> lock(shard->mutex);
    s.profiles += shard->profiles.size();
  }
  s.items = core_->load_catalog()->size();
  if (snap->parts) {
    s.model_items = static_cast<std::uint64_t>(snap->parts->als.items());
    s.model_users = static_cast<std::uint64_t>(snap->parts->als.users());
  }
  s.fold_ins = core_->fold_ins.load();
  s.fold_in_failures = core_->fold_in_failures.load();
  s.cache_hits = core_->cache_hits.load();
  s.cache_misses = core_->cache_misses.load();
  s.retrains = core_->retrains.load();
  return s;
}

}  // namespace tailor
