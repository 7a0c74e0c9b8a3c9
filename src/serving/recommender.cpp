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

namespace tailor {

// ---------------------------------------------------------------------------------------------
// Options

void RecommenderOptions::validate() const {
  matrix.validate();
  als.validate();
  ranker.validate();
  neighbors.validate();
  if (use_content) {
    content.validate();
    bridge.validate();
  }
  trending.validate();
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
}

// ---------------------------------------------------------------------------------------------
// State

using detail::KeptEvent;
using detail::ProfileEvent;
using detail::CacheEntry;

namespace {

bool counts_for_profile(const Event& e) { return !e.item.empty(); }

std::string request_actor(const std::string& user, const std::string& session) {
  if (!user.empty()) return user;
  return "session:" + session;
}

std::string cache_key_of(const std::string& actor, const RecommendRequest& r) {
  std::string key = actor;
  key += '\x1f';
  key += r.cache_key;
  key += '\x1f';
  key += std::to_string(r.k);
  key += '\x1f';
  if (r.context_item) key += *r.context_item;
  return key;
}

// Rows of `m` (users x items) as sparse rows of (item, value).
SparseMatrix weights_matrix(const std::vector<Interaction>& pairs, std::size_t users,
                            std::size_t items) {
  std::vector<Eigen::Triplet<float, std::int32_t>> t;
  t.reserve(pairs.size());
  for (const auto& p : pairs) {
    t.emplace_back(static_cast<std::int32_t>(p.user), static_cast<std::int32_t>(p.item), p.weight);
  }
  SparseMatrix m(static_cast<Eigen::Index>(users), static_cast<Eigen::Index>(items));
  m.setFromTriplets(t.begin(), t.end());
  m.makeCompressed();
  return m;
}

// Co-purchase lists: baskets are purchase events grouped by session (or by user and UTC day when
// the session is empty). score(i, j) = c_ij / sqrt(c_i c_j) * c_ij / (c_ij + 2): the cosine of the
// two items' basket sets, shrunk when few baskets share them. Baskets with more than `max_basket`
// distinct items (bulk orders) are skipped. Per item, co-counts accumulate in a dense array over
// the item's baskets, on `threads` threads.
ItemNeighbors bought_together(const std::vector<const Event*>& purchases, const Catalog& catalog,
                              std::size_t max_basket, std::size_t per_item, std::size_t threads) {
  std::unordered_map<std::string, std::uint32_t> basket_of;
  std::vector<std::vector<Index>> baskets;
  std::string key;
  for (const Event* e : purchases) {
    if (!e->session.empty()) {
      key = "s:" + e->session;
    } else {
      key = "u:" + e->actor() + ":" + std::to_string(e->timestamp / 86400000LL);
    }
    auto [it, inserted] = basket_of.try_emplace(key, static_cast<std::uint32_t>(baskets.size()));
    if (inserted) baskets.emplace_back();
    baskets[it->second].push_back(*catalog.index_of(e->item));
  }
  const std::size_t n = catalog.size();
  std::vector<std::uint32_t> single(n, 0);
  std::vector<std::vector<std::uint32_t>> item_baskets(n);
  for (std::size_t b = 0; b < baskets.size(); ++b) {
    auto& items = baskets[b];
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    if (items.size() > max_basket || items.size() < 2) {
      items.clear();
      continue;
    }
    for (Index i : items) {
      ++single[i];
      item_baskets[i].push_back(static_cast<std::uint32_t>(b));
    }
  }
  std::vector<std::vector<ItemNeighbor>> lists(n);
  detail::ThreadPool pool(threads);
  struct Scratch {
    std::vector<std::uint32_t> count;
    std::vector<Index> touched;
  };
  std::vector<Scratch> scratch(pool.size());
  pool.parallel_for(0, n, 64, [&](std::size_t lo, std::size_t hi, std::size_t worker) {
    Scratch& sc = scratch[worker];
    if (sc.count.size() != n) sc.count.assign(n, 0);
    for (std::size_t i = lo; i < hi; ++i) {
      sc.touched.clear();
      for (std::uint32_t b : item_baskets[i]) {
        for (Index j : baskets[b]) {
          if (j == i) continue;
          if (sc.count[j]++ == 0) sc.touched.push_back(j);
        }
      }
      auto& list = lists[i];
      list.reserve(sc.touched.size());
      for (Index j : sc.touched) {
        const double cij = sc.count[j];
        sc.count[j] = 0;
        const double s = cij / std::sqrt(double(single[i]) * double(single[j])) * cij / (cij + 2.0);
        list.push_back({j, static_cast<float>(s)});
      }
      auto better = [](const ItemNeighbor& a, const ItemNeighbor& b) {
        return a.similarity != b.similarity ? a.similarity > b.similarity : a.item < b.item;
      };
      if (list.size() > per_item) {
        std::nth_element(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(per_item),
                         list.end(), better);
        list.resize(per_item);
      }
      std::sort(list.begin(), list.end(), better);
    }
  });
  return ItemNeighbors::from_lists(lists);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Construction

Recommender::Recommender(RecommenderOptions options)
    : options_(std::move(options)), core_(std::make_unique<Core>()) {
  options_.validate();
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
// Publication

namespace {

// The ranker model over `parts` and `catalog` (arrays may be shorter than the catalog).
RankerModel ranker_model(const ModelParts& parts, const Catalog& catalog, const RowMatrix* content,
                         const RowMatrix* cold) {
  // The ANN index is shared by every snapshot of these parts and gains items as the catalog
  // grows; a search drops items this snapshot's catalog does not have yet.
  const std::size_t n_items = catalog.size();
  RankerModel m;
  m.catalog = &catalog;
  m.item_factors = &parts.als.item_factors();
  m.cold_item_factors = cold;
  m.content = content;
  m.neighbors = &parts.neighbors;
  m.interaction_counts = &parts.counts;
  m.popularity = &parts.popularity;
  m.trending = &parts.trending;
  // Each search takes the request's rules as its filter, so a request never has to widen past
  // what the index returns (AnnIndex picks a filtered graph walk or an exact scan of the allowed
  // items by the fraction the rules let through).
  auto search = [n_items](std::shared_ptr<AnnIndex> index) -> VectorSearch {
    return [index = std::move(index), n_items](Span<const float> q, std::size_t k,
                                               const ItemFilter& eligible) {
      if (eligible.catalog) {
        return index->search(q, k, AnnFilter::only(eligible.catalog).excluding(eligible.excluded));
      }
      if (eligible) return index->search(q, k, AnnFilter::where(eligible.allows));
      std::vector<ScoredItem> found = index->search(q, k);
      found.erase(std::remove_if(found.begin(), found.end(),
                                 [n_items](const ScoredItem& s) { return s.item >= n_items; }),
                  found.end());
      return found;
    };
  };
  m.factor_search = search(parts.ann);
  if (content != nullptr && parts.content_ann) m.content_search = search(parts.content_ann);
  return m;
}

}  // namespace


namespace {

// Appends content vectors (and their bridge images) for catalog items beyond the rows of `old`.
void extend_vectors(const ModelParts& parts, const Catalog& catalog,
                    std::shared_ptr<const RowMatrix>& content, std::shared_ptr<const RowMatrix>& cold) {
  if (!content || !parts.encoder.fitted()) return;
  const auto have = static_cast<std::size_t>(content->rows());
  if (catalog.size() <= have) return;
  const auto n = static_cast<Eigen::Index>(catalog.size());
  auto grown = std::make_shared<RowMatrix>(n, content->cols());
  grown->topRows(content->rows()) = *content;
  for (std::size_t i = have; i < catalog.size(); ++i) {
    grown->row(static_cast<Eigen::Index>(i)) =
        parts.encoder.encode(catalog.at(static_cast<Index>(i))).transpose();
  }
  if (cold && parts.bridge.fitted()) {
    auto grown_cold = std::make_shared<RowMatrix>(n, cold->cols());
    grown_cold->topRows(cold->rows()) = *cold;
    grown_cold->bottomRows(n - cold->rows()) =
        parts.bridge.map_all(RowMatrix(grown->bottomRows(n - cold->rows())));
    cold = std::move(grown_cold);
  }
  content = std::move(grown);
}

}  // namespace

std::shared_ptr<ModelSnapshot> detail::make_snapshot(const RecommenderOptions& options,
                                                    std::shared_ptr<const ModelParts> parts,
                                                    std::shared_ptr<const Catalog> catalog,
                                                    std::shared_ptr<const RowMatrix> content,
                                                    std::shared_ptr<const RowMatrix> cold,
                                                    std::uint64_t trained_through) {
  auto snap = std::make_shared<ModelSnapshot>();
  snap->trained_through = trained_through;
  snap->catalog = std::move(catalog);
  if (parts) {
    extend_vectors(*parts, *snap->catalog, content, cold);
    snap->ranker = std::make_unique<HybridRanker>(
        ranker_model(*parts, *snap->catalog, content.get(), cold.get()), options.ranker);
    // New items (beyond the factor rows) join the ANN index with their CF vectors (bridge images
    // blended as the ranker does), searched exactly from its side buffer until the next retrain.
    const RowMatrix* cf = snap->ranker->cf_item_vectors();
    if (cf != nullptr) {
      for (Eigen::Index i = parts->als.items(); i < cf->rows(); ++i) {
        const auto item = static_cast<Index>(i);
        if (!parts->ann->contains(item) && cf->row(i).squaredNorm() > 0.0f) {
          const Vector v = cf->row(i).transpose();
          parts->ann->upsert(item, v);
        }
      }
    }
    // Content rows of items added since the index was built (it holds every row below its
    // id_bound): only those are visited, not the whole catalog on every catalog change.
    if (content && parts->content_ann) {
      for (auto i = static_cast<Eigen::Index>(parts->content_ann->id_bound()); i < content->rows();
           ++i) {
        const Vector v = content->row(i).transpose();
        parts->content_ann->upsert(static_cast<Index>(i), v);
      }
    }
  }
  snap->parts = std::move(parts);
  snap->content = std::move(content);
  snap->cold_factors = std::move(cold);
  return snap;
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
  auto snap = detail::make_snapshot(options_, current->parts, published, current->content,
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

std::shared_ptr<const ModelSnapshot> Recommender::snapshot() const { return core_->load_snapshot(); }

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
  if (e.item.empty() && e.type != EventType::search) {
    fail("field 'item': empty (only search events may omit it)");
  }
  if (!weights.weight(e)) fail("field 'value': missing or not finite for this event type");
}

void Recommender::ingest(const Event& event) {
  detail::check_event(event, options_.matrix.weights, "Recommender::ingest", 0, false);
  ingest_checked(&event, 1);
}

void Recommender::ingest(const std::vector<Event>& events) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    detail::check_event(events[i], options_.matrix.weights, "Recommender::ingest", i, events.size() > 1);
  }
  ingest_checked(events.data(), events.size());
}

void Recommender::ingest_checked(const Event* events, std::size_t n) {
  if (n == 0) return;
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
  // Durable first (all or none), then visible. The gate keeps a retrain from collecting while
  // an event is in the log but not yet in memory.
  std::shared_lock<std::shared_mutex> gate(core_->ingest_gate);
  std::uint64_t log_seq = 0;
  if (core_->log) {
    log_seq = n == 1 ? core_->log->append(events[0])
                     : core_->log->append(std::vector<Event>(events, events + n));
    log_seq -= n - 1;  // the batch's first sequence number
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
}

void Recommender::apply_event(const Event& e, const Catalog& catalog, std::uint64_t log_seq) {
  const std::string actor = e.actor();
  Shard& shard = core_->shard_of(actor);
  const auto weight = static_cast<float>(*options_.matrix.weights.weight(e));
  auto kept = std::make_shared<const Event>(e);
  std::unique_lock<std::shared_mutex> lock(shard.mutex);
  const std::uint64_t seq = core_->next_seq.fetch_add(1, std::memory_order_relaxed);
  if (counts_for_profile(e)) {
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

// ---------------------------------------------------------------------------------------------
// Training

namespace {

// The guard's comparison (see RecommenderOptions::guard_holdout): users of the candidate with
// positively weighted held-out events; both models rank the candidate's item space, each user's
// history being their candidate training row (the serving model folds it in).
GuardDecision guard_candidate(const ModelParts& serving, const ModelParts& candidate,
                              const SparseMatrix& train, const std::vector<const Event*>& holdout,
                              const Catalog& catalog, const RecommenderOptions& options) {
  const auto n_items = static_cast<std::size_t>(candidate.als.items());
  std::vector<Eigen::Triplet<float, std::int32_t>> t;
  for (const Event* e : holdout) {
    if (e->item.empty()) continue;
    const auto user = candidate.users.find(e->actor());
    const auto item = catalog.index_of(e->item);
    const auto w = options.matrix.weights.weight(*e);
    if (!user || !item || !w || !(*w > 0.0) || *item >= n_items) continue;
    t.emplace_back(static_cast<std::int32_t>(*user), static_cast<std::int32_t>(*item), 1.0f);
  }
  SparseMatrix held(train.rows(), train.cols());
  held.setFromTriplets(t.begin(), t.end(), [](float, float b) { return b; });
  held.makeCompressed();
  const ALSScorer candidate_scorer(candidate.als);
  const FunctionScorer serving_scorer(n_items, [&](Index user, float* out, std::size_t n) {
    std::fill(out, out + n, std::numeric_limits<float>::lowest());
    std::vector<Index> items;
    std::vector<float> conf;
    const auto serving_items = static_cast<Index>(serving.als.items());
    for (SparseMatrix::InnerIterator it(candidate.weights, static_cast<Eigen::Index>(user)); it; ++it) {
      if (static_cast<Index>(it.col()) < serving_items && it.value() > options.matrix.min_weight) {
        items.push_back(static_cast<Index>(it.col()));
        conf.push_back(static_cast<float>(options.matrix.confidence(it.value())));
      }
    }
    if (items.empty()) return;
    const Vector x = serving.als.fold_in_user(items, conf);
    const auto m = static_cast<Eigen::Index>(std::min<std::size_t>(n, serving_items));
    Eigen::Map<Vector>(out, m) = serving.als.item_factors().topRows(m) * x;
  });
  return evaluate_candidate(serving_scorer, candidate_scorer, train, held, options.guard);
}

}  // namespace

RetrainReport Recommender::retrain() {
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
  InteractionMatrixBuilder builder(options_.matrix);
  for (const Event* e : events) builder.add(*e);
  const InteractionMatrix built = builder.build();
  TAILOR_REQUIRE(built.confidence().nonZeros() > 0,
                 "Recommender::retrain: none of the " << events.size()
                     << " kept events gives a positive user-item weight");
  std::vector<Interaction> pairs = built.interactions();
  for (auto& p : pairs) p.item = *catalog->index_of(built.items().id(p.item));
  const InteractionMatrix matrix =
      InteractionMatrix::from_interactions(pairs, built.users(), catalog->ids(), options_.matrix);

  phase("matrix");
  auto parts = std::make_shared<ModelParts>();
  parts->users = matrix.users();
  parts->weights = weights_matrix(matrix.interactions(), matrix.users().size(), catalog->size());
  parts->newest_event = 0;
  {
    std::vector<Eigen::Triplet<float, std::int32_t>> touched;
    for (const Event* e : events) {
      parts->newest_event = std::max(parts->newest_event, e->timestamp);
      if (e->item.empty()) continue;
      const Index u = parts->history_users.insert(e->actor());
      touched.emplace_back(static_cast<std::int32_t>(u),
                           static_cast<std::int32_t>(*catalog->index_of(e->item)), 1.0f);
    }
    parts->history.resize(static_cast<Eigen::Index>(parts->history_users.size()),
                          static_cast<Eigen::Index>(catalog->size()));
    parts->history.setFromTriplets(touched.begin(), touched.end(),
                                   [](float, float b) { return b; });
    parts->history.makeCompressed();
  }
  parts->als = ALSFactorizer(options_.als);
  parts->als.fit(matrix.confidence());
  phase("als");
  parts->counts = item_interaction_counts(matrix.confidence());
  parts->popularity.assign(parts->counts.begin(), parts->counts.end());
  {
    // Trending reads only the long window before `now`: copy just those events.
    const Timestamp now = options_.trending.now != 0 ? options_.trending.now : parts->newest_event;
    std::vector<Event> window;
    for (const Event* e : events) {
      if (e->timestamp > now - options_.trending.long_window && e->timestamp <= now) {
        window.push_back(*e);
      }
    }
    TrendingOptions trend = options_.trending;
    trend.now = now;
    parts->trending = trending_scores(window, catalog->ids(), trend);
  }
  parts->neighbors = build_item_neighbors(matrix.confidence(), options_.neighbors);
  phase("neighbors");
  std::vector<const Event*> purchases;
  for (const Event* e : events) {
    if (e->type == EventType::purchase && !e->item.empty()) purchases.push_back(e);
  }
  parts->bought_together = bought_together(purchases, *catalog, options_.basket_max_items,
                                           options_.bought_together_per_item, options_.als.threads);
  phase("bought_together");

  std::shared_ptr<const RowMatrix> content, cold;
  if (options_.use_content) {
    try {
      parts->encoder = ContentEncoder(options_.content);
      parts->encoder.fit(*catalog);
      content = std::make_shared<const RowMatrix>(parts->encoder.encode_all(*catalog));
      report.content = true;
    } catch (const Error&) {
      parts->encoder = ContentEncoder(options_.content);  // no usable text: no content signal
      content.reset();
    }
    if (content) {
      try {
        parts->bridge.fit(*content, parts->als.item_factors(), parts->counts, options_.bridge);
        cold = std::make_shared<const RowMatrix>(parts->bridge.map_all(*content));
        report.bridge = true;
      } catch (const Error&) {
        parts->bridge = ContentBridge();
      }
    }
  }
  phase("content");
  // The ANN index covers the CF vectors the ranker scores: ALS factors blended with the bridge
  // images for items with few interactions (the same formula as the ranker's).
  {
    const RowMatrix cf = cold ? blend_cold_item_factors(parts->als.item_factors(), *cold,
                                                        parts->counts,
                                                        options_.ranker.bridge_pseudo_count,
                                                        catalog->size())
                              : parts->als.item_factors();
    parts->ann = std::make_shared<AnnIndex>(cf, options_.ann);
    if (content) parts->content_ann = std::make_shared<AnnIndex>(content, options_.ann);
  }
  phase("ann");
  report.ann_backend = ann_backend_name(parts->ann->backend());
  report.events = events.size();
  report.users = matrix.users().size();
  report.items = catalog->size();
  report.interactions = static_cast<std::size_t>(matrix.confidence().nonZeros());

  if (!holdout.empty()) {
    report.guard = guard_candidate(*serving->parts, *parts, matrix.confidence(), holdout, *catalog,
                                   options_);
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
    auto snap = detail::make_snapshot(options_, std::move(parts), core_->load_catalog(), content,
                                      cold, cut);
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
  if (core_->drift) core_->drift->set_reference_from_current();
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
// Serving

namespace {

// The user's vector: the trained row when nothing happened since training, else a fold-in of
// the training row's weights plus the newer events' weights.
std::optional<Vector> compute_vector(const ModelSnapshot& snap, const RecommenderOptions& options,
                                     const std::string& actor, bool erased,
                                     const std::deque<ProfileEvent>& events,
                                     std::atomic<std::uint64_t>& fold_ins) {
  const ModelParts& parts = *snap.parts;
  const ALSFactorizer& als = parts.als;
  const auto n_model_items = static_cast<Index>(als.items());
  std::optional<Index> row;
  if (!erased) row = parts.users.find(actor);
  std::map<Index, double> w;
  if (row) {
    for (SparseMatrix::InnerIterator it(parts.weights, static_cast<Eigen::Index>(*row)); it; ++it) {
      w[static_cast<Index>(it.col())] += it.value();
    }
  }
  bool newer = false;
  for (const auto& e : events) {
    if (e.seq < snap.trained_through && !erased) continue;  // already in the training row
    if (e.item >= n_model_items || e.weight == 0.0f) continue;
    w[e.item] += e.weight;
    newer = true;
  }
  if (row && !newer) return Vector(als.user_factors().row(static_cast<Eigen::Index>(*row)).transpose());
  std::vector<Index> items;
  std::vector<float> conf;
  for (const auto& [item, weight] : w) {
    if (weight <= options.matrix.min_weight) continue;
    items.push_back(item);
    conf.push_back(static_cast<float>(options.matrix.confidence(weight)));
  }
  if (items.empty()) return std::nullopt;
  fold_ins.fetch_add(1, std::memory_order_relaxed);
  return als.fold_in_user(items, conf);
}

RecommendResponse to_response(const ModelSnapshot& snap, const RankResult& ranked) {
  RecommendResponse out;
  out.model_version = snap.version;
  out.items.reserve(ranked.items.size());
  for (const auto& r : ranked.items) {
    Recommendation rec;
    rec.item = snap.catalog->ids().id(r.item);
    rec.index = r.item;
    rec.score = r.score;
    rec.sources = r.sources;
    rec.reason = r.reason;
    out.items.push_back(std::move(rec));
  }
  return out;
}

void require_model(const ModelSnapshot& snap, const char* what) {
  if (!snap.parts) {
    TAILOR_THROW(not_fitted, "Recommender::" << what << ": no model yet (call retrain() first)");
  }
}

}  // namespace

std::optional<Vector> Recommender::user_vector(const std::string& actor) const {
  const auto snap = core_->load_snapshot();
  require_model(*snap, "user_vector");
  bool erased = false;
  {
    std::lock_guard<std::mutex> lock(core_->erased_mutex);
    erased = core_->erased.count(actor) != 0;
  }
  const Shard& shard = core_->shard_of(actor);
  std::deque<ProfileEvent> events;
  {
    std::shared_lock<std::shared_mutex> lock(shard.mutex);
    auto it = shard.profiles.find(actor);
    if (it != shard.profiles.end()) events = it->second.events;
  }
  return compute_vector(*snap, options_, actor, erased, events, core_->fold_ins);
}

namespace {

// Applies a variant config's "rules" and "k" to a request (see set_experiments).
void apply_variant(const nlohmann::json& config, RecommendRequest& r) {
  if (!config.is_object()) return;
  auto fail = [](const std::string& key, const char* want) {
    TAILOR_THROW(invalid_argument, "Recommender::recommend: variant config '" << key
                                       << "' must be " << want);
  };
  if (config.contains("k")) {
    const auto& k = config.at("k");
    if (!k.is_number_unsigned() || k.get<std::size_t>() == 0) fail("k", "a positive integer");
    r.k = k.get<std::size_t>();
  }
  if (!config.contains("rules")) return;
  const auto& rules = config.at("rules");
  if (!rules.is_object()) fail("rules", "an object");
  for (const auto& [key, value] : rules.items()) {
    const std::string name = "rules." + key;
    auto flag = [&](bool& out) {
      if (!value.is_boolean()) fail(name, "true or false");
      out = value.get<bool>();
    };
    if (key == "exclude_seen") {
      flag(r.rules.exclude_seen);
    } else if (key == "exclude_purchased") {
      flag(r.rules.exclude_purchased);
    } else if (key == "exclude_out_of_stock") {
      flag(r.rules.exclude_out_of_stock);
    } else if (key == "one_per_family") {
      flag(r.rules.one_per_family);
    } else if (key == "max_per_category") {
      if (!value.is_number_unsigned()) fail(name, "a non-negative integer");
      r.rules.max_per_category = value.get<std::size_t>();
    } else if (key == "diversity_lambda" || key == "min_price" || key == "max_price") {
      if (!value.is_number()) fail(name, "a number");
      if (key == "diversity_lambda") r.rules.diversity_lambda = value.get<float>();
      if (key == "min_price") r.rules.min_price = value.get<double>();
      if (key == "max_price") r.rules.max_price = value.get<double>();
    } else {
      fail(name, "one of exclude_seen, exclude_purchased, exclude_out_of_stock, one_per_family, "
                 "max_per_category, diversity_lambda, min_price, max_price");
    }
  }
}

}  // namespace

void Recommender::set_experiments(std::shared_ptr<const ExperimentSet> experiments,
                                  std::shared_ptr<OutcomeTracker> tracker) {
  std::atomic_store(&core_->tracker, std::move(tracker));
  std::atomic_store(&core_->experiments, std::move(experiments));
}

RecommendResponse Recommender::recommend(const RecommendRequest& request) const {
  const auto experiments = std::atomic_load(&core_->experiments);
  if (!experiments) return serve(request);
  ExperimentContext context;
  context.user = request.user;
  context.session = request.session;
  context.forced_variants = request.forced_variants;
  context.excluded = request.exclude_from_experiments;
  const Assignments assignments = experiments->assign(context);
  RecommendRequest varied = request;
  const nlohmann::json config = experiments->merged_config(assignments);
  apply_variant(config, varied);
  if (!varied.cache_key.empty()) {  // variants change results: part of the cache key
    for (const auto& a : assignments.experiments) varied.cache_key += '|' + a.experiment + '=' + a.variant;
  }
  RecommendResponse response = serve(varied);
  response.recommendation_id = make_recommendation_id();
  response.assignments = assignments.experiments;
  response.variant_config = config;
  if (const auto tracker = std::atomic_load(&core_->tracker)) {
    Exposure exposure;
    exposure.recommendation_id = response.recommendation_id;
    exposure.user = request.user;
    exposure.session = request.session;
    for (const auto& r : response.items) exposure.items.push_back(r.item);
    exposure.variants = response.assignments;
    exposure.timestamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    if (!exposure.items.empty()) tracker->record_exposure(exposure);
  }
  return response;
}

RecommendResponse Recommender::serve(const RecommendRequest& request) const {
  TAILOR_REQUIRE(request.k >= 1, "Recommender::recommend: k must be >= 1");
  TAILOR_REQUIRE(!request.user.empty() || !request.session.empty(),
                 "Recommender::recommend: request has neither user nor session");
  const auto snap = core_->load_snapshot();  // this request's one snapshot
  require_model(*snap, "recommend");
  const std::string actor = request_actor(request.user, request.session);
  Shard& shard = core_->shard_of(actor);
  const bool use_cache = options_.cache_entries > 0 && !request.cache_key.empty();

  // Profile (shared lock): events, and the cached vector when still valid.
  std::deque<ProfileEvent> events;
  std::uint64_t profile_version = 0;
  std::optional<Vector> vector;
  bool vector_valid = false;
  {
    std::shared_lock<std::shared_mutex> lock(shard.mutex);
    auto it = shard.profiles.find(actor);
    if (it != shard.profiles.end()) {
      const Profile& p = it->second;
      events = p.events;
      profile_version = p.version;
      if (p.vector_model == snap->version && p.vector_profile == p.version) {
        vector_valid = true;
        if (p.has_vector) vector = p.vector;
      }
    }
  }
  std::string key;
  if (use_cache) {
    key = cache_key_of(actor, request);
    std::lock_guard<std::mutex> lock(shard.cache_mutex);
    auto it = shard.cache.find(key);
    if (it != shard.cache.end() && it->second.model_version == snap->version &&
        it->second.profile_version == profile_version) {
      core_->cache_hits.fetch_add(1, std::memory_order_relaxed);
      RecommendResponse hit = it->second.response;
      hit.from_cache = true;
      return hit;
    }
    core_->cache_misses.fetch_add(1, std::memory_order_relaxed);
  }
  bool erased = false;
  {
    std::lock_guard<std::mutex> lock(core_->erased_mutex);
    erased = !core_->erased.empty() && core_->erased.count(actor) != 0;
  }
  if (!vector_valid) {
    vector = compute_vector(*snap, options_, actor, erased, events, core_->fold_ins);
    std::unique_lock<std::shared_mutex> lock(shard.mutex);
    auto it = shard.profiles.find(actor);
    if (it != shard.profiles.end() && it->second.version == profile_version) {
      it->second.vector_model = snap->version;
      it->second.vector_profile = profile_version;
      it->second.has_vector = vector.has_value();
      if (vector) it->second.vector = *vector;
    }
  }

  RankRequest rank;
  rank.k = request.k;
  rank.rules = request.rules;
  if (vector) rank.user_vector = Span<const float>(*vector);
  const auto n_items = static_cast<Index>(snap->catalog->size());
  for (const auto& e : events) {
    if (e.item >= n_items) continue;
    rank.recent.push_back({e.item, e.timestamp, e.type});
    if (e.type == EventType::purchase) rank.purchased_items.push_back(e.item);
  }
  if (!erased) {
    if (auto row = snap->parts->history_users.find(actor)) {
      for (SparseMatrix::InnerIterator it(snap->parts->history, static_cast<Eigen::Index>(*row)); it;
           ++it) {
        rank.seen_items.push_back(static_cast<Index>(it.col()));
      }
    }
  }
  if (request.context_item) {
    const auto idx = snap->catalog->index_of(*request.context_item);
    if (!idx) {
      TAILOR_THROW(unknown_id, "Recommender::recommend: context item '" << *request.context_item
                                   << "' is not in the catalog");
    }
    rank.context_item = *idx;
  }
  RecommendResponse response = to_response(*snap, snap->ranker->rank(rank));
  if (core_->drift && !response.items.empty()) {
    core_->drift->observe_score(response.items.front().score, core_->newest_event.load());
  }

  if (use_cache) {
    std::lock_guard<std::mutex> lock(shard.cache_mutex);
    if (shard.cache.size() >= options_.cache_entries && !shard.cache_order.empty()) {
      shard.cache.erase(shard.cache_order.front());
      shard.cache_order.pop_front();
    }
    if (shard.cache.insert_or_assign(key, CacheEntry{snap->version, profile_version, response}).second) {
      shard.cache_order.push_back(key);
    }
  }
  return response;
}

RecommendResponse Recommender::similar_items(const std::string& item_id, std::size_t k,
                                             const Rules& rules) const {
  TAILOR_REQUIRE(k >= 1, "Recommender::similar_items: k must be >= 1");
  const auto snap = core_->load_snapshot();
  require_model(*snap, "similar_items");
  const auto idx = snap->catalog->index_of(item_id);
  if (!idx) {
    TAILOR_THROW(unknown_id, "Recommender::similar_items: item '" << item_id << "' is not in the catalog");
  }
  RankRequest rank;
  rank.k = k;
  rank.rules = rules;
  rank.context_item = *idx;
  Vector item_vector;  // the item's own factors steer the collaborative candidates
  if (static_cast<Eigen::Index>(*idx) < snap->parts->als.items()) {
    item_vector = snap->parts->als.item_factors().row(static_cast<Eigen::Index>(*idx)).transpose();
    if (item_vector.squaredNorm() > 0.0f) rank.user_vector = Span<const float>(item_vector);
  }
  return to_response(*snap, snap->ranker->rank(rank));
}

RecommendResponse Recommender::frequently_bought_together(const std::string& item_id,
                                                          std::size_t k) const {
  TAILOR_REQUIRE(k >= 1, "Recommender::frequently_bought_together: k must be >= 1");
  const auto snap = core_->load_snapshot();
  require_model(*snap, "frequently_bought_together");
  const auto idx = snap->catalog->index_of(item_id);
  if (!idx) {
    TAILOR_THROW(unknown_id, "Recommender::frequently_bought_together: item '" << item_id
                                 << "' is not in the catalog");
  }
  RecommendResponse out;
  out.model_version = snap->version;
  const CatalogIndex& index = snap->ranker->catalog_index();
  for (const ItemNeighbor& n : snap->parts->bought_together.of(*idx)) {
    if (out.items.size() >= k) break;
    const CatalogItem& item = snap->catalog->at(n.item);
    if (!item.in_stock || index.never_recommend(n.item)) continue;
    Recommendation r;
    r.item = item.id;
    r.index = n.item;
    r.score = n.similarity;
    r.reason = "often bought with " + (snap->catalog->at(*idx).title.empty()
                                           ? item_id
                                           : snap->catalog->at(*idx).title);
    out.items.push_back(std::move(r));
  }
  return out;
}

RecommendResponse Recommender::trending(std::size_t k,
                                        const std::vector<std::string>& category_prefix) const {
  TAILOR_REQUIRE(k >= 1, "Recommender::trending: k must be >= 1");
  const auto snap = core_->load_snapshot();
  require_model(*snap, "trending");
  const auto& scores = snap->parts->trending;
  const CatalogIndex& index = snap->ranker->catalog_index();
  std::vector<ScoredItem> order;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!(scores[i] > 0.0f)) continue;
    const auto item = static_cast<Index>(i);
    const CatalogItem& c = snap->catalog->at(item);
    if (!c.in_stock || index.never_recommend(item)) continue;
    if (!category_prefix.empty() &&
        (c.category_path.size() < category_prefix.size() ||
         !std::equal(category_prefix.begin(), category_prefix.end(), c.category_path.begin()))) {
      continue;
    }
    order.push_back({item, scores[i]});
  }
  std::sort(order.begin(), order.end(), ranks_before);
  if (order.size() > k) order.resize(k);
  RecommendResponse out;
  out.model_version = snap->version;
  for (const auto& s : order) {
    Recommendation r;
    r.item = snap->catalog->ids().id(s.item);
    r.index = s.item;
    r.score = s.score;
    r.sources = source_bit(Source::trending);
    r.reason = "trending";
    out.items.push_back(std::move(r));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Privacy and monitoring

std::size_t Recommender::erase_user(const std::string& actor) {
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

bool Recommender::rollback() {
  std::lock_guard<std::mutex> publish_lock(core_->publish_mutex);
  const auto previous = core_->previous;
  if (!previous) return false;
  const auto current = core_->load_snapshot();
  auto snap = detail::make_snapshot(options_, previous->parts, core_->load_catalog(),
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

RecommenderStats Recommender::stats() const {
  RecommenderStats s;
  const auto snap = core_->load_snapshot();
  s.model_version = snap->version;
  s.events_ingested = core_->next_seq.load();
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
  s.cache_hits = core_->cache_hits.load();
  s.cache_misses = core_->cache_misses.load();
  s.retrains = core_->retrains.load();
  return s;
}

}  // namespace tailor
