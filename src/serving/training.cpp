// tailor: the training pipeline of a Recommender snapshot (see training.hpp).
#include "serving/training.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

#include "tailor/core/error.hpp"
#include "internal/random.hpp"
#include "internal/thread_pool.hpp"

namespace tailor {
namespace {

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

// Shoppers per item, each weighted 0.5^(age / half_life) by their newest event with the item
// (age in days before `newest`): popularity that follows what sells now. Searches and returns
// do not count.
std::vector<float> recent_popularity(const std::vector<const Event*>& events,
                                     const Catalog& catalog, Timestamp newest,
                                     double half_life_days) {
  struct Touch {
    std::uint32_t item;
    std::uint32_t user;
    Timestamp time;
  };
  IdMap users;
  std::vector<Touch> touches;
  touches.reserve(events.size());
  for (const Event* e : events) {
    if (e->item.empty() || e->type == EventType::search || e->type == EventType::return_) continue;
    touches.push_back({static_cast<std::uint32_t>(*catalog.index_of(e->item)),
                       static_cast<std::uint32_t>(users.insert(e->actor())), e->timestamp});
  }
  std::sort(touches.begin(), touches.end(), [](const Touch& a, const Touch& b) {
    if (a.item != b.item) return a.item < b.item;
    if (a.user != b.user) return a.user < b.user;
    return a.time > b.time;
  });
  std::vector<double> sum(catalog.size(), 0.0);
  for (std::size_t t = 0; t < touches.size(); ++t) {
    if (t > 0 && touches[t].item == touches[t - 1].item && touches[t].user == touches[t - 1].user) {
      continue;  // an older touch of the same pair
    }
    const double age_days = static_cast<double>(newest - touches[t].time) / 86400000.0;
    sum[touches[t].item] += std::exp2(-std::max(0.0, age_days) / half_life_days);
  }
  return std::vector<float>(sum.begin(), sum.end());
}

}  // namespace

TrainedModels train_models(const std::vector<const Event*>& events, const Catalog& catalog,
                           const RecommenderOptions& options,
                           const std::function<void(const char*)>& phase, RetrainReport& report) {
  Timestamp newest = 0;
  for (const Event* e : events) newest = std::max(newest, e->timestamp);
  // Time decay without a fixed reference ages every event from the newest one of this retrain;
  // events ingested later weigh as of age 0 (EventWeights::decay without a reference is 1).
  InteractionMatrixOptions matrix_options = options.matrix;
  if (matrix_options.weights.half_life_days > 0.0 && !matrix_options.weights.reference_time) {
    matrix_options.weights.reference_time = newest;
  }
  InteractionMatrixBuilder builder(matrix_options);
  for (const Event* e : events) builder.add(*e);
  const InteractionMatrix built = builder.build();
  TAILOR_REQUIRE(built.confidence().nonZeros() > 0,
                 "Recommender::retrain: none of the " << events.size()
                     << " kept events gives a positive user-item weight");
  std::vector<Interaction> pairs = built.interactions();
  for (auto& p : pairs) p.item = *catalog.index_of(built.items().id(p.item));
  const InteractionMatrix matrix =
      InteractionMatrix::from_interactions(pairs, built.users(), catalog.ids(), matrix_options);

  phase("matrix");
  TrainedModels out;
  out.parts = std::make_shared<ModelParts>();
  ModelParts* parts = out.parts.get();
  parts->users = matrix.users();
  parts->weights = weights_matrix(matrix.interactions(), matrix.users().size(), catalog.size());
  parts->newest_event = newest;
  {
    std::vector<Eigen::Triplet<float, std::int32_t>> touched;
    for (const Event* e : events) {
      if (e->item.empty()) continue;
      const Index u = parts->history_users.insert(e->actor());
      touched.emplace_back(static_cast<std::int32_t>(u),
                           static_cast<std::int32_t>(*catalog.index_of(e->item)), 1.0f);
    }
    parts->history.resize(static_cast<Eigen::Index>(parts->history_users.size()),
                          static_cast<Eigen::Index>(catalog.size()));
    parts->history.setFromTriplets(touched.begin(), touched.end(),
                                   [](float, float b) { return b; });
    parts->history.makeCompressed();
  }
  parts->als = ALSFactorizer(options.als);
  parts->als.fit(matrix.confidence());
  phase("als");
  parts->counts = item_interaction_counts(matrix.confidence());
  parts->popularity = options.popularity_half_life_days > 0.0
                         ? recent_popularity(events, catalog, newest, options.popularity_half_life_days)
                         : std::vector<float>(parts->counts.begin(), parts->counts.end());
  {
    // Trending reads only the long window before `now`: copy just those events.
    const Timestamp now = options.trending.now != 0 ? options.trending.now : parts->newest_event;
    std::vector<Event> window;
    for (const Event* e : events) {
      if (e->timestamp > now - options.trending.long_window && e->timestamp <= now) {
        window.push_back(*e);
      }
    }
    TrendingOptions trend = options.trending;
    trend.now = now;
    parts->trending = trending_scores(window, catalog.ids(), trend);
  }
  parts->neighbors = build_item_neighbors(matrix.confidence(), options.neighbors);
  phase("neighbors");
  if (options.ease.enabled && catalog.size() <= options.ease.max_items) {
    parts->ease = EaseModel::fit(matrix.confidence(), options.ease);
    report.ease = true;
  }
  phase("ease");
  std::vector<const Event*> purchases;
  for (const Event* e : events) {
    if (e->type == EventType::purchase && !e->item.empty()) purchases.push_back(e);
  }
  parts->bought_together = bought_together(purchases, catalog, options.basket_max_items,
                                           options.bought_together_per_item, options.als.threads);
  phase("bought_together");

  std::shared_ptr<const RowMatrix>& content = out.content;
  std::shared_ptr<const RowMatrix>& cold = out.cold;
  if (options.use_content) {
    try {
      parts->encoder = ContentEncoder(options.content);
      parts->encoder.fit(catalog);
      content = std::make_shared<const RowMatrix>(parts->encoder.encode_all(catalog));
      report.content = true;
    } catch (const Error&) {
      parts->encoder = ContentEncoder(options.content);  // no usable text: no content signal
      content.reset();
    }
    if (content) {
      try {
        parts->bridge.fit(*content, parts->als.item_factors(), parts->counts, options.bridge);
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
                                                        options.ranker.bridge_pseudo_count,
                                                        catalog.size())
                              : parts->als.item_factors();
    parts->ann = std::make_shared<AnnIndex>(cf, options.ann);
    if (content) parts->content_ann = std::make_shared<AnnIndex>(content, options.ann);
  }
  phase("ann");
  report.ann_backend = ann_backend_name(parts->ann->backend());
  report.events = events.size();
  report.users = matrix.users().size();
  report.items = catalog.size();
  report.interactions = static_cast<std::size_t>(matrix.confidence().nonZeros());
  out.confidence = matrix.confidence();
  return out;
}

std::optional<HybridRankerOptions> learn_blend_on_validation(
    const std::vector<const Event*>& events, const std::shared_ptr<const Catalog>& catalog,
    const RecommenderOptions& options, RetrainReport& report) {
  const BlendLearningOptions& bo = options.blend;
  Timestamp newest = 0;
  for (const Event* e : events) newest = std::max(newest, e->timestamp);
  const auto span = static_cast<Timestamp>(bo.validation_days * 86400000.0);
  const Timestamp split = newest - span;
  std::vector<const Event*> before;
  std::vector<const Event*> after;
  for (const Event* e : events) (e->timestamp <= split ? before : after).push_back(e);
  if (before.empty() || after.empty()) {
    report.blend_note = "no kept event " + std::string(before.empty() ? "before" : "in") +
                        " the validation period (the newest " +
                        std::to_string(bo.validation_days) + " days)";
    return std::nullopt;
  }
  RetrainReport inner;
  TrainedModels trained;
  try {
    trained = train_models(before, *catalog, options, [](const char*) {}, inner);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::invalid_argument) throw;
    report.blend_note = std::string("the events before the validation period train no model: ") + e.what();
    return std::nullopt;
  }
  const ModelParts& parts = *trained.parts;
  const auto snap = make_snapshot(options, trained.parts, catalog, trained.content, trained.cold, 0);

  // Returning shoppers: known to the model, with a positively weighted event in the period on an
  // item they had not had before it.
  std::unordered_map<Index, std::vector<Index>> relevant;
  for (const Event* e : after) {
    if (e->item.empty()) continue;
    const auto user = parts.users.find(e->actor());
    const auto w = options.matrix.weights.weight(*e);
    if (!user || !w || !(*w > 0.0)) continue;
    const Index item = *catalog->index_of(e->item);
    const auto h = parts.history_users.find(e->actor());
    if (h && parts.history.coeff(static_cast<Eigen::Index>(*h), static_cast<Eigen::Index>(item)) != 0.0f) {
      continue;
    }
    relevant[*user].push_back(item);
  }
  std::vector<Index> users;
  for (auto& [u, items] : relevant) {
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    users.push_back(u);
  }
  std::sort(users.begin(), users.end(), [](Index a, Index b) {
    const auto ha = detail::mix64(a), hb = detail::mix64(b);
    return ha != hb ? ha < hb : a < b;
  });
  if (users.size() < bo.min_users) {
    report.blend_note = std::to_string(users.size()) +
                        " shoppers known before the validation period came back in it with a new "
                        "item, fewer than blend.min_users = " + std::to_string(bo.min_users);
    return std::nullopt;
  }
  if (users.size() > bo.max_users) users.resize(bo.max_users);

  // Each case is the request serving would build from the shopper's events before the period.
  std::unordered_map<std::string, Index> case_of;
  for (std::size_t c = 0; c < users.size(); ++c) case_of.emplace(parts.users.id(users[c]), static_cast<Index>(c));
  std::vector<std::vector<const Event*>> recent(users.size());
  for (const Event* e : before) {
    if (e->item.empty()) continue;
    const auto it = case_of.find(e->actor());
    if (it != case_of.end()) recent[it->second].push_back(e);
  }
  std::vector<Vector> vectors(users.size());
  std::vector<BlendValidationCase> cases(users.size());
  for (std::size_t c = 0; c < users.size(); ++c) {
    const Index u = users[c];
    vectors[c] = parts.als.user_factors().row(static_cast<Eigen::Index>(u)).transpose();
    RankRequest& r = cases[c].request;
    r.k = bo.k;
    r.user_vector = Span<const float>(vectors[c]);
    auto& mine = recent[c];  // in kept (arrival) order: the newest profile_events, as a profile
    const std::size_t from = mine.size() > options.profile_events ? mine.size() - options.profile_events : 0;
    for (std::size_t i = from; i < mine.size(); ++i) {
      const Index item = *catalog->index_of(mine[i]->item);
      r.recent.push_back({item, mine[i]->timestamp, mine[i]->type});
      if (mine[i]->type == EventType::purchase) r.purchased_items.push_back(item);
    }
    if (const auto h = parts.history_users.find(parts.users.id(u))) {
      for (SparseMatrix::InnerIterator it(parts.history, static_cast<Eigen::Index>(*h)); it; ++it) {
        r.seen_items.push_back(static_cast<Index>(it.col()));
      }
    }
    cases[c].relevant = std::move(relevant[u]);
  }
  BlendSearchOptions search;
  search.k = bo.k;
  search.passes = bo.passes;
  search.threads = options.als.threads;
  report.blend = learn_blend(snap->ranker->model(), cases, options.ranker, search);
  report.blend_cases = cases.size();
  return report.blend->options;
}

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

}  // namespace tailor
