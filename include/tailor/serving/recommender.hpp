// tailor: Recommender, the facade a shop backend creates at start-up and calls from its own
// request threads.
//
// It owns two kinds of state:
//   * an immutable ModelSnapshot: the catalog as of publication, ALS factors, item neighbours,
//     content vectors and the cold-start bridge, popularity, trending, co-purchase lists, the ANN
//     index and a HybridRanker over all of them. It is published through an atomic shared_ptr
//     swap: a request loads the pointer once and is answered entirely by that snapshot, so
//     retraining and catalog changes never block or tear a request;
//   * mutable per-shopper profiles (the newest `profile_events` events of each user or anonymous
//     session and the user's folded-in ALS vector), in `profile_shards` shards, each behind its
//     own shared mutex.
//
// Data flow:
//   ingest(event)     O(1): appends to the shopper's profile (exclusive lock on one shard), keeps
//                     the event for the next retrain, drops the shopper's cached responses.
//   recommend(req)    loads the snapshot; reads the profile (shared lock); if the profile changed
//                     since its vector was computed, folds the user in again (one k x k solve
//                     over the training row plus the events since the snapshot) and stores the
//                     vector back; ranks with the HybridRanker (retrieval takes the rules' cached
//                     catalog bitset plus the shopper's exclusions as its filter); maps indices
//                     to IDs. O(k^3 + candidates) per request, independent of the catalog size
//                     when the ANN graph serves retrieval.
//   retrain()         rebuilds every model from the kept events off the serving path (the caller's
//                     thread, or the background thread of start_auto_retrain()), then swaps.
//   upsert_item(...)  publishes a snapshot with the new catalog and the same models; a new item
//                     is encoded by the content encoder, mapped into the ALS space by the bridge
//                     and added to the ANN index's side buffer, so it can be recommended at once.
//
// Items keep one dense index for the life of the Recommender (the catalog's index; IDs only
// grow), so Rules (allow, deny, pins, promoted...) are written with item_index().
//
// Costs: upsert_item/remove_item copy the catalog and rebuild the ranker's catalog index:
// O(catalog) per call; batch them with upsert_items(). The next request with each distinct filter
// then rebuilds that filter's catalog bitset (one catalog pass). Kept events cost their size in
// memory until max_kept_events drops the oldest. Measured figures: docs/benchmarks.md.
//
// Thread-safety: thread-safe. Every public method may be called from any thread concurrently.
//
// **Example**:
//   tailor::Recommender rec;
//   rec.upsert_items(catalog_items);
//   rec.ingest(history);                   // bulk load
//   rec.retrain();
//   rec.ingest(event);                     // from request threads, as events arrive
//   tailor::RecommendRequest req;
//   req.user = "17850";
//   req.k = 10;
//   for (const auto& r : rec.recommend(req).items) std::cout << r.item << ": " << r.reason << "\n";
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/models/als.hpp"
#include "tailor/retrieval/ann_index.hpp"
#include "tailor/models/scorers.hpp"
#include "tailor/data/catalog.hpp"
#include "tailor/models/content_encoder.hpp"
#include "tailor/models/ease.hpp"
#include "tailor/monitoring/drift.hpp"
#include "tailor/data/event.hpp"
#include "tailor/persistence/event_log.hpp"
#include "tailor/experiments/experiment.hpp"
#include "tailor/ranking/blend_learning.hpp"
#include "tailor/ranking/hybrid_ranker.hpp"
#include "tailor/data/interaction_matrix.hpp"
#include "tailor/data/pseudonymize.hpp"
#include "tailor/experiments/outcomes.hpp"
#include "tailor/monitoring/retrain_policy.hpp"
#include "tailor/ranking/rules.hpp"
#include "tailor/models/content_bridge.hpp"
#include "tailor/models/item_neighbors.hpp"
#include "tailor/models/trending.hpp"
#include "tailor/monitoring/retrain_guard.hpp"

