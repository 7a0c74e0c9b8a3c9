// Tests of tailor/experiment.hpp: SipHash-2-4 reference vectors, configuration validation and
// JSON, deterministic assignment (shares over 1M users, stability across instances, pinned
// assignments), layers, holdouts, forced variants, merged configs, and the sample-ratio check on
// assigned traffic.
#include "catch.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/error.hpp"
#include "tailor/experiments/experiment.hpp"
#include "tailor/stats/hypothesis.hpp"
#include "test_data.hpp"
#include "internal/siphash.hpp"

using nlohmann::json;
using tailor::Assignments;
using tailor::ExperimentContext;
using tailor::ExperimentSet;

namespace {

ExperimentContext user(const std::string& id) {
  ExperimentContext c;
  c.user = id;
  return c;
}

// Error(code) whose message contains `needle`.
template <class F>
bool fails_with(F&& f, tailor::ErrorCode code, const std::string& needle) {
  try {
    f();
  } catch (const tailor::Error& e) {
    INFO("message: " << e.what());
    CHECK(e.code() == code);
    CHECK(std::string(e.what()).find(needle) != std::string::npos);
    return e.code() == code && std::string(e.what()).find(needle) != std::string::npos;
  }
  return false;
}

json three_way() {
  return json::parse(R"({
    "hash_key": "test-key",
    "experiments": [{
      "name": "ranker", "holdout": 0.1, "control": "A",
      "variants": [{"name": "A", "share": 0.5, "config": {"model": "pop"}},
                   {"name": "B", "share": 0.3, "config": {"model": "als", "ranker": {"diversity": 0.2}}},
                   {"name": "C", "share": 0.2, "config": {"model": "als", "ranker": {"diversity": 0.5}}}]
    }]})");
}

}  // namespace

TEST_CASE("SipHash-2-4 matches the reference vectors of its paper", "[experiment]") {
  // Key 00 01 .. 0f, message 00 01 .. (n-1), n = 0..17 (SipHash paper, appendix; reference test.c).
  const std::uint64_t expected[] = {
      0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL, 0x85676696d7fb7e2dULL,
      0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL, 0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL,
      0x93f5f5799a932462ULL, 0x9e0082df0ba9e4b0ULL, 0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
      0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL, 0xa129ca6149be45e5ULL,
      0x3f2acc7f57c29bdbULL, 0x699ae9f52cbe4794ULL};
  std::array<std::uint8_t, 16> key{};
  for (int i = 0; i < 16; ++i) key[i] = static_cast<std::uint8_t>(i);
  std::string message;
  for (std::size_t n = 0; n < std::size(expected); ++n) {
    INFO("length " << n);
    CHECK(tailor::detail::siphash24(key, message) == expected[n]);
    message.push_back(static_cast<char>(n));
  }
}

TEST_CASE("Variant shares are within 1% of the configured split over 1M users", "[experiment]") {
  const ExperimentSet set = ExperimentSet::from_json(three_way());
  std::map<std::string, double> counts;
  constexpr int kUsers = 1'000'000;
  for (int i = 0; i < kUsers; ++i) {
    const Assignments a = set.assign(user("u" + std::to_string(i)));
    REQUIRE(a.experiments.size() == 1);
    ++counts[a.experiments[0].variant];
  }
  // Holdout 10%; A, B, C split the other 90% as 50/30/20. Relative tolerance 1% (the binomial
  // standard deviation at 1M users is about 0.1% relative for these shares).
  const std::map<std::string, double> expected = {{"holdout", 0.1}, {"A", 0.45}, {"B", 0.27}, {"C", 0.18}};
  for (const auto& [name, share] : expected) {
    const double observed = counts[name] / kUsers;
    INFO(name << ": observed " << observed << ", configured " << share);
    CHECK(std::fabs(observed - share) <= 0.01 * share);
  }
  CHECK(counts.size() == 4);
  // The split passes the sample-ratio check; a stream that lost 2% of B's users fails it.
  const std::vector<double> shares = {0.5, 0.3, 0.2};
  const auto fair = tailor::stats::sample_ratio_mismatch({counts["A"], counts["B"], counts["C"]}, shares);
  CHECK_FALSE(fair.mismatch);
  const auto skewed =
      tailor::stats::sample_ratio_mismatch({counts["A"], counts["B"] * 0.98, counts["C"]}, shares);
  CHECK(skewed.mismatch);
  CHECK(skewed.test.p_value < 1e-6);
}

