// tailor: business rules for recommendation lists: filters, boost and bury, pins, a promoted
// share of slots, per-category caps, one item per product family, and diversity (MMR).
//
// Three pieces:
//   - Rules: what one request asks for (a plain aggregate, checked by Rules::validate);
//   - CatalogIndex: lookup tables derived once from a Catalog (category tree, families,
//     "never recommend" flags) so rules cost no string work per item;
//   - RuleSet: Rules compiled for one request: eligible(item), adjust(item, score) and
//     place(pool, k), which fills the k slots.
//
// Semantics (all exact; a rule is never relaxed to fill a list):
//   Filters. An item is eligible when every one of these holds:
//     - it is not flagged "never recommend" (the catalog attribute named in CatalogIndex, e.g.
//       attributes["never_recommend"] = "true"; values 1/true/yes, any case) -- such items may
//       still be trained on, they are only never returned;
//     - exclude_seen: it is not among the request's seen items; exclude_purchased: not among its
//       purchased items; exclude_out_of_stock: CatalogItem::in_stock (read live from the catalog);
//     - include_categories (if any): its category path starts with one of these prefixes;
//       exclude_categories: its path starts with none of them (prefixes compare whole levels);
//     - min_price / max_price: it has a price and the price is within the bounds (an item without
//       a price fails any price bound);
//     - allow (if non-empty): it is listed; deny: it is not listed.
//   Boost and bury. Every ScoreAdjustment whose selector matches an item is applied in list order:
//   score <- score * multiply + add (boost: multiply > 1 or add > 0; bury: the opposite).
//   Placement, by place(pool, k) over a pool of scored candidates, best first:
//     1. Pins, in slot order: a pin takes its slot when its item is eligible and fits the caps
//     below
//        (else it is dropped and reported). Pins at slot >= k are dropped.
//     2. The other slots are filled in order, each with the best remaining candidate (pool order,
//        or the MMR choice when diversity_lambda < 1) that keeps every cap:
//          - one_per_family: no two returned items share a family (CatalogIndex::family);
//          - max_per_category: at most that many items per category, the category of an item being
//            its path cut at category_cap_depth (a shorter path is its own category; items without
//            a path form one category);
//          - category_caps: at most max_items items whose path starts with the prefix;
//          - promoted items (listed in `promoted`) fill at most floor(promoted_max_share * k)
//            slots, and at least ceil(promoted_min_share * k) when enough feasible promoted items
//            exist: when the slots left equal the promoted items still owed, a promoted item is
//            taken (the shortfall, if any, is reported).
//        Shares are computed with a 1e-9 tolerance (0.3 * 10 counts as exactly 3).
//     3. A slot no candidate can fill stays empty and the list is compacted, so a pin keeps its
//        slot whenever the list is long enough to reach it.
//   So when the list is shorter than k, every eligible pool item left out would break a cap or the
//   promoted maximum; when no cap binds, place() returns min(k, eligible pool items) items.
//   MMR (Carbonell & Goldstein 1998): with lambda < 1, each slot takes the candidate maximising
//     lambda * rel(i) - (1 - lambda) * max over already placed j of sim(i, j),
//   rel(i) = (score(i) - min score) / (max score - min score) over the pool (1 when all equal),
//   among the first diversity_window feasible candidates in pool order (0 = max(4k, 50)); ties go
//   to the earlier candidate.
//
// Thread-safety: Rules and CatalogIndex are thread-compatible (const methods may run
// concurrently); a RuleSet is thread-compatible (const methods may run concurrently).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/data/catalog.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/retrieval/item_bitset.hpp"

namespace tailor {

/// Which items a ScoreAdjustment applies to: an item matches when it satisfies every non-empty
/// field (an all-empty selector matches every item).
struct ItemSelector {
  std::vector<Index> items;                  ///< the item is one of these
  std::vector<std::string> category_prefix;  ///< its category path starts with this prefix
  std::string brand;                         ///< its brand equals this
  std::string attribute_key;                 ///< attributes[attribute_key] == attribute_value
  std::string attribute_value;
};

/// Boost or bury: score <- score * multiply + add for the selected items. Blended scores lie in
/// [0, 1], so the bounds leave any practical boost possible; the adjusted score saturates at
/// +-kScoreLimit, so no chain of adjustments makes it infinite.
struct ScoreAdjustment {
  static constexpr float kMaxMultiply = 1e6f;
  static constexpr float kMaxAdd = 1e6f;
  static constexpr float kScoreLimit = 1e30f;

  ItemSelector select;
  float multiply = 1.0f;  ///< in [0, kMaxMultiply]
  float add = 0.0f;       ///< in [-kMaxAdd, kMaxAdd]
};

/// An item placed at a fixed slot (0-based) of the list.
struct Pin {
  Index item = 0;
  std::size_t slot = 0;

