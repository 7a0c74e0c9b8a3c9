// tailor: offline ranking metrics for recommendation lists.
//
// Notation. For one user: L = the recommended list (item indices, best first, no duplicates),
// L_k = its first min(k, |L|) items, R = the set of relevant (held-out) items, rel(i) = 1 if i is
// in R. Ranks are 1-based. Every metric is computed in double precision.
//
//   precision@k   = |L_k ∩ R| / k                      (k, not |L_k|: a short list is penalised)
//   recall@k      = |L_k ∩ R| / |R|
//   hit_rate@k    = 1 if L_k ∩ R is non-empty, else 0
//   MRR@k         = 1 / (rank of the first relevant item in L_k), 0 if there is none
//   AP@k          = (1 / D) * sum over ranks r <= k with L[r] in R of precision@r, where
//                   D = min(|R|, k)  (MapDenominator::min_relevant_k, the default; a perfect list
//                                     scores 1), or
//                   D = |R|          (MapDenominator::relevant_count, the variant Microsoft
//                                     Recommenders' map_at_k uses; can't reach 1 when |R| > k)
//   DCG@k         = sum over ranks r <= min(k, |L|) of gain(L[r]) / log2(r + 1)
//   nDCG@k        = DCG@k / IDCG@k, IDCG@k = DCG@k of the relevant items sorted by gain, descending
//                   binary: gain = rel(i); graded: gain = g(i) (Gain::linear, as scikit-learn) or
//                   2^g(i) - 1 (Gain::exponential). Gains must be finite and >= 0.
//   AUC           = over every (positive p, negative n) pair of candidate items, the share with
//                   score(p) > score(n), a tie counting 1/2. Candidates = all items not excluded;
//                   positives = relevant candidates, negatives = the other candidates.
//
// Conventions.
//   - k must be >= 1 (Error invalid_argument otherwise). A list longer than k is cut at k; a list
//     shorter than k is scored as it is (missing ranks gain nothing).
//   - Duplicates in a recommended list are a caller bug: Error invalid_argument. R is a set:
//     duplicates in `relevant` are ignored (graded: an item given two gains is an error).
//   - A user with no relevant items (R empty, or all gains 0) makes every per-user metric NaN
//     (undefined); RankingMetrics skips such users and counts them. scikit-learn's ndcg_score instead
//     scores such a row 0 and averages it in; our fixtures have no such rows.
//   - Ties. A ranked list has no ties: its order is the ranking. ndcg_from_scores ranks by score and,
//     with average_ties = true (scikit-learn's ignore_ties=False), gives each tied group the mean
//     gain of the group at every rank the group occupies; with average_ties = false ties are broken
//     by lower index (scikit-learn breaks them arbitrarily). AUC counts a tie as 1/2.
//
// Beyond accuracy (over the lists of all users):
//   catalog_coverage      = |union of all lists| / n_items
//   novelty               = mean over every recommended slot of -log2(p(i)), p(i) = popularity(i) /
//                           n_users, popularity = number of training users with i; an item with
//                           popularity 0 is counted as popularity 1 (finite, maximally novel)
//   intra_list_diversity  = mean over lists with >= 2 items of the mean over unordered pairs of
//                           (1 - cosine(v_i, v_j)), v = item vectors (dense rows, or sparse rows,
//                           e.g. the item x user transpose of the training matrix for co-occurrence
//                           cosine); cosine with a zero vector is 0
//   popularity bias       = ARP (mean over lists of the mean p(i) of the list), the share of
//                           recommended slots that go to head items (the ceil(head_fraction *
//                           n_items) most popular items, ties by lower index), and the Gini index
//                           of how often each catalog item is recommended (0 = even, ->1 = few items)
//
// Thread-safety: every function here is pure; thread-safe.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/core/types.hpp"
#include "tailor/core/span.hpp"