TEST_CASE("Assignment is deterministic across instances, JSON round trips and releases", "[experiment]") {
  const ExperimentSet first = ExperimentSet::from_json(three_way());
  const ExperimentSet second = ExperimentSet::from_json(three_way());
  const std::string path = tailor::test::scratch_dir() + "/experiments.json";
  {
    std::ofstream out(path);
    out << first.config().to_json().dump(2);
  }
  const ExperimentSet reloaded = ExperimentSet::load(path);
  for (int i = 0; i < 5000; ++i) {
    const auto ctx = user("customer-" + std::to_string(i));
    const auto a = first.assign(ctx);
    CHECK(a.experiments == second.assign(ctx).experiments);
    CHECK(a.experiments == reloaded.assign(ctx).experiments);
    CHECK(a.experiments == first.assign(ctx).experiments);
  }
  // Pinned: these assignments must never change for this configuration (they are what users of
  // a running experiment already saw). A change here means the hashing changed. One letter per
  // user customer-0 .. customer-59 ('h' = holdout).
  std::string sequence;
  for (int i = 0; i < 60; ++i) {
    const std::string v = first.assign(user("customer-" + std::to_string(i))).experiments.at(0).variant;
    sequence += v == "holdout" ? 'h' : v[0];
  }
  CHECK(sequence == "BCABABAAhABABABAAABACABABAAAABBhCAAABABCBhAAAABABBBhCAhBACAA");
  CHECK(first.assign(user("17850")).experiments.at(0).variant == "holdout");
  CHECK(first.assign(user("session-user-\xc3\xa9")).experiments.at(0).variant == "A");
  // Changing the salt reshuffles: about half the users of a 50/50 split change sides.
  json a = json::parse(R"({"experiments": [{"name": "x", "variants": [{"name": "a", "share": 0.5},
                                              {"name": "b", "share": 0.5}]}]})");
  json b = a;
  b["experiments"][0]["salt"] = "x-2";
  const ExperimentSet sa = ExperimentSet::from_json(a), sb = ExperimentSet::from_json(b);
  int same = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto ctx = user("u" + std::to_string(i));
    same += sa.assign(ctx).experiments[0].variant == sb.assign(ctx).experiments[0].variant;
  }
  CHECK(std::fabs(same / 20000.0 - 0.5) < 0.02);  // 0.5 +- 5.7 sd
}

TEST_CASE("Experiments of one layer are mutually exclusive, and layers are independent", "[experiment]") {
  const json config = json::parse(R"({
    "layers": [{"name": "ranking", "buckets": 100}, {"name": "ui", "buckets": 1000}],
    "experiments": [
      {"name": "r1", "layer": "ranking", "traffic": 0.3,
       "variants": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]},
      {"name": "r2", "layer": "ranking", "traffic": 0.5,
       "variants": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]},
      {"name": "u1", "layer": "ui", "traffic": 0.5,
       "variants": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]},
      {"name": "solo",
       "variants": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]}]})");
  const ExperimentSet set = ExperimentSet::from_json(config);
  CHECK(set.placement("r1").first == 0);
  CHECK(set.placement("r1").last == 30);
  CHECK(set.placement("r2").first == 30);
  CHECK(set.placement("r2").last == 80);
  CHECK(set.placement("solo").layer.empty());
  constexpr int kUsers = 200'000;
  std::map<std::string, double> in;
  double r1_and_u1 = 0, none_in_ranking = 0;
  for (int i = 0; i < kUsers; ++i) {
    const Assignments a = set.assign(user("u" + std::to_string(i)));
    const bool r1 = a.find("r1") != nullptr, r2 = a.find("r2") != nullptr, u1 = a.find("u1") != nullptr;
    REQUIRE_FALSE((r1 && r2));  // exclusive
    REQUIRE(a.find("solo") != nullptr);  // a private layer at full traffic has everyone
    in["r1"] += r1;
    in["r2"] += r2;
    in["u1"] += u1;
    r1_and_u1 += r1 && u1;
    none_in_ranking += !r1 && !r2;
  }
  // Traffic shares within 1% relative... 3 sd at 200k users is under 1% relative for shares >= 0.2.
  CHECK(std::fabs(in["r1"] / kUsers - 0.3) <= 0.01 * 0.3 * 3);
  CHECK(std::fabs(in["r2"] / kUsers - 0.5) <= 0.01 * 0.5 * 3);
  CHECK(std::fabs(none_in_ranking / kUsers - 0.2) <= 0.01 * 0.2 * 3);
  CHECK(std::fabs(in["u1"] / kUsers - 0.5) <= 0.01 * 0.5 * 3);
  // Independent layers: P(r1 and u1) = 0.3 * 0.5.
  CHECK(std::fabs(r1_and_u1 / kUsers - 0.15) <= 0.005);
}

