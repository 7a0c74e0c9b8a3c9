#include "tailor/data/splits.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "catch.hpp"
#include "tailor/core/error.hpp"
#include "test_data.hpp"

using tailor::Interaction;
using tailor::Split;

namespace {

// A power-law-ish set of unique (user, item) pairs with distinct-ish times.
std::vector<Interaction> make_interactions(std::uint64_t seed, int users = 300, int items = 120) {
  std::mt19937_64 rng(seed);
  std::set<std::pair<tailor::Index, tailor::Index>> seen;
  std::vector<Interaction> out;
  for (int u = 0; u < users; ++u) {
    const int n = 1 + static_cast<int>(40.0 / (1 + u % 37));  // 1..41 pairs per user
    for (int k = 0; k < n; ++k) {
      const double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      const auto item = static_cast<tailor::Index>(static_cast<double>(items) * r * r);  // popular low ids
      if (!seen.insert({static_cast<tailor::Index>(u), item}).second) continue;
      Interaction x;
      x.user = static_cast<tailor::Index>(u);
      x.item = item;
      x.weight = 1.0f + static_cast<float>(rng() % 5);
      x.first_time = static_cast<tailor::Timestamp>(rng() % 1000000);
      x.last_time = x.first_time + static_cast<tailor::Timestamp>(rng() % 1000);
      x.count = 1 + static_cast<std::uint32_t>(rng() % 3);
      out.push_back(x);
    }
  }
  return out;
}

using Key = std::tuple<tailor::Index, tailor::Index>;
std::multiset<Key> keys(const std::vector<Interaction>& xs) {
  std::multiset<Key> out;
  for (const auto& x : xs) out.insert({x.user, x.item});
  return out;
}

// train and test are disjoint and together are exactly the input (as multisets of whole records).
void check_partition(const std::vector<Interaction>& all, const Split& s) {
  REQUIRE(s.train.size() + s.test.size() == all.size());
  auto train = keys(s.train);
  auto test = keys(s.test);
  for (const auto& k : test) REQUIRE(train.count(k) == 0);
  train.insert(test.begin(), test.end());
  REQUIRE(train == keys(all));
  // Whole records are carried over unchanged.
  std::map<Key, Interaction> by_key;
  for (const auto& x : all) by_key[{x.user, x.item}] = x;
  for (const auto* side : {&s.train, &s.test})
    for (const auto& x : *side) REQUIRE(by_key.at({x.user, x.item}) == x);
}

std::map<tailor::Index, std::pair<int, int>> counts_by(const Split& s, bool by_user) {
  std::map<tailor::Index, std::pair<int, int>> c;
  for (const auto& x : s.train) ++c[by_user ? x.user : x.item].first;
  for (const auto& x : s.test) ++c[by_user ? x.user : x.item].second;
  return c;
}

}  // namespace

TEST_CASE("global temporal split", "[splits]") {
  const auto all = make_interactions(1);
  const tailor::Timestamp cutoff = tailor::temporal_cutoff(all, 0.2);
  const Split s = tailor::split_temporal(all, cutoff);
  check_partition(all, s);
  for (const auto& x : s.train) REQUIRE(x.last_time < cutoff);
  for (const auto& x : s.test) REQUIRE(x.last_time >= cutoff);
  CHECK(static_cast<double>(s.test.size()) / static_cast<double>(all.size()) == Approx(0.2).margin(0.01));
  CHECK(tailor::split_temporal(all, cutoff).train == s.train);
  CHECK_THROWS_AS(tailor::temporal_cutoff(all, 1.0), tailor::Error);
  CHECK_THROWS_AS(tailor::temporal_cutoff({}, 0.5), tailor::Error);
}

