// Recommender facade benchmark: recommend() latency (p50/p99) and queries/s on 1 and 2 threads,
// with and without filters; recommend_batch users/s against a loop of recommend() calls; ingest
// throughput into profiles; event-to-visible latency (from
// ingest() returning to the next recommend() that reflects the event). Baseline in the same run:
// ALSFactorizer::recommend, an exact scan of every item's score (what a bare matrix-factorisation
// library does per request). Reference from the issue: implicit 0.7.3 on a 50k-item catalog,
// 1.0 ms median and 3.5 ms p99 for one user.
//
// Usage: bench_recommender [retail|synthetic|all|ingest] [synthetic items (default 1000000)]
// (ingest: Online Retail's bulk load, retrain and ingest throughput only). TAILOR_BENCH_MODEL=path
// caches the synthetic model: loaded when the file exists, written after the retrain otherwise.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "synthetic.hpp"
#include "tailor/io/datasets.hpp"
#include "tailor/serving/recommender.hpp"
#include "serving/test_access.hpp"

namespace bench = tailor::bench;
using tailor::Event;
using tailor::EventType;
using tailor::RecommendRequest;
using tailor::Recommender;

namespace {

struct Latency {
  double p50_us = 0, p99_us = 0, qps = 0;
};

// Runs `requests` round-robin on `threads` threads; per-call latency percentiles and throughput.
Latency serve(const Recommender& rec, const std::vector<RecommendRequest>& requests,
              std::size_t threads, std::size_t calls) {
  std::vector<std::vector<double>> micros(threads);
  const auto t0 = bench::Clock::now();
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      micros[t].reserve(calls);
      for (std::size_t c = 0; c < calls; ++c) {
        const RecommendRequest& r = requests[(c * threads + t) % requests.size()];
        const auto s = bench::Clock::now();
        const auto resp = rec.recommend(r);
        micros[t].push_back(bench::seconds_since(s) * 1e6);
        if (resp.items.empty()) std::abort();
      }
    });
  }
  for (auto& th : pool) th.join();
  const double wall = bench::seconds_since(t0);
  std::vector<double> all;
  for (auto& m : micros) all.insert(all.end(), m.begin(), m.end());
  return {bench::quantile(all, 0.5), bench::quantile(all, 0.99),
          static_cast<double>(all.size()) / wall};
}

void report_serving(const std::string& dataset, const Recommender& rec,
                    std::vector<RecommendRequest> requests, std::size_t calls) {
  // Warm the profiles' vectors once (the steady state of a serving process).
  for (const auto& r : requests) (void)rec.recommend(r);
  for (const bool filtered : {false, true}) {
    if (filtered) {
      const auto cat = rec.catalog();
      std::vector<tailor::Index> deny;
      for (tailor::Index i = 0; i < 200 && i < cat->size(); ++i) deny.push_back(i * 7 % cat->size());
      for (auto& r : requests) {
        r.rules.min_price = 1.0;
        r.rules.max_price = 10.0;
        r.rules.deny = deny;
        r.rules.one_per_family = true;
      }
    }
    for (std::size_t threads : {1, 2}) {
      const Latency l = serve(rec, requests, threads, calls);
      bench::emit({{"bench", "recommend"},
                   {"dataset", dataset},
                   {"filters", filtered ? "price 1-10, 200 denied, one per family" : "none"},
                   {"threads", threads},
                   {"p50_us", l.p50_us},
                   {"p99_us", l.p99_us},
                   {"queries_per_s", l.qps}});
    }
  }
  // Batch scoring: the same requests as one loop of recommend() calls on one thread (the
  // baseline) and as recommend_batch on 1 and 2 threads; median users/s over 5 repetitions.
  {
    std::vector<RecommendRequest> batch(requests.begin(), requests.end());
    for (auto& r : batch) r.rules = tailor::Rules{};
    auto users_per_s = [&](const std::function<void()>& run) {
      std::vector<double> rates;
      for (int rep = 0; rep < 5; ++rep) {
        const auto s = bench::Clock::now();
        run();
        rates.push_back(static_cast<double>(batch.size()) / bench::seconds_since(s));
      }
      return bench::quantile(rates, 0.5);
    };
    const double loop = users_per_s([&] {
      for (const auto& r : batch) (void)rec.recommend(r);
    });
    for (std::size_t threads : {1, 2}) {
      const double batched = users_per_s([&] { (void)rec.recommend_batch(batch, threads); });
      bench::emit({{"bench", "recommend_batch"},
                   {"dataset", dataset},
                   {"requests", batch.size()},
                   {"threads", threads},
                   {"users_per_s", batched},
                   {"baseline_loop_users_per_s", loop},
                   {"ratio_vs_loop", batched / loop}});
    }
  }
  // Baseline: a full exact scan of the ALS scores (ALSFactorizer::recommend), same users.
  const auto snap = tailor::RecommenderTestAccess::snapshot(rec);
  std::vector<double> micros;
  for (std::size_t c = 0; c < calls; ++c) {
    const auto v = rec.user_vector(requests[c % requests.size()].user.empty()
                                       ? "session:" + requests[c % requests.size()].session
                                       : requests[c % requests.size()].user);
    if (!v) continue;
    const auto s = bench::Clock::now();
    const auto top = snap->parts->als.recommend(*v, 10);
    micros.push_back(bench::seconds_since(s) * 1e6);
    if (top.empty()) std::abort();
  }
  bench::emit({{"bench", "baseline_als_exact_scan"},
               {"dataset", dataset},
               {"items", snap->parts->als.items()},
               {"p50_us", bench::quantile(micros, 0.5)},
               {"p99_us", bench::quantile(micros, 0.99)}});
}

