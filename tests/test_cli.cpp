// Tests of the `tailor` command-line tool: runs the built binary on the tiny hand-made files in
// tests/data/cli and on files written to the scratch folder, and checks output formats, exit codes
// and error messages.
#include "catch.hpp"

#ifdef TAILOR_CLI_PATH

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recommender_fixtures.hpp"
#include "tailor/io/csv.hpp"
#include "test_data.hpp"

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

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string data(const std::string& name) {
  return std::string(TAILOR_TEST_SOURCE_DIR) + "/tests/data/cli/" + name;
}

std::string scratch(const std::string& name) { return tailor::test::scratch_dir() + "/cli_" + name; }

// RFC 4180 quoting for the files the tests write.
std::string csv_quote(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Runs `tailor <args>` (args already shell-quoted where needed), capturing stdout and stderr.
Run tailor_run(const std::string& args) {
  const std::string out = scratch("stdout.txt");
  const std::string err = scratch("stderr.txt");
  const std::string cmd = quoted(TAILOR_CLI_PATH) + " " + args + " > " + quoted(out) + " 2> " + quoted(err);
  const int status = std::system(cmd.c_str());
  Run r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

// Parses CSV text with the library's tokenizer: header + rows of fields.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::istringstream in(text);
  tailor::CsvReader reader(in, "output");
  std::vector<std::vector<std::string>> rows;
  while (reader.next_row()) {
    REQUIRE(!reader.issue());
    std::vector<std::string> row;
    for (std::size_t i = 0; i < reader.size(); ++i) row.emplace_back(reader.field(i));
    rows.push_back(row);
  }
  return rows;
}

// user -> items of tests/data/cli/events.csv (every event there has a positive weight).
std::map<std::string, std::set<std::string>> seen_items() {
  std::map<std::string, std::set<std::string>> seen;
  const auto rows = parse_csv(read_text(data("events.csv")));
  for (std::size_t r = 1; r < rows.size(); ++r) seen[rows[r][0]].insert(rows[r][1]);
  return seen;
}

// Checks user_id,rank,item_id,score rows: ranks 1..n per user in order, scores non-increasing.
std::map<std::string, std::vector<std::string>> check_recommendations(const std::string& text) {
  const auto rows = parse_csv(text);
  REQUIRE(!rows.empty());
  CHECK(rows[0] == std::vector<std::string>{"user_id", "rank", "item_id", "score"});
  std::map<std::string, std::vector<std::string>> lists;
  std::map<std::string, double> last_score;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    REQUIRE(rows[r].size() == 4);
    auto& list = lists[rows[r][0]];
    list.push_back(rows[r][2]);
    CHECK(rows[r][1] == std::to_string(list.size()));
    const double score = std::stod(rows[r][3]);
    if (list.size() > 1) CHECK(score <= last_score[rows[r][0]]);
    last_score[rows[r][0]] = score;
  }
  return lists;
}

}  // namespace

TEST_CASE("tailor recommend writes k ranked rows per user without seen items", "[cli]") {
  const Run r = tailor_run("recommend --quiet --k 2 --train " + quoted(data("events.csv")));
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());  // --quiet
  const auto lists = check_recommendations(r.out);
  const auto seen = seen_items();
  REQUIRE(lists.size() == seen.size());  // every user of the file (5), including "u4,x"
  for (const auto& [user, items] : lists) {
    INFO("user " << user);
    CHECK(items.size() == 2);
    for (const auto& item : items) CHECK(seen.at(user).count(item) == 0);
  }
  // RFC 4180 quoting of IDs with a comma or a quote, checked on the raw text.
  CHECK(r.out.find("\"u4,x\",1,") != std::string::npos);
  CHECK(r.out.find("user_id,rank,item_id,score\n") == 0);
}