TEST_CASE("per-user leave-last-k", "[splits]") {
  const auto all = make_interactions(2);
  for (std::size_t k : {1u, 3u}) {
    const Split s = tailor::split_leave_last_k(all, k);
    check_partition(all, s);
    std::map<tailor::Index, std::vector<tailor::Timestamp>> train_times, test_times;
    for (const auto& x : s.train) train_times[x.user].push_back(x.last_time);
    for (const auto& x : s.test) test_times[x.user].push_back(x.last_time);
    for (const auto& [user, c] : counts_by(s, true)) {
      const int n = c.first + c.second;
      REQUIRE(c.first >= 1);  // every user keeps at least one pair in train
      REQUIRE(c.second == static_cast<int>(std::min<std::size_t>(k, static_cast<std::size_t>(n - 1))));
      if (c.second > 0) {  // the test pairs are the user's most recent
        REQUIRE(*std::max_element(train_times[user].begin(), train_times[user].end()) <=
                *std::min_element(test_times[user].begin(), test_times[user].end()));
      }
    }
  }
  CHECK_THROWS_AS(tailor::split_leave_last_k(all, 0), tailor::Error);
}

TEST_CASE("stratified random split per user and per item", "[splits]") {
  const auto all = make_interactions(3);
  for (auto by : {tailor::StratifyBy::user, tailor::StratifyBy::item}) {
    const bool by_user = by == tailor::StratifyBy::user;
    INFO((by_user ? "per user" : "per item"));
    const Split s = tailor::split_stratified(all, 0.75, 42, by);
    check_partition(all, s);
    for (const auto& [key, c] : counts_by(s, by_user)) {
      const int n = c.first + c.second;
      const int expected_train = std::clamp(static_cast<int>(std::llround(0.75 * n)), 1, n);
      REQUIRE(c.first == expected_train);
    }
    CHECK(static_cast<double>(s.train.size()) / static_cast<double>(all.size()) == Approx(0.75).margin(0.05));

    {  // deterministic for a seed, independent of input order, different for another seed
      const Split again = tailor::split_stratified(all, 0.75, 42, by);
      CHECK(again.train == s.train);
      CHECK(again.test == s.test);
      auto shuffled = all;
      std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(99));
      const Split from_shuffled = tailor::split_stratified(shuffled, 0.75, 42, by);
      CHECK(keys(from_shuffled.test) == keys(s.test));
      const Split other = tailor::split_stratified(all, 0.75, 43, by);
      CHECK(keys(other.test) != keys(s.test));
      CHECK(other.test.size() == s.test.size());  // group sizes fix the counts, not the seed
    }
  }
  CHECK_THROWS_AS(tailor::split_stratified(all, 1.0, 42, tailor::StratifyBy::user), tailor::Error);
  CHECK_THROWS_AS(tailor::split_stratified(all, 0.0, 42, tailor::StratifyBy::item), tailor::Error);
  CHECK(tailor::split_stratified({}, 0.5, 1, tailor::StratifyBy::user).train.empty());
}

TEST_CASE("stratified split by hand: 4 pairs at 75% keep 3 in train, and a lone pair stays in train", "[splits]") {
  std::vector<Interaction> xs = {{0, 0, 1, 0, 0, 1}, {0, 1, 1, 0, 0, 1}, {0, 2, 1, 0, 0, 1}, {0, 3, 1, 0, 0, 1}, {1, 0, 1, 0, 0, 1}};
  const Split s = tailor::split_stratified(xs, 0.75, 7, tailor::StratifyBy::user);
  check_partition(xs, s);
  CHECK(s.test.size() == 1);
  CHECK(s.test[0].user == 0);
  // Over many seeds each of user 0's pairs lands in test about a quarter of the time.
  std::map<tailor::Index, int> hits;
  for (std::uint64_t seed = 0; seed < 4000; ++seed) ++hits[tailor::split_stratified(xs, 0.75, seed, tailor::StratifyBy::user).test.at(0).item];
  for (tailor::Index item = 0; item < 4; ++item) CHECK(hits[item] == Approx(1000).margin(120));  // ~5 sigma
}