// Events on existing users and items, ingested by `threads` threads.
void report_ingest(const std::string& dataset, Recommender& rec, const std::vector<Event>& pool,
                   std::size_t per_thread) {
  for (std::size_t threads : {1, 2}) {
    const auto t0 = bench::Clock::now();
    std::vector<std::thread> ts;
    for (std::size_t t = 0; t < threads; ++t) {
      ts.emplace_back([&, t] {
        for (std::size_t i = 0; i < per_thread; ++i) rec.ingest(pool[(i * threads + t) % pool.size()]);
      });
    }
    for (auto& th : ts) th.join();
    const double s = bench::seconds_since(t0);
    bench::emit({{"bench", "ingest"},
                 {"dataset", dataset},
                 {"threads", threads},
                 {"events", per_thread * threads},
                 {"events_per_s", static_cast<double>(per_thread * threads) / s}});
  }
}

// From ingest() returning to the end of the next recommend() for that shopper (which reflects
// the event: it is folded into the vector and the item becomes seen).
void report_visibility(const std::string& dataset, Recommender& rec,
                       const std::vector<Event>& pool, std::size_t calls) {
  std::vector<double> micros;
  std::size_t reflected = 0;
  for (std::size_t c = 0; c < calls; ++c) {
    Event e = pool[(c * 7919) % pool.size()];
    e.type = EventType::add_to_cart;
    RecommendRequest r;
    r.user = e.user;
    r.session = e.session;
    r.k = 10;
    rec.ingest(e);
    const auto s = bench::Clock::now();
    const auto resp = rec.recommend(r);
    micros.push_back(bench::seconds_since(s) * 1e6);
    if (std::none_of(resp.items.begin(), resp.items.end(),
                     [&](const auto& it) { return it.item == e.item; })) {
      ++reflected;  // the carted item is now excluded as seen
    }
  }
  bench::emit({{"bench", "event_to_visible"},
               {"dataset", dataset},
               {"calls", calls},
               {"reflected_share", static_cast<double>(reflected) / static_cast<double>(calls)},
               {"p50_us", bench::quantile(micros, 0.5)},
               {"p99_us", bench::quantile(micros, 0.99)}});
}

std::vector<RecommendRequest> requests_for(const std::vector<Event>& events, std::size_t n) {
  std::vector<RecommendRequest> out;
  for (std::size_t i = 0; i < events.size() && out.size() < n; i += 97) {
    RecommendRequest r;
    r.user = events[i].user;
    r.session = events[i].session;
    r.k = 10;
    out.push_back(r);
  }
  return out;
}

