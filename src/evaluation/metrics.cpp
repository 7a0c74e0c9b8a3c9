// tailor: ranking metrics (definitions in include/tailor/evaluation/metrics.hpp).
#include "tailor/evaluation/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tailor/core/error.hpp"

namespace tailor {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void require_k(std::size_t k, const char* where) {
  if (k == 0) TAILOR_THROW(invalid_argument, where << ": k must be >= 1, got 0");
}

// The first min(k, |ranked|) items; throws if the whole list repeats an item.
std::size_t checked_cut(const std::vector<Index>& ranked, std::size_t k, const char* where) {
  require_k(k, where);
  std::vector<Index> sorted(ranked);
  std::sort(sorted.begin(), sorted.end());
  const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  if (dup != sorted.end()) {
    TAILOR_THROW(invalid_argument, where << ": recommended list holds item " << *dup << " twice");
  }
  return std::min(k, ranked.size());
}

std::vector<Index> as_set(const std::vector<Index>& items) {
  std::vector<Index> set(items);
  std::sort(set.begin(), set.end());
  set.erase(std::unique(set.begin(), set.end()), set.end());
  return set;
}

bool contains(const std::vector<Index>& sorted_set, Index item) {
  return std::binary_search(sorted_set.begin(), sorted_set.end(), item);
}

// The ranks (0-based, < cut) at which relevant items appear.
std::vector<std::size_t> hit_ranks(const std::vector<Index>& ranked, std::size_t cut,
                                   const std::vector<Index>& relevant_set) {
  std::vector<std::size_t> hits;
  for (std::size_t r = 0; r < cut; ++r) {
    if (contains(relevant_set, ranked[r])) hits.push_back(r);
  }
  return hits;
}

double discount(std::size_t rank0) { return 1.0 / std::log2(static_cast<double>(rank0) + 2.0); }

double gain_of(double grade, Gain gain) {
  return gain == Gain::linear ? grade : std::exp2(grade) - 1.0;
}

double cosine(const RowMatrix& v, Index a, Index b) {
  const double na = v.row(a).cast<double>().norm();
  const double nb = v.row(b).cast<double>().norm();
  if (na == 0.0 || nb == 0.0) return 0.0;
  return v.row(a).cast<double>().dot(v.row(b).cast<double>()) / (na * nb);
}

double sparse_row_norm(const SparseMatrix& m, Index r) {
  double s = 0.0;
  for (SparseMatrix::InnerIterator it(m, static_cast<Eigen::Index>(r)); it; ++it) {
    s += static_cast<double>(it.value()) * it.value();
  }
  return std::sqrt(s);
}

double cosine(const SparseMatrix& m, Index a, Index b) {
  const double na = sparse_row_norm(m, a);
  const double nb = sparse_row_norm(m, b);
  if (na == 0.0 || nb == 0.0) return 0.0;
  double dot = 0.0;
  SparseMatrix::InnerIterator ia(m, static_cast<Eigen::Index>(a));
  SparseMatrix::InnerIterator ib(m, static_cast<Eigen::Index>(b));
  while (ia && ib) {
    if (ia.index() < ib.index()) {
      ++ia;
    } else if (ib.index() < ia.index()) {
      ++ib;
    } else {
      dot += static_cast<double>(ia.value()) * ib.value();
      ++ia;
      ++ib;
    }
  }
  return dot / (na * nb);
}

template <typename Vectors>
double diversity_impl(const std::vector<std::vector<Index>>& lists, const Vectors& vectors,
                      const char* where) {
  double total = 0.0;
  std::size_t counted = 0;
  const auto n_items = static_cast<std::size_t>(vectors.rows());
  for (std::size_t u = 0; u < lists.size(); ++u) {
    const auto& list = lists[u];
    for (Index i : list) {
      if (i >= n_items) {
        TAILOR_THROW(invalid_argument, where << ": list " << u << " holds item " << i
                                             << " but there are only " << n_items << " item vectors");
      }
    }
    if (list.size() < 2) continue;
    double sum = 0.0;
    std::size_t pairs = 0;
    for (std::size_t a = 0; a < list.size(); ++a) {
      for (std::size_t b = a + 1; b < list.size(); ++b) {
        sum += 1.0 - cosine(vectors, list[a], list[b]);
        ++pairs;
      }
    }
    total += sum / static_cast<double>(pairs);
    ++counted;
  }
  return counted == 0 ? kNaN : total / static_cast<double>(counted);
}

void check_lists(const std::vector<std::vector<Index>>& lists, std::size_t n_items,
                 const char* where) {
  for (std::size_t u = 0; u < lists.size(); ++u) {
    for (Index i : lists[u]) {
      if (i >= n_items) {
        TAILOR_THROW(invalid_argument, where << ": list " << u << " holds item " << i
                                             << " but the catalog has " << n_items << " items");
      }
    }
  }
}

}  // namespace

