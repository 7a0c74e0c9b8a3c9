#include "tailor/serving/recommender.hpp"

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "tailor/io/datasets.hpp"
#include "tailor/core/error.hpp"
#include "test_data.hpp"
#include "serving/test_access.hpp"
#include "persistence/fault_injection.hpp"
#include "recommender_fixtures.hpp"

using tailor::CatalogItem;
using tailor::ErrorCode;
using tailor::Event;
using tailor::EventType;
using tailor::RecommendRequest;
using tailor::Recommender;
using tailor::RecommenderOptions;

using tailor::test::busiest_customer;
using tailor::test::retail;
using tailor::test::small_options;
using tailor::test::trained;

TEST_CASE("Recommender answers known users from the trained snapshot", "[recommender]") {
  const auto rec = trained();
  REQUIRE(rec->model_version() >= 2);  // the catalog publication, then the retrain
  const std::string user = busiest_customer(retail().train);
  std::set<std::string> bought;
  for (const auto& e : retail().train) {
    if (e.user == user) bought.insert(e.item);
  }
  RecommendRequest req;
  req.user = user;
  req.k = 20;
  const auto resp = rec->recommend(req);
  REQUIRE(resp.items.size() == 20);
  CHECK(resp.model_version == rec->model_version());
  std::set<std::string> ids;
  for (const auto& r : resp.items) {
    CHECK_FALSE(bought.count(r.item));  // seen items excluded by default
    CHECK_FALSE(r.reason.empty());
    CHECK(rec->item_index(r.item) == r.index);
    ids.insert(r.item);
  }
  CHECK(ids.size() == resp.items.size());
  for (std::size_t i = 1; i < resp.items.size(); ++i) {
    CHECK(resp.items[i - 1].score >= resp.items[i].score);
  }
  // With no events since training, the user's vector is the trained row.
  const auto v = rec->user_vector(user);
  REQUIRE(v);
  const auto snap = tailor::RecommenderTestAccess::snapshot(*rec);
  const auto row = snap->parts->users.find(user);
  REQUIRE(row);
  CHECK(v->isApprox(snap->parts->als.user_factors().row(static_cast<Eigen::Index>(*row)).transpose()));
}

TEST_CASE("Recommender: events are visible to the very next request", "[recommender]") {
  const auto rec = trained();
  // An anonymous session views three items of one family of products.
  const auto& items = retail().items;
  std::vector<std::string> viewed;
  for (const auto& it : items) {
    if (it.title.find("LANTERN") != std::string::npos && viewed.size() < 3) viewed.push_back(it.id);
  }
  REQUIRE(viewed.size() == 3);
  RecommendRequest req;
  req.session = "s-1";
  req.k = 10;
  const auto before = rec->recommend(req);  // popular and trending only
  for (const auto& id : viewed) {
    Event e;
    e.session = "s-1";
    e.item = id;
    e.type = EventType::view;
    e.timestamp = 1301700000000;
    rec->ingest(e);
  }
  const auto after = rec->recommend(req);
  REQUIRE(after.items.size() == 10);
  CHECK(before.items.size() == 10);
  bool personal = false;
  for (const auto& r : after.items) {
    CHECK(std::find(viewed.begin(), viewed.end(), r.item) == viewed.end());  // seen: excluded
    if (r.reason.rfind("because you viewed", 0) == 0) {
      personal = true;
      // The same reason as data: the kind and the external ID of the viewed item it names.
      CHECK(r.reason_kind == tailor::ReasonKind::because_viewed);
      CHECK(std::find(viewed.begin(), viewed.end(), r.reason_item) != viewed.end());
      const auto* named = rec->catalog()->find(r.reason_item);
      REQUIRE(named != nullptr);
      CHECK(r.reason == "because you viewed " + (named->title.empty() ? r.reason_item : named->title));
    } else if (r.reason_kind == tailor::ReasonKind::recommended_for_you ||
               r.reason_kind == tailor::ReasonKind::popular ||
               r.reason_kind == tailor::ReasonKind::trending) {
      CHECK(r.reason_item.empty());
    }
  }
  CHECK(personal);
  // The session's vector is a fold-in of the three views.
  const auto v = rec->user_vector("session:s-1");
  REQUIRE(v);
  CHECK(v->norm() > 0.0f);
  CHECK(rec->stats().fold_ins >= 1);
}

TEST_CASE("Recommender: recommend_batch answers like recommend, on several threads",
          "[recommender][batch]") {
  const auto rec = trained();
  std::set<std::string> seen;
  std::vector<RecommendRequest> requests;
  for (const auto& e : retail().train) {
    if (e.user.empty() || !seen.insert(e.user).second) continue;
    RecommendRequest r;
    r.user = e.user;
    r.k = 5 + requests.size() % 3;
    requests.push_back(r);
    if (requests.size() == 60) break;
  }
  RecommendRequest anonymous;
  anonymous.session = "batch-visit";
  requests.push_back(anonymous);
  RecommendRequest unknown;
  unknown.user = "a shopper never seen";
  requests.push_back(unknown);
  for (const std::size_t threads : {std::size_t{1}, std::size_t{2}, std::size_t{0}}) {
    const auto batch = rec->recommend_batch(requests, threads);
    REQUIRE(batch.size() == requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const auto single = rec->recommend(requests[i]);
      INFO("threads " << threads << ", request " << i);
      REQUIRE(batch[i].items.size() == single.items.size());
      CHECK(batch[i].items.size() == requests[i].k);
      for (std::size_t j = 0; j < single.items.size(); ++j) {
        CHECK(batch[i].items[j].item == single.items[j].item);
        CHECK(batch[i].items[j].score == Approx(single.items[j].score).margin(1e-6));
      }
    }
  }
  CHECK(rec->recommend_batch({}).empty());
  // One bad request: named by index and field, and nothing is served.
  auto bad = requests;
  bad[3].k = 0;
  const auto before = rec->stats();
  try {
    (void)rec->recommend_batch(bad, 2);
    FAIL("a request with k = 0 was served");
  } catch (const tailor::Error& e) {
    CHECK(e.code() == tailor::ErrorCode::invalid_argument);
    CHECK_THAT(e.what(), Catch::Contains("request 3") && Catch::Contains("field 'k'"));
  }
  CHECK(rec->stats().fold_ins == before.fold_ins);
  Recommender fresh(small_options());
  CHECK_THROWS_AS(fresh.recommend_batch(requests), tailor::Error);
}