namespace tailor {

/// Blend learning at retrain (RecommenderOptions::blend). With validation_days > 0 each retrain
/// first carves the kept events newer than (newest - validation_days) out as a validation period,
/// trains every model on the events before it, and searches the ranker's blend (learn_blend:
/// history half-lives, bridge pseudo-count, source weights; nDCG@k) on the shoppers known before
/// the period who came back in it, ranking the items they had not had before. The published model,
/// trained on every kept event, serves with the learned blend (RetrainReport::blend says what was
/// found; model files keep it). The retrain then costs about one more training plus the search:
/// max_users x evaluations ranked requests (on Online Retail, 4,000 shoppers and 3,600 items,
/// it made a retrain about four times longer; docs/quality.md gives what it gained). When the
/// period leaves too little to learn from (no event before or in it, fewer than min_users
/// returning shoppers), the options' blend is used and RetrainReport::blend_note says why.
/// Thread-safety: plain value type.
struct TAILOR_API BlendLearningOptions {
  double validation_days = 28.0;  ///< >= 0; 0 = off (serve with RecommenderOptions::ranker)
  std::size_t k = 20;             ///< cut-off of the nDCG objective, >= 1
  /// Fewer returning shoppers than this: the search would fit noise (it sets eight parameters),
  /// so the options' blend is kept. >= 1.
  std::size_t min_users = 200;
  std::size_t max_users = 1000;   ///< validation shoppers at most (a fixed hash order), >= min_users
  int passes = 2;                ///< coordinate-search rounds, >= 1

  /// Throws Error(invalid_argument) naming the bad field.
  void validate() const;
};

/// Options of Recommender. The defaults suit implicit shop events.
struct TAILOR_API RecommenderOptions {
  /// Event weights and the confidence transform. With matrix.weights.half_life_days > 0 and no
  /// reference_time, each retrain ages events from its newest kept event.
  InteractionMatrixOptions matrix;
  ALSOptions als;                   ///< collaborative model (als.threads: training threads)
  HybridRankerOptions ranker;
  BlendLearningOptions blend;       ///< learns `ranker`'s blend at each retrain (off by default)
  ItemKnnOptions neighbors;         ///< item-to-item neighbour lists
  /// EASE item-to-item weights, fitted when enabled and the catalog has at most ease.max_items
  /// items (models/ease.hpp gives the time and memory rule); ranker.weight_ease blends them.
  EaseOptions ease;
  bool use_content = true;          ///< content encoder and cold-start bridge
  ContentEncoderOptions content;
  ContentBridgeOptions bridge;
  TrendingOptions trending;         ///< `now` 0 = the newest kept event
  /// The ranker's popularity: 0 = shoppers per item over all kept events; > 0 = each shopper
  /// weighted 0.5^(age / half-life) by their newest event with the item, age in days before the
  /// newest kept event (what sells now; docs/quality.md gives the validation that chose it).
  double popularity_half_life_days = 7.0;
  AnnIndexOptions ann;
  std::size_t profile_events = 100;   ///< newest events kept per shopper, >= 1
  std::size_t profile_shards = 64;    ///< >= 1
  std::size_t cache_entries = 0;      ///< cached responses per shard (see RecommendRequest::cache_key); 0 = off
  std::size_t max_kept_events = 0;    ///< events kept for retraining; 0 = all; oldest dropped first
  std::size_t basket_max_items = 50;  ///< larger baskets are skipped for co-purchase counts, >= 2
  std::size_t bought_together_per_item = 50;  ///< co-purchase list length per item, >= 1
  /// Guarded retraining: the newest `guard_holdout` share of the kept events is held out of the
  /// candidate's training; the candidate and the serving model rank those events' users (ALS
  /// scores, each user's history as of the holdout folded into the serving model) and the
  /// candidate is published only if `guard` accepts it. In [0, 0.5]; 0 = publish every retrain.
  double guard_holdout = 0.0;
  GuardOptions guard;
  /// Drift monitoring: every ingested event and the top score of every response feed a
  /// DriftMonitor (O(1) each); each published retrain becomes its reference; drift_report() and
  /// start_auto_retrain's signals read it. Scores are stamped with the newest event time seen, so
  /// replayed history and live traffic share one clock.
  bool monitor_drift = true;
  DriftOptions drift;
  /// With an event log open, erase_user rewrites the log without the erased shopper's events and
  /// with its tombstone as a digest (EventLog::compact, TombstonePolicy::digest), so no trace of
  /// the ID stays on disk once it returns. O(log size) per erasure; hosts that erase in bulk may
  /// turn this off and call compact_event_log() after the batch.
  bool compact_log_on_erase = true;
  /// Pseudonymization at the door (off when unset): every user ID is replaced by its keyed
  /// pseudonym (Pseudonymizer: key_version + ":" + truncated HMAC-SHA256) where it enters, in
  /// ingest(), recommend(), user_vector() and erase_user(), so profiles, the event log and saved
  /// models hold only pseudonyms, as does the outcome tracker (exposures and events alike).
  /// Session keys and item IDs are unchanged; experiment assignment hashes the ID the host
  /// passed, as `tailor experiment --assign` does. The key never leaves memory (options
  /// are not written to model files); load() refuses a model, and open_event_log() skips (and
  /// reports) events, whose user IDs do not carry this key version's pseudonym form. Rotating
  /// the key starts a new model: a pseudonym cannot be mapped to another key's.
  std::optional<PseudonymizerOptions> pseudonymize;

