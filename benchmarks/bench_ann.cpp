// AnnIndex benchmark: recall@10 against exact search, latency (p50/p99) and queries/s on N threads,
// the overhead of AnnIndex::search over calling hnswlib's searchKnn directly on the same graph,
// filtered search at several selectivities, and the two crossovers behind the defaults
// (exact_max_items: catalog size where the graph beats the exact scan; filter_graph_cost: the cost
// of one graph candidate in exact-scan items, which sets the allowed fraction below which the
// exact scan of the allowed set beats the widening graph search).
//
// Data: seeded synthetic vectors shaped like ALS item factors: items drawn around max(64, n/1000)
// Gaussian centres (noise 0.7 per coordinate around unit-variance centres) with log-normal norms
// (sigma 0.3); queries drawn the same way from the same centres (a user vector resembles the items
// it likes). Filters are seeded uniform random subsets of the items (a bitset, the fast form).
// --data gaussian uses i.i.d. N(0, 1) items and queries instead (no structure: the hard case).
//
// Every result is one JSON line on stdout; a readable summary goes to stderr.
//
// Usage: bench_ann [--sizes 10000,100000,1000000] [--dim 64] [--queries 1000] [--threads 2]
//                  [--sections build,recall,latency,overhead,filtered,filter-threshold,ef,
//                              exact-threshold] [--data clustered|gaussian]
//                  [--exact-sizes 1000,2000,4000,8000,16000,32000,64000]
//   Quick run: bench_ann --sizes 10000 --queries 200
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <time.h>
#include <unistd.h>

#include <hnswlib/hnswlib.h>

#include "bench_util.hpp"
#include "tailor/retrieval/ann_index.hpp"

namespace {

namespace bench = tailor::bench;
using tailor::AnnBackend;
using tailor::AnnFilter;
using tailor::AnnIndex;
using tailor::AnnIndexOptions;
using tailor::Index;
using tailor::ItemBitset;
using tailor::RowMatrix;
using tailor::ScoredItem;

struct Config {
  std::vector<std::size_t> sizes = {10000, 100000, 1000000};
  std::vector<std::size_t> exact_sizes = {1000, 2000, 4000, 8000, 16000, 32000, 64000};
  std::size_t dim = 64;
  std::size_t queries = 1000;
  std::size_t threads = 2;
  std::set<std::string> sections = {"build", "recall", "latency", "overhead", "filtered",
                                    "filter-threshold"};
  std::string data = "clustered";
  bool has(const std::string& s) const { return sections.count(s) != 0; }
};

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string first;
  in >> first;
  return first;
}

std::vector<std::size_t> parse_sizes(const std::string& s) {
  std::vector<std::size_t> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) out.push_back(std::stoul(part));
  return out;
}

// splitmix64 + Box-Muller: the same numbers on every platform.
struct Rng {
  std::uint64_t state;
  explicit Rng(std::uint64_t seed) : state(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  float normal() {
    return static_cast<float>(std::sqrt(-2.0 * std::log(uniform())) *
                              std::cos(6.283185307179586 * uniform()));
  }
};

// Items (seed 1) and queries (seed 2) share the centres (seed 0) for a catalog of n items.
RowMatrix synthetic(const std::string& kind, std::size_t n, std::size_t d, std::size_t catalog,
                    std::uint64_t seed) {
  RowMatrix m(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
  if (kind == "gaussian") {
    Rng rng(seed * 7919 + catalog);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = rng.normal();
    return m;
  }
  const std::size_t clusters = std::max<std::size_t>(64, catalog / 1000);
  Rng centre_rng(catalog);
  RowMatrix centres(static_cast<Eigen::Index>(clusters), static_cast<Eigen::Index>(d));
  for (Eigen::Index i = 0; i < centres.size(); ++i) centres.data()[i] = centre_rng.normal();
  Rng rng(seed * 7919 + catalog);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<Eigen::Index>(rng.next() % clusters);
    const float scale = std::exp(0.3f * rng.normal());
    for (std::size_t j = 0; j < d; ++j) {
      m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) =
          scale * (centres(c, static_cast<Eigen::Index>(j)) + 0.7f * rng.normal());
    }
  }
  return m;
}