TEST_CASE("Recommender: catalog changes take effect without retraining", "[recommender]") {
  const auto rec = trained();
  const std::string user = busiest_customer(retail().train);
  RecommendRequest req;
  req.user = user;
  req.k = 10;
  const auto first = rec->recommend(req);
  REQUIRE(!first.items.empty());
  const std::string top = first.items.front().item;

  SECTION("out of stock is never returned") {
    CatalogItem change;
    change.id = top;
    change.in_stock = false;
    // merge keeps every field but in_stock (a bool is always applied by merge).
    rec->upsert_item(change);
    const auto resp = rec->recommend(req);
    CHECK(resp.model_version > first.model_version);
    for (const auto& r : resp.items) CHECK(r.item != top);
    CHECK(resp.items.size() == 10);
  }
  SECTION("a removed item is never returned, yet still history") {
    REQUIRE(rec->remove_item(top));
    CHECK_FALSE(rec->remove_item("no-such-item"));
    for (const auto& r : rec->recommend(req).items) CHECK(r.item != top);
    for (const auto& r : rec->similar_items(first.items[1].item, 20).items) CHECK(r.item != top);
  }
  SECTION("a brand-new product is recommendable at once") {
    CatalogItem fresh;
    fresh.id = "NEW-LANTERN-1";
    fresh.title = "WHITE MOROCCAN METAL LANTERN";
    fresh.price = 3.75;
    rec->upsert_item(fresh);
    const auto idx = rec->item_index("NEW-LANTERN-1");
    REQUIRE(idx);
    // On the product page of a similar lantern, the new one is among the similar items.
    std::string lantern;
    for (const auto& it : retail().items) {
      if (it.title == "WHITE METAL LANTERN") lantern = it.id;
    }
    REQUIRE(!lantern.empty());
    const auto similar = rec->similar_items(lantern, 20);
    const bool found = std::any_of(similar.items.begin(), similar.items.end(),
                                   [](const auto& r) { return r.item == "NEW-LANTERN-1"; });
    CHECK(found);
    // And the ANN index serves its bridge vector from the side buffer.
    CHECK(tailor::RecommenderTestAccess::parts(*rec)->ann->contains(*idx));
  }
}

TEST_CASE("Recommender: result cache is dropped by the shopper's own events", "[recommender]") {
  const auto rec = trained();
  const std::string user = busiest_customer(retail().train);
  RecommendRequest req;
  req.user = user;
  req.k = 5;
  req.cache_key = "home";
  CHECK_FALSE(rec->recommend(req).from_cache);
  const auto hit = rec->recommend(req);
  CHECK(hit.from_cache);
  RecommendRequest other = req;
  other.k = 6;
  CHECK_FALSE(rec->recommend(other).from_cache);  // k is part of the key
  Event e;
  e.user = user;
  e.item = retail().items[5].id;
  e.type = EventType::add_to_cart;
  e.timestamp = 1301700000000;
  rec->ingest(e);
  const auto fresh = rec->recommend(req);
  CHECK_FALSE(fresh.from_cache);
  for (const auto& r : fresh.items) CHECK(r.item != e.item);  // the cart item is now seen
  CHECK(rec->stats().cache_hits == 1);
}

TEST_CASE("Recommender: frequently bought together and trending", "[recommender]") {
  const auto rec = trained();
  // The most bought item of the prefix.
  std::map<std::string, int> n;
  for (const auto& e : retail().train) {
    if (e.type == EventType::purchase) ++n[e.item];
  }
  const std::string item =
      std::max_element(n.begin(), n.end(), [](const auto& a, const auto& b) {
        return a.second < b.second;
      })->first;
  const auto fbt = rec->frequently_bought_together(item, 10);
  REQUIRE(fbt.items.size() == 10);
  // Every returned item shares at least one invoice with `item`.
  std::map<std::string, std::set<std::string>> baskets;
  for (const auto& e : retail().train) {
    if (e.type == EventType::purchase) baskets[e.session].insert(e.item);
  }
  for (const auto& r : fbt.items) {
    bool shared = false;
    for (const auto& [invoice, items] : baskets) {
      if (items.count(item) && items.count(r.item)) {
        shared = true;
        break;
      }
    }
    CHECK(shared);
    CHECK(r.item != item);
    CHECK(r.reason_kind == tailor::ReasonKind::bought_together);
    CHECK(r.reason_item == item);
  }
  const auto trend = rec->trending(10);
  CHECK(!trend.items.empty());
  for (std::size_t i = 1; i < trend.items.size(); ++i) {
    CHECK(trend.items[i - 1].score >= trend.items[i].score);
  }
}

TEST_CASE("Recommender: erase_user forgets a shopper at once and in the next model", "[recommender]") {
  const auto rec = trained();
  const std::string user = busiest_customer(retail().train);
  REQUIRE(rec->user_vector(user));
  const auto kept_before = rec->stats().events_kept;
  const std::size_t dropped = rec->erase_user(user);
  CHECK(dropped > 0);
  CHECK(rec->stats().events_kept == kept_before - dropped);
  CHECK_FALSE(rec->user_vector(user));  // the trained row is no longer used
  rec->retrain();
  CHECK_FALSE(tailor::RecommenderTestAccess::parts(*rec)->users.find(user));
  CHECK_FALSE(rec->user_vector(user));
}

TEST_CASE("Recommender: bad input is rejected and records nothing", "[recommender]") {
  Recommender rec(small_options());
  RecommendRequest req;
  req.user = "u";
  try {
    (void)rec.recommend(req);
    FAIL("no exception");
  } catch (const tailor::Error& e) {
    CHECK(e.code() == ErrorCode::not_fitted);
  }
  Event ok;
  ok.user = "u1";
  ok.item = "i1";
  Event bad = ok;
  bad.user.clear();
  try {
    rec.ingest(std::vector<Event>{ok, bad});
    FAIL("no exception");
  } catch (const tailor::Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    CHECK(std::string(e.what()).find("event 1") != std::string::npos);
  }
  CHECK(rec.stats().events_ingested == 0);
  Event rating = ok;
  rating.type = EventType::rating;  // a rating needs a value
  CHECK_THROWS_AS(rec.ingest(rating), tailor::Error);
  CHECK_THROWS_AS(rec.retrain(), tailor::Error);  // nothing to train on
  CHECK(rec.model_version() == 0);
  RecommenderOptions o;
  o.profile_events = 0;
  CHECK_THROWS_AS(Recommender(o), tailor::Error);

  const auto trained_rec = trained();
  RecommendRequest zero;
  zero.user = "x";
  zero.k = 0;
  CHECK_THROWS_AS(trained_rec->recommend(zero), tailor::Error);
  RecommendRequest ctx;
  ctx.user = "x";
  ctx.context_item = "no-such-item";
  try {
    (void)trained_rec->recommend(ctx);
    FAIL("no exception");
  } catch (const tailor::Error& e) {
    CHECK(e.code() == ErrorCode::unknown_id);
  }
}

