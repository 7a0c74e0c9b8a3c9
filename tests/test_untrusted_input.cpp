// Untrusted input never breaks the Recommender: crafted model files (checksums valid), absurd
// event values, oversized requests and colliding IDs each get a typed error or a bounded answer,
// never a crash, a read past a buffer, a NaN score or memory that grows with a request parameter.
// Every case here is a regression test of a defect found by adversarial runs.
#include <cmath>
#include <functional>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"
#include "persistence/encoding.hpp"
#include "recommender_fixtures.hpp"
#include "reseal.hpp"
#include "tailor/core/error.hpp"
#include "tailor/persistence/event_log.hpp"
#include "tailor/ranking/rules.hpp"
#include "tailor/serving/recommender.hpp"

using tailor::AnnIndexState;
using tailor::ErrorCode;
using tailor::Event;
using tailor::EventType;
using tailor::RecommendRequest;
using tailor::Recommender;
using tailor::RowMatrix;
using tailor::RecommenderOptions;
using tailor::test::read_bytes;
using tailor::test::write_bytes;
using tailor::test::retail;
using tailor::test::small_options;
using tailor::test::trained;
using tailor::test::write_bytes;

namespace {

// The bytes of a model file saved by a trained Recommender (with content and bridge).
const std::string& saved_model() {
  static const std::string bytes = [] {
    const auto rec = trained();
    const std::string path = tailor::test::scratch_dir() + "/untrusted-base.tlm";
    rec->save(path);
    return read_bytes(path);
  }();
  return bytes;
}

// Loads `bytes` into a fresh Recommender; returns the error (or fails when it loads).
tailor::Error load_error(const std::string& bytes, const std::string& name) {
  const std::string path = tailor::test::scratch_dir() + "/" + name + ".tlm";
  write_bytes(path, bytes);
  Recommender fresh(small_options());
  try {
    fresh.load(path);
  } catch (const tailor::Error& e) {
    CHECK(fresh.model_version() == 0);  // nothing was published
    return e;
  }
  FAIL("the crafted file loaded: " << name);
  return tailor::Error(ErrorCode::invalid_argument, "unreachable");
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string best_user() { return tailor::test::busiest_customer(retail().train); }

}  // namespace

TEST_CASE("A model file whose ANN dimension differs from the ALS factors is refused",
          "[untrusted][regression]") {
  // Before: the file loaded, and recommend() scored a short user vector against long index rows.
  for (const double scale : {0.5, 2.0, 64.0}) {
    const std::string bad = tailor::test::reseal_as<AnnIndexState>(
        saved_model(), "ann", [scale](AnnIndexState& s) {
          const auto d = static_cast<Eigen::Index>(std::max(1.0, s.dim * scale));
          s.base = std::make_shared<const RowMatrix>(RowMatrix::Ones(s.base->rows(), d));
          s.side_vectors = RowMatrix::Ones(s.side_vectors.rows(), d);
          s.dim = static_cast<std::size_t>(d);
        });
    const tailor::Error e = load_error(bad, "ann-dim");
    INFO(e.what());
    CHECK(e.code() == ErrorCode::corrupt_file);
    CHECK(contains(e.what(), "section 'ann' has dimension"));
  }
}

TEST_CASE("Non-finite stored vectors are refused at load as corrupt files",
          "[untrusted][regression]") {
  // Before: NaN cold-start rows loaded and recommend() returned NaN scores; non-finite content
  // vectors threw invalid_argument instead of corrupt_file.
  for (const std::string tag : {"content.cold", "content.vectors", "als.item_factors"}) {
    for (const float poison : {std::numeric_limits<float>::quiet_NaN(),
                               std::numeric_limits<float>::infinity()}) {
      const std::string bad = tailor::test::reseal_as<RowMatrix>(
          saved_model(), tag, [poison](RowMatrix& m) { m(m.rows() - 1, 0) = poison; });
      const tailor::Error e = load_error(bad, "nonfinite");
      INFO(tag << ": " << e.what());
      CHECK(e.code() == ErrorCode::corrupt_file);
      CHECK(contains(e.what(), "section '" + tag + "'"));
      CHECK(contains(e.what(), "is not finite"));
    }
  }
}

TEST_CASE("Huge finite factors are refused at load, and a fold-in that fails is still served",
          "[untrusted][regression]") {
  // Before (found by fuzz_recommender_load with a re-sealed file): item factors of 1e34 loaded,
  // their Gram matrix overflowed, and every recommend() that folded a shopper in threw
  // numerical_error.
  for (const std::string tag : {"als.item_factors", "als.user_factors"}) {
    const std::string bad = tailor::test::reseal_as<RowMatrix>(
        saved_model(), tag, [](RowMatrix& m) { m(0, 0) = 3e34f; });
    const tailor::Error e = load_error(bad, "huge");
    INFO(tag << ": " << e.what());
    CHECK(e.code() == ErrorCode::corrupt_file);
    CHECK(contains(e.what(), "kMaxFactorMagnitude"));
    CHECK(contains(e.what(), tag.substr(4) + "(0, 0)"));
  }
  // Within the bound, factors that float arithmetic still cannot fold in (every item the same
  // vector at the bound, and almost no regularization) degrade one request, not the service.
  const std::string degenerate = tailor::test::reseal_as<RowMatrix>(
      saved_model(), "als.item_factors",
      [](RowMatrix& m) { m.setConstant(tailor::ALSFactorizer::kMaxFactorMagnitude); });
  const std::string path = tailor::test::scratch_dir() + "/degenerate.tlm";
  tailor::test::write_bytes(path, degenerate);
  Recommender rec(small_options());
  rec.load(path);
  Event e;
  e.user = "a shopper with one view";
  e.item = retail().items[0].id;
  e.type = EventType::view;
  e.timestamp = 1301700000000;
  rec.ingest(e);
  RecommendRequest req;
  req.user = e.user;
  const auto response = rec.recommend(req);
  CHECK(response.items.size() == req.k);
  for (const auto& r : response.items) CHECK(std::isfinite(r.score));
  INFO("fold-ins " << rec.stats().fold_ins << ", failures " << rec.stats().fold_in_failures);
  CHECK(rec.stats().fold_ins == 1);
  CHECK(rec.stats().fold_in_failures == 1);
}

TEST_CASE("An absurd event value is refused at ingest and cannot poison training or restarts",
          "[untrusted][regression]") {
  // Before: a rating of 1e12 was accepted; every later retrain threw numerical_error, and the
  // event, kept in the log, did so again after a restart.
  const std::string log = tailor::test::scratch_dir() + "/poison.log";
  std::remove(log.c_str());
  Event poison;
  poison.user = best_user();
  poison.item = retail().items[3].id;
  poison.type = EventType::rating;
  poison.value = 1e12;
  poison.timestamp = 1301700000000;
  {
    Recommender rec(small_options());
    rec.open_event_log(log);
    rec.upsert_items(retail().items);
    rec.ingest(retail().train);
    try {
      rec.ingest(poison);
      FAIL("an event with value 1e12 was accepted");
    } catch (const tailor::Error& e) {
      CHECK(e.code() == ErrorCode::invalid_argument);
      CHECK(contains(e.what(), "field 'value'"));
      CHECK(contains(e.what(), "max_value"));
    }
    for (const double bad : {1e308, -1e12}) {
      poison.value = bad;
      CHECK_THROWS_AS(rec.ingest(poison), tailor::Error);
    }
    CHECK_NOTHROW(rec.retrain());
  }
  // A log written by another writer (or under other options) may still hold such an event: it
  // is skipped and reported on replay, and training goes on.
  {
    tailor::EventLog raw(log);
    poison.value = 1e12;
    raw.append(poison);
  }
  Recommender rec(small_options());
  rec.upsert_items(retail().items);
  const tailor::LogRecovery rep = rec.open_event_log(log);
  CHECK(rep.skipped_events == 1);
  CHECK(contains(rep.skipped_detail, "field 'value'"));
  CHECK(rec.stats().events_ingested == retail().train.size());
  const auto report = rec.retrain();
  CHECK(report.published);
  RecommendRequest req;
  req.user = best_user();
  for (const auto& r : rec.recommend(req).items) CHECK(std::isfinite(r.score));
}

TEST_CASE("Confidences saturate: piles of events on one pair train to finite factors",
          "[untrusted][regression]") {
  tailor::RecommenderOptions o = small_options();
  o.matrix.transform = tailor::ConfidenceTransform::raw;
  Recommender rec(o);
  rec.upsert_items(retail().items);
  rec.ingest(retail().train);
  Event heavy;
  heavy.user = best_user();
  heavy.item = retail().items[5].id;
  heavy.type = EventType::purchase;
  heavy.value = 9e5;  // within max_value; 2,000 of them weigh ~1e8 before saturation
  heavy.timestamp = 1301700000000;
  rec.ingest(std::vector<Event>(2000, heavy));
  CHECK_NOTHROW(rec.retrain());
  RecommendRequest req;
  req.user = heavy.user;
  const auto v = rec.user_vector(heavy.user);
  REQUIRE(v);
  CHECK(v->allFinite());
  for (const auto& r : rec.recommend(req).items) CHECK(std::isfinite(r.score));
}

TEST_CASE("The request's k never sizes memory: lists are at most the catalog long",
          "[untrusted][regression]") {
  // Before: k = 1e9 allocated gigabytes in RuleSet::place and k = SIZE_MAX threw an untyped
  // std::length_error.
  const auto rec = trained();
  const std::size_t n = rec->catalog()->size();
  for (const std::size_t k : {std::size_t{100000000}, std::size_t{1000000000},
                              std::numeric_limits<std::size_t>::max()}) {
    RecommendRequest req;
    req.user = best_user();
    req.k = k;
    req.rules.exclude_seen = false;
    req.rules.exclude_purchased = false;
    req.rules.exclude_out_of_stock = false;
    const auto response = rec->recommend(req);
    CHECK(response.items.size() <= n);
    CHECK(response.items.size() > n / 2);
    CHECK_NOTHROW(rec->similar_items(retail().items[0].id, k));
    CHECK(rec->trending(k).items.size() <= n);
  }
}

TEST_CASE("Boosts are bounded and saturate: no infinite scores", "[untrusted][regression]") {
  const auto rec = trained();
  RecommendRequest req;
  req.user = best_user();
  tailor::ScoreAdjustment huge;
  huge.multiply = 3e38f;
  huge.add = 3e38f;
  req.rules.adjustments = {huge};
  try {
    rec->recommend(req);
    FAIL("a multiplier of 3e38 was accepted");
  } catch (const tailor::Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    CHECK(contains(e.what(), "rules.adjustments[0].multiply"));
  }
  // The largest allowed boosts, chained: scores stay finite.
  tailor::ScoreAdjustment big;
  big.multiply = tailor::ScoreAdjustment::kMaxMultiply;
  big.add = tailor::ScoreAdjustment::kMaxAdd;
  req.rules.adjustments.assign(12, big);
  for (const auto& r : rec->recommend(req).items) CHECK(std::isfinite(r.score));
}

TEST_CASE("User IDs cannot collide with anonymous sessions, and oversized IDs are refused",
          "[untrusted][regression]") {
  // Before: a user "session:abc" shared a profile with the anonymous session "abc".
  const auto rec = trained();
  Event anon;
  anon.session = "abc";
  anon.item = retail().items[1].id;
  anon.type = EventType::add_to_cart;
  anon.timestamp = 1301700000000;
  rec->ingest(anon);
  Event impostor = anon;
  impostor.session.clear();
  impostor.user = "session:abc";
  try {
    rec->ingest(impostor);
    FAIL("a user ID in the session namespace was accepted");
  } catch (const tailor::Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    CHECK(contains(e.what(), "field 'user'"));
    CHECK(contains(e.what(), "reserved for anonymous sessions"));
  }
  RecommendRequest req;
  req.user = "session:abc";
  CHECK_THROWS_AS(rec->recommend(req), tailor::Error);
  req.user.clear();
  req.session = "abc";
  CHECK_NOTHROW(rec->recommend(req));
  Event long_id = anon;
  long_id.item = std::string(tailor::kMaxIdBytes + 1, 'x');
  CHECK_THROWS_AS(rec->ingest(long_id), tailor::Error);
  CHECK_FALSE(rec->item_index(long_id.item));
}

TEST_CASE("An event the log refuses adds nothing, not even its item to the catalog",
          "[untrusted][regression]") {
  // Before: an event over the log's record limit was refused but its item joined the catalog.
  const std::string log = tailor::test::scratch_dir() + "/limit.log";
  std::remove(log.c_str());
  Recommender rec(small_options());
  tailor::EventLogOptions lo;
  lo.max_record_bytes = 256;
  rec.open_event_log(log, lo);
  Event big;
  big.user = "u1";
  big.item = "brand-new-item";
  big.type = EventType::search;
  big.query = std::string(600, 'q');
  CHECK_THROWS_AS(rec.ingest(big), tailor::Error);
  CHECK_FALSE(rec.item_index("brand-new-item"));
  CHECK(rec.stats().events_ingested == 0);
}

TEST_CASE("Crafted shopper profiles in a model file are refused by section and offset",
          "[untrusted]") {
  // The 'profiles' payload: u64 shoppers, then per shopper a length-prefixed ID, u32 events and
  // 18 bytes per event (u32 item, u16 type, i64 time, f32 weight). Patch the first event.
  const auto patch_first_event = [](std::size_t field_offset, const std::string& bytes) {
    return [field_offset, bytes](std::string payload) {
      tailor::ByteReader r(payload);
      r.u64();
      r.string();  // the shopper's ID
      r.u32();
      const std::size_t at = static_cast<std::size_t>(r.offset()) + field_offset;
      payload.replace(at, bytes.size(), bytes);
      return payload;
    };
  };
  const std::string far_item("\xff\xff\xff\x7f", 4);
  const std::string bad_type("\x0a\x00", 2);  // 10: between the built-in and custom codes
  const std::string nan_weight("\x00\x00\xc0\x7f", 4);
  const std::pair<std::string, std::string> cases[] = {
      {tailor::test::reseal(saved_model(), "profiles", patch_first_event(0, far_item)), "outside the catalog"},
      {tailor::test::reseal(saved_model(), "profiles", patch_first_event(4, bad_type)), "unknown event type"},
      {tailor::test::reseal(saved_model(), "profiles", patch_first_event(14, nan_weight)), "not finite"},
      {tailor::test::reseal(saved_model(), "profiles",
                            [](std::string p) { return p.substr(0, p.size() / 2); }),
       "section 'profiles'"},
  };
  for (const auto& [bytes, expected] : cases) {
    const tailor::Error e = load_error(bytes, "profiles");
    INFO(e.what());
    CHECK(e.code() == ErrorCode::corrupt_file);
    CHECK(contains(e.what(), "section 'profiles'"));
    CHECK(contains(e.what(), expected));
  }
}

TEST_CASE("Crafted EASE weights are refused at load", "[untrusted]") {
  RecommenderOptions o = tailor::test::small_options();
  o.ease.enabled = true;
  Recommender rec(o);
  rec.upsert_items(retail().items);
  rec.ingest(std::vector<tailor::Event>(retail().train.begin(), retail().train.begin() + 20000));
  rec.retrain();
  const std::string path = tailor::test::scratch_dir() + "/ease-base.tlm";
  rec.save(path);
  const std::string bytes = read_bytes(path);
  const std::pair<std::function<void(RowMatrix&)>, std::string> cases[] = {
      {[](RowMatrix& b) { b(2, 2) = 1.0f; }, "diagonal entry 2"},
      {[](RowMatrix& b) { b(0, 1) = std::numeric_limits<float>::infinity(); }, "not finite"},
      {[](RowMatrix& b) { b = RowMatrix::Zero(b.rows() + 5, b.cols() + 5); }, "the catalog has"},
      {[](RowMatrix& b) { b = RowMatrix::Zero(b.rows(), b.cols() - 1); }, "not square"},
  };
  for (const auto& [edit, expected] : cases) {
    const std::string bad = tailor::test::reseal_as<RowMatrix>(bytes, "ease", edit);
    const std::string file = tailor::test::scratch_dir() + "/ease-bad.tlm";
    write_bytes(file, bad);
    Recommender fresh(o);
    try {
      fresh.load(file);
      FAIL("loaded: " << expected);
    } catch (const tailor::Error& e) {
      INFO(e.what());
      CHECK(e.code() == ErrorCode::corrupt_file);
      CHECK(contains(e.what(), "section 'ease'"));
      CHECK(contains(e.what(), expected));
    }
  }
}

TEST_CASE("A crafted learned blend in a model file is refused at load", "[untrusted]") {
  const std::pair<nlohmann::json, std::string> cases[] = {
      {{{"weight_knn", -1.0}}, "weight_knn"},
      {{{"weight_cf", 1.0}}, "weight_cf: unknown key"},
      {{{"max_recent", "many"}}, "max_recent: expected an integer"},
      {nlohmann::json::array({1, 2}), "expected an object"},
  };
  for (const auto& c : cases) {
    const nlohmann::json& ranker = c.first;
    const std::string& expected = c.second;
    const std::string bytes = tailor::test::reseal_as<nlohmann::json>(
        saved_model(), "recommender", [&ranker](nlohmann::json& state) { state["ranker"] = ranker; });
    const tailor::Error e = load_error(bytes, "blend");
    INFO(e.what());
    CHECK(e.code() == ErrorCode::corrupt_file);
    CHECK(contains(e.what(), "section 'recommender': ranker"));
    CHECK(contains(e.what(), expected));
  }
  // A valid learned blend loads and serves.
  const std::string good = tailor::test::reseal_as<nlohmann::json>(
      saved_model(), "recommender",
      [](nlohmann::json& state) { state["ranker"] = {{"weight_knn", 0.5}, {"weight_popular", 0.25}}; });
  const std::string path = tailor::test::scratch_dir() + "/blend-good.tlm";
  write_bytes(path, good);
  Recommender rec(small_options());
  rec.load(path);
  RecommendRequest req;
  req.user = tailor::test::busiest_customer(retail().train);
  CHECK(!rec.recommend(req).items.empty());
}
