// RecommenderOptions as JSON: round trips, strict reading with JSON paths, option files, and the
// copy a model file keeps.
#include "tailor/serving/options_json.hpp"

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "catch.hpp"
#include "recommender_fixtures.hpp"
#include "tailor/core/error.hpp"
#include "tailor/persistence/model_file.hpp"
#include "test_data.hpp"

using tailor::Error;
using tailor::ErrorCode;
using tailor::RecommenderOptions;
using tailor::options_from_json;
using tailor::options_to_json;
using nlohmann::json;

namespace {

// The message of the Error `f` throws (fails the test when it throws nothing).
std::string error_of(const std::function<void()>& f, ErrorCode code = ErrorCode::invalid_argument) {
  try {
    f();
  } catch (const Error& e) {
    CHECK(e.code() == code);
    return e.what();
  }
  FAIL("no error thrown");
  return {};
}

// Every scalar leaf of an object tree as (JSON pointer, dotted path).
void leaves(const json& j, const std::string& pointer, const std::string& dotted,
            std::vector<std::pair<std::string, std::string>>& out) {
  if (!j.is_object()) {
    out.emplace_back(pointer, dotted);
    return;
  }
  for (const auto& [key, value] : j.items())
    leaves(value, pointer + "/" + key, dotted.empty() ? key : dotted + "." + key, out);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

}  // namespace

TEST_CASE("Options JSON: defaults and changed values survive a round trip", "[options_json]") {
  const json defaults = options_to_json(RecommenderOptions{});
  CHECK(options_to_json(options_from_json(defaults)) == defaults);
  CHECK(options_to_json(options_from_json(json::object())) == defaults);  // absent = default
  // Floats are written as the short decimal that reads back to the same float.
  CHECK(defaults.at("als").at("regularization").dump() == "0.01");

  RecommenderOptions o;
  o.als.factors = 17;
  o.als.regularization = 0.37f;
  o.als.solver = tailor::ALSSolver::cholesky;
  o.matrix.transform = tailor::ConfidenceTransform::logarithmic;
  o.matrix.weights.custom[40] = 2.5;
  o.matrix.weights.half_life_days = 30;
  o.matrix.weights.reference_time = 1300000000000;
  o.ranker.weight_knn = 1.75f;
  o.ranker.family_attribute = "model";
  o.content.attribute_keys = {"colour", "size"};
  o.content.tokenizer.max_ngram = 3;
  o.ann.backend = tailor::AnnBackend::hnsw;
  o.guard.metric = tailor::GuardMetric::recall;
  o.drift.window_ms = 3600000;
  o.use_content = false;
  const json j = options_to_json(o);
  CHECK(j.at("als").at("solver") == "cholesky");
  CHECK(j.at("matrix").at("weights").at("custom").at("40") == 2.5);
  const RecommenderOptions back = options_from_json(j);
  CHECK(options_to_json(back) == j);
  CHECK(back.als.factors == 17);
  CHECK(back.als.regularization == 0.37f);
  CHECK(back.matrix.weights.custom.at(40) == 2.5);
  CHECK(back.matrix.weights.reference_time == 1300000000000);
  CHECK(back.content.attribute_keys == std::vector<std::string>{"colour", "size"});
  CHECK(back.ann.backend == tailor::AnnBackend::hnsw);
  CHECK_FALSE(back.use_content);
}

TEST_CASE("Options JSON: every field is read, and a wrong type names its path", "[options_json]") {
  const json defaults = options_to_json(RecommenderOptions{});
  std::vector<std::pair<std::string, std::string>> all;
  leaves(defaults, "", "", all);
  REQUIRE(all.size() > 120);  // the whole tree, nested structs included
  for (const auto& [pointer, dotted] : all) {
    INFO(dotted);
    json j = defaults;
    j[json::json_pointer(pointer)] = json::object({{"x", 1}});  // no scalar field takes an object
    const std::string message = error_of([&] { options_from_json(j); });
    CHECK(message.rfind(dotted + ": expected", 0) == 0);
  }
}

TEST_CASE("Options JSON: unknown keys, bad numbers and enum names are refused by path", "[options_json]") {
  CHECK(error_of([] { options_from_json(json::parse(R"({"ranker": {"weights": {"cf": 1}}})")); }) ==
        "ranker.weights: unknown key");
  CHECK(error_of([] { options_from_json(json::parse(R"({"als": {"factor": 3}})")); }) ==
        "als.factor: unknown key");
  CHECK(error_of([] { options_from_json(json::parse(R"({"bogus": true})")); }) == "bogus: unknown key");
  CHECK(error_of([] { options_from_json(json::parse(R"({"als": {"factors": -3}})")); }) ==
        "als.factors: must not be negative, got -3");
  CHECK(error_of([] { options_from_json(json::parse(R"({"als": {"iterations": 2.5}})")); }) ==
        "als.iterations: expected an integer, got 2.5");
  CHECK(error_of([] { options_from_json(json::parse(R"({"als": {"iterations": 3000000000}})")); }) ==
        "als.iterations: out of range: 3000000000");
  CHECK(error_of([] { options_from_json(json::parse(R"({"als": {"regularization": 1e300}})")); })
            .find("als.regularization: out of range") == 0);
  CHECK(error_of([] { options_from_json(json::parse(R"({"ann": {"backend": "faiss"}})")); }) ==
        "ann.backend: expected one of automatic, exact, hnsw, got string \"faiss\"");
  CHECK(error_of([] { options_from_json(json::parse(R"({"matrix": {"weights": {"custom": {"x": 1}}}})")); })
            .find("matrix.weights.custom.x: the key must be an event-type code") == 0);
  CHECK(error_of([] { options_from_json(json::parse(R"({"content": {"attribute_keys": ["a", 3]}})")); }) ==
        "content.attribute_keys[1]: expected a string, got number 3");
  CHECK(error_of([] { options_from_json(json::parse("[1, 2]")); }) ==
        "(top level): expected an object, got array [1,2]");
  // In range for JSON, out of range for the options: validate() names the C++ field.
  CHECK(error_of([] { options_from_json(json::parse(R"({"als": {"factors": 0}})")); }).find("factors") !=
        std::string::npos);
}

TEST_CASE("Options JSON: the pseudonymization key never enters or leaves through JSON", "[options_json]") {
  RecommenderOptions o;
  o.pseudonymize = tailor::PseudonymizerOptions{};
  o.pseudonymize->key = std::string(32, 'k');
  const json j = options_to_json(o);
  CHECK_FALSE(j.contains("pseudonymize"));
  CHECK(j.dump().find("kkkk") == std::string::npos);
  const std::string message =
      error_of([] { options_from_json(json::parse(R"({"pseudonymize": {"key": "secret"}})")); });
  CHECK(message.rfind("pseudonymize: not read from JSON", 0) == 0);
  CHECK(message.find("secret") == std::string::npos);
}

TEST_CASE("Options files: malformed, truncated or missing files are named", "[options_json]") {
  const std::string path = tailor::test::scratch_dir() + "/options_test.json";
  write_text(path, R"({"als": {"factors": 12}, "ranker": {"weight_knn": 2}})");
  const RecommenderOptions o = tailor::read_options_file(path);
  CHECK(o.als.factors == 12);
  CHECK(o.ranker.weight_knn == 2.0f);

  write_text(path, R"({"als": {"factors": 12)");
  CHECK(error_of([&] { tailor::read_options_file(path); }) == path + ": not valid JSON (byte 23)");
  write_text(path, R"({"als": {"factors": "twelve"}})");
  CHECK(error_of([&] { tailor::read_options_file(path); }) ==
        path + ": als.factors: expected an integer, got string \"twelve\"");
  error_of([&] { tailor::read_options_file(path + ".missing"); }, ErrorCode::io_error);
}

TEST_CASE("Model files keep the options they were trained with", "[options_json][recommender]") {
  RecommenderOptions options = tailor::test::small_options();
  options.ranker.weight_trending = 0.75f;
  options.neighbors.neighbors = 33;
  tailor::Recommender rec(options);
  rec.upsert_items(tailor::test::retail().items);
  rec.ingest(std::vector<tailor::Event>(tailor::test::retail().train.begin(),
                                        tailor::test::retail().train.begin() + 5000));
  rec.retrain();
  const std::string path = tailor::test::scratch_dir() + "/options_model.tlm";
  rec.save(path);
  const RecommenderOptions stored = tailor::read_model_options(path);
  CHECK(options_to_json(stored) == options_to_json(options));
  const tailor::ModelFileInfo info = tailor::inspect_model_file(path);
  CHECK(info.metadata.at("counts").at("items") == rec.stats().items);
  CHECK(info.metadata.at("options").at("neighbors").at("neighbors") == 33);

  // A file whose header is not a model's is refused with its name.
  write_text(path + ".bad", "not a model");
  CHECK(error_of([&] { tailor::read_model_options(path + ".bad"); }, ErrorCode::corrupt_file).find(path + ".bad") !=
        std::string::npos);
}