// Readers, writers and retrain-and-swap at once (run under the tsan preset in CI). Duration:
// TAILOR_STRESS_SECONDS (default 3; CI's TSan run sets 30).
TEST_CASE("Recommender: concurrent serving, ingest and retrain", "[recommender][stress]") {
  const char* env = std::getenv("TAILOR_STRESS_SECONDS");
  const double seconds = env != nullptr ? std::atof(env) : 3.0;
  auto rec = std::make_unique<Recommender>(small_options());
  rec->upsert_items(retail().items);
  rec->ingest(retail().train);
  rec->retrain();
  const std::vector<Event>& later = retail().later;
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> responses{0}, errors{0}, version_regressions{0}, bad_items{0};
  std::atomic<std::size_t> ingested{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      std::uint64_t last_version = 0;
      std::size_t i = static_cast<std::size_t>(r) * 7919;
      while (!stop.load()) {
        const Event& e = later[i++ % later.size()];
        RecommendRequest req;
        req.user = e.user;
        req.session = e.session;
        req.k = 10;
        req.cache_key = (i % 2) ? "home" : "";
        try {
          const auto resp = rec->recommend(req);
          if (resp.model_version < last_version) ++version_regressions;
          last_version = resp.model_version;
          const auto snap_items = rec->catalog()->size();
          std::set<tailor::Index> seen;
          for (const auto& it : resp.items) {
            if (it.index >= snap_items || !seen.insert(it.index).second) ++bad_items;
          }
          ++responses;
        } catch (const std::exception&) {
          ++errors;
        }
      }
    });
  }
  threads.emplace_back([&] {
    std::size_t i = 0;
    while (!stop.load()) {
      Event e = later[i % later.size()];
      if (i % 50 == 0) e.item = "STRESS-NEW-" + std::to_string(i);  // unknown items appear
      try {
        rec->ingest(e);
        ++ingested;
      } catch (const std::exception&) {
        ++errors;
      }
      ++i;
    }
  });
  threads.emplace_back([&] {
    std::size_t i = 0;
    while (!stop.load()) {
      CatalogItem c = retail().items[i++ % retail().items.size()];
      c.in_stock = (i % 3) != 0;
      rec->upsert_item(c);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  const auto start = std::chrono::steady_clock::now();
  std::size_t retrains = 0;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds ||
         retrains < 2) {
    rec->retrain();
    ++retrains;
  }
  stop = true;
  for (auto& t : threads) t.join();
  INFO("responses " << responses << ", events " << ingested << ", retrains " << retrains);
  CHECK(errors == 0);
  CHECK(version_regressions == 0);
  CHECK(bad_items == 0);
  CHECK(responses > 0);
  CHECK(ingested > 0);
  CHECK(rec->stats().retrains == retrains + 1);
}

// ---- persistence -------------------------------------------------------------------------------

using tailor::test::read_bytes;
using tailor::Error;
using tailor::ErrorCode;
using tailor::Pseudonymizer;
using tailor::PseudonymizerOptions;

TEST_CASE("Recommender: save and load give the same recommendations", "[recommender][persistence]") {
  const auto rec = trained();
  const std::string path = tailor::test::scratch_dir() + "/rec.tlm";
  rec->save(path);
  Recommender loaded(small_options());
  loaded.load(path);
  CHECK(loaded.catalog()->size() == rec->catalog()->size());
  // The same trained user vector, and the same answers for known shoppers: the file keeps each
  // shopper's trained recent events (section 'profiles'), which the ranker uses as sources.
  const std::string user = busiest_customer(retail().train);
  REQUIRE(loaded.user_vector(user));
  CHECK(loaded.user_vector(user)->isApprox(*rec->user_vector(user)));
  {
    std::set<std::string> users;
    for (const auto& e : retail().train) {
      if (!e.user.empty() && users.size() < 40) users.insert(e.user);
    }
    for (const auto& u : users) {
      INFO("user " << u);
      RecommendRequest known;
      known.user = u;
      known.k = 10;
      const auto x = rec->recommend(known);
      const auto y = loaded.recommend(known);
      REQUIRE(x.items.size() == y.items.size());
      for (std::size_t i = 0; i < x.items.size(); ++i) {
        CHECK(x.items[i].item == y.items[i].item);
        CHECK(x.items[i].score == Approx(y.items[i].score).epsilon(1e-5));
        CHECK(x.items[i].reason == y.items[i].reason);
      }
    }
  }
  for (Recommender* r : {rec.get(), &loaded}) {
    for (int i = 0; i < 2; ++i) {
      Event e;
      e.session = "same";
      e.item = retail().items[static_cast<std::size_t>(10 + i)].id;
      e.timestamp = 1301700000000 + i;
      r->ingest(e);
    }
  }
  RecommendRequest req;
  req.session = "same";
  req.k = 10;
  const auto a = rec->recommend(req);
  const auto b = loaded.recommend(req);
  REQUIRE(a.items.size() == b.items.size());
  for (std::size_t i = 0; i < a.items.size(); ++i) {
    CHECK(a.items[i].item == b.items[i].item);
    CHECK(a.items[i].score == Approx(b.items[i].score).epsilon(1e-5));
    CHECK(a.items[i].reason == b.items[i].reason);
  }
  const auto sa = rec->similar_items(a.items[0].item, 5);
  const auto sb = loaded.similar_items(a.items[0].item, 5);
  REQUIRE(sa.items.size() == sb.items.size());
  for (std::size_t i = 0; i < sa.items.size(); ++i) CHECK(sa.items[i].item == sb.items[i].item);
  // Only into a fresh Recommender.
  CHECK_THROWS_AS(loaded.load(path), tailor::Error);
}

TEST_CASE("Recommender: a file saved after erase_user holds no trace of the user",
          "[recommender][persistence]") {
  const auto rec = trained();
  const std::string user = busiest_customer(retail().train);
  const std::string path = tailor::test::scratch_dir() + "/erased.tlm";
  rec->save(path);
  CHECK(read_bytes(path).find(user) != std::string::npos);
  rec->erase_user(user);
  rec->save(path);
  CHECK(read_bytes(path).find(user) == std::string::npos);
  Recommender loaded(small_options());
  loaded.load(path);
  CHECK_FALSE(tailor::RecommenderTestAccess::parts(loaded)->users.find(user));
  CHECK_FALSE(loaded.user_vector(user));
}

TEST_CASE("Recommender: erase_user leaves no trace in the log, and an older model is cleaned",
          "[recommender][persistence][erasure]") {
  const std::string dir = tailor::test::scratch_dir();
  const std::string model = dir + "/before-erasure.tlm", log = dir + "/erasure.log";
  std::remove(log.c_str());
  const std::string user = busiest_customer(retail().train);
  {
    Recommender rec(small_options());
    rec.open_event_log(log);
    rec.upsert_items(retail().items);
    rec.ingest(retail().train);
    rec.retrain();
    rec.save(model);  // holds the user's factors and history
    CHECK(read_bytes(log).find(user) != std::string::npos);
    CHECK(rec.erase_user(user) > 0);
    CHECK_FALSE(rec.user_vector(user));
    // The log was compacted before erase_user returned: neither the ID nor its events remain.
    CHECK(read_bytes(log).find(user) == std::string::npos);
  }
  CHECK(read_bytes(model).find(user) != std::string::npos);
  // A restart from the model saved before the erasure: the digest tombstone hides the user.
  Recommender rec(small_options());
  rec.load(model);
  REQUIRE(tailor::RecommenderTestAccess::parts(rec)->users.find(user));
  rec.open_event_log(log);
  CHECK_FALSE(rec.user_vector(user));
  RecommendRequest req;
  req.user = user;
  const auto anonymous = rec.recommend(req);
  CHECK(anonymous.items.size() == req.k);  // served, as a shopper never seen
  // The model saved after this restart holds no trace of the user either.
  const std::string cleaned = dir + "/after-erasure.tlm";
  rec.retrain();
  rec.save(cleaned);
  CHECK(read_bytes(cleaned).find(user) == std::string::npos);
}

TEST_CASE("Recommender: pseudonymization at the door keeps raw user IDs out of the log and "
          "the model, and serves the same lists",
          "[recommender][persistence][privacy]") {
  const std::string dir = tailor::test::scratch_dir();
  const std::string model = dir + "/pseudonymized.tlm", log = dir + "/pseudonymized.log";
  const std::string raw_model = dir + "/raw-ids.tlm", raw_log = dir + "/raw-ids.log";
  std::remove(log.c_str());
  std::remove(raw_log.c_str());
  PseudonymizerOptions key;
  key.key = std::string(32, 'k');
  key.key_version = "k1";
  RecommenderOptions with_key = small_options();
  with_key.pseudonymize = key;
  const std::string user = busiest_customer(retail().train);
  const std::string pseudonym = Pseudonymizer(key).pseudonymize(user);

  Recommender plain(small_options()), keyed(with_key);
  plain.open_event_log(raw_log);
  keyed.open_event_log(log);
  for (Recommender* rec : {&plain, &keyed}) {
    rec->upsert_items(retail().items);
    rec->ingest(retail().train);
    rec->retrain();
  }
  // The pseudonym is a bijection on the IDs seen, in the same order: the same lists and scores.
  RecommendRequest req;
  req.user = user;
  req.k = 20;
  const auto a = plain.recommend(req), b = keyed.recommend(req);
  REQUIRE(a.items.size() == b.items.size());
  for (std::size_t i = 0; i < a.items.size(); ++i) {
    CHECK(a.items[i].item == b.items[i].item);
    CHECK(a.items[i].score == Approx(b.items[i].score).margin(1e-5));
  }
  REQUIRE(keyed.user_vector(user));
  plain.save(raw_model);
  keyed.save(model);
  for (const std::string& path : {model, log}) {
    const std::string bytes = read_bytes(path);
    INFO(path);
    CHECK(bytes.find(user) == std::string::npos);
    CHECK(bytes.find(pseudonym) != std::string::npos);
  }
  CHECK(read_bytes(raw_model).find(user) != std::string::npos);  // the scan can see an ID

  // A model or log of raw IDs, or of another key version, is refused (the model) or reported
  // event by event (the log), never mixed in.
  {
    Recommender fresh(with_key);
    try {
      fresh.load(raw_model);
      FAIL("a model of raw IDs was loaded into a pseudonymizing Recommender");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::invalid_argument);
      CHECK_THAT(e.what(), Catch::Contains("section 'users'") && Catch::Contains("k1"));
      CHECK(std::string(e.what()).find(user) == std::string::npos);
    }
    const std::string raw_copy = dir + "/raw-ids-copy.log";  // `plain` holds raw_log's lock
    tailor::test::write_bytes(raw_copy, read_bytes(raw_log));
    const auto recovery = fresh.open_event_log(raw_copy);
    CHECK(recovery.skipped_events == retail().train.size() -
                                         static_cast<std::size_t>(std::count_if(
                                             retail().train.begin(), retail().train.end(),
                                             [](const Event& e) { return e.user.empty(); })));
    CHECK_THAT(recovery.skipped_detail, Catch::Contains("not a pseudonym of key version 'k1'"));
  }
  {
    RecommenderOptions other = with_key;
    other.pseudonymize->key_version = "k2";
    Recommender fresh(other);
    CHECK_THROWS_AS(fresh.load(model), Error);
  }
  // The same key restores the model and the log; erasure takes the raw ID.
  Recommender restored(with_key);
  restored.load(model);
  const std::string log_copy = dir + "/pseudonymized-copy.log";  // `keyed` holds log's lock
  tailor::test::write_bytes(log_copy, read_bytes(log));
  CHECK(restored.open_event_log(log_copy).skipped_events == 0);
  CHECK(restored.recommend(req).items.front().item == b.items.front().item);
  CHECK(keyed.erase_user(user) > 0);
  CHECK_FALSE(keyed.user_vector(user));
  CHECK(read_bytes(log).find(pseudonym) == std::string::npos);

  // Bad key options are refused at construction, naming the option and never the key.
  RecommenderOptions short_key = small_options();
  short_key.pseudonymize = PseudonymizerOptions{};
  short_key.pseudonymize->key = "secret-but-short";
  try {
    Recommender bad(short_key);
    FAIL("a 16-byte key was accepted");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("RecommenderOptions::pseudonymize"));
    CHECK(std::string(e.what()).find("secret-but-short") == std::string::npos);
  }
}