TEST_CASE("tailor recommend --include-seen, catalog stock filter, --users fallback", "[cli]") {
  SECTION("--include-seen ranks every item") {
    const Run r = tailor_run("recommend --quiet --k 6 --include-seen --train " + quoted(data("events.csv")));
    REQUIRE(r.code == 0);
    const auto lists = check_recommendations(r.out);
    for (const auto& [user, items] : lists) CHECK(items.size() == 6);  // 6 items in the file
  }
  SECTION("without it, users get fewer rows when fewer items are eligible") {
    const Run r = tailor_run("recommend --quiet --k 6 --train " + quoted(data("events.csv")));
    REQUIRE(r.code == 0);
    const auto lists = check_recommendations(r.out);
    const auto seen = seen_items();
    for (const auto& [user, items] : lists) CHECK(items.size() == 6 - seen.at(user).size());
  }
  SECTION("out-of-stock catalog items are never recommended") {
    const Run r = tailor_run("recommend --quiet --k 6 --include-seen --algorithm knn --train " +
                             quoted(data("events.csv")) + " --catalog " + quoted(data("items.csv")));
    REQUIRE(r.code == 0);
    const auto lists = check_recommendations(r.out);
    for (const auto& [user, items] : lists) {
      CHECK(items.size() == 5);
      CHECK(std::find(items.begin(), items.end(), "C") == items.end());
    }
  }
  SECTION("unknown users in --users get the most popular items") {
    write_text(scratch("users.txt"), "u1\nnobody\n");
    const Run r = tailor_run("recommend --k 1 --train " + quoted(data("events.csv")) + " --users " +
                             quoted(scratch("users.txt")));
    REQUIRE(r.code == 0);
    const auto lists = check_recommendations(r.out);
    REQUIRE(lists.size() == 2);
    CHECK(lists.at("nobody") == std::vector<std::string>{"A"});  // A: 4 of 5 users
    CHECK(r.err.find("1 of 2 users are not in --train") != std::string::npos);
  }
  SECTION("a file with only user_id,item_id works, written to --out") {
    const Run r = tailor_run("recommend --quiet --k 1 --algorithm pop --train " + quoted(data("minimal.csv")) +
                             " --out " + quoted(scratch("recs.csv")));
    REQUIRE(r.code == 0);
    CHECK(r.out.empty());
    const auto lists = check_recommendations(read_text(scratch("recs.csv")));
    CHECK(lists.at("u1") == std::vector<std::string>{"C"});  // C and B tie at 2 users; B is seen
  }
}

TEST_CASE("tailor usage errors exit with code 2", "[cli]") {
  const std::string train = " --train " + quoted(data("events.csv"));
  for (const std::string& args :
       {std::string("recommend --bogus") + train, std::string("recommend --k"),
        std::string("recommend --k ten") + train, std::string("recommend --k 0") + train,
        std::string("stats"), std::string("frobnicate"), std::string(""),
        std::string("similar") + train, std::string("recommend --train a --train b"),
        std::string("stats --format xml") + train}) {
    INFO("tailor " << args);
    const Run r = tailor_run(args);
    CHECK(r.code == 2);
    REQUIRE(r.err.find("tailor: error: ") != std::string::npos);
    // The error is the last line of stderr, and one line (progress notes may come before it).
    CHECK(std::count(r.err.begin() + static_cast<std::ptrdiff_t>(r.err.find("tailor: error: ")), r.err.end(), '\n') == 1);
    CHECK(r.out.empty());
  }
  const Run help = tailor_run("recommend --help");
  CHECK(help.code == 0);
  CHECK(help.out.find("--include-seen") != std::string::npos);
}

TEST_CASE("tailor data errors exit with code 1 naming file:line and column", "[cli]") {
  SECTION("strict by default") {
    const Run r = tailor_run("stats --train " + quoted(data("bad.csv")));
    CHECK(r.code == 1);
    CHECK(r.err.find("tailor: error: ") != std::string::npos);
    CHECK(r.err.find("bad.csv:4: column 'item_id'") != std::string::npos);
  }
  SECTION("missing user column") {
    write_text(scratch("nouser.csv"), "customer,item_id\nc1,A\n");
    const Run r = tailor_run("recommend --train " + quoted(scratch("nouser.csv")));
    CHECK(r.code == 1);
    CHECK(r.err.find("user_id") != std::string::npos);
  }
  SECTION("missing file") {
    const Run r = tailor_run("fit --train " + quoted(scratch("does-not-exist.csv")));
    CHECK(r.code == 1);
    CHECK(r.err.find("does-not-exist.csv") != std::string::npos);
  }
  SECTION("unknown item for similar") {
    const Run r = tailor_run("similar --item ZZ --train " + quoted(data("events.csv")));
    CHECK(r.code == 1);
    CHECK(r.err.find("'ZZ'") != std::string::npos);
  }
}

