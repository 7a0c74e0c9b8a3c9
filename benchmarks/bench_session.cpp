// Session-based next item on YooChoose 100k (session-rec's prepared RSC15 sample and its split):
// SessionKnn as SKNN, V-SKNN and STAN against S-POP and session item-kNN, each with its
// parameters chosen on the validation split (train_tr -> train_valid, by MRR@20), then refit on
// train_full and scored on test (HR@20 and MRR@20 over every prefix, next_item.hpp), and the
// latency of SessionKnn::recommend over the test prefixes.
//
//   bench_session [DATA_DIR]   (default $TAILOR_DATA_DIR or the configure-time folder)
//
// One JSON line per tuning trial ("session_tuning"), per model on test ("session_next_item")
// and for the latency ("session_latency").
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_util.hpp"
#include "tailor/evaluation/next_item.hpp"
#include "tailor/io/datasets.hpp"
#include "tailor/models/session_baselines.hpp"
#include "tailor/models/session_knn.hpp"

namespace {

using namespace tailor;
using bench::Clock;

constexpr std::size_t kAt = 20;
constexpr Timestamp kHour = 3600LL * 1000LL;

struct Split {
  std::vector<TrainingSession> train;
  std::vector<SessionSequence> test;
  std::size_t n_items = 0;
  std::size_t dropped = 0;  // test clicks on items unseen in training
};

Split load_split(const std::string& dir, const std::string& train_file, const std::string& test_file) {
  Split s;
  IdMap items;
  for (const auto& seq : group_sessions(load_session_clicks(dir + "/" + train_file).events, items)) {
    s.train.push_back({seq.items, seq.times.back()});
  }
  s.test = group_sessions(load_session_clicks(dir + "/" + test_file).events, items, s.dropped);
  s.n_items = items.size();
  return s;
}

nlohmann::json to_json(const SessionKnnOptions& o) {
  const char* decay = o.position_decay == PositionDecay::none     ? "none"
                      : o.position_decay == PositionDecay::linear ? "linear"
                                                                  : "exponential";
  return {{"neighbors", o.neighbors}, {"sample_size", o.sample_size}, {"position_decay", decay},
          {"position_lambda", o.position_lambda}, {"recency_hours", o.recency_ms / kHour},
          {"neighbor_lambda", o.neighbor_lambda}, {"idf_weighting", o.idf_weighting}};
}

NextItemMetrics score_knn(const Split& split, const SessionKnnOptions& o) {
  const SessionKnn model = SessionKnn::fit(split.train, split.n_items, o);
  return evaluate_next_item(split.test, kAt, [&](Span<const Index> prefix, Timestamp now) {
    return items_of(model.recommend(prefix, now, kAt));
  });
}

// The grid of one family; every trial is emitted, the best by MRR@20 returned.
SessionKnnOptions tune(const Split& valid, const std::string& family,
                       const std::vector<SessionKnnOptions>& grid) {
  SessionKnnOptions best = grid.front();
  double best_mrr = -1.0;
  for (const auto& o : grid) {
    const auto start = Clock::now();
    const NextItemMetrics m = score_knn(valid, o);
    bench::emit({{"bench", "session_tuning"}, {"model", family}, {"options", to_json(o)},
                 {"hr", m.hit_rate}, {"mrr", m.mrr}, {"seconds", bench::seconds_since(start)}});
    if (m.mrr > best_mrr) {
      best_mrr = m.mrr;
      best = o;
    }
  }
  return best;
}

std::vector<SessionKnnOptions> grid(PositionDecay decay) {
  std::vector<SessionKnnOptions> out;
  for (const std::size_t k : {50, 100, 200, 500}) {
    for (const std::size_t sample : {500, 1000, 5000}) {
      SessionKnnOptions o;
      o.neighbors = k;
      o.sample_size = sample;
      o.position_decay = decay;
      if (decay != PositionDecay::exponential) {
        for (const bool idf : {false, true}) {
          o.idf_weighting = idf;
          out.push_back(o);
        }
        continue;
      }
      for (const double l1 : {1.0, 2.0, 4.0}) {
        for (const Timestamp l2 : {Timestamp{0}, 12 * kHour, 48 * kHour}) {
          for (const double l3 : {0.0, 1.0, 3.0}) {
            if (sample != 1000) continue;  // STAN's grid is large: its sample is fixed
            o.position_lambda = l1;
            o.recency_ms = l2;
            o.neighbor_lambda = l3;
            out.push_back(o);
          }
        }
      }
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? std::string(argv[1]) + "/yoochoose-rsc15-100k"
                                   : bench::data_path("yoochoose-rsc15-100k");
  if (!std::filesystem::exists(dir + "/yoochoose-clicks-100k_test.txt.gz")) {
    std::fprintf(stderr, "bench_session: %s not found; nothing measured\n", dir.c_str());
    return 0;
  }
  const Split valid = load_split(dir, "yoochoose-clicks-100k_train_tr.txt.gz",
                                 "yoochoose-clicks-100k_train_valid.txt.gz");
  const Split test = load_split(dir, "yoochoose-clicks-100k_train_full.txt.gz",
                                "yoochoose-clicks-100k_test.txt.gz");

  // Item-kNN's parameter is the shrinkage of its cosine (its lists answer from one item).
  ItemKnnOptions best_iknn;
  double best_iknn_mrr = -1.0;
  for (const double shrink : {0.0, 10.0, 50.0, 100.0}) {
    ItemKnnOptions o;
    o.shrinkage = shrink;
    const SessionItemKnn model = SessionItemKnn::fit(valid.train, valid.n_items, o);
    const NextItemMetrics m = evaluate_next_item(valid.test, kAt, [&](Span<const Index> p, Timestamp) {
      return items_of(model.recommend(p, kAt));
    });
    bench::emit({{"bench", "session_tuning"}, {"model", "item-knn"}, {"options", {{"shrinkage", shrink}}},
                 {"hr", m.hit_rate}, {"mrr", m.mrr}});
    if (m.mrr > best_iknn_mrr) {
      best_iknn_mrr = m.mrr;
      best_iknn = o;
    }
  }
  const SessionKnnOptions sknn = tune(valid, "sknn", grid(PositionDecay::none));
  const SessionKnnOptions vsknn = tune(valid, "v-sknn", grid(PositionDecay::linear));
  const SessionKnnOptions stan = tune(valid, "stan", grid(PositionDecay::exponential));

  const auto report = [&](const std::string& model, const NextItemMetrics& m, const nlohmann::json& options) {
    bench::emit({{"bench", "session_next_item"}, {"dataset", "yoochoose-rsc15-100k"}, {"model", model},
                 {"k", kAt}, {"hr", m.hit_rate}, {"mrr", m.mrr}, {"sessions", m.sessions},
                 {"predictions", m.predictions}, {"train_sessions", test.train.size()},
                 {"items", test.n_items}, {"dropped_test_clicks", test.dropped}, {"options", options}});
  };
  {
    const SessionPopularity pop = SessionPopularity::fit(test.train, test.n_items);
    report("s-pop", evaluate_next_item(test.test, kAt, [&](Span<const Index> p, Timestamp) {
             return items_of(pop.recommend(p, kAt));
           }), nlohmann::json::object());
    const SessionItemKnn iknn = SessionItemKnn::fit(test.train, test.n_items, best_iknn);
    report("item-knn", evaluate_next_item(test.test, kAt, [&](Span<const Index> p, Timestamp) {
             return items_of(iknn.recommend(p, kAt));
           }), {{"shrinkage", best_iknn.shrinkage}});
  }
  report("sknn", score_knn(test, sknn), to_json(sknn));
  report("v-sknn", score_knn(test, vsknn), to_json(vsknn));
  report("stan", score_knn(test, stan), to_json(stan));

  // Latency of the tuned STAN over every test prefix (three passes; the first warms the caches).
  const auto fit_start = Clock::now();
  const SessionKnn model = SessionKnn::fit(test.train, test.n_items, stan);
  const double fit_seconds = bench::seconds_since(fit_start);
  std::vector<double> micros;
  for (int pass = 0; pass < 3; ++pass) {
    for (const auto& s : test.test) {
      for (std::size_t p = 1; p < s.items.size(); ++p) {
        const auto start = Clock::now();
        const auto list = model.recommend(Span<const Index>(s.items.data(), p), s.times[p - 1], kAt);
        const double us = bench::seconds_since(start) * 1e6;
        if (pass > 0) micros.push_back(us);
        if (list.size() > kAt) return 1;
      }
    }
  }
  bench::emit({{"bench", "session_latency"}, {"model", "stan"}, {"requests", micros.size()},
               {"p50_us", bench::quantile(micros, 0.5)}, {"p90_us", bench::quantile(micros, 0.9)},
               {"p99_us", bench::quantile(micros, 0.99)}, {"max_us", bench::quantile(micros, 1.0)},
               {"fit_seconds", fit_seconds}, {"options", to_json(stan)}});
  return 0;
}
