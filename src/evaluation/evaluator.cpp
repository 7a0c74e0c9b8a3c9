// tailor: Evaluator (see include/tailor/evaluation/evaluator.hpp).
#include "tailor/evaluation/evaluator.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <utility>

#include "tailor/core/error.hpp"
#include "tailor/core/scored_item.hpp"
#include "internal/thread_pool.hpp"
#include "tailor/version.hpp"
#include "internal/json.hpp"

namespace tailor {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The per-user accuracy metrics, in this order in every flat array.
enum Metric : std::size_t { kPrecision, kRecall, kNdcg, kMap, kMapRecsys, kMrr, kHit, kMetrics };

using detail::json_number;

std::string k_key(std::size_t k) { return "@" + std::to_string(k); }

const char* gain_name(Gain g) { return g == Gain::linear ? "linear" : "exponential"; }

// Stored entries of row u with value > threshold, ascending by item.
void relevant_row(const SparseMatrix& m, Eigen::Index u, double threshold, std::vector<Index>& items,
                  std::vector<GradedItem>& graded) {
  items.clear();
  graded.clear();
  for (SparseMatrix::InnerIterator it(m, u); it; ++it) {
    if (!(static_cast<double>(it.value()) > threshold)) continue;
    items.push_back(static_cast<Index>(it.index()));
    graded.push_back({static_cast<Index>(it.index()), static_cast<double>(it.value())});
  }
}

SparseMatrix compressed(SparseMatrix m) {
  m.makeCompressed();
  return m;
}

// Fills out[0..kMetrics) with the metrics of `ranked` against `relevant` at k; NaN when empty.
void user_metrics(const std::vector<Index>& ranked, const std::vector<Index>& relevant,
                  const std::vector<GradedItem>* graded, Gain gain, std::size_t k, double* out) {
  if (relevant.empty()) {
    std::fill(out, out + kMetrics, kNaN);
    return;
  }
  out[kPrecision] = precision_at_k(ranked, relevant, k);
  out[kRecall] = recall_at_k(ranked, relevant, k);
  out[kNdcg] = graded != nullptr ? ndcg_at_k(ranked, *graded, k, gain) : ndcg_at_k(ranked, relevant, k);
  out[kMap] = average_precision_at_k(ranked, relevant, k, MapDenominator::min_relevant_k);
  out[kMapRecsys] = average_precision_at_k(ranked, relevant, k, MapDenominator::relevant_count);
  out[kMrr] = reciprocal_rank_at_k(ranked, relevant, k);
  out[kHit] = hit_rate_at_k(ranked, relevant, k);
}

// Means over the users selected by `take` of values[user * stride + offset + metric].
template <class Take>
AccuracyMetrics mean_metrics(const std::vector<double>& values, std::size_t n_users,
                             std::size_t stride, std::size_t offset, Take take) {
  AccuracyMetrics m;
  double sums[kMetrics] = {};
  std::size_t counts[kMetrics] = {};
  for (std::size_t u = 0; u < n_users; ++u) {
    if (!take(u)) continue;
    const double* row = values.data() + u * stride + offset;
    for (std::size_t j = 0; j < kMetrics; ++j) {
      if (std::isnan(row[j])) continue;
      sums[j] += row[j];
      ++counts[j];
    }
  }
  auto mean = [&](std::size_t j) { return counts[j] == 0 ? kNaN : sums[j] / static_cast<double>(counts[j]); };
  m.precision = mean(kPrecision);
  m.recall = mean(kRecall);
  m.ndcg = mean(kNdcg);
  m.map = mean(kMap);
  m.map_recsys = mean(kMapRecsys);
  m.mrr = mean(kMrr);
  m.hit_rate = mean(kHit);
  m.users = counts[kPrecision];
  return m;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// ---- options and result types ---------------------------------------------------------------------

void EvaluationOptions::validate() const {
  if (ks.empty()) TAILOR_THROW(invalid_argument, "EvaluationOptions: ks is empty, give at least one cut-off");
  for (std::size_t i = 0; i < ks.size(); ++i) {
    if (ks[i] == 0) TAILOR_THROW(invalid_argument, "EvaluationOptions: ks[" << i << "] = 0, cut-offs must be >= 1");
    for (std::size_t j = 0; j < i; ++j) {
      if (ks[j] == ks[i]) TAILOR_THROW(invalid_argument, "EvaluationOptions: ks lists " << ks[i] << " twice");
    }
  }
  if (!std::isfinite(min_relevance) || min_relevance < 0.0) {
    TAILOR_THROW(invalid_argument, "EvaluationOptions: min_relevance must be finite and >= 0, got " << min_relevance);
  }
  if (!(head_fraction > 0.0 && head_fraction <= 1.0)) {
    TAILOR_THROW(invalid_argument, "EvaluationOptions: head_fraction must be in (0, 1], got " << head_fraction);
  }
  for (std::size_t i = 1; i < segment_bounds.size(); ++i) {
    if (segment_bounds[i] <= segment_bounds[i - 1]) {
      TAILOR_THROW(invalid_argument, "EvaluationOptions: segment_bounds must increase strictly, got "
                                         << segment_bounds[i - 1] << " then " << segment_bounds[i]
                                         << " at position " << i);
    }
  }
  if (grain == 0) TAILOR_THROW(invalid_argument, "EvaluationOptions: grain must be >= 1");
}

EvaluationOptions EvaluationOptions::accuracy_at(std::size_t k, std::size_t threads) {
  EvaluationOptions eo;
  eo.ks = {k};
  eo.compute_auc = false;
  eo.compute_diversity = false;
  eo.segment_bounds.clear();
  eo.new_item_breakdown = false;
  eo.threads = threads;
  return eo;
}

nlohmann::json EvaluationOptions::to_json() const {
  return {{"ks", ks},
          {"exclude_train", exclude_train},
          {"min_relevance", min_relevance},
          {"graded", graded},
          {"gain", gain_name(gain)},
          {"compute_auc", compute_auc},
          {"compute_diversity", compute_diversity},
          {"head_fraction", head_fraction},
          {"segment_bounds", segment_bounds},
          {"new_item_breakdown", new_item_breakdown},
          {"threads", threads}};
}

nlohmann::json AccuracyMetrics::to_json() const {
  return {{"precision", json_number(precision)}, {"recall", json_number(recall)},
          {"ndcg", json_number(ndcg)},           {"map", json_number(map)},
          {"map_recsys", json_number(map_recsys)}, {"mrr", json_number(mrr)},
          {"hit_rate", json_number(hit_rate)},   {"users", users}};
}

nlohmann::json BeyondAccuracyMetrics::to_json() const {
  return {{"coverage", json_number(coverage)},
          {"novelty", json_number(novelty)},
          {"diversity", json_number(diversity)},
          {"popularity_bias",
           {{"average_popularity", json_number(popularity_bias.average_popularity)},
            {"head_slot_share", json_number(popularity_bias.head_slot_share)},
            {"gini", json_number(popularity_bias.gini)}}}};
}

nlohmann::json MetricsAtK::to_json() const {
  nlohmann::json j = accuracy.to_json();
  j["k"] = k;
  j["beyond_accuracy"] = beyond.to_json();
  return j;
}

nlohmann::json SegmentMetrics::to_json(const std::vector<std::size_t>& ks) const {
  nlohmann::json j = {{"name", name},
                      {"kind", kind},
                      {"test_users", test_users},
                      {"relevant_items", relevant_items}};
  if (kind == "history") {
    j["min_history"] = min_history;
    j["max_history"] = max_history == std::numeric_limits<std::size_t>::max()
                           ? nlohmann::json(nullptr)
                           : nlohmann::json(max_history);
  }
  nlohmann::json metrics = nlohmann::json::object();
  for (std::size_t i = 0; i < at_k.size() && i < ks.size(); ++i) metrics[k_key(ks[i])] = at_k[i].to_json();
  j["metrics"] = std::move(metrics);
  return j;
}

const MetricsAtK& EvaluationResult::at(std::size_t k) const {
  for (const auto& m : at_k) {
    if (m.k == k) return m;
  }
  TAILOR_THROW(invalid_argument, "EvaluationResult::at: k = " << k << " was not evaluated (add it to EvaluationOptions::ks)");
}

nlohmann::json EvaluationResult::to_json() const {
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& m : at_k) metrics[k_key(m.k)] = m.to_json();
  nlohmann::json history = nlohmann::json::array();
  for (const auto& s : history_segments) history.push_back(s.to_json(ks));
  nlohmann::json items = nlohmann::json::array();
  for (const auto& s : item_segments) items.push_back(s.to_json(ks));
  return {{"users",
           {{"evaluated", users_evaluated},
            {"skipped", users_skipped},
            {"relevant_pairs", relevant_pairs},
            {"excluded_pairs", excluded_pairs}}},
          {"metrics", std::move(metrics)},
          {"auc", json_number(auc)},
          {"auc_users", auc_users},
          {"segments", {{"history", std::move(history)}, {"items", std::move(items)}}},
          {"seconds", seconds},
          {"threads", threads}};
}

TrainTest make_train_test(const InteractionMatrix& full, const Split& split) {
  return TrainTest{full.with_interactions(split.train), full.with_interactions(split.test)};
}

// ---- Evaluator ------------------------------------------------------------------------------------

Evaluator::Evaluator(const InteractionMatrix& train, const InteractionMatrix& test,
                     EvaluationOptions options)
    : Evaluator(train.confidence(), test.confidence(), std::move(options)) {}

Evaluator::Evaluator(SparseMatrix train, SparseMatrix test, EvaluationOptions options)
    : options_(std::move(options)), train_(compressed(std::move(train))), test_(compressed(std::move(test))) {
  options_.validate();
  if (train_.rows() != test_.rows() || train_.cols() != test_.cols()) {
    TAILOR_THROW(invalid_argument, "Evaluator: train is " << train_.rows() << " x " << train_.cols()
                                       << " but test is " << test_.rows() << " x " << test_.cols()
                                       << "; both must share the users x items index space");
  }
  popularity_ = tailor::item_popularity(train_);
  new_item_.resize(popularity_.size());
  for (std::size_t i = 0; i < popularity_.size(); ++i) new_item_[i] = popularity_[i] == 0 ? 1 : 0;

  if (options_.compute_diversity) {
    // Binary item x user vectors of the training data: cosine = co-occurrence similarity.
    SparseMatrix binary(train_.rows(), train_.cols());
    binary.reserve(train_.nonZeros());
    for (Eigen::Index u = 0; u < train_.outerSize(); ++u) {
      binary.startVec(u);
      for (SparseMatrix::InnerIterator it(train_, u); it; ++it) {
        if (it.value() != 0.0f) binary.insertBack(u, it.index()) = 1.0f;
      }
    }
    binary.finalize();
    item_vectors_ = binary.transpose();
    item_vectors_.makeCompressed();
  }

  std::vector<Index> rel;
  std::vector<GradedItem> graded;
  for (Eigen::Index u = 0; u < test_.rows(); ++u) {
    if (test_.outerIndexPtr()[u + 1] == test_.outerIndexPtr()[u]) continue;  // no test entry
    relevant_row(test_, u, options_.min_relevance, rel, graded);
    if (rel.empty()) {
      ++skipped_;
      continue;
    }
    const Index user = static_cast<Index>(u);
    users_.push_back(user);
    relevant_.push_back(rel);
    if (options_.graded) graded_.push_back(graded);
    std::vector<Index> seen = row_items(train_, user);
    history_.push_back(seen.size());
    if (options_.exclude_train) {
      exclude_.push_back(std::move(seen));
    } else {
      exclude_.emplace_back();
    }
  }
}

std::vector<std::vector<Index>> Evaluator::recommendations(const Scorer& model, std::size_t k) const {
  if (model.n_items() != n_items()) {
    TAILOR_THROW(invalid_argument, "Evaluator::recommendations: the model scores " << model.n_items()
                                       << " items, the data has " << n_items());
  }
  if (k == 0) k = *std::max_element(options_.ks.begin(), options_.ks.end());
  detail::ThreadPool pool(options_.threads);
  std::vector<std::vector<Index>> lists(users_.size());
  std::vector<std::vector<float>> buffers(pool.size(), std::vector<float>(n_items()));
  pool.parallel_for(0, users_.size(), options_.grain, [&](std::size_t lo, std::size_t hi, std::size_t w) {
    std::vector<float>& scores = buffers[w];
    for (std::size_t i = lo; i < hi; ++i) {
      model.score(users_[i], scores.data(), scores.size());
      lists[i] = items_of(top_k(scores.data(), scores.size(), k, exclude_[i]));
    }
  });
  return lists;
}

EvaluationResult Evaluator::evaluate(const Scorer& model) const {
  const auto start = std::chrono::steady_clock::now();
  if (model.n_items() != n_items()) {
    TAILOR_THROW(invalid_argument, "Evaluator::evaluate: the model scores " << model.n_items()
                                       << " items, the data has " << n_items());
  }
  const std::vector<std::size_t>& ks = options_.ks;
  const std::size_t nk = ks.size();
  const std::size_t max_k = *std::max_element(ks.begin(), ks.end());
  const std::size_t n = users_.size();
  const std::size_t stride = nk * kMetrics;
  const bool split_items = options_.new_item_breakdown;

  std::vector<double> all(n * stride, kNaN);
  std::vector<double> known(split_items ? n * stride : 0, kNaN);
  std::vector<double> fresh(split_items ? n * stride : 0, kNaN);
  std::vector<double> aucs(n, kNaN);
  std::vector<std::size_t> n_known(n, 0), n_new(n, 0);
  std::vector<std::vector<Index>> lists(n);

  detail::ThreadPool pool(options_.threads);
  struct Scratch {
    std::vector<float> scores;
    std::vector<Index> known, fresh;
    std::vector<GradedItem> known_graded, fresh_graded;
  };
  std::vector<Scratch> scratch(pool.size());
  for (auto& s : scratch) s.scores.resize(n_items());

  pool.parallel_for(0, n, options_.grain, [&](std::size_t lo, std::size_t hi, std::size_t w) {
    Scratch& s = scratch[w];
    for (std::size_t i = lo; i < hi; ++i) {
      model.score(users_[i], s.scores.data(), s.scores.size());
      lists[i] = items_of(top_k(s.scores.data(), s.scores.size(), max_k, exclude_[i]));
      const std::vector<Index>& rel = relevant_[i];
      const std::vector<GradedItem>* graded = options_.graded ? &graded_[i] : nullptr;
      for (std::size_t j = 0; j < nk; ++j) {
        user_metrics(lists[i], rel, graded, options_.gain, ks[j], &all[i * stride + j * kMetrics]);
      }
      if (options_.compute_auc) aucs[i] = auc(s.scores, rel, exclude_[i]);
      if (split_items) {
        s.known.clear();
        s.fresh.clear();
        s.known_graded.clear();
        s.fresh_graded.clear();
        for (std::size_t r = 0; r < rel.size(); ++r) {
          const bool is_new = new_item_[rel[r]] != 0;
          (is_new ? s.fresh : s.known).push_back(rel[r]);
          if (graded != nullptr) (is_new ? s.fresh_graded : s.known_graded).push_back((*graded)[r]);
        }
        n_known[i] = s.known.size();
        n_new[i] = s.fresh.size();
        for (std::size_t j = 0; j < nk; ++j) {
          user_metrics(lists[i], s.known, graded != nullptr ? &s.known_graded : nullptr, options_.gain,
                       ks[j], &known[i * stride + j * kMetrics]);
          user_metrics(lists[i], s.fresh, graded != nullptr ? &s.fresh_graded : nullptr, options_.gain,
                       ks[j], &fresh[i * stride + j * kMetrics]);
        }
      }
    }
  });

  EvaluationResult r;
  r.ks = ks;
  r.threads = pool.size();
  r.users_evaluated = n;
  r.users_skipped = skipped_;
  for (std::size_t i = 0; i < n; ++i) {
    r.relevant_pairs += relevant_[i].size();
    r.excluded_pairs += exclude_[i].size();
  }
  const auto auc_mean = mean_defined(aucs);
  r.auc = auc_mean.first;
  r.auc_users = auc_mean.second;

  const std::size_t n_users_total = std::max<std::size_t>(1, static_cast<std::size_t>(train_.rows()));
  std::vector<std::vector<Index>> cut(n);
  for (std::size_t j = 0; j < nk; ++j) {
    MetricsAtK m;
    m.k = ks[j];
    m.accuracy = mean_metrics(all, n, stride, j * kMetrics, [](std::size_t) { return true; });
    for (std::size_t i = 0; i < n; ++i) {
      cut[i].assign(lists[i].begin(), lists[i].begin() + static_cast<std::ptrdiff_t>(std::min(ks[j], lists[i].size())));
    }
    if (n_items() > 0) m.beyond.coverage = catalog_coverage(cut, n_items());
    m.beyond.novelty = novelty(cut, popularity_, n_users_total);
    if (options_.compute_diversity) m.beyond.diversity = intra_list_diversity(cut, item_vectors_);
    m.beyond.popularity_bias = popularity_bias(cut, popularity_, n_users_total, options_.head_fraction);
    r.at_k.push_back(m);
  }

  // History segments.
  const auto& bounds = options_.segment_bounds;
  if (!bounds.empty()) {
    std::vector<std::pair<std::size_t, std::size_t>> ranges;
    if (bounds.front() > 0) ranges.emplace_back(0, bounds.front() - 1);
    for (std::size_t b = 0; b < bounds.size(); ++b) {
      ranges.emplace_back(bounds[b], b + 1 < bounds.size() ? bounds[b + 1] - 1
                                                          : std::numeric_limits<std::size_t>::max());
    }
    for (const auto& range : ranges) {
      SegmentMetrics seg;
      seg.kind = "history";
      seg.min_history = range.first;
      seg.max_history = range.second;
      if (range.second == std::numeric_limits<std::size_t>::max()) {
        seg.name = std::to_string(range.first) + "+";
      } else if (range.first == range.second) {
        seg.name = std::to_string(range.first);
      } else {
        seg.name = std::to_string(range.first) + "-" + std::to_string(range.second);
      }
      auto in_segment = [&](std::size_t i) { return history_[i] >= range.first && history_[i] <= range.second; };
      for (std::size_t i = 0; i < n; ++i) {
        if (!in_segment(i)) continue;
        ++seg.test_users;
        seg.relevant_items += relevant_[i].size();
      }
      for (std::size_t j = 0; j < nk; ++j) seg.at_k.push_back(mean_metrics(all, n, stride, j * kMetrics, in_segment));
      r.history_segments.push_back(std::move(seg));
    }
  }

  // New vs known items.
  if (split_items) {
    for (int part = 0; part < 2; ++part) {
      const std::vector<std::size_t>& counts = part == 0 ? n_known : n_new;
      const std::vector<double>& values = part == 0 ? known : fresh;
      SegmentMetrics seg;
      seg.kind = "items";
      seg.name = part == 0 ? "known_items" : "new_items";
      for (std::size_t i = 0; i < n; ++i) {
        if (counts[i] == 0) continue;
        ++seg.test_users;
        seg.relevant_items += counts[i];
      }
      for (std::size_t j = 0; j < nk; ++j) {
        seg.at_k.push_back(mean_metrics(values, n, stride, j * kMetrics, [&](std::size_t i) { return counts[i] > 0; }));
      }
      r.item_segments.push_back(std::move(seg));
    }
  }
  r.seconds = seconds_since(start);
  return r;
}

nlohmann::json evaluation_report(const EvaluationResult& result, const EvaluationOptions& options,
                                 const ReportInfo& info) {
  nlohmann::json j = result.to_json();
  nlohmann::json timings = nlohmann::json::object();
  for (const auto& t : info.timings) timings[t.first] = t.second;
  timings["evaluate"] = result.seconds;
  j.erase("seconds");
  j["timings"] = std::move(timings);
  j["tailor_version"] = version_string();
  j["dataset"] = info.dataset;
  j["split"] = info.split;
  j["seed"] = info.seed;
  j["model"] = info.model;
  j["model_options"] = info.model_options;
  j["evaluation_options"] = options.to_json();
  j["extra"] = info.extra;
  return j;
}

}  // namespace tailor
