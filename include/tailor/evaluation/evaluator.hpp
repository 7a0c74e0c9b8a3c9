// tailor: Evaluator, offline evaluation of any Scorer on a train/test pair of matrices.
//
// For every test user (a row of the test matrix with at least one relevant entry, i.e. a stored
// value > options.min_relevance) the evaluator scores every item with the model, removes the
// user's training items (unless options.exclude_train is false), takes the top max(ks) items and
// computes, for each k in options.ks, the per-user metrics of metrics.hpp (precision, recall,
// nDCG, AP with both denominators, reciprocal rank, hit rate) plus the AUC over all candidate
// items; means are taken over the evaluated users. Beyond accuracy, over the top-k lists of all
// test users: catalog coverage, novelty, intra-list diversity (cosine of item columns of the train
// matrix, i.e. co-occurrence similarity) and popularity bias (ARP, head share, Gini).
//
// Breakdowns, each with the same accuracy metrics:
//   - history segments: users bucketed by their number of training items. Bounds b_0 < b_1 < ...
//     (default 1, 5, 20, 100) give the segments "b_0-(b_1 - 1)", ..., "b_n+" and, when b_0 > 0, a
//     first segment "0-(b_0 - 1)" of users with fewer training items (cold users);
//   - new vs known items: an item with no training interaction is new. Each user's relevant set is
//     split into its new and its known items and the same ranked list is scored against each part
//     (users whose part is empty are skipped for that part).
//
// Users are scored in parallel on a ThreadPool of options.threads threads; each user's figures
// land in its own slot and are reduced in user order, so the result does not depend on the thread
// count. The train and test matrices must share their index spaces (same users and items); see
// make_train_test for building them from a Split.
//
// **Example**:
//   auto split = tailor::split_stratified(m.interactions(), 0.75, 42, tailor::StratifyBy::item);
//   tailor::TrainTest tt = tailor::make_train_test(m, split);
//   tailor::ALSFactorizer als(opt);
//   als.fit(tt.train.confidence());
//   tailor::Evaluator ev(tt.train.confidence(), tt.test.confidence());
//   tailor::EvaluationResult r = ev.evaluate(tailor::ALSScorer(als));
//   double ndcg10 = r.at(10).accuracy.ndcg;
//   nlohmann::json report = tailor::evaluation_report(r, {"ml-100k", "stratified item 75/25", 42,
//                                                         "als", {{"factors", 64}}});
//
// Thread-safety: Evaluator is thread-compatible (const methods may run concurrently); the free
// functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/models/scorers.hpp"
#include "tailor/data/interaction_matrix.hpp"
#include "tailor/evaluation/metrics.hpp"
#include "tailor/data/splits.hpp"
#include "tailor/core/types.hpp"

namespace tailor {

/// Options of Evaluator. Defaults: k = 10, training items excluded, hardware threads.
struct TAILOR_API EvaluationOptions {
  std::vector<std::size_t> ks = {10};  ///< cut-offs, each >= 1, no duplicates (kept in this order)
  bool exclude_train = true;  ///< never rank a user's training items
  double min_relevance = 0.0; ///< a test entry is relevant when its value > min_relevance (>= 0)
  bool graded = false;        ///< nDCG with the test values as gains (else binary)
  Gain gain = Gain::linear;
  bool compute_auc = true;    ///< AUC over all candidates (O(n_items log n_items) per user)
  bool compute_diversity = true;  ///< intra-list diversity (O(k^2) sparse dot products per user)
  double head_fraction = 0.2;     ///< popularity bias: share of items that are "head", in (0, 1]
  /// History segment bounds, strictly increasing (see the file comment); empty = no segments.
  std::vector<std::size_t> segment_bounds = {1, 5, 20, 100};
  bool new_item_breakdown = true;  ///< the new vs known items breakdown
  std::size_t threads = 0;         ///< scoring threads; 0 = hardware threads
  std::size_t grain = 16;          ///< users per parallel chunk, >= 1

