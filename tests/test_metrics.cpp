#include "tailor/evaluation/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.hpp"
#include "tailor/core/error.hpp"

using tailor::Index;

namespace {

tailor::SparseMatrix csr(int rows, int cols, const std::vector<Eigen::Triplet<float>>& entries) {
  tailor::SparseMatrix m(rows, cols);
  m.setFromTriplets(entries.begin(), entries.end());
  m.makeCompressed();
  return m;
}

}  // namespace

TEST_CASE("list metrics on a hand-computed example", "[metrics]") {
  // Relevant items 1, 3, 4; hits at ranks 2 and 4.
  const std::vector<Index> ranked = {5, 1, 7, 3, 9};
  const std::vector<Index> relevant = {4, 3, 1, 3};  // duplicates are ignored

  SECTION("precision, recall, hit rate, MRR") {
    CHECK(tailor::precision_at_k(ranked, relevant, 5) == Approx(2.0 / 5));
    CHECK(tailor::precision_at_k(ranked, relevant, 3) == Approx(1.0 / 3));
    CHECK(tailor::precision_at_k(ranked, relevant, 1) == 0.0);
    CHECK(tailor::recall_at_k(ranked, relevant, 5) == Approx(2.0 / 3));
    CHECK(tailor::recall_at_k(ranked, relevant, 2) == Approx(1.0 / 3));
    CHECK(tailor::hit_rate_at_k(ranked, relevant, 1) == 0.0);
    CHECK(tailor::hit_rate_at_k(ranked, relevant, 2) == 1.0);
    CHECK(tailor::reciprocal_rank_at_k(ranked, relevant, 5) == Approx(0.5));
    CHECK(tailor::reciprocal_rank_at_k(ranked, relevant, 1) == 0.0);
  }
  SECTION("average precision, both denominators") {
    // Precision at the hits: 1/2 and 2/4; sum 1.
    using tailor::MapDenominator;
    CHECK(tailor::average_precision_at_k(ranked, relevant, 5) == Approx(1.0 / 3));
    CHECK(tailor::average_precision_at_k(ranked, relevant, 5, MapDenominator::relevant_count) ==
          Approx(1.0 / 3));
    // At k = 2 only the hit at rank 2 counts: 0.5 / min(3, 2) versus 0.5 / 3.
    CHECK(tailor::average_precision_at_k(ranked, relevant, 2) == Approx(0.25));
    CHECK(tailor::average_precision_at_k(ranked, relevant, 2, MapDenominator::relevant_count) ==
          Approx(1.0 / 6));
    // A perfect list scores 1 with min(|R|, k), not with |R| when |R| > k.
    const std::vector<Index> perfect = {1, 3, 4};
    CHECK(tailor::average_precision_at_k(perfect, relevant, 2) == Approx(1.0));
    CHECK(tailor::average_precision_at_k(perfect, relevant, 2, MapDenominator::relevant_count) ==
          Approx(2.0 / 3));
  }
  SECTION("binary nDCG") {
    // DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3) + 1/log2(4).
    CHECK(tailor::ndcg_at_k(ranked, relevant, 5) == Approx(0.49818925746641285).epsilon(1e-12));
    const std::vector<Index> perfect = {3, 1, 4, 8};
    CHECK(tailor::ndcg_at_k(perfect, relevant, 3) == Approx(1.0));
    CHECK(tailor::ndcg_at_k(perfect, relevant, 10) == Approx(1.0));
  }
  SECTION("k larger than the list") {
    CHECK(tailor::precision_at_k(ranked, relevant, 10) == Approx(0.2));  // divided by k, not |L|
    CHECK(tailor::recall_at_k(ranked, relevant, 10) == Approx(2.0 / 3));
    CHECK(tailor::ndcg_at_k(ranked, relevant, 10) == Approx(0.49818925746641285));
    CHECK(tailor::average_precision_at_k(ranked, relevant, 10) == Approx(1.0 / 3));
    CHECK(tailor::precision_at_k({}, relevant, 3) == 0.0);
  }
  SECTION("no relevant items: undefined") {
    CHECK(std::isnan(tailor::precision_at_k(ranked, {}, 5)));
    CHECK(std::isnan(tailor::recall_at_k(ranked, {}, 5)));
    CHECK(std::isnan(tailor::ndcg_at_k(ranked, std::vector<Index>{}, 5)));
    CHECK(std::isnan(tailor::average_precision_at_k(ranked, {}, 5)));
    CHECK(std::isnan(tailor::reciprocal_rank_at_k(ranked, {}, 5)));
    CHECK(std::isnan(tailor::hit_rate_at_k(ranked, {}, 5)));
    CHECK(std::isnan(tailor::ndcg_at_k(ranked, std::vector<tailor::GradedItem>{{1, 0.0}}, 5)));
  }
  SECTION("bad input") {
    CHECK_THROWS_AS(tailor::precision_at_k(ranked, relevant, 0), tailor::Error);
    CHECK_THROWS_AS(tailor::ndcg_at_k({1, 2, 1}, relevant, 2), tailor::Error);
    try {
      tailor::recall_at_k({7, 2, 7}, relevant, 3);
      FAIL("no throw");
    } catch (const tailor::Error& e) {
      CHECK(e.code() == tailor::ErrorCode::invalid_argument);
      CHECK(std::string(e.what()).find("item 7 twice") != std::string::npos);
    }
    using G = tailor::GradedItem;
    CHECK_THROWS_AS(tailor::ndcg_at_k(ranked, std::vector<G>{{1, -1.0}}, 3), tailor::Error);
    CHECK_THROWS_AS(tailor::ndcg_at_k(ranked, std::vector<G>{{1, 1.0}, {1, 2.0}}, 3),
                    tailor::Error);
  }
}