TEST_CASE("Holdouts, sessions, forced variants, exclusion and merged configs", "[experiment]") {
  json config = three_way();
  config["global_holdout"] = 0.2;
  config["experiments"].push_back(json::parse(R"({
    "name": "anon", "unit": "session", "layer": "other",
    "variants": [{"name": "x", "share": 0.5, "config": {"ranker": {"boost": 1}}},
                 {"name": "y", "share": 0.5, "config": {"ranker": {"boost": 2}}}]})"));
  const ExperimentSet set = ExperimentSet::from_json(config);

  int global = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto a = set.assign(user("g" + std::to_string(i)));
    global += a.global_holdout;
    if (a.global_holdout) CHECK(a.experiments.empty());
  }
  CHECK(std::fabs(global / 20000.0 - 0.2) < 0.01);  // 0.2 +- 3.5 sd

  // A session experiment needs a session; an anonymous shopper is placed by the session in both.
  ExperimentContext anonymous;
  anonymous.session = "s-1";
  ExperimentContext logged_in = anonymous;
  logged_in.user = "u-1";
  int with_session = 0, without_session = 0;
  for (int i = 0; i < 200; ++i) {
    ExperimentContext c;
    c.user = "v" + std::to_string(i);
    without_session += set.assign(c).find("anon") != nullptr;
    c.session = "s" + std::to_string(i);
    with_session += set.assign(c).find("anon") != nullptr || set.assign(c).global_holdout;
  }
  CHECK(without_session == 0);
  CHECK(with_session == 200);
  CHECK(set.assign(ExperimentContext{}).experiments.empty());

  // Forced variants win, are marked, and typos are errors.
  ExperimentContext forced = user("qa-user");
  forced.forced_variants = {{"ranker", "C"}, {"anon", "holdout"}};
  const auto f = set.assign(forced);
  REQUIRE(f.find("ranker") != nullptr);
  CHECK(f.find("ranker")->variant == "C");
  CHECK(f.find("ranker")->forced);
  CHECK(f.find("anon")->holdout);
  CHECK(fails_with([&] {
    ExperimentContext bad = user("x");
    bad.forced_variants = {{"ranker", "D"}};
    set.assign(bad);
  }, tailor::ErrorCode::invalid_argument, "'D' is not a variant of experiment 'ranker'"));
  CHECK(fails_with([&] {
    ExperimentContext bad = user("x");
    bad.forced_variants = {{"rnaker", "A"}};
    set.assign(bad);
  }, tailor::ErrorCode::invalid_argument, "unknown experiment 'rnaker'"));

  ExperimentContext excluded = user("bot");
  excluded.excluded = true;
  CHECK(set.assign(excluded).experiments.empty());

  // Merged configs: ranker variant C and anon variant y.
  ExperimentContext both = user("someone");
  both.session = "s";
  both.forced_variants = {{"ranker", "C"}, {"anon", "y"}};
  const json merged = set.merged_config(set.assign(both));
  CHECK(merged == json::parse(R"({"model": "als", "ranker": {"diversity": 0.5, "boost": 2}})"));
  both.forced_variants = {{"ranker", "holdout"}, {"anon", "x"}};
  CHECK(set.merged_config(set.assign(both)) == json::parse(R"({"ranker": {"boost": 1}})"));

  // A disabled experiment assigns nobody.
  json off = three_way();
  off["experiments"][0]["enabled"] = false;
  CHECK(ExperimentSet::from_json(off).assign(user("u1")).experiments.empty());
}