TEST_CASE("tailor stats --json parses and counts rejections with --lenient", "[cli]") {
  const Run r = tailor_run("stats --json --train " + quoted(data("events.csv")));
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j.at("stats").at("users") == 5);
  CHECK(j.at("stats").at("items") == 6);
  CHECK(j.at("stats").at("nnz") == 14);
  CHECK(j.at("read").at("records") == 14);

  const Run bad = tailor_run("stats --json --lenient --train " + quoted(data("bad.csv")));
  REQUIRE(bad.code == 0);
  const auto b = nlohmann::json::parse(bad.out);
  CHECK(b.at("read").at("rejected") == 2);
  CHECK(b.at("read").at("accepted") == 2);
  CHECK(b.at("read").at("by_reason").at("missing_value") == 1);
  CHECK(b.at("read").at("by_reason").at("invalid_timestamp") == 1);
}

TEST_CASE("tailor reads JSON Lines, gzip and tab-separated files", "[cli]") {
  const std::string gz = scratch("events.csv.gz");
  REQUIRE(std::system(("gzip -c " + quoted(data("events.csv")) + " > " + quoted(gz)).c_str()) == 0);
  const Run g = tailor_run("stats --json --train " + quoted(gz));
  REQUIRE(g.code == 0);
  CHECK(nlohmann::json::parse(g.out).at("stats").at("nnz") == 14);

  write_text(scratch("events.jsonl"),
             "{\"user_id\":\"a\",\"item_id\":\"X\"}\n{\"user_id\":\"a\",\"item_id\":\"Y\"}\n"
             "{\"user_id\":\"b\",\"item_id\":\"X\"}\n{\"user_id\":\"b\",\"item_id\":\"Z\"}\n");
  const Run r = tailor_run("stats --json --train " + quoted(scratch("events.jsonl")));
  REQUIRE(r.code == 0);
  CHECK(nlohmann::json::parse(r.out).at("stats").at("nnz") == 4);
  write_text(scratch("events.tsv"), "user_id\titem_id\na\tX\nb\tY\n");
  const Run t = tailor_run("stats --json --delimiter tab --train " + quoted(scratch("events.tsv")));
  REQUIRE(t.code == 0);
  CHECK(nlohmann::json::parse(t.out).at("stats").at("users") == 2);
}

TEST_CASE("tailor fit prints every iteration's loss", "[cli]") {
  const Run r = tailor_run("fit --quiet --algorithm als --iterations 4 --factors 3 --train " +
                           quoted(data("events.csv")));
  REQUIRE(r.code == 0);
  CHECK(r.out.find("factors 3, iterations 4") != std::string::npos);
  CHECK(r.out.find("trained 4 iterations") != std::string::npos);
  std::istringstream lines(r.out);
  std::string line;
  int iteration_lines = 0;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    int it = 0;
    double loss = 0;
    if (fields >> it >> loss && it == iteration_lines + 1) ++iteration_lines;
  }
  CHECK(iteration_lines == 4);
}