TEST_CASE("Recommender: damaged model files are refused with a typed error",
          "[recommender][persistence]") {
  const auto rec = trained();
  const std::string path = tailor::test::scratch_dir() + "/damaged.tlm";
  rec->save(path);
  const std::string bytes = read_bytes(path);
  // Truncations at a spread of lengths and single-byte flips at a spread of offsets: always a
  // typed error, and the Recommender stays fresh (the next good load works).
  std::uint64_t state = 12345;
  for (int trial = 0; trial < 60; ++trial) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    std::string bad = bytes;
    if (trial % 2 == 0) {
      bad.resize(static_cast<std::size_t>(state % bytes.size()));
    } else {
      bad[static_cast<std::size_t>(state % bytes.size())] ^= static_cast<char>(1 + (state >> 40) % 255);
    }
    const std::string bad_path = tailor::test::scratch_dir() + "/bad.tlm";
    {
      std::ofstream out(bad_path, std::ios::binary | std::ios::trunc);
      out.write(bad.data(), static_cast<std::streamsize>(bad.size()));
    }
    Recommender fresh(small_options());
    try {
      fresh.load(bad_path);
      FAIL("a damaged file loaded (trial " << trial << ")");
    } catch (const tailor::Error& e) {
      CHECK((e.code() == ErrorCode::corrupt_file || e.code() == ErrorCode::unsupported_version));
    }
    CHECK(fresh.model_version() == 0);
  }
  // A failed save (missing directory) is an io_error and the old file and the model stay.
  try {
    rec->save(tailor::test::scratch_dir() + "/no-such-dir/x.tlm");
    FAIL("no exception");
  } catch (const tailor::Error& e) {
    CHECK(e.code() == ErrorCode::io_error);
  }
  CHECK(read_bytes(path) == bytes);
  RecommendRequest req;
  req.user = busiest_customer(retail().train);
  CHECK_FALSE(rec->recommend(req).items.empty());
}