TEST_CASE("Bad experiment configurations get typed errors naming the field", "[experiment]") {
  const auto bad = [](const std::string& patch_path, const json& value, const std::string& needle) {
    json config = three_way();
    config[json::json_pointer(patch_path)] = value;
    return fails_with([&] { ExperimentSet::from_json(config, "exp.json"); },
                      tailor::ErrorCode::invalid_argument, needle);
  };
  CHECK(bad("/experiments/0/variants/0/share", 0.6, "experiments[0] ('ranker').variants: shares sum to 1.1"));
  CHECK(bad("/experiments/0/variants/0/share", -0.1, "variants[0].share must be in (0, 1]"));
  CHECK(bad("/experiments/0/variants/1/name", "A", "variants[1].name 'A' is used by an earlier variant"));
  CHECK(bad("/experiments/0/variants/1/name", "holdout", "'holdout' is reserved"));
  CHECK(bad("/experiments/0/control", "Z", "control 'Z' is not one of its variants"));
  CHECK(bad("/experiments/0/holdout", 1.0, "holdout must be in [0, 1)"));
  CHECK(bad("/experiments/0/traffic", 0.3333, "is not a whole number of the 1000 buckets"));
  CHECK(bad("/experiments/0/trafic", 0.5, "exp.json: experiments[0].trafic: unknown key"));
  CHECK(bad("/experiments/0/variants/0/share", "half", "exp.json: experiments[0].variants[0].share: expected a number"));
  CHECK(bad("/experiments/0/unit", "device", "experiments[0].unit: unknown unit 'device'"));
  CHECK(bad("/experiments/0/analysis", json::parse(R"({"alpha": 1.5})"), "analysis.alpha must be in (0, 1)"));
  CHECK(bad("/experiments/0/analysis", json::parse(R"({"primary_metric": "ctr"})"), "unknown metric 'ctr'"));
  CHECK(bad("/experiments/0/variants", json::array({json::parse(R"({"name": "A", "share": 1})")}),
            "needs at least 2 variants"));
  CHECK(bad("/global_holdout", 1.0, "global_holdout must be in [0, 1)"));
  CHECK(bad("/experiments/1", json::parse(R"({"name": "ranker", "variants": [{"name": "a", "share": 0.5},
            {"name": "b", "share": 0.5}]})"), "experiments[1] ('ranker').name is used by an earlier experiment"));
  // Overlapping ranges in one layer.
  const json overlap = json::parse(R"({"experiments": [
      {"name": "p", "layer": "L", "traffic": 0.6, "variants": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]},
      {"name": "q", "layer": "L", "traffic": 0.5, "variants": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]}]})");
  CHECK(fails_with([&] { ExperimentSet::from_json(overlap); }, tailor::ErrorCode::invalid_argument,
                   "needs buckets [600, 1100) but layer 'L' has 1000"));
  json explicit_overlap = overlap;
  explicit_overlap["experiments"][1]["traffic"] = 0.2;
  explicit_overlap["experiments"][1]["first_bucket"] = 500;
  CHECK(fails_with([&] { ExperimentSet::from_json(explicit_overlap); }, tailor::ErrorCode::invalid_argument,
                   "overlap those of experiments[0] ('p') [0, 600)"));
  // Files: unreadable and malformed.
  CHECK(fails_with([] { ExperimentSet::load("/nonexistent/exp.json"); }, tailor::ErrorCode::io_error,
                   "/nonexistent/exp.json"));
  const std::string broken = tailor::test::scratch_dir() + "/broken.json";
  {
    std::ofstream out(broken);
    out << "{\"experiments\": [";
  }
  CHECK(fails_with([&] { ExperimentSet::load(broken); }, tailor::ErrorCode::parse_error, "not valid JSON"));
}

// ---------------------------------------------------------------------------------------------
// `tailor experiment`: runs the built binary on files written to the scratch folder.

#ifdef TAILOR_CLI_PATH

#include <sys/wait.h>

#include <random>
#include <sstream>

