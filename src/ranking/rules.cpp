// tailor: business rules (see include/tailor/ranking/rules.hpp).
#include "tailor/ranking/rules.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "tailor/core/error.hpp"

namespace tailor {
namespace {

std::vector<Index> sorted_unique(std::vector<Index> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

bool contains_sorted(const std::vector<Index>& v, Index x) {
  return std::binary_search(v.begin(), v.end(), x);
}

void check_items(const std::vector<Index>& items, std::size_t n_items, const char* field) {
  for (std::size_t j = 0; j < items.size(); ++j) {
    if (items[j] >= n_items) {
      TAILOR_THROW(invalid_argument, "rules." << field << "[" << j << "] = " << items[j]
                                              << " is not an item index (catalog has " << n_items
                                              << " items)");
    }
  }
}

bool truthy(const std::string& v) {
  std::string s;
  for (char c : v) s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return s == "1" || s == "true" || s == "yes";
}

// Share of k as a slot count, with a tolerance so that 0.3 * 10 is 3.
std::size_t floor_share(double share, std::size_t k) {
  return static_cast<std::size_t>(std::floor(share * static_cast<double>(k) + 1e-9));
}
std::size_t ceil_share(double share, std::size_t k) {
  return static_cast<std::size_t>(std::ceil(share * static_cast<double>(k) - 1e-9));
}

}  // namespace

// ---- Rules
// ----------------------------------------------------------------------------------------

void Rules::validate(std::size_t n_items) const {
  check_items(allow, n_items, "allow");
  check_items(deny, n_items, "deny");
  check_items(promoted, n_items, "promoted");
  for (const double* bound :
       {min_price ? &*min_price : nullptr, max_price ? &*max_price : nullptr}) {
    if (bound != nullptr && (!std::isfinite(*bound) || *bound < 0.0)) {
      TAILOR_THROW(invalid_argument, "rules." << (bound == &*min_price ? "min_price" : "max_price")
                                              << " = " << *bound << ", expected finite and >= 0");
    }
  }
  if (min_price && max_price && *min_price > *max_price) {
    TAILOR_THROW(invalid_argument,
                 "rules.min_price = " << *min_price << " exceeds rules.max_price = " << *max_price);
  }
  for (std::size_t a = 0; a < adjustments.size(); ++a) {
    const auto& adj = adjustments[a];
    if (!(adj.multiply >= 0.0f && adj.multiply <= ScoreAdjustment::kMaxMultiply)) {
      TAILOR_THROW(invalid_argument, "rules.adjustments[" << a << "].multiply = " << adj.multiply
                                                          << ", expected in [0, "
                                                          << ScoreAdjustment::kMaxMultiply << "]");
    }
    if (!(std::abs(adj.add) <= ScoreAdjustment::kMaxAdd)) {
      TAILOR_THROW(invalid_argument, "rules.adjustments[" << a << "].add = " << adj.add
                                                          << ", expected in [-"
                                                          << ScoreAdjustment::kMaxAdd << ", "
                                                          << ScoreAdjustment::kMaxAdd << "]");
    }
    for (std::size_t j = 0; j < adj.select.items.size(); ++j) {
      if (adj.select.items[j] >= n_items) {
        TAILOR_THROW(invalid_argument, "rules.adjustments[" << a << "].select.items[" << j
                                                            << "] = " << adj.select.items[j]
                                                            << " is not an item index (catalog has "
                                                            << n_items << " items)");
      }
    }
  }
  for (std::size_t p = 0; p < pins.size(); ++p) {
    if (pins[p].item >= n_items) {
      TAILOR_THROW(invalid_argument, "rules.pins[" << p << "].item = " << pins[p].item
                                                   << " is not an item index (catalog has "
                                                   << n_items << " items)");
    }
    for (std::size_t q = 0; q < p; ++q) {
      if (pins[q].slot == pins[p].slot) {
        TAILOR_THROW(invalid_argument, "rules.pins[" << q << "] and rules.pins[" << p
                                                     << "] both pin slot " << pins[p].slot);
      }
      if (pins[q].item == pins[p].item) {
        TAILOR_THROW(invalid_argument, "rules.pins[" << q << "] and rules.pins[" << p
                                                     << "] both pin item " << pins[p].item);
      }
    }
  }
  if (!(promoted_min_share >= 0.0 && promoted_min_share <= 1.0)) {
    TAILOR_THROW(invalid_argument,
                 "rules.promoted_min_share = " << promoted_min_share << ", expected in [0, 1]");
  }
  if (!(promoted_max_share >= promoted_min_share && promoted_max_share <= 1.0)) {
    TAILOR_THROW(invalid_argument,
                 "rules.promoted_max_share = " << promoted_max_share
                                               << ", expected in [promoted_min_share = "
                                               << promoted_min_share << ", 1]");
  }
  if (!(diversity_lambda >= 0.0f && diversity_lambda <= 1.0f)) {
    TAILOR_THROW(invalid_argument,
                 "rules.diversity_lambda = " << diversity_lambda << ", expected in [0, 1]");
  }
}

// ---- CatalogIndex
// ---------------------------------------------------------------------------------

CatalogIndex::CatalogIndex(const Catalog& catalog, const std::string& family_attribute,
                           const std::string& never_recommend_attribute) {
  const std::size_t n = catalog.size();
  node_names_.emplace_back();
  node_depths_.push_back(0);
  path_offsets_.reserve(n + 1);
  path_offsets_.push_back(0);
  families_.resize(n);
  never_.assign(n, 0);
  std::unordered_map<std::string, std::uint32_t> family_ids;
  std::uint32_t next_family = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const CatalogItem& item = catalog.items()[i];
    std::uint32_t node = 0;
    for (std::size_t d = 0; d < item.category_path.size(); ++d) {
      auto key = std::make_pair(node, item.category_path[d]);
      auto it = children_.find(key);
      if (it == children_.end()) {
        const auto child = static_cast<std::uint32_t>(node_names_.size());
        node_names_.push_back(item.category_path[d]);
        node_depths_.push_back(d + 1);
        it = children_.emplace(std::move(key), child).first;
      }
      node = it->second;
      path_nodes_.push_back(node);
    }
    path_offsets_.push_back(path_nodes_.size());

    auto fam =
        family_attribute.empty() ? item.attributes.end() : item.attributes.find(family_attribute);
    if (fam != item.attributes.end() && !fam->second.empty()) {
      auto [it, inserted] = family_ids.emplace(fam->second, next_family);
      if (inserted) ++next_family;
      families_[i] = it->second;
    } else {
      families_[i] = next_family++;  // a family of its own
    }
    if (!never_recommend_attribute.empty()) {
      auto flag = item.attributes.find(never_recommend_attribute);
      if (flag != item.attributes.end() && truthy(flag->second)) never_[i] = 1;
    }
  }
}

std::optional<std::uint32_t> CatalogIndex::find_category(
    const std::vector<std::string>& prefix) const {
  std::uint32_t node = 0;
  for (const auto& part : prefix) {
    auto it = children_.find(std::make_pair(node, part));
    if (it == children_.end()) return std::nullopt;
    node = it->second;
  }
  return node;
}

std::size_t CatalogIndex::path_length(Index item) const {
  return path_offsets_.at(item + std::size_t{1}) - path_offsets_[item];
}

std::uint32_t CatalogIndex::category_node(Index item, std::size_t depth) const {
  const std::size_t len = path_length(item);
  const std::size_t d = std::min(depth, len);
  return d == 0 ? 0u : path_nodes_[path_offsets_[item] + d - 1];
}

bool CatalogIndex::in_category(Index item, std::uint32_t node) const {
  const std::size_t depth = node_depths_.at(node);
  if (depth == 0) return true;
  return path_length(item) >= depth && path_nodes_[path_offsets_[item] + depth - 1] == node;
}

void CatalogIndex::flag_never_recommend(Index item) {
  if (item >= never_.size()) {
    TAILOR_THROW(invalid_argument, "CatalogIndex::flag_never_recommend: item "
                                       << item << " out of range (" << never_.size() << " items)");
  }
  never_[item] = 1;
}

// ---- RuleSet
// --------------------------------------------------------------------------------------

RuleSet::RuleSet(const Rules& rules, const Catalog& catalog, const CatalogIndex& index,
                 std::vector<Index> seen, std::vector<Index> purchased,
                 std::optional<Index> context)
    : rules_(rules), catalog_(&catalog), index_(&index), context_(context) {
  const std::size_t n = catalog.size();
  if (index.n_items() != n) {
    TAILOR_THROW(invalid_argument, "RuleSet: the CatalogIndex covers "
                                       << index.n_items() << " items, the catalog has " << n);
  }
  rules_.validate(n);
  for (std::size_t j = 0; j < seen.size(); ++j) {
    if (seen[j] >= n)
      TAILOR_THROW(invalid_argument, "seen[" << j << "] = " << seen[j]
                                             << " is not an item index (catalog has " << n
                                             << " items)");
  }
  for (std::size_t j = 0; j < purchased.size(); ++j) {
    if (purchased[j] >= n)
      TAILOR_THROW(invalid_argument, "purchased[" << j << "] = " << purchased[j]
                                                  << " is not an item index (catalog has " << n
                                                  << " items)");
  }
  if (context && *context >= n) {
    TAILOR_THROW(invalid_argument, "context item " << *context
                                                   << " is not an item index (catalog has " << n
                                                   << " items)");
  }
  seen_ = sorted_unique(std::move(seen));
  purchased_ = sorted_unique(std::move(purchased));
  allow_ = sorted_unique(rules_.allow);
  deny_ = sorted_unique(rules_.deny);
  promoted_ = sorted_unique(rules_.promoted);
  for (const auto& p : rules_.include_categories) include_nodes_.push_back(index.find_category(p));
  for (const auto& p : rules_.exclude_categories) exclude_nodes_.push_back(index.find_category(p));
  for (const auto& c : rules_.category_caps) cap_nodes_.push_back(index.find_category(c.prefix));
  for (const auto& a : rules_.adjustments) {
    adjustment_nodes_.push_back(a.select.category_prefix.empty()
                                    ? std::optional<std::uint32_t>(0u)
                                    : index.find_category(a.select.category_prefix));
    adjustment_items_.push_back(sorted_unique(a.select.items));
  }
}

bool RuleSet::eligible(Index item) const {
  if (item >= catalog_->size()) return false;
  if (catalog_filter_ ? !catalog_filter_->test(item) : !catalog_eligible(item)) return false;
  if (rules_.exclude_seen && contains_sorted(seen_, item)) return false;
  if (rules_.exclude_purchased && contains_sorted(purchased_, item)) return false;
  if (rules_.exclude_context && context_ && *context_ == item) return false;
  if (!allow_.empty() && !contains_sorted(allow_, item)) return false;
  return !contains_sorted(deny_, item);
}

bool RuleSet::catalog_eligible(Index item) const {
  if (index_->never_recommend(item)) return false;
  const CatalogItem& c = catalog_->items()[item];
  if (rules_.exclude_out_of_stock && !c.in_stock) return false;
  if (rules_.min_price || rules_.max_price) {
    if (!c.price) return false;
    if (rules_.min_price && *c.price < *rules_.min_price) return false;
    if (rules_.max_price && *c.price > *rules_.max_price) return false;
  }
  if (!include_nodes_.empty()) {
    bool any = false;
    for (const auto& node : include_nodes_) {
      if (node && index_->in_category(item, *node)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  for (const auto& node : exclude_nodes_) {
    if (node && index_->in_category(item, *node)) return false;
  }
  return true;
}

std::string RuleSet::catalog_filter_key() const {
  // Exact and unambiguous: prices as their bit patterns, nodes as resolved ids (a prefix no item
  // has is "-"), fields separated by characters no number uses.
  std::string key;
  key += rules_.exclude_out_of_stock ? 's' : 'a';
  auto price = [&](const std::optional<double>& p) {
    if (!p) {
      key += "|-";
      return;
    }
    std::uint64_t bits = 0;
    std::memcpy(&bits, &*p, sizeof bits);
    key += '|' + std::to_string(bits);
  };
  price(rules_.min_price);
  price(rules_.max_price);
  auto nodes = [&](char tag, const std::vector<std::optional<std::uint32_t>>& list) {
    key += tag;
    for (const auto& n : list) key += n ? std::to_string(*n) + ',' : std::string("-,");
  };
  nodes('+', include_nodes_);
  nodes('!', exclude_nodes_);
  return key;
}

ItemBitset RuleSet::catalog_filter() const {
  const std::size_t n = catalog_->size();
  ItemBitset out(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (catalog_eligible(static_cast<Index>(i))) out.set(static_cast<Index>(i));
  }
  return out;
}

void RuleSet::use_catalog_filter(std::shared_ptr<const ItemBitset> filter) {
  TAILOR_REQUIRE(filter != nullptr, "RuleSet::use_catalog_filter: the bitset is null");
  TAILOR_REQUIRE(filter->universe() == catalog_->size(),
                 "RuleSet::use_catalog_filter: the bitset covers "
                     << filter->universe() << " items, the catalog has " << catalog_->size());
  catalog_filter_ = std::move(filter);
}

std::vector<Index> RuleSet::excluded_items() const {
  std::vector<Index> out = deny_;
  if (rules_.exclude_seen) out.insert(out.end(), seen_.begin(), seen_.end());
  if (rules_.exclude_purchased) out.insert(out.end(), purchased_.begin(), purchased_.end());
  if (rules_.exclude_context && context_) out.push_back(*context_);
  return sorted_unique(std::move(out));
}

bool RuleSet::selector_matches(const ItemSelector& s, std::size_t adjustment, Index item) const {
  if (!s.items.empty() && !contains_sorted(adjustment_items_[adjustment], item)) return false;
  const auto& node = adjustment_nodes_[adjustment];
  if (!node || !index_->in_category(item, *node)) return false;
  const CatalogItem& c = catalog_->items()[item];
  if (!s.brand.empty() && c.brand != s.brand) return false;
  if (!s.attribute_key.empty()) {
    auto it = c.attributes.find(s.attribute_key);
    if (it == c.attributes.end() || it->second != s.attribute_value) return false;
  }
  return true;
}

float RuleSet::adjust(Index item, float score) const {
  if (item >= catalog_->size()) return score;
  for (std::size_t a = 0; a < rules_.adjustments.size(); ++a) {
    const auto& adj = rules_.adjustments[a];
    if (selector_matches(adj.select, a, item)) {
      // Saturated, so no chain of adjustments overflows to an infinite score.
      score = std::clamp(score * adj.multiply + adj.add, -ScoreAdjustment::kScoreLimit,
                         ScoreAdjustment::kScoreLimit);
    }
  }
  return score;
}

bool RuleSet::promoted(Index item) const { return contains_sorted(promoted_, item); }

std::pair<std::size_t, std::size_t> RuleSet::promoted_bounds(std::size_t k) const {
  const std::size_t hi = std::min(k, floor_share(rules_.promoted_max_share, k));
  const std::size_t lo = std::min(hi, ceil_share(rules_.promoted_min_share, k));
  return {lo, hi};
}

namespace {

// The running state of one placement: what is taken and how full every cap is.
class CapState {
 public:
  CapState(const Rules& rules, const CatalogIndex& index,
           const std::vector<std::optional<std::uint32_t>>& cap_nodes, std::size_t promoted_max)
      : rules_(rules),
        index_(index),
        cap_nodes_(cap_nodes),
        promoted_max_(promoted_max),
        cap_counts_(cap_nodes.size(), 0) {}

  bool fits(Index item, bool is_promoted) const {
    if (taken_.count(item) != 0) return false;
    if (is_promoted && promoted_ >= promoted_max_) return false;
    if (rules_.one_per_family && families_.count(index_.family(item)) != 0) return false;
    if (rules_.max_per_category > 0) {
      auto it = category_counts_.find(index_.category_node(item, rules_.category_cap_depth));
      if (it != category_counts_.end() && it->second >= rules_.max_per_category) return false;
    }
    for (std::size_t c = 0; c < cap_nodes_.size(); ++c) {
      if (cap_nodes_[c] && index_.in_category(item, *cap_nodes_[c]) &&
          cap_counts_[c] >= rules_.category_caps[c].max_items) {
        return false;
      }
    }
    return true;
  }

  void take(Index item, bool is_promoted) {
    taken_.emplace(item, 1);
    if (is_promoted) ++promoted_;
    if (rules_.one_per_family) families_.emplace(index_.family(item), 1);
    if (rules_.max_per_category > 0) {
      ++category_counts_[index_.category_node(item, rules_.category_cap_depth)];
    }
    for (std::size_t c = 0; c < cap_nodes_.size(); ++c) {
      if (cap_nodes_[c] && index_.in_category(item, *cap_nodes_[c])) ++cap_counts_[c];
    }
  }

  std::size_t promoted_taken() const { return promoted_; }

 private:
  const Rules& rules_;
  const CatalogIndex& index_;
  const std::vector<std::optional<std::uint32_t>>& cap_nodes_;
  std::size_t promoted_max_;
  std::size_t promoted_ = 0;
  std::unordered_map<Index, char> taken_;
  std::unordered_map<std::uint32_t, char> families_;
  std::unordered_map<std::uint32_t, std::size_t> category_counts_;
  std::vector<std::size_t> cap_counts_;
};

}  // namespace

Placement RuleSet::place(const std::vector<PlacementCandidate>& pool, std::size_t k,
                         const Similarity& similarity) const {
  // No list is longer than the catalog: memory follows the catalog, never the request's k.
  k = std::min(k, catalog_->size());
  Placement out;
  const bool mmr = rules_.diversity_lambda < 1.0f;
  if (mmr && !similarity) {
    TAILOR_THROW(invalid_argument,
                 "rules.diversity_lambda = " << rules_.diversity_lambda
                                             << " < 1 needs item vectors to measure similarity");
  }
  const auto [promoted_min, promoted_max] = promoted_bounds(k);
  CapState state(rules_, *index_, cap_nodes_, promoted_max);

  // Slots: the pinned item index into `placed` or none.
  constexpr std::size_t kEmpty = std::numeric_limits<std::size_t>::max();
  std::vector<std::size_t> slot_pin(k, kEmpty);
  std::vector<PlacementCandidate> pins_placed;
  {
    std::vector<Pin> pins = rules_.pins;
    std::stable_sort(pins.begin(), pins.end(),
                     [](const Pin& a, const Pin& b) { return a.slot < b.slot; });
    for (const Pin& p : pins) {
      const bool is_promoted = promoted(p.item);
      if (p.slot >= k || !eligible(p.item) || !state.fits(p.item, is_promoted)) {
        out.dropped_pins.push_back(p);
        continue;
      }
      float score = 0.0f;
      for (const auto& c : pool) {
        if (c.item == p.item) {
          score = c.score;
          break;
        }
      }
      state.take(p.item, is_promoted);
      slot_pin[p.slot] = pins_placed.size();
      pins_placed.push_back({p.item, score});
    }
  }

  // The pool without ineligible items and repeats (first occurrence wins).
  std::vector<PlacementCandidate> cands;
  cands.reserve(pool.size());
  {
    std::unordered_map<Index, char> seen_in_pool;
    for (const auto& c : pool) {
      if (!eligible(c.item)) continue;
      if (!seen_in_pool.emplace(c.item, 1).second) continue;
      cands.push_back(c);
    }
  }
  std::vector<char> is_promoted(cands.size());
  for (std::size_t j = 0; j < cands.size(); ++j) is_promoted[j] = promoted(cands[j].item) ? 1 : 0;
  // dead[j]: taken, or can never fit again (caps only fill up).
  std::vector<char> dead(cands.size(), 0);

  // MMR bookkeeping: relevance in [0, 1] and the running max similarity to the placed items.
  std::vector<float> rel, max_sim;
  std::vector<std::size_t> sim_upto;
  std::vector<Index> placed_items;  // every placed item, pins first, in placement order
  for (const auto& p : pins_placed) placed_items.push_back(p.item);
  if (mmr) {
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (const auto& c : cands) {
      lo = std::min(lo, c.score);
      hi = std::max(hi, c.score);
    }
    rel.resize(cands.size());
    for (std::size_t j = 0; j < cands.size(); ++j) {
      rel[j] = hi > lo ? (cands[j].score - lo) / (hi - lo) : 1.0f;
    }
    max_sim.assign(cands.size(), -std::numeric_limits<float>::infinity());
    sim_upto.assign(cands.size(), 0);
  }
  const std::size_t window =
      rules_.diversity_window > 0 ? rules_.diversity_window : std::max<std::size_t>(4 * k, 50);

  std::size_t free_slots = 0;
  for (std::size_t s = 0; s < k; ++s) free_slots += slot_pin[s] == kEmpty ? 1 : 0;

  std::vector<PlacementCandidate> filled(k);
  std::vector<char> filled_ok(k, 0), filled_pinned(k, 0);
  std::size_t first_live = 0;  // candidates before it are all dead
  std::size_t free_left = free_slots;
  for (std::size_t s = 0; s < k; ++s) {
    if (slot_pin[s] != kEmpty) {
      filled[s] = pins_placed[slot_pin[s]];
      filled_ok[s] = 1;
      filled_pinned[s] = 1;
      continue;
    }
    const std::size_t owed =
        promoted_min > state.promoted_taken() ? promoted_min - state.promoted_taken() : 0;
    const bool need_promoted = owed > 0 && owed >= free_left;
    --free_left;

    // Pick the best feasible candidate, promoted-only first when owed.
    std::size_t best = kEmpty;
    for (int pass = need_promoted ? 0 : 1; pass < 2 && best == kEmpty; ++pass) {
      const bool promoted_only = pass == 0;
      float best_value = -std::numeric_limits<float>::infinity();
      std::size_t considered = 0;
      while (first_live < cands.size() && dead[first_live]) ++first_live;
      for (std::size_t j = first_live; j < cands.size(); ++j) {
        if (dead[j]) continue;
        if (!state.fits(cands[j].item, is_promoted[j] != 0)) {
          // Caps only fill up, so an item that does not fit now never will, except for the
          // promoted maximum which is also monotone: dead in both cases.
          dead[j] = 1;
          continue;
        }
        if (promoted_only && !is_promoted[j]) continue;
        if (!mmr) {
          best = j;
          break;
        }
        for (; sim_upto[j] < placed_items.size(); ++sim_upto[j]) {
          max_sim[j] = std::max(max_sim[j], similarity(cands[j].item, placed_items[sim_upto[j]]));
        }
        const float penalty = placed_items.empty() ? 0.0f : max_sim[j];
        const float lambda = rules_.diversity_lambda;
        const float value = lambda * rel[j] - (1.0f - lambda) * penalty;
        if (best == kEmpty || value > best_value) {
          best = j;
          best_value = value;
        }
        if (++considered >= window) break;
      }
    }
    if (best == kEmpty) continue;  // nothing fits: the slot stays empty
    dead[best] = 1;
    state.take(cands[best].item, is_promoted[best] != 0);
    placed_items.push_back(cands[best].item);
    filled[s] = cands[best];
    filled_ok[s] = 1;
  }
  if (state.promoted_taken() < promoted_min) {
    out.promoted_shortfall = promoted_min - state.promoted_taken();
  }
  for (std::size_t s = 0; s < k; ++s) {
    if (!filled_ok[s]) continue;
    out.items.push_back(filled[s]);
    out.pinned.push_back(filled_pinned[s]);
  }
  return out;
}

}  // namespace tailor