  /// Throws Error(invalid_argument) naming the first bad field (including nested options).
  void validate() const;
};

/// One request for recommendations.
struct RecommendRequest {
  std::string user;     ///< user ID; empty for an anonymous shopper (then `session` is used)
  std::string session;  ///< session key of an anonymous shopper
  std::size_t k = 10;   ///< >= 1
  std::optional<std::string> context_item;  ///< the product page being viewed, if any
  Rules rules;          ///< filters, boosts, pins, caps, diversity (item indices: item_index())
  /// Non-empty: the response may be served from, and is stored in, the result cache under
  /// (shopper, cache_key, k, context_item). The caller promises that requests sharing a key share
  /// their rules. Cached responses are dropped by the shopper's own events, by any new snapshot
  /// (retrain, catalog change) and by erase_user.
  std::string cache_key;
  /// Experiment overrides for this request (forced variants, exclusion); user and session are
  /// taken from the request. Used only when experiments are set (set_experiments).
  std::map<std::string, std::string> forced_variants;
  bool exclude_from_experiments = false;
};

/// One recommended item.
struct Recommendation {
  std::string item;          ///< external item ID
  Index index = 0;           ///< dense item index
  float score = 0.0f;
  SourceMask sources = 0;    ///< see hybrid_ranker.hpp
  /// Why it is shown, as data a shop can translate: the kind (reason_kind_name() gives its
  /// stable name), the external ID of the item it names ("because you viewed X"; empty when
  /// the kind names none) and the category of "popular in Y".
  ReasonKind reason_kind = ReasonKind::recommended_for_you;
  std::string reason_item;
  std::string reason_category;
  std::string reason;        ///< the same in English, e.g. "because you viewed WHITE METAL LANTERN"
};

/// What recommend() and friends return.
struct RecommendResponse {
  std::vector<Recommendation> items;
  std::uint64_t model_version = 0;  ///< the snapshot that produced every item of this response
  bool from_cache = false;
  /// With experiments set: a unique ID for outcome attribution, the shopper's assignments (the
  /// variants that served this response) and their merged variant config (for the host to apply
  /// what the Recommender does not: e.g. a "model" key naming another Recommender).
  std::string recommendation_id;
  std::vector<Assignment> assignments;
  nlohmann::json variant_config;
};

/// Counters of a Recommender (a consistent-enough view for monitoring).
struct RecommenderStats {
  std::uint64_t model_version = 0;
  std::uint64_t events_ingested = 0;
  std::uint64_t events_kept = 0;
  std::uint64_t profiles = 0;
  std::uint64_t items = 0;             ///< catalog size (including items seen only in events)
  std::uint64_t model_items = 0;       ///< items with ALS factors in the serving snapshot
  std::uint64_t model_users = 0;
  std::uint64_t fold_ins = 0;          ///< user vectors recomputed by recommend()
  /// Fold-ins whose normal equations could not be solved in float arithmetic (a degenerate
  /// model); those requests were served from the trained row, or without a vector. Alert on > 0.
  std::uint64_t fold_in_failures = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t retrains = 0;
};

/// What retrain() did.
struct RetrainReport {
  std::uint64_t model_version = 0;
  std::uint64_t events = 0;   ///< events trained on
  std::size_t users = 0;
  std::size_t items = 0;
  std::size_t interactions = 0;
  double seconds = 0.0;
  /// Wall seconds per phase, in order: "collect", ("blend" with RecommenderOptions::blend),
  /// "matrix", "als", "neighbors", "ease", "bought_together", "content", "ann", ("guard"),
  /// "publish".
  std::vector<std::pair<std::string, double>> phases;
  bool published = true;      ///< false when the guard kept the serving model
  std::optional<GuardDecision> guard;  ///< the guard's verdict, when it ran
  bool content = false;       ///< the content encoder was fitted
  bool bridge = false;        ///< the cold-start bridge was fitted
  bool ease = false;          ///< EASE was fitted
  /// The blend learned on the validation period (RecommenderOptions::blend), when it ran.
  std::optional<BlendSearchResult> blend;
  std::size_t blend_cases = 0;  ///< validation shoppers it ranked
  std::string blend_note;       ///< why blend learning was on but did not run, else empty
  std::string ann_backend;    ///< "exact" or "hnsw"
};

/// The serving calls a RecommenderObserver is told about.
enum class Operation { recommend, similar_items, bought_together, trending };
/// "recommend", "similar_items", "bought_together", "trending".
TAILOR_API const char* operation_name(Operation operation) noexcept;

/// Hooks a host implements to watch a Recommender (Recommender::set_observer): to export metrics,
/// write logs or page someone. Every method has an empty default.
///
/// Thread-safety: the callbacks run on the thread doing the work (request threads, a retraining
/// thread), concurrently with each other, so an implementation must be thread-safe. They run
/// inside request handling: keep them short and non-blocking. An exception a callback throws is
/// swallowed (it never changes what the Recommender does).
class TAILOR_API RecommenderObserver {
 public:
  virtual ~RecommenderObserver() = default;
  /// A serving call finished after `seconds` of wall time; ok is false when it threw.
  virtual void on_request(Operation operation, double seconds, bool ok);
  /// `n` events were recorded by one ingest() call (durable first when an event log is open).
  virtual void on_events(std::size_t n);
  /// A retrain() call starts (before it waits for a running one).
  virtual void on_retrain_start();
  /// A retrain() call ended: `report` when it returned (published or kept by the guard), else
  /// null and `error` says why it threw.
  virtual void on_retrain_end(const RetrainReport* report, const std::string& error);
  /// The event log refused an append (a write or fsync failure, a record too large); the
  /// ingest() call then throws and records nothing.
  virtual void on_event_log_error(const std::string& message);
  /// The drift monitor's report, whenever the Recommender evaluates it itself: at each check of
  /// start_auto_retrain, and at each published retrain just before it becomes the new reference.
  virtual void on_drift(const DriftReport& report);
};

struct ModelSnapshot;  // serving/snapshot.hpp (private)
class RecommenderTestAccess;  // serving/test_access.hpp (private): the tests' seam

/// The in-process recommender (see the file comment). Thread-safety: thread-safe.
class TAILOR_API Recommender {
 public:
  /// Throws Error(invalid_argument) when options.validate() does.
  explicit Recommender(RecommenderOptions options = {});
  ~Recommender();
  Recommender(const Recommender&) = delete;
  Recommender& operator=(const Recommender&) = delete;