  friend bool operator==(const Pin& a, const Pin& b) {
    return a.item == b.item && a.slot == b.slot;
  }
};

/// At most max_items returned items whose category path starts with `prefix`.
struct CategoryCap {
  std::vector<std::string> prefix;
  std::size_t max_items = 0;
};

/// The vectors MMR measures similarity with.
enum class DiversitySpace {
  automatic,  ///< content vectors when the model has them, else collaborative item factors
  content,    ///< content vectors (cosine)
  factors,    ///< collaborative item factors (cosine)
};

/// The business rules of one request (see the file comment for exact semantics). Defaults: seen
/// and purchased items, the context item and out-of-stock items are excluded; nothing else.
struct TAILOR_API Rules {
  // ---- filters
  bool exclude_seen = true;
  bool exclude_purchased = true;
  bool exclude_context = true;  ///< never recommend the request's context item on its own page
  bool exclude_out_of_stock = true;
  std::vector<std::vector<std::string>> include_categories;  ///< empty = every category
  std::vector<std::vector<std::string>> exclude_categories;
  std::optional<double> min_price;  ///< finite, >= 0
  std::optional<double> max_price;  ///< finite, >= min_price
  std::vector<Index> allow;         ///< empty = every item
  std::vector<Index> deny;

  // ---- scores
  std::vector<ScoreAdjustment> adjustments;  ///< boosts and buries, applied in order

  // ---- placement
  std::vector<Pin> pins;               ///< distinct slots, distinct items
  std::vector<Index> promoted;         ///< promoted (sponsored) items
  double promoted_min_share = 0.0;     ///< in [0, 1]
  double promoted_max_share = 1.0;     ///< in [promoted_min_share, 1]
  std::size_t max_per_category = 0;    ///< 0 = no cap
  std::size_t category_cap_depth = 1;  ///< levels of the path that name a category for the cap
  std::vector<CategoryCap> category_caps;
  bool one_per_family = false;
  float diversity_lambda = 1.0f;  ///< in [0, 1]; 1 = no diversification
  DiversitySpace diversity_space = DiversitySpace::automatic;
  std::size_t diversity_window = 0;  ///< MMR candidates per slot; 0 = max(4k, 50)

  /// Throws Error(invalid_argument) naming the field (and index) that is out of range: an item
  /// index >= n_items, a share outside [0, 1] or min > max, a negative or non-finite price bound
  /// or min > max, a non-finite or negative multiplier, a non-finite addend, lambda outside
  /// [0, 1], two pins on one slot or one item pinned twice.
  void validate(std::size_t n_items) const;
};

/// Lookup tables derived from a Catalog: the category tree (every distinct path prefix is a node,
/// the root is node 0), a dense family id per item, and the "never recommend" flag.
/// Thread-safety: thread-compatible (const methods may run concurrently).
class TAILOR_API CatalogIndex {
 public:
  CatalogIndex() = default;
  /// Items keep their catalog indices. family_attribute names the variant-family attribute (items
  /// without it are each their own family); never_recommend_attribute names the flag attribute
  /// (empty: no catalog-level flag).
  explicit CatalogIndex(const Catalog& catalog, const std::string& family_attribute = "family",
                        const std::string& never_recommend_attribute = "never_recommend");

  std::size_t n_items() const noexcept { return families_.size(); }

  /// The node of a category path prefix (the root, 0, for the empty prefix), or nullopt when no
  /// item's path starts with it.
  std::optional<std::uint32_t> find_category(const std::vector<std::string>& prefix) const;
  /// Number of nodes (the root included).
  std::size_t n_categories() const noexcept { return node_names_.size(); }
  /// Depth of a node (0 for the root).
  std::size_t node_depth(std::uint32_t node) const { return node_depths_.at(node); }
  /// Last path component of a node ("" for the root).
  const std::string& category_name(std::uint32_t node) const { return node_names_.at(node); }
  /// Number of levels of the item's category path.
  std::size_t path_length(Index item) const;
  /// The node of the item's path cut at `depth` (its whole path when shorter; 0 when depth = 0).
  std::uint32_t category_node(Index item, std::size_t depth) const;
  /// True when the item's path starts with the prefix of `node`.
  bool in_category(Index item, std::uint32_t node) const;

  /// Dense family id: items sharing a non-empty family attribute share the id.
  std::uint32_t family(Index item) const { return families_.at(item); }
  /// The "never recommend" flag: the catalog attribute, or set by flag_never_recommend.
  bool never_recommend(Index item) const { return never_[item] != 0; }
  /// Flags an item "never recommend" (e.g. a model-level flag); throws Error(invalid_argument)
  /// for an index >= n_items().
  void flag_never_recommend(Index item);

