// tailor: the Recommender's read path: user vectors, recommend (with experiments and the result
// cache), similar items, frequently bought together, trending.
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

using detail::CacheEntry;
using detail::KeptEvent;
using detail::ProfileEvent;
using detail::cache_key_of;
using detail::request_actor;

// ---------------------------------------------------------------------------------------------
// Serving

namespace {

// The user's vector: the trained row when nothing happened since training, else a fold-in of
// the training row's weights plus the newer events' weights.
std::optional<Vector> compute_vector(const ModelSnapshot& snap, const RecommenderOptions& options,
                                     const std::string& actor, bool erased,
                                     const std::deque<ProfileEvent>& events,
                                     std::atomic<std::uint64_t>& fold_ins,
                                     std::atomic<std::uint64_t>& fold_in_failures) {
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
  try {
    return als.fold_in_user(items, conf);
  } catch (const Error& e) {
    // Normal equations that float arithmetic cannot solve (a degenerate model): the request is
    // still answered, from the trained row or as a shopper without a vector, and counted.
    if (e.code() != ErrorCode::numerical_error) throw;
    fold_in_failures.fetch_add(1, std::memory_order_relaxed);
    if (row) return Vector(als.user_factors().row(static_cast<Eigen::Index>(*row)).transpose());
    return std::nullopt;
  }
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
    rec.reason_kind = r.reason_kind;
    if (r.reason_item != kNoItem) rec.reason_item = snap.catalog->ids().id(r.reason_item);
    rec.reason_category = r.reason_category;
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

std::optional<Vector> Recommender::user_vector(const std::string& id) const {
  const std::string actor = inside_id(id);
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
  return compute_vector(*snap, options_, actor, erased, events, core_->fold_ins, core_->fold_in_failures);
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
  for (const auto& entry : rules.items()) {
    const std::string& key = entry.key();
    const nlohmann::json& value = entry.value();  // (a lambda cannot capture a binding in C++17)
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
  return detail::observed(core_->load_observer(), Operation::recommend,
                          [&] { return recommend_unobserved(request); });
}

RecommendResponse Recommender::recommend_unobserved(const RecommendRequest& request) const {
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
    exposure.user = inside_id(request.user);  // as its events reach the tracker
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

namespace {

// What recommend() checks before serving; `where` names the call and the request.
void check_request(const RecommendRequest& request, const std::string& where) {
  TAILOR_REQUIRE(request.k >= 1, where << ": field 'k': must be >= 1");
  TAILOR_REQUIRE(!request.user.empty() || !request.session.empty(),
                 where << ": request has neither user nor session");
  detail::check_actor_ids(request.user, request.session, [&](const std::string& what) {
    TAILOR_THROW(invalid_argument, where << ": " << what);
  });
}

}  // namespace

std::vector<RecommendResponse> Recommender::recommend_batch(
    const std::vector<RecommendRequest>& requests, std::size_t threads) const {
  for (std::size_t i = 0; i < requests.size(); ++i) {
    check_request(requests[i], "Recommender::recommend_batch: request " + std::to_string(i));
  }
  require_model(*core_->load_snapshot(), "recommend_batch");
  std::vector<RecommendResponse> out(requests.size());
  if (requests.empty()) return out;
  const std::size_t wanted = threads == 0 ? detail::ThreadPool::hardware_threads() : threads;
  detail::ThreadPool pool(std::min(wanted, requests.size()));
  pool.parallel_for(0, requests.size(), 8, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) out[i] = recommend(requests[i]);
  });
  return out;
}

RecommendResponse Recommender::serve(const RecommendRequest& request) const {
  check_request(request, "Recommender::recommend");
  const auto snap = core_->load_snapshot();  // this request's one snapshot
  require_model(*snap, "recommend");
  const std::string actor = request_actor(inside_id(request.user), request.session);
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
    vector = compute_vector(*snap, options_, actor, erased, events, core_->fold_ins, core_->fold_in_failures);
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
  return detail::observed(core_->load_observer(), Operation::similar_items, [&] {
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
    rank.item_to_item = true;
    Vector item_vector;  // the item's own factors steer the collaborative candidates
    if (static_cast<Eigen::Index>(*idx) < snap->parts->als.items()) {
      item_vector = snap->parts->als.item_factors().row(static_cast<Eigen::Index>(*idx)).transpose();
      if (item_vector.squaredNorm() > 0.0f) rank.user_vector = Span<const float>(item_vector);
    }
    return to_response(*snap, snap->ranker->rank(rank));
  });
}

RecommendResponse Recommender::frequently_bought_together(const std::string& item_id,
                                                          std::size_t k) const {
  return detail::observed(core_->load_observer(), Operation::bought_together, [&] {
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
      r.reason_kind = ReasonKind::bought_together;
      r.reason_item = item_id;
      r.reason = "often bought with " + (snap->catalog->at(*idx).title.empty()
                                             ? item_id
                                             : snap->catalog->at(*idx).title);
      out.items.push_back(std::move(r));
    }
    return out;
  });
}

RecommendResponse Recommender::trending(std::size_t k,
                                        const std::vector<std::string>& category_prefix) const {
  return detail::observed(core_->load_observer(), Operation::trending, [&] {
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
      r.reason_kind = ReasonKind::trending;
      r.reason = "trending";
      out.items.push_back(std::move(r));
    }
    return out;
  });
}

}  // namespace tailor
