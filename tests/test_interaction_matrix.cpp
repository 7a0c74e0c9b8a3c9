#include "tailor/data/interaction_matrix.hpp"

#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <tuple>

#include "catch.hpp"
#include "tailor/io/datasets.hpp"
#include "tailor/core/error.hpp"
#include "tailor/data/rfm.hpp"
#include "test_data.hpp"

using tailor::Event;
using tailor::EventType;
using tailor::InteractionMatrix;
using tailor::InteractionMatrixBuilder;
using tailor::InteractionMatrixOptions;

namespace {

constexpr tailor::Timestamp kDay = 86400000;
constexpr tailor::Timestamp kT0 = 1700000000000;  // an arbitrary UTC ms reference

Event ev(std::string user, std::string item, EventType type, tailor::Timestamp t = kT0,
         std::optional<double> value = std::nullopt, std::string session = "") {
  Event e;
  e.user = std::move(user);
  e.item = std::move(item);
  e.type = type;
  e.timestamp = t;
  e.value = value;
  e.session = std::move(session);
  return e;
}

float conf(const InteractionMatrix& m, const std::string& user, const std::string& item) {
  return m.confidence().coeff(m.users().at(user), m.items().at(item));
}

float weight(const InteractionMatrix& m, const std::string& user, const std::string& item) {
  auto x = m.find(m.users().at(user), m.items().at(item));
  REQUIRE(x.has_value());
  return x->weight;
}

template <typename Fn>
void expect_invalid(Fn&& fn, const std::string& field) {
  try {
    fn();
    FAIL("no error thrown; expected one naming " << field);
  } catch (const tailor::Error& e) {
    CHECK(e.code() == tailor::ErrorCode::invalid_argument);
    CHECK(std::string(e.what()).find(field) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("type weights aggregate per (user, item) with linear confidence", "[interaction_matrix]") {
  InteractionMatrixOptions o;
  o.alpha = 2.0;
  const std::vector<Event> events = {
      ev("u1", "i1", EventType::view),     ev("u1", "i1", EventType::click, kT0 + 5),
      ev("u1", "i1", EventType::purchase), ev("u1", "i2", EventType::add_to_cart, kT0 - 7),
      ev("u2", "i2", EventType::view),     ev("u2", "i2", EventType::view, kT0 + 9),
  };
  const InteractionMatrix m = tailor::build_interaction_matrix(events, o);
  REQUIRE(m.n_users() == 2);
  REQUIRE(m.n_items() == 2);
  REQUIRE(m.nnz() == 3);
  CHECK(m.users().id(0) == "u1");  // first-seen order
  CHECK(m.items().id(1) == "i2");
  CHECK(weight(m, "u1", "i1") == 1.0f + 2.0f + 8.0f);
  CHECK(conf(m, "u1", "i1") == 1.0f + 2.0f * 11.0f);
  CHECK(weight(m, "u1", "i2") == 4.0f);
  CHECK(weight(m, "u2", "i2") == 2.0f);
  CHECK(conf(m, "u2", "i1") == 0.0f);  // not stored

  const auto x = m.find(0, 0);
  REQUIRE(x);
  CHECK(x->count == 3);
  CHECK(x->first_time == kT0);
  CHECK(x->last_time == kT0 + 5);
  CHECK_FALSE(m.find(1, 0));
  CHECK_FALSE(m.find(7, 0));

  // The transpose holds the same entries.
  const tailor::SparseMatrix t = m.confidence().transpose();
  CHECK(t.isApprox(m.confidence_t()));
  CHECK(m.confidence_t().rows() == 2);
  CHECK(m.confidence_t().coeff(1, 1) == conf(m, "u2", "i2"));

  const auto all = m.interactions();
  REQUIRE(all.size() == 3);
  CHECK(all[0].user == 0);
  CHECK(all[0].item == 0);
  CHECK(all[2].user == 1);
  CHECK(m.report().events_seen == 6);
  CHECK(m.report().events_used == 6);
  CHECK(m.report().pairs_total == 3);
  CHECK(m.report().pairs_dropped_nonpositive == 0);
}

TEST_CASE("quantity scaling of purchases", "[interaction_matrix]") {
  const std::vector<Event> events = {ev("u", "i", EventType::purchase, kT0, 3.0), ev("u", "j", EventType::purchase, kT0, 1.0),
                                     ev("u", "k", EventType::purchase)};
  InteractionMatrixOptions o;
  SECTION("log1p: one unit weighs the type weight, three weigh 8 * log2(4)") {
    o.weights.quantity_scaling = tailor::ValueScaling::log1p;
    const auto m = tailor::build_interaction_matrix(events, o);
    CHECK(weight(m, "u", "i") == Approx(16.0).epsilon(1e-6));
    CHECK(weight(m, "u", "j") == Approx(8.0).epsilon(1e-6));
    CHECK(weight(m, "u", "k") == 8.0f);  // no value: type weight
  }
  SECTION("linear") {
    o.weights.quantity_scaling = tailor::ValueScaling::linear;
    const auto m = tailor::build_interaction_matrix(events, o);
    CHECK(weight(m, "u", "i") == 24.0f);
    CHECK(weight(m, "u", "j") == 8.0f);
  }
  SECTION("none") {
    o.weights.quantity_scaling = tailor::ValueScaling::none;
    const auto m = tailor::build_interaction_matrix(events, o);
    CHECK(weight(m, "u", "i") == 8.0f);
  }
}

TEST_CASE("time decay halves the weight exactly at each half-life", "[interaction_matrix]") {
  InteractionMatrixOptions o;
  o.weights.half_life_days = 10.0;
  o.weights.reference_time = kT0;
  CHECK(o.weights.decay(kT0) == 1.0);
  CHECK(o.weights.decay(kT0 - 10 * kDay) == 0.5);
  CHECK(o.weights.decay(kT0 - 20 * kDay) == 0.25);
  CHECK(o.weights.decay(kT0 - 5 * kDay) == Approx(std::sqrt(0.5)).epsilon(1e-12));
  CHECK(o.weights.decay(kT0 + 3 * kDay) == 1.0);  // future events are not boosted
  const std::vector<Event> events = {ev("u", "a", EventType::purchase, kT0 - 10 * kDay),
                                     ev("u", "b", EventType::view, kT0 - 20 * kDay),
                                     ev("u", "b", EventType::view, kT0)};
  const auto m = tailor::build_interaction_matrix(events, o);
  CHECK(weight(m, "u", "a") == 4.0f);
  CHECK(weight(m, "u", "b") == 1.25f);
  o.weights.half_life_days = 0.0;  // off
  CHECK(o.weights.decay(kT0 - 1000 * kDay) == 1.0);
}

TEST_CASE("returns subtract and non-positive pairs are dropped and counted", "[interaction_matrix]") {
  InteractionMatrixOptions o;
  o.weights.quantity_scaling = tailor::ValueScaling::linear;
  const std::vector<Event> events = {
      ev("u1", "i1", EventType::purchase, kT0, 2.0),  // +16
      ev("u1", "i1", EventType::return_, kT0, 2.0),   // -16: nets to 0 -> dropped
      ev("u1", "i2", EventType::purchase, kT0, 3.0),  // +24
      ev("u1", "i2", EventType::purchase, kT0, -1.0), // negative quantity = return of 1: -8
      ev("u2", "i3", EventType::return_, kT0, 1.0),   // a return alone: -8 -> dropped, u2 and i3 vanish
      ev("u3", "i1", EventType::view),                // keeps i1 alive through another user
  };
  const auto m = tailor::build_interaction_matrix(events, o);
  CHECK(m.n_users() == 2);
  CHECK(m.n_items() == 2);
  CHECK(m.nnz() == 2);
  CHECK(weight(m, "u1", "i2") == 16.0f);
  CHECK_FALSE(m.users().contains("u2"));
  CHECK_FALSE(m.items().contains("i3"));
  CHECK(m.users().at("u3") == 1);
  const auto& r = m.report();
  CHECK(r.pairs_total == 4);
  CHECK(r.pairs_dropped_nonpositive == 2);
  CHECK(r.users_dropped == 1);
  CHECK(r.items_dropped == 1);
  CHECK(r.to_json()["pairs_dropped_nonpositive"] == 2);

  SECTION("min_weight raises the bar") {
    o.min_weight = 16.0;  // keeps w > 16 only
    const auto m2 = tailor::build_interaction_matrix(events, o);
    CHECK(m2.nnz() == 0);
    CHECK(m2.n_users() == 0);
    CHECK(m2.report().pairs_dropped_nonpositive == 4);
  }
}

TEST_CASE("confidence transforms", "[interaction_matrix]") {
  InteractionMatrixOptions o;
  o.alpha = 40.0;
  CHECK(o.confidence(2.0) == 81.0);
  o.transform = tailor::ConfidenceTransform::logarithmic;
  o.epsilon = 0.5;
  CHECK(o.confidence(2.0) == Approx(1.0 + 40.0 * std::log(5.0)).epsilon(1e-12));
  o.transform = tailor::ConfidenceTransform::raw;
  CHECK(o.confidence(2.5) == 2.5);

  o.transform = tailor::ConfidenceTransform::logarithmic;
  const auto m = tailor::build_interaction_matrix({ev("u", "i", EventType::add_to_cart)}, o);
  CHECK(conf(m, "u", "i") == Approx(1.0 + 40.0 * std::log1p(4.0 / 0.5)).epsilon(1e-6));
  CHECK(weight(m, "u", "i") == 4.0f);  // the net weight is kept beside the confidence
}

TEST_CASE("ratings, searches, anonymous events and invalid values", "[interaction_matrix]") {
  InteractionMatrixOptions o;
  o.weights.rating_offset = 2.5;
  std::vector<Event> events = {
      ev("u1", "i1", EventType::rating, kT0, 5.0),       // 2.5
      ev("u1", "i2", EventType::rating, kT0, 2.0),       // -0.5 -> dropped
      ev("u1", "i3", EventType::rating),                 // no value -> invalid
      ev("u1", "", EventType::search),                   // no item
      ev("u1", "i1", EventType::search),                 // weight 0
      ev("", "i1", EventType::view, kT0, {}, "s9"),      // anonymous session row
      ev("", "i1", EventType::view, kT0, {}, ""),        // anonymous without session: skipped
      ev("u2", "i1", EventType::purchase, kT0, std::nan("")),  // non-finite value
  };
  Event custom = ev("u2", "i1", static_cast<EventType>(40));
  events.push_back(custom);  // custom type without a weight: 0
  {
    const auto m = tailor::build_interaction_matrix(events, o);
    CHECK(weight(m, "u1", "i1") == 2.5f);
    CHECK(weight(m, "session:s9", "i1") == 1.0f);
    const auto& r = m.report();
    CHECK(r.events_seen == 9);
    CHECK(r.skipped_no_item == 1);
    CHECK(r.skipped_zero_weight == 2);
    CHECK(r.skipped_anonymous == 1);
    CHECK(r.skipped_invalid_value == 2);
    CHECK(r.events_used == 3);
    CHECK(r.pairs_dropped_nonpositive == 1);
    CHECK_FALSE(m.users().contains("u2"));
  }
  o.weights.set_type_weight(static_cast<EventType>(40), 3.0);
  CHECK(o.weights.type_weight(static_cast<EventType>(40)) == 3.0);
  o.include_anonymous = false;
  const auto m = tailor::build_interaction_matrix(events, o);
  CHECK_FALSE(m.users().contains("session:s9"));
  CHECK(m.report().skipped_anonymous == 2);
  CHECK(weight(m, "u2", "i1") == 3.0f);
}

TEST_CASE("streaming builder matches a reference aggregation across compactions", "[interaction_matrix]") {
  // 1.3M events over few pairs forces at least one in-place compaction of the pending buffer.
  std::mt19937_64 rng(7);
  std::map<std::pair<int, int>, double> expected;
  InteractionMatrixBuilder b;
  const EventType types[] = {EventType::view, EventType::click, EventType::add_to_cart};
  const double w[] = {1.0, 2.0, 4.0};
  Event e;
  for (int k = 0; k < 1300000; ++k) {
    const int u = static_cast<int>(rng() % 300);
    const int i = static_cast<int>(rng() % 200);
    const int t = static_cast<int>(rng() % 3);
    e.user = "u" + std::to_string(u);
    e.item = "i" + std::to_string(i);
    e.type = types[t];
    e.timestamp = k;
    b.add(e);
    expected[{u, i}] += w[t];
  }
  CHECK(b.events_seen() == 1300000);
  const auto m = b.build();
  REQUIRE(m.nnz() == expected.size());
  for (const auto& [key, value] : expected) {
    const auto x = m.find(m.users().at("u" + std::to_string(key.first)), m.items().at("i" + std::to_string(key.second)));
    REQUIRE(x);
    REQUIRE(x->weight == Approx(value).epsilon(1e-6));
  }
  // Column indices sorted within each row (Eigen's CSR invariant that ALS relies on).
  const auto& c = m.confidence();
  for (Eigen::Index r = 0; r < c.rows(); ++r)
    for (auto k = c.outerIndexPtr()[r] + 1; k < c.outerIndexPtr()[r + 1]; ++k) REQUIRE(c.innerIndexPtr()[k - 1] < c.innerIndexPtr()[k]);
  CHECK(c.isCompressed());
  // The builder is reusable after build().
  CHECK(b.events_seen() == 0);
  b.add(ev("x", "y", EventType::view));
  CHECK(b.build().nnz() == 1);
}

TEST_CASE("from_interactions keeps index spaces and merges duplicates", "[interaction_matrix]") {
  const auto full = tailor::build_interaction_matrix(
      {ev("a", "x", EventType::view), ev("b", "y", EventType::click), ev("c", "z", EventType::purchase)});
  std::vector<tailor::Interaction> part = {full.interactions()[1], full.interactions()[1]};
  const auto sub = full.with_interactions(part);
  CHECK(sub.n_users() == 3);
  CHECK(sub.n_items() == 3);
  CHECK(sub.nnz() == 1);
  CHECK(sub.find(1, 1)->weight == 4.0f);
  CHECK(sub.find(1, 1)->count == 2);
  CHECK(sub.confidence().coeff(1, 1) == 5.0f);
  std::vector<tailor::Interaction> bad = {{5, 0, 1.0f, 0, 0, 1}};
  expect_invalid([&] { (void)full.with_interactions(bad); }, "outside the maps");
}

TEST_CASE("bad options raise invalid_argument naming the field", "[interaction_matrix][errors]") {
  InteractionMatrixOptions o;
  o.alpha = 0.0;
  expect_invalid([&] { InteractionMatrixBuilder b(o); }, "alpha");
  o = {};
  o.epsilon = -1.0;
  expect_invalid([&] { o.validate(); }, "epsilon");
  o = {};
  o.min_weight = -1.0;
  expect_invalid([&] { o.validate(); }, "min_weight");
  o = {};
  o.weights.half_life_days = 7.0;  // no reference time
  expect_invalid([&] { o.validate(); }, "reference_time");
  o.weights.half_life_days = -1.0;
  expect_invalid([&] { o.validate(); }, "half_life_days");
  o = {};
  o.weights.return_ = 3.0;
  expect_invalid([&] { o.validate(); }, "return_");
  o = {};
  o.weights.click = std::nan("");
  expect_invalid([&] { o.validate(); }, "click");
  o = {};
  o.weights.custom[3] = 1.0;
  expect_invalid([&] { o.validate(); }, "custom");
  expect_invalid([&] { o.weights.set_type_weight(static_cast<EventType>(9), 1.0); }, "reserved");
  tailor::StatsOptions s;
  s.cold_threshold = 0;
  expect_invalid([&] { s.validate(); }, "cold_threshold");
  s = {};
  s.cf_max_cold_share = 2.0;
  expect_invalid([&] { s.validate(); }, "cf_max_cold_share");
}

TEST_CASE("Gini coefficient by hand", "[interaction_matrix][stats]") {
  CHECK(tailor::gini({}) == 0.0);
  CHECK(tailor::gini({3, 3, 3, 3}) == Approx(0.0).margin(1e-12));
  CHECK(tailor::gini({0, 0, 0, 4}) == Approx(0.75).epsilon(1e-12));  // (n - 1) / n
  CHECK(tailor::gini({1, 2, 3, 4}) == Approx(0.25).epsilon(1e-12));
  CHECK(tailor::gini({4, 1, 3, 2}) == Approx(0.25).epsilon(1e-12));  // order does not matter
  CHECK_THROWS_AS(tailor::gini({1, -1}), tailor::Error);
}

TEST_CASE("statistics on hand-made matrices", "[interaction_matrix][stats]") {
  SECTION("complete 6 x 6: density 1, Gini 0, collaborative filtering") {
    std::vector<Event> events;
    for (int u = 0; u < 6; ++u)
      for (int i = 0; i < 6; ++i) events.push_back(ev("u" + std::to_string(u), "i" + std::to_string(i), EventType::view));
    const auto s = tailor::build_interaction_matrix(events).statistics();
    CHECK(s.users == 6);
    CHECK(s.items == 6);
    CHECK(s.nnz == 36);
    CHECK(s.density == 1.0);
    CHECK(s.item_gini == Approx(0.0).margin(1e-12));
    CHECK(s.user_gini == Approx(0.0).margin(1e-12));
    CHECK(s.per_user.p50 == 6.0);
    CHECK(s.per_item.max == 6.0);
    CHECK(s.cold_user_share == 0.0);
    CHECK(s.advice == tailor::ModelAdvice::collaborative_filtering);
    const auto j = s.to_json();
    CHECK(j["advice"] == "collaborative_filtering");
    CHECK(j["per_user"]["p90"] == 6.0);
    CHECK(s.summary().find("advice: collaborative_filtering") != std::string::npos);
  }
  SECTION("user i has i interactions (1..10): nearest-rank percentiles") {
    std::vector<Event> events;
    for (int u = 1; u <= 10; ++u)
      for (int i = 0; i < u; ++i) events.push_back(ev("u" + std::to_string(u), "i" + std::to_string(i), EventType::view));
    tailor::StatsOptions so;
    so.cold_threshold = 3;
    const auto s = tailor::build_interaction_matrix(events).statistics(so);
    CHECK(s.per_user.p50 == 5.0);
    CHECK(s.per_user.p90 == 9.0);
    CHECK(s.per_user.p99 == 10.0);
    CHECK(s.per_user.max == 10.0);
    CHECK(s.per_user.mean == 5.5);
    CHECK(s.cold_user_share == Approx(0.2));   // users with 1 and 2
    CHECK(s.cold_item_share == Approx(0.2));   // items i8 (2 users) and i9 (1 user)
    CHECK(s.user_gini == Approx(tailor::gini({1, 2, 3, 4, 5, 6, 7, 8, 9, 10})));
    CHECK(s.density == Approx(55.0 / 100.0));
  }
  SECTION("one interaction per user: content-based") {
    std::vector<Event> events;
    for (int u = 0; u < 50; ++u) events.push_back(ev("u" + std::to_string(u), "i" + std::to_string(u % 20), EventType::view));
    const auto s = tailor::build_interaction_matrix(events).statistics();
    CHECK(s.advice == tailor::ModelAdvice::content_based);
    CHECK(s.advice_reason.find("median interactions per user") != std::string::npos);
  }
  SECTION("in between: hybrid") {
    // 3 interactions per user: above the content bar (2), below the CF bar (5).
    std::vector<Event> events;
    for (int u = 0; u < 40; ++u)
      for (int k = 0; k < 3; ++k) events.push_back(ev("u" + std::to_string(u), "i" + std::to_string((u + k) % 10), EventType::view));
    const auto s = tailor::build_interaction_matrix(events).statistics();
    CHECK(s.advice == tailor::ModelAdvice::hybrid);
  }
  SECTION("empty matrix") {
    const auto s = InteractionMatrix().statistics();
    CHECK(s.nnz == 0);
    CHECK(s.density == 0.0);
    CHECK(s.advice == tailor::ModelAdvice::content_based);
  }
}

TEST_CASE("RFM by hand", "[interaction_matrix][rfm]") {
  std::vector<Event> events = {
      ev("a", "x", EventType::purchase, kT0 - 10 * kDay, 20.0, "b1"),
      ev("a", "y", EventType::purchase, kT0 - 10 * kDay, 5.0, "b1"),   // same basket
      ev("a", "x", EventType::purchase, kT0 - 2 * kDay, 10.0, "b2"),
      ev("a", "x", EventType::return_, kT0 - 1 * kDay, 10.0, "b3"),    // subtracts, no frequency
      ev("b", "x", EventType::purchase, kT0 - 30 * kDay, 100.0, ""),   // basket = timestamp
      ev("b", "y", EventType::purchase, kT0 - 30 * kDay, 50.0, ""),    // same timestamp: same basket
      ev("b", "z", EventType::purchase, kT0 - 20 * kDay, -30.0, ""),   // negative value: a return
      ev("c", "x", EventType::view, kT0),                              // no purchase: no record
      ev("d", "x", EventType::purchase, kT0 - 12 * kDay / 10),         // no value
      ev("", "x", EventType::purchase, kT0, 9.0, "anon"),              // anonymous: skipped
  };
  tailor::RfmOptions o;
  o.reference_time = kT0;
  auto r = tailor::compute_rfm(events, o);
  REQUIRE(r.size() == 3);
  CHECK(r[0].user == "a");
  CHECK(r[0].recency_days == 2.0);
  CHECK(r[0].frequency == 2);
  CHECK(r[0].monetary == 25.0);
  CHECK(r[0].purchases == 3);
  CHECK(r[0].returns == 1);
  CHECK(r[1].user == "b");
  CHECK(r[1].recency_days == 30.0);
  CHECK(r[1].frequency == 1);
  CHECK(r[1].monetary == 120.0);
  CHECK(r[1].returns == 1);
  CHECK(r[2].user == "d");
  CHECK(r[2].recency_days == Approx(1.2));
  CHECK(r[2].monetary == 0.0);
  CHECK(r[2].purchases_without_value == 1);
  // Quintiles over 3 users: best -> 1 + floor(5*2/3) = 4, middle -> 2, worst -> 1.
  CHECK(r[2].r_score == 4);  // most recent
  CHECK(r[0].r_score == 2);
  CHECK(r[1].r_score == 1);
  CHECK(r[0].f_score == 4);  // frequency 2 beats two users with 1 (tied, both score 1)
  CHECK(r[1].f_score == 1);
  CHECK(r[2].f_score == 1);
  CHECK(r[1].m_score == 4);
  CHECK(r[0].m_score == 2);
  CHECK(r[2].m_score == 1);
  CHECK(r[0].to_json()["monetary"] == 25.0);

  SECTION("options: count purchases, include anonymous, default reference time, no scores") {
    o.frequency_by_basket = false;
    o.include_anonymous = true;
    o.scores = false;
    o.reference_time.reset();  // latest event: kT0
    r = tailor::compute_rfm(events, o);
    REQUIRE(r.size() == 4);
    CHECK(r[0].frequency == 3);
    CHECK(r[0].recency_days == 2.0);
    CHECK(r[3].user == "session:anon");
    CHECK(r[3].recency_days == 0.0);
    CHECK(r[0].r_score == 0);
  }
  SECTION("quintiles over 10 distinct values are 1,1,2,2,...,5,5") {
    std::vector<Event> many;
    for (int u = 0; u < 10; ++u) many.push_back(ev("u" + std::to_string(u), "x", EventType::purchase, kT0 - u * kDay, 10.0 * u, "s"));
    const auto q = tailor::compute_rfm(many, o);
    for (int u = 0; u < 10; ++u) {
      CHECK(q[u].m_score == 1 + u / 2);
      CHECK(q[u].r_score == 5 - u / 2);
      CHECK(q[u].f_score == 1);  // all tied
    }
  }
}

TEST_CASE("RFM with unit prices: amount = quantity x price", "[interaction_matrix][rfm]") {
  const std::vector<Event> events = {
      ev("a", "x", EventType::purchase, kT0, 3.0, "b1"),   // 3 x 2.5
      ev("a", "y", EventType::purchase, kT0, 2.0, "b1"),   // 2 x 10
      ev("a", "x", EventType::return_, kT0, 1.0, "c1"),    // -1 x 2.5
      ev("a", "z", EventType::purchase, kT0, 1.0, "b2"),   // price NaN: no amount
  };
  const std::vector<double> prices = {2.5, 10.0, 2.5, std::nan("")};
  const auto r = tailor::compute_rfm(events, prices);
  REQUIRE(r.size() == 1);
  CHECK(r[0].monetary == 25.0);
  CHECK(r[0].purchases_without_value == 1);
  CHECK(r[0].frequency == 2);
  expect_invalid([&] { (void)tailor::compute_rfm(events, std::vector<double>{1.0}); }, "unit_prices");
}

TEST_CASE("Online Retail (bundled): matrix and RFM account for every customer event", "[interaction_matrix][rfm]") {
  const tailor::Dataset d = tailor::load_online_retail(tailor::test::bundled_retail());
  REQUIRE(d.unit_prices.size() == d.events.size());
  // RFM over identified customers, amounts = quantity x unit price.
  tailor::RfmOptions ro;
  const auto rfm = tailor::compute_rfm(d.events, d.unit_prices, ro);
  std::map<std::string, double> expected_money;
  std::set<std::string> buyers;
  tailor::Timestamp latest = 0;
  for (std::size_t k = 0; k < d.events.size(); ++k) {
    const Event& e = d.events[k];
    latest = std::max(latest, e.timestamp);
    if (e.user.empty()) continue;
    const double amount = *e.value * d.unit_prices[k];
    if (e.type == EventType::purchase) {
      buyers.insert(e.user);
      expected_money[e.user] += amount;
    } else if (e.type == EventType::return_) {
      expected_money[e.user] -= amount;
    }
  }
  REQUIRE(rfm.size() == buyers.size());
  CHECK(rfm.size() > 4300);  // the data set has about 4,340 customers with purchases
  CHECK(rfm.size() < 4380);
  std::array<int, 6> r_hist{};
  for (const auto& rec : rfm) {
    REQUIRE(rec.monetary == Approx(expected_money.at(rec.user)).epsilon(1e-9).margin(1e-6));
    REQUIRE(rec.frequency >= 1);
    REQUIRE(rec.recency_days >= 0.0);
    REQUIRE(rec.recency_days <= 375.0);  // the data spans Dec 2010 - Dec 2011
    ++r_hist[rec.r_score];
  }
  // Quintiles: each score holds roughly a fifth of the customers (ties shift the edges).
  for (int score = 1; score <= 5; ++score) CHECK(r_hist[score] == Approx(rfm.size() / 5.0).margin(rfm.size() * 0.08));
  CHECK(r_hist[0] == 0);

  // The matrix: anonymous invoices are their own rows; returns net out against purchases.
  const auto m = tailor::build_interaction_matrix(d.events);
  const auto& rep = m.report();
  CHECK(rep.events_seen == d.events.size());
  CHECK(rep.events_used + rep.skipped_anonymous + rep.skipped_no_item + rep.skipped_zero_weight + rep.skipped_invalid_value == rep.events_seen);
  CHECK(rep.pairs_dropped_nonpositive > 0);  // returns that cancel or exceed purchases
  CHECK(m.nnz() == rep.pairs_total - rep.pairs_dropped_nonpositive);
  for (float w : m.weights()) REQUIRE(w > 0.0f);
  const auto s = m.statistics();
  CHECK(s.item_gini > 0.3);
  INFO(s.summary());
  CHECK(s.users == m.n_users());
}

TEST_CASE("MovieLens 100k statistics", "[interaction_matrix][stats][ml100k]") {
  std::ifstream in(tailor::test::data_path("ml-100k/u.data"));
  REQUIRE(in.good());
  InteractionMatrixOptions o;
  o.transform = tailor::ConfidenceTransform::raw;
  InteractionMatrixBuilder b(o);
  Event e;
  e.type = EventType::rating;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    double rating = 0;
    long long ts = 0;
    fields >> e.user >> e.item >> rating >> ts;
    e.value = rating;
    e.timestamp = ts * 1000;
    b.add(e);
  }
  const auto m = b.build();
  const auto s = m.statistics();
  CHECK(s.users == 943);
  CHECK(s.items == 1682);
  CHECK(s.nnz == 100000);
  CHECK(s.density == Approx(100000.0 / (943.0 * 1682.0)));
  CHECK(s.per_user.p50 >= 20.0);  // every ML-100k user rated at least 20 movies
  CHECK(s.cold_user_share == 0.0);
  CHECK(s.item_gini > 0.5);  // movie popularity is strongly skewed
  CHECK(s.item_gini < 0.8);
  CHECK(s.advice == tailor::ModelAdvice::collaborative_filtering);
  double sum = 0;
  for (float w : m.weights()) sum += w;
  CHECK(sum / 100000.0 == Approx(3.52986).epsilon(1e-4));  // the data set's mean rating
}
