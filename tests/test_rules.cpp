#include "tailor/ranking/rules.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tailor/core/error.hpp"

using tailor::Catalog;
using tailor::CatalogIndex;
using tailor::CatalogItem;
using tailor::Index;
using tailor::ItemBitset;
using tailor::Pin;
using tailor::PlacementCandidate;
using tailor::Rules;
using tailor::RuleSet;

namespace {

CatalogItem make_item(const std::string& id, std::vector<std::string> path,
                      const std::string& brand, std::optional<double> price, bool in_stock,
                      const std::string& family = {}) {
  CatalogItem c;
  c.id = id;
  c.title = "title " + id;
  c.category_path = std::move(path);
  c.brand = brand;
  c.price = price;
  c.in_stock = in_stock;
  if (!family.empty()) c.attributes["family"] = family;
  return c;
}

// 10 items:
//   0 Home/Kitchen/Mugs  acme  5.0  fam A      5 Garden/Tools     zeta  30   fam C
//   1 Home/Kitchen/Mugs  acme  6.0  fam A      6 Garden/Tools     zeta  31   fam C
//   2 Home/Kitchen/Pans  best 20.0             7 Garden           zeta  (no price)
//   3 Home/Bath          best  8.0  out of stock  8 (no category) acme  1.0  never_recommend
//   4 Home/Bath          acme  9.0             9 Toys             best  12.0
Catalog test_catalog() {
  Catalog c;
  c.upsert(make_item("i0", {"Home", "Kitchen", "Mugs"}, "acme", 5.0, true, "A"));
  c.upsert(make_item("i1", {"Home", "Kitchen", "Mugs"}, "acme", 6.0, true, "A"));
  c.upsert(make_item("i2", {"Home", "Kitchen", "Pans"}, "best", 20.0, true));
  c.upsert(make_item("i3", {"Home", "Bath"}, "best", 8.0, false));
  c.upsert(make_item("i4", {"Home", "Bath"}, "acme", 9.0, true));
  c.upsert(make_item("i5", {"Garden", "Tools"}, "zeta", 30.0, true, "C"));
  c.upsert(make_item("i6", {"Garden", "Tools"}, "zeta", 31.0, true, "C"));
  c.upsert(make_item("i7", {"Garden"}, "zeta", std::nullopt, true));
  CatalogItem never = make_item("i8", {}, "acme", 1.0, true);
  never.attributes["never_recommend"] = "True";
  c.upsert(never);
  c.upsert(make_item("i9", {"Toys"}, "best", 12.0, true));
  return c;
}

// Every item, scores descending with the index: item i scores 10 - i.
std::vector<PlacementCandidate> full_pool() {
  std::vector<PlacementCandidate> pool;
  for (Index i = 0; i < 10; ++i) pool.push_back({i, 10.0f - static_cast<float>(i)});
  return pool;
}

std::vector<Index> placed(const tailor::Placement& p) {
  std::vector<Index> out;
  for (const auto& c : p.items) out.push_back(c.item);
  return out;
}

}  // namespace

TEST_CASE("CatalogIndex: category tree, families, never-recommend flag", "[rules]") {
  const Catalog catalog = test_catalog();
  CatalogIndex index(catalog);
  CHECK(index.n_items() == 10);
  // root, Home, Kitchen, Mugs, Pans, Bath, Garden, Tools, Toys
  CHECK(index.n_categories() == 9);
  const auto home = index.find_category({"Home"});
  const auto kitchen = index.find_category({"Home", "Kitchen"});
  REQUIRE(home);
  REQUIRE(kitchen);
  CHECK(index.find_category({}) == std::optional<std::uint32_t>(0u));
  CHECK_FALSE(index.find_category({"Kitchen"}));  // prefixes start at the root
  CHECK(index.category_name(*kitchen) == "Kitchen");
  CHECK(index.node_depth(*kitchen) == 2);
  CHECK(index.path_length(0) == 3);
  CHECK(index.path_length(8) == 0);
  CHECK(index.category_node(0, 1) == *home);
  CHECK(index.category_node(0, 2) == *kitchen);
  CHECK(index.category_node(7, 2) == *index.find_category({"Garden"}));  // shorter path: itself
  CHECK(index.category_node(8, 2) == 0u);
  CHECK(index.in_category(2, *kitchen));
  CHECK_FALSE(index.in_category(3, *kitchen));
  CHECK(index.in_category(8, 0));
  CHECK(index.family(0) == index.family(1));
  CHECK(index.family(5) == index.family(6));
  CHECK(index.family(0) != index.family(5));
  CHECK(index.family(2) != index.family(3));  // no attribute: a family of its own
  CHECK(index.never_recommend(8));
  CHECK_FALSE(index.never_recommend(0));
  index.flag_never_recommend(9);
  CHECK(index.never_recommend(9));
  CHECK_THROWS_AS(index.flag_never_recommend(10), tailor::Error);

  const CatalogIndex other(catalog, "", "");
  CHECK(other.family(0) != other.family(1));
  CHECK_FALSE(other.never_recommend(8));
}

