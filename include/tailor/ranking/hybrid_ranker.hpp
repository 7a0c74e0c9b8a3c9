// tailor: HybridRanker, the per-request ranker that merges collaborative, item-to-item, content,
// popularity and trending signals, applies business rules and explains every item.
//
// It reads a RankerModel (non-owning pointers to immutable arrays indexed by catalog item; any
// signal may be absent) and answers a RankRequest (an optional user vector, the user's recent
// events, an optional context item, k and the Rules). Candidates come from ALS retrieval, item-kNN
// neighbours of the recent and context items, content retrieval, popular and trending items, and
// the rules' promoted and pinned items; each signal is normalised to [0, 1] over the eligible
// items; the blend moves from content, popularity and trends towards collaborative scores as the
// user's and the item's histories grow; the rules filter, boost, pin, cap and diversify; every
// item gets a structured reason. docs/algorithms/hybrid-ranking.md gives the formulas.
//
// Thread-safety: HybridRanker is thread-compatible (const methods may run concurrently): rank()
// keeps all per-request state on its own stack and heap, so any number of threads may rank over
// one ranker; the one shared mutable part, the cache of the rules' catalog bitsets (see
// RuleSet::catalog_filter), sits behind its own mutex, held only to look up or insert an entry.
// Copies of a ranker share that cache. The model's arrays must not change while a ranker uses
// them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/models/ease.hpp"
#include "tailor/models/item_neighbors.hpp"
#include "tailor/retrieval/vector_search.hpp"
#include "tailor/data/catalog.hpp"
#include "tailor/data/event.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/ranking/rules.hpp"
#include "tailor/core/scored_item.hpp"
#include "tailor/core/span.hpp"
#include "tailor/core/types.hpp"

namespace tailor {

class RuleFilterCache;  // ranking/rule_filter_cache.hpp (private)

/// What the ranker reads. Every pointer may be null (that signal is then absent) except catalog;
/// the pointees must outlive the ranker and stay unchanged. All arrays are indexed by the
/// catalog's item index and may be shorter than the catalog, never longer.
struct RankerModel {
  const Catalog* catalog = nullptr;
  /// ALS item factors (one row per item).
  const RowMatrix* item_factors = nullptr;
  /// Content-predicted item factors (ContentBridge), same columns as item_factors; blended
  /// into the CF vectors with HybridRankerOptions::bridge_pseudo_count (blend_cold_item_factors).
  const RowMatrix* cold_item_factors = nullptr;
  /// L2-normalised content vectors (rows of norm 1, or 0 for items without content).
  const RowMatrix* content = nullptr;
  const ItemNeighbors* neighbors = nullptr;
  /// EASE item-to-item weights (fitted on the catalog's index space, may cover fewer items): the
  /// request's history items score every item (EaseModel::score).
  const EaseModel* ease = nullptr;
  /// Interactions per item (n_i), e.g. item_interaction_counts() of the training matrix. Null:
  /// every item counts as fully known (b_i = 1).
  const std::vector<std::uint32_t>* interaction_counts = nullptr;
  const std::vector<float>* popularity = nullptr;  ///< >= 0, e.g. users per item
  const std::vector<float>* trending = nullptr;    ///< see trending_scores
  /// Model-level "use in training but never recommend" flags (non-zero = never returned).
  const std::vector<std::uint8_t>* never_recommend = nullptr;
  /// CF retrieval over the CF vectors the ranker uses (HybridRanker::cf_item_vectors()); empty =
  /// exact scan. Plug an AnnIndex built over those vectors here.
  VectorSearch factor_search;
  /// Retrieval over the content vectors; empty = exact scan.
  VectorSearch content_search;
};

/// Options of HybridRanker (see the file comment for the formulas). Defaults are a reasonable
/// start; learn_blend() tunes the blend ones on validation data.
struct TAILOR_API HybridRankerOptions {
  // ---- blend
  float user_half = 5.0f;            ///< h_u >= 0
  float item_half = 5.0f;            ///< h_i >= 0
  float bridge_pseudo_count = 5.0f;  ///< m_b >= 0
  float weight_als = 1.0f;           ///< beta_als >= 0
  float weight_knn = 1.0f;           ///< beta_knn >= 0
  float weight_ease = 4.0f;          ///< beta_ease >= 0 (with RankerModel::ease; docs/quality.md)
  float weight_content = 1.0f;       ///< beta_content >= 0
  float weight_popular = 2.0f;       ///< beta_pop >= 0 (docs/quality.md)
  float weight_trending = 0.25f;     ///< beta_trend >= 0
  /// beta_pop of item-to-item requests (RankRequest::item_to_item, "similar items" on a product
  /// page), >= 0: there popularity breaks ties between similar items instead of outranking them.
  float similar_weight_popular = 0.5f;