TEST_CASE("Recommender: restart from model file plus event log", "[recommender][persistence]") {
  const std::string dir = tailor::test::scratch_dir();
  const std::string model = dir + "/restart.tlm", log = dir + "/restart.log";
  std::remove(log.c_str());
  const std::string user = busiest_customer(retail().train);
  Event late;
  late.user = user;
  late.item = retail().items[7].id;
  late.type = EventType::add_to_cart;
  late.timestamp = 1301700000000;
  Event gone = late;
  gone.user = "shopper-to-forget";
  tailor::Vector before;
  {
    Recommender rec(small_options());
    rec.open_event_log(log);
    rec.upsert_items(retail().items);
    rec.ingest(retail().train);
    rec.retrain();
    rec.save(model);
    rec.ingest(late);  // after the model: only in the log
    rec.ingest(gone);
    rec.erase_user("shopper-to-forget");
    before = *rec.user_vector(user);
  }
  Recommender rec(small_options());
  rec.load(model);
  const auto recovery = rec.open_event_log(log);
  CHECK(recovery.tail == tailor::LogTail::clean);
  CHECK(recovery.skipped_events == 0);
  CHECK(rec.stats().events_ingested == retail().train.size() + 1);  // the erased event is gone
  const auto after = rec.user_vector(user);
  REQUIRE(after);
  CHECK(after->isApprox(before, 1e-5f));  // the late event is folded in again
  CHECK_FALSE(rec.user_vector("shopper-to-forget"));
  RecommendRequest req;
  req.user = user;
  for (const auto& r : rec.recommend(req).items) CHECK(r.item != late.item);
}

// ---- lifecycle ---------------------------------------------------------------------------------

TEST_CASE("Recommender: the guard keeps a worse candidate out, rollback restores the previous model",
          "[recommender][lifecycle]") {
  RecommenderOptions o = small_options();
  o.guard_holdout = 0.2;
  o.guard.margin = 0.02;
  Recommender rec(o);
  rec.upsert_items(retail().items);
  const auto& train = retail().train;
  const std::size_t half = train.size() / 2;
  rec.ingest(std::vector<Event>(train.begin(), train.begin() + static_cast<std::ptrdiff_t>(half)));
  rec.retrain();  // no serving model yet: published without a guard
  const auto first = rec.model_version();
  const std::string user = busiest_customer(train);
  const auto first_parts = tailor::RecommenderTestAccess::parts(rec);

  SECTION("a candidate trained on scrambled events is rejected") {
    // Scrambled: each real event's item replaced by a random one (structure destroyed), three
    // times as many as the real ones, then the real second half, which the guard holds out.
    std::uint64_t state = 99;
    std::vector<Event> noise;
    for (int rep = 0; rep < 3; ++rep) {
      for (std::size_t i = 0; i < half; ++i) {
        Event e = train[i];
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        e.item = retail().items[(state >> 33) % retail().items.size()].id;
        noise.push_back(std::move(e));
      }
    }
    rec.ingest(noise);
    std::vector<Event> second(train.begin() + static_cast<std::ptrdiff_t>(half), train.end());
    // The guard holds out the newest 20%: keep x real events with x = 0.2 (total + x).
    const std::size_t total = half + noise.size();
    second.resize(std::min(second.size(), total / 4));
    rec.ingest(second);
    const auto report = rec.retrain();
    REQUIRE(report.guard);
    INFO(report.guard->reason);
    CHECK_FALSE(report.guard->accept);
    CHECK_FALSE(report.published);
    CHECK(rec.model_version() == first);
    CHECK(report.guard->candidate_metric < report.guard->serving_metric);
  }
  SECTION("a candidate trained on more real events is accepted; rollback swaps back and forth") {
    rec.ingest(std::vector<Event>(train.begin() + static_cast<std::ptrdiff_t>(half), train.end()));
    const auto report = rec.retrain();
    REQUIRE(report.guard);
    INFO(report.guard->reason);
    CHECK(report.guard->accept);
    CHECK(report.published);
    const auto second = rec.model_version();
    CHECK(second > first);
    const auto second_parts = tailor::RecommenderTestAccess::parts(rec);
    const auto second_vector = rec.user_vector(user);
    REQUIRE(rec.rollback());
    CHECK(rec.model_version() > second);
    CHECK(tailor::RecommenderTestAccess::parts(rec) == first_parts);
    RecommendRequest req;
    req.user = user;
    CHECK(rec.recommend(req).items.size() == 10);
    REQUIRE(rec.rollback());
    CHECK(tailor::RecommenderTestAccess::parts(rec) == second_parts);
    CHECK(rec.user_vector(user)->isApprox(*second_vector));
  }
}