TEST_CASE("tailor similar lists neighbours with catalog titles", "[cli]") {
  const Run r = tailor_run("similar --quiet --method knn --item A --k 2 --train " + quoted(data("events.csv")) +
                           " --catalog " + quoted(data("items.csv")));
  REQUIRE(r.code == 0);
  const auto rows = parse_csv(r.out);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0] == std::vector<std::string>{"rank", "item_id", "score", "title"});
  // Cosine of A's users {u1,u2,u4,u5} with C's {u1,u2}: 2/sqrt(8) = 0.7071, the highest.
  CHECK(rows[1][1] == "C");
  CHECK(std::stod(rows[1][2]) == Approx(0.707107).margin(1e-5));
  CHECK(rows[1][3] == "Candle");
  CHECK(rows[2][3] == "Blue cup, large");
  const Run als = tailor_run("similar --quiet --method als --item A --k 5 --train " + quoted(data("events.csv")));
  REQUIRE(als.code == 0);
  CHECK(parse_csv(als.out).size() == 6);
  // The Recommender's product-page answer (default): never the out-of-stock candle.
  const Run hybrid = tailor_run("similar --quiet --item A --k 5 --train " + quoted(data("events.csv")) +
                                " --catalog " + quoted(data("items.csv")));
  REQUIRE(hybrid.code == 0);
  const auto hrows = parse_csv(hybrid.out);
  REQUIRE(hrows.size() >= 2);
  CHECK(hrows[0] == std::vector<std::string>{"rank", "item_id", "score", "title"});
  for (std::size_t i = 1; i < hrows.size(); ++i) {
    CHECK(hrows[i][1] != "C");
    CHECK(hrows[i][1] != "A");
  }
}

TEST_CASE("tailor split partitions events, and evaluate and tune write JSON", "[cli]") {
  const std::string train = quoted(scratch("split_train.csv"));
  const std::string test = quoted(scratch("split_test.csv"));
  const Run s = tailor_run("split --quiet --in " + quoted(data("events.csv")) + " --train-out " + train +
                           " --test-out " + test + " --method leave-last-k --k 1");
  REQUIRE(s.code == 0);
  const auto tr = parse_csv(read_text(scratch("split_train.csv")));
  const auto te = parse_csv(read_text(scratch("split_test.csv")));
  CHECK(tr[0] == std::vector<std::string>{"user_id", "item_id", "event_type", "timestamp", "value"});
  CHECK(tr.size() - 1 + te.size() - 1 == 14);
  CHECK(te.size() - 1 == 5);  // one pair per user
  // Each user's test event is their latest one.
  std::map<std::string, std::string> latest_train, test_time;
  for (std::size_t i = 1; i < tr.size(); ++i) latest_train[tr[i][0]] = std::max(latest_train[tr[i][0]], tr[i][3]);
  for (std::size_t i = 1; i < te.size(); ++i) test_time[te[i][0]] = te[i][3];
  for (const auto& [user, t] : test_time) CHECK(latest_train.at(user) < t);

  const Run e = tailor_run("evaluate --quiet --k 2 --train " + train + " --test " + test + " --report " +
                           quoted(scratch("report.json")));
  REQUIRE(e.code == 0);
  CHECK(e.out.find("nDCG@2") != std::string::npos);
  const auto report = nlohmann::json::parse(read_text(scratch("report.json")));
  for (const char* model : {"hybrid", "als", "knn", "pop"}) CHECK(report.at("models").contains(model));
  CHECK(report.at("models").at("hybrid").at("auc").is_null());  // ranked lists carry no AUC
  CHECK(report.at("models").at("hybrid").at("model_options").at("als").at("factors") == 64);

  const Run t = tailor_run("tune --quiet --method random --trials 2 --iterations 3 --train " +
                           quoted(data("events.csv")));
  REQUIRE(t.code == 0);
  const auto tune = nlohmann::json::parse(t.out);
  CHECK(tune.at("search").at("trials").size() == 2);
  CHECK(tune.at("default").contains("score"));
  CHECK(tune.contains("best"));
}