double precision_at_k(const std::vector<Index>& ranked, const std::vector<Index>& relevant,
                      std::size_t k) {
  const std::size_t cut = checked_cut(ranked, k, "precision_at_k");
  if (relevant.empty()) return kNaN;
  const auto hits = hit_ranks(ranked, cut, as_set(relevant));
  return static_cast<double>(hits.size()) / static_cast<double>(k);
}

double recall_at_k(const std::vector<Index>& ranked, const std::vector<Index>& relevant,
                   std::size_t k) {
  const std::size_t cut = checked_cut(ranked, k, "recall_at_k");
  if (relevant.empty()) return kNaN;
  const auto set = as_set(relevant);
  const auto hits = hit_ranks(ranked, cut, set);
  return static_cast<double>(hits.size()) / static_cast<double>(set.size());
}

double hit_rate_at_k(const std::vector<Index>& ranked, const std::vector<Index>& relevant,
                     std::size_t k) {
  const std::size_t cut = checked_cut(ranked, k, "hit_rate_at_k");
  if (relevant.empty()) return kNaN;
  return hit_ranks(ranked, cut, as_set(relevant)).empty() ? 0.0 : 1.0;
}

double reciprocal_rank_at_k(const std::vector<Index>& ranked, const std::vector<Index>& relevant,
                            std::size_t k) {
  const std::size_t cut = checked_cut(ranked, k, "reciprocal_rank_at_k");
  if (relevant.empty()) return kNaN;
  const auto hits = hit_ranks(ranked, cut, as_set(relevant));
  return hits.empty() ? 0.0 : 1.0 / static_cast<double>(hits.front() + 1);
}

double average_precision_at_k(const std::vector<Index>& ranked, const std::vector<Index>& relevant,
                              std::size_t k, MapDenominator denominator) {
  const std::size_t cut = checked_cut(ranked, k, "average_precision_at_k");
  if (relevant.empty()) return kNaN;
  const auto set = as_set(relevant);
  const auto hits = hit_ranks(ranked, cut, set);
  double sum = 0.0;
  for (std::size_t h = 0; h < hits.size(); ++h) {
    sum += static_cast<double>(h + 1) / static_cast<double>(hits[h] + 1);
  }
  const std::size_t d =
      denominator == MapDenominator::min_relevant_k ? std::min(set.size(), k) : set.size();
  return sum / static_cast<double>(d);
}

double ndcg_at_k(const std::vector<Index>& ranked, const std::vector<Index>& relevant,
                 std::size_t k) {
  const std::size_t cut = checked_cut(ranked, k, "ndcg_at_k");
  if (relevant.empty()) return kNaN;
  const auto set = as_set(relevant);
  double dcg = 0.0;
  for (std::size_t r : hit_ranks(ranked, cut, set)) dcg += discount(r);
  double idcg = 0.0;
  for (std::size_t r = 0; r < std::min(k, set.size()); ++r) idcg += discount(r);
  return dcg / idcg;
}