namespace {

struct Run {
  int code = -1;
  std::string out;
  std::string err;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string scratch(const std::string& name) { return tailor::test::scratch_dir() + "/experiment_cli_" + name; }

Run tailor_run(const std::string& args) {
  const std::string out = scratch("stdout.txt"), err = scratch("stderr.txt");
  const std::string cmd = std::string("'") + TAILOR_CLI_PATH + "' " + args + " > '" + out + "' 2> '" + err + "'";
  const int status = std::system(cmd.c_str());
  Run r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

// Writes a configuration and a simulated experiment: 3000 shoppers assigned by the library, each
// shown three items; B converts at 16%, A at 10%; every buyer clicks first; some buy two items in
// one basket and some return one. Exposures as JSON Lines and CSV, events as CSV.
struct CliFiles {
  std::string config = scratch("config.json");
  std::string exposures_jsonl = scratch("exposures.jsonl");
  std::string exposures_csv = scratch("exposures.csv");
  std::string events = scratch("events.csv");
  std::string users = scratch("users.txt");
};

CliFiles write_cli_files() {
  CliFiles f;
  const json config = json::parse(R"({"hash_key": "cli-test", "experiments": [{"name": "rec",
      "control": "A", "holdout": 0.1,
      "variants": [{"name": "A", "share": 0.5}, {"name": "B", "share": 0.5}],
      "analysis": {"minimum_detectable_effect": 0.3, "baseline": 0.1}}]})");
  std::ofstream(f.config) << config.dump(2);
  const ExperimentSet set = ExperimentSet::from_json(config);
  std::ofstream jsonl(f.exposures_jsonl), csv(f.exposures_csv), events(f.events), users(f.users);
  csv << "recommendation_id,user,session,timestamp,items,variants\n";
  events << "user_id,item_id,event_type,timestamp,value,session\n";
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  const long long t0 = 1'700'000'000'000LL;
  for (int i = 0; i < 3000; ++i) {
    const std::string id = "c" + std::to_string(i);
    users << id << "\n";
    const auto a = set.assign(user(id));
    const std::string variant = a.experiments.at(0).variant;
    const long long t = t0 + i * 60'000LL;
    const std::string rec = "r" + std::to_string(i);
    jsonl << json{{"recommendation_id", rec}, {"user", id}, {"timestamp", t},
                  {"items", {"p1", "p2", "p3"}}, {"variants", {{"rec", variant}}}}.dump() << "\n";
    csv << rec << "," << id << ",," << t << ",p1|p2|p3,rec=" << variant << "\n";
    const double rate = variant == "B" ? 0.16 : 0.10;
    if (u(rng) < rate) {
      events << id << ",p2,click," << t + 1000 << ",,\n";
      events << id << ",p2,purchase," << t + 2000 << ",25.5,inv" << i << "\n";
      if (u(rng) < 0.3) events << id << ",p3,purchase," << t + 2000 << ",10,inv" << i << "\n";
      if (u(rng) < 0.1) events << id << ",p2,return," << t + 86'400'000LL << ",,\n";
    }
    if (u(rng) < 0.05) events << id << ",p9,purchase," << t + 3000 << ",5,x" << i << "\n";  // not shown
  }
  return f;
}

}  // namespace