tailor::Span<const float> qrow(const RowMatrix& q, std::size_t i) {
  const auto d = static_cast<std::size_t>(q.cols());
  return {q.data() + (i % static_cast<std::size_t>(q.rows())) * d, d};
}

double overlap(const std::vector<ScoredItem>& got, const std::vector<ScoredItem>& truth) {
  if (truth.empty()) return 1.0;
  std::set<Index> t;
  for (const auto& s : truth) t.insert(s.item);
  std::size_t hit = 0;
  for (const auto& s : got) hit += t.count(s.item);
  return static_cast<double>(hit) / static_cast<double>(truth.size());
}

// Runs fn(query_index) for every query on each of `threads` threads (thread t starts at offset
// t * queries / threads), after one warm-up pass on one thread. Returns per-call microseconds and
// queries/s over the wall time of the timed part.
// Thread CPU time: on a shared machine, wall-clock tails include time spent descheduled.
double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return 1e6 * static_cast<double>(ts.tv_sec) + 1e-3 * static_cast<double>(ts.tv_nsec);
}

struct Latency {
  std::vector<double> micros;
  std::vector<double> cpu_micros;
  double qps = 0;
  double p50() const { return bench::quantile(micros, 0.5); }
  double p99() const { return bench::quantile(micros, 0.99); }
  double cpu_p50() const { return bench::quantile(cpu_micros, 0.5); }
  double cpu_p99() const { return bench::quantile(cpu_micros, 0.99); }
};

Latency measure(std::size_t queries, std::size_t threads, const std::function<void(std::size_t)>& fn,
                std::size_t warmup = 50) {
  for (std::size_t i = 0; i < std::min(warmup, queries); ++i) fn(i);
  std::vector<std::vector<double>> per(threads), per_cpu(threads);
  const auto t0 = bench::Clock::now();
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      per[t].reserve(queries);
      per_cpu[t].reserve(queries);
      for (std::size_t i = 0; i < queries; ++i) {
        const std::size_t q = (i + t * queries / threads) % queries;
        const double cpu0 = thread_cpu_us();
        const auto c0 = bench::Clock::now();
        fn(q);
        per[t].push_back(bench::seconds_since(c0) * 1e6);
        per_cpu[t].push_back(thread_cpu_us() - cpu0);
      }
    });
  }
  for (auto& th : pool) th.join();
  const double wall = bench::seconds_since(t0);
  Latency out;
  for (auto& v : per) out.micros.insert(out.micros.end(), v.begin(), v.end());
  for (auto& v : per_cpu) out.cpu_micros.insert(out.cpu_micros.end(), v.begin(), v.end());
  out.qps = static_cast<double>(out.micros.size()) / wall;
  return out;
}

// Exact top-10 for every query, computed on `threads` threads.
std::vector<std::vector<ScoredItem>> ground_truth(const AnnIndex& index, const RowMatrix& q,
                                                  std::size_t k, std::size_t threads,
                                                  const AnnFilter& filter = {}) {
  std::vector<std::vector<ScoredItem>> truth(static_cast<std::size_t>(q.rows()));
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (std::size_t i = next++; i < truth.size(); i = next++) {
        truth[i] = index.search_exact(qrow(q, i), k, filter);
      }
    });
  }
  for (auto& th : pool) th.join();
  return truth;
}

double recall_of(const AnnIndex& index, const RowMatrix& q,
                 const std::vector<std::vector<ScoredItem>>& truth, const AnnFilter& filter = {}) {
  double r = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    r += overlap(index.search(qrow(q, i), 10, filter), truth[i]);
  }
  return r / static_cast<double>(truth.size());
}

// The same index with other search options and the same graph (loaded from its exported bytes).
std::unique_ptr<AnnIndex> with_options(const AnnIndex& index,
                                       const std::function<void(AnnIndexOptions&)>& edit) {
  auto state = index.export_state(true);
  edit(state.options);
  return AnnIndex::from_state(std::move(state));
}

