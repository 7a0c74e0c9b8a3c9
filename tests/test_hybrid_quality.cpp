// Offline quality of HybridRanker on real data.
//
//   - New items: Online Retail products first sold after a cutoff, and MovieLens latest-small
//     movies (with genres and tags) held out of training entirely. For each user who went on to
//     buy / rate new items, the new items are ranked (an allow list: the "new arrivals" shelf) and
//     recall@20 is measured for the hybrid (content similarity + the ContentBridge bridge),
//     for popularity (every new item has popularity 0: its recall is the expectation over the order
//     of the ties, 20 / #new items) and for a seeded random ranking. Collaborative filtering alone
//     cannot rank them at all (zero factors). The recall of the new items when the hybrid ranks
//     the whole catalog is reported too.
//   - Warm users on the Online Retail temporal split (2011-11-01, as the demo): nDCG@10 of the
//     hybrid against ALS alone on purchases of known items new to the shopper.
// Every blend parameter (learn_blend) and the bridge's ridge are chosen on a validation split cut
// from the training period (or training movies) only; the test data is used once, at the end.
// Seeds: 42 for ALS, the random ranking and the held-out movie draw.
#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "catch.hpp"
#include "tailor/models/als.hpp"
#include "tailor/models/scorers.hpp"
#include "tailor/models/content_encoder.hpp"
#include "tailor/io/datasets.hpp"
#include "tailor/ranking/hybrid_ranker.hpp"
#include "tailor/data/interaction_matrix.hpp"
#include "tailor/evaluation/metrics.hpp"
#include "tailor/ranking/blend_learning.hpp"
#include "tailor/models/content_bridge.hpp"
#include "tailor/models/trending.hpp"
#include "results.hpp"
#include "test_data.hpp"

using tailor::Event;
using tailor::EventType;
using tailor::HybridRanker;
using tailor::HybridRankerOptions;
using tailor::Index;
using tailor::RankRequest;
using tailor::RowMatrix;
using tailor::Timestamp;

namespace {

constexpr std::uint64_t kSeed = 42;
constexpr std::size_t kNewK = 20;
constexpr Timestamp kEnd = std::numeric_limits<Timestamp>::max();

// Every model the ranker reads, trained on one set of events, in the catalog's index space.
struct Pipeline {
  const tailor::Catalog* catalog = nullptr;
  tailor::InteractionMatrix train;  // users x catalog items
  tailor::ALSFactorizer als;
  const RowMatrix* content = nullptr;
  RowMatrix cold;
  tailor::ItemNeighbors neighbors;
  std::vector<std::uint32_t> counts;
  std::vector<float> popularity, trending;

  Pipeline(const tailor::Catalog& cat, const std::vector<Event>& events,
           const RowMatrix* content_vectors, const tailor::InteractionMatrixOptions& matrix_options,
           const tailor::ALSOptions& als_options, Timestamp now)
      : catalog(&cat), als(als_options), content(content_vectors) {
    const tailor::InteractionMatrix built =
        tailor::build_interaction_matrix(events, matrix_options);
    // Re-index the items by the catalog so that every array shares one index space.
    std::vector<tailor::Interaction> pairs = built.interactions();
    for (auto& p : pairs) p.item = cat.ids().at(built.items().id(p.item));
    train = tailor::InteractionMatrix::from_interactions(pairs, built.users(), cat.ids(),
                                                         matrix_options);
    als.fit(train.confidence());
    counts = tailor::item_interaction_counts(train.confidence());
    popularity.assign(counts.begin(), counts.end());
    tailor::TrendingOptions to;
    to.now = now;
    trending = tailor::trending_scores(events, cat.ids(), to);
    tailor::ItemKnnOptions ko;
    ko.neighbors = 50;
    ko.threads = 2;
    neighbors = tailor::build_item_neighbors(train.confidence(), ko);
    fit_bridge(1.0);
  }