TEST_CASE("graded nDCG, linear and exponential gain", "[metrics]") {
  using G = tailor::GradedItem;
  const std::vector<Index> ranked = {0, 1, 2};
  const std::vector<G> gains = {{0, 1.0}, {2, 3.0}, {5, 2.0}};
  // Linear: DCG = 1 + 3/log2(4) = 2.5, IDCG = 3 + 2/log2(3) + 1/log2(4).
  CHECK(tailor::ndcg_at_k(ranked, gains, 3) == Approx(0.5250049893849101).epsilon(1e-12));
  // Exponential: DCG = 1 + 7/2, IDCG = 7 + 3/log2(3) + 1/2.
  CHECK(tailor::ndcg_at_k(ranked, gains, 3, tailor::Gain::exponential) ==
        Approx(0.47909091485969846).epsilon(1e-12));
  // Binary grades give the binary value.
  CHECK(tailor::ndcg_at_k({5, 1, 7, 3, 9}, std::vector<G>{{1, 1}, {3, 1}, {4, 1}}, 5) ==
        Approx(0.49818925746641285));
}

TEST_CASE("nDCG from scores matches scikit-learn's ndcg_score", "[metrics][sklearn]") {
  const std::string path = std::string(TAILOR_TEST_SOURCE_DIR) + "/tests/fixtures/sklearn_ndcg.json";
  std::ifstream in(path);
  REQUIRE(in.good());
  const auto fixture = nlohmann::json::parse(in);
  const auto& cases = fixture.at("cases");
  REQUIRE(cases.size() >= 15);
  std::size_t rows_checked = 0;
  std::size_t tie_cases = 0;
  for (const auto& c : cases) {
    INFO("case " << c.at("name").get<std::string>());
    const std::size_t k = c.at("k").is_null() ? 0 : c.at("k").get<std::size_t>();
    const bool ignore_ties = c.at("ignore_ties").get<bool>();
    tie_cases += ignore_ties ? 0 : 1;
    const auto& y_true = c.at("y_true");
    const auto& y_score = c.at("y_score");
    const auto& expected = c.at("per_sample");
    double sum = 0.0;
    for (std::size_t r = 0; r < y_true.size(); ++r) {
      const auto gains = y_true[r].get<std::vector<double>>();
      std::vector<float> scores;
      for (double s : y_score[r].get<std::vector<double>>()) scores.push_back(static_cast<float>(s));
      const double got = tailor::ndcg_from_scores(gains, scores, k, !ignore_ties);
      CHECK(got == Approx(expected[r].get<double>()).margin(1e-6));
      sum += got;
      ++rows_checked;
    }
    CHECK(sum / static_cast<double>(y_true.size()) == Approx(c.at("mean").get<double>()).margin(1e-6));
  }
  CHECK(rows_checked >= 100);
  CHECK(tie_cases >= 5);
}

TEST_CASE("nDCG from scores: tie averaging by hand", "[metrics]") {
  // Scores tie items 0 and 1 at the top: each of ranks 1 and 2 gets gain (2 + 0) / 2.
  const std::vector<double> gains = {2, 0, 1};
  const std::vector<float> scores = {0.5f, 0.5f, 0.1f};
  const double d2 = 1.0 / std::log2(3.0);
  const double idcg = 2 + 1 * d2 + 0 * 0.5;
  CHECK(tailor::ndcg_from_scores(gains, scores, 0, true) == Approx((1 + 1 * d2 + 1 * 0.5) / idcg));
  // Without averaging the lower index wins the tie: gains 2, 0, 1 in that order.
  CHECK(tailor::ndcg_from_scores(gains, scores, 0, false) == Approx((2 + 0 * d2 + 1 * 0.5) / idcg));
  // Cut inside the tied group: only rank 1 counts, at the mean gain 1 of the group.
  CHECK(tailor::ndcg_from_scores(gains, scores, 1, true) == Approx(0.5));
  CHECK(std::isnan(tailor::ndcg_from_scores({0, 0}, {1.0f, 2.0f}, 0)));
  CHECK_THROWS_AS(tailor::ndcg_from_scores({1, 0}, {1.0f}, 0), tailor::Error);
}

