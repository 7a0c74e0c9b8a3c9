#include "tailor/core/id_map.hpp"

#include "catch.hpp"
#include "tailor/data/event.hpp"

using tailor::IdMap;

TEST_CASE("IdMap assigns dense stable indices", "[id_map]") {
  IdMap m;
  CHECK(m.insert("a") == 0);
  CHECK(m.insert("b") == 1);
  CHECK(m.insert("a") == 0);
  CHECK(m.size() == 2);
  CHECK(m.id(1) == "b");
  CHECK(m.find("zzz") == std::nullopt);
  CHECK_THROWS_AS(m.at("zzz"), tailor::Error);
  CHECK_THROWS_AS(m.id(7), tailor::Error);
  try {
    m.at("nobody");
  } catch (const tailor::Error& e) {
    CHECK(e.code() == tailor::ErrorCode::unknown_id);
    CHECK(std::string(e.what()).find("nobody") != std::string::npos);
  }
}

TEST_CASE("IdMap keeps indices valid through growth, copy and move", "[id_map]") {
  IdMap m;
  // Long IDs live on the heap, short ones inside std::string (SSO): both must stay findable.
  for (int i = 0; i < 10000; ++i) m.insert((i % 2 ? "short" : "a-rather-long-external-identifier-") + std::to_string(i));
  IdMap copy = m;
  IdMap moved = std::move(m);
  for (int i = 0; i < 10000; ++i) {
    const std::string id = (i % 2 ? "short" : "a-rather-long-external-identifier-") + std::to_string(i);
    REQUIRE(copy.at(id) == static_cast<tailor::Index>(i));
    REQUIRE(moved.at(id) == static_cast<tailor::Index>(i));
  }
  copy.insert("new");
  CHECK(copy.size() == 10001);
  CHECK(moved.size() == 10000);
  CHECK(copy != moved);
}

TEST_CASE("EventTypeRegistry knows built-ins, aliases and custom types", "[event]") {
  tailor::EventTypeRegistry reg;
  CHECK(reg.find("purchase") == tailor::EventType::purchase);
  CHECK(reg.find("add-to-cart") == tailor::EventType::add_to_cart);
  CHECK(reg.find("return") == tailor::EventType::return_);
  CHECK(reg.find("wishlist") == std::nullopt);
  const auto wish = reg.add("wishlist");
  CHECK(static_cast<std::uint16_t>(wish) == tailor::kFirstCustomEventType);
  CHECK(reg.add("wishlist") == wish);
  CHECK(reg.name(wish) == "wishlist");
  CHECK(reg.name(tailor::EventType::return_) == "return");
  CHECK_THROWS_AS(reg.add(""), tailor::Error);
  CHECK_THROWS_AS(reg.name(static_cast<tailor::EventType>(999)), tailor::Error);
}