double ndcg_at_k(const std::vector<Index>& ranked, const std::vector<GradedItem>& relevant,
                 std::size_t k, Gain gain) {
  const std::size_t cut = checked_cut(ranked, k, "ndcg_at_k");
  std::vector<GradedItem> graded(relevant);
  std::sort(graded.begin(), graded.end(),
            [](const GradedItem& a, const GradedItem& b) { return a.item < b.item; });
  for (std::size_t i = 0; i < graded.size(); ++i) {
    if (!std::isfinite(graded[i].gain) || graded[i].gain < 0.0) {
      TAILOR_THROW(invalid_argument, "ndcg_at_k: item " << graded[i].item << " has gain "
                                                        << graded[i].gain << ", expected finite >= 0");
    }
    if (i > 0 && graded[i].item == graded[i - 1].item && graded[i].gain != graded[i - 1].gain) {
      TAILOR_THROW(invalid_argument, "ndcg_at_k: item " << graded[i].item << " has two gains, "
                                                        << graded[i - 1].gain << " and "
                                                        << graded[i].gain);
    }
  }
  graded.erase(std::unique(graded.begin(), graded.end(),
                           [](const GradedItem& a, const GradedItem& b) { return a.item == b.item; }),
               graded.end());
  double dcg = 0.0;
  for (std::size_t r = 0; r < cut; ++r) {
    const auto it = std::lower_bound(
        graded.begin(), graded.end(), ranked[r],
        [](const GradedItem& g, Index item) { return g.item < item; });
    if (it != graded.end() && it->item == ranked[r]) dcg += gain_of(it->gain, gain) * discount(r);
  }
  std::vector<double> ideal;
  ideal.reserve(graded.size());
  for (const auto& g : graded) ideal.push_back(gain_of(g.gain, gain));
  std::sort(ideal.begin(), ideal.end(), std::greater<>());
  double idcg = 0.0;
  for (std::size_t r = 0; r < std::min(k, ideal.size()); ++r) idcg += ideal[r] * discount(r);
  if (idcg <= 0.0) return kNaN;
  return dcg / idcg;
}

double ndcg_from_scores(const std::vector<double>& gains, const std::vector<float>& scores,
                        std::size_t k, bool average_ties) {
  if (gains.size() != scores.size()) {
    TAILOR_THROW(invalid_argument, "ndcg_from_scores: " << gains.size() << " gains but "
                                                        << scores.size() << " scores");
  }
  const std::size_t n = gains.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(gains[i]) || gains[i] < 0.0) {
      TAILOR_THROW(invalid_argument, "ndcg_from_scores: gain[" << i << "] = " << gains[i]
                                                               << ", expected finite >= 0");
    }
    if (std::isnan(scores[i])) TAILOR_THROW(invalid_argument, "ndcg_from_scores: score[" << i << "] is NaN");
  }
  const std::size_t cut = k == 0 ? n : std::min(k, n);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (scores[a] != scores[b]) return scores[a] > scores[b];
    return a < b;
  });
  double dcg = 0.0;
  if (!average_ties) {
    for (std::size_t r = 0; r < cut; ++r) dcg += gains[order[r]] * discount(r);
  } else {
    // Each group of equal scores occupies ranks [begin, end); every rank in it gets the group's mean
    // gain, so the group adds mean_gain * (sum of the discounts of its ranks below the cut).
    std::size_t begin = 0;
    while (begin < cut) {
      std::size_t end = begin;
      double group_gain = 0.0;
      while (end < n && scores[order[end]] == scores[order[begin]]) group_gain += gains[order[end++]];
      double discounts = 0.0;
      for (std::size_t r = begin; r < std::min(end, cut); ++r) discounts += discount(r);
      dcg += group_gain / static_cast<double>(end - begin) * discounts;
      begin = end;
    }
  }
  std::vector<double> ideal(gains);
  std::sort(ideal.begin(), ideal.end(), std::greater<>());
  double idcg = 0.0;
  for (std::size_t r = 0; r < cut; ++r) idcg += ideal[r] * discount(r);
  if (idcg <= 0.0) return kNaN;
  return dcg / idcg;
}