TEST_CASE("Rules::validate names the field out of range", "[rules]") {
  auto message = [](const Rules& r) {
    try {
      r.validate(10);
    } catch (const tailor::Error& e) {
      CHECK(e.code() == tailor::ErrorCode::invalid_argument);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Rules ok;
  CHECK(message(ok) == "no error");
  Rules r;
  r.deny = {1, 10};
  CHECK(message(r).find("rules.deny[1] = 10") != std::string::npos);
  r = {};
  r.promoted_min_share = 0.6;
  r.promoted_max_share = 0.5;
  CHECK(message(r).find("promoted_max_share") != std::string::npos);
  r = {};
  r.promoted_min_share = -0.1;
  CHECK(message(r).find("promoted_min_share") != std::string::npos);
  r = {};
  r.min_price = 5.0;
  r.max_price = 4.0;
  CHECK(message(r).find("min_price") != std::string::npos);
  r = {};
  r.max_price = -1.0;
  CHECK(message(r).find("rules.max_price = -1") != std::string::npos);
  r = {};
  r.pins = {{1, 0}, {2, 0}};
  CHECK(message(r).find("both pin slot 0") != std::string::npos);
  r = {};
  r.pins = {{1, 0}, {1, 3}};
  CHECK(message(r).find("both pin item 1") != std::string::npos);
  r = {};
  r.pins = {{12, 0}};
  CHECK(message(r).find("rules.pins[0].item = 12") != std::string::npos);
  r = {};
  r.adjustments.push_back({{}, -1.0f, 0.0f});
  CHECK(message(r).find("rules.adjustments[0].multiply") != std::string::npos);
  r = {};
  r.adjustments.push_back({{{11}, {}, "", "", ""}, 1.0f, 0.0f});
  CHECK(message(r).find("rules.adjustments[0].select.items[0] = 11") != std::string::npos);
  r = {};
  r.diversity_lambda = 1.5f;
  CHECK(message(r).find("diversity_lambda") != std::string::npos);
}

TEST_CASE("RuleSet filters: seen, purchased, context, stock, categories, price, allow, deny",
          "[rules]") {
  const Catalog catalog = test_catalog();
  const CatalogIndex index(catalog);
  auto eligible = [&](const Rules& r, std::vector<Index> seen = {}, std::vector<Index> bought = {},
                      std::optional<Index> context = std::nullopt) {
    const RuleSet rs(r, catalog, index, seen, bought, context);
    std::vector<Index> out;
    for (Index i = 0; i < 11; ++i) {
      if (rs.eligible(i)) out.push_back(i);
    }
    return out;
  };
  Rules r;  // defaults: seen, purchased, context, out of stock; never-recommend always
  CHECK(eligible(r) == std::vector<Index>{0, 1, 2, 4, 5, 6, 7, 9});
  CHECK(eligible(r, {0, 2}, {4}, Index{9}) == std::vector<Index>{1, 5, 6, 7});
  r.exclude_seen = false;
  CHECK(eligible(r, {0, 2}, {4}) == std::vector<Index>{0, 1, 2, 5, 6, 7, 9});
  r.exclude_purchased = false;
  r.exclude_context = false;
  r.exclude_out_of_stock = false;
  CHECK(eligible(r, {0, 2}, {4}, Index{9}) == std::vector<Index>{0, 1, 2, 3, 4, 5, 6, 7, 9});

  r = {};
  r.include_categories = {{"Home", "Kitchen"}, {"Toys"}};
  CHECK(eligible(r) == std::vector<Index>{0, 1, 2, 9});
  r.exclude_categories = {{"Home", "Kitchen", "Pans"}};
  CHECK(eligible(r) == std::vector<Index>{0, 1, 9});
  r.include_categories = {{"Nowhere"}};  // a prefix no item has matches nothing
  CHECK(eligible(r).empty());
  r = {};
  r.exclude_categories = {{"Home"}};
  CHECK(eligible(r) == std::vector<Index>{5, 6, 7, 9});

  r = {};
  r.min_price = 6.0;
  r.max_price = 20.0;  // bounds inclusive; item 7 has no price
  CHECK(eligible(r) == std::vector<Index>{1, 2, 4, 9});
  r = {};
  r.allow = {7, 8, 9, 0};
  r.deny = {0};
  CHECK(eligible(r) == std::vector<Index>{7, 9});  // 8 is never-recommend

  CHECK_THROWS_AS(RuleSet(Rules{}, catalog, index, {10}), tailor::Error);
  CHECK_THROWS_AS(RuleSet(Rules{}, catalog, index, {}, {}, Index{10}), tailor::Error);
}

TEST_CASE("RuleSet catalog part: cached bitset, key and exclusions agree with eligible()",
          "[rules]") {
  const Catalog cat = test_catalog();
  const CatalogIndex index(cat);
  std::vector<Rules> variants(6);
  variants[1].min_price = 6.0;
  variants[1].max_price = 20.0;
  variants[2].include_categories = {{"Home"}};
  variants[2].exclude_categories = {{"Home", "Bath"}};
  variants[3].exclude_out_of_stock = false;
  variants[3].deny = {1, 9};
  variants[4].include_categories = {{"Nowhere"}};  // no item has it: nothing passes
  variants[5].max_price = 9.0;
  variants[5].exclude_seen = false;
  for (std::size_t v = 0; v < variants.size(); ++v) {
    CAPTURE(v);
    RuleSet plain(variants[v], cat, index, {0, 4}, {2}, Index{5});
    RuleSet cached(variants[v], cat, index, {0, 4}, {2}, Index{5});
    const auto bits = std::make_shared<const tailor::ItemBitset>(plain.catalog_filter());
    REQUIRE(bits->universe() == cat.size());
    cached.use_catalog_filter(bits);
    const std::vector<Index> excluded = plain.excluded_items();
    CHECK(std::is_sorted(excluded.begin(), excluded.end()));
    for (Index i = 0; i < cat.size(); ++i) {
      CAPTURE(i);
      CHECK(cached.eligible(i) == plain.eligible(i));
      // eligible == catalog part and not excluded (no allow list here).
      const bool out = std::binary_search(excluded.begin(), excluded.end(), i);
      CHECK(plain.eligible(i) == (bits->test(i) && !out));
    }
    // Rule sets with different catalog parts have different keys; the request part is not in it.
    for (std::size_t w = 0; w < variants.size(); ++w) {
      const RuleSet other(variants[w], cat, index);
      const bool same_bits =
          other.catalog_filter().words() == plain.catalog_filter().words();
      if (!same_bits) CHECK(other.catalog_filter_key() != plain.catalog_filter_key());
    }
    CHECK(RuleSet(variants[v], cat, index).catalog_filter_key() == plain.catalog_filter_key());
  }
  // Price bounds that differ only in the last bit still get different keys.
  Rules a, b;
  a.max_price = 10.0;
  b.max_price = std::nextafter(10.0, 11.0);
  CHECK(RuleSet(a, cat, index).catalog_filter_key() != RuleSet(b, cat, index).catalog_filter_key());
  // The never-recommend item and the out-of-stock one are outside the default catalog part.
  const ItemBitset def = RuleSet(Rules{}, cat, index).catalog_filter();
  CHECK_FALSE(def.test(8));
  CHECK_FALSE(def.test(3));
  CHECK(def.count() == 8);
  RuleSet wrong(Rules{}, cat, index);
  CHECK_THROWS_AS(wrong.use_catalog_filter(std::make_shared<const tailor::ItemBitset>(5)),
                  tailor::Error);
  CHECK_THROWS_AS(wrong.use_catalog_filter(nullptr), tailor::Error);
}

TEST_CASE("RuleSet boosts and buries compose in order", "[rules]") {
  const Catalog catalog = test_catalog();
  const CatalogIndex index(catalog);
  Rules r;
  tailor::ScoreAdjustment boost_acme;
  boost_acme.select.brand = "acme";
  boost_acme.multiply = 2.0f;
  tailor::ScoreAdjustment bury_kitchen;
  bury_kitchen.select.category_prefix = {"Home", "Kitchen"};
  bury_kitchen.add = -1.0f;
  tailor::ScoreAdjustment by_family;
  by_family.select.attribute_key = "family";
  by_family.select.attribute_value = "C";
  by_family.select.items = {6};
  by_family.add = 0.5f;
  r.adjustments = {boost_acme, bury_kitchen, by_family};
  const RuleSet rs(r, catalog, index);
  CHECK(rs.adjust(0, 1.0f) == Approx(1.0f));  // acme kitchen: 1 * 2 - 1
  CHECK(rs.adjust(2, 1.0f) == Approx(0.0f));  // best kitchen: 1 - 1
  CHECK(rs.adjust(4, 1.0f) == Approx(2.0f));  // acme bath
  CHECK(rs.adjust(5, 1.0f) == Approx(1.0f));  // family C but not listed
  CHECK(rs.adjust(6, 1.0f) == Approx(1.5f));  // family C and listed
  CHECK(rs.adjust(9, 1.0f) == Approx(1.0f));
}

TEST_CASE("RuleSet::place: pins, compaction, dropped pins", "[rules]") {
  const Catalog catalog = test_catalog();
  const CatalogIndex index(catalog);
  Rules r;
  r.pins = {{9, 1}, {3, 2}, {7, 8}};  // 3 is out of stock; slot 8 >= k
  const RuleSet rs(r, catalog, index);
  const auto p = rs.place(full_pool(), 4);
  CHECK(placed(p) == std::vector<Index>{0, 9, 1, 2});
  CHECK(p.pinned == std::vector<char>{0, 1, 0, 0});
  CHECK(p.items[1].score == Approx(1.0f));  // the pinned item keeps its pool score
  CHECK(p.dropped_pins == std::vector<Pin>{{3, 2}, {7, 8}});

  // Too few eligible items: the list is compacted; the pin keeps its order.
  Rules few;
  few.allow = {2, 4};
  few.pins = {{5, 3}};  // not allowed: dropped
  const RuleSet rs_few(few, catalog, index);
  CHECK(placed(rs_few.place(full_pool(), 5)) == std::vector<Index>{2, 4});
  few.allow = {2, 4, 5};
  const RuleSet rs_few2(few, catalog, index);
  const auto p2 = rs_few2.place(full_pool(), 10);
  CHECK(placed(p2) == std::vector<Index>{2, 4, 5});
  CHECK(p2.pinned == std::vector<char>{0, 0, 1});
  // A pinned item absent from the pool scores 0.
  const auto p3 = rs_few2.place({{2, 3.0f}}, 10);
  CHECK(placed(p3) == std::vector<Index>{2, 5});
  CHECK(p3.items[1].score == 0.0f);
  // Ineligible and repeated pool entries are skipped.
  Rules plain;
  const RuleSet rs_plain(plain, catalog, index);
  CHECK(placed(rs_plain.place({{3, 9.0f}, {8, 8.0f}, {2, 7.0f}, {2, 6.0f}, {4, 5.0f}}, 10)) ==
        std::vector<Index>{2, 4});
}

TEST_CASE("RuleSet::place: caps, families, promoted share", "[rules]") {
  const Catalog catalog = test_catalog();
  const CatalogIndex index(catalog);
  SECTION("one per family") {
    Rules r;
    r.one_per_family = true;
    const RuleSet rs(r, catalog, index);
    CHECK(placed(rs.place(full_pool(), 10)) == std::vector<Index>{0, 2, 4, 5, 7, 9});
  }
  SECTION("max per category at depth 1 and 2") {
    Rules r;
    r.max_per_category = 1;
    r.category_cap_depth = 1;
    const RuleSet rs(r, catalog, index);
    CHECK(placed(rs.place(full_pool(), 10)) == std::vector<Index>{0, 5, 9});
    r.category_cap_depth = 2;
    const RuleSet rs2(r, catalog, index);
    // Home/Kitchen, Home/Bath, Garden/Tools, Garden (short path, its own category), Toys
    CHECK(placed(rs2.place(full_pool(), 10)) == std::vector<Index>{0, 4, 5, 7, 9});
  }
  SECTION("explicit category caps") {
    Rules r;
    r.category_caps = {{{"Home"}, 2}, {{"Garden", "Tools"}, 1}};
    const RuleSet rs(r, catalog, index);
    CHECK(placed(rs.place(full_pool(), 10)) == std::vector<Index>{0, 1, 5, 7, 9});
  }
  SECTION("promoted maximum") {
    Rules r;
    r.promoted = {0, 1, 2};
    r.promoted_max_share = 0.25;  // floor(0.25 * 4) = 1 slot
    const RuleSet rs(r, catalog, index);
    CHECK(rs.promoted_bounds(4) == std::make_pair<std::size_t, std::size_t>(0, 1));
    CHECK(placed(rs.place(full_pool(), 4)) == std::vector<Index>{0, 4, 5, 6});
  }
  SECTION("promoted minimum fills the last slots when promoted items rank low") {
    Rules r;
    r.promoted = {9, 7};
    r.promoted_min_share = 0.3;  // ceil(0.3 * 5) = 2 (0.3 * 10 would be exactly 3)
    const RuleSet rs(r, catalog, index);
    CHECK(rs.promoted_bounds(5) == std::make_pair<std::size_t, std::size_t>(2, 5));
    CHECK(rs.promoted_bounds(10) == std::make_pair<std::size_t, std::size_t>(3, 10));
    auto p = rs.place(full_pool(), 5);
    CHECK(placed(p) == std::vector<Index>{0, 1, 2, 7, 9});
    CHECK(p.promoted_shortfall == 0);
    // Owed 3 of 10 but only 2 promoted items exist: the shortfall is reported.
    p = rs.place(full_pool(), 10);
    CHECK(p.items.size() == 8);
    CHECK(p.promoted_shortfall == 1);
  }
  SECTION("a pin that breaks a cap is dropped") {
    Rules r;
    r.one_per_family = true;
    r.pins = {{0, 2}, {1, 3}};
    const RuleSet rs(r, catalog, index);
    const auto p = rs.place(full_pool(), 5);
    CHECK(placed(p) == std::vector<Index>{2, 4, 0, 5, 7});
    CHECK(p.dropped_pins == std::vector<Pin>{{1, 3}});
  }
}

TEST_CASE("RuleSet::place: MMR trades relevance for diversity", "[rules]") {
  const Catalog catalog = test_catalog();
  const CatalogIndex index(catalog);
  // Items 0, 1, 2 are near-duplicates; 4 and 5 are different.
  auto sim = [](Index a, Index b) -> float {
    if (a == b) return 1.0f;
    const bool da = a <= 2, db = b <= 2;
    return da && db ? 0.99f : 0.0f;
  };
  const std::vector<PlacementCandidate> pool = {
      {0, 1.0f}, {1, 0.99f}, {2, 0.98f}, {4, 0.8f}, {5, 0.7f}};
  Rules r;
  r.diversity_lambda = 1.0f;
  CHECK(placed(RuleSet(r, catalog, index).place(pool, 3, sim)) == std::vector<Index>{0, 1, 2});
  r.diversity_lambda = 0.5f;
  // rel = (score - 0.7) / 0.3. Slot 0: item 0 (no penalty). Slot 1: item 1 is worth
  // 0.5 * 0.967 - 0.5 * 0.99 < 0, item 4 0.5 * 0.333 = 0.167: item 4. Slot 2: item 5 (0) beats
  // item 1 (< 0).
  CHECK(placed(RuleSet(r, catalog, index).place(pool, 3, sim)) == std::vector<Index>{0, 4, 5});
  r.diversity_window = 2;  // only the two best feasible candidates are considered per slot
  // Slot 1 sees {1, 2} only: 1; slot 2 sees {2, 4}: 4.
  CHECK(placed(RuleSet(r, catalog, index).place(pool, 3, sim)) == std::vector<Index>{0, 1, 4});
  r.diversity_window = 0;
  CHECK_THROWS_AS(RuleSet(r, catalog, index).place(pool, 3), tailor::Error);
}
