// Events -> InteractionMatrix throughput on synthetic power-law data, plus statistics, splits and
// pseudonymization. Prints JSON lines; never asserted.
//
// Usage: bench_matrix [events (default 2000000)] [repetitions (default 5)]
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "tailor/data/interaction_matrix.hpp"
#include "tailor/data/pseudonymize.hpp"
#include "tailor/data/splits.hpp"

namespace {

// Samples 0..n-1 with P(k) proportional to 1 / (k + 1)^exponent (a Zipf law).
class Zipf {
 public:
  Zipf(std::size_t n, double exponent) : cumulative_(n) {
    double sum = 0.0;
    for (std::size_t k = 0; k < n; ++k) cumulative_[k] = (sum += std::pow(static_cast<double>(k + 1), -exponent));
  }
  std::size_t operator()(std::mt19937_64& rng) const {
    const double x = std::uniform_real_distribution<double>(0.0, cumulative_.back())(rng);
    return std::min<std::size_t>(static_cast<std::size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), x) - cumulative_.begin()), cumulative_.size() - 1);
  }

 private:
  std::vector<double> cumulative_;
};

std::vector<tailor::Event> synthetic_events(std::size_t n, std::size_t users, std::size_t items, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const Zipf user_law(users, 0.9);
  const Zipf item_law(items, 1.05);
  std::vector<tailor::Event> events(n);
  const tailor::Timestamp start = 1700000000000;
  for (std::size_t k = 0; k < n; ++k) {
    tailor::Event& e = events[k];
    e.user = "u" + std::to_string(user_law(rng));
    e.timestamp = start + static_cast<tailor::Timestamp>(k) * 1000;
    const auto r = rng() % 100;
    if (r < 70) {
      e.type = tailor::EventType::view;
    } else if (r < 85) {
      e.type = tailor::EventType::click;
    } else if (r < 93) {
      e.type = tailor::EventType::add_to_cart;
    } else if (r < 98) {
      e.type = tailor::EventType::purchase;
      e.value = static_cast<double>(1 + rng() % 5);
    } else if (r < 99) {
      e.type = tailor::EventType::return_;
      e.value = 1.0;
    } else {
      e.type = tailor::EventType::search;
      e.query = "shoes";
      continue;  // no item
    }
    e.item = "i" + std::to_string(item_law(rng));
  }
  return events;
}

// CPU seconds of this (single-threaded) process: on a shared machine wall time includes waiting
// for a core, so both are reported.
double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

}  // namespace

int main(int argc, char** argv) {
  using tailor::bench::Clock;
  const std::size_t n_events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2000000;
  const int repetitions = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::size_t n_users = 200000;
  const std::size_t n_items = 50000;

  auto t0 = Clock::now();
  const std::vector<tailor::Event> events = synthetic_events(n_events, n_users, n_items, 42);
  const double gen_s = tailor::bench::seconds_since(t0);
  const double rss_events = tailor::bench::peak_rss_mib();
  tailor::bench::emit({{"bench", "matrix_generate"}, {"events", n_events}, {"seconds", gen_s}, {"peak_rss_mib", rss_events}});

  tailor::InteractionMatrixOptions options;
  options.weights.half_life_days = 30.0;
  options.weights.reference_time = events.back().timestamp;
  std::vector<double> build_s;
  std::vector<double> build_cpu_s;
  tailor::InteractionMatrix m;
  for (int rep = 0; rep < repetitions; ++rep) {
    m = tailor::InteractionMatrix();
    t0 = Clock::now();
    const double c0 = cpu_seconds();
    tailor::InteractionMatrixBuilder builder(options);
    for (const auto& e : events) builder.add(e);
    m = builder.build();
    build_s.push_back(tailor::bench::seconds_since(t0));
    build_cpu_s.push_back(cpu_seconds() - c0);
  }
  const double median_build = tailor::bench::median(build_s);
  const double median_build_cpu = tailor::bench::median(build_cpu_s);
  tailor::bench::emit({{"bench", "matrix_build"},
                       {"events", n_events},
                       {"repetitions", repetitions},
                       {"median_s", median_build},
                       {"min_s", *std::min_element(build_s.begin(), build_s.end())},
                       {"events_per_s", static_cast<double>(n_events) / median_build},
                       {"median_cpu_s", median_build_cpu},
                       {"events_per_cpu_s", static_cast<double>(n_events) / median_build_cpu},
                       {"users", m.n_users()},
                       {"items", m.n_items()},
                       {"nnz", m.nnz()},
                       {"pairs_dropped", m.report().pairs_dropped_nonpositive},
                       {"peak_rss_mib", tailor::bench::peak_rss_mib()},
                       {"rss_events_only_mib", rss_events}});

  std::vector<double> stats_s;
  tailor::InteractionStats stats;
  for (int rep = 0; rep < repetitions; ++rep) {
    t0 = Clock::now();
    stats = m.statistics();
    stats_s.push_back(tailor::bench::seconds_since(t0));
  }
  tailor::bench::emit({{"bench", "matrix_statistics"}, {"median_s", tailor::bench::median(stats_s)}, {"stats", stats.to_json()}});

  const auto interactions = m.interactions();
  std::vector<double> split_s;
  std::size_t test_size = 0;
  for (int rep = 0; rep < repetitions; ++rep) {
    t0 = Clock::now();
    const auto split = tailor::split_stratified(interactions, 0.75, 42, tailor::StratifyBy::item);
    split_s.push_back(tailor::bench::seconds_since(t0));
    test_size = split.test.size();
  }
  tailor::bench::emit({{"bench", "split_stratified_item"},
                       {"pairs", interactions.size()},
                       {"test", test_size},
                       {"median_s", tailor::bench::median(split_s)},
                       {"pairs_per_s", static_cast<double>(interactions.size()) / tailor::bench::median(split_s)}});

  tailor::PseudonymizerOptions po;
  po.key = std::string(32, '\x5a');
  const tailor::Pseudonymizer pseudonymizer(po);
  std::vector<double> pseudo_s;
  std::size_t checksum = 0;
  const std::size_t n_ids = std::min<std::size_t>(200000, m.n_users());
  for (int rep = 0; rep < repetitions; ++rep) {
    t0 = Clock::now();
    for (std::size_t u = 0; u < n_ids; ++u) checksum += pseudonymizer.pseudonymize(m.users().id(static_cast<tailor::Index>(u))).size();
    pseudo_s.push_back(tailor::bench::seconds_since(t0));
  }
  tailor::bench::emit({{"bench", "pseudonymize"},
                       {"ids", n_ids},
                       {"median_s", tailor::bench::median(pseudo_s)},
                       {"ids_per_s", static_cast<double>(n_ids) / tailor::bench::median(pseudo_s)},
                       {"checksum", checksum}});
  return 0;
}
