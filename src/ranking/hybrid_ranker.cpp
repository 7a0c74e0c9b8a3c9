// tailor: HybridRanker (see hybrid_ranker.hpp).
#include "tailor/ranking/hybrid_ranker.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>
#include <utility>

#include "tailor/core/error.hpp"
#include "tailor/models/content_bridge.hpp"
#include "ranking/rule_filter_cache.hpp"

namespace tailor {
namespace {

// Order of a scored list: higher score first, then lower index.
bool better(const PlacementCandidate& a, const PlacementCandidate& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.item < b.item;
}

template <class T>
void check_size(const std::vector<T>* v, std::size_t n, const char* what) {
  if (v != nullptr && v->size() > n) {
    TAILOR_THROW(invalid_argument, "RankerModel." << what << " has " << v->size()
                                                  << " entries, the catalog only " << n
                                                  << " items");
  }
}

void check_finite_nonnegative(const std::vector<float>* v, const char* what, bool nonnegative) {
  if (v == nullptr) return;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const float x = (*v)[i];
    if (!std::isfinite(x) || (nonnegative && x < 0.0f)) {
      TAILOR_THROW(invalid_argument, "RankerModel." << what << "[" << i << "] = " << x
                                                    << ", expected finite"
                                                    << (nonnegative ? " and >= 0" : ""));
    }
  }
}

float dot_row(const RowMatrix& m, Index row, const float* v) {
  if (static_cast<Eigen::Index>(row) >= m.rows()) return 0.0f;
  return m.row(static_cast<Eigen::Index>(row)).dot(Eigen::Map<const Eigen::RowVectorXf>(v, m.cols()));
}

}  // namespace

std::string source_names(SourceMask mask) {
  static const std::pair<Source, const char*> kNames[] = {
      {Source::als, "als"},         {Source::item_knn, "item_knn"}, {Source::content, "content"},
      {Source::popular, "popular"}, {Source::trending, "trending"}, {Source::promoted, "promoted"},
      {Source::pinned, "pinned"},   {Source::fallback, "fallback"}, {Source::ease, "ease"}};
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if (!has_source(mask, bit)) continue;
    if (!out.empty()) out += '+';
    out += name;
  }
  return out;
}

// ---- options
// --------------------------------------------------------------------------------------

void HybridRankerOptions::validate() const {
  const std::pair<const char*, float> nonneg[] = {{"user_half", user_half},
                                                  {"item_half", item_half},
                                                  {"bridge_pseudo_count", bridge_pseudo_count},
                                                  {"weight_als", weight_als},
                                                  {"weight_knn", weight_knn},
                                                  {"weight_ease", weight_ease},
                                                  {"weight_content", weight_content},
                                                  {"weight_popular", weight_popular},
                                                  {"weight_trending", weight_trending},
                                                  {"similar_weight_popular", similar_weight_popular},
                                                  {"context_weight", context_weight},
                                                  {"view_weight", view_weight},
                                                  {"click_weight", click_weight},
                                                  {"cart_weight", cart_weight},
                                                  {"purchase_weight", purchase_weight}};
  for (const auto& [name, value] : nonneg) {
    if (!std::isfinite(value) || value < 0.0f) {
      TAILOR_THROW(invalid_argument, "HybridRankerOptions." << name << " = " << value
                                                            << ", expected finite and >= 0");
    }
  }
  if (max_recent == 0)
    TAILOR_THROW(invalid_argument, "HybridRankerOptions.max_recent = 0, expected >= 1");
  if (ease_history == 0)
    TAILOR_THROW(invalid_argument, "HybridRankerOptions.ease_history = 0, expected >= 1");
  if (!std::isfinite(recency_half_life_hours) || recency_half_life_hours < 0.0) {
    TAILOR_THROW(invalid_argument, "HybridRankerOptions.recency_half_life_hours = "
                                       << recency_half_life_hours << ", expected finite and >= 0");
  }
  if (category_depth == 0) {
    TAILOR_THROW(invalid_argument, "HybridRankerOptions.category_depth = 0, expected >= 1");
  }
}

// ---- HybridRanker
// ---------------------------------------------------------------------------------

// One recent or context item acting as a source of candidates.
struct SourceItem {
  Index item;
  float weight;
  EventType type;
  bool context;
};

constexpr int kParts = 6;  // blended()'s contributions

struct KnnEntry {
  Index item;
  float score;
  Index from;
  float from_contribution;
};

struct HybridRanker::Context {
  const float* user = nullptr;
  bool has_als = false;
  float als_max = 0.0f;
  std::vector<float> query;  // normalised content query
  bool has_content = false;
  float content_max = 0.0f;
  // Every item's raw score when a full exact scan ran (else empty: computed per item).
  std::vector<float> als_all, content_all;
  std::vector<KnnEntry> knn;  // sorted by item
  bool has_knn = false;
  float knn_max = 0.0f;
  std::vector<Index> history;   // the items EASE scores from
  std::vector<float> ease_all;  // EASE score of every item it covers
  bool has_ease = false;
  float ease_max = 0.0f;
  bool has_pop = false;
  float weight_popular = 0.0f;  // beta_pop of this request
  bool has_trend = false;
  float a_u = 0.0f;
  float den_cf = 0.0f;
  float den_side = 0.0f;
  std::vector<SourceItem> sources;  // newest first; the context item last
};

