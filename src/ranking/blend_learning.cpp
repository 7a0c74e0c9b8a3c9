#include "tailor/ranking/blend_learning.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "tailor/core/error.hpp"
#include "tailor/evaluation/metrics.hpp"
#include "internal/thread_pool.hpp"

namespace tailor {

void BlendSearchOptions::validate() const {
  if (k == 0) TAILOR_THROW(invalid_argument, "BlendSearchOptions.k = 0, expected >= 1");
  if (passes < 1)
    TAILOR_THROW(invalid_argument, "BlendSearchOptions.passes = " << passes << ", expected >= 1");
  const std::pair<const char*, const std::vector<float>*> grids[] = {
      {"user_half_grid", &user_half_grid}, {"item_half_grid", &item_half_grid},
      {"bridge_grid", &bridge_grid},       {"knn_grid", &knn_grid},
      {"content_grid", &content_grid},     {"popular_grid", &popular_grid},
      {"trending_grid", &trending_grid}};
  for (const auto& [name, grid] : grids) {
    if (grid->empty()) TAILOR_THROW(invalid_argument, "BlendSearchOptions." << name << " is empty");
    for (std::size_t j = 0; j < grid->size(); ++j) {
      const float v = (*grid)[j];
      if (!std::isfinite(v) || v < 0.0f) {
        TAILOR_THROW(invalid_argument, "BlendSearchOptions." << name << "[" << j << "] = " << v
                                                             << ", expected finite and >= 0");
      }
    }
  }
}

BlendSearchResult learn_blend(const RankerModel& model,
                              const std::vector<BlendValidationCase>& cases,
                              const HybridRankerOptions& start, const BlendSearchOptions& search) {
  search.validate();
  start.validate();
  std::vector<const BlendValidationCase*> usable;
  for (const auto& c : cases) {
    if (!c.relevant.empty()) usable.push_back(&c);
  }
  if (usable.empty()) {
    TAILOR_THROW(invalid_argument,
                 "learn_blend: none of the " << cases.size() << " cases has a relevant item");
  }
  // The requests with k set, copied once.
  std::vector<RankRequest> requests;
  requests.reserve(usable.size());
  for (const auto* c : usable) {
    requests.push_back(c->request);
    requests.back().k = search.k;
  }
  detail::ThreadPool pool(search.threads);
  std::vector<double> per_case(usable.size());
  BlendSearchResult result;
  auto evaluate = [&](const HybridRankerOptions& options) {
    const HybridRanker ranker(model, options);
    pool.parallel_for(0, usable.size(), 8, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t c = lo; c < hi; ++c) {
        const RankResult r = ranker.rank(requests[c]);
        std::vector<Index> ranked;
        ranked.reserve(r.items.size());
        for (const auto& it : r.items) ranked.push_back(it.item);
        per_case[c] = ndcg_at_k(ranked, usable[c]->relevant, search.k);
      }
    });
    ++result.evaluations;
    double sum = 0.0;
    for (double v : per_case) sum += v;
    return sum / static_cast<double>(per_case.size());
  };

  struct Param {
    float HybridRankerOptions::*member;
    const std::vector<float>* grid;
  };
  std::vector<Param> params = {{&HybridRankerOptions::user_half, &search.user_half_grid},
                               {&HybridRankerOptions::item_half, &search.item_half_grid}};
  if (model.cold_item_factors != nullptr && model.item_factors != nullptr) {
    params.push_back({&HybridRankerOptions::bridge_pseudo_count, &search.bridge_grid});
  }
  if (model.neighbors != nullptr)
    params.push_back({&HybridRankerOptions::weight_knn, &search.knn_grid});
  if (model.ease != nullptr && model.ease->fitted())
    params.push_back({&HybridRankerOptions::weight_ease, &search.ease_grid});
  if (model.content != nullptr) {
    params.push_back({&HybridRankerOptions::weight_content, &search.content_grid});
  }
  if (model.popularity != nullptr) {
    params.push_back({&HybridRankerOptions::weight_popular, &search.popular_grid});
  }
  if (model.trending != nullptr) {
    params.push_back({&HybridRankerOptions::weight_trending, &search.trending_grid});
  }

  HybridRankerOptions best = start;
  double best_ndcg = evaluate(best);
  result.start_ndcg = best_ndcg;
  for (int pass = 0; pass < search.passes; ++pass) {
    bool changed = false;
    for (const Param& p : params) {
      for (float value : *p.grid) {
        if (value == best.*(p.member)) continue;
        HybridRankerOptions trial = best;
        trial.*(p.member) = value;
        const double v = evaluate(trial);
        if (v > best_ndcg) {
          best_ndcg = v;
          best = trial;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  result.options = best;
  result.ndcg = best_ndcg;
  return result;
}

}  // namespace tailor