TEST_CASE("AUC with ties and exclusions", "[metrics]") {
  const std::vector<float> scores = {0.9f, 0.1f, 0.5f, 0.5f, 0.3f};
  // Positives 0.9 and 0.5 against negatives 0.1, 0.5, 0.3: 3 + (1 + 0.5 + 1) of 6 pairs.
  CHECK(tailor::auc(scores, {0, 3}) == Approx(5.5 / 6));
  CHECK(tailor::auc(scores, {0, 3}, {4}) == Approx(3.5 / 4));
  CHECK(tailor::auc(scores, {0}) == Approx(1.0));
  CHECK(tailor::auc(scores, {1}) == Approx(0.0));
  CHECK(std::isnan(tailor::auc(scores, {})));
  CHECK(std::isnan(tailor::auc(scores, {0, 1, 2, 3, 4})));
  CHECK(std::isnan(tailor::auc(scores, {0}, {1, 2, 3, 4})));
  CHECK_THROWS_AS(tailor::auc(scores, {5}), tailor::Error);
}

TEST_CASE("beyond-accuracy metrics", "[metrics]") {
  SECTION("catalog coverage") {
    CHECK(tailor::catalog_coverage({{0, 1}, {1, 2}, {}}, 5) == Approx(0.6));
    CHECK(tailor::catalog_coverage({}, 5) == 0.0);
    CHECK_THROWS_AS(tailor::catalog_coverage({{5}}, 5), tailor::Error);
  }
  SECTION("novelty") {
    // -log2 of 4/4, 2/4, 1/4 and (0 counted as 1)/4.
    CHECK(tailor::novelty({{0, 1}, {2, 3}}, {4, 2, 1, 0}, 4) == Approx(1.25));
    CHECK(std::isnan(tailor::novelty({{}, {}}, {4, 2, 1, 0}, 4)));
    CHECK_THROWS_AS(tailor::novelty({{0}}, {5}, 4), tailor::Error);
  }
  SECTION("intra-list diversity, dense and sparse agree") {
    tailor::RowMatrix v(4, 2);
    v << 1, 0, 0, 1, 1, 1, 0, 0;
    const std::vector<std::vector<Index>> lists = {{0, 1, 2}, {0}};
    const double expected = (1 + 2 * (1 - 1 / std::sqrt(2.0))) / 3;
    CHECK(tailor::intra_list_diversity(lists, v) == Approx(expected));
    const tailor::SparseMatrix sv = v.sparseView();
    CHECK(tailor::intra_list_diversity(lists, sv) == Approx(expected));
    // A zero vector is dissimilar to everything.
    CHECK(tailor::intra_list_diversity({{2, 3}}, v) == Approx(1.0));
    CHECK(std::isnan(tailor::intra_list_diversity({{1}, {}}, v)));
    CHECK_THROWS_AS(tailor::intra_list_diversity({{0, 4}}, v), tailor::Error);
  }
  SECTION("popularity bias") {
    const std::vector<std::size_t> pop = {10, 5, 1, 0};
    const auto b = tailor::popularity_bias({{0, 1}, {2}, {}}, pop, 10, 0.25);
    CHECK(b.average_popularity == Approx((0.75 + 0.1) / 2));
    CHECK(b.head_slot_share == Approx(1.0 / 3));
    // Recommendation counts {1, 1, 1, 0}: Gini (-1 + 1 + 3) / (4 * 3).
    CHECK(b.gini == Approx(0.25));
    const auto even = tailor::popularity_bias({{0, 1}, {2, 3}}, pop, 10, 0.5);
    CHECK(even.gini == Approx(0.0));
    CHECK(even.head_slot_share == Approx(0.5));
    const auto concentrated = tailor::popularity_bias({{0}, {0}, {0}}, pop, 10, 0.25);
    CHECK(concentrated.gini == Approx(0.75));  // (n - 1) / n for one item out of four
    CHECK(std::isnan(tailor::popularity_bias({{}}, pop, 10).gini));
    CHECK_THROWS_AS(tailor::popularity_bias({{0}}, pop, 10, 0.0), tailor::Error);
  }
  SECTION("item popularity counts users, ignoring stored zeros") {
    const auto m = csr(3, 3, {{0, 0, 1.f}, {1, 0, 5.f}, {2, 1, 1.f}, {2, 2, 0.f}});
    CHECK(tailor::item_popularity(m) == std::vector<std::size_t>{2, 1, 0});
  }
}