HybridRanker::HybridRanker(RankerModel model, HybridRankerOptions options)
    : model_(std::move(model)),
      options_(std::move(options)),
      filter_cache_(std::make_shared<RuleFilterCache>()) {
  options_.validate();
  if (model_.catalog == nullptr) TAILOR_THROW(invalid_argument, "RankerModel.catalog is null");
  n_items_ = model_.catalog->size();
  const std::size_t n = n_items_;
  index_ =
      CatalogIndex(*model_.catalog, options_.family_attribute, options_.never_recommend_attribute);

  if (model_.item_factors != nullptr) {
    if (static_cast<std::size_t>(model_.item_factors->rows()) > n) {
      TAILOR_THROW(invalid_argument, "RankerModel.item_factors has " << model_.item_factors->rows()
                                                                     << " rows, the catalog only "
                                                                     << n << " items");
    }
    if (model_.item_factors->cols() == 0) {
      TAILOR_THROW(invalid_argument, "RankerModel.item_factors has no columns");
    }
  }
  if (model_.cold_item_factors != nullptr) {
    if (model_.item_factors == nullptr) {
      TAILOR_THROW(
          invalid_argument,
          "RankerModel.cold_item_factors needs item_factors (the ALS space they map into)");
    }
    if (model_.cold_item_factors->cols() != model_.item_factors->cols() ||
        static_cast<std::size_t>(model_.cold_item_factors->rows()) > n) {
      TAILOR_THROW(invalid_argument, "RankerModel.cold_item_factors is "
                                         << model_.cold_item_factors->rows() << " x "
                                         << model_.cold_item_factors->cols()
                                         << ", expected at most " << n << " rows and "
                                         << model_.item_factors->cols() << " columns");
    }
  }
  if (model_.content != nullptr) {
    const RowMatrix& c = *model_.content;
    if (static_cast<std::size_t>(c.rows()) > n || c.cols() == 0) {
      TAILOR_THROW(invalid_argument, "RankerModel.content is " << c.rows() << " x " << c.cols()
                                                               << ", expected at most " << n
                                                               << " rows and >= 1 column");
    }
    for (Eigen::Index i = 0; i < c.rows(); ++i) {
      const float norm = c.row(i).norm();
      if (!std::isfinite(norm) || (norm != 0.0f && std::abs(norm - 1.0f) > 1e-3f)) {
        TAILOR_THROW(invalid_argument, "RankerModel.content row "
                                           << i << " has norm " << norm
                                           << ", expected 0 or 1 (L2-normalised)");
      }
    }
  }
  if (model_.neighbors != nullptr && model_.neighbors->n_items() > n) {
    TAILOR_THROW(invalid_argument, "RankerModel.neighbors covers " << model_.neighbors->n_items()
                                                                   << " items, the catalog only "
                                                                   << n);
  }
  check_size(model_.interaction_counts, n, "interaction_counts");
  check_size(model_.popularity, n, "popularity");
  check_size(model_.trending, n, "trending");
  check_size(model_.never_recommend, n, "never_recommend");
  check_finite_nonnegative(model_.popularity, "popularity", true);
  check_finite_nonnegative(model_.trending, "trending", false);

  if (model_.never_recommend != nullptr) {
    for (std::size_t i = 0; i < model_.never_recommend->size(); ++i) {
      if ((*model_.never_recommend)[i] != 0) index_.flag_never_recommend(static_cast<Index>(i));
    }
  }

  // CF vectors.
  if (model_.item_factors != nullptr) {
    if (model_.cold_item_factors != nullptr && options_.bridge_pseudo_count > 0.0f) {
      static const std::vector<std::uint32_t> kNoCounts;
      blended_factors_ = blend_cold_item_factors(
          *model_.item_factors, *model_.cold_item_factors,
          model_.interaction_counts != nullptr ? *model_.interaction_counts : kNoCounts,
          options_.bridge_pseudo_count, n);
      cf_vectors_ = &blended_factors_;
    } else {
      cf_vectors_ = model_.item_factors;
    }
    cf_inverse_norms_.resize(static_cast<std::size_t>(cf_vectors_->rows()));
    for (Eigen::Index i = 0; i < cf_vectors_->rows(); ++i) {
      const float norm = cf_vectors_->row(i).norm();
      cf_inverse_norms_[static_cast<std::size_t>(i)] = norm > 0.0f ? 1.0f / norm : 0.0f;
    }
  }

  // Popularity and trending, normalised to [0, 1], and their orders.
  pop_norm_.assign(n, 0.0f);
  trend_norm_.assign(n, 0.0f);
  if (model_.popularity != nullptr) {
    const auto& p = *model_.popularity;
    float max_p = 0.0f;
    for (float x : p) max_p = std::max(max_p, x);
    if (max_p > 0.0f) {
      const float denom = std::log1p(max_p);
      for (std::size_t i = 0; i < p.size(); ++i) pop_norm_[i] = std::log1p(p[i]) / denom;
    }
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (p[i] > 0.0f) by_popularity_.push_back(static_cast<Index>(i));
    }
    std::stable_sort(by_popularity_.begin(), by_popularity_.end(),
                     [&](Index a, Index b) { return p[a] > p[b]; });
    popular_in_category_.resize(index_.n_categories());
    for (Index i : by_popularity_) {
      const std::uint32_t node = index_.category_node(i, options_.category_depth);
      if (node == 0) continue;
      auto& list = popular_in_category_[node];
      if (list.size() < options_.category_popular_candidates) list.push_back(i);
    }
  }
  if (model_.trending != nullptr) {
    const auto& t = *model_.trending;
    float max_t = 0.0f;
    for (float x : t) max_t = std::max(max_t, x);
    if (max_t > 0.0f) {
      for (std::size_t i = 0; i < t.size(); ++i) trend_norm_[i] = std::max(0.0f, t[i]) / max_t;
    }
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (t[i] > 0.0f) by_trending_.push_back(static_cast<Index>(i));
    }
    std::stable_sort(by_trending_.begin(), by_trending_.end(),
                     [&](Index a, Index b) { return t[a] > t[b]; });
    if (by_trending_.size() > options_.trending_candidates) {
      by_trending_.resize(options_.trending_candidates);
    }
  }
  if (by_popularity_.size() > options_.popular_candidates) {
    by_popularity_.resize(options_.popular_candidates);
  }
}