namespace {

// The first 15,000 events of the bundled Online Retail data and its catalog, as the CSV files a
// shop would export (written once per run).
struct RetailFiles {
  std::string events, catalog;
};

const RetailFiles& retail_files() {
  static const RetailFiles files = [] {
    RetailFiles f{scratch("retail_events.csv"), scratch("retail_items.csv")};
    const auto& r = tailor::test::retail();
    std::ofstream ev(f.events, std::ios::binary | std::ios::trunc);
    ev << "user_id,item_id,timestamp,event_type,value\n";
    for (std::size_t i = 0, n = 0; n < 15000 && i < r.train.size(); ++i) {
      const tailor::Event& e = r.train[i];
      if (e.user.empty()) continue;  // the shop's anonymous purchases
      ++n;
      ev << csv_quote(e.user) << ',' << csv_quote(e.item) << ',' << e.timestamp << ','
         << tailor::builtin_event_type_name(e.type) << ',' << (e.value ? std::to_string(*e.value) : "")
         << '\n';
    }
    std::ofstream it(f.catalog, std::ios::binary | std::ios::trunc);
    it << "item_id,title,price\n";
    for (const auto& c : r.items)
      it << csv_quote(c.id) << ',' << csv_quote(c.title) << ','
         << (c.price ? std::to_string(*c.price) : "") << '\n';
    return f;
  }();
  return files;
}

std::string train_args() {
  return " --train " + quoted(retail_files().events) + " --catalog " + quoted(retail_files().catalog);
}

// One line on stderr, "tailor: error: ..." (progress notes may come first).
std::string error_line(const Run& r) {
  const auto at = r.err.find("tailor: error: ");
  REQUIRE(at != std::string::npos);
  const std::string line = r.err.substr(at);
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
  return line;
}

}  // namespace

TEST_CASE("tailor fit --out, then recommend --model answers as recommend --train", "[cli][online-retail]") {
  const std::string model = scratch("retail.tlm");
  const Run fit = tailor_run("fit --quiet --out " + quoted(model) + train_args());
  REQUIRE(fit.code == 0);
  CHECK(fit.out.find("saved " + model) != std::string::npos);

  const Run served = tailor_run("recommend --quiet --k 10 --reasons --model " + quoted(model));
  const Run trained = tailor_run("recommend --quiet --k 10 --reasons" + train_args());
  REQUIRE(served.code == 0);
  REQUIRE(trained.code == 0);
  CHECK(served.out == trained.out);  // same seed, same lists, scores and reasons
  const auto rows = parse_csv(served.out);
  REQUIRE(rows.size() > 1000);
  CHECK(rows[0] == std::vector<std::string>{"user_id", "rank", "item_id", "score", "reason_kind",
                                            "reason_item", "reason"});
  std::set<std::string> kinds;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    REQUIRE(rows[i].size() == 7);
    kinds.insert(rows[i][4]);
    CHECK_FALSE(rows[i][6].empty());
  }
  CHECK(kinds.count("because_bought") + kinds.count("recommended_for_you") > 0);

  const std::string item = rows[1][2];
  const Run sim_model = tailor_run("similar --quiet --k 5 --item " + quoted(item) + " --model " + quoted(model));
  const Run sim_train = tailor_run("similar --quiet --k 5 --item " + quoted(item) + train_args());
  REQUIRE(sim_model.code == 0);
  CHECK(sim_model.out == sim_train.out);
  CHECK(parse_csv(sim_model.out)[0] == std::vector<std::string>{"rank", "item_id", "score", "title"});

  const Run together = tailor_run("bought-together --quiet --k 5 --reasons --item " + quoted(item) +
                                  " --model " + quoted(model));
  REQUIRE(together.code == 0);
  CHECK(parse_csv(together.out).size() <= 6);
  const Run trending = tailor_run("trending --quiet --k 7 --model " + quoted(model));
  REQUIRE(trending.code == 0);
  CHECK(parse_csv(trending.out).size() == 8);

  // --users: a header line is skipped; unknown users get the cold-start answer and are counted.
  write_text(scratch("retail_users.csv"), "user_id\n" + rows[1][0] + "\nnobody-at-all\n");
  const Run some = tailor_run("recommend --k 3 --model " + quoted(model) + " --users " +
                              quoted(scratch("retail_users.csv")));
  REQUIRE(some.code == 0);
  const auto lists = check_recommendations(some.out);
  CHECK(lists.size() == 2);
  CHECK(lists.at("nobody-at-all").size() == 3);
  CHECK(some.err.find("1 of 2 users are not in the model") != std::string::npos);
}