  // ---- candidates
  std::size_t als_candidates = 50;
  std::size_t knn_neighbors_per_item = 20;
  std::size_t ease_candidates = 50;
  std::size_t ease_history = 200;    ///< history items EASE scores from (newest events first), >= 1
  std::size_t content_candidates = 50;
  std::size_t popular_candidates = 50;
  std::size_t category_popular_candidates = 20;
  std::size_t trending_candidates = 50;

  // ---- the request's events
  std::size_t max_recent = 20;             ///< newest recent events used as sources, >= 1
  double recency_half_life_hours = 168.0;  ///< >= 0; 0 = no decay
  float context_weight = 2.0f;             ///< >= 0
  float view_weight = 1.0f;                ///< >= 0; also custom event types
  float click_weight = 1.0f;
  float cart_weight = 2.0f;
  float purchase_weight = 2.0f;

  // ---- catalog
  std::size_t category_depth = 2;  ///< path levels naming a category for "popular in", >= 1
  std::string family_attribute = "family";                    ///< variants share this attribute
  std::string never_recommend_attribute = "never_recommend";  ///< catalog-level flag
  std::uint32_t new_item_threshold = 5;  ///< fewer interactions: "new arrival" reasons

  /// Throws Error(invalid_argument) naming the first bad field.
  void validate() const;
};

/// One of the user's recent events.
struct RecentEvent {
  Index item = 0;
  Timestamp timestamp = 0;
  EventType type = EventType::view;
};

/// One ranking request.
struct RankRequest {
  std::size_t k = 10;
  /// The user's vector in the ALS factor space (item_factors columns); empty for anonymous or new
  /// shoppers.
  Span<const float> user_vector;
  /// n_u for the blend; nullopt = distinct items among recent, seen_items and purchased_items.
  std::optional<std::size_t> history_size;
  std::vector<RecentEvent> recent;     ///< any order; the newest max_recent are sources
  std::vector<Index> seen_items;       ///< more items the user has had (excluded with exclude_seen)
  std::vector<Index> purchased_items;  ///< more purchases (excluded with exclude_purchased)
  std::optional<Index> context_item;   ///< the product page being viewed
  /// Rank items like context_item for the page's "similar items" block rather than for the
  /// shopper: the blend takes similar_weight_popular as beta_pop.
  bool item_to_item = false;
  /// A user content profile (content columns, e.g. ContentEncoder::user_content_profile); empty =
  /// built from the recent and context items.
  Span<const float> user_content;
  Rules rules;
};

/// Where a candidate came from (bits of RankedItem::sources).
enum class Source : std::uint32_t {
  als = 1u << 0,
  item_knn = 1u << 1,
  content = 1u << 2,
  popular = 1u << 3,
  trending = 1u << 4,
  promoted = 1u << 5,  ///< listed as promoted by the rules
  pinned = 1u << 6,    ///< placed by a pin
  fallback = 1u << 7,  ///< found only when the ranker widened to every eligible item
  ease = 1u << 8,      ///< EASE item-to-item weights over the request's history
};
using SourceMask = std::uint32_t;
constexpr SourceMask source_bit(Source s) noexcept { return static_cast<SourceMask>(s); }
constexpr bool has_source(SourceMask mask, Source s) noexcept {
  return (mask & source_bit(s)) != 0;
}
/// "als+content" style names of the bits set in `mask`.
TAILOR_API std::string source_names(SourceMask mask);

/// Why an item is shown (the template of RankedItem::reason).
enum class ReasonKind {
  recommended_for_you,  ///< "recommended for you"
  because_viewed,       ///< "because you viewed X"
  because_bought,       ///< "because you bought X"
  because_carted,       ///< "because you added X to your cart"
  because_rated,        ///< "because you rated X"
  new_arrival_similar,  ///< "new arrival similar to X"
  popular_in,           ///< "popular in Y"
  popular,              ///< "popular"
  trending,             ///< "trending"
  promoted,             ///< "promoted"
  bought_together,      ///< "often bought with X" (Recommender::frequently_bought_together)
};

/// Stable lower-case name of a ReasonKind, e.g. "because_viewed": the key a shop translates.
TAILOR_API const char* reason_kind_name(ReasonKind kind) noexcept;

/// No item (RankedItem::reason_item when the reason names none).
inline constexpr Index kNoItem = std::numeric_limits<Index>::max();

/// One returned item.
struct RankedItem {
  Index item = 0;
  float score = 0.0f;      ///< blended score after boosts and buries
  SourceMask sources = 0;  ///< every source that proposed it
  ReasonKind reason_kind = ReasonKind::recommended_for_you;
  Index reason_item = kNoItem;  ///< X of the reason
  std::string reason_category;  ///< Y of "popular in Y" (the category name), else empty
  std::string reason;           ///< human-readable, e.g. "because you viewed WHITE METAL LANTERN"
};

/// What rank() returns.
struct RankResult {
  std::vector<RankedItem> items;  ///< in slot order
  std::size_t candidates = 0;     ///< distinct candidates before the rules
  bool widened = false;           ///< the ranker scanned every eligible item
  std::vector<Pin> dropped_pins;  ///< pins that could not be honoured (see rules.hpp)
  std::size_t promoted_shortfall = 0;
};

/// The per-request hybrid ranker. Thread-safety: thread-compatible (const methods may run
/// concurrently).
///
/// **Example**:
///   tailor::RankerModel model;
///   model.catalog = &catalog;
///   model.item_factors = &als.item_factors();
///   model.content = &content_vectors;
///   model.interaction_counts = &counts;
///   model.popularity = &popularity;
///   tailor::HybridRanker ranker(model);
///   tailor::RankRequest req;
///   req.k = 10;
///   req.user_vector = als.user_factors().row(u).transpose().eval();  // keep it alive
///   req.recent = {{item, time, tailor::EventType::view}};
///   req.rules.one_per_family = true;
///   for (const auto& r : ranker.rank(req).items) std::cout << r.item << " " << r.reason << "\n";
class TAILOR_API HybridRanker {
 public:
  /// Precomputes the catalog index, normalised popularity and trending, popularity orders and,
  /// with a bridge, the blended CF vectors. Throws Error(invalid_argument) for a null catalog,
  /// options that fail validate(), arrays longer than the catalog, mismatched factor columns, or a
  /// content row whose norm is neither 0 nor 1 (+-1e-3) (naming the row).
  explicit HybridRanker(RankerModel model, HybridRankerOptions options = {});