  void fit_bridge(double ridge) {
    tailor::ContentBridge bridge;
    tailor::ContentBridgeOptions bo;
    bo.ridge = ridge;
    bridge.fit(*content, als.item_factors(), counts, bo);
    cold = bridge.map_all(*content);
  }

  tailor::RankerModel model() const {
    tailor::RankerModel m;
    m.catalog = catalog;
    m.item_factors = &als.item_factors();
    m.cold_item_factors = &cold;
    m.content = content;
    m.neighbors = &neighbors;
    m.interaction_counts = &counts;
    m.popularity = &popularity;
    m.trending = &trending;
    return m;
  }
};

// One evaluated user: a request built from the training history, and the relevant items.
struct UserCase {
  Index user = 0;  // row of the training matrix
  std::vector<Index> relevant;
  RankRequest request;
};

using Relevant = std::vector<std::pair<Index, std::vector<Index>>>;  // (user row, items)

// Requests for `users`: the user's ALS vector, the training items as recent events of `type`
// (at their latest time; all excluded as seen). `vectors` keeps the user vectors alive.
std::vector<UserCase> make_cases(const Pipeline& p, const Relevant& users,
                                 std::vector<tailor::Vector>& vectors, EventType type) {
  vectors.clear();
  vectors.reserve(users.size());  // never reallocated: the requests point into it
  std::vector<UserCase> cases;
  const tailor::SparseMatrix& m = p.train.confidence();
  for (const auto& [u, relevant] : users) {
    UserCase c;
    c.user = u;
    c.relevant = relevant;
    vectors.push_back(p.als.user_factors().row(u).transpose());
    c.request.user_vector = vectors.back();
    for (auto k = m.outerIndexPtr()[u]; k < m.outerIndexPtr()[u + 1]; ++k) {
      c.request.recent.push_back({static_cast<Index>(m.innerIndexPtr()[k]),
                                  p.train.last_times()[static_cast<std::size_t>(k)], type});
    }
    c.request.history_size = c.request.recent.size();
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<Index> ranked_items(const tailor::RankResult& r) {
  std::vector<Index> out;
  for (const auto& it : r.items) out.push_back(it.item);
  return out;
}

double mean(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// Expected recall@k of ranking `candidates` by `scores` when ties are ordered at random: a
// relevant item in the tie group that straddles rank k is in the top k with probability
// (slots left) / (group size).
double expected_recall(const std::vector<float>& scores, const std::vector<Index>& candidates,
                       const std::vector<Index>& relevant, std::size_t k) {
  std::vector<Index> order = candidates;
  std::sort(order.begin(), order.end(), [&](Index a, Index b) { return scores[a] > scores[b]; });
  const std::set<Index> rel(relevant.begin(), relevant.end());
  double hits = 0.0;
  std::size_t pos = 0;
  while (pos < order.size() && pos < k) {
    std::size_t end = pos;
    std::size_t rel_in_group = 0;
    while (end < order.size() && scores[order[end]] == scores[order[pos]]) {
      rel_in_group += rel.count(order[end]);
      ++end;
    }
    const std::size_t group = end - pos, slots = std::min(k - pos, group);
    hits +=
        static_cast<double>(rel_in_group) * static_cast<double>(slots) / static_cast<double>(group);
    pos = end;
  }
  return hits / static_cast<double>(rel.size());
}

// The first k of `candidates` in the order of `scores` (ties by lower index).
std::vector<Index> top_among(const std::vector<float>& scores, const std::vector<Index>& candidates,
                             std::size_t k) {
  std::vector<tailor::ScoredItem> s;
  for (Index i : candidates) s.push_back({i, scores[i]});
  std::sort(s.begin(), s.end(), tailor::ranks_before);
  if (s.size() > k) s.resize(k);
  return tailor::items_of(s);
}

struct NewItemFigures {
  double hybrid = 0.0, popularity = 0.0, random = 0.0, hybrid_whole_catalog = 0.0;
  std::size_t users = 0, new_items = 0;
};

// recall@k of the new items, ranked as a shelf by the hybrid, popularity and at random, and by
// the hybrid over the whole catalog.
NewItemFigures evaluate_new_items(const Pipeline& p, const HybridRanker& ranker,
                                  std::vector<UserCase>& cases, const std::vector<Index>& new_items,
                                  std::size_t k) {
  NewItemFigures f;
  f.users = cases.size();
  f.new_items = new_items.size();
  tailor::RandomScorer random(kSeed);
  random.fit(p.train.confidence());
  std::vector<double> hybrid, pop, rnd, whole;
  for (auto& c : cases) {
    c.request.k = k;
    c.request.rules.allow = new_items;
    hybrid.push_back(tailor::recall_at_k(ranked_items(ranker.rank(c.request)), c.relevant, k));
    c.request.rules.allow.clear();
    whole.push_back(tailor::recall_at_k(ranked_items(ranker.rank(c.request)), c.relevant, k));
    pop.push_back(expected_recall(p.popularity, new_items, c.relevant, k));
    rnd.push_back(
        tailor::recall_at_k(top_among(random.score(c.user), new_items, k), c.relevant, k));
  }
  f.hybrid = mean(hybrid);
  f.popularity = mean(pop);
  f.random = mean(rnd);
  f.hybrid_whole_catalog = mean(whole);
  return f;
}

// At most `limit` cases, evenly spread (deterministic).
std::vector<tailor::BlendValidationCase> validation_cases(const std::vector<UserCase>& cases,
                                                          std::size_t limit) {
  std::vector<tailor::BlendValidationCase> v;
  const std::size_t step = std::max<std::size_t>(1, (cases.size() + limit - 1) / limit);
  for (std::size_t j = 0; j < cases.size(); j += step) {
    v.push_back({cases[j].request, cases[j].relevant});
  }
  return v;
}

double mean_ndcg(const tailor::RankerModel& model, const HybridRankerOptions& options,
                 const std::vector<tailor::BlendValidationCase>& cases, std::size_t k) {
  const HybridRanker ranker(model, options);
  std::vector<double> v;
  for (auto c : cases) {
    c.request.k = k;
    v.push_back(tailor::ndcg_at_k(ranked_items(ranker.rank(c.request)), c.relevant, k));
  }
  return mean(v);
}

struct Tuned {
  double ridge = 1.0;
  tailor::BlendSearchResult blend;
};

// Chooses the bridge ridge, then the blend, by nDCG@k on validation cases (at most 200).
Tuned tune(Pipeline& p, const std::vector<UserCase>& cases, std::size_t k) {
  const auto v = validation_cases(cases, 200);
  Tuned t;
  double best = -1.0;
  for (double ridge : {1.0, 3.0, 10.0, 30.0}) {
    p.fit_bridge(ridge);
    const double ndcg = mean_ndcg(p.model(), HybridRankerOptions{}, v, k);
    if (ndcg > best) {
      best = ndcg;
      t.ridge = ridge;
    }
  }
  p.fit_bridge(t.ridge);
  tailor::BlendSearchOptions so;
  so.k = k;
  so.passes = 1;
  so.threads = 2;
  so.user_half_grid = {0.0f, 1.0f, 3.0f, 10.0f, 30.0f};
  so.item_half_grid = {0.0f, 1.0f, 3.0f, 10.0f, 30.0f};
  so.bridge_grid = {1.0f, 3.0f, 10.0f, 30.0f};
  so.knn_grid = {0.0f, 0.5f, 1.0f, 2.0f};
  so.content_grid = {0.0f, 0.5f, 1.0f, 2.0f};
  so.popular_grid = {0.0f, 0.25f, 0.5f, 1.0f};
  so.trending_grid = {0.0f, 0.25f, 0.5f};
  t.blend = tailor::learn_blend(p.model(), v, HybridRankerOptions{}, so);
  return t;
}

std::string describe(const Tuned& t) {
  const HybridRankerOptions& o = t.blend.options;
  std::ostringstream os;
  os << "validation nDCG " << t.blend.start_ndcg << " -> " << t.blend.ndcg << "; bridge ridge "
     << t.ridge << ", h_u " << o.user_half << ", h_i " << o.item_half << ", m_b "
     << o.bridge_pseudo_count << ", knn " << o.weight_knn << ", content " << o.weight_content
     << ", popular " << o.weight_popular << ", trending " << o.weight_trending;
  return os.str();
}

// The figures of a new-item study as JSON fields for record_result.
nlohmann::json new_item_fields(const std::string& dataset, const NewItemFigures& f, const Tuned& t) {
  return {{"dataset", dataset},
          {"new_items", f.new_items},
          {"users", f.users},
          {"k", kNewK},
          {"recall20_hybrid", f.hybrid},
          {"recall20_popularity", f.popularity},
          {"recall20_random", f.random},
          {"recall20_hybrid_whole_catalog", f.hybrid_whole_catalog},
          {"validation_ndcg_start", t.blend.start_ndcg},
          {"validation_ndcg_tuned", t.blend.ndcg},
          {"bridge_ridge", t.ridge}};
}

// ---- Online Retail
// --------------------------------------------------------------------------------

constexpr Timestamp kRetailCutoff = 1320105600000;      // 2011-11-01 (as the demo)
constexpr Timestamp kRetailValidation = 1317427200000;  // 2011-10-01: validation = October
// New items: only 51 products are first sold after 2011-11-01, so a random ranking of them
// already reaches recall@20 ~ 0.38 and 3x is out of reach; the new-item test cuts at 2011-09-01
// (296 products first sold from September to December) and validates on July-August.
constexpr Timestamp kRetailNewItemCutoff = 1314835200000;      // 2011-09-01
constexpr Timestamp kRetailNewItemValidation = 1309478400000;  // 2011-07-01

struct Retail {
  tailor::Dataset data;
  RowMatrix content;
  tailor::InteractionMatrixOptions matrix_options;
  tailor::ALSOptions als_options;

  Retail() {
    tailor::DatasetOptions lo;
    lo.policy = tailor::ErrorPolicy::lenient;
    data = tailor::load_online_retail(tailor::test::bundled_retail(), lo);
    // Content: title text (SVD) and price; the data has no categories or brands, so those blocks
    // are left out (lossless: absent fields add nothing to a cosine). The catalog lists every
    // product, including the ones launched later: a shop knows its new products before they sell.
    tailor::ContentEncoderOptions eo;
    eo.category_weight = 0.0f;
    eo.brand_weight = 0.0f;
    tailor::ContentEncoder encoder(eo);
    encoder.fit(data.catalog);
    content = encoder.encode_all(data.catalog);
    matrix_options.transform = tailor::ConfidenceTransform::logarithmic;
    matrix_options.alpha = 8.0;
    matrix_options.include_anonymous = false;
    als_options.factors = 32;
    als_options.iterations = 10;
    als_options.regularization = 0.05f;
    als_options.threads = 2;
    als_options.seed = kSeed;
  }

  std::unique_ptr<Pipeline> pipeline(Timestamp cutoff) const {
    std::vector<Event> before;
    for (const auto& e : data.events) {
      if (e.timestamp < cutoff) before.push_back(e);
    }
    return std::make_unique<Pipeline>(data.catalog, before, &content, matrix_options, als_options,
                                      cutoff);
  }

  // Known customers' purchases in [from, to) of items that pass `keep`, per customer.
  template <class Keep>
  Relevant purchases(const Pipeline& p, Timestamp from, Timestamp to, Keep keep) const {
    std::map<Index, std::set<Index>> by_user;
    for (const auto& e : data.events) {
      if (e.type != EventType::purchase || e.user.empty() || e.timestamp < from ||
          e.timestamp >= to) {
        continue;
      }
      const auto u = p.train.users().find(e.user);
      const auto i = data.catalog.index_of(e.item);
      if (u && i && keep(*u, *i)) by_user[*u].insert(*i);
    }
    Relevant out;
    for (const auto& [u, items] : by_user)
      out.emplace_back(u, std::vector<Index>(items.begin(), items.end()));
    return out;
  }

  // Products without any event before `cutoff` that were bought in [cutoff, to).
  std::vector<Index> new_items(Timestamp cutoff, Timestamp to) const {
    std::unordered_set<std::string> before;
    for (const auto& e : data.events) {
      if (e.timestamp < cutoff) before.insert(e.item);
    }
    std::set<Index> out;
    for (const auto& e : data.events) {
      if (e.type == EventType::purchase && e.timestamp >= cutoff && e.timestamp < to &&
          before.count(e.item) == 0) {
        out.insert(data.catalog.ids().at(e.item));
      }
    }
    return {out.begin(), out.end()};
  }
};

}  // namespace

// Measured (RelWithDebInfo, seed 42): 294 new products, 1,382 customers; recall@20 hybrid 0.23,
// popularity 0.068, random 0.070 (see the WARN line for the exact figures).
TEST_CASE("Online Retail new items: hybrid recall@20 >= 3x popularity and random",
          "[hybrid_quality]") {
  const Retail retail;
  // Tune on July-August's new products with models trained before July.
  auto val = retail.pipeline(kRetailNewItemValidation);
  const std::vector<Index> val_new =
      retail.new_items(kRetailNewItemValidation, kRetailNewItemCutoff);
  const std::set<Index> val_new_set(val_new.begin(), val_new.end());
  std::vector<tailor::Vector> val_vectors;
  std::vector<UserCase> val_cases =
      make_cases(*val,
                 retail.purchases(*val, kRetailNewItemValidation, kRetailNewItemCutoff,
                                  [&](Index, Index i) { return val_new_set.count(i) != 0; }),
                 val_vectors, EventType::purchase);
  for (auto& c : val_cases) c.request.rules.allow = val_new;
  const Tuned tuned = tune(*val, val_cases, kNewK);

  // Test: products first sold from September on, models trained before September.
  auto test = retail.pipeline(kRetailNewItemCutoff);
  test->fit_bridge(tuned.ridge);
  const std::vector<Index> fresh = retail.new_items(kRetailNewItemCutoff, kEnd);
  const std::set<Index> fresh_set(fresh.begin(), fresh.end());
  std::vector<tailor::Vector> vectors;
  std::vector<UserCase> cases =
      make_cases(*test,
                 retail.purchases(*test, kRetailNewItemCutoff, kEnd,
                                  [&](Index, Index i) { return fresh_set.count(i) != 0; }),
                 vectors, EventType::purchase);
  const HybridRanker ranker(test->model(), tuned.blend.options);
  const NewItemFigures f = evaluate_new_items(*test, ranker, cases, fresh, kNewK);
  WARN("Online Retail new items ("
       << f.new_items << " products, " << f.users << " customers): recall@20 hybrid " << f.hybrid
       << ", popularity " << f.popularity << ", random " << f.random
       << "; new-item recall@20 when ranking the whole catalog " << f.hybrid_whole_catalog << "; "
       << describe(tuned));
  tailor::test::record_result("hybrid_new_items", new_item_fields("online-retail", f, tuned));
  REQUIRE(f.new_items >= 250);
  REQUIRE(f.users >= 1000);
  // The goal, asserted as is: at least 3x both baselines (seed 42).
  CHECK(f.hybrid >= 3.0 * f.popularity);
  CHECK(f.hybrid >= 3.0 * f.random);
}

// Measured (RelWithDebInfo, seed 42): see the WARN line.
TEST_CASE("Online Retail warm users: hybrid nDCG@10 >= 0.98x ALS alone", "[hybrid_quality]") {
  const Retail retail;
  // Relevant: purchases of products known to the model that are new to the shopper.
  auto known_new_to_user = [](const Pipeline& p) {
    return [&p](Index u, Index i) { return p.counts[i] > 0 && !p.train.find(u, i); };
  };
  auto val = retail.pipeline(kRetailValidation);
  std::vector<tailor::Vector> val_vectors;
  const std::vector<UserCase> val_cases = make_cases(
      *val, retail.purchases(*val, kRetailValidation, kRetailCutoff, known_new_to_user(*val)),
      val_vectors, EventType::purchase);
  const Tuned tuned = tune(*val, val_cases, 10);

  auto test = retail.pipeline(kRetailCutoff);
  test->fit_bridge(tuned.ridge);
  std::vector<tailor::Vector> vectors;
  std::vector<UserCase> cases =
      make_cases(*test, retail.purchases(*test, kRetailCutoff, kEnd, known_new_to_user(*test)),
                 vectors, EventType::purchase);
  const HybridRanker ranker(test->model(), tuned.blend.options);
  std::vector<double> hybrid, als;
  const tailor::SparseMatrix& m = test->train.confidence();
  for (auto& c : cases) {
    c.request.k = 10;
    hybrid.push_back(tailor::ndcg_at_k(ranked_items(ranker.rank(c.request)), c.relevant, 10));
    const std::vector<Index> seen(m.innerIndexPtr() + m.outerIndexPtr()[c.user],
                                  m.innerIndexPtr() + m.outerIndexPtr()[c.user + 1]);
    const auto top =
        test->als.recommend(test->als.user_factors().row(c.user).transpose(), 10, seen);
    als.push_back(tailor::ndcg_at_k(tailor::items_of(top), c.relevant, 10));
  }
  const double h = mean(hybrid), a = mean(als);
  WARN("Online Retail warm users (" << cases.size() << " customers): nDCG@10 hybrid " << h
                                    << ", ALS alone " << a << "; " << describe(tuned));
  tailor::test::record_result("hybrid_warm_users",
                              {{"dataset", "online-retail"},
                               {"users", cases.size()},
                               {"k", 10},
                               {"ndcg10_hybrid", h},
                               {"ndcg10_als", a},
                               {"validation_ndcg_start", tuned.blend.start_ndcg},
                               {"validation_ndcg_tuned", tuned.blend.ndcg}});
  REQUIRE(cases.size() >= 1000);
  CHECK(h >= 0.98 * a);  // tolerance: at most 2% below ALS alone
}

// ---- MovieLens latest-small ---------------------------------------------------------------------

namespace {

struct MovieLens {
  tailor::Dataset data;
  RowMatrix content;
  std::vector<Index> test_movies, validation_movies;  // held out of training entirely

  MovieLens() {
    data = tailor::load_movielens_latest_small(tailor::test::data_path("ml-latest-small"));
    for (auto& e : data.events) e.timestamp *= 1000;  // the loader gives seconds; the ranker ms
    // Content: title and tags (the description) as text, first genre as category, all genres.
    tailor::ContentEncoderOptions eo;
    eo.attribute_keys = {"genres"};
    tailor::ContentEncoder encoder(eo);
    encoder.fit(data.catalog);
    content = encoder.encode_all(data.catalog);
    // Held out: a seeded draw of the rated movies with tags, 25% for the test and 25% of the
    // rest for validation.
    std::set<Index> rated;
    for (const auto& e : data.events) rated.insert(data.catalog.ids().at(e.item));
    std::vector<Index> tagged;
    for (Index i : rated) {
      if (data.catalog.at(i).attributes.count("tags") != 0) tagged.push_back(i);
    }
    std::vector<float> draw(data.catalog.size());
    tailor::RandomScorer random(kSeed);
    random.fit(tailor::SparseMatrix(1, static_cast<Eigen::Index>(data.catalog.size())));
    random.score(0, draw.data(), draw.size());
    std::sort(tagged.begin(), tagged.end(), [&](Index a, Index b) { return draw[a] < draw[b]; });
    const std::size_t quarter = tagged.size() / 4;
    test_movies.assign(tagged.begin(), tagged.begin() + static_cast<std::ptrdiff_t>(quarter));
    validation_movies.assign(tagged.begin() + static_cast<std::ptrdiff_t>(quarter),
                             tagged.begin() + static_cast<std::ptrdiff_t>(2 * quarter));
    std::sort(test_movies.begin(), test_movies.end());
    std::sort(validation_movies.begin(), validation_movies.end());
  }

  bool in(const std::vector<Index>& movies, const std::string& id) const {
    return std::binary_search(movies.begin(), movies.end(), data.catalog.ids().at(id));
  }

  // Trained without the ratings of `held` (and of `also`).
  std::unique_ptr<Pipeline> pipeline(const std::vector<Index>& held,
                                     const std::vector<Index>& also) const {
    std::vector<Event> kept;
    for (const auto& e : data.events) {
      if (!in(held, e.item) && !in(also, e.item)) kept.push_back(e);
    }
    tailor::InteractionMatrixOptions mo;  // rating r -> confidence 1 + r
    tailor::ALSOptions ao;
    ao.factors = 32;
    ao.iterations = 10;
    ao.regularization = 0.05f;
    ao.threads = 2;
    ao.seed = kSeed;
    return std::make_unique<Pipeline>(data.catalog, kept, &content, mo, ao, 0);
  }

  // Users with training ratings and their ratings of `movies`.
  Relevant ratings_of(const Pipeline& p, const std::vector<Index>& movies) const {
    std::map<Index, std::set<Index>> by_user;
    for (const auto& e : data.events) {
      if (!in(movies, e.item)) continue;
      if (const auto u = p.train.users().find(e.user))
        by_user[*u].insert(data.catalog.ids().at(e.item));
    }
    Relevant out;
    for (const auto& [u, items] : by_user)
      out.emplace_back(u, std::vector<Index>(items.begin(), items.end()));
    return out;
  }
};

}  // namespace

// Measured (RelWithDebInfo, seed 42): see the WARN line.
TEST_CASE("MovieLens held-out movies: hybrid recall@20 >= 3x popularity and random",
          "[hybrid_quality][ml-latest-small]") {
  const MovieLens ml;
  auto val = ml.pipeline(ml.validation_movies, ml.test_movies);
  std::vector<tailor::Vector> val_vectors;
  std::vector<UserCase> val_cases =
      make_cases(*val, ml.ratings_of(*val, ml.validation_movies), val_vectors, EventType::rating);
  for (auto& c : val_cases) c.request.rules.allow = ml.validation_movies;
  const Tuned tuned = tune(*val, val_cases, kNewK);

  auto test = ml.pipeline(ml.test_movies, {});
  test->fit_bridge(tuned.ridge);
  std::vector<tailor::Vector> vectors;
  std::vector<UserCase> cases =
      make_cases(*test, ml.ratings_of(*test, ml.test_movies), vectors, EventType::rating);
  const HybridRanker ranker(test->model(), tuned.blend.options);
  const NewItemFigures f = evaluate_new_items(*test, ranker, cases, ml.test_movies, kNewK);
  WARN("MovieLens held-out movies ("
       << f.new_items << " movies, " << f.users << " users): recall@20 hybrid " << f.hybrid
       << ", popularity " << f.popularity << ", random " << f.random
       << "; held-out recall@20 when ranking the whole catalog " << f.hybrid_whole_catalog << "; "
       << describe(tuned));
  tailor::test::record_result("hybrid_new_items", new_item_fields("ml-latest-small", f, tuned));
  REQUIRE(f.new_items >= 300);
  REQUIRE(f.users >= 300);
  CHECK(f.hybrid >= 3.0 * f.popularity);  // the goal, asserted as is (seed 42)
  CHECK(f.hybrid >= 3.0 * f.random);
}