double auc(const std::vector<float>& scores, const std::vector<Index>& relevant,
           Span<const Index> exclude) {
  const std::size_t n = scores.size();
  std::vector<char> role(n, 0);  // 0 negative, 1 positive, 2 excluded
  for (Index i : relevant) {
    if (i >= n) TAILOR_THROW(invalid_argument, "auc: relevant item " << i << " >= " << n << " items");
    role[i] = 1;
  }
  for (Index i : exclude) {
    if (i < n) role[i] = 2;
  }
  std::vector<Index> candidates;
  candidates.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (role[i] == 2) continue;
    if (std::isnan(scores[i])) TAILOR_THROW(invalid_argument, "auc: score[" << i << "] is NaN");
    candidates.push_back(static_cast<Index>(i));
  }
  std::sort(candidates.begin(), candidates.end(),
            [&](Index a, Index b) { return scores[a] < scores[b]; });
  // Mann-Whitney: sum of the (tie-averaged, 1-based) ranks of the positives.
  double positive_rank_sum = 0.0;
  std::size_t positives = 0;
  std::size_t begin = 0;
  while (begin < candidates.size()) {
    std::size_t end = begin;
    std::size_t group_positives = 0;
    while (end < candidates.size() && scores[candidates[end]] == scores[candidates[begin]]) {
      if (role[candidates[end]] == 1) ++group_positives;
      ++end;
    }
    const double mean_rank = (static_cast<double>(begin + 1) + static_cast<double>(end)) / 2.0;
    positive_rank_sum += mean_rank * static_cast<double>(group_positives);
    positives += group_positives;
    begin = end;
  }
  const std::size_t negatives = candidates.size() - positives;
  if (positives == 0 || negatives == 0) return kNaN;
  const double p = static_cast<double>(positives);
  return (positive_rank_sum - p * (p + 1.0) / 2.0) / (p * static_cast<double>(negatives));
}

std::vector<std::size_t> item_popularity(const SparseMatrix& interactions) {
  std::vector<std::size_t> counts(static_cast<std::size_t>(interactions.cols()), 0);
  for (Eigen::Index u = 0; u < interactions.outerSize(); ++u) {
    for (SparseMatrix::InnerIterator it(interactions, u); it; ++it) {
      if (it.value() != 0.0f) ++counts[static_cast<std::size_t>(it.index())];
    }
  }
  return counts;
}

double catalog_coverage(const std::vector<std::vector<Index>>& lists, std::size_t n_items) {
  if (n_items == 0) TAILOR_THROW(invalid_argument, "catalog_coverage: n_items must be >= 1");
  check_lists(lists, n_items, "catalog_coverage");
  std::vector<char> seen(n_items, 0);
  std::size_t distinct = 0;
  for (const auto& list : lists) {
    for (Index i : list) {
      if (!seen[i]) {
        seen[i] = 1;
        ++distinct;
      }
    }
  }
  return static_cast<double>(distinct) / static_cast<double>(n_items);
}

double novelty(const std::vector<std::vector<Index>>& lists,
               const std::vector<std::size_t>& popularity, std::size_t n_users) {
  if (n_users == 0) TAILOR_THROW(invalid_argument, "novelty: n_users must be >= 1");
  check_lists(lists, popularity.size(), "novelty");
  double sum = 0.0;
  std::size_t slots = 0;
  for (const auto& list : lists) {
    for (Index i : list) {
      const double count = static_cast<double>(std::max<std::size_t>(popularity[i], 1));
      if (popularity[i] > n_users) {
        TAILOR_THROW(invalid_argument, "novelty: item " << i << " has popularity " << popularity[i]
                                                        << " > n_users = " << n_users);
      }
      sum += -std::log2(count / static_cast<double>(n_users));
      ++slots;
    }
  }
  return slots == 0 ? kNaN : sum / static_cast<double>(slots);
}

double intra_list_diversity(const std::vector<std::vector<Index>>& lists,
                            const RowMatrix& item_vectors) {
  return diversity_impl(lists, item_vectors, "intra_list_diversity");
}

double intra_list_diversity(const std::vector<std::vector<Index>>& lists,
                            const SparseMatrix& item_vectors) {
  return diversity_impl(lists, item_vectors, "intra_list_diversity");
}