TEST_CASE("new-item split", "[splits]") {
  auto all = make_interactions(4);
  const tailor::Timestamp cutoff = 700000;
  // Items 500..509 launch after the cutoff; item 600 launches just before it and sells after.
  for (tailor::Index u = 0; u < 20; ++u) {
    all.push_back({u, 500 + u % 10, 1.0f, cutoff + 10 * u, cutoff + 10 * u + 5, 1});
    all.push_back({u, 600, 1.0f, u == 0 ? cutoff - 1 : cutoff + u, cutoff + 100 + u, 1});
  }
  const Split s = tailor::split_new_items(all, cutoff);
  check_partition(all, s);
  std::map<tailor::Index, tailor::Timestamp> first_seen;
  for (const auto& x : all) {
    auto it = first_seen.find(x.item);
    first_seen[x.item] = it == first_seen.end() ? x.first_time : std::min(it->second, x.first_time);
  }
  std::set<tailor::Index> train_items, test_items;
  for (const auto& x : s.train) train_items.insert(x.item);
  for (const auto& x : s.test) test_items.insert(x.item);
  for (auto i : test_items) {
    REQUIRE(first_seen[i] >= cutoff);
    REQUIRE(train_items.count(i) == 0);  // a new item goes wholly to test
  }
  for (auto i : train_items) REQUIRE(first_seen[i] < cutoff);
  CHECK(test_items.size() == 10);
  CHECK(train_items.count(600) == 1);
}

TEST_CASE("splits feed train/test matrices over the same index spaces", "[splits]") {
  std::vector<tailor::Event> events;
  for (int u = 0; u < 30; ++u)
    for (int i = 0; i <= u % 7; ++i) {
      tailor::Event e;
      e.user = "u" + std::to_string(u);
      e.item = "i" + std::to_string((u + 3 * i) % 11);
      e.type = tailor::EventType::click;
      e.timestamp = 1000 * u + i;
      events.push_back(e);
    }
  const auto full = tailor::build_interaction_matrix(events);
  const auto split = tailor::split_stratified(full.interactions(), 0.75, 42, tailor::StratifyBy::item);
  const auto train = full.with_interactions(split.train);
  const auto test = full.with_interactions(split.test);
  CHECK(train.n_users() == full.n_users());
  CHECK(test.n_items() == full.n_items());
  CHECK(train.nnz() + test.nnz() == full.nnz());
  CHECK((train.confidence() + test.confidence()).isApprox(full.confidence()));

  const auto by_time = tailor::split_events_temporal(events, 15000);
  CHECK(by_time.train.size() + by_time.test.size() == events.size());
  for (const auto& e : by_time.train) REQUIRE(e.timestamp < 15000);
  for (const auto& e : by_time.test) REQUIRE(e.timestamp >= 15000);
}

TEST_CASE("Microsoft Recommenders protocol on MovieLens 100k: 75/25 stratified per item, seed 42",
          "[splits][ml100k]") {
  std::ifstream in(tailor::test::data_path("ml-100k/u.data"));
  REQUIRE(in.good());
  tailor::InteractionMatrixOptions o;
  o.transform = tailor::ConfidenceTransform::raw;
  tailor::InteractionMatrixBuilder b(o);
  tailor::Event e;
  e.type = tailor::EventType::rating;
  std::string user, item;
  double rating = 0;
  long long ts = 0;
  while (in >> user >> item >> rating >> ts) {
    e.user = user;
    e.item = item;
    e.value = rating;
    e.timestamp = ts * 1000;
    b.add(e);
  }
  const auto m = b.build();
  REQUIRE(m.nnz() == 100000);
  const auto all = m.interactions();
  const Split s = tailor::split_stratified(all, 0.75, 42, tailor::StratifyBy::item);
  check_partition(all, s);
  std::size_t expected_train = 0;
  for (const auto& [item_index, c] : counts_by(s, false)) {
    const int n = c.first + c.second;
    const int want = std::clamp(static_cast<int>(std::llround(0.75 * n)), 1, n);
    REQUIRE(c.first == want);
    expected_train += static_cast<std::size_t>(want);
  }
  CHECK(s.train.size() == expected_train);
  CHECK(static_cast<double>(s.train.size()) / 100000.0 == Approx(0.75).margin(0.005));
  const Split again = tailor::split_stratified(all, 0.75, 42, tailor::StratifyBy::item);
  CHECK(again.test == s.test);
  // Ratings survive the split unchanged: the train and test rating sums add up to the total.
  double total = 0, parts = 0;
  for (const auto& x : all) total += x.weight;
  for (const auto* side : {&s.train, &s.test})
    for (const auto& x : *side) parts += x.weight;
  CHECK(parts == total);
}
