// tailor as a shop backend drives it: one Recommender created at start-up, bulk-loaded with the
// history (Online Retail up to 2011-11-01), then request threads asking for recommendations while
// the later events stream in from another thread, and a background thread retraining and swapping
// the model every few seconds. Prints what shoppers see (with reasons), serving latency and the
// counters.
//
// Usage: example_shop_backend [online-retail.csv.gz] [seconds (default 10)]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tailor/tailor.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

void show(const char* title, const tailor::RecommendResponse& resp, const tailor::Catalog& catalog) {
  std::printf("%s (model v%llu)\n", title, static_cast<unsigned long long>(resp.model_version));
  for (const auto& r : resp.items) {
    std::printf("  %-8s %-38.38s %7.3f  %s\n", r.item.c_str(), catalog.at(r.index).title.c_str(),
                static_cast<double>(r.score), r.reason.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "examples/data/online-retail.csv.gz";
  const double seconds = argc > 2 ? std::stod(argv[2]) : 10.0;
  try {
    tailor::Dataset data = tailor::load_online_retail(path);
    const tailor::Timestamp cutoff = 1320105600000;  // 2011-11-01T00:00:00Z
    std::vector<tailor::Event> history, stream;
    for (auto& e : data.events) (e.timestamp < cutoff ? history : stream).push_back(std::move(e));

    tailor::RecommenderOptions options;
    tailor::Recommender rec(options);
    auto t0 = Clock::now();
    rec.upsert_items(std::vector<tailor::CatalogItem>(data.catalog.begin(), data.catalog.end()));
    rec.ingest(history);
    const tailor::RetrainReport first = rec.retrain();
    std::printf("bulk load: %zu events, %zu items; first model: %zu users, %zu interactions, "
                "ANN %s, trained in %.1f s (%.1f s in all)\n",
                history.size(), data.catalog.size(), first.users, first.interactions,
                first.ann_backend.c_str(), first.seconds,
                std::chrono::duration<double>(Clock::now() - t0).count());
    for (const auto& [phase, secs] : first.phases) std::printf("  %-16s %6.2f s\n", phase.c_str(), secs);

    // What a known customer and a product page show.
    tailor::RecommendRequest req;
    req.user = "17850";
    req.k = 5;
    show("\ncustomer 17850, home page", rec.recommend(req), *rec.catalog());
    show("\nproduct page 85123A, similar items", rec.similar_items("85123A", 5), *rec.catalog());
    show("\nproduct page 85123A, frequently bought together",
         rec.frequently_bought_together("85123A", 5), *rec.catalog());

    // Serving: two request threads; one thread streams the later events in time order; the main
    // thread retrains every few seconds and swaps.
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> streamed{0};
    std::mutex lat_mutex;
    std::vector<double> latencies;
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        std::vector<double> mine;
        std::size_t i = static_cast<std::size_t>(t);
        while (!stop.load()) {
          const tailor::Event& e = stream[(i += 2) % stream.size()];
          tailor::RecommendRequest r;
          r.user = e.user;
          r.session = e.session;
          r.k = 10;
          const auto s = Clock::now();
          (void)rec.recommend(r);
          mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - s).count());
        }
        std::lock_guard<std::mutex> lock(lat_mutex);
        latencies.insert(latencies.end(), mine.begin(), mine.end());
      });
    }
    threads.emplace_back([&] {
      for (const auto& e : stream) {
        if (stop.load()) break;
        rec.ingest(e);
        ++streamed;
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    });
    const auto start = Clock::now();
    int retrains = 0;
    while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
      std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(seconds * 250)));
      const auto r = rec.retrain();
      ++retrains;
      std::printf("retrain %d: model v%llu on %llu events in %.1f s (serving never paused)\n",
                  retrains, static_cast<unsigned long long>(r.model_version),
                  static_cast<unsigned long long>(r.events), r.seconds);
    }
    stop = true;
    for (auto& t : threads) t.join();

    const tailor::RecommenderStats st = rec.stats();
    std::printf("\nserved %zu requests on 2 threads: p50 %.0f us, p99 %.0f us; streamed %zu events;"
                " fold-ins %llu\n",
                latencies.size(), percentile(latencies, 0.5), percentile(latencies, 0.99),
                streamed.load(), static_cast<unsigned long long>(st.fold_ins));
    show("\ncustomer 17850 after the stream", rec.recommend(req), *rec.catalog());
  } catch (const tailor::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