PopularityBias popularity_bias(const std::vector<std::vector<Index>>& lists,
                               const std::vector<std::size_t>& popularity, std::size_t n_users,
                               double head_fraction) {
  if (n_users == 0) TAILOR_THROW(invalid_argument, "popularity_bias: n_users must be >= 1");
  if (!(head_fraction > 0.0 && head_fraction <= 1.0)) {
    TAILOR_THROW(invalid_argument,
                 "popularity_bias: head_fraction must be in (0, 1], got " << head_fraction);
  }
  const std::size_t n_items = popularity.size();
  if (n_items == 0) TAILOR_THROW(invalid_argument, "popularity_bias: empty popularity vector");
  check_lists(lists, n_items, "popularity_bias");

  std::vector<Index> by_popularity(n_items);
  std::iota(by_popularity.begin(), by_popularity.end(), Index{0});
  std::stable_sort(by_popularity.begin(), by_popularity.end(),
                   [&](Index a, Index b) { return popularity[a] > popularity[b]; });
  const auto head_size = static_cast<std::size_t>(
      std::ceil(head_fraction * static_cast<double>(n_items) - 1e-9));
  std::vector<char> is_head(n_items, 0);
  for (std::size_t r = 0; r < std::min(head_size, n_items); ++r) is_head[by_popularity[r]] = 1;

  std::vector<std::size_t> times_recommended(n_items, 0);
  double arp_sum = 0.0;
  std::size_t non_empty = 0;
  std::size_t slots = 0;
  std::size_t head_slots = 0;
  for (const auto& list : lists) {
    if (list.empty()) continue;
    double list_sum = 0.0;
    for (Index i : list) {
      list_sum += static_cast<double>(popularity[i]) / static_cast<double>(n_users);
      ++times_recommended[i];
      head_slots += is_head[i] ? 1 : 0;
    }
    arp_sum += list_sum / static_cast<double>(list.size());
    slots += list.size();
    ++non_empty;
  }
  PopularityBias out;
  if (slots == 0) {
    out.average_popularity = out.head_slot_share = out.gini = kNaN;
    return out;
  }
  out.average_popularity = arp_sum / static_cast<double>(non_empty);
  out.head_slot_share = static_cast<double>(head_slots) / static_cast<double>(slots);
  std::sort(times_recommended.begin(), times_recommended.end());
  double weighted = 0.0;
  for (std::size_t r = 0; r < n_items; ++r) {
    weighted += (2.0 * static_cast<double>(r + 1) - static_cast<double>(n_items) - 1.0) *
                static_cast<double>(times_recommended[r]);
  }
  out.gini = weighted / (static_cast<double>(n_items) * static_cast<double>(slots));
  return out;
}

void RankingOptions::validate() const {
  if (k == 0) TAILOR_THROW(invalid_argument, "RankingOptions: k must be >= 1, got 0");
}

RankingMetrics evaluate_ranking(const std::vector<std::vector<Index>>& recommended,
                                const SparseMatrix& test, const RankingOptions& options) {
  options.validate();
  if (recommended.size() != static_cast<std::size_t>(test.rows())) {
    TAILOR_THROW(invalid_argument, "evaluate_ranking: " << recommended.size()
                                                        << " recommendation lists but the test matrix has "
                                                        << test.rows() << " users");
  }
  RankingMetrics out;
  const std::size_t k = options.k;
  std::vector<Index> relevant;
  std::vector<GradedItem> graded;
  for (std::size_t u = 0; u < recommended.size(); ++u) {
    relevant.clear();
    graded.clear();
    for (SparseMatrix::InnerIterator it(test, static_cast<Eigen::Index>(u)); it; ++it) {
      if (it.value() > 0.0f) {
        relevant.push_back(static_cast<Index>(it.index()));
        graded.push_back({static_cast<Index>(it.index()), static_cast<double>(it.value())});
      }
    }
    if (relevant.empty()) {
      ++out.users_skipped;
      continue;
    }
    const auto& list = recommended[u];
    out.precision += precision_at_k(list, relevant, k);
    out.recall += recall_at_k(list, relevant, k);
    out.ndcg += options.graded ? ndcg_at_k(list, graded, k, options.gain) : ndcg_at_k(list, relevant, k);
    out.map += average_precision_at_k(list, relevant, k, options.map_denominator);
    out.mrr += reciprocal_rank_at_k(list, relevant, k);
    out.hit_rate += hit_rate_at_k(list, relevant, k);
    ++out.users_evaluated;
  }
  if (out.users_evaluated == 0) {
    out.precision = out.recall = out.ndcg = out.map = out.mrr = out.hit_rate = kNaN;
    return out;
  }
  const double n = static_cast<double>(out.users_evaluated);
  out.precision /= n;
  out.recall /= n;
  out.ndcg /= n;
  out.map /= n;
  out.mrr /= n;
  out.hit_rate /= n;
  return out;
}

std::pair<double, std::size_t> mean_defined(const std::vector<double>& values) {
  double sum = 0.0;
  std::size_t n = 0;
  for (double v : values) {
    if (std::isnan(v)) continue;
    sum += v;
    ++n;
  }
  return {n == 0 ? kNaN : sum / static_cast<double>(n), n};
}

}  // namespace tailor
