// The main demo: a gift shop's year of orders (UCI Online Retail, bundled) through tailor.
//
//   example_shop_demo [online-retail.csv.gz]
//
// 1. loads all 541,909 invoice lines and accounts for every one (events, exclusions, rejections);
// 2. cleans the event log (duplicates, bot-like actors, repeated views);
// 3. builds the user x item confidence matrix and prints its statistics and model advice;
// 4. holds out the last month, trains ALS on the rest and compares it with popularity and
//    item-kNN on the purchases shoppers made in that month (items new to each shopper);
// 5. shows what one customer is recommended, "customers who bought this also bought", how a
//    brand-new anonymous shopper gets recommendations from three clicks (ALS fold-in), and the
//    shop's best customers by RFM.
//
// With TAILOR_RESULTS=FILE in the environment it also appends its measured figures (load and
// training time, the offline metrics of step 4) to FILE as JSON lines, one object per result;
// benchmarks/run.sh collects them for docs/quality.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tailor/tailor.hpp>
#include "tailor/data/rfm.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void heading(const char* text) { std::printf("\n== %s\n", text); }

// Appends `result` as one JSON line to the file named by TAILOR_RESULTS, if that is set.
void record(const nlohmann::json& result) {
  const char* path = std::getenv("TAILOR_RESULTS");
  if (path == nullptr || *path == '\0') return;
  if (std::FILE* f = std::fopen(path, "a")) {
    std::fprintf(f, "%s\n", result.dump().c_str());
    std::fclose(f);
  }
}

std::string title_of(const tailor::Catalog& catalog, const std::string& id) {
  const tailor::CatalogItem* item = catalog.find(id);
  return item != nullptr && !item->title.empty() ? item->title : std::string("?");
}