TEST_CASE("evaluate_ranking averages over users with test items", "[metrics]") {
  // User 0: relevant {1, 2}; user 1: none (skipped); user 2: relevant {0} with grade 3.
  const auto test = csr(3, 4, {{0, 1, 1.f}, {0, 2, 2.f}, {2, 0, 3.f}, {1, 3, 0.f}});
  const std::vector<std::vector<Index>> recs = {{2, 3}, {0, 1}, {1, 0}};
  tailor::RankingOptions opt;
  opt.k = 2;
  const auto m = tailor::evaluate_ranking(recs, test, opt);
  CHECK(m.users_evaluated == 2);
  CHECK(m.users_skipped == 1);
  CHECK(m.precision == Approx((0.5 + 0.5) / 2));
  CHECK(m.recall == Approx((0.5 + 1.0) / 2));
  CHECK(m.hit_rate == Approx(1.0));
  CHECK(m.mrr == Approx((1.0 + 0.5) / 2));
  CHECK(m.map == Approx((0.5 + 0.5) / 2));
  const double d2 = 1.0 / std::log2(3.0);
  CHECK(m.ndcg == Approx((1.0 / (1 + d2) + d2) / 2));
  opt.graded = true;
  const auto g = tailor::evaluate_ranking(recs, test, opt);
  // User 0: DCG 2, IDCG 2 + 1/log2(3); user 2: d2 / 1 (grade 3 cancels).
  CHECK(g.ndcg == Approx((2.0 / (2 + d2) + d2) / 2));
  CHECK_THROWS_AS(tailor::evaluate_ranking({{}}, test, opt), tailor::Error);
  opt.k = 0;
  CHECK_THROWS_AS(tailor::evaluate_ranking(recs, test, opt), tailor::Error);
  const auto [mean, n] = tailor::mean_defined({1.0, std::nan(""), 3.0});
  CHECK(mean == Approx(2.0));
  CHECK(n == 2);
}

TEST_CASE("AUC and nDCG agree with brute force on random data", "[metrics]") {
  std::uint64_t state = 99;
  auto next = [&state]() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(state >> 33);
  };
  for (int trial = 0; trial < 50; ++trial) {
    const std::size_t n = 5 + next() % 40;
    std::vector<float> scores(n);
    std::vector<double> gains(n, 0.0);
    std::vector<Index> relevant;
    std::vector<Index> exclude;
    std::vector<tailor::GradedItem> graded;
    for (std::size_t i = 0; i < n; ++i) {
      scores[i] = static_cast<float>(next() % 8);  // many ties
      const auto roll = next() % 10;
      if (roll < 3) {
        relevant.push_back(static_cast<Index>(i));
        gains[i] = 1 + next() % 3;
        graded.push_back({static_cast<Index>(i), gains[i]});
      } else if (roll == 3) {
        exclude.push_back(static_cast<Index>(i));
      }
    }
    // AUC: count every (positive, negative) pair among the non-excluded items.
    double wins = 0.0;
    double pairs = 0.0;
    auto excluded = [&](Index i) {
      return std::find(exclude.begin(), exclude.end(), i) != exclude.end();
    };
    for (Index p : relevant) {
      for (Index q = 0; q < n; ++q) {
        if (gains[q] > 0 || excluded(q)) continue;
        pairs += 1;
        wins += scores[p] > scores[q] ? 1.0 : scores[p] == scores[q] ? 0.5 : 0.0;
      }
    }
    // Relevant items are never excluded here (a relevant roll wins), so all positives count.
    const double a = tailor::auc(scores, relevant, exclude);
    if (relevant.empty() || pairs == 0) {
      CHECK(std::isnan(a));
    } else {
      CHECK(a == Approx(wins / pairs).margin(1e-12));
    }
    // nDCG from scores without tie averaging ranks by (score desc, index asc): the same list the
    // list-based graded nDCG scores.
    if (relevant.empty()) continue;
    std::vector<Index> order(n);
    for (Index i = 0; i < n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](Index x, Index y) {
      return scores[x] != scores[y] ? scores[x] > scores[y] : x < y;
    });
    for (std::size_t k : {std::size_t{1}, std::size_t{3}, std::size_t{10}, n}) {
      CHECK(tailor::ndcg_from_scores(gains, scores, k, false) ==
            Approx(tailor::ndcg_at_k(order, graded, k)).margin(1e-12));
    }
  }
}