std::shared_ptr<const ItemBitset> random_subset(std::size_t n, double fraction,
                                                std::uint64_t seed) {
  auto s = std::make_shared<ItemBitset>(n);
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    if (rng.uniform() < fraction) s->set(static_cast<Index>(i));
  }
  return s;
}

void bench_size(const Config& cfg, std::size_t n) {
  const std::string data = cfg.data;
  auto t0 = bench::Clock::now();
  auto items = std::make_shared<const RowMatrix>(synthetic(data, n, cfg.dim, n, 1));
  const RowMatrix queries = synthetic(data, cfg.queries, cfg.dim, n, 2);
  const double gen_s = bench::seconds_since(t0);

  AnnIndexOptions opt;
  opt.backend = AnnBackend::hnsw;
  opt.build_threads = cfg.threads;
  t0 = bench::Clock::now();
  const AnnIndex index(items, opt);
  const double build_s = bench::seconds_since(t0);
  const auto stats = index.stats();
  bench::emit({{"bench", "ann_build"},
               {"data", data},
               {"items", n},
               {"dim", cfg.dim},
               {"M", opt.M},
               {"ef_construction", opt.ef_construction},
               {"threads", cfg.threads},
               {"generate_s", gen_s},
               {"build_s", build_s},
               {"memory_mib", static_cast<double>(stats.memory_bytes) / 1048576.0},
               {"loadavg", load_average()}});
  std::fprintf(stderr, "[%zu items] build %.1f s on %zu threads, index memory %.0f MiB\n", n,
               build_s, cfg.threads, static_cast<double>(stats.memory_bytes) / 1048576.0);

  std::vector<std::vector<ScoredItem>> truth;
  if (cfg.has("recall") || cfg.has("ef")) {
    t0 = bench::Clock::now();
    truth = ground_truth(index, queries, 10, cfg.threads);
    const double truth_s = bench::seconds_since(t0);
    const double recall = recall_of(index, queries, truth);
    bench::emit({{"bench", "ann_recall"},
                 {"data", data},
                 {"items", n},
                 {"queries", cfg.queries},
                 {"k", 10},
                 {"ef_search", opt.ef_search},
                 {"recall_at_10", recall},
                 {"ground_truth_s", truth_s}});
    std::fprintf(stderr, "[%zu items] recall@10 %.4f at ef_search %zu (defaults)\n", n, recall,
                 opt.ef_search);
  }

  if (cfg.has("ef")) {
    for (std::size_t ef : {16, 32, 48, 64, 96, 128, 256}) {
      const auto other = with_options(index, [&](AnnIndexOptions& o) { o.ef_search = ef; });
      const double recall = recall_of(*other, queries, truth);
      const Latency lat =
          measure(cfg.queries, 1, [&](std::size_t i) { other->search(qrow(queries, i), 10); });
      bench::emit({{"bench", "ann_ef_sweep"},
                   {"data", data},
                   {"items", n},
                   {"ef_search", ef},
                   {"recall_at_10", recall},
                   {"p50_us", lat.p50()},
                   {"p99_us", lat.p99()}});
      std::fprintf(stderr, "[%zu items] ef_search %3zu: recall@10 %.4f, p50 %.1f us\n", n, ef,
                   recall, lat.p50());
    }
  }

  if (cfg.has("latency")) {
    const Latency ann = measure(cfg.queries, cfg.threads,
                                [&](std::size_t i) { index.search(qrow(queries, i), 10); });
    // The exact scan at this size, for reference (fewer queries: it is slow at 1M).
    const std::size_t exact_queries = std::min<std::size_t>(cfg.queries, n >= 500000 ? 100 : 1000);
    const Latency exact = measure(exact_queries, cfg.threads, [&](std::size_t i) {
      index.search_exact(qrow(queries, i), 10);
    }, 5);
    bench::emit({{"bench", "ann_latency"},
                 {"data", data},
                 {"items", n},
                 {"threads", cfg.threads},
                 {"k", 10},
                 {"queries_per_thread", cfg.queries},
                 {"p50_us", ann.p50()},
                 {"p99_us", ann.p99()},
                 {"cpu_p50_us", ann.cpu_p50()},
                 {"cpu_p99_us", ann.cpu_p99()},
                 {"qps", ann.qps},
                 {"exact_p50_us", exact.p50()},
                 {"exact_p99_us", exact.p99()},
                 {"exact_qps", exact.qps},
                 {"speedup_p50_vs_exact", exact.p50() / ann.p50()},
                 {"loadavg", load_average()}});
    std::fprintf(stderr,
                 "[%zu items] %zu threads: p50 %.1f us, p99 %.1f us (thread CPU p50 %.1f, p99 "
                 "%.1f us), %.0f queries/s (exact scan: p50 %.1f us, %.0f queries/s)\n",
                 n, cfg.threads, ann.p50(), ann.p99(), ann.cpu_p50(), ann.cpu_p99(), ann.qps,
                 exact.p50(), exact.qps);
  }

  if (cfg.has("overhead")) {
    // hnswlib on the very same graph: the exported bytes are its saveIndex format.
    const std::string path = "/tmp/bench_ann_graph_" + std::to_string(::getpid()) + ".bin";
    {
      const auto state = index.export_state(true);
      std::ofstream out(path, std::ios::binary);
      out.write(state.graph.data(), static_cast<std::streamsize>(state.graph.size()));
    }
    hnswlib::InnerProductSpace space(cfg.dim);
    hnswlib::HierarchicalNSW<float> raw(&space, path);
    std::remove(path.c_str());
    raw.setEf(opt.ef_search);
    const RowMatrix& gq = queries;
    // Interleaved single-thread runs, 5 rounds each; medians of per-call times.
    std::vector<double> ours, theirs;
    std::size_t sink = 0;
    for (int round = 0; round < 5; ++round) {
      for (std::size_t i = 0; i < cfg.queries; ++i) {
        auto c0 = bench::Clock::now();
        auto pq = raw.searchKnn(qrow(gq, i).data(), 10);
        sink += pq.size();
        theirs.push_back(bench::seconds_since(c0) * 1e6);
        c0 = bench::Clock::now();
        sink += index.search(qrow(queries, i), 10).size();
        ours.push_back(bench::seconds_since(c0) * 1e6);
      }
    }
    const double ratio = bench::median(ours) / bench::median(theirs);
    // Nodes a search can reach from the entry point (ef = all nodes), for 3 queries: under inner
    // product some nodes get no incoming links.
    double reachable = 0;
    raw.setEf(n);
    for (std::size_t i = 0; i < 3; ++i) {
      reachable += static_cast<double>(raw.searchKnn(qrow(gq, i).data(), n).size()) / (3.0 * n);
    }
    raw.setEf(opt.ef_search);
    bench::emit({{"bench", "ann_overhead_vs_hnswlib"},
                 {"data", data},
                 {"items", n},
                 {"ef_search", opt.ef_search},
                 {"k", 10},
                 {"hnswlib_p50_us", bench::median(theirs)},
                 {"ann_index_p50_us", bench::median(ours)},
                 {"hnswlib_p99_us", bench::quantile(theirs, 0.99)},
                 {"ann_index_p99_us", bench::quantile(ours, 0.99)},
                 {"ratio_p50", ratio},
                 {"reachable_fraction", reachable},
                 {"checksum", sink}});
    std::fprintf(stderr, "[%zu items] overhead: AnnIndex p50 %.1f us vs hnswlib searchKnn %.1f us "
                 "(ratio %.3f); reachable from the entry point: %.4f of the nodes\n", n,
                 bench::median(ours), bench::median(theirs), ratio, reachable);
  }

  if (cfg.has("filtered") || cfg.has("filter-threshold")) {
    const std::size_t fq = std::min<std::size_t>(cfg.queries, 300);
    const RowMatrix fqueries = queries.topRows(static_cast<Eigen::Index>(fq));
    std::unique_ptr<AnnIndex> graph_only, exact_only;
    if (cfg.has("filter-threshold")) {
      graph_only = with_options(index, [](AnnIndexOptions& o) {
        o.filter_graph_cost = 0.0;
        o.filter_walk_min_fraction = 0.0;
      });
      exact_only = with_options(index, [](AnnIndexOptions& o) { o.filter_graph_cost = 1e30; });
    }
    std::vector<double> fractions = {0.5, 0.2, 0.05, 0.001};
    if (cfg.has("filter-threshold")) {
      fractions = {0.5, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.005, 0.002, 0.001};
    }
    for (double fraction : fractions) {
      const auto allowed = random_subset(n, fraction, 1000 + static_cast<std::uint64_t>(fraction * 1e6));
      const AnnFilter filter = AnnFilter::only(allowed);
      const auto ftruth = ground_truth(index, fqueries, 10, cfg.threads, filter);
      nlohmann::json row = {{"bench", "ann_filtered"},  {"data", data},
                            {"items", n},               {"fraction", fraction},
                            {"allowed", allowed->count()}, {"k", 10},
                            {"threads", cfg.threads}};
      const double recall = recall_of(index, fqueries, ftruth, filter);
      const Latency lat = measure(fq, cfg.threads, [&](std::size_t i) {
        index.search(qrow(fqueries, i), 10, filter);
      });
      row["recall_at_10"] = recall;
      row["p50_us"] = lat.p50();
      row["p99_us"] = lat.p99();
      row["cpu_p50_us"] = lat.cpu_p50();
      row["cpu_p99_us"] = lat.cpu_p99();
      row["qps"] = lat.qps;
      std::fprintf(stderr, "[%zu items] filter %.3f (%zu allowed): recall@10 %.4f, p50 %.1f us, "
                   "p99 %.1f us, %.0f queries/s", n, fraction, allowed->count(), recall,
                   lat.p50(), lat.p99(), lat.qps);
      // The graph route keeps ef allowed candidates; a plain walk (lenient filters) visits about
      // ef / fraction nodes, a two-hop walk about ef expansions.
      const double ef0 = std::max(static_cast<double>(opt.ef_search),
                                  std::ceil(opt.filter_overfetch * 10.0));
      const double walk = fraction >= 0.8 ? ef0 / fraction : ef0;
      if (graph_only != nullptr && walk > static_cast<double>(n) / 4) {
        // The forced graph route would walk more than a quarter of the graph per query.
        row["graph_route_skipped"] = "walk would visit more than n / 4 nodes";
        std::fprintf(stderr, " | graph route not timed (walk ~%.0f nodes)", walk);
      } else if (graph_only != nullptr) {
        const Latency g = measure(fq, 1, [&](std::size_t i) {
          graph_only->search(qrow(fqueries, i), 10, filter);
        });
        const Latency e = measure(fq, 1, [&](std::size_t i) {
          exact_only->search(qrow(fqueries, i), 10, filter);
        });
        // The cost of one unit of ef in exact-scan items that would make both routes equally
        // fast (filter_graph_cost).
        const double implied = (g.p50() / ef0) / (e.p50() / static_cast<double>(allowed->count()));
        row["graph_route_p50_us"] = g.p50();
        row["graph_route_recall_at_10"] = recall_of(*graph_only, fqueries, ftruth, filter);
        row["exact_route_p50_us"] = e.p50();
        row["graph_over_exact_p50"] = g.p50() / e.p50();
        row["graph_route_first_ef"] = ef0;
        row["implied_filter_graph_cost"] = implied;
        std::fprintf(stderr, " | 1 thread: graph route p50 %.1f us (recall %.4f, ef %.0f), exact "
                     "route p50 %.1f us, implied cost %.1f", g.p50(),
                     row["graph_route_recall_at_10"].get<double>(), ef0, e.p50(), implied);
      }
      std::fprintf(stderr, "\n");
      bench::emit(row);
    }
  }
}