  const RecommenderOptions& options() const noexcept { return options_; }

  // ---- events

  /// Records one event: the shopper's profile changes at once (visible to the next recommend()),
  /// and the event is kept for the next retrain. An item not in the catalog is added to it with
  /// its ID only. Throws Error(invalid_argument) naming the field for an event without user and
  /// session, a non-search event without item, or a value the event weights cannot use; nothing
  /// is recorded then.
  void ingest(const Event& event);
  /// ingest() of each event in order; validates all first, so a bad event records nothing (the
  /// error names its position).
  void ingest(const std::vector<Event>& events);

  // ---- catalog

  /// Inserts or merges (UpsertMode::merge) catalog records and publishes them in one new snapshot.
  /// Throws like Catalog::upsert, naming the position; nothing is published then.
  void upsert_items(const std::vector<CatalogItem>& items);
  void upsert_item(const CatalogItem& item) { upsert_items({item}); }
  /// Stops recommending `item_id` (it still counts as history and for training); returns false if
  /// the ID is unknown.
  bool remove_item(const std::string& item_id);
  /// The dense index of an item ID (for Rules), or nullopt.
  std::optional<Index> item_index(const std::string& item_id) const;
  /// The catalog as of the serving snapshot.
  std::shared_ptr<const Catalog> catalog() const;