 private:
  std::vector<std::size_t> path_offsets_;  // item i's nodes (depth 1..len) at [o[i], o[i+1])
  std::vector<std::uint32_t> path_nodes_;
  std::vector<std::string> node_names_;
  std::vector<std::size_t> node_depths_;
  std::map<std::pair<std::uint32_t, std::string>, std::uint32_t> children_;
  std::vector<std::uint32_t> families_;
  std::vector<char> never_;
};

/// One candidate offered to RuleSet::place.
struct PlacementCandidate {
  Index item = 0;
  float score = 0.0f;
};

/// What RuleSet::place returns.
struct Placement {
  std::vector<PlacementCandidate> items;  ///< in slot order (compacted)
  std::vector<char> pinned;               ///< parallel to items: placed by a pin
  std::vector<Pin> dropped_pins;       ///< pins that were not placed (ineligible, cap, slot >= k)
  std::size_t promoted_shortfall = 0;  ///< promoted slots owed by the minimum share but unfilled
};

/// Rules compiled for one request. Holds references to the catalog and index (which must outlive
/// it). Thread-safety: thread-compatible (const methods may run concurrently).
class TAILOR_API RuleSet {
 public:
  /// Similarity of two items for MMR (symmetric, typically a cosine in [-1, 1]).
  using Similarity = std::function<float(Index, Index)>;

  /// `seen` and `purchased`: the user's items (any order, duplicates allowed); `context`: the item
  /// of the page being viewed, if any. Throws Error(invalid_argument) as rules.validate(), and for
  /// seen, purchased or context indices >= catalog.size(), or an index of another size.
  RuleSet(const Rules& rules, const Catalog& catalog, const CatalogIndex& index,
          std::vector<Index> seen = {}, std::vector<Index> purchased = {},
          std::optional<Index> context = std::nullopt);

  const Rules& rules() const noexcept { return rules_; }

  /// True when the item passes every filter (see the file comment). False for an index out of
  /// range.
  bool eligible(Index item) const;

  // The filters split in two: the catalog part (never-recommend flag, stock, price range,
  // included and excluded categories), which depends on the item alone and is the same for
  // every request with the same rules, and the request part (seen, purchased, context, allow,
  // deny). A server caches the catalog part as a bitset per distinct rules and reuses it.

  /// Key of the catalog part: rule sets with equal keys have equal catalog_filter().
  std::string catalog_filter_key() const;
  /// The catalog part over every catalog item (one pass over the catalog).
  ItemBitset catalog_filter() const;
  /// Makes eligible() read the catalog part from `filter`, which must be catalog_filter() of a
  /// rule set with the same key over the same catalog. Throws Error(invalid_argument) for null
  /// or a bitset of another size.
  void use_catalog_filter(std::shared_ptr<const ItemBitset> filter);
  /// The bitset given to use_catalog_filter (null if none).
  const std::shared_ptr<const ItemBitset>& catalog_filter_in_use() const noexcept {
    return catalog_filter_;
  }
  /// The items the request part rejects besides the allow list: seen, purchased and context
  /// items as the rules exclude them, and the deny list; sorted, unique. With the allow list
  /// empty, eligible(i) == catalog part(i) && i not in this list.
  std::vector<Index> excluded_items() const;
  /// The score after every matching boost and bury.
  float adjust(Index item, float score) const;
  /// True when the item is listed in rules().promoted.
  bool promoted(Index item) const;

  /// Promoted slots allowed and owed for a list of k: {min, max} (see the file comment).
  std::pair<std::size_t, std::size_t> promoted_bounds(std::size_t k) const;

  /// Fills up to k slots from `pool` (candidates best first; ineligible ones and repeats are
  /// skipped) and the pins. A k beyond the catalog size counts as the catalog size. A pinned item absent from the pool is placed with score 0.
  /// `similarity` is required when diversity_lambda < 1 (Error invalid_argument otherwise).
  Placement place(const std::vector<PlacementCandidate>& pool, std::size_t k,
                  const Similarity& similarity = nullptr) const;

 private:
  bool selector_matches(const ItemSelector& s, std::size_t adjustment, Index item) const;
  bool catalog_eligible(Index item) const;

  Rules rules_;
  const Catalog* catalog_;
  const CatalogIndex* index_;
  std::vector<Index> seen_;       // sorted, unique
  std::vector<Index> purchased_;  // sorted, unique
  std::optional<Index> context_;
  std::vector<Index> allow_, deny_, promoted_;  // sorted, unique
  // Resolved category prefixes (nullopt: no item has the prefix).
  std::vector<std::optional<std::uint32_t>> include_nodes_, exclude_nodes_, cap_nodes_;
  std::vector<std::optional<std::uint32_t>> adjustment_nodes_;
  std::vector<std::vector<Index>> adjustment_items_;  // sorted per adjustment
  std::shared_ptr<const ItemBitset> catalog_filter_;  // the catalog part, when cached
};

}  // namespace tailor
