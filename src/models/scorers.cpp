// tailor: baseline recommenders (see include/tailor/models/scorers.hpp).
#include "tailor/models/scorers.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "tailor/core/error.hpp"
#include "internal/thread_pool.hpp"
#include "internal/random.hpp"

namespace tailor {
namespace {

constexpr Index kMaxCategories = Index{1} << 24;

// Throws unless every stored value is finite and >= 0.
void check_interactions(const SparseMatrix& m, const char* where) {
  for (Eigen::Index u = 0; u < m.outerSize(); ++u) {
    for (SparseMatrix::InnerIterator it(m, u); it; ++it) {
      if (!std::isfinite(it.value()) || it.value() < 0.0f) {
        TAILOR_THROW(invalid_argument, where << ": interaction (user " << u << ", item " << it.index()
                                             << ") has value " << it.value()
                                             << ", expected finite and >= 0");
      }
    }
  }
}

void check_buffer(std::size_t out_size, std::size_t n_items, const char* where) {
  if (out_size != n_items) {
    TAILOR_THROW(invalid_argument, where << ": score buffer has " << out_size
                                         << " entries, the model has " << n_items << " items");
  }
}

// A compressed copy of `m` without stored zeros, every value replaced by 1 when `binarize`.
SparseMatrix cleaned(const SparseMatrix& m, bool binarize) {
  SparseMatrix out(m.rows(), m.cols());
  out.reserve(m.nonZeros());
  for (Eigen::Index u = 0; u < m.outerSize(); ++u) {
    out.startVec(u);
    for (SparseMatrix::InnerIterator it(m, u); it; ++it) {
      if (it.value() == 0.0f) continue;
      out.insertBack(u, it.index()) = binarize ? 1.0f : it.value();
    }
  }
  out.finalize();
  out.makeCompressed();
  return out;
}

std::vector<Index> sorted_copy(Span<const Index> v) {
  std::vector<Index> s(v.begin(), v.end());
  std::sort(s.begin(), s.end());
  return s;
}

// First `k` items of `ranked` (already in final order) that are not in `sorted_exclude`.
std::vector<ScoredItem> first_k_not_excluded(const std::vector<Index>& ranked,
                                             const std::vector<float>& scores, std::size_t k,
                                             const std::vector<Index>& sorted_exclude) {
  std::vector<ScoredItem> out;
  out.reserve(std::min(k, ranked.size()));
  for (Index i : ranked) {
    if (out.size() >= k) break;
    if (std::binary_search(sorted_exclude.begin(), sorted_exclude.end(), i)) continue;
    out.push_back({i, scores[i]});
  }
  return out;
}

std::uint64_t mix64(std::uint64_t x) { return detail::mix64(x + detail::kGoldenGamma); }

}  // namespace

std::vector<Index> row_items(const SparseMatrix& interactions, Index user) {
  if (user >= static_cast<std::size_t>(interactions.rows())) {
    TAILOR_THROW(invalid_argument, "row_items: user " << user << " but the matrix has "
                                                      << interactions.rows() << " rows");
  }
  std::vector<Index> items;
  for (SparseMatrix::InnerIterator it(interactions, static_cast<Eigen::Index>(user)); it; ++it) {
    if (it.value() != 0.0f) items.push_back(static_cast<Index>(it.index()));
  }
  std::sort(items.begin(), items.end());
  return items;
}

// ---- Scorer ---------------------------------------------------------------------------------------

std::vector<float> Scorer::score(Index user) const {
  std::vector<float> out(n_items());
  score(user, out.data(), out.size());
  return out;
}

std::vector<ScoredItem> Scorer::recommend(Index user, std::size_t k,
                                          Span<const Index> exclude) const {
  const std::vector<float> scores = score(user);
  return top_k(scores, k, exclude);
}

// ---- FunctionScorer -------------------------------------------------------------------------------

FunctionScorer::FunctionScorer(std::size_t n_items, Function fn)
    : n_items_(n_items), fn_(std::move(fn)) {
  if (!fn_) TAILOR_THROW(invalid_argument, "FunctionScorer: the scoring function is empty");
}

void FunctionScorer::score(Index user, float* out, std::size_t out_size) const {
  check_buffer(out_size, n_items_, "FunctionScorer::score");
  fn_(user, out, out_size);
}

// ---- ALSScorer ------------------------------------------------------------------------------------

ALSScorer::ALSScorer(const ALSFactorizer& model) : model_(&model) {
  if (!model.fitted()) TAILOR_THROW(not_fitted, "ALSScorer: the ALSFactorizer is not fitted");
}

std::size_t ALSScorer::n_items() const { return static_cast<std::size_t>(model_->items()); }

void ALSScorer::score(Index user, float* out, std::size_t out_size) const {
  check_buffer(out_size, n_items(), "ALSScorer::score");
  if (user >= model_->users()) {
    TAILOR_THROW(invalid_argument, "ALSScorer::score: user " << user << " but the model has "
                                                            << model_->users() << " users");
  }
  const RowMatrix& items = model_->item_factors();
  Eigen::Map<Eigen::VectorXf> scores(out, static_cast<Eigen::Index>(out_size));
  scores.noalias() = items * model_->user_factors().row(static_cast<Eigen::Index>(user)).transpose();
}

// ---- PopularityScorer ------------------------------------------------------------------------

void PopularityOptions::validate() const {
  if (!std::isfinite(half_life) || half_life < 0.0) {
    TAILOR_THROW(invalid_argument,
                 "PopularityOptions: half_life must be finite and >= 0, got " << half_life);
  }
}

PopularityScorer::PopularityScorer(PopularityOptions options) : options_(options) {
  options_.validate();
}

void PopularityScorer::fit(const SparseMatrix& interactions) {
  if (options_.half_life > 0.0) {
    TAILOR_THROW(invalid_argument, "PopularityScorer::fit: half_life = " << options_.half_life
                                       << " needs timestamps; call fit(interactions, timestamps, now)");
  }
  check_interactions(interactions, "PopularityScorer::fit");
  std::vector<double> pop(static_cast<std::size_t>(interactions.cols()), 0.0);
  for (Eigen::Index u = 0; u < interactions.outerSize(); ++u) {
    for (SparseMatrix::InnerIterator it(interactions, u); it; ++it) {
      if (it.value() == 0.0f) continue;
      pop[static_cast<std::size_t>(it.index())] += options_.use_values ? it.value() : 1.0;
    }
  }
  popularity_.assign(pop.begin(), pop.end());
  finish_fit();
}

void PopularityScorer::fit(const SparseMatrix& interactions,
                                const std::vector<std::int64_t>& timestamps, std::int64_t now) {
  if (!interactions.isCompressed()) {
    TAILOR_THROW(invalid_argument,
                 "PopularityScorer::fit: the matrix must be compressed so that timestamps "
                 "line up with its stored entries (call makeCompressed())");
  }
  if (timestamps.size() != static_cast<std::size_t>(interactions.nonZeros())) {
    TAILOR_THROW(invalid_argument, "PopularityScorer::fit: " << timestamps.size()
                                       << " timestamps for " << interactions.nonZeros()
                                       << " stored interactions");
  }
  check_interactions(interactions, "PopularityScorer::fit");
  std::vector<double> pop(static_cast<std::size_t>(interactions.cols()), 0.0);
  const auto* outer = interactions.outerIndexPtr();
  const auto* inner = interactions.innerIndexPtr();
  const float* values = interactions.valuePtr();
  for (Eigen::Index u = 0; u < interactions.rows(); ++u) {
    for (auto e = outer[u]; e < outer[u + 1]; ++e) {
      const auto entry = static_cast<std::size_t>(e);
      if (values[entry] == 0.0f) continue;
      double weight = options_.use_values ? values[entry] : 1.0;
      if (options_.half_life > 0.0) {
        // Age in double: int64 differences can overflow only for absurd timestamps; clamp those.
        const double age = std::max(0.0, static_cast<double>(now) - static_cast<double>(timestamps[entry]));
        weight *= std::exp2(-age / options_.half_life);
      }
      pop[static_cast<std::size_t>(inner[entry])] += weight;
    }
  }
  popularity_.assign(pop.begin(), pop.end());
  finish_fit();
}

void PopularityScorer::finish_fit() {
  ranked_.resize(popularity_.size());
  std::iota(ranked_.begin(), ranked_.end(), Index{0});
  std::stable_sort(ranked_.begin(), ranked_.end(),
                   [&](Index a, Index b) { return popularity_[a] > popularity_[b]; });
  // Regroup categories for the new ranking; drop them if the item count changed.
  if (!by_category_.empty()) {
    std::size_t grouped = 0;
    for (const auto& c : by_category_) grouped += c.size();
    if (grouped != popularity_.size()) {
      by_category_.clear();
    } else {
      std::vector<Index> category(popularity_.size());
      for (Index c = 0; c < by_category_.size(); ++c) {
        for (Index i : by_category_[c]) category[i] = c;
      }
      fitted_ = true;
      set_categories(category);
    }
  }
  fitted_ = true;
}

void PopularityScorer::set_categories(const std::vector<Index>& item_category) {
  if (!fitted_) TAILOR_THROW(not_fitted, "PopularityScorer::set_categories: call fit first");
  if (item_category.size() != popularity_.size()) {
    TAILOR_THROW(invalid_argument, "PopularityScorer::set_categories: "
                                       << item_category.size() << " categories for "
                                       << popularity_.size() << " items");
  }
  Index n_categories = 0;
  for (std::size_t i = 0; i < item_category.size(); ++i) {
    if (item_category[i] >= kMaxCategories) {
      TAILOR_THROW(invalid_argument, "PopularityScorer::set_categories: item " << i
                                         << " has category " << item_category[i]
                                         << ", expected < " << kMaxCategories);
    }
    n_categories = std::max(n_categories, item_category[i] + 1);
  }
  std::vector<std::vector<Index>> groups(n_categories);
  for (Index i : ranked_) groups[item_category[i]].push_back(i);
  by_category_ = std::move(groups);
}

std::vector<ScoredItem> PopularityScorer::recommend_in_category(
    Index category, std::size_t k, Span<const Index> exclude) const {
  if (!fitted_) TAILOR_THROW(not_fitted, "PopularityScorer::recommend_in_category: not fitted");
  if (by_category_.empty() && !popularity_.empty()) {
    TAILOR_THROW(invalid_argument,
                 "PopularityScorer::recommend_in_category: call set_categories first");
  }
  if (category >= by_category_.size()) return {};
  return first_k_not_excluded(by_category_[category], popularity_, k, sorted_copy(exclude));
}

void PopularityScorer::score(Index /*user*/, float* out, std::size_t out_size) const {
  if (!fitted_) TAILOR_THROW(not_fitted, "PopularityScorer::score: not fitted");
  check_buffer(out_size, popularity_.size(), "PopularityScorer::score");
  std::copy(popularity_.begin(), popularity_.end(), out);
}

std::vector<ScoredItem> PopularityScorer::recommend(Index /*user*/, std::size_t k,
                                                         Span<const Index> exclude) const {
  if (!fitted_) TAILOR_THROW(not_fitted, "PopularityScorer::recommend: not fitted");
  return first_k_not_excluded(ranked_, popularity_, k, sorted_copy(exclude));
}

// ---- ItemKnnScorer ---------------------------------------------------------------------------


ItemKnnScorer::ItemKnnScorer(ItemKnnOptions options) : options_(options) {
  options_.validate();
}

void ItemKnnScorer::fit(const SparseMatrix& interactions) {
  check_interactions(interactions, "ItemKnnScorer::fit");
  if (interactions.rows() > static_cast<Eigen::Index>(UINT32_MAX) ||
      interactions.cols() > static_cast<Eigen::Index>(UINT32_MAX)) {
    TAILOR_THROW(invalid_argument, "ItemKnnScorer::fit: matrix too large");
  }
  SparseMatrix train = cleaned(interactions, options_.binarize);
  const auto n_users = static_cast<std::size_t>(train.rows());
  const auto n_items = static_cast<std::size_t>(train.cols());

  // w: the weights whose column products give c(i, j).
  SparseMatrix w = train;
  if (options_.similarity == Similarity::bm25) {
    std::vector<double> df(n_items, 0.0);
    std::vector<double> length(n_users, 0.0);
    double total_length = 0.0;
    std::size_t active_users = 0;
    for (std::size_t u = 0; u < n_users; ++u) {
      for (SparseMatrix::InnerIterator it(train, static_cast<Eigen::Index>(u)); it; ++it) {
        df[static_cast<std::size_t>(it.index())] += 1.0;
        length[u] += it.value();
      }
      if (length[u] > 0.0) {
        total_length += length[u];
        ++active_users;
      }
    }
    const double avg_length = active_users == 0 ? 1.0 : total_length / static_cast<double>(active_users);
    const double k1 = options_.bm25_k1;
    const double b = options_.bm25_b;
    for (std::size_t u = 0; u < n_users; ++u) {
      const double norm = k1 * (1.0 - b + b * length[u] / avg_length);
      for (SparseMatrix::InnerIterator it(w, static_cast<Eigen::Index>(u)); it; ++it) {
        const double d = df[static_cast<std::size_t>(it.index())];
        const double idf = std::log1p((static_cast<double>(n_users) - d + 0.5) / (d + 0.5));
        const double x = it.value();
        it.valueRef() = static_cast<float>(x * (k1 + 1.0) / (x + norm) * idf);
      }
    }
  }
  const SparseMatrix wt = w.transpose();  // item x user

  std::vector<double> norms;
  if (options_.similarity == Similarity::cosine) {
    norms.resize(n_items);
    for (std::size_t i = 0; i < n_items; ++i) norms[i] = wt.row(static_cast<Eigen::Index>(i)).norm();
  }

  // One row of the neighbour matrix per item, on the library's pool; each worker owns a dense
  // accumulator. Rows are independent, so the result does not depend on the thread count.
  std::vector<std::vector<std::pair<Index, float>>> rows(n_items);
  constexpr std::size_t kBlock = 64;
  const std::size_t keep = options_.neighbors;
  const Similarity kind = options_.similarity;
  const double shrinkage = options_.shrinkage;
  detail::ThreadPool pool(options_.threads);
  struct Scratch {
    std::vector<double> acc;
    std::vector<char> touched_mark;
    std::vector<Index> touched;
    std::vector<std::pair<Index, float>> candidates;
  };
  std::vector<Scratch> scratch(pool.size());
  pool.parallel_for(0, n_items, kBlock, [&](std::size_t begin, std::size_t end, std::size_t worker) {
    Scratch& sc = scratch[worker];
    if (sc.acc.size() != n_items) {
      sc.acc.assign(n_items, 0.0);
      sc.touched_mark.assign(n_items, 0);
    }
    std::vector<double>& acc = sc.acc;
    std::vector<char>& touched_mark = sc.touched_mark;
    std::vector<Index>& touched = sc.touched;
    std::vector<std::pair<Index, float>>& candidates = sc.candidates;
    for (std::size_t i = begin; i < end; ++i) {
      touched.clear();
      for (SparseMatrix::InnerIterator ui(wt, static_cast<Eigen::Index>(i)); ui; ++ui) {
        const double w_ui = ui.value();
        for (SparseMatrix::InnerIterator uj(w, ui.index()); uj; ++uj) {
          const auto j = static_cast<Index>(uj.index());
          if (j == i) continue;
          if (!touched_mark[j]) {
            touched_mark[j] = 1;
            touched.push_back(j);
          }
          acc[j] += w_ui * uj.value();
        }
      }
      candidates.clear();
      for (Index j : touched) {
        double s = acc[j];
        if (kind == Similarity::cosine) {
          const double denom = norms[i] * norms[j] + shrinkage;
          s = denom > 0.0 ? s / denom : 0.0;
        }
        const auto sf = static_cast<float>(s);
        if (sf > 0.0f) candidates.emplace_back(j, sf);
        acc[j] = 0.0;
        touched_mark[j] = 0;
      }
      auto better = [](const std::pair<Index, float>& a, const std::pair<Index, float>& b) {
        if (a.second != b.second) return a.second > b.second;
        return a.first < b.first;
      };
      if (candidates.size() > keep) {
        std::nth_element(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(keep),
                         candidates.end(), better);
        candidates.resize(keep);
      }
      std::sort(candidates.begin(), candidates.end());  // by column index for CSR
      rows[i] = candidates;
    }
  });

  std::size_t nnz = 0;
  for (const auto& r : rows) nnz += r.size();
  if (nnz > static_cast<std::size_t>(INT32_MAX)) {
    TAILOR_THROW(invalid_argument, "ItemKnnScorer::fit: " << nnz
                                       << " neighbour entries exceed the 2^31 - 1 limit; lower neighbors");
  }
  SparseMatrix sim(static_cast<Eigen::Index>(n_items), static_cast<Eigen::Index>(n_items));
  sim.reserve(static_cast<Eigen::Index>(nnz));
  for (std::size_t i = 0; i < n_items; ++i) {
    sim.startVec(static_cast<Eigen::Index>(i));
    for (const auto& [j, s] : rows[i]) {
      sim.insertBack(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = s;
    }
  }
  sim.finalize();
  sim.makeCompressed();

  train_ = std::move(train);
  similarity_ = std::move(sim);
  fitted_ = true;
}

std::vector<ScoredItem> ItemKnnScorer::similar_items(Index item, std::size_t k,
                                                          Span<const Index> exclude) const {
  if (!fitted_) TAILOR_THROW(not_fitted, "ItemKnnScorer::similar_items: not fitted");
  if (item >= n_items()) {
    TAILOR_THROW(invalid_argument, "ItemKnnScorer::similar_items: item " << item
                                       << " but the model has " << n_items() << " items");
  }
  const std::vector<Index> skip = sorted_copy(exclude);
  std::vector<ScoredItem> out;
  for (SparseMatrix::InnerIterator it(similarity_, static_cast<Eigen::Index>(item)); it; ++it) {
    const auto j = static_cast<Index>(it.index());
    if (std::binary_search(skip.begin(), skip.end(), j)) continue;
    out.push_back({j, it.value()});
  }
  std::sort(out.begin(), out.end(), ranks_before);
  if (out.size() > k) out.resize(k);
  return out;
}

void ItemKnnScorer::score_history(const std::vector<Index>& items,
                                       const std::vector<float>& weights, float* out,
                                       std::size_t out_size) const {
  if (!fitted_) TAILOR_THROW(not_fitted, "ItemKnnScorer::score_history: not fitted");
  check_buffer(out_size, n_items(), "ItemKnnScorer::score_history");
  if (!weights.empty() && weights.size() != items.size()) {
    TAILOR_THROW(invalid_argument, "ItemKnnScorer::score_history: " << weights.size()
                                       << " weights for " << items.size() << " items");
  }
  std::fill(out, out + out_size, 0.0f);
  for (std::size_t h = 0; h < items.size(); ++h) {
    const Index i = items[h];
    if (i >= n_items()) {
      TAILOR_THROW(invalid_argument, "ItemKnnScorer::score_history: item " << i
                                         << " but the model has " << n_items() << " items");
    }
    const float x = weights.empty() ? 1.0f : weights[h];
    if (!std::isfinite(x)) {
      TAILOR_THROW(invalid_argument, "ItemKnnScorer::score_history: weight " << h << " is " << x);
    }
    for (SparseMatrix::InnerIterator it(similarity_, static_cast<Eigen::Index>(i)); it; ++it) {
      out[it.index()] += x * it.value();
    }
  }
}

void ItemKnnScorer::score(Index user, float* out, std::size_t out_size) const {
  if (!fitted_) TAILOR_THROW(not_fitted, "ItemKnnScorer::score: not fitted");
  check_buffer(out_size, n_items(), "ItemKnnScorer::score");
  if (user >= static_cast<std::size_t>(train_.rows())) {
    TAILOR_THROW(invalid_argument, "ItemKnnScorer::score: user " << user
                                       << " but the model was fitted on " << train_.rows()
                                       << " users (use score_history for others)");
  }
  std::fill(out, out + out_size, 0.0f);
  for (SparseMatrix::InnerIterator ui(train_, static_cast<Eigen::Index>(user)); ui; ++ui) {
    const float x = ui.value();
    for (SparseMatrix::InnerIterator it(similarity_, ui.index()); it; ++it) {
      out[it.index()] += x * it.value();
    }
  }
}

// ---- RandomScorer ----------------------------------------------------------------------------

void RandomScorer::fit(const SparseMatrix& interactions) {
  n_items_ = static_cast<std::size_t>(interactions.cols());
  fitted_ = true;
}

void RandomScorer::score(Index user, float* out, std::size_t out_size) const {
  if (!fitted_) TAILOR_THROW(not_fitted, "RandomScorer::score: not fitted");
  check_buffer(out_size, n_items_, "RandomScorer::score");
  const std::uint64_t salt = mix64(seed_);
  for (std::size_t i = 0; i < n_items_; ++i) {
    const std::uint64_t key = (static_cast<std::uint64_t>(user) << 32) | static_cast<std::uint64_t>(i);
    // The top 24 bits, exactly representable in a float: a value in [0, 1).
    out[i] = static_cast<float>(mix64(key ^ salt) >> 40) * (1.0f / 16777216.0f);
  }
}

}  // namespace tailor