namespace {

float type_weight(const HybridRankerOptions& o, EventType t) {
  switch (t) {
    case EventType::view:
      return o.view_weight;
    case EventType::click:
      return o.click_weight;
    case EventType::add_to_cart:
      return o.cart_weight;
    case EventType::purchase:
      return o.purchase_weight;
    case EventType::search:
      return 0.0f;
    case EventType::return_:
      return 0.0f;
    case EventType::rating:
      return o.view_weight;
  }
  return o.view_weight;  // custom types
}

// Strength order of event types for naming a reason: purchase > cart > rating > click/view.
int type_rank(EventType t) {
  switch (t) {
    case EventType::purchase:
      return 4;
    case EventType::add_to_cart:
      return 3;
    case EventType::rating:
      return 2;
    case EventType::click:
      return 1;
    default:
      return 0;
  }
}

}  // namespace

void HybridRanker::build_context(const RankRequest& request, Context& ctx) const {
  const HybridRankerOptions& o = options_;

  // Sources: distinct items of the newest max_recent events, then the context item.
  std::vector<RecentEvent> recent = request.recent;
  std::stable_sort(recent.begin(), recent.end(), [](const RecentEvent& a, const RecentEvent& b) {
    return a.timestamp > b.timestamp;
  });
  if (recent.size() > o.max_recent) recent.resize(o.max_recent);
  const double half_life_ms = o.recency_half_life_hours * 3600.0 * 1000.0;
  float max_weight = 0.0f;
  for (const auto& e : recent) {
    float w = type_weight(o, e.type);
    if (half_life_ms > 0.0) {
      const double age = static_cast<double>(recent.front().timestamp - e.timestamp);
      w *= static_cast<float>(std::exp2(-age / half_life_ms));
    }
    auto it = std::find_if(ctx.sources.begin(), ctx.sources.end(),
                           [&](const SourceItem& s) { return s.item == e.item; });
    if (it == ctx.sources.end()) {
      ctx.sources.push_back({e.item, w, e.type, false});
    } else {
      it->weight += w;
      if (type_rank(e.type) > type_rank(it->type)) it->type = e.type;
    }
  }
  for (const auto& s : ctx.sources) max_weight = std::max(max_weight, s.weight);
  if (request.context_item) {
    const float w = o.context_weight * (max_weight > 0.0f ? max_weight : 1.0f);
    auto it = std::find_if(ctx.sources.begin(), ctx.sources.end(),
                           [&](const SourceItem& s) { return s.item == *request.context_item; });
    if (it == ctx.sources.end()) {
      ctx.sources.push_back({*request.context_item, w, EventType::view, true});
    } else {
      it->weight += w;
      it->context = true;
    }
  }

  // n_u and a_u.
  std::size_t n_u = 0;
  if (request.history_size) {
    n_u = *request.history_size;
  } else {
    std::vector<Index> all;
    all.reserve(request.recent.size() + request.seen_items.size() + request.purchased_items.size());
    for (const auto& e : request.recent) all.push_back(e.item);
    all.insert(all.end(), request.seen_items.begin(), request.seen_items.end());
    all.insert(all.end(), request.purchased_items.begin(), request.purchased_items.end());
    std::sort(all.begin(), all.end());
    n_u = static_cast<std::size_t>(std::unique(all.begin(), all.end()) - all.begin());
  }
  {
    const double nu = static_cast<double>(n_u);
    ctx.a_u = nu + o.user_half > 0.0 ? static_cast<float>(nu / (nu + o.user_half)) : 0.0f;
  }

  // kNN accumulation.
  if (model_.neighbors != nullptr) {
    for (const auto& s : ctx.sources) {
      if (s.weight <= 0.0f) continue;
      std::size_t taken = 0;
      for (const ItemNeighbor& nb : model_.neighbors->of(s.item)) {
        if (taken++ >= o.knn_neighbors_per_item) break;
        const float c = s.weight * nb.similarity;
        ctx.knn.push_back({nb.item, c, s.item, c});
      }
    }
    std::sort(ctx.knn.begin(), ctx.knn.end(), [](const KnnEntry& a, const KnnEntry& b) {
      if (a.item != b.item) return a.item < b.item;
      if (a.from_contribution != b.from_contribution)
        return a.from_contribution > b.from_contribution;
      return a.from < b.from;
    });
    std::size_t w = 0;
    for (std::size_t r = 0; r < ctx.knn.size(); ++r) {
      if (w > 0 && ctx.knn[w - 1].item == ctx.knn[r].item) {
        ctx.knn[w - 1].score += ctx.knn[r].score;  // the first entry holds the largest contribution
      } else {
        ctx.knn[w++] = ctx.knn[r];
      }
    }
    ctx.knn.resize(w);
    for (const auto& e : ctx.knn) ctx.knn_max = std::max(ctx.knn_max, e.score);
    ctx.has_knn = ctx.knn_max > 0.0f;
  }

  // Content query.
  if (model_.content != nullptr) {
    const RowMatrix& c = *model_.content;
    const auto d = static_cast<std::size_t>(c.cols());
    ctx.query.assign(d, 0.0f);
    if (!request.user_content.empty()) {
      std::copy(request.user_content.data(), request.user_content.data() + d, ctx.query.begin());
    } else {
      for (const auto& s : ctx.sources) {
        if (static_cast<Eigen::Index>(s.item) >= c.rows() || s.weight <= 0.0f) continue;
        const float* row = c.data() + static_cast<std::size_t>(s.item) * d;
        for (std::size_t j = 0; j < d; ++j) ctx.query[j] += s.weight * row[j];
      }
    }
    double norm = 0.0;
    for (float x : ctx.query) norm += static_cast<double>(x) * x;
    norm = std::sqrt(norm);
    if (norm > 0.0 && std::isfinite(norm)) {
      for (float& x : ctx.query) x = static_cast<float>(x / norm);
      ctx.has_content = true;
    }
  }

  // EASE: the user's history (newest events first, then the other seen and bought items),
  // distinct, at most ease_history items.
  if (model_.ease != nullptr && model_.ease->fitted()) {
    std::vector<Index> candidates;
    for (const auto& e : recent) candidates.push_back(e.item);
    std::vector<RecentEvent> older = request.recent;  // beyond max_recent, newest first
    std::stable_sort(older.begin(), older.end(), [](const RecentEvent& a, const RecentEvent& b) {
      return a.timestamp > b.timestamp;
    });
    for (const auto& e : older) candidates.push_back(e.item);
    candidates.insert(candidates.end(), request.purchased_items.begin(), request.purchased_items.end());
    candidates.insert(candidates.end(), request.seen_items.begin(), request.seen_items.end());
    std::vector<char> taken(model_.ease->n_items(), 0);
    for (Index i : candidates) {
      if (ctx.history.size() >= o.ease_history) break;
      if (i < taken.size() && !taken[i]) {
        taken[i] = 1;
        ctx.history.push_back(i);
      }
    }
    if (!ctx.history.empty()) {
      ctx.ease_all.resize(model_.ease->n_items());
      model_.ease->score(Span<const Index>(ctx.history.data(), ctx.history.size()), ctx.ease_all.data(),
                         ctx.ease_all.size());
    }
  }

  if (!request.user_vector.empty() && cf_vectors_ != nullptr) ctx.user = request.user_vector.data();
  ctx.has_pop = !by_popularity_.empty();
  ctx.weight_popular = request.item_to_item ? o.similar_weight_popular : o.weight_popular;
  ctx.has_trend = !by_trending_.empty();
}