  /// Throws Error(invalid_argument) naming the first bad field.
  void validate() const;
  nlohmann::json to_json() const;

  /// Accuracy at one cut-off only (no AUC, diversity, segments or new-item breakdown): the cheap
  /// evaluation of a model comparison such as the retrain guard's.
  static EvaluationOptions accuracy_at(std::size_t k, std::size_t threads);
};

/// Means of the per-user accuracy metrics over `users` evaluated users (NaN when users == 0).
struct TAILOR_API AccuracyMetrics {
  double precision = std::numeric_limits<double>::quiet_NaN();
  double recall = std::numeric_limits<double>::quiet_NaN();
  double ndcg = std::numeric_limits<double>::quiet_NaN();
  double map = std::numeric_limits<double>::quiet_NaN();         ///< AP denominator min(|R|, k)
  double map_recsys = std::numeric_limits<double>::quiet_NaN();  ///< AP denominator |R| (MS Recommenders)
  double mrr = std::numeric_limits<double>::quiet_NaN();
  double hit_rate = std::numeric_limits<double>::quiet_NaN();
  std::size_t users = 0;
  nlohmann::json to_json() const;
};

/// Beyond-accuracy figures over the top-k lists of every evaluated user.
struct TAILOR_API BeyondAccuracyMetrics {
  double coverage = std::numeric_limits<double>::quiet_NaN();
  double novelty = std::numeric_limits<double>::quiet_NaN();
  double diversity = std::numeric_limits<double>::quiet_NaN();  ///< NaN when not computed
  PopularityBias popularity_bias;
  nlohmann::json to_json() const;
};

/// Every metric at one cut-off.
struct TAILOR_API MetricsAtK {
  std::size_t k = 10;
  AccuracyMetrics accuracy;
  BeyondAccuracyMetrics beyond;
  nlohmann::json to_json() const;
};

/// Accuracy of one subset of users (history segment) or of relevant items (new / known).
struct TAILOR_API SegmentMetrics {
  std::string name;                    ///< "1-4", "100+", "new_items", "known_items"
  std::string kind;                    ///< "history" or "items"
  std::size_t min_history = 0;         ///< history segments: the bucket [min, max]
  std::size_t max_history = 0;         ///< SIZE_MAX for the open last bucket
  std::size_t test_users = 0;          ///< test users in the segment (with a relevant item)
  std::size_t relevant_items = 0;      ///< relevant (user, item) test pairs counted
  std::vector<AccuracyMetrics> at_k;   ///< parallel to EvaluationOptions::ks
  nlohmann::json to_json(const std::vector<std::size_t>& ks) const;
};

/// What Evaluator::evaluate returns.
struct TAILOR_API EvaluationResult {
  std::vector<std::size_t> ks;        ///< the cut-offs, as in the options
  std::vector<MetricsAtK> at_k;       ///< parallel to ks
  double auc = std::numeric_limits<double>::quiet_NaN();  ///< mean over users with a defined AUC
  std::size_t auc_users = 0;
  std::size_t users_evaluated = 0;    ///< test users with at least one relevant item
  std::size_t users_skipped = 0;      ///< test rows without a relevant item
  std::size_t relevant_pairs = 0;     ///< relevant test entries of the evaluated users
  std::size_t excluded_pairs = 0;     ///< training items removed from the rankings
  std::vector<SegmentMetrics> history_segments;  ///< in bound order (empty if disabled)
  std::vector<SegmentMetrics> item_segments;     ///< {"known_items", "new_items"} (if enabled)
  double seconds = 0.0;               ///< wall time of evaluate()
  std::size_t threads = 1;            ///< threads used

