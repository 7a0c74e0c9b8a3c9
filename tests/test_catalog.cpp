#include "tailor/data/catalog.hpp"

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tailor/core/error.hpp"

using tailor::Catalog;
using tailor::CatalogItem;
using tailor::ErrorCode;
using tailor::UpsertMode;

namespace {
CatalogItem make_item(const std::string& id, const std::string& title, double price) {
  CatalogItem item;
  item.id = id;
  item.title = title;
  item.description = title + " description";
  item.category_path = {"Home", "Kitchen"};
  item.brand = "Acme";
  item.price = price;
  item.attributes = {{"colour", "red"}, {"size", "M"}};
  return item;
}
}  // namespace

TEST_CASE("Catalog inserts items with dense indices in first-seen order", "[catalog]") {
  Catalog catalog;
  CHECK(catalog.empty());
  auto a = catalog.upsert(make_item("A", "Mug", 3.5));
  auto b = catalog.upsert(make_item("B", "Plate", 4.0));
  CHECK(a.inserted);
  CHECK(b.inserted);
  CHECK(a.index == 0);
  CHECK(b.index == 1);
  REQUIRE(catalog.size() == 2);
  CHECK(catalog.at(tailor::Index{1}).title == "Plate");
  CHECK(catalog.at("A").title == "Mug");
  CHECK(*catalog.index_of("B") == 1);
  CHECK_FALSE(catalog.index_of("C").has_value());
  CHECK(catalog.find("C") == nullptr);
  REQUIRE(catalog.find("B") != nullptr);
  CHECK(catalog.find("B")->price == 4.0);
  CHECK(catalog.ids().id(0) == "A");

  std::vector<std::string> seen;
  for (const CatalogItem& item : catalog) seen.push_back(item.id);
  CHECK(seen == std::vector<std::string>{"A", "B"});
}

TEST_CASE("Catalog merge keeps fields the update leaves empty", "[catalog]") {
  Catalog catalog;
  catalog.upsert(make_item("A", "Mug", 3.5));

  SECTION("partial update: only the price") {
    CatalogItem update;
    update.id = "A";
    update.price = 2.0;
    auto result = catalog.upsert(update);
    CHECK_FALSE(result.inserted);
    CHECK(result.index == 0);
    const CatalogItem& item = catalog.at("A");
    CHECK(item.title == "Mug");
    CHECK(item.description == "Mug description");
    CHECK(item.category_path == std::vector<std::string>{"Home", "Kitchen"});
    CHECK(item.brand == "Acme");
    CHECK(item.price == 2.0);
    CHECK(item.attributes.at("colour") == "red");
    CHECK(catalog.size() == 1);
  }
  SECTION("non-empty fields overwrite, attributes merge by key, in_stock always taken") {
    CatalogItem update;
    update.id = "A";
    update.title = "Big mug";
    update.category_path = {"Home"};
    update.in_stock = false;
    update.attributes = {{"colour", "blue"}, {"material", "stoneware"}};
    catalog.upsert(update);
    const CatalogItem& item = catalog.at("A");
    CHECK(item.title == "Big mug");
    CHECK(item.description == "Mug description");
    CHECK(item.category_path == std::vector<std::string>{"Home"});
    CHECK(item.price == 3.5);
    CHECK_FALSE(item.in_stock);
    CHECK(item.attributes.size() == 3);
    CHECK(item.attributes.at("colour") == "blue");
    CHECK(item.attributes.at("size") == "M");
    CHECK(item.attributes.at("material") == "stoneware");
  }
  SECTION("replace mode drops the old record") {
    CatalogItem update;
    update.id = "A";
    update.title = "Bowl";
    catalog.upsert(update, UpsertMode::replace);
    CHECK(catalog.at("A") == update);
    CHECK(*catalog.index_of("A") == 0);
    CHECK(catalog.at("A").price == std::nullopt);
  }
}

TEST_CASE("Catalog rejects bad records and unknown IDs", "[catalog]") {
  Catalog catalog;
  CatalogItem empty_id;
  try {
    catalog.upsert(empty_id);
    FAIL("expected an error");
  } catch (const tailor::Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
  }
  auto negative = make_item("N", "Neg", -1.0);
  CHECK_THROWS_AS(catalog.upsert(negative), tailor::Error);
  auto nan = make_item("N", "NaN", std::numeric_limits<double>::quiet_NaN());
  CHECK_THROWS_AS(catalog.upsert(nan), tailor::Error);
  CHECK(catalog.empty());

  try {
    (void)catalog.at("missing");
    FAIL("expected an error");
  } catch (const tailor::Error& e) {
    CHECK(e.code() == ErrorCode::unknown_id);
    CHECK(std::string(e.what()).find("missing") != std::string::npos);
  }
  CHECK_THROWS_AS(catalog.at(tailor::Index{0}), tailor::Error);
  CHECK_THROWS_AS(catalog.set_in_stock("missing", false), tailor::Error);
}

TEST_CASE("Catalog copies are independent and compare by value", "[catalog]") {
  Catalog catalog;
  catalog.upsert(make_item("A", "Mug", 3.5));
  catalog.upsert(make_item("B", "Plate", 4.0));
  Catalog copy = catalog;
  CHECK(copy == catalog);
  copy.set_in_stock("A", false);
  CHECK(copy != catalog);
  CHECK(catalog.at("A").in_stock);
  CHECK(copy.find("B") != nullptr);
  CHECK(copy.ids().at("B") == 1);

  // Many inserts: earlier indices never move.
  for (int i = 0; i < 1000; ++i) catalog.upsert(make_item("X" + std::to_string(i), "t", 1.0));
  CHECK(catalog.size() == 1002);
  CHECK(catalog.at(tailor::Index{0}).id == "A");
  CHECK(catalog.at("X999").id == "X999");
  CHECK(*catalog.index_of("X999") == 1001);
}