TEST_CASE("tailor experiment reports won/lost/inconclusive as a table and as JSON", "[experiment][cli]") {
  const CliFiles f = write_cli_files();
  const std::string inputs = "--config '" + f.config + "' --events '" + f.events + "'";
  const Run table = tailor_run("experiment " + inputs + " --exposures '" + f.exposures_jsonl + "'");
  INFO(table.out << table.err);
  REQUIRE(table.code == 0);
  CHECK(table.out.find("exposures: 3000 read (0 rejected, 0 duplicates)") != std::string::npos);
  CHECK(table.out.find("sample ratio: ok") != std::string::npos);
  CHECK(table.out.find("WON") != std::string::npos);
  CHECK(table.out.find("why: Won: conversion_rate") != std::string::npos);
  CHECK(table.out.find("holdout") != std::string::npos);

  const Run js = tailor_run("experiment --json " + inputs + " --exposures '" + f.exposures_jsonl + "'");
  REQUIRE(js.code == 0);
  const json j = json::parse(js.out);
  CHECK(j["exposures"]["accepted"] == 3000);
  REQUIRE(j["reports"].size() == 1);
  const json& report = j["reports"][0];
  CHECK(report["results"][0]["variant"] == "B");
  CHECK(report["results"][0]["verdict"] == "won");
  CHECK(report["sample_ratio"]["mismatch"] == false);
  CHECK(j["attribution"]["unattributed"].get<int>() > 0);  // purchases of p9, never shown
  // Baskets: orders are fewer than purchases; returns are counted.
  std::uint64_t orders = 0, purchases = 0, returns = 0;
  for (const auto& v : report["variants"]) {
    orders += v["orders"].get<std::uint64_t>();
    purchases += v["purchases"].get<std::uint64_t>();
    returns += v["returns"].get<std::uint64_t>();
  }
  CHECK(orders < purchases);
  CHECK(returns > 0);

  // The CSV form of the same exposures gives the same report.
  const Run from_csv = tailor_run("experiment --json " + inputs + " --exposures '" + f.exposures_csv + "'");
  REQUIRE(from_csv.code == 0);
  CHECK(json::parse(from_csv.out)["reports"] == j["reports"]);

  // --assign prints what the library assigns.
  const Run assign = tailor_run("experiment --config '" + f.config + "' --assign '" + f.users + "'");
  REQUIRE(assign.code == 0);
  std::istringstream lines(assign.out);
  std::string line;
  std::getline(lines, line);
  CHECK(line == "user_id,experiment,variant");
  const ExperimentSet set = ExperimentSet::load(f.config);
  int rows = 0;
  while (std::getline(lines, line)) {
    const auto c1 = line.find(','), c2 = line.rfind(',');
    const std::string id = line.substr(0, c1);
    CHECK(line.substr(c1 + 1, c2 - c1 - 1) == "rec");
    CHECK(line.substr(c2 + 1) == set.assign(user(id)).experiments.at(0).variant);
    ++rows;
  }
  CHECK(rows == 3000);
}

TEST_CASE("tailor experiment names the file, line and field of bad input", "[experiment][cli]") {
  const CliFiles f = write_cli_files();
  const std::string bad = scratch("bad.jsonl");
  std::ofstream(bad) << R"({"recommendation_id": "r1", "user": "u", "timestamp": 1700000000000, "items": ["a"]})" "\n"
                     << R"({"recommendation_id": "r2", "user": "u", "timestamp": "yesterday", "items": ["a"]})" "\n";
  Run r = tailor_run("experiment --config '" + f.config + "' --events '" + f.events + "' --exposures '" + bad + "'");
  CHECK(r.code == 1);
  CHECK(r.err.find("bad.jsonl:2: column 'timestamp': invalid_timestamp") != std::string::npos);
  // --lenient skips it and says so.
  r = tailor_run("experiment --lenient --config '" + f.config + "' --events '" + f.events + "' --exposures '" + bad + "'");
  CHECK(r.code == 0);
  CHECK(r.out.find("exposures: 1 read (1 rejected") != std::string::npos);
  // A bad configuration names the field.
  const std::string config = scratch("bad_config.json");
  std::ofstream(config) << R"({"experiments": [{"name": "x", "variants": [{"name": "a", "share": 0.7},
                            {"name": "b", "share": 0.7}]}]})";
  r = tailor_run("experiment --config '" + config + "' --assign '" + f.users + "'");
  CHECK(r.code == 1);
  CHECK(r.err.find("bad_config.json: experiments[0] ('x').variants: shares sum to 1.4") != std::string::npos);
  // Usage errors: exit 2.
  r = tailor_run("experiment --config '" + f.config + "' --exposures '" + f.exposures_jsonl + "'");
  CHECK(r.code == 2);
  CHECK(r.err.find("--exposures and --events are required") != std::string::npos);
  r = tailor_run("experiment --config '" + f.config + "' --window-hours -3 --assign x");
  CHECK(r.code == 2);
  r = tailor_run("experiment --config '" + f.config + "' --events '" + f.events + "' --exposures '" +
                 f.exposures_jsonl + "' --experiment nope");
  CHECK(r.code == 1);
  CHECK(r.err.find("no experiment named 'nope'") != std::string::npos);
  // The help documents the input formats.
  r = tailor_run("experiment --help");
  CHECK(r.code == 0);
  CHECK(r.out.find("recommendation_id") != std::string::npos);
  CHECK(r.out.find("last-touch") != std::string::npos);
}

#endif  // TAILOR_CLI_PATH