void bench_retail(bool ingest_only) {
  tailor::Dataset d = tailor::load_online_retail(TAILOR_BENCH_BUNDLED_RETAIL);
  tailor::RecommenderOptions o;
  o.als.threads = 2;
  Recommender rec(o);
  std::vector<tailor::CatalogItem> items(d.catalog.begin(), d.catalog.end());
  rec.upsert_items(items);
  auto t0 = bench::Clock::now();
  rec.ingest(d.events);
  const double load_s = bench::seconds_since(t0);
  const auto report = rec.retrain();
  bench::emit({{"bench", "retrain"},
               {"dataset", "online-retail"},
               {"events", report.events},
               {"users", report.users},
               {"items", report.items},
               {"bulk_ingest_s", load_s},
               {"retrain_s", report.seconds},
               {"ann_backend", report.ann_backend},
               {"peak_rss_mib", bench::peak_rss_mib()}});
  if (ingest_only) {
    report_ingest("online-retail", rec, d.events, 1000000);
    return;
  }
  report_serving("online-retail", rec, requests_for(d.events, 2000), 20000);
  report_visibility("online-retail", rec, d.events, 5000);
  report_ingest("online-retail", rec, d.events, 1000000);
  // The same requests without the EASE source, in the same run: what EASE costs per request.
  o.ease.enabled = false;
  Recommender no_ease(o);
  no_ease.upsert_items(items);
  no_ease.ingest(d.events);
  no_ease.retrain();
  const auto requests = requests_for(d.events, 2000);
  for (const auto& r : requests) (void)no_ease.recommend(r);
  for (std::size_t threads : {1, 2}) {
    const Latency l = serve(no_ease, requests, threads, 20000);
    bench::emit({{"bench", "recommend"},
                 {"dataset", "online-retail, EASE off"},
                 {"filters", "none"},
                 {"threads", threads},
                 {"p50_us", l.p50_us},
                 {"p99_us", l.p99_us},
                 {"queries_per_s", l.qps}});
  }
}

void bench_synthetic(std::int32_t n_items) {
  bench::PowerLawOptions po;
  po.items = n_items;
  po.users = 200000;
  po.interactions = 5000000;
  const tailor::SparseMatrix m = bench::power_law_confidences(po);
  std::vector<Event> events;
  events.reserve(static_cast<std::size_t>(m.nonZeros()));
  for (Eigen::Index u = 0; u < m.rows(); ++u) {
    for (tailor::SparseMatrix::InnerIterator it(m, u); it; ++it) {
      Event e;
      e.user = "u" + std::to_string(u);
      e.item = "i" + std::to_string(it.col());
      e.type = EventType::purchase;
      e.timestamp = 1700000000000 + static_cast<tailor::Timestamp>(events.size());
      events.push_back(std::move(e));
    }
  }
  std::vector<tailor::CatalogItem> items(static_cast<std::size_t>(n_items));
  for (std::int32_t i = 0; i < n_items; ++i) {
    items[static_cast<std::size_t>(i)].id = "i" + std::to_string(i);
    items[static_cast<std::size_t>(i)].price = 1.0 + (i % 50);
    items[static_cast<std::size_t>(i)].attributes["family"] = std::to_string(i / 3);
  }
  tailor::RecommenderOptions o;
  o.als.threads = 2;
  o.als.iterations = 5;  // latency does not depend on convergence
  o.use_content = false;  // synthetic items have no text
  o.neighbors.neighbors = 20;
  o.blend.validation_days = 0.0;  // serving figures; a second training per retrain adds nothing
  Recommender rec(o);
  const std::string name = "synthetic-" + std::to_string(n_items) + "-items";
  // TAILOR_BENCH_MODEL names a model file: loaded when it exists (the 1M-item retrain takes
  // minutes), else written after the retrain. Serving figures are the same either way.
  const char* cache = std::getenv("TAILOR_BENCH_MODEL");
  if (cache != nullptr && std::ifstream(cache).good()) {
    const auto t0 = bench::Clock::now();
    rec.load(cache);
    rec.ingest(events);
    bench::emit({{"bench", "load"}, {"dataset", name}, {"path", cache},
                 {"load_and_ingest_s", bench::seconds_since(t0)},
                 {"peak_rss_mib", bench::peak_rss_mib()}});
  } else {
    rec.upsert_items(items);
    rec.ingest(events);
    const auto report = rec.retrain();
    bench::emit({{"bench", "retrain"},
                 {"dataset", name},
                 {"events", report.events},
                 {"users", report.users},
                 {"items", report.items},
                 {"retrain_s", report.seconds},
                 {"ann_backend", report.ann_backend},
                 {"peak_rss_mib", bench::peak_rss_mib()}});
    if (cache != nullptr) rec.save(cache);
  }
  report_serving(name, rec, requests_for(events, 2000), 5000);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "all";
  const std::int32_t n_items = argc > 2 ? std::stoi(argv[2]) : 1000000;
  if (which == "all" || which == "retail" || which == "ingest") bench_retail(which == "ingest");
  if (which == "all" || which == "synthetic") bench_synthetic(n_items);
  return 0;
}