TEST_CASE("tailor inspect lists sections, counts and the options, and --config sets them", "[cli][online-retail]") {
  write_text(scratch("options.json"), R"({"als": {"factors": 8, "iterations": 3}, "ranker": {"weight_trending": 0.5}})");
  const std::string model = scratch("configured.tlm");
  // --config first, then model options on the command line override it.
  const Run fit = tailor_run("fit --quiet --iterations 2 --config " + quoted(scratch("options.json")) +
                             " --out " + quoted(model) + train_args());
  REQUIRE(fit.code == 0);
  const Run text = tailor_run("inspect " + quoted(model));
  REQUIRE(text.code == 0);
  CHECK(text.out.find("format version: 1") != std::string::npos);
  CHECK(text.out.find("checksums verified") != std::string::npos);
  CHECK(text.out.find("profiles") != std::string::npos);
  const Run js = tailor_run("inspect --json --model " + quoted(model));
  REQUIRE(js.code == 0);
  const auto j = nlohmann::json::parse(js.out);
  const auto& options = j.at("header").at("metadata").at("options");
  CHECK(options.at("als").at("factors") == 8);
  CHECK(options.at("als").at("iterations") == 2);
  CHECK(options.at("ranker").at("weight_trending") == 0.5);
  CHECK(j.at("sections").size() > 10);
  CHECK(j.at("header").at("metadata").at("counts").at("users").get<int>() > 100);
}

TEST_CASE("tailor config prints every option and checks a file", "[cli]") {
  const Run defaults = tailor_run("config");
  REQUIRE(defaults.code == 0);
  const auto j = nlohmann::json::parse(defaults.out);
  CHECK(j.at("als").at("factors") == 64);
  CHECK(j.at("ranker").contains("weight_knn"));
  write_text(scratch("partial.json"), R"({"ann": {"ef_search": 99}})");
  const Run partial = tailor_run("config --config " + quoted(scratch("partial.json")));
  REQUIRE(partial.code == 0);
  auto expected = j;
  expected["ann"]["ef_search"] = 99;
  CHECK(nlohmann::json::parse(partial.out) == expected);
  write_text(scratch("partial.json"), R"({"ann": {"ef_search": -1}})");
  const Run bad = tailor_run("config --config " + quoted(scratch("partial.json")));
  CHECK(bad.code == 1);
  CHECK(bad.err.find("ann.ef_search: must not be negative") != std::string::npos);
}

TEST_CASE("tailor evaluate --relevant new counts only items new to their user", "[cli]") {
  // u1 buys A again and D for the first time: with --relevant new only D is relevant.
  write_text(scratch("eval_train.csv"), "user_id,item_id\nu1,A\nu1,B\nu2,A\nu2,D\nu3,B\nu3,D\n");
  write_text(scratch("eval_test.csv"), "user_id,item_id\nu1,A\nu1,D\n");
  const std::string files = " --train " + quoted(scratch("eval_train.csv")) + " --test " +
                            quoted(scratch("eval_test.csv")) + " --models pop --k 1 --report ";
  const Run all = tailor_run("evaluate --quiet" + files + quoted(scratch("eval_all.json")));
  const Run fresh = tailor_run("evaluate --quiet --relevant new" + files + quoted(scratch("eval_new.json")));
  REQUIRE(all.code == 0);
  REQUIRE(fresh.code == 0);
  const auto metrics = [](const std::string& path) {
    return nlohmann::json::parse(read_text(path)).at("models").at("pop").at("metrics").at("@1");
  };
  // pop ranks D first for u1 (A and B are seen): a hit either way, recall 1/2 against 1/1.
  CHECK(metrics(scratch("eval_all.json")).at("recall") == Approx(0.5));
  CHECK(metrics(scratch("eval_new.json")).at("recall") == Approx(1.0));
}