  /// Ranks for one request. Throws Error(invalid_argument) for k == 0, an item index out of range
  /// (naming the field and position), a user vector or content profile of the wrong size, rules
  /// that fail validation, or a search hook returning an item out of range.
  RankResult rank(const RankRequest& request) const;

  const HybridRankerOptions& options() const noexcept { return options_; }
  const RankerModel& model() const noexcept { return model_; }
  std::size_t n_items() const noexcept { return n_items_; }
  const CatalogIndex& catalog_index() const noexcept { return index_; }
  /// The CF item vectors scored against user vectors: item_factors, or its blend with the bridge
  /// vectors when both are given (null without item factors). Build an ANN index over these.
  const RowMatrix* cf_item_vectors() const noexcept { return cf_vectors_; }

 private:
  struct Context;

  void build_context(const RankRequest& request, Context& ctx) const;
  float blended(const Context& ctx, Index item, float* parts) const;
  void explain(const Context& ctx, const RankRequest& request, RankedItem& out,
               bool promoted) const;

  RankerModel model_;
  HybridRankerOptions options_;
  std::size_t n_items_ = 0;
  CatalogIndex index_;
  RowMatrix blended_factors_;  // owned CF vectors when a bridge is blended in
  const RowMatrix* cf_vectors_ = nullptr;
  std::vector<float> cf_inverse_norms_;                  // for MMR on factors
  std::vector<float> pop_norm_;                          // pop(i) in [0, 1]
  std::vector<float> trend_norm_;                        // trend(i) in [0, 1]
  std::vector<Index> by_popularity_;                     // most popular first
  std::vector<Index> by_trending_;                       // trending first (positive scores only)
  std::vector<std::vector<Index>> popular_in_category_;  // per node at category_depth
  std::vector<char> never_;                              // model-level or catalog-level flag
  // The catalog part of recent requests' rules (RuleSet::catalog_filter), most recent first.
  std::shared_ptr<RuleFilterCache> filter_cache_;
};

}  // namespace tailor
