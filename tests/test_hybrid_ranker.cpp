#include "tailor/ranking/hybrid_ranker.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "sparse.hpp"
#include "tailor/core/error.hpp"
#include "tailor/ranking/blend_learning.hpp"
#include "tailor/models/content_bridge.hpp"
#include "tailor/models/trending.hpp"

using tailor::Catalog;
using tailor::CatalogItem;
using tailor::EventType;
using tailor::HybridRanker;
using tailor::HybridRankerOptions;
using tailor::Index;
using tailor::RankedItem;
using tailor::RankerModel;
using tailor::RankRequest;
using tailor::RankResult;
using tailor::ReasonKind;
using tailor::RowMatrix;
using tailor::Rules;
using tailor::Source;

namespace {

// SplitMix64: a seeded stream, the same on every platform.
struct Rng {
  std::uint64_t state;
  explicit Rng(std::uint64_t seed) : state(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return uniform() < p; }
  float normal() {  // Box-Muller
    const double u1 = std::max(uniform(), 1e-12), u2 = uniform();
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
};

const std::vector<std::string> kTops = {"Home", "Garden", "Toys", "Fashion", "Books"};
const std::vector<std::string> kSubs = {"A", "B", "C", "D"};
const std::vector<std::string> kLeaves = {"x", "y"};
const std::vector<std::string> kBrands = {"acme", "best", "zeta", "nova", "orbit", "pico"};

// A synthetic shop: 500 items with 1-3 level categories (a few without), product families of
// 1-4 variants, 15% out of stock, 5% without a price, 2% flagged never_recommend; random ALS-like
// factors, bridge vectors for rarely bought items, unit content vectors (2% without), item-kNN
// neighbours from random baskets, popularity, trending.
struct World {
  Catalog catalog;
  RowMatrix factors, cold, content;
  tailor::ItemNeighbors neighbors;
  std::vector<std::uint32_t> counts;
  std::vector<float> popularity, trending;
  std::vector<std::uint8_t> never;  // model-level flags
  RowMatrix users;

  explicit World(std::uint64_t seed, std::size_t n = 500, std::size_t n_users = 200) {
    Rng rng(seed);
    std::size_t family = 0, left_in_family = 0;
    for (std::size_t i = 0; i < n; ++i) {
      CatalogItem c;
      c.id = "sku" + std::to_string(i);
      c.title = "Product " + std::to_string(i);
      if (!rng.chance(0.03)) {
        c.category_path.push_back(kTops[rng.below(kTops.size())]);
        if (rng.chance(0.85)) c.category_path.push_back(kSubs[rng.below(kSubs.size())]);
        if (c.category_path.size() == 2 && rng.chance(0.5)) {
          c.category_path.push_back(kLeaves[rng.below(kLeaves.size())]);
        }
      }
      c.brand = kBrands[rng.below(kBrands.size())];
      if (!rng.chance(0.05)) c.price = 1.0 + 99.0 * rng.uniform();
      c.in_stock = !rng.chance(0.15);
      if (left_in_family == 0) {
        ++family;
        left_in_family = 1 + rng.below(4);
      }
      --left_in_family;
      if (rng.chance(0.9)) c.attributes["family"] = "fam" + std::to_string(family);
      if (rng.chance(0.02)) c.attributes["never_recommend"] = "yes";
      catalog.upsert(c);
    }
    const Eigen::Index f = 8, d = 16;
    factors.resize(static_cast<Eigen::Index>(n), f);
    cold.resize(static_cast<Eigen::Index>(n), f);
    content.resize(static_cast<Eigen::Index>(n), d);
    for (Eigen::Index i = 0; i < static_cast<Eigen::Index>(n); ++i) {
      for (Eigen::Index j = 0; j < f; ++j) factors(i, j) = rng.normal();
      for (Eigen::Index j = 0; j < f; ++j) cold(i, j) = 0.5f * rng.normal();
      for (Eigen::Index j = 0; j < d; ++j) content(i, j) = rng.normal();
      if (rng.chance(0.02)) {
        content.row(i).setZero();
      } else {
        content.row(i).normalize();
      }
    }
    users.resize(static_cast<Eigen::Index>(n_users), f);
    for (Eigen::Index u = 0; u < users.rows(); ++u) {
      for (Eigen::Index j = 0; j < f; ++j) users(u, j) = rng.normal();
    }
    std::vector<tailor::test::Triplet> t;
    for (std::size_t u = 0; u < n_users; ++u) {
      const std::size_t basket = 2 + rng.below(12);
      for (std::size_t b = 0; b < basket; ++b) {
        // Popular items are picked more often: square a uniform.
        const double x = rng.uniform();
        t.emplace_back(static_cast<int>(u), static_cast<int>(x * x * static_cast<double>(n)), 1.0f);
      }
    }
    const tailor::SparseMatrix m = tailor::test::make_matrix(static_cast<Eigen::Index>(n_users),
                                                             static_cast<Eigen::Index>(n), t);
    tailor::SparseMatrix binary = m;
    for (Eigen::Index k = 0; k < binary.nonZeros(); ++k) binary.valuePtr()[k] = 1.0f;
    tailor::ItemKnnOptions ko;
    ko.neighbors = 20;
    neighbors = tailor::build_item_neighbors(binary, ko);
    counts = tailor::item_interaction_counts(binary);
    popularity.assign(counts.begin(), counts.end());
    trending.assign(n, 0.0f);
    for (std::size_t i = 0; i < n; ++i) {
      if (rng.chance(0.1)) trending[i] = static_cast<float>(rng.uniform() * 10.0);
    }
    never.assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) never[i] = rng.chance(0.01) ? 1 : 0;
  }