TEST_CASE("tailor refuses a bad --config or model file in one line, exit 1", "[cli][online-retail]") {
  const std::string config = scratch("bad_options.json");
  write_text(config, R"({"als": {"factor": 3}})");
  Run r = tailor_run("fit --quiet --config " + quoted(config) + train_args());
  CHECK(r.code == 1);
  CHECK(error_line(r).find(config + ": als.factor: unknown key") != std::string::npos);
  write_text(config, R"({"als": {"factors": )");
  r = tailor_run("recommend --quiet --config " + quoted(config) + train_args());
  CHECK(r.code == 1);
  CHECK(error_line(r).find(config + ": not valid JSON") != std::string::npos);

  const std::string model = scratch("retail.tlm");
  const Run fit = tailor_run("fit --quiet --iterations 2 --out " + quoted(model) + train_args());
  REQUIRE(fit.code == 0);
  const std::string bytes = read_text(model);
  const std::string cut = scratch("truncated.tlm");
  write_text(cut, bytes.substr(0, bytes.size() / 2));
  for (const std::string command : {"recommend", "inspect", "trending"}) {
    INFO(command);
    r = tailor_run(command + " --quiet --model " + quoted(cut));
    if (command == "inspect") r = tailor_run("inspect " + quoted(cut));
    CHECK(r.code == 1);
    CHECK(error_line(r).find(cut) != std::string::npos);
  }
  std::string flipped = bytes;
  flipped[bytes.size() / 3] = static_cast<char>(flipped[bytes.size() / 3] ^ 0x10);
  write_text(cut, flipped);
  r = tailor_run("recommend --quiet --model " + quoted(cut));
  CHECK(r.code == 1);
  CHECK(error_line(r).find("section") != std::string::npos);

  // Usage mistakes are exit 2.
  for (const std::string& args : {"recommend --model " + quoted(model) + train_args(),
                                  "recommend --model " + quoted(model) + " --config " + quoted(config),
                                  "recommend --model " + quoted(model) + " --factors 3",
                                  std::string("recommend --k 3"),
                                  "recommend --algorithm knn --model " + quoted(model)}) {
    INFO(args);
    CHECK(tailor_run(args).code == 2);
  }
}

#else
TEST_CASE("tailor CLI tests need the tailor_cli target", "[cli][!mayfail]") { SUCCEED("CLI not built"); }
#endif

TEST_CASE("tailor tune --model hybrid searches the Recommender's options on a temporal period",
          "[cli][online-retail]") {
  const std::string config = scratch("tune_base.json");
  // EASE and blend learning off keep each trial's retrain short; the search is the same.
  write_text(config, R"({"ease": {"enabled": false}, "blend": {"validation_days": 0}, "als": {"iterations": 3}})");
  const Run t = tailor_run("tune --quiet --model hybrid --method random --trials 2 --k 20 --config " +
                           quoted(config) + " --train " + quoted(retail_files().events));
  REQUIRE(t.code == 0);
  const auto tune = nlohmann::json::parse(t.out);
  CHECK(tune.at("model") == "hybrid");
  CHECK(tune.at("validation").at("method") == "temporal");
  CHECK(tune.at("validation").at("users").get<int>() > 0);
  CHECK(tune.at("search").at("trials").size() == 2);
  const double start = tune.at("default").at("score").get<double>();
  CHECK(start > 0.0);
  CHECK(start < 1.0);
  for (const char* p : {"popularity_half_life_days", "ease_lambda", "factors", "regularization"}) {
    CHECK(tune.at("best").at("params").contains(p));
  }
  // "config" is a complete options file the other commands accept, and it keeps the start's
  // settings the search does not touch.
  CHECK(tune.at("config").at("ease").at("enabled") == false);
  write_text(scratch("tuned.json"), tune.at("config").dump());
  const Run check = tailor_run("config --config " + quoted(scratch("tuned.json")));
  CHECK(check.code == 0);

  const Run bad = tailor_run("tune --quiet --model hybrid --val-method stratified-user --train " +
                             quoted(retail_files().events));
  CHECK(bad.code == 2);
  CHECK(bad.err.find("--val-method") != std::string::npos);
  const Run wrong = tailor_run("tune --quiet --model ease --train " + quoted(retail_files().events));
  CHECK(wrong.code == 2);
}
