// Request-path costs of experimentation: (a) ExperimentSet::assign for a configuration with three
// layers of two experiments each plus a private-layer experiment, against its baselines measured
// in the same run: one SipHash-2-4 call (the hash assignment is built on) and one HMAC-SHA256
// call (the library's other keyed hash); (b) OutcomeTracker ingestion, one exposure of 10 items
// plus one click per user, from 1 and 2 threads; (c) one metrics() snapshot over all users.
// Median of 5 runs each; one JSON line per result.
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "tailor/experiments/experiment.hpp"
#include "tailor/experiments/outcomes.hpp"
#include "tailor/data/pseudonymize.hpp"
#include "internal/sha256.hpp"
#include "internal/siphash.hpp"

using tailor::bench::Clock;

namespace {

constexpr int kRuns = 5;

nlohmann::json config() {
  nlohmann::json experiments = nlohmann::json::array();
  for (int layer = 0; layer < 3; ++layer) {
    for (int e = 0; e < 2; ++e) {
      experiments.push_back({{"name", "L" + std::to_string(layer) + "E" + std::to_string(e)},
                             {"layer", "layer" + std::to_string(layer)},
                             {"traffic", 0.5},
                             {"holdout", 0.05},
                             {"variants", {{{"name", "A"}, {"share", 0.5}, {"config", {{"model", "pop"}}}},
                                           {{"name", "B"}, {"share", 0.5}, {"config", {{"model", "als"}}}}}}});
    }
  }
  experiments.push_back({{"name", "solo"},
                         {"variants", {{{"name", "A"}, {"share", 0.5}}, {{"name", "B"}, {"share", 0.5}}}}});
  return {{"hash_key", "bench"}, {"experiments", experiments}};
}

template <class F>
double median_ns_per_call(std::size_t calls, const F& f) {
  std::vector<double> runs;
  for (int r = 0; r < kRuns; ++r) {
    const auto start = Clock::now();
    for (std::size_t i = 0; i < calls; ++i) f(i);
    runs.push_back(tailor::bench::seconds_since(start) * 1e9 / static_cast<double>(calls));
  }
  return tailor::bench::median(runs);
}

}  // namespace

int main() {
  const tailor::ExperimentSet set = tailor::ExperimentSet::from_json(config());
  constexpr std::size_t kUsers = 200'000;
  std::vector<std::string> users;
  users.reserve(kUsers);
  for (std::size_t i = 0; i < kUsers; ++i) users.push_back("customer-" + std::to_string(i));

  // (a) assignment vs its hash baselines.
  std::array<std::uint8_t, 16> key{};
  std::uint64_t sink = 0;
  const double siphash_ns = median_ns_per_call(kUsers, [&](std::size_t i) { sink += tailor::detail::siphash24(key, users[i]); });
  const double hmac_ns = median_ns_per_call(kUsers, [&](std::size_t i) {
    sink += tailor::detail::hmac_sha256("bench-key-of-some-length-32bytes", users[i])[0];
  });
  std::size_t assigned = 0;
  const double assign_ns = median_ns_per_call(kUsers, [&](std::size_t i) {
    tailor::ExperimentContext ctx;
    ctx.user = users[i];
    assigned += set.assign(ctx).experiments.size();
  });
  tailor::bench::emit({{"bench", "experiment_assign"},
                       {"experiments", set.experiments().size()},
                       {"layers", 4},
                       {"mean_assignments_per_user", static_cast<double>(assigned) / (kRuns * kUsers)},
                       {"assign_ns", assign_ns},
                       {"siphash24_ns", siphash_ns},
                       {"hmac_sha256_ns", hmac_ns},
                       {"assign_over_siphash", assign_ns / siphash_ns},
                       {"checksum", sink % 1000}});

  // (b) ingestion, 1 and 2 threads; (c) a snapshot.
  std::vector<tailor::Assignments> assignments;
  assignments.reserve(kUsers);
  for (const auto& u : users) {
    tailor::ExperimentContext ctx;
    ctx.user = u;
    assignments.push_back(set.assign(ctx));
  }
  const std::vector<std::string> items = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8", "i9"};
  for (int threads : {1, 2}) {
    std::vector<double> runs, snapshot;
    for (int r = 0; r < kRuns; ++r) {
      tailor::OutcomeTracker tracker;
      const auto start = Clock::now();
      std::vector<std::thread> pool;
      for (int w = 0; w < threads; ++w) {
        pool.emplace_back([&, w] {
          for (std::size_t i = static_cast<std::size_t>(w); i < kUsers; i += static_cast<std::size_t>(threads)) {
            tailor::Exposure x;
            x.recommendation_id = "r" + std::to_string(i);
            x.user = users[i];
            x.items = items;
            x.variants = assignments[i].experiments;
            x.timestamp = 1'700'000'000'000 + static_cast<std::int64_t>(i);
            tracker.record_exposure(x);
            tailor::Event e;
            e.user = users[i];
            e.item = items[i % items.size()];
            e.type = tailor::EventType::click;
            e.timestamp = x.timestamp + 1000;
            tracker.record_event(e);
          }
        });
      }
      for (auto& t : pool) t.join();
      runs.push_back(tailor::bench::seconds_since(start));
      const auto s0 = Clock::now();
      const auto m = tracker.metrics("L0E0");
      snapshot.push_back(tailor::bench::seconds_since(s0));
      sink += m.variants.size();
    }
    const double seconds = tailor::bench::median(runs);
    tailor::bench::emit({{"bench", "outcome_ingest"},
                         {"threads", threads},
                         {"users", kUsers},
                         {"items_per_exposure", items.size()},
                         {"exposure_plus_click_per_s", static_cast<double>(kUsers) / seconds},
                         {"us_per_user", seconds * 1e6 / static_cast<double>(kUsers)},
                         {"metrics_snapshot_ms", tailor::bench::median(snapshot) * 1e3},
                         {"peak_rss_mib", tailor::bench::peak_rss_mib()},
                         {"hardware_threads", std::thread::hardware_concurrency()}});
  }
  return sink == 42 ? 1 : 0;
}