  /// The metrics at cut-off k; throws Error(invalid_argument) if k was not evaluated.
  const MetricsAtK& at(std::size_t k) const;
  nlohmann::json to_json() const;
};

/// Train and test InteractionMatrix objects in the index space of the matrix they were split from.
struct TrainTest {
  InteractionMatrix train;
  InteractionMatrix test;
};

/// full.with_interactions(split.train) and full.with_interactions(split.test): same IdMaps and
/// options as `full`, so row u and column i mean the same user and item in both.
TAILOR_API TrainTest make_train_test(const InteractionMatrix& full, const Split& split);

/// Evaluates scorers against one train/test pair. Construction precomputes each test user's
/// relevant items, exclusions, history length, and the item popularity and new-item flags, so
/// evaluating many models (or many tuning trials) on the same data is cheap.
/// Thread-safety: thread-compatible (const methods may run concurrently).
class TAILOR_API Evaluator {
 public:
  /// `train` and `test` are users x items with equal shapes. Throws Error(invalid_argument) if the
  /// shapes differ or options.validate() fails.
  Evaluator(SparseMatrix train, SparseMatrix test, EvaluationOptions options = {});
  /// Uses train.confidence() and test.confidence(); throws Error(invalid_argument) unless both
  /// have the same number of users and items.
  Evaluator(const InteractionMatrix& train, const InteractionMatrix& test,
            EvaluationOptions options = {});

  const EvaluationOptions& options() const noexcept { return options_; }
  std::size_t n_users() const noexcept { return static_cast<std::size_t>(train_.rows()); }
  std::size_t n_items() const noexcept { return static_cast<std::size_t>(train_.cols()); }
  /// Users with at least one relevant test item, ascending.
  const std::vector<Index>& test_users() const noexcept { return users_; }
  /// Training interactions per item (column counts of train).
  const std::vector<std::size_t>& item_popularity() const noexcept { return popularity_; }

  /// Scores `model` (whose n_items() must equal n_items() and which must accept every test user).
  EvaluationResult evaluate(const Scorer& model) const;

  /// The top-k recommendations (training items excluded as configured) of every test user,
  /// parallel to test_users(). k = 0 means max(options.ks).
  std::vector<std::vector<Index>> recommendations(const Scorer& model, std::size_t k = 0) const;

 private:
  EvaluationOptions options_;
  SparseMatrix train_;
  SparseMatrix test_;
  SparseMatrix item_vectors_;                       // items x users, binary train (diversity)
  std::vector<Index> users_;                        // evaluated users
  std::vector<std::vector<Index>> relevant_;        // per evaluated user, ascending
  std::vector<std::vector<GradedItem>> graded_;     // per evaluated user (graded only)
  std::vector<std::vector<Index>> exclude_;         // per evaluated user, ascending
  std::vector<std::size_t> history_;                // per evaluated user: training items
  std::vector<std::size_t> popularity_;             // per item
  std::vector<char> new_item_;                      // per item: no training interaction
  std::size_t skipped_ = 0;
};

/// What a report says about where a result came from.
struct ReportInfo {
  std::string dataset;             ///< e.g. "ml-100k"
  std::string split;               ///< e.g. "stratified per item, train 0.75"
  std::uint64_t seed = 0;          ///< the split (and model) seed
  std::string model;               ///< e.g. "als"
  nlohmann::json model_options = nlohmann::json::object();  ///< the model's options
  std::map<std::string, double> timings;  ///< extra timings in seconds, e.g. {"fit", 1.3}
  nlohmann::json extra = nlohmann::json::object();  ///< anything else the caller wants kept
};

/// A self-describing JSON report: {"tailor_version", "dataset", "split", "seed", "model",
/// "model_options", "evaluation_options", "users": {...}, "metrics": {"@10": {...}}, "auc",
/// "segments": {"history": [...], "items": [...]}, "timings": {"evaluate": s, ...}, "extra"}.
/// NaN figures are written as null. Keys are sorted, so equal inputs give equal text except for
/// the timings.
TAILOR_API nlohmann::json evaluation_report(const EvaluationResult& result,
                                            const EvaluationOptions& options,
                                            const ReportInfo& info);

}  // namespace tailor