// Catalog size where the graph beats the exact scan (single thread, unfiltered, k = 10).
void bench_exact_threshold(const Config& cfg) {
  std::size_t crossover = 0;
  for (std::size_t n : cfg.exact_sizes) {
    auto items = std::make_shared<const RowMatrix>(synthetic(cfg.data, n, cfg.dim, n, 1));
    const RowMatrix queries = synthetic(cfg.data, 1000, cfg.dim, n, 2);
    AnnIndexOptions o;
    o.build_threads = cfg.threads;
    o.backend = AnnBackend::exact;
    const AnnIndex exact(items, o);
    o.backend = AnnBackend::hnsw;
    const AnnIndex graph(items, o);
    std::vector<double> e_us, g_us;
    for (int round = 0; round < 3; ++round) {
      for (std::size_t i = 0; i < 1000; ++i) {
        auto c0 = bench::Clock::now();
        exact.search(qrow(queries, i), 10);
        e_us.push_back(bench::seconds_since(c0) * 1e6);
        c0 = bench::Clock::now();
        graph.search(qrow(queries, i), 10);
        g_us.push_back(bench::seconds_since(c0) * 1e6);
      }
    }
    const auto truth = ground_truth(exact, queries, 10, cfg.threads);
    const double recall = recall_of(graph, queries, truth);
    const double ratio = bench::median(g_us) / bench::median(e_us);
    if (crossover == 0 && ratio < 1.0) crossover = n;
    bench::emit({{"bench", "ann_exact_threshold"},
                 {"data", cfg.data},
                 {"items", n},
                 {"dim", cfg.dim},
                 {"exact_p50_us", bench::median(e_us)},
                 {"hnsw_p50_us", bench::median(g_us)},
                 {"hnsw_over_exact_p50", ratio},
                 {"hnsw_recall_at_10", recall}});
    std::fprintf(stderr, "[exact threshold] %zu items: exact p50 %.1f us, hnsw p50 %.1f us "
                 "(ratio %.2f, recall %.4f)\n", n, bench::median(e_us), bench::median(g_us),
                 ratio, recall);
  }
  bench::emit({{"bench", "ann_exact_threshold_crossover"}, {"first_size_hnsw_faster", crossover}});
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    auto value = [&]() -> std::string {
      if (a + 1 >= argc) {
        std::fprintf(stderr, "bench_ann: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++a];
    };
    if (arg == "--sizes") {
      cfg.sizes = parse_sizes(value());
    } else if (arg == "--exact-sizes") {
      cfg.exact_sizes = parse_sizes(value());
    } else if (arg == "--dim") {
      cfg.dim = std::stoul(value());
    } else if (arg == "--queries") {
      cfg.queries = std::stoul(value());
    } else if (arg == "--threads") {
      cfg.threads = std::stoul(value());
    } else if (arg == "--data") {
      cfg.data = value();
    } else if (arg == "--sections") {
      cfg.sections.clear();
      std::stringstream in(value());
      std::string part;
      while (std::getline(in, part, ',')) cfg.sections.insert(part);
    } else {
      std::fprintf(stderr,
                   "usage: bench_ann [--sizes a,b,c] [--dim d] [--queries q] [--threads t]\n"
                   "                 [--sections build,recall,latency,overhead,filtered,"
                   "filter-threshold,ef,exact-threshold]\n"
                   "                 [--data clustered|gaussian] [--exact-sizes a,b,c]\n");
      return 2;
    }
  }
  bench::emit({{"bench", "ann_config"},
               {"eigen_simd", Eigen::SimdInstructionSetsInUse()},
               {"dim", cfg.dim},
               {"queries", cfg.queries},
               {"threads", cfg.threads},
               {"data", cfg.data},
               {"loadavg", load_average()}});
  if (cfg.has("exact-threshold")) bench_exact_threshold(cfg);
  const bool per_size = cfg.has("build") || cfg.has("recall") || cfg.has("latency") ||
                        cfg.has("overhead") || cfg.has("filtered") ||
                        cfg.has("filter-threshold") || cfg.has("ef");
  if (per_size) {
    for (std::size_t n : cfg.sizes) bench_size(cfg, n);
  }
  bench::emit({{"bench", "ann_peak_memory"}, {"peak_rss_mib", bench::peak_rss_mib()}});
  return 0;
}