  RankerModel model() const {
    RankerModel m;
    m.catalog = &catalog;
    m.item_factors = &factors;
    m.cold_item_factors = &cold;
    m.content = &content;
    m.neighbors = &neighbors;
    m.interaction_counts = &counts;
    m.popularity = &popularity;
    m.trending = &trending;
    m.never_recommend = &never;
    return m;
  }
};

// ---- an oracle for the rules, written from the catalog fields (independent of RuleSet) ----

bool starts_with(const std::vector<std::string>& path, const std::vector<std::string>& prefix) {
  return path.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), path.begin());
}

bool contains(const std::vector<Index>& v, Index x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool oracle_eligible(const World& w, const RankRequest& req, Index i) {
  const CatalogItem& c = w.catalog.at(i);
  const Rules& r = req.rules;
  auto flag = c.attributes.find("never_recommend");
  if (flag != c.attributes.end() && flag->second == "yes") return false;
  if (w.never[i]) return false;
  bool seen = contains(req.seen_items, i) || contains(req.purchased_items, i);
  bool bought = contains(req.purchased_items, i);
  for (const auto& e : req.recent) {
    if (e.item == i) {
      seen = true;
      if (e.type == EventType::purchase) bought = true;
    }
  }
  if (r.exclude_seen && seen) return false;
  if (r.exclude_purchased && bought) return false;
  if (r.exclude_context && req.context_item == i) return false;
  if (r.exclude_out_of_stock && !c.in_stock) return false;
  if ((r.min_price || r.max_price) && !c.price) return false;
  if (r.min_price && *c.price < *r.min_price) return false;
  if (r.max_price && *c.price > *r.max_price) return false;
  if (!r.allow.empty() && !contains(r.allow, i)) return false;
  if (contains(r.deny, i)) return false;
  if (!r.include_categories.empty()) {
    bool any = false;
    for (const auto& p : r.include_categories) any = any || starts_with(c.category_path, p);
    if (!any) return false;
  }
  for (const auto& p : r.exclude_categories) {
    if (starts_with(c.category_path, p)) return false;
  }
  return true;
}

std::string cap_key(const CatalogItem& c, std::size_t depth) {
  std::string key;
  for (std::size_t d = 0; d < std::min(depth, c.category_path.size()); ++d)
    key += c.category_path[d] + "/";
  return key;
}

std::string family_of(const CatalogItem& c) {
  auto it = c.attributes.find("family");
  return it == c.attributes.end() ? "own:" + c.id : it->second;
}

std::size_t promoted_max(const Rules& r, std::size_t k) {
  return std::min(k, static_cast<std::size_t>(
                         std::floor(r.promoted_max_share * static_cast<double>(k) + 1e-9)));
}
std::size_t promoted_min(const Rules& r, std::size_t k) {
  return std::min(
      promoted_max(r, k),
      static_cast<std::size_t>(std::ceil(r.promoted_min_share * static_cast<double>(k) - 1e-9)));
}

// Every cap, family and promoted-maximum constraint holds for `items` (a set of item indices).
bool caps_hold(const World& w, const RankRequest& req, const std::vector<Index>& items) {
  const Rules& r = req.rules;
  std::map<std::string, std::size_t> per_category, per_family;
  std::vector<std::size_t> per_cap(r.category_caps.size(), 0);
  std::size_t promoted = 0;
  for (Index i : items) {
    const CatalogItem& c = w.catalog.at(i);
    if (r.max_per_category > 0 &&
        ++per_category[cap_key(c, r.category_cap_depth)] > r.max_per_category) {
      return false;
    }
    for (std::size_t j = 0; j < r.category_caps.size(); ++j) {
      if (starts_with(c.category_path, r.category_caps[j].prefix) &&
          ++per_cap[j] > r.category_caps[j].max_items) {
        return false;
      }
    }
    if (r.one_per_family && ++per_family[family_of(c)] > 1) return false;
    if (contains(r.promoted, i)) ++promoted;
  }
  return promoted <= promoted_max(r, req.k);
}

std::vector<std::string> random_prefix(Rng& rng) {
  std::vector<std::string> p = {kTops[rng.below(kTops.size())]};
  if (rng.chance(0.4)) p.push_back(kSubs[rng.below(kSubs.size())]);
  return p;
}

std::vector<Index> random_items(Rng& rng, std::size_t n_items, std::size_t count) {
  std::vector<Index> out;
  for (std::size_t j = 0; j < count; ++j) out.push_back(static_cast<Index>(rng.below(n_items)));
  return out;
}

// A random request; its user vector (70% of requests) is stored in `user`, which must outlive it.
RankRequest random_request(Rng& rng, const World& w, tailor::Vector& user) {
  const std::size_t n = w.catalog.size();
  RankRequest req;
  req.k = 1 + rng.below(30);
  if (rng.chance(0.7)) {
    const auto u = static_cast<Eigen::Index>(rng.below(static_cast<std::size_t>(w.users.rows())));
    user = w.users.row(u).transpose();
    req.user_vector = user;
  }
  const std::size_t recent = rng.below(9);
  for (std::size_t j = 0; j < recent; ++j) {
    const EventType types[] = {EventType::view, EventType::click, EventType::add_to_cart,
                               EventType::purchase, EventType::return_};
    req.recent.push_back(
        {static_cast<Index>(rng.below(n)),
         static_cast<tailor::Timestamp>(1'600'000'000'000LL + rng.below(30) * 3'600'000LL),
         types[rng.below(5)]});
  }
  if (rng.chance(0.2)) req.seen_items = random_items(rng, n, 1 + rng.below(10));
  if (rng.chance(0.1)) req.purchased_items = random_items(rng, n, 1 + rng.below(5));
  if (rng.chance(0.3)) req.context_item = static_cast<Index>(rng.below(n));
  Rules& r = req.rules;
  r.exclude_seen = rng.chance(0.8);
  r.exclude_purchased = rng.chance(0.8);
  r.exclude_context = rng.chance(0.8);
  r.exclude_out_of_stock = rng.chance(0.8);
  if (rng.chance(0.2)) {
    for (std::size_t j = 0, m = 1 + rng.below(2); j < m; ++j)
      r.include_categories.push_back(random_prefix(rng));
  }
  if (rng.chance(0.2)) r.exclude_categories.push_back(random_prefix(rng));
  if (rng.chance(0.2)) r.min_price = 50.0 * rng.uniform();
  if (rng.chance(0.2)) r.max_price = 30.0 + 70.0 * rng.uniform();
  if (r.min_price && r.max_price && *r.min_price > *r.max_price)
    std::swap(*r.min_price, *r.max_price);
  if (rng.chance(0.15)) r.allow = random_items(rng, n, 5 + rng.below(60));
  if (rng.chance(0.3)) r.deny = random_items(rng, n, rng.below(20));
  if (rng.chance(0.3)) {
    tailor::ScoreAdjustment a;
    if (rng.chance(0.5)) a.select.brand = kBrands[rng.below(kBrands.size())];
    if (rng.chance(0.5)) a.select.category_prefix = random_prefix(rng);
    a.multiply = static_cast<float>(2.0 * rng.uniform());
    a.add = static_cast<float>(rng.uniform() - 0.5);
    r.adjustments.push_back(a);
  }
  if (rng.chance(0.3)) {
    std::set<std::size_t> slots;
    std::set<Index> items;
    for (std::size_t j = 0, m = 1 + rng.below(3); j < m; ++j) {
      const std::size_t slot = rng.below(req.k + 2);
      const auto item = static_cast<Index>(rng.below(n));
      if (slots.insert(slot).second && items.insert(item).second) r.pins.push_back({item, slot});
    }
  }
  if (rng.chance(0.4)) {
    r.promoted = random_items(rng, n, 5 + rng.below(30));
    r.promoted_min_share = 0.5 * rng.uniform();
    r.promoted_max_share = r.promoted_min_share + (1.0 - r.promoted_min_share) * rng.uniform();
  }
  if (rng.chance(0.3)) {
    r.max_per_category = 1 + rng.below(3);
    r.category_cap_depth = 1 + rng.below(3);
  }
  if (rng.chance(0.2)) r.category_caps.push_back({random_prefix(rng), rng.below(4)});
  r.one_per_family = rng.chance(0.4);
  if (rng.chance(0.3)) {
    r.diversity_lambda = static_cast<float>(rng.uniform());
    const tailor::DiversitySpace spaces[] = {tailor::DiversitySpace::automatic,
                                             tailor::DiversitySpace::content,
                                             tailor::DiversitySpace::factors};
    r.diversity_space = spaces[rng.below(3)];
  }
  return req;
}

// Checks every rule property of one result; returns the number of eligible items.
std::size_t check_result(const World& w, const RankRequest& req, const RankResult& res) {
  const std::size_t n = w.catalog.size();
  const Rules& r = req.rules;
  std::vector<Index> returned;
  for (const auto& it : res.items) returned.push_back(it.item);
  std::vector<Index> eligible;
  for (Index i = 0; i < n; ++i) {
    if (oracle_eligible(w, req, i)) eligible.push_back(i);
  }
  INFO("k " << req.k << ", eligible " << eligible.size() << ", returned " << returned.size());

  // A filtered item is never returned; nothing twice; never more than k.
  REQUIRE(returned.size() <= req.k);
  for (Index i : returned) REQUIRE(oracle_eligible(w, req, i));
  REQUIRE(std::set<Index>(returned.begin(), returned.end()).size() == returned.size());
  // Caps, one per family, promoted maximum.
  REQUIRE(caps_hold(w, req, returned));
  // Pins: each is placed (at its slot when the list is full) or dropped for a reason.
  for (const auto& pin : r.pins) {
    const bool dropped =
        std::find(res.dropped_pins.begin(), res.dropped_pins.end(), pin) != res.dropped_pins.end();
    const auto pos = std::find(returned.begin(), returned.end(), pin.item);
    if (!dropped) {
      REQUIRE(pos != returned.end());
      REQUIRE(tailor::has_source(
          res.items[static_cast<std::size_t>(pos - returned.begin())].sources, Source::pinned));
      if (returned.size() == req.k)
        REQUIRE(static_cast<std::size_t>(pos - returned.begin()) == pin.slot);
    } else if (pin.slot < req.k && oracle_eligible(w, req, pin.item)) {
      // Dropped although eligible: it must break a cap together with the returned items.
      std::vector<Index> with = returned;
      if (pos == returned.end()) with.push_back(pin.item);
      REQUIRE((pos != returned.end() || !caps_hold(w, req, with)));
    }
  }
  // Promoted minimum share.
  std::size_t promoted = 0;
  for (Index i : returned) promoted += contains(r.promoted, i) ? 1 : 0;
  const std::size_t owed = promoted_min(r, req.k);
  REQUIRE(promoted + res.promoted_shortfall >= owed);
  if (res.promoted_shortfall > 0) {
    for (Index i : eligible) {
      if (!contains(r.promoted, i) || contains(returned, i)) continue;
      std::vector<Index> with = returned;
      with.push_back(i);
      REQUIRE_FALSE(caps_hold(w, req, with));
    }
  }
  // k items whenever they exist: a short list cannot be extended by any eligible item.
  if (returned.size() < req.k) {
    for (Index i : eligible) {
      if (contains(returned, i)) continue;
      std::vector<Index> with = returned;
      with.push_back(i);
      INFO("item " << i << " is eligible, fits every cap and was left out");
      REQUIRE_FALSE(caps_hold(w, req, with));
    }
  }
  const bool unconstrained = r.max_per_category == 0 && r.category_caps.empty() &&
                             !r.one_per_family &&
                             (r.promoted.empty() || promoted_max(r, req.k) >= req.k);
  if (unconstrained) REQUIRE(returned.size() == std::min(req.k, eligible.size()));
  // Without pins, promotions or diversity the list is in score order.
  if (r.pins.empty() && owed == 0 && r.diversity_lambda == 1.0f) {
    for (std::size_t j = 1; j < res.items.size(); ++j)
      REQUIRE(res.items[j - 1].score >= res.items[j].score);
  }
  for (const auto& it : res.items) {
    REQUIRE(it.sources != 0);
    REQUIRE_FALSE(it.reason.empty());
    REQUIRE(std::isfinite(it.score));
  }
  return eligible.size();
}

}  // namespace