  // ---- models

  /// Trains every model on the kept events and the current catalog, then publishes the new
  /// snapshot. Requests keep being answered by the old snapshot meanwhile. Retrains are serialised
  /// (a second caller waits). Throws Error(invalid_argument) when no event can be used (nothing
  /// is published then and the serving snapshot stays).
  RetrainReport retrain();
  /// Publishes the model that served before the last published retrain again (with the current
  /// catalog); the model it replaces becomes the one a second rollback() returns to. Returns
  /// false when there is no previous model.
  bool rollback();

  /// Runs `policy` on a background thread: every `check_every` it fills RetrainSignals (time,
  /// model age, events since and at the last retrain; `signals` may add drift and online-metric
  /// values) and retrains when the policy says so, calling `on_retrain` with the report (or with
  /// the error message when retraining threw). Replaces a running one. Stopped by
  /// stop_auto_retrain() and by the destructor.
  void start_auto_retrain(RetrainPolicy policy, std::chrono::milliseconds check_every,
                          std::function<void(const RetrainReport*, const std::string& error)> on_retrain = {},
                          std::function<void(RetrainSignals&)> signals = {});
  void stop_auto_retrain();

  /// The serving snapshot's version: 0 before the first retrain, then 1, 2, ... (catalog changes
  /// publish new versions too).
  std::uint64_t model_version() const;

  // ---- serving

  /// Recommendations for a user or anonymous session. A shopper the models have never seen gets
  /// content, popularity and trending recommendations, and collaborative ones as soon as their
  /// profile has events on items the model knows. Throws Error(not_fitted) before the first
  /// retrain, Error(invalid_argument) for k == 0, no user and no session, or bad rules, and
  /// Error(unknown_id) for an unknown context item.
  RecommendResponse recommend(const RecommendRequest& request) const;
  /// recommend() for every request, spread over `threads` threads (0 = the hardware's; a pool
  /// made for this call, so concurrent batches never wait for each other), for batch jobs such
  /// as e-mail campaigns or precomputed lists. Response i answers request i and equals what
  /// recommend(requests[i]) would return at that moment. Every request is checked first: a bad
  /// one throws Error(invalid_argument) naming its index and field, and none is served.
  /// Throws Error(not_fitted) before the first retrain. Cost: the sum of the requests' costs,
  /// divided among the threads.
  std::vector<RecommendResponse> recommend_batch(const std::vector<RecommendRequest>& requests,
                                                 std::size_t threads = 0) const;
  /// Items similar to `item_id` for its product page (no shopper): neighbours, content and
  /// collaborative similarity through the ranker with the item as context; rules apply.
  RecommendResponse similar_items(const std::string& item_id, std::size_t k,
                                  const Rules& rules = {}) const;
  /// Items most often bought in the same basket (session, or user and day) as `item_id`, by lift-
  /// weighted co-purchase count; out-of-stock and removed items skipped.
  RecommendResponse frequently_bought_together(const std::string& item_id, std::size_t k) const;
  /// The k items trending now (see trending_scores), optionally within a category path prefix.
  RecommendResponse trending(std::size_t k, const std::vector<std::string>& category_prefix = {}) const;

  /// The users (not anonymous sessions) the serving model was trained on, in training order;
  /// erased users are left out, and with `pseudonymize` these are pseudonyms. For batch jobs
  /// that score every known user. Throws Error(not_fitted) before the first retrain or load.
  std::vector<std::string> model_users() const;

  /// The shopper's current ALS vector (folded in if needed), or nullopt if the shopper has no
  /// usable history. Throws Error(not_fitted) before the first retrain.
  std::optional<Vector> user_vector(const std::string& actor) const;