// parts: als, knn, content, pop, trend, ease contributions to the blended score (kParts).
float HybridRanker::blended(const Context& ctx, Index item, float* parts) const {
  const HybridRankerOptions& o = options_;
  float als = 0.0f, knn = 0.0f, content = 0.0f;
  if (ctx.has_als) {
    const float s = ctx.als_all.empty() ? dot_row(*cf_vectors_, item, ctx.user)
                                        : (item < ctx.als_all.size() ? ctx.als_all[item] : 0.0f);
    als = std::clamp(s / ctx.als_max, 0.0f, 1.0f);
  }
  if (ctx.has_knn) {
    auto it = std::lower_bound(ctx.knn.begin(), ctx.knn.end(), item,
                               [](const KnnEntry& e, Index i) { return e.item < i; });
    if (it != ctx.knn.end() && it->item == item) knn = it->score / ctx.knn_max;
  }
  if (ctx.has_content) {
    const float s = ctx.content_all.empty()
                        ? dot_row(*model_.content, item, ctx.query.data())
                        : (item < ctx.content_all.size() ? ctx.content_all[item] : 0.0f);
    content = std::clamp(s / ctx.content_max, 0.0f, 1.0f);
  }
  float ease = 0.0f;
  if (ctx.has_ease && item < ctx.ease_all.size()) ease = std::clamp(ctx.ease_all[item] / ctx.ease_max, 0.0f, 1.0f);
  const float pop = ctx.has_pop ? pop_norm_[item] : 0.0f;
  const float trend = ctx.has_trend ? trend_norm_[item] : 0.0f;

  float w_cf = 0.0f;
  if (ctx.den_cf > 0.0f) {
    float b = 1.0f;
    if (model_.interaction_counts != nullptr) {
      const auto& counts = *model_.interaction_counts;
      double n = item < counts.size() ? counts[item] : 0.0;
      if (model_.cold_item_factors != nullptr &&
          static_cast<Eigen::Index>(item) < model_.cold_item_factors->rows()) {
        n += o.bridge_pseudo_count;
      }
      b = n + o.item_half > 0.0 ? static_cast<float>(n / (n + o.item_half)) : 0.0f;
    }
    w_cf = ctx.a_u * b;
  }
  const float cf_scale = ctx.den_cf > 0.0f ? w_cf / ctx.den_cf : 0.0f;
  const float side_scale = ctx.den_side > 0.0f ? (1.0f - w_cf) / ctx.den_side : 0.0f;
  parts[0] = cf_scale * o.weight_als * als;
  parts[1] = cf_scale * o.weight_knn * knn;
  parts[2] = side_scale * o.weight_content * content;
  parts[3] = side_scale * ctx.weight_popular * pop;
  parts[4] = side_scale * o.weight_trending * trend;
  parts[5] = cf_scale * o.weight_ease * ease;
  return parts[0] + parts[1] + parts[2] + parts[3] + parts[4] + parts[5];
}