TEST_CASE("HybridRanker: rules are exact over 600 seeded random requests",
          "[hybrid_ranker][property]") {
  const World world(20240601);
  const HybridRanker ranker(world.model());
  Rng rng(7);
  std::size_t short_lists = 0, widened = 0, with_pins = 0, empty = 0;
  tailor::Vector user;
  for (int t = 0; t < 600; ++t) {
    const RankRequest req = random_request(rng, world, user);
    INFO("request " << t);
    const RankResult res = ranker.rank(req);
    const std::size_t eligible = check_result(world, req, res);
    short_lists += res.items.size() < req.k ? 1 : 0;
    widened += res.widened ? 1 : 0;
    with_pins += req.rules.pins.empty() ? 0 : 1;
    empty += eligible == 0 ? 1 : 0;
  }
  // The generator must exercise the interesting paths, not only the easy ones.
  CHECK(short_lists >= 20);
  CHECK(widened >= 20);
  CHECK(with_pins >= 100);
  CHECK(empty >= 1);
}

TEST_CASE("HybridRanker: rank() is safe to call from several threads", "[hybrid_ranker][threads]") {
  const World world(99);
  const HybridRanker ranker(world.model());
  Rng rng(3);
  std::vector<tailor::Vector> users(120);  // the requests' user vectors, kept alive
  std::vector<RankRequest> requests;
  for (std::size_t t = 0; t < users.size(); ++t)
    requests.push_back(random_request(rng, world, users[t]));
  std::vector<std::vector<Index>> serial(requests.size());
  for (std::size_t t = 0; t < requests.size(); ++t) {
    for (const auto& it : ranker.rank(requests[t]).items) serial[t].push_back(it.item);
  }
  std::vector<std::vector<Index>> parallel(requests.size());
  std::vector<std::thread> threads;
  for (int th = 0; th < 3; ++th) {
    threads.emplace_back([&, th] {
      for (std::size_t t = static_cast<std::size_t>(th); t < requests.size(); t += 3) {
        for (const auto& it : ranker.rank(requests[t]).items) parallel[t].push_back(it.item);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(parallel == serial);
}

namespace {

// A tiny shop for exact checks: 6 items.
//   0 "Red Mug"     Home/Kitchen  count 40   1 "Blue Mug"   Home/Kitchen  count 30
//   2 "Green Mug"   Home/Kitchen  count 0 (new; bridge)   3 "Rake"  Garden/Tools count 10
//   4 "Spade"       Garden/Tools  count 2    5 "Teddy"      Toys          count 20
struct Tiny {
  Catalog catalog;
  RowMatrix factors{6, 2}, cold{6, 2}, content{6, 3};
  tailor::ItemNeighbors neighbors;
  std::vector<std::uint32_t> counts = {40, 30, 0, 10, 2, 20};
  std::vector<float> popularity = {40, 30, 0, 10, 2, 20};
  std::vector<float> trending = {0, 0, 0, 0, 5, 0};

  Tiny() {
    const char* titles[] = {"Red Mug", "Blue Mug", "Green Mug", "Rake", "Spade", "Teddy"};
    const std::vector<std::vector<std::string>> paths = {{"Home", "Kitchen"}, {"Home", "Kitchen"},
                                                         {"Home", "Kitchen"}, {"Garden", "Tools"},
                                                         {"Garden", "Tools"}, {"Toys"}};
    for (int i = 0; i < 6; ++i) {
      CatalogItem c;
      c.id = "t" + std::to_string(i);
      c.title = titles[i];
      c.category_path = paths[static_cast<std::size_t>(i)];
      c.price = 10.0;
      catalog.upsert(c);
    }
    factors << 1, 0, 0.8f, 0.2f, 0, 0, 0, 1, 0.1f, 0.9f, 0.5f, 0.5f;
    cold << 0, 0, 0, 0, 0.9f, 0.1f, 0, 0, 0, 0, 0, 0;
    content << 1, 0, 0, 0.8f, 0.6f, 0, 0.6f, 0.8f, 0, 0, 0, 1, 0, 0.6f, 0.8f, 0, 1, 0;
    // Rake (3) and Spade (4) are bought together; Red Mug (0) with Blue Mug (1).
    neighbors = tailor::ItemNeighbors::from_lists(
        {{{1, 0.5f}}, {{0, 0.5f}}, {}, {{4, 0.8f}, {5, 0.1f}}, {{3, 0.8f}}, {}});
  }

  RankerModel model(bool with_bridge = true) const {
    RankerModel m;
    m.catalog = &catalog;
    m.item_factors = &factors;
    m.cold_item_factors = with_bridge ? &cold : nullptr;
    m.content = &content;
    m.neighbors = &neighbors;
    m.interaction_counts = &counts;
    m.popularity = &popularity;
    m.trending = &trending;
    return m;
  }
};

const RankedItem* find(const RankResult& r, Index item) {
  for (const auto& it : r.items) {
    if (it.item == item) return &it;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("HybridRanker: the blended score follows the documented formula", "[hybrid_ranker]") {
  const Tiny tiny;
  HybridRankerOptions o;
  o.user_half = 2.0f;
  o.item_half = 10.0f;
  o.bridge_pseudo_count = 4.0f;
  o.weight_als = 1.0f;
  o.weight_knn = 1.0f;
  o.weight_content = 1.0f;
  o.weight_popular = 0.5f;
  o.weight_trending = 0.25f;
  o.recency_half_life_hours = 0.0;
  const HybridRanker ranker(tiny.model(), o);
  // The bridge blends item 2 fully (n = 0) into its cold vector; others keep theirs... except
  // items with cold rows of zeros, shrunk by n / (n + 4).
  const RowMatrix& cf = *ranker.cf_item_vectors();
  CHECK(cf(2, 0) == Approx(0.9f));
  CHECK(cf(0, 0) == Approx(40.0f / 44.0f));

  tailor::Vector user(2);
  user << 1.0f, 0.0f;
  RankRequest req;
  req.k = 6;
  req.user_vector = user;
  req.recent = {{0, 1000, EventType::view}};  // Red Mug
  req.history_size = 2;
  req.rules.exclude_seen = false;
  const RankResult res = ranker.rank(req);
  REQUIRE(res.items.size() == 6);

  // Hand computation for item 1 (Blue Mug):
  const double a_u = 2.0 / (2.0 + 2.0);
  const double n1 = 30 + 4;  // has a (zero) bridge row, so m_b counts
  const double w_cf = a_u * n1 / (n1 + 10.0);
  const double als_max = 40.0 / 44.0;  // item 0 scores highest: 40/44 * 1
  const double als1 = (30.0 / 34.0 * 0.8) / als_max;
  const double knn1 = 1.0;  // the only kNN candidate, normalised by itself
  const double cf_part = (als1 + knn1) / 2.0;
  // Content query = Red Mug's vector (1, 0, 0); best content score 1 (Red Mug itself).
  const double content1 = 0.8;
  const double pop1 = std::log1p(30.0) / std::log1p(40.0);
  const double side = (content1 + 0.5 * pop1 + 0.25 * 0.0) / (1.0 + 0.5 + 0.25);
  const double expected = w_cf * cf_part + (1.0 - w_cf) * side;
  const RankedItem* blue = find(res, 1);
  REQUIRE(blue != nullptr);
  CHECK(blue->score == Approx(expected).epsilon(1e-5));
  CHECK(tailor::has_source(blue->sources, Source::als));
  CHECK(tailor::has_source(blue->sources, Source::item_knn));
  CHECK(tailor::has_source(blue->sources, Source::content));
  CHECK(tailor::has_source(blue->sources, Source::popular));
  CHECK(tailor::source_names(blue->sources) == "als+item_knn+content+popular");
}

TEST_CASE("HybridRanker: reasons name the item, category or promotion behind each result",
          "[hybrid_ranker]") {
  const Tiny tiny;
  HybridRankerOptions o;
  o.recency_half_life_hours = 0.0;
  const HybridRanker ranker(tiny.model(), o);

  SECTION("kNN: because you bought X") {
    RankRequest req;
    req.k = 1;
    req.recent = {{3, 1000, EventType::purchase}};  // bought the Rake
    o.weight_content = 0.0f;
    o.weight_popular = 0.0f;
    o.weight_trending = 0.0f;
    o.user_half = 0.0f;
    o.item_half = 0.0f;
    const HybridRanker knn_only(tiny.model(), o);
    const RankResult res = knn_only.rank(req);
    REQUIRE(res.items.size() == 1);
    CHECK(res.items[0].item == 4);
    CHECK(res.items[0].reason_kind == ReasonKind::because_bought);
    CHECK(res.items[0].reason_item == 3);
    CHECK(res.items[0].reason == "because you bought Rake");
    req.recent[0].type = EventType::view;
    CHECK(knn_only.rank(req).items[0].reason == "because you viewed Rake");
    req.recent[0].type = EventType::add_to_cart;
    CHECK(knn_only.rank(req).items[0].reason == "because you added Rake to your cart");
  }
  SECTION("content on a new item: new arrival similar to Z") {
    RankRequest req;
    req.k = 1;
    req.context_item = 1;  // on the Blue Mug's page: Green Mug (new) is closest in content
    req.item_to_item = true;
    req.rules.allow = {2, 3, 4};
    const RankResult res = ranker.rank(req);
    REQUIRE(res.items.size() == 1);
    CHECK(res.items[0].item == 2);
    CHECK(res.items[0].reason_kind == ReasonKind::new_arrival_similar);
    CHECK(res.items[0].reason == "new arrival similar to Blue Mug");
    // Ranked for the shopper instead, the default popularity weight lifts the popular Rake
    // (item 3) over the unsold new mug.
    req.item_to_item = false;
    CHECK(ranker.rank(req).items[0].item == 3);
    // The item-to-item weight is its own option.
    HybridRankerOptions pop_heavy = o;
    pop_heavy.similar_weight_popular = pop_heavy.weight_popular;
    req.item_to_item = true;
    CHECK(HybridRanker(tiny.model(), pop_heavy).rank(req).items[0].item == 3);
  }
  SECTION("anonymous shopper: popular in Y, trending, promoted") {
    RankRequest req;
    req.k = 6;
    req.rules.promoted = {5};
    // At a popularity weight of 0.5 the Spade's trend outweighs its sales (at the default 2 its
    // reason is "popular in Tools").
    o.weight_popular = 0.5f;
    const RankResult res = HybridRanker(tiny.model(), o).rank(req);
    REQUIRE(res.items.size() == 6);
    CHECK(res.items[0].item == 0);
    CHECK(res.items[0].reason == "popular in Kitchen");
    CHECK(res.items[0].reason_kind == ReasonKind::popular_in);
    CHECK(res.items[0].reason_category == "Kitchen");
    CHECK(res.items[0].reason_item == tailor::kNoItem);
    CHECK(std::string(tailor::reason_kind_name(res.items[0].reason_kind)) == "popular_in");
    const RankedItem* teddy = find(res, 5);
    REQUIRE(teddy != nullptr);
    CHECK(teddy->reason == "promoted");
    CHECK(tailor::has_source(teddy->sources, Source::promoted));
    const RankedItem* spade = find(res, 4);
    REQUIRE(spade != nullptr);
    CHECK(spade->reason == "trending");
    CHECK(tailor::has_source(spade->sources, Source::trending));
  }
  SECTION("known user on a known item: recommended for you") {
    tailor::Vector user(2);
    user << 0.0f, 1.0f;
    RankRequest req;
    req.k = 1;
    req.user_vector = user;
    req.history_size = 1000;
    o.item_half = 0.0f;
    const HybridRanker cf(tiny.model(false), o);
    const RankResult res = cf.rank(req);
    CHECK(res.items[0].item == 3);
    CHECK(res.items[0].reason == "recommended for you");
  }
}

TEST_CASE("HybridRanker: weights move from content and popularity to CF with history",
          "[hybrid_ranker]") {
  const Tiny tiny;
  HybridRankerOptions o;
  o.weight_knn = 0.0f;
  o.weight_trending = 0.0f;
  o.item_half = 1.0f;
  o.user_half = 5.0f;
  const HybridRanker ranker(tiny.model(false), o);
  tailor::Vector user(2);
  user << 0.0f, 1.0f;  // CF says Rake (3) / Spade (4); popularity says Red Mug (0)
  RankRequest req;
  req.k = 1;
  req.user_vector = user;
  req.history_size = 0;
  CHECK(ranker.rank(req).items[0].item == 0);  // nothing known about the user: popularity
  req.history_size = 500;
  CHECK(ranker.rank(req).items[0].item == 3);  // a long history: CF
}

TEST_CASE("HybridRanker: widening fills k from every eligible item", "[hybrid_ranker]") {
  const World world(5);
  HybridRankerOptions o;
  o.als_candidates = 5;
  o.content_candidates = 5;
  o.popular_candidates = 5;
  o.trending_candidates = 0;
  o.category_popular_candidates = 0;
  o.knn_neighbors_per_item = 2;
  const HybridRanker ranker(world.model(), o);
  RankRequest req;
  req.k = 40;
  req.rules.exclude_out_of_stock = false;
  const RankResult res = ranker.rank(req);
  CHECK(res.widened);
  REQUIRE(res.items.size() == 40);
  std::size_t fallback = 0;
  for (const auto& it : res.items)
    fallback += tailor::has_source(it.sources, Source::fallback) ? 1 : 0;
  CHECK(fallback >= 30);
  // An allow list of items no source proposes: every one comes back.
  req.k = 5;
  req.rules.allow = {400, 401, 402, 403};
  const RankResult allowed = ranker.rank(req);
  std::vector<Index> got;
  for (const auto& it : allowed.items) got.push_back(it.item);
  std::sort(got.begin(), got.end());
  std::vector<Index> expect;
  for (Index i : {400u, 401u, 402u, 403u}) {
    if (!world.never[i] && world.catalog.at(i).attributes.count("never_recommend") == 0)
      expect.push_back(i);
  }
  CHECK(got == expect);
}

TEST_CASE("HybridRanker: search hooks are used and checked", "[hybrid_ranker]") {
  const Tiny tiny;
  RankerModel m = tiny.model(false);
  int calls = 0;
  m.factor_search = [&](tailor::Span<const float>, std::size_t, const tailor::ItemFilter&) {
    ++calls;
    return std::vector<tailor::ScoredItem>{{5, 0.5f}};
  };
  HybridRankerOptions o;
  o.user_half = 0.0f;
  o.item_half = 0.0f;
  o.weight_knn = 0.0f;
  const HybridRanker ranker(m, o);
  tailor::Vector user(2);
  user << 1.0f, 0.0f;
  RankRequest req;
  req.k = 1;
  req.user_vector = user;
  req.history_size = 10;
  const RankResult res = ranker.rank(req);
  CHECK(calls == 1);
  // The hook proposed only item 5; its exact score 0.5 is the ALS maximum, so items 0 and 1
  // (scores 1 and 0.8) clamp to 1: the tie goes to the lower index.
  CHECK(res.items[0].item == 0);
  CHECK(tailor::has_source(res.items[0].sources, Source::popular));
  CHECK_FALSE(tailor::has_source(res.items[0].sources, Source::als));

  // With an allow list the allowed items are scored directly, normalised among themselves.
  req.k = 5;
  req.rules.allow = {3, 4};
  const RankResult shelf = ranker.rank(req);
  CHECK(calls == 1);
  REQUIRE(shelf.items.size() == 2);
  CHECK(shelf.items[0].item == 4);         // u . y = 0.1, the best allowed: als = 1
  CHECK(shelf.items[0].score == Approx(1.0f));
  CHECK(shelf.items[1].score == 0.0f);     // u . y = 0
  CHECK(tailor::has_source(shelf.items[0].sources, Source::als));
  CHECK_FALSE(shelf.widened);
  req.k = 1;
  req.rules.allow.clear();

  m.factor_search = [](tailor::Span<const float>, std::size_t, const tailor::ItemFilter&) {
    return std::vector<tailor::ScoredItem>{{6, 1.0f}};
  };
  const HybridRanker bad(m, o);
  CHECK_THROWS_WITH(bad.rank(req), Catch::Contains("factor_search returned item 6"));
}

TEST_CASE("HybridRanker: retrieval receives the request's rules and normalises over eligible items",
          "[hybrid_ranker]") {
  const Tiny tiny;
  HybridRankerOptions o;
  o.user_half = 0.0f;
  o.item_half = 0.0f;
  o.weight_knn = 0.0f;
  o.weight_content = 0.0f;
  o.weight_popular = 0.0f;
  o.weight_trending = 0.0f;
  tailor::Vector user(2);
  user << 1.0f, 0.0f;  // u . y: Red Mug 1, Blue Mug 0.8, Teddy 0.5, Spade 0.1, others 0
  RankRequest req;
  req.k = 2;
  req.user_vector = user;
  req.history_size = 10;
  req.seen_items = {0};  // the shopper's best match is already theirs

  for (const bool with_hook : {false, true}) {
    RankerModel m = tiny.model(false);
    std::vector<int> asked(6, -1);  // what the hook's filter said about each item
    if (with_hook) {
      const tailor::VectorSearch exact = tailor::exact_vector_search(&tiny.factors);
      m.factor_search = [&, exact](tailor::Span<const float> q, std::size_t k, const tailor::ItemFilter& ok) {
        REQUIRE(ok);
        for (Index i = 0; i < 6; ++i) asked[i] = ok(i) ? 1 : 0;
        return exact(q, k, ok);
      };
    }
    const HybridRanker ranker(m, o);
    const RankResult res = ranker.rank(req);
    REQUIRE(res.items.size() == 2);
    CHECK(res.items[0].item == 1);
    // Normalised by the best eligible score (0.8), not the seen Red Mug's 1.
    CHECK(res.items[0].score == Approx(1.0f));
    CHECK(res.items[1].item == 5);
    CHECK(res.items[1].score == Approx(0.5f / 0.8f));
    CHECK_FALSE(res.widened);
    if (with_hook) CHECK(asked == std::vector<int>{0, 1, 1, 1, 1, 1});
  }
}

TEST_CASE("HybridRanker: bad models and requests are refused with the field named",
          "[hybrid_ranker]") {
  const Tiny tiny;
  RankerModel m = tiny.model();
  m.catalog = nullptr;
  CHECK_THROWS_WITH(HybridRanker(m), Catch::Contains("catalog is null"));
  m = tiny.model();
  RowMatrix unnormalised = tiny.content;
  unnormalised(3, 0) = 0.5f;
  m.content = &unnormalised;
  CHECK_THROWS_WITH(HybridRanker(m), Catch::Contains("content row 3 has norm"));
  m = tiny.model();
  const std::vector<float> long_pop(7, 1.0f);
  m.popularity = &long_pop;
  CHECK_THROWS_WITH(HybridRanker(m), Catch::Contains("popularity has 7 entries"));
  m = tiny.model();
  const RowMatrix wrong_cold(6, 3);
  m.cold_item_factors = &wrong_cold;
  CHECK_THROWS_WITH(HybridRanker(m), Catch::Contains("cold_item_factors is 6 x 3"));
  HybridRankerOptions bad_options;
  bad_options.item_half = -1.0f;
  CHECK_THROWS_WITH(HybridRanker(tiny.model(), bad_options), Catch::Contains("item_half"));

  const HybridRanker ranker(tiny.model());
  RankRequest req;
  req.k = 0;
  CHECK_THROWS_WITH(ranker.rank(req), Catch::Contains("request.k = 0"));
  req.k = 3;
  req.recent = {{0, 1, EventType::view}, {9, 1, EventType::view}};
  CHECK_THROWS_WITH(ranker.rank(req), Catch::Contains("request.recent[1] = 9"));
  req.recent.clear();
  req.context_item = 6;
  CHECK_THROWS_WITH(ranker.rank(req), Catch::Contains("request.context_item = 6"));
  req.context_item.reset();
  const std::vector<float> three = {1, 2, 3};
  req.user_vector = three;
  CHECK_THROWS_WITH(ranker.rank(req), Catch::Contains("user_vector has 3 values"));
  req.user_vector = {};
  req.user_content = {three.data(), 2};
  CHECK_THROWS_WITH(ranker.rank(req), Catch::Contains("user_content has 2 values"));
  req.user_content = {};
  req.rules.pins = {{1, 0}, {2, 0}};
  CHECK_THROWS_WITH(ranker.rank(req), Catch::Contains("both pin slot 0"));
  req.rules = {};
  req.rules.diversity_lambda = 0.5f;
  CHECK(ranker.rank(req).items.size() == 3);  // content vectors measure similarity
  RankerModel bare;
  bare.catalog = &tiny.catalog;
  const HybridRanker no_vectors(bare);
  CHECK_THROWS_WITH(no_vectors.rank(req), Catch::Contains("diversity_lambda"));
}

TEST_CASE("Model builders: neighbours, counts, trending, bridge blend", "[hybrid_ranker]") {
  const tailor::SparseMatrix sim = tailor::test::make_matrix(
      3, 3, {{0, 0, 1.0f}, {0, 1, 0.2f}, {0, 2, 0.7f}, {1, 0, 0.2f}, {2, 0, 0.7f}, {2, 1, -0.1f}});
  const auto nb = tailor::ItemNeighbors::from_similarity(sim);
  REQUIRE(nb.n_items() == 3);
  std::vector<Index> order;
  for (const auto& x : nb.of(0)) order.push_back(x.item);
  CHECK(order == std::vector<Index>{2, 1});  // itself dropped, best first
  CHECK(nb.of(2).size() == 1);               // the negative similarity dropped
  CHECK(nb.of(7).size() == 0);
  CHECK(tailor::ItemNeighbors::from_similarity(sim, 1).of(0).size() == 1);
  CHECK_THROWS_AS(tailor::ItemNeighbors::from_lists({{{3, 1.0f}}}), tailor::Error);

  const tailor::SparseMatrix ui =
      tailor::test::make_matrix(2, 3, {{0, 0, 2.0f}, {1, 0, 1.0f}, {1, 2, 1.0f}, {1, 1, 0.0f}});
  CHECK(tailor::item_interaction_counts(ui) == std::vector<std::uint32_t>{2, 0, 1});

  // Trending: item a sold steadily (4 per week for 4 weeks), item b only this week (4).
  tailor::IdMap ids;
  ids.insert("a");
  ids.insert("b");
  ids.insert("c");
  const tailor::Timestamp day = 86400000LL, now = 100 * day;
  std::vector<tailor::Event> events;
  for (int week = 0; week < 4; ++week) {
    for (int j = 0; j < 4; ++j)
      events.push_back({"u", "a", EventType::purchase, now - week * 7 * day - j * day, {}, "", ""});
  }
  for (int j = 0; j < 4; ++j)
    events.push_back({"u", "b", EventType::view, now - j * day, {}, "", ""});
  events.push_back({"u", "b", EventType::return_, now, {}, "", ""});  // not counted
  events.push_back({"u", "zzz", EventType::view, now, {}, "", ""});   // unknown item
  tailor::TrendingOptions to;
  const auto trend = tailor::trending_scores(events, ids, to);
  // a: r = 4, l = 16, e = 4 -> ln(9/9) = 0. b: r = 4, l = 4, e = 1 -> 4 ln(9/6).
  CHECK(trend[0] == Approx(0.0f).margin(1e-6));
  CHECK(trend[1] == Approx(4.0 * std::log(9.0 / 6.0)));
  CHECK(trend[2] == 0.0f);
  to.long_window = to.recent_window;
  CHECK_THROWS_WITH(tailor::trending_scores(events, ids, to), Catch::Contains("long_window"));

  RowMatrix y(2, 2), c(3, 2);
  y << 1, 1, 2, 2;
  c << 0, 4, 4, 0, 8, 8;
  const RowMatrix b = tailor::blend_cold_item_factors(y, c, {3, 1}, 1.0f, 4);
  REQUIRE(b.rows() == 4);
  CHECK(b(0, 0) == Approx(0.75f));  // (3 * 1 + 1 * 0) / 4
  CHECK(b(0, 1) == Approx(1.75f));  // (3 * 1 + 1 * 4) / 4
  CHECK(b(1, 0) == Approx(3.0f));   // (1 * 2 + 1 * 4) / 2
  CHECK(b(2, 0) == Approx(8.0f));   // a new item: its bridge vector
  CHECK(b(3, 0) == 0.0f);           // no vector at all
}

TEST_CASE("learn_blend improves nDCG on validation cases and is thread-count independent",
          "[hybrid_ranker][learn]") {
  // Validation truth follows the CF factors: each user's relevant items are the 5 best by
  // user . item among 300 items; popularity is noise. The search must move weight to CF.
  const World world(11, 300, 80);
  const RankerModel model = world.model();
  std::vector<tailor::BlendValidationCase> cases;
  std::vector<tailor::Vector> users(static_cast<std::size_t>(world.users.rows()));
  for (Eigen::Index u = 0; u < world.users.rows(); ++u) {
    users[static_cast<std::size_t>(u)] = world.users.row(u).transpose();
    const tailor::Vector s = world.factors * users[static_cast<std::size_t>(u)];
    tailor::BlendValidationCase c;
    c.request.user_vector = users[static_cast<std::size_t>(u)];
    c.request.history_size = 3;
    c.request.rules.exclude_out_of_stock = false;
    c.relevant = tailor::items_of(tailor::top_k(s.data(), static_cast<std::size_t>(s.size()), 5));
    cases.push_back(std::move(c));
  }
  HybridRankerOptions start;
  start.bridge_pseudo_count = 0.0f;
  tailor::BlendSearchOptions so;
  so.k = 5;
  so.threads = 1;
  so.user_half_grid = {0.0f, 3.0f, 30.0f};
  so.item_half_grid = {0.0f, 3.0f, 30.0f};
  so.bridge_grid = {0.0f, 3.0f};
  so.knn_grid = {0.0f, 1.0f};
  so.content_grid = {0.0f, 1.0f};
  so.popular_grid = {0.0f, 0.5f};
  so.trending_grid = {0.0f, 0.25f};
  const auto r1 = tailor::learn_blend(model, cases, start, so);
  so.threads = 2;
  const auto r2 = tailor::learn_blend(model, cases, start, so);
  WARN("learn_blend: start nDCG@5 " << r1.start_ndcg << ", learned " << r1.ndcg << " after "
                                    << r1.evaluations << " evaluations; user_half "
                                    << r1.options.user_half << ", item_half "
                                    << r1.options.item_half);
  CHECK(r1.ndcg == r2.ndcg);
  CHECK(r1.options.user_half == r2.options.user_half);
  CHECK(r1.ndcg > r1.start_ndcg + 0.1);
  CHECK(r1.ndcg > 0.5);
  CHECK(r1.evaluations > 5);
  CHECK(r1.options.weight_als == start.weight_als);

  std::vector<tailor::BlendValidationCase> none(1);
  CHECK_THROWS_WITH(tailor::learn_blend(model, none), Catch::Contains("none of the 1 cases"));
  so.passes = 0;
  CHECK_THROWS_WITH(tailor::learn_blend(model, cases, start, so), Catch::Contains("passes"));
}