  // ---- experiments

  /// Routes recommend() through `experiments`: every request is assigned (deterministically by
  /// user or session), the merged variant config's "rules" object overrides the request's rules
  /// (keys exclude_seen, exclude_purchased, exclude_out_of_stock, one_per_family,
  /// max_per_category, diversity_lambda, min_price, max_price) and its "k" the request's k, and
  /// the response records the assignments. With a `tracker`, each response is recorded as an
  /// exposure and each ingested event is attributed. nullptr experiments turn this off.
  /// Throws Error(invalid_argument) naming the key for a config value of the wrong type (at
  /// request time).
  void set_experiments(std::shared_ptr<const ExperimentSet> experiments,
                       std::shared_ptr<OutcomeTracker> tracker = nullptr);

  // ---- persistence

  /// Writes the serving snapshot (catalog, every model, the ANN index) to `path` atomically (see
  /// model_file.hpp): a crash leaves the old file or the new one. Erased actors still in the
  /// snapshot are written as anonymous placeholders with zeroed rows. Throws Error(not_fitted)
  /// before the first retrain, Error(io_error) naming the path and operation on failure (the
  /// previous file is intact and the Recommender keeps serving).
  void save(const std::string& path) const;
  /// Restores a file written by save() into this Recommender, which must be fresh (no items,
  /// events or model): a host calls it at start-up, then open_event_log(). Serving options come
  /// from this Recommender's options. Throws Error(io_error), Error(corrupt_file) naming the
  /// section and offset, or Error(unsupported_version); nothing changes then.
  void load(const std::string& path);
  /// Opens (or creates) the durable event log at `path` and replays it: surviving events rebuild
  /// the profiles and the kept events (those up to the loaded model's trained_log_sequence count
  /// as trained on), tombstones newer than the model hide the erased actors' trained rows.
  /// From then on ingest() appends to the log before applying an event, and erase_user() appends
  /// a tombstone. Call once, before any ingest(). Returns what opening the log found (a torn
  /// tail is truncated and reported there). Throws like EventLog's constructor.
  LogRecovery open_event_log(const std::string& path, const EventLogOptions& options = {});

  // ---- privacy

  /// Forgets a user or session ("session:<key>" for anonymous ones): profile, vector and cached
  /// responses at once; their kept events are dropped so the next retrain excludes them, and a
  /// model saved afterwards holds neither the ID nor its factors. With an event log, a tombstone
  /// is appended and (compact_log_on_erase) the log is compacted before this returns, leaving no
  /// trace of the ID in it. Returns the number of kept events dropped.
  std::size_t erase_user(const std::string& actor);
  /// Compacts the event log: drops the events of erased shoppers and turns tombstones into
  /// digests (see compact_log_on_erase). Returns the records removed; 0 without a log.
  std::uint64_t compact_event_log();

  RecommenderStats stats() const;
  /// Reports serving calls, ingests, retrains, event-log failures and drift to `observer` from
  /// now on (see RecommenderObserver); nullptr turns it off. Costs two clock reads per call.
  void set_observer(std::shared_ptr<RecommenderObserver> observer);
  /// The drift monitor's report (current window against the window at the last retrain). Throws
  /// Error(invalid_argument) when monitor_drift is off.
  DriftReport drift_report() const;

 private:
  friend class RecommenderTestAccess;
  struct Shard;
  struct Profile;
  struct Core;

  void ingest_checked(const Event* events, std::size_t n);
  RecommendResponse recommend_unobserved(const RecommendRequest& request) const;
  RetrainReport retrain_unobserved();
  RecommendResponse serve(const RecommendRequest& request) const;
  void apply_event(const Event& event, const Catalog& catalog, std::uint64_t log_sequence,
                   bool to_profile = true);
  /// The ID a user or actor has inside this Recommender: its pseudonym when pseudonymization is
  /// on (a "session:" actor and an empty ID stay as they are), else itself.
  std::string inside_id(const std::string& id) const;

  RecommenderOptions options_;
  std::optional<Pseudonymizer> pseudonymizer_;
  std::unique_ptr<Core> core_;
};

}  // namespace tailor