void HybridRanker::explain(const Context& ctx, const RankRequest& request, RankedItem& out,
                           bool promoted) const {
  (void)request;
  const Catalog& catalog = *model_.catalog;
  auto title = [&](Index i) -> std::string {
    const CatalogItem& c = catalog.items()[i];
    return c.title.empty() ? c.id : c.title;
  };
  auto because = [&](Index from, bool is_context, EventType type) {
    out.reason_item = from;
    if (is_context) {
      out.reason_kind = ReasonKind::because_viewed;
    } else {
      switch (type) {
        case EventType::purchase:
          out.reason_kind = ReasonKind::because_bought;
          break;
        case EventType::add_to_cart:
          out.reason_kind = ReasonKind::because_carted;
          break;
        case EventType::rating:
          out.reason_kind = ReasonKind::because_rated;
          break;
        default:
          out.reason_kind = ReasonKind::because_viewed;
          break;
      }
    }
  };
  auto source_of = [&](Index item) -> const SourceItem* {
    for (const auto& s : ctx.sources) {
      if (s.item == item) return &s;
    }
    return nullptr;
  };

  out.reason_item = kNoItem;
  if (promoted) {
    out.reason_kind = ReasonKind::promoted;
  } else {
    float parts[kParts];
    blended(ctx, out.item, parts);
    int best = -1;
    float best_value = 0.0f;
    for (int p = 0; p < kParts; ++p) {
      if (parts[p] > best_value) {
        best = p;
        best_value = parts[p];
      }
    }
    const std::uint32_t node = index_.category_node(out.item, options_.category_depth);
    auto popular = [&] {
      out.reason_kind = node != 0 ? ReasonKind::popular_in : ReasonKind::popular;
    };
    switch (best) {
      case 0:
        out.reason_kind = ReasonKind::recommended_for_you;
        break;
      case 1: {
        auto it = std::lower_bound(ctx.knn.begin(), ctx.knn.end(), out.item,
                                   [](const KnnEntry& e, Index i) { return e.item < i; });
        const SourceItem* s = source_of(it->from);
        because(it->from, s != nullptr && s->context, s != nullptr ? s->type : EventType::view);
        break;
      }
      case 2: {
        // The recent or context item most similar in content.
        const RowMatrix& c = *model_.content;
        const SourceItem* best_source = nullptr;
        float best_sim = 0.0f;
        if (static_cast<Eigen::Index>(out.item) < c.rows()) {
          const float* row =
              c.data() + static_cast<std::size_t>(out.item) * static_cast<std::size_t>(c.cols());
          for (const auto& s : ctx.sources) {
            const float sim = dot_row(c, s.item, row);
            if (sim > best_sim) {
              best_sim = sim;
              best_source = &s;
            }
          }
        }
        if (best_source == nullptr) {
          out.reason_kind = ReasonKind::recommended_for_you;
        } else {
          const std::uint32_t n_i =
              model_.interaction_counts != nullptr && out.item < model_.interaction_counts->size()
                  ? (*model_.interaction_counts)[out.item]
                  : (model_.interaction_counts != nullptr ? 0u : options_.new_item_threshold);
          if (n_i < options_.new_item_threshold) {
            out.reason_kind = ReasonKind::new_arrival_similar;
            out.reason_item = best_source->item;
          } else {
            because(best_source->item, best_source->context, best_source->type);
          }
        }
        break;
      }
      case 3:
        popular();
        break;
      case 4:
        out.reason_kind = ReasonKind::trending;
        break;
      case 5: {
        // The recent or context item with the largest EASE weight on this one.
        const RowMatrix& b = model_.ease->weights();
        const SourceItem* best_source = nullptr;
        float best_weight = 0.0f;
        for (const auto& src : ctx.sources) {
          if (src.item >= model_.ease->n_items() || out.item >= model_.ease->n_items()) continue;
          const float w = b(static_cast<Eigen::Index>(src.item), static_cast<Eigen::Index>(out.item));
          if (w > best_weight) {
            best_weight = w;
            best_source = &src;
          }
        }
        if (best_source == nullptr) {
          out.reason_kind = ReasonKind::recommended_for_you;
        } else {
          because(best_source->item, best_source->context, best_source->type);
        }
        break;
      }
      default:
        if (ctx.user != nullptr) {
          out.reason_kind = ReasonKind::recommended_for_you;
        } else {
          popular();
        }
        break;
    }
    if (out.reason_kind == ReasonKind::popular_in) {
      out.reason_category = index_.category_name(node);
      out.reason = "popular in " + out.reason_category;
    }
  }
  switch (out.reason_kind) {
    case ReasonKind::recommended_for_you:
      out.reason = "recommended for you";
      break;
    case ReasonKind::because_viewed:
      out.reason = "because you viewed " + title(out.reason_item);
      break;
    case ReasonKind::because_bought:
      out.reason = "because you bought " + title(out.reason_item);
      break;
    case ReasonKind::because_carted:
      out.reason = "because you added " + title(out.reason_item) + " to your cart";
      break;
    case ReasonKind::because_rated:
      out.reason = "because you rated " + title(out.reason_item);
      break;
    case ReasonKind::new_arrival_similar:
      out.reason = "new arrival similar to " + title(out.reason_item);
      break;
    case ReasonKind::popular_in:
      break;  // set above
    case ReasonKind::popular:
      out.reason = "popular";
      break;
    case ReasonKind::trending:
      out.reason = "trending";
      break;
    case ReasonKind::promoted:
      out.reason = "promoted";
      break;
    case ReasonKind::bought_together:
      out.reason = "often bought with " + title(out.reason_item);
      break;
  }
}