namespace tailor {

/// Denominator of average precision at k (see the file comment).
enum class MapDenominator {
  min_relevant_k,  ///< min(|R|, k): a perfect top-k scores 1 (Spark, most papers)
  relevant_count,  ///< |R|: Microsoft Recommenders' map_at_k
};

/// Gain of a graded relevance g in DCG.
enum class Gain {
  linear,       ///< g (scikit-learn's ndcg_score)
  exponential,  ///< 2^g - 1 (Burges et al.; stresses the top grades)
};

/// A relevant item with its graded relevance.
struct GradedItem {
  Index item = 0;
  double gain = 1.0;
};

// ---- per-user metrics on a ranked list ------------------------------------------------------------

/// |L_k ∩ R| / k. NaN if `relevant` is empty.
TAILOR_API double precision_at_k(const std::vector<Index>& ranked,
                                 const std::vector<Index>& relevant, std::size_t k);
/// |L_k ∩ R| / |R|. NaN if `relevant` is empty.
TAILOR_API double recall_at_k(const std::vector<Index>& ranked, const std::vector<Index>& relevant,
                              std::size_t k);
/// 1 if any of the top k is relevant, else 0. NaN if `relevant` is empty.
TAILOR_API double hit_rate_at_k(const std::vector<Index>& ranked,
                                const std::vector<Index>& relevant, std::size_t k);
/// Reciprocal rank of the first relevant item within the top k, 0 if none. NaN if `relevant` is
/// empty.
TAILOR_API double reciprocal_rank_at_k(const std::vector<Index>& ranked,
                                       const std::vector<Index>& relevant, std::size_t k);
/// Average precision at k with the chosen denominator. NaN if `relevant` is empty.
TAILOR_API double average_precision_at_k(
    const std::vector<Index>& ranked, const std::vector<Index>& relevant, std::size_t k,
    MapDenominator denominator = MapDenominator::min_relevant_k);
/// Binary nDCG@k. NaN if `relevant` is empty.
TAILOR_API double ndcg_at_k(const std::vector<Index>& ranked, const std::vector<Index>& relevant,
                            std::size_t k);
/// Graded nDCG@k; items not in `relevant` have gain 0. NaN if no gain is positive.
TAILOR_API double ndcg_at_k(const std::vector<Index>& ranked,
                            const std::vector<GradedItem>& relevant, std::size_t k,
                            Gain gain = Gain::linear);

/// nDCG@k of a full score vector against true gains, as scikit-learn's
/// ndcg_score([gains], [scores], k=k, ignore_ties=!average_ties) computes it (linear gain).
/// `gains` and `scores` have one entry per candidate and equal sizes; k = 0 means "all".
/// NaN if no gain is positive (scikit-learn: 0).
TAILOR_API double ndcg_from_scores(const std::vector<double>& gains,
                                   const std::vector<float>& scores, std::size_t k,
                                   bool average_ties = true);

/// AUC of one user's scores over all items (scores.size() = number of items): positives are the
/// `relevant` items, negatives every other item; items in `exclude` (e.g. the training items) are
/// neither. NaN if there is no positive or no negative candidate. NaN scores are an error.
TAILOR_API double auc(const std::vector<float>& scores, const std::vector<Index>& relevant,
                      Span<const Index> exclude = {});

// ---- beyond-accuracy metrics over all users' lists ------------------------------------------------

/// Number of training users (stored entries with value != 0) per item: column counts of
/// `interactions` (user x item).
TAILOR_API std::vector<std::size_t> item_popularity(const SparseMatrix& interactions);

/// |union of lists| / n_items. Items >= n_items are an error.
TAILOR_API double catalog_coverage(const std::vector<std::vector<Index>>& lists,
                                   std::size_t n_items);

/// Mean self-information -log2(popularity(i) / n_users) over every recommended slot. NaN if all
/// lists are empty. `popularity` has one entry per item (see item_popularity).
TAILOR_API double novelty(const std::vector<std::vector<Index>>& lists,
                          const std::vector<std::size_t>& popularity, std::size_t n_users);

/// Intra-list diversity with cosine on dense item vectors (one row per item). NaN if no list has
/// two or more items.
TAILOR_API double intra_list_diversity(const std::vector<std::vector<Index>>& lists,
                                       const RowMatrix& item_vectors);
/// Intra-list diversity with cosine on sparse item vectors (one CSR row per item), e.g. the item x
/// user transpose of the training matrix.
TAILOR_API double intra_list_diversity(const std::vector<std::vector<Index>>& lists,
                                       const SparseMatrix& item_vectors);

/// How strongly recommendations lean to popular items.
struct PopularityBias {
  double average_popularity = 0.0;  ///< ARP: mean over non-empty lists of mean popularity/n_users
  double head_slot_share = 0.0;     ///< share of recommended slots that hold head items
  double gini = 0.0;                ///< Gini index of recommendation counts over the catalog
};

/// Popularity bias of the lists. Head items are the ceil(head_fraction * n_items) most popular
/// items (ties by lower index), head_fraction in (0, 1]; n_items = popularity.size(). NaN fields
/// when all lists are empty.
TAILOR_API PopularityBias popularity_bias(const std::vector<std::vector<Index>>& lists,
                                          const std::vector<std::size_t>& popularity,
                                          std::size_t n_users, double head_fraction = 0.2);

// ---- aggregation ----------------------------------------------------------------------------------

/// Options of evaluate_ranking.
struct TAILOR_API RankingOptions {
  std::size_t k = 10;                                     ///< cut-off, >= 1
  MapDenominator map_denominator = MapDenominator::min_relevant_k;
  bool graded = false;   ///< nDCG with the test matrix values as gains (else binary)
  Gain gain = Gain::linear;
  void validate() const;
};

/// Means over the evaluated users (users with at least one positive test entry).
struct RankingMetrics {
  double precision = 0.0;
  double recall = 0.0;
  double ndcg = 0.0;
  double map = 0.0;
  double mrr = 0.0;
  double hit_rate = 0.0;
  std::size_t users_evaluated = 0;
  std::size_t users_skipped = 0;  ///< users with no positive test entry (metrics undefined)
};

/// Scores `recommended[u]` (one list per user, best first) against row u of `test` (user x item;
/// stored entries with value > 0 are relevant, the value being the grade when options.graded).
/// recommended.size() must equal test.rows().
TAILOR_API RankingMetrics evaluate_ranking(const std::vector<std::vector<Index>>& recommended,
                                           const SparseMatrix& test,
                                           const RankingOptions& options = {});

/// Mean of the non-NaN values and how many there were; NaN if there are none.
TAILOR_API std::pair<double, std::size_t> mean_defined(const std::vector<double>& values);

}  // namespace tailor