TEST_CASE("Recommender: background retraining follows the policy", "[recommender][lifecycle]") {
  Recommender rec(small_options());
  rec.upsert_items(retail().items);
  rec.ingest(std::vector<Event>(retail().train.begin(), retail().train.begin() + 20000));
  tailor::RetrainPolicyOptions po;
  po.every_events = 5000;
  po.every_ms = 0;
  po.on_drift = false;
  po.max_metric_drop = 0.0;
  po.max_incremental_fraction = 0.0;
  po.min_interval_ms = 0;
  std::mutex m;
  std::vector<std::uint64_t> versions;
  rec.start_auto_retrain(tailor::RetrainPolicy(po), std::chrono::milliseconds(20),
                         [&](const tailor::RetrainReport* r, const std::string& error) {
                           std::lock_guard<std::mutex> lock(m);
                           if (r != nullptr) versions.push_back(r->model_version);
                           CHECK(error.empty());
                         });
  auto wait_for = [&](std::size_t n) {
    for (int i = 0; i < 3000; ++i) {
      {
        std::lock_guard<std::mutex> lock(m);
        if (versions.size() >= n) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  REQUIRE(wait_for(1));  // no model yet: the policy retrains at once
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  {
    std::lock_guard<std::mutex> lock(m);
    CHECK(versions.size() == 1);  // fewer than 5000 new events: no retrain
  }
  rec.ingest(std::vector<Event>(retail().train.begin() + 20000, retail().train.begin() + 26000));
  REQUIRE(wait_for(2));
  rec.stop_auto_retrain();
  std::lock_guard<std::mutex> lock(m);
  CHECK(versions[1] > versions[0]);
}

// ---- experiments -------------------------------------------------------------------------------

TEST_CASE("Recommender: experiments assign variants, apply their rules and track outcomes",
          "[recommender][experiment]") {
  const auto rec = trained();
  const auto experiments = std::make_shared<const tailor::ExperimentSet>(
      tailor::ExperimentSet::from_json(nlohmann::json::parse(R"({
        "hash_key": "shop-1",
        "experiments": [{"name": "home", "control": "A",
          "variants": [{"name": "A", "share": 0.5},
                       {"name": "B", "share": 0.5, "config": {"k": 4, "rules": {"one_per_family": true}}}]}]})")));
  auto tracker = std::make_shared<tailor::OutcomeTracker>();
  rec->set_experiments(experiments, tracker);
  std::map<std::string, int> seen;
  std::string clicked_variant;
  for (std::size_t i = 0; i < retail().train.size() && seen.size() < 2; i += 501) {
    const Event& e = retail().train[i];
    RecommendRequest req;
    req.user = e.user;
    req.session = e.session;
    req.k = 8;
    const auto resp = rec->recommend(req);
    REQUIRE(resp.assignments.size() == 1);
    const std::string variant = resp.assignments[0].variant;
    CHECK(!resp.recommendation_id.empty());
    CHECK(resp.items.size() == (variant == "B" ? 4u : 8u));
    CHECK(rec->recommend(req).assignments[0].variant == variant);  // sticky
    if (++seen[variant] == 1 && clicked_variant.empty() && !resp.items.empty()) {
      Event click;
      click.user = e.user;
      click.session = e.session;
      click.item = resp.items[0].item;
      click.type = EventType::click;
      click.timestamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
      rec->ingest(click);
      clicked_variant = variant;
    }
  }
  CHECK(seen.size() == 2);
  const auto metrics = tracker->metrics("home");
  const auto* m = metrics.find(clicked_variant);
  REQUIRE(m != nullptr);
  CHECK(m->clicks == 1);
  CHECK(m->exposures >= 1);
  // A bad variant config is a typed error naming the key.
  rec->set_experiments(std::make_shared<const tailor::ExperimentSet>(
      tailor::ExperimentSet::from_json(nlohmann::json::parse(R"({"experiments": [{"name": "x",
        "variants": [{"name": "a", "share": 0.5, "config": {"rules": {"one_per_family": 3}}},
                     {"name": "b", "share": 0.5, "config": {"rules": {"one_per_family": 3}}}]}]})"))));
  RecommendRequest req;
  req.user = busiest_customer(retail().train);
  try {
    (void)rec->recommend(req);
    FAIL("no exception");
  } catch (const tailor::Error& e) {
    CHECK(std::string(e.what()).find("rules.one_per_family") != std::string::npos);
  }
  rec->set_experiments(nullptr);
  CHECK(rec->recommend(req).assignments.empty());
}

TEST_CASE("Recommender: drift monitoring fires when the traffic changes", "[recommender][lifecycle]") {
  const auto rec = trained();  // the retrain set the reference: the training window
  const auto calm = rec->drift_report();
  CHECK_FALSE(calm.drifted);
  // A week of nothing but views of items the reference never saw.
  std::vector<Event> shifted;
  for (int i = 0; i < 5000; ++i) {
    Event e;
    e.user = "drift-" + std::to_string(i % 300);
    e.item = "NEW-" + std::to_string(i % 700);
    e.type = EventType::view;
    e.timestamp = 1301616000000 + static_cast<tailor::Timestamp>(i) * 100000;
    shifted.push_back(std::move(e));
  }
  rec->ingest(shifted);
  const auto report = rec->drift_report();
  INFO(report.to_json().dump());
  CHECK(report.drifted);
  CHECK_FALSE(report.reasons.empty());
  RecommenderOptions off = small_options();
  off.monitor_drift = false;
  CHECK_THROWS_AS(Recommender(off).drift_report(), tailor::Error);
}

TEST_CASE("Recommender: EASE joins the blend, is saved and loaded, and is skipped above max_items",
          "[recommender][ease]") {
  RecommenderOptions o = small_options();
  o.ease.enabled = true;
  Recommender rec(o);
  rec.upsert_items(retail().items);
  rec.ingest(retail().train);
  const auto report = rec.retrain();
  CHECK(report.ease);
  CHECK(std::any_of(report.phases.begin(), report.phases.end(),
                    [](const auto& p) { return p.first == "ease"; }));
  const auto parts = tailor::RecommenderTestAccess::parts(rec);
  REQUIRE(parts->ease.fitted());
  CHECK(parts->ease.n_items() == rec.catalog()->size());

  // Known shoppers get EASE candidates, explained by one of their own items.
  std::set<std::string> users;
  for (const auto& e : retail().train) {
    if (!e.user.empty() && users.size() < 30) users.insert(e.user);
  }
  std::size_t from_ease = 0;
  for (const auto& u : users) {
    RecommendRequest req;
    req.user = u;
    req.k = 10;
    for (const auto& r : rec.recommend(req).items) {
      if (!tailor::has_source(r.sources, tailor::Source::ease)) continue;
      ++from_ease;
      if (!r.reason_item.empty()) CHECK(rec.item_index(r.reason_item));
    }
  }
  CHECK(from_ease > 30);

  const std::string path = tailor::test::scratch_dir() + "/ease.tlm";
  rec.save(path);
  Recommender loaded(o);
  loaded.load(path);
  CHECK(tailor::RecommenderTestAccess::parts(loaded)->ease.weights() == parts->ease.weights());
  for (const auto& u : users) {
    RecommendRequest req;
    req.user = u;
    const auto a = rec.recommend(req), b = loaded.recommend(req);
    REQUIRE(a.items.size() == b.items.size());
    for (std::size_t i = 0; i < a.items.size(); ++i) CHECK(a.items[i].item == b.items[i].item);
  }

  // Above max_items the fit is skipped, not attempted.
  o.ease.max_items = 100;
  Recommender big(o);
  big.upsert_items(retail().items);
  big.ingest(std::vector<Event>(retail().train.begin(), retail().train.begin() + 5000));
  CHECK_FALSE(big.retrain().ease);
  CHECK_FALSE(tailor::RecommenderTestAccess::parts(big)->ease.fitted());
}

// A purchase without value or session, for the synthetic recency cases.
static Event purchase_at(const std::string& user, const std::string& item, tailor::Timestamp t) {
  Event e;
  e.user = user;
  e.item = item;
  e.type = EventType::purchase;
  e.timestamp = t;
  return e;
}

TEST_CASE("Recommender: time decay ages events from each retrain's newest event",
          "[recommender][recency]") {
  constexpr tailor::Timestamp kDay = 86400000LL;
  const tailor::Timestamp t0 = 1700000000000LL;
  RecommenderOptions o = small_options();
  o.use_content = false;
  o.matrix.weights.half_life_days = 30.0;  // no reference_time: the newest event is the reference
  REQUIRE_NOTHROW(o.validate());
  Recommender rec(o);
  std::vector<Event> events;
  auto buy = [&](const std::string& user, const std::string& item, tailor::Timestamp t) {
    events.push_back(purchase_at(user, item, t));
  };
  for (int u = 0; u < 8; ++u) {
    for (int i = 0; i < 6; ++i) buy("u" + std::to_string(u), "i" + std::to_string((u + i) % 10), t0 + i * kDay);
  }
  buy("probe", "i0", t0);             // 60 days before the newest event: weight 8 / 4
  buy("probe", "i1", t0 + 60 * kDay);  // the newest event: weight 8
  rec.ingest(events);
  rec.retrain();
  auto weight_of = [&](const Recommender& r, const std::string& item) {
    const auto parts = tailor::RecommenderTestAccess::parts(r);
    const auto user = parts->users.find("probe");
    REQUIRE(user);
    return parts->weights.coeff(static_cast<Eigen::Index>(*user),
                                static_cast<Eigen::Index>(*r.item_index(item)));
  };
  CHECK(weight_of(rec, "i1") == Approx(8.0f));
  CHECK(weight_of(rec, "i0") == Approx(2.0f));

  // Thirty days later the reference moves: the old purchase halves again, the newer one halves.
  events.clear();
  buy("other", "i5", t0 + 90 * kDay);
  rec.ingest(events);
  rec.retrain();
  CHECK(weight_of(rec, "i1") == Approx(4.0f));
  CHECK(weight_of(rec, "i0") == Approx(1.0f));

  // A fixed reference stays where the host put it.
  RecommenderOptions fixed = o;
  fixed.matrix.weights.reference_time = t0 + 60 * kDay;
  Recommender pinned(fixed);
  events.clear();
  for (int u = 0; u < 8; ++u) {
    for (int i = 0; i < 6; ++i) buy("u" + std::to_string(u), "i" + std::to_string((u + i) % 10), t0 + i * kDay);
  }
  buy("probe", "i0", t0);
  buy("probe", "i1", t0 + 60 * kDay);
  buy("other", "i5", t0 + 90 * kDay);
  pinned.ingest(events);
  pinned.retrain();
  CHECK(weight_of(pinned, "i1") == Approx(8.0f));
  CHECK(weight_of(pinned, "i0") == Approx(2.0f));
}

TEST_CASE("Recommender: popularity_half_life_days makes popularity follow what sells now",
          "[recommender][recency]") {
  constexpr tailor::Timestamp kDay = 86400000LL;
  const tailor::Timestamp t0 = 1700000000000LL;
  std::vector<Event> events;
  auto buy = [&](const std::string& user, const std::string& item, tailor::Timestamp t) {
    events.push_back(purchase_at(user, item, t));
  };
  // "evergreen": 12 shoppers, 200 days ago; "now": 5 shoppers in the last two days (one of them
  // twice, counted once); fillers bought once each.
  for (int u = 0; u < 12; ++u) buy("a" + std::to_string(u), "evergreen", t0);
  for (int u = 0; u < 5; ++u) buy("b" + std::to_string(u), "now", t0 + (199 + u % 2) * kDay);
  buy("b0", "now", t0 + 200 * kDay);
  for (int f = 0; f < 20; ++f) buy("c" + std::to_string(f), "filler" + std::to_string(f), t0 + 100 * kDay);

  auto top_for_newcomer = [&](double half_life_days) {
    RecommenderOptions o = small_options();
    o.use_content = false;
    o.ranker.weight_trending = 0.0f;  // popularity alone ranks a newcomer's list
    o.popularity_half_life_days = half_life_days;
    Recommender rec(o);
    rec.ingest(events);
    rec.retrain();
    RecommendRequest req;
    req.user = "newcomer";
    req.k = 2;
    const auto out = rec.recommend(req);
    REQUIRE(!out.items.empty());
    return out.items.front().item;
  };
  CHECK(top_for_newcomer(0.0) == "evergreen");  // shoppers per item over all events
  CHECK(top_for_newcomer(7.0) == "now");        // 5 recent shoppers outweigh 12 from 200 days ago

  RecommenderOptions bad = small_options();
  bad.popularity_half_life_days = -1.0;
  CHECK_THROWS_AS(bad.validate(), tailor::Error);
}

TEST_CASE("Recommender: blend learning at retrain learns on a validation period and is saved",
          "[recommender][blend]") {
  RecommenderOptions o = small_options();
  o.blend.validation_days = 28.0;
  o.blend.min_users = 50;
  o.blend.max_users = 150;
  o.blend.passes = 1;
  Recommender rec(o);
  rec.upsert_items(retail().items);
  rec.ingest(retail().train);
  const auto report = rec.retrain();
  INFO(report.blend_note);
  REQUIRE(report.blend);
  CHECK(report.blend_cases >= 50);
  CHECK(report.blend_cases <= 150);
  CHECK(report.blend->ndcg >= report.blend->start_ndcg);
  CHECK(std::any_of(report.phases.begin(), report.phases.end(),
                    [](const auto& p) { return p.first == "blend"; }));
  const auto parts = tailor::RecommenderTestAccess::parts(rec);
  REQUIRE(parts->ranker);
  CHECK(tailor::RecommenderTestAccess::snapshot(rec)->ranker->options().weight_knn ==
        report.blend->options.weight_knn);

  // The learned blend travels with the model file.
  const std::string path = tailor::test::scratch_dir() + "/blend.tlm";
  rec.save(path);
  Recommender loaded(o);
  loaded.load(path);
  const auto loaded_parts = tailor::RecommenderTestAccess::parts(loaded);
  REQUIRE(loaded_parts->ranker);
  CHECK(loaded_parts->ranker->weight_popular == parts->ranker->weight_popular);
  CHECK(loaded_parts->ranker->user_half == parts->ranker->user_half);

  // Too few returning shoppers: the options' blend is kept, and the report says why.
  o.blend.min_users = 1000000;
  o.blend.max_users = 1000000;
  Recommender few(o);
  few.upsert_items(retail().items);
  few.ingest(retail().train);
  const auto skipped = few.retrain();
  CHECK_FALSE(skipped.blend);
  CHECK(skipped.blend_note.find("blend.min_users") != std::string::npos);
  CHECK_FALSE(tailor::RecommenderTestAccess::parts(few)->ranker);
}

// Counts what a Recommender reports, from any thread.
struct CountingObserver : tailor::RecommenderObserver {
  std::mutex mutex;
  std::map<std::string, std::pair<int, int>> requests;  // operation -> (ok, failed)
  std::size_t events = 0;
  int retrain_starts = 0;
  std::vector<std::string> retrain_ends;  // "v<version>" or the error
  std::vector<std::string> log_errors;
  int drift_reports = 0;

  void on_request(tailor::Operation op, double seconds, bool ok) override {
    std::lock_guard<std::mutex> lock(mutex);
    CHECK(seconds >= 0.0);
    auto& c = requests[tailor::operation_name(op)];
    (ok ? c.first : c.second) += 1;
  }
  void on_events(std::size_t n) override {
    std::lock_guard<std::mutex> lock(mutex);
    events += n;
  }
  void on_retrain_start() override {
    std::lock_guard<std::mutex> lock(mutex);
    ++retrain_starts;
  }
  void on_retrain_end(const tailor::RetrainReport* report, const std::string& error) override {
    std::lock_guard<std::mutex> lock(mutex);
    retrain_ends.push_back(report ? "v" + std::to_string(report->model_version) : error);
  }
  void on_event_log_error(const std::string& message) override {
    std::lock_guard<std::mutex> lock(mutex);
    log_errors.push_back(message);
  }
  void on_drift(const tailor::DriftReport&) override {
    std::lock_guard<std::mutex> lock(mutex);
    ++drift_reports;
  }
};

TEST_CASE("Recommender: an observer hears requests, ingests, retrains, drift and log failures",
          "[recommender][observer]") {
  constexpr tailor::Timestamp kDay = 86400000LL;
  const tailor::Timestamp t0 = 1700000000000LL;
  RecommenderOptions o = small_options();
  o.use_content = false;
  Recommender rec(o);
  auto observer = std::make_shared<CountingObserver>();
  rec.set_observer(observer);
  CHECK_THROWS_AS(rec.retrain(), tailor::Error);  // no events yet: reported as an error
  std::vector<Event> events;
  for (int u = 0; u < 12; ++u) {
    for (int i = 0; i < 5; ++i) {
      events.push_back(purchase_at("u" + std::to_string(u), "i" + std::to_string((u + i) % 9), t0 + i * kDay));
    }
  }
  rec.ingest(events);
  rec.ingest(purchase_at("u0", "i8", t0 + 6 * kDay));
  const auto first = rec.retrain();
  RecommendRequest req;
  req.user = "u1";
  req.k = 3;
  (void)rec.recommend(req);
  (void)rec.recommend_batch({req, req}, 2);
  (void)rec.similar_items("i1", 3);
  (void)rec.frequently_bought_together("i1", 3);
  (void)rec.trending(3);
  CHECK_THROWS_AS(rec.similar_items("no-such-item", 3), tailor::Error);
  req.k = 0;
  CHECK_THROWS_AS(rec.recommend(req), tailor::Error);
  const auto second = rec.retrain();
  {
    std::lock_guard<std::mutex> lock(observer->mutex);
    CHECK(observer->requests["recommend"] == std::make_pair(3, 1));
    CHECK(observer->requests["similar_items"] == std::make_pair(1, 1));
    CHECK(observer->requests["bought_together"] == std::make_pair(1, 0));
    CHECK(observer->requests["trending"] == std::make_pair(1, 0));
    CHECK(observer->events == events.size() + 1);
    CHECK(observer->retrain_starts == 3);
    REQUIRE(observer->retrain_ends.size() == 3);
    CHECK_THAT(observer->retrain_ends[0], Catch::Contains("event"));
    CHECK(observer->retrain_ends[1] == "v" + std::to_string(first.model_version));
    CHECK(observer->retrain_ends[2] == "v" + std::to_string(second.model_version));
    CHECK(observer->drift_reports == 1);  // the second retrain replaced a reference
    CHECK(observer->log_errors.empty());
  }

  SECTION("a failing event log is reported, and the ingest throws") {
    tailor::FaultInjectingFileOps ops;
    Recommender logged(o);
    logged.set_observer(observer);
    tailor::EventLogOptions lo;
    lo.file_ops = &ops;
    const std::string path = tailor::test::scratch_dir() + "/observer.log";
    std::remove(path.c_str());
    logged.open_event_log(path, lo);
    ops.inject({tailor::FileOpKind::fsync, EIO, 0, tailor::InjectedFault::kForever});
    CHECK_THROWS_AS(logged.ingest(purchase_at("u1", "i1", t0)), tailor::Error);
    std::lock_guard<std::mutex> lock(observer->mutex);
    REQUIRE(observer->log_errors.size() == 1);
    CHECK_THAT(observer->log_errors[0], Catch::Contains("fsync"));
    CHECK(observer->events == events.size() + 1);  // nothing recorded
  }
  SECTION("a throwing observer changes nothing") {
    struct Throwing : tailor::RecommenderObserver {
      void on_request(tailor::Operation, double, bool) override { throw std::runtime_error("x"); }
      void on_events(std::size_t) override { throw 42; }
    };
    rec.set_observer(std::make_shared<Throwing>());
    req.k = 3;
    CHECK(rec.recommend(req).items.size() == 3);
    CHECK_NOTHROW(rec.ingest(purchase_at("u2", "i3", t0 + 7 * kDay)));
    rec.set_observer(nullptr);
    CHECK(rec.recommend(req).items.size() == 3);
  }
}
