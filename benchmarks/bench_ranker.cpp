// HybridRanker latency per request on Online Retail (bundled), against ALS top-k alone.
//
//   bench_ranker [online-retail.csv.gz] [requests]
//
// Models are trained on the events before 2011-11-01 (ALS 64 factors, content encoder and bridge,
// item-kNN, popularity, trending); requests are the known customers' histories (user vector,
// their newest items as recent purchases, all their items excluded), k = 10, one thread, exact
// scans (no ANN). Prints one JSON line per configuration: p50/p99 microseconds and the ratio of
// the p50 to ALSFactorizer::recommend measured in the same run.
#include <cstdio>
#include <string>
#include <vector>

#include <tailor/tailor.hpp>

#include "bench_util.hpp"
#include "tailor/ranking/blend_learning.hpp"
#include "tailor/models/content_bridge.hpp"
#include "tailor/models/trending.hpp"

namespace {

using tailor::bench::Clock;

struct Timing {
  double p50 = 0.0, p99 = 0.0;
};

template <class F>
Timing time_requests(std::size_t n, F&& f) {
  std::vector<double> us;
  us.reserve(n);
  for (std::size_t j = 0; j < n; ++j) {
    const auto start = Clock::now();
    f(j);
    us.push_back(tailor::bench::seconds_since(start) * 1e6);
  }
  return {tailor::bench::quantile(us, 0.5), tailor::bench::quantile(us, 0.99)};
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : TAILOR_BENCH_BUNDLED_RETAIL;
  const std::size_t requests = argc > 2 ? std::stoul(argv[2]) : 2000;
  try {
    tailor::DatasetOptions lo;
    lo.policy = tailor::ErrorPolicy::lenient;
    const tailor::Dataset data = tailor::load_online_retail(path, lo);
    const tailor::Catalog& catalog = data.catalog;
    const tailor::Timestamp cutoff = 1320105600000;  // 2011-11-01
    std::vector<tailor::Event> train;
    for (const auto& e : data.events) {
      if (e.timestamp < cutoff && !e.user.empty()) train.push_back(e);
    }
    tailor::InteractionMatrixOptions mo;
    mo.transform = tailor::ConfidenceTransform::logarithmic;
    mo.alpha = 8.0;
    const tailor::InteractionMatrix built = tailor::build_interaction_matrix(train, mo);
    std::vector<tailor::Interaction> pairs = built.interactions();
    for (auto& p : pairs) p.item = catalog.ids().at(built.items().id(p.item));
    const tailor::InteractionMatrix m =
        tailor::InteractionMatrix::from_interactions(pairs, built.users(), catalog.ids(), mo);

    tailor::ALSOptions ao;
    ao.factors = 64;
    ao.regularization = 0.05f;
    tailor::ALSFactorizer als(ao);
    als.fit(m.confidence());
    tailor::ContentEncoder encoder;
    encoder.fit(catalog);
    const tailor::RowMatrix content = encoder.encode_all(catalog);
    const std::vector<std::uint32_t> counts = tailor::item_interaction_counts(m.confidence());
    tailor::ContentBridge bridge;
    bridge.fit(content, als.item_factors(), counts);
    const tailor::RowMatrix cold = bridge.map_all(content);
    const std::vector<float> popularity(counts.begin(), counts.end());
    tailor::TrendingOptions to;
    to.now = cutoff;
    const std::vector<float> trending = tailor::trending_scores(train, catalog.ids(), to);
    const tailor::ItemNeighbors neighbors = tailor::build_item_neighbors(m.confidence());

    tailor::RankerModel model;
    model.catalog = &catalog;
    model.item_factors = &als.item_factors();
    model.cold_item_factors = &cold;
    model.content = &content;
    model.neighbors = &neighbors;
    model.interaction_counts = &counts;
    model.popularity = &popularity;
    model.trending = &trending;
    const tailor::HybridRanker ranker(model);

    // One request per known customer, cycling.
    const tailor::SparseMatrix& c = m.confidence();
    std::vector<tailor::Vector> vectors;
    std::vector<tailor::RankRequest> reqs;
    std::vector<std::vector<tailor::Index>> seen;
    const auto users = static_cast<std::size_t>(c.rows());
    vectors.reserve(users);
    for (std::size_t u = 0; u < users; ++u) {
      const auto row = static_cast<Eigen::Index>(u);
      vectors.push_back(als.user_factors().row(row).transpose());
      tailor::RankRequest r;
      r.k = 10;
      r.user_vector = vectors.back();
      std::vector<tailor::Index> items;
      for (auto k = c.outerIndexPtr()[row]; k < c.outerIndexPtr()[row + 1]; ++k) {
        const auto item = static_cast<tailor::Index>(c.innerIndexPtr()[k]);
        items.push_back(item);
        r.recent.push_back(
            {item, m.last_times()[static_cast<std::size_t>(k)], tailor::EventType::purchase});
      }
      seen.push_back(items);
      reqs.push_back(std::move(r));
    }
    std::vector<tailor::Index> shelf;  // the 300 newest catalog items
    for (std::size_t i = catalog.size() >= 300 ? catalog.size() - 300 : 0; i < catalog.size();
         ++i) {
      shelf.push_back(static_cast<tailor::Index>(i));
    }

    std::size_t sink = 0;
    const Timing base = time_requests(requests, [&](std::size_t j) {
      const std::size_t u = j % users;
      sink += als.recommend(vectors[u], 10, seen[u]).size();
    });
    auto report = [&](const char* name, const Timing& t) {
      tailor::bench::emit({{"bench", "ranker"},
                           {"config", name},
                           {"items", catalog.size()},
                           {"factors", ao.factors},
                           {"content_dimension", content.cols()},
                           {"requests", requests},
                           {"p50_us", t.p50},
                           {"p99_us", t.p99},
                           {"p50_vs_als_recommend", t.p50 / base.p50}});
    };
    report("als_recommend_baseline", base);
    auto run = [&](const char* name, auto&& edit) {
      std::vector<tailor::RankRequest> edited;  // prepared outside the timed calls
      edited.reserve(requests);
      for (std::size_t j = 0; j < requests; ++j) {
        edited.push_back(reqs[j % users]);
        edit(edited.back());
      }
      const Timing t = time_requests(
          requests, [&](std::size_t j) { sink += ranker.rank(edited[j]).items.size(); });
      report(name, t);
    };
    run("hybrid", [](tailor::RankRequest&) {});
    run("hybrid_rules", [&](tailor::RankRequest& r) {
      r.rules.one_per_family = true;
      r.rules.deny = {1, 2, 3, 4, 5};
      r.rules.promoted = shelf;
      r.rules.promoted_max_share = 0.2;
      r.rules.pins = {{shelf.front(), 3}};
    });
    run("hybrid_mmr_0.7", [](tailor::RankRequest& r) { r.rules.diversity_lambda = 0.7f; });
    run("hybrid_shelf_300", [&](tailor::RankRequest& r) { r.rules.allow = shelf; });
    run("anonymous_3_views", [&](tailor::RankRequest& r) {
      r.user_vector = {};
      if (r.recent.size() > 3) r.recent.resize(3);
    });
    std::fprintf(stderr, "(%zu items returned)\n", sink);
    return 0;
  } catch (const tailor::Error& e) {
    std::fprintf(stderr, "bench_ranker: %s\n", e.what());
    return 1;
  }
}