// The held-out month as a test matrix in the training index space: purchases of items the
// shopper had not interacted with in training, by shoppers and of items the model knows.
tailor::InteractionMatrix new_purchases(const std::vector<tailor::Event>& test_events,
                                        const tailor::InteractionMatrix& train) {
  std::vector<tailor::Interaction> pairs;
  for (const auto& e : test_events) {
    if (e.type != tailor::EventType::purchase || e.user.empty()) continue;
    const auto u = train.users().find(e.user);
    const auto i = train.items().find(e.item);
    if (!u || !i || train.find(*u, *i)) continue;
    pairs.push_back({*u, *i, 1.0f, e.timestamp, e.timestamp, 1});
  }
  return train.with_interactions(pairs);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "examples/data/online-retail.csv.gz";
  try {
    std::printf("tailor %s demo on UCI Online Retail (CC BY 4.0, Chen, Sain & Guo 2012)\n",
                tailor::library_version());

    heading("1. Load every invoice line");
    auto start = Clock::now();
    tailor::DatasetOptions load_options;
    load_options.policy = tailor::ErrorPolicy::lenient;
    tailor::Dataset data = tailor::load_online_retail(path, load_options);
    const auto& report = data.report;
    std::uint64_t rows = 0, rejected = 0;
    for (const auto& r : report.reads) {
      rows += r.records;
      rejected += r.rejected;
    }
    const double load_s = seconds_since(start);
    record({{"bench", "demo_load"}, {"dataset", "online-retail"}, {"rows", rows},
            {"events", data.events.size()}, {"rejected", rejected}, {"seconds", load_s}});
    std::printf("read %llu rows in %.2f s: %zu events, %llu excluded, %llu rejected\n",
                static_cast<unsigned long long>(rows), load_s, data.events.size(),
                static_cast<unsigned long long>(report.excluded_total()),
                static_cast<unsigned long long>(rejected));
    for (const auto& [reason, count] : report.excluded)
      std::printf("  excluded %-22s %8llu\n", reason.c_str(), static_cast<unsigned long long>(count));
    for (const auto& [name, count] : report.counts)
      std::printf("  %-31s %8llu\n", name.c_str(), static_cast<unsigned long long>(count));
    std::printf("catalog: %zu products\n", data.catalog.size());

    // RFM needs the amount paid: Online Retail events carry the quantity, with a unit price per
    // line (parallel to the events, so computed before cleaning reorders nothing but drops some).
    std::vector<tailor::RfmRecord> rfm = tailor::compute_rfm(data.events, data.unit_prices);

    heading("2. Clean the event log");
    // Defaults: bot rates count views, clicks, carts and searches, not checkout lines.
    const tailor::CleaningReport cleaning = tailor::clean_events(data.events);
    std::printf("%zu in, %zu exact duplicates, %zu events of %zu bot-like actors, %zu repeated views "
                "-> %zu events\n",
                cleaning.input_events, cleaning.duplicates_removed, cleaning.bot_events_removed,
                cleaning.bots.size(), cleaning.views_collapsed, cleaning.output_events);

    heading("3. Interaction matrix");
    const tailor::Timestamp cutoff = 1320105600000;  // 2011-11-01T00:00:00Z: the last 5.5 weeks are test
    const tailor::EventSplit split = tailor::split_events_temporal(data.events, cutoff);
    tailor::InteractionMatrixOptions matrix_options;
    matrix_options.transform = tailor::ConfidenceTransform::logarithmic;
    matrix_options.alpha = 8.0;
    start = Clock::now();
    const tailor::InteractionMatrix train = tailor::build_interaction_matrix(split.train, matrix_options);
    std::printf("train events before %s: %zu (test: %zu); built in %.2f s\n", "2011-11-01",
                split.train.size(), split.test.size(), seconds_since(start));
    std::printf("%s\n", train.statistics().summary().c_str());

    heading("4. Offline evaluation on the held-out weeks (new-to-shopper purchases, k = 10)");
    tailor::ALSOptions als_options;
    als_options.factors = 64;
    als_options.iterations = 15;
    als_options.regularization = 0.05f;
    tailor::ALSFactorizer als(als_options);
    start = Clock::now();
    als.fit(train.confidence());
    const double fit_s = seconds_since(start);
    record({{"bench", "demo_als_fit"}, {"dataset", "online-retail"}, {"factors", als_options.factors},
            {"iterations", als.iterations_run()}, {"seconds", fit_s},
            {"kernel", tailor::ALSFactorizer::kernel_name()}});
    std::printf("ALS: %zu factors, %d iterations in %.2f s (%s kernels)\n", als_options.factors,
                als.iterations_run(), fit_s, tailor::ALSFactorizer::kernel_name());
    tailor::PopularityScorer popularity;
    popularity.fit(train.confidence());
    tailor::ItemKnnScorer knn;
    knn.fit(train.confidence());

    tailor::EvaluationOptions eval_options;
    eval_options.ks = {10};
    const tailor::Evaluator evaluator(train, new_purchases(split.test, train), eval_options);
    std::printf("%-12s %9s %9s %9s %9s   (%zu shoppers)\n", "model", "recall@10", "ndcg@10",
                "prec@10", "coverage", evaluator.test_users().size());
    const tailor::ALSScorer als_scorer(als);
    for (const auto& [name, scorer] : {std::pair<const char*, const tailor::Scorer*>{"ALS", &als_scorer},
                                       {"item-kNN", &knn}, {"popularity", &popularity}}) {
      const tailor::EvaluationResult result = evaluator.evaluate(*scorer);
      const tailor::MetricsAtK& m = result.at(10);
      std::printf("%-12s %9.4f %9.4f %9.4f %9.4f\n", name, m.accuracy.recall, m.accuracy.ndcg,
                  m.accuracy.precision, m.beyond.coverage);
      record({{"bench", "demo_offline_eval"}, {"dataset", "online-retail"}, {"model", name},
              {"k", 10}, {"users", evaluator.test_users().size()}, {"recall", m.accuracy.recall},
              {"ndcg", m.accuracy.ndcg}, {"precision", m.accuracy.precision},
              {"coverage", m.beyond.coverage}});
    }

    heading("5. What shoppers see");
    const std::string customer = "17850";
    if (const auto u = train.users().find(customer)) {
      const auto seen = tailor::row_items(train.confidence(), *u);
      std::printf("customer %s bought %zu products, e.g. %s\n", customer.c_str(), seen.size(),
                  title_of(data.catalog, train.items().id(seen.front())).c_str());
      for (const auto& r : als.recommend(als.user_factors().row(*u).transpose(), 5, seen))
        std::printf("  %.3f  %-8s %s\n", r.score, train.items().id(r.item).c_str(),
                    title_of(data.catalog, train.items().id(r.item)).c_str());
    }
    const std::string product = "85123A";
    if (const auto i = train.items().find(product)) {
      std::printf("customers who bought '%s' also bought:\n", title_of(data.catalog, product).c_str());
      for (const auto& r : knn.similar_items(*i, 5))
        std::printf("  %.3f  %-8s %s\n", r.score, train.items().id(r.item).c_str(),
                    title_of(data.catalog, train.items().id(r.item)).c_str());
    }
    // A shopper the model has never seen clicks three products: fold-in gives them a vector.
    std::vector<tailor::Index> clicked;
    for (const char* id : {"22423", "22720", "22960"})  // cake stand, cake tins, jam making set
      if (const auto i = train.items().find(id)) clicked.push_back(*i);
    if (!clicked.empty()) {
      const std::vector<float> confidence(clicked.size(), 1.0f + 8.0f * std::log(1.0f + 2.0f));
      start = Clock::now();
      const tailor::Vector fresh = als.fold_in_user(clicked, confidence);
      std::vector<tailor::Index> exclude = clicked;
      std::sort(exclude.begin(), exclude.end());
      const auto recs = als.recommend(fresh, 5, exclude);
      const double micros = seconds_since(start) * 1e6;
      std::printf("a new shopper clicked %zu products; fold-in + top-5 took %.0f us:\n",
                  clicked.size(), micros);
      for (const auto& r : recs)
        std::printf("  %.3f  %-8s %s\n", r.score, train.items().id(r.item).c_str(),
                    title_of(data.catalog, train.items().id(r.item)).c_str());
    }

    heading("6. Best customers (RFM, reference = last invoice)");
    std::sort(rfm.begin(), rfm.end(),
              [](const auto& a, const auto& b) { return a.monetary > b.monetary; });
    std::printf("%zu customers with purchases; top 5 by money spent:\n", rfm.size());
    for (std::size_t i = 0; i < std::min<std::size_t>(5, rfm.size()); ++i)
      std::printf("  customer %-6s  %10.2f GBP  %3u orders  last order %5.1f days ago  RFM %u%u%u\n",
                  rfm[i].user.c_str(), rfm[i].monetary, rfm[i].frequency, rfm[i].recency_days,
                  rfm[i].r_score, rfm[i].f_score, rfm[i].m_score);
    return 0;
  } catch (const tailor::Error& e) {
    std::fprintf(stderr, "tailor demo: %s error: %s\n", tailor::error_code_name(e.code()), e.what());
    return 1;
  }
}