const char* reason_kind_name(ReasonKind kind) noexcept {
  switch (kind) {
    case ReasonKind::recommended_for_you: return "recommended_for_you";
    case ReasonKind::because_viewed: return "because_viewed";
    case ReasonKind::because_bought: return "because_bought";
    case ReasonKind::because_carted: return "because_carted";
    case ReasonKind::because_rated: return "because_rated";
    case ReasonKind::new_arrival_similar: return "new_arrival_similar";
    case ReasonKind::popular_in: return "popular_in";
    case ReasonKind::popular: return "popular";
    case ReasonKind::trending: return "trending";
    case ReasonKind::promoted: return "promoted";
    case ReasonKind::bought_together: return "bought_together";
  }
  return "unknown";
}

RankResult HybridRanker::rank(const RankRequest& request) const {
  const std::size_t n = n_items_;
  const HybridRankerOptions& o = options_;
  if (request.k == 0) TAILOR_THROW(invalid_argument, "request.k = 0, expected >= 1");
  // A list is never longer than the catalog (memory follows the catalog, not the request).
  const std::size_t k = std::min(request.k, n);
  auto check_index = [n](Index i, const char* field, std::size_t pos) {
    if (i >= n) {
      TAILOR_THROW(invalid_argument, "request." << field << "[" << pos << "] = " << i
                                                << " is not an item index (catalog has " << n
                                                << " items)");
    }
  };
  for (std::size_t j = 0; j < request.recent.size(); ++j)
    check_index(request.recent[j].item, "recent", j);
  for (std::size_t j = 0; j < request.seen_items.size(); ++j)
    check_index(request.seen_items[j], "seen_items", j);
  for (std::size_t j = 0; j < request.purchased_items.size(); ++j) {
    check_index(request.purchased_items[j], "purchased_items", j);
  }
  if (request.context_item && *request.context_item >= n) {
    TAILOR_THROW(invalid_argument, "request.context_item = "
                                       << *request.context_item
                                       << " is not an item index (catalog has " << n << " items)");
  }
  if (!request.user_vector.empty()) {
    if (cf_vectors_ == nullptr) {
      TAILOR_THROW(invalid_argument,
                   "request.user_vector is set but the model has no item factors");
    }
    if (request.user_vector.size() != static_cast<std::size_t>(cf_vectors_->cols())) {
      TAILOR_THROW(invalid_argument, "request.user_vector has " << request.user_vector.size()
                                                                << " values, the item factors "
                                                                << cf_vectors_->cols());
    }
  }
  if (!request.user_content.empty()) {
    if (model_.content == nullptr) {
      TAILOR_THROW(invalid_argument,
                   "request.user_content is set but the model has no content vectors");
    }
    if (request.user_content.size() != static_cast<std::size_t>(model_.content->cols())) {
      TAILOR_THROW(invalid_argument, "request.user_content has " << request.user_content.size()
                                                                 << " values, the content vectors "
                                                                 << model_.content->cols());
    }
  }

  // The rules, with the user's seen and purchased items.
  std::vector<Index> seen = request.seen_items, purchased = request.purchased_items;
  for (const auto& e : request.recent) {
    seen.push_back(e.item);
    if (e.type == EventType::purchase) purchased.push_back(e.item);
  }
  seen.insert(seen.end(), request.purchased_items.begin(), request.purchased_items.end());
  RuleSet rules(request.rules, *model_.catalog, index_, std::move(seen), std::move(purchased),
                request.context_item);
  if (filter_cache_) rules.use_catalog_filter(filter_cache_->get(rules));

  Context ctx;
  build_context(request, ctx);

  // The universe: every item, or the allow list when one is given. With an allow list the
  // retrieval sources score the allowed items directly and every allowed item is a candidate.
  std::vector<Index> universe;
  const bool restricted = !request.rules.allow.empty();
  if (restricted) {
    universe = request.rules.allow;
    std::sort(universe.begin(), universe.end());
    universe.erase(std::unique(universe.begin(), universe.end()), universe.end());
  }
  auto in_universe = [&](Index i) {
    return !restricted || std::binary_search(universe.begin(), universe.end(), i);
  };

  // Retrieval asks the sources for eligible items only.
  ItemFilter eligible;
  eligible.allows = [&rules](Index i) { return rules.eligible(i); };
  if (!restricted && rules.catalog_filter_in_use()) {
    eligible.catalog = rules.catalog_filter_in_use();
    eligible.excluded = rules.excluded_items();
  }

  // Candidates: (item, source bits), deduplicated below.
  std::vector<std::pair<Index, SourceMask>> cands;
  auto check_hit = [n](const ScoredItem& s, const char* hook) {
    if (s.item >= n) {
      TAILOR_THROW(invalid_argument, "RankerModel." << hook << " returned item " << s.item
                                                    << ", the catalog has " << n << " items");
    }
  };
  // Retrieval by a vector: the top `count` eligible items; returns the normaliser, the best
  // score among them.
  auto retrieve = [&](const RowMatrix& vectors, const float* query, std::size_t count,
                      const VectorSearch& hook, const char* hook_name, Source bit,
                      std::vector<float>& all) {
    float best = 0.0f;
    if (restricted) {
      std::vector<ScoredItem> scored;
      scored.reserve(universe.size());
      for (Index i : universe) {
        if (eligible(i)) scored.push_back({i, dot_row(vectors, i, query)});
      }
      for (const auto& s : scored) best = std::max(best, s.score);
      const std::size_t keep = std::min(count, scored.size());
      std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(keep),
                        scored.end(), ranks_before);
      for (std::size_t j = 0; j < keep; ++j) cands.emplace_back(scored[j].item, source_bit(bit));
    } else if (!hook) {
      // Exact scan: keep every score for the blend (and the widening) to reuse.
      all.resize(static_cast<std::size_t>(vectors.rows()));
      Eigen::Map<Vector>(all.data(), vectors.rows()) =
          vectors * Eigen::Map<const Vector>(query, vectors.cols());
      for (const auto& h : top_k_where(all.data(), all.size(), std::max<std::size_t>(count, 1),
                                       eligible)) {
        best = std::max(best, h.score);
        if (count > 0) cands.emplace_back(h.item, source_bit(bit));
      }
    } else if (count > 0) {
      const auto hits = hook(Span<const float>(query, static_cast<std::size_t>(vectors.cols())), count, eligible);
      for (const auto& h : hits) {
        check_hit(h, hook_name);
        best = std::max(best, dot_row(vectors, h.item, query));
        cands.emplace_back(h.item, source_bit(bit));
      }
    }
    return best;
  };
  if (ctx.user != nullptr) {
    ctx.als_max = retrieve(*cf_vectors_, ctx.user, o.als_candidates, model_.factor_search,
                           "factor_search", Source::als, ctx.als_all);
    ctx.has_als = ctx.als_max > 0.0f;
  }
  if (ctx.has_content) {
    ctx.content_max =
        retrieve(*model_.content, ctx.query.data(), o.content_candidates, model_.content_search,
                 "content_search", Source::content, ctx.content_all);
    ctx.has_content = ctx.content_max > 0.0f;
  }
  // kNN scores are normalised over the eligible items too.
  ctx.knn_max = 0.0f;
  for (const auto& e : ctx.knn) {
    if (e.score > ctx.knn_max && eligible(e.item)) ctx.knn_max = e.score;
  }
  ctx.has_knn = ctx.knn_max > 0.0f;
  for (const auto& e : ctx.knn) cands.emplace_back(e.item, source_bit(Source::item_knn));
  if (!ctx.ease_all.empty()) {
    // EASE scores every item it covers: its candidates are its best eligible items, its
    // normaliser the best eligible score (within the universe when an allow list is given).
    auto eligible_here = [&](Index i) { return in_universe(i) && eligible(i); };
    const auto top = top_k_where(ctx.ease_all.data(), ctx.ease_all.size(),
                                 std::max<std::size_t>(o.ease_candidates, 1), eligible_here);
    for (const auto& h : top) {
      ctx.ease_max = std::max(ctx.ease_max, h.score);
      if (o.ease_candidates > 0 && h.score > 0.0f) cands.emplace_back(h.item, source_bit(Source::ease));
    }
    ctx.has_ease = ctx.ease_max > 0.0f;
  }
  for (Index i : by_popularity_) cands.emplace_back(i, source_bit(Source::popular));
  if (!popular_in_category_.empty()) {
    std::vector<std::uint32_t> nodes;
    for (const auto& s : ctx.sources) {
      const std::uint32_t node = index_.category_node(s.item, o.category_depth);
      if (node != 0 && std::find(nodes.begin(), nodes.end(), node) == nodes.end()) {
        nodes.push_back(node);
        for (Index i : popular_in_category_[node])
          cands.emplace_back(i, source_bit(Source::popular));
      }
    }
  }
  for (Index i : by_trending_) cands.emplace_back(i, source_bit(Source::trending));
  for (Index i : request.rules.promoted) cands.emplace_back(i, source_bit(Source::promoted));
  for (const Pin& p : request.rules.pins) cands.emplace_back(p.item, 0u);
  if (restricted) {
    // Keep the universe only; an allowed item no source proposed is found by the scan.
    cands.erase(std::remove_if(
                    cands.begin(), cands.end(),
                    [&](const std::pair<Index, SourceMask>& c) { return !in_universe(c.first); }),
                cands.end());
    for (Index i : universe) cands.emplace_back(i, 0u);
  }
  std::sort(cands.begin(), cands.end());
  {
    std::size_t w = 0;
    for (std::size_t r = 0; r < cands.size(); ++r) {
      if (w > 0 && cands[w - 1].first == cands[r].first) {
        cands[w - 1].second |= cands[r].second;
      } else {
        cands[w++] = cands[r];
      }
    }
    cands.resize(w);
  }
  ctx.den_cf = (ctx.has_als ? o.weight_als : 0.0f) + (ctx.has_knn ? o.weight_knn : 0.0f) +
               (ctx.has_ease ? o.weight_ease : 0.0f);
  ctx.den_side = (ctx.has_content ? o.weight_content : 0.0f) +
                 (ctx.has_pop ? ctx.weight_popular : 0.0f) +
                 (ctx.has_trend ? o.weight_trending : 0.0f);

  // Score, filter, boost/bury, order.
  float parts[kParts];
  std::vector<PlacementCandidate> pool;
  pool.reserve(cands.size());
  for (const auto& [item, mask] : cands) {
    (void)mask;
    if (!rules.eligible(item)) continue;
    pool.push_back({item, rules.adjust(item, blended(ctx, item, parts))});
  }
  std::sort(pool.begin(), pool.end(), better);

  // MMR similarity.
  RuleSet::Similarity similarity;
  if (request.rules.diversity_lambda < 1.0f) {
    DiversitySpace space = request.rules.diversity_space;
    if (space == DiversitySpace::automatic) {
      space = model_.content != nullptr ? DiversitySpace::content : DiversitySpace::factors;
    }
    if (space == DiversitySpace::content && model_.content != nullptr) {
      const RowMatrix* c = model_.content;
      similarity = [c](Index a, Index b) {
        if (static_cast<Eigen::Index>(a) >= c->rows()) return 0.0f;
        return dot_row(
            *c, b, c->data() + static_cast<std::size_t>(a) * static_cast<std::size_t>(c->cols()));
      };
    } else if (space == DiversitySpace::factors && cf_vectors_ != nullptr) {
      const RowMatrix* f = cf_vectors_;
      const std::vector<float>* inv = &cf_inverse_norms_;
      similarity = [f, inv](Index a, Index b) {
        if (static_cast<Eigen::Index>(a) >= f->rows() ||
            static_cast<Eigen::Index>(b) >= f->rows()) {
          return 0.0f;
        }
        const float d = dot_row(
            *f, b, f->data() + static_cast<std::size_t>(a) * static_cast<std::size_t>(f->cols()));
        return d * (*inv)[a] * (*inv)[b];
      };
    }
    // Without vectors `similarity` stays empty and place() reports it.
  }

  RankResult result;
  result.candidates = cands.size();
  Placement placement = rules.place(pool, k, similarity);
  if (placement.items.size() < k && !restricted) {
    // Widen: score every eligible item.
    std::vector<PlacementCandidate> all;
    for (std::size_t i = 0; i < n; ++i) {
      const auto item = static_cast<Index>(i);
      if (rules.eligible(item))
        all.push_back({item, rules.adjust(item, blended(ctx, item, parts))});
    }
    if (all.size() > pool.size()) {
      std::sort(all.begin(), all.end(), better);
      placement = rules.place(all, k, similarity);
      result.widened = true;
    }
  }
  result.dropped_pins = std::move(placement.dropped_pins);
  result.promoted_shortfall = placement.promoted_shortfall;
  result.items.reserve(placement.items.size());
  for (std::size_t j = 0; j < placement.items.size(); ++j) {
    RankedItem r;
    r.item = placement.items[j].item;
    r.score = placement.items[j].score;
    auto it = std::lower_bound(
        cands.begin(), cands.end(), r.item,
        [](const std::pair<Index, SourceMask>& c, Index i) { return c.first < i; });
    if (it != cands.end() && it->first == r.item) {
      r.sources = it->second;
    } else {
      r.sources = source_bit(Source::fallback);
    }
    if (placement.pinned[j]) r.sources |= source_bit(Source::pinned);
    if (r.sources == 0) r.sources = source_bit(Source::fallback);  // only found by scanning
    const bool is_promoted = rules.promoted(r.item);
    explain(ctx, request, r, is_promoted);
    result.items.push_back(std::move(r));
  }
  return result;
}

}  // namespace tailor
