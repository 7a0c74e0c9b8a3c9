// Tests of `tailor serve`: each case starts the built server on a free loopback port and drives
// it with a real HTTP client (curl), a real browser (headless Chromium, [browser]) and real
// signals (SIGTERM, SIGKILL). Registered only when the server is built (cpp-httplib found) and
// curl is installed (tests/CMakeLists.txt).
#include "catch.hpp"

#if defined(TAILOR_CLI_PATH) && defined(TAILOR_CURL_PATH)

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recommender_fixtures.hpp"
#include "test_data.hpp"

namespace {

using nlohmann::json;

std::string scratch(const std::string& name) {
  return tailor::test::scratch_dir() + "/server_" + std::to_string(::getpid()) + "_" + name;
}

using tailor::test::read_bytes;
using tailor::test::write_bytes;

// Runs argv (no shell); returns the exit status (-1 when killed by a signal).
int run_process(const std::vector<std::string>& args, const std::string& out_path = "/dev/null") {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A running `tailor serve`: started with `args`, ready when it printed its listening line.
class Server {
 public:
  explicit Server(const std::vector<std::string>& args, const std::string& name = "server") {
    err_path_ = scratch(name + ".stderr");
    int out[2];
    REQUIRE(::pipe(out) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      const int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(err, 2);
      ::close(out[0]);
      std::vector<std::string> all = {TAILOR_CLI_PATH, "serve", "--port", "0"};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
    // Wait for "listening on http://HOST:PORT" (training may take a while under sanitizers).
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    while (line.find('\n') == std::string::npos) {
      pollfd p{out_, POLLIN, 0};
      const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            deadline - std::chrono::steady_clock::now())
                                            .count());
      if (left <= 0 || ::poll(&p, 1, left) <= 0) break;
      char c[256];
      const ssize_t n = ::read(out_, c, sizeof c);
      if (n <= 0) break;
      line.append(c, static_cast<std::size_t>(n));
    }
    INFO("stderr of the server: " << read_bytes(err_path_));
    REQUIRE(line.rfind("listening on http://127.0.0.1:", 0) == 0);
    port_ = std::stoi(line.substr(std::string("listening on http://127.0.0.1:").size()));
  }
  ~Server() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  /// Sends `sig` and waits: the exit code, or -1 when the signal killed it.
  int stop(int sig) {
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string stderr_text() const { return read_bytes(err_path_); }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
  std::string err_path_;
};

struct Reply {
  int status = 0;
  std::string body;
  json doc() const {
    INFO("body: " << body);
    return json::parse(body);
  }
};

// One request through curl. `body` is sent as is (with Content-Type: application/json).
Reply http(const Server& server, const std::string& method, const std::string& path,
           const std::string& body = "", const std::vector<std::string>& headers = {}) {
  const std::string body_out = scratch("reply.txt");
  const std::string status_out = scratch("status.txt");
  std::vector<std::string> args = {TAILOR_CURL_PATH, "-sS", "-o", body_out, "-w", "%{http_code}",
                                   "-X", method};
  for (const auto& h : headers) {
    args.push_back("-H");
    args.push_back(h);
  }
  if (!body.empty() || method == "POST" || method == "PUT") {
    const std::string body_in = scratch("request.json");
    write_bytes(body_in, body);
    args.push_back("-H");
    args.push_back("Content-Type: application/json");
    args.push_back("--data-binary");
    args.push_back("@" + body_in);
  }
  args.push_back(server.url(path));
  const int code = run_process(args, status_out);
  REQUIRE(code == 0);
  Reply r;
  r.status = std::stoi(read_bytes(status_out));
  r.body = read_bytes(body_out);
  return r;
}

// A small shop of 60 shoppers and 40 products in four categories: each shopper buys in one
// category, so the models have structure to learn. Written once per process.
struct SyntheticShop {
  std::string events = scratch("events.csv");
  std::string items = scratch("items.csv");
  std::string config = scratch("fast.json");
  SyntheticShop() {
    std::ostringstream e;
    e << "user_id,item_id,timestamp,event_type,value\n";
    for (int u = 0; u < 60; ++u) {
      const int cat = u % 4;
      for (int j = 0; j < 6; ++j) {
        const int item = cat * 10 + (u * 7 + j * 3) % 10;
        e << "u" << u << ",p" << item << "," << (1700000000 + u * 1000 + j * 60) << ","
          << (j % 3 == 0 ? "view" : "purchase") << ",1\n";
      }
    }
    write_bytes(events, e.str());
    std::ostringstream i;
    i << "item_id,title,category,price,in_stock\n";
    const char* cats[] = {"Kitchen", "Garden", "Toys", "Books"};
    for (int p = 0; p < 40; ++p) {
      i << "p" << p << "," << cats[p / 10] << " thing " << p << ",Home > " << cats[p / 10] << ","
        << (1.0 + p) << ",true\n";
    }
    write_bytes(items, i.str());
    write_bytes(config, R"({"blend": {"validation_days": 0}, "als": {"factors": 8, "iterations": 4}})");
  }
};

const SyntheticShop& shop() {
  static const SyntheticShop s;
  return s;
}

std::vector<std::string> item_ids(const json& reply) {
  std::vector<std::string> ids;
  for (const auto& i : reply.at("items")) ids.push_back(i.at("item_id").get<std::string>());
  return ids;
}

// The value of one un-labelled or labelled metric line, or -1.
double metric(const std::string& text, const std::string& name_and_labels) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name_and_labels + " ", 0) == 0) return std::stod(line.substr(name_and_labels.size() + 1));
  }
  return -1;
}

std::vector<std::string> retail_flags() {
  return {"--train", tailor::test::bundled_retail(), "--user-col", "CustomerID", "--item-col",
          "StockCode", "--time-col", "InvoiceDate", "--value-col", "Quantity", "--lenient"};
}

}  // namespace

TEST_CASE("tailor serve answers every endpoint and names the field of every bad input", "[server]") {
  const std::string saved = scratch("saved.tlm");
  std::remove(saved.c_str());
  Server server({"--train", shop().events, "--catalog", shop().items, "--config", shop().config,
                 "--event-log", scratch("endpoints.log"), "--save-on-exit", saved,
                 "--max-body-bytes", "65536", "--max-batch", "50", "--quiet"});
  std::remove(scratch("endpoints.log").c_str());  // (the server holds it open; nothing reads it again)

  CHECK(http(server, "GET", "/healthz").doc().at("status") == "ok");
  const json ready = http(server, "GET", "/readyz").doc();
  CHECK(ready.at("ready") == true);
  const std::uint64_t version = ready.at("model_version").get<std::uint64_t>();
  CHECK(version >= 1);

  SECTION("recommendations, similar, bought-together, trending") {
    const Reply r = http(server, "GET", "/v1/recommendations?user_id=u0&k=5");
    REQUIRE(r.status == 200);
    const json doc = r.doc();
    CHECK(doc.at("model_version") == version);
    REQUIRE(doc.at("items").size() == 5);
    for (const auto& item : doc.at("items")) {
      for (const char* key : {"item_id", "score", "reason_kind", "reason_item", "reason"}) {
        CHECK(item.contains(key));
      }
      CHECK_FALSE(item.at("reason").get<std::string>().empty());
    }
    // u0 bought in Kitchen (p0..p9): the collaborative answer stays in Kitchen mostly.
    int kitchen = 0;
    for (const auto& id : item_ids(doc)) kitchen += std::stoi(id.substr(1)) < 10 ? 1 : 0;
    CHECK(kitchen >= 3);
    // Unknown shoppers and anonymous sessions get the cold-start answer, not an error.
    CHECK(http(server, "GET", "/v1/recommendations?user_id=nobody&k=3").doc().at("items").size() == 3);
    CHECK(http(server, "GET", "/v1/recommendations?session_id=s1&k=3").doc().at("items").size() == 3);
    // Rules through the query: price range and category.
    const json cheap = http(server, "GET", "/v1/recommendations?user_id=u1&k=10&max_price=5").doc();
    for (const auto& id : item_ids(cheap)) CHECK(std::stoi(id.substr(1)) + 1.0 <= 5.0);
    const json books = http(server, "GET", "/v1/recommendations?user_id=u1&k=5&category=Home%3EBooks").doc();
    for (const auto& id : item_ids(books)) CHECK(std::stoi(id.substr(1)) >= 30);
    const json excl = http(server, "GET", "/v1/recommendations?user_id=u0&k=5&exclude=" + item_ids(doc)[0]).doc();
    for (const auto& id : item_ids(excl)) CHECK(id != item_ids(doc)[0]);

    CHECK(http(server, "GET", "/v1/items/p3/similar?k=4").doc().at("items").size() == 4);
    CHECK(http(server, "GET", "/v1/items/p3/bought-together?k=4").status == 200);
    CHECK(http(server, "GET", "/v1/trending?k=3").doc().at("items").size() <= 3);
    const Reply unknown = http(server, "GET", "/v1/items/nope/similar");
    CHECK(unknown.status == 404);
    CHECK_THAT(unknown.doc().at("error").get<std::string>(), Catch::Contains("nope"));
  }

  SECTION("events: accepted whole, or refused whole naming the index and field") {
    Reply r = http(server, "POST", "/v1/events",
                   R"({"user_id": "fresh", "item_id": "p21", "type": "purchase", "timestamp": "2023-11-15T10:00:00Z"})");
    REQUIRE(r.status == 200);
    CHECK(r.doc().at("accepted") == 1);
    r = http(server, "POST", "/v1/events",
             R"([{"user_id": "fresh", "item_id": "p22", "type": "purchase"},
                 {"user_id": 17, "item_id": "p23", "type": "view", "timestamp": 1700000000000},
                 {"session_id": "s9", "item_id": "p1", "type": "add_to_cart", "value": 2}])");
    REQUIRE(r.status == 200);
    CHECK(r.doc().at("accepted") == 3);
    // The shopper's purchases are excluded at once, and the answer leans to Garden.
    const json fresh = http(server, "GET", "/v1/recommendations?user_id=fresh&k=5").doc();
    for (const auto& id : item_ids(fresh)) CHECK((id != "p21" && id != "p22"));

    const std::string before = http(server, "GET", "/metrics").body;
    const double ingested = metric(before, "tailor_events_ingested_total");
    CHECK(ingested == 4);
    struct Bad {
      std::string body;
      int status;
      std::string names;
    };
    const std::string long_id(2000, 'x');
    const std::vector<Bad> bad = {
        {R"([{"user_id": "a", "item_id": "p1", "type": "view"}, {"user_id": "a", "item_id": "p2", "type": "nope"}])", 400, "[1].type"},
        {R"([{"user_id": "a", "item_id": "p1", "type": "view"}, {"user_id": "a", "type": "view"}])", 400, "[1].item_id"},
        {R"({"item_id": "p1", "type": "view"})", 400, "user_id"},
        {R"({"user_id": [1], "item_id": "p1", "type": "view"})", 400, "user_id"},
        {R"({"user_id": "a", "item_id": "p1", "type": "view", "value": 1e999})", 400, "1e999"},
        {R"({"user_id": "a", "item_id": "p1", "type": "view", "value": NaN})", 400, "malformed JSON"},
        {R"({"user_id": "a", "item_id": "p1", "type": "view", "timestamp": "yesterday"})", 400, "timestamp"},
        {R"({"user_id": "a", "item_id": "p1", "type": "view", "colour": "red"})", 400, "colour"},
        {R"({"user_id": ")" + long_id + R"(", "item_id": "p1", "type": "view"})", 400, "user_id"},
        {R"({"user_id": "a", "item_id": "p1", "type": "rating", "value": 1e300})", 400, "value"},
        {R"({"user_id": "a", "item_id": "p1")", 400, "malformed JSON"},
        {R"("just a string")", 400, "body"},
        {"[]", 400, "body"},
    };
    for (const Bad& b : bad) {
      INFO(b.body.substr(0, 200));
      const Reply reply = http(server, "POST", "/v1/events", b.body);
      CHECK(reply.status == b.status);
      CHECK_THAT(reply.doc().at("error").get<std::string>(), Catch::Contains(b.names));
    }
    // Limits: 51 events (at most 50) and a body over 64 KiB.
    json many = json::array();
    for (int i = 0; i < 51; ++i) many.push_back({{"user_id", "a"}, {"item_id", "p1"}, {"type", "view"}});
    const Reply too_many = http(server, "POST", "/v1/events", many.dump());
    CHECK(too_many.status == 413);
    CHECK_THAT(too_many.doc().at("error").get<std::string>(), Catch::Contains("at most 50"));
    const std::string huge = R"({"user_id": "a", "item_id": "p1", "type": "search", "query": ")" +
                             std::string(70000, 'q') + "\"}";
    CHECK(http(server, "POST", "/v1/events", huge).status == 413);
    // Nothing of the refused requests was applied.
    CHECK(metric(http(server, "GET", "/metrics").body, "tailor_events_ingested_total") == ingested);
  }

  SECTION("query parameters are checked") {
    for (const auto& [query, names] : std::vector<std::pair<std::string, std::string>>{
             {"user_id=u0&k=0", "'k'"},
             {"user_id=u0&k=abc", "'k'"},
             {"user_id=u0&k=100000", "'k'"},
             {"k=5", "user_id"},
             {"user_id=u0&colour=red", "'colour'"},
             {"user_id=u0&min_price=-1", "min_price"},
             {"user_id=u0&max_price=inf", "max_price"},
             {"user_id=u0&diversity=2", "diversity"},
             {"user_id=u0&user_id=u1", "more than once"},
             {"user_id=session:x", "user_id"},
             {"user_id=u0&context_item=nope", "nope"}}) {
      INFO(query);
      const Reply r = http(server, "GET", "/v1/recommendations?" + query);
      CHECK((r.status == 400 || r.status == 404));
      CHECK_THAT(r.doc().at("error").get<std::string>(), Catch::Contains(names));
    }
    // Garbage never crashes it: random bytes as bodies of every writing route, odd paths.
    std::uint64_t state = 0x9e3779b97f4a7c15ULL;
    auto next = [&state] {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      return state;
    };
    for (int i = 0; i < 30; ++i) {
      std::string junk(static_cast<std::size_t>(next() % 300), '\0');
      for (auto& c : junk) c = static_cast<char>(next() & 0xff);
      if (i % 3 == 1) junk = "[" + junk;  // past the first byte of the parser
      if (i % 3 == 2) junk = R"({"user_id": ")" + junk + R"(", "item_id": "p1", "type": "view"})";
      for (const char* route : {"/v1/events", "/v1/items"}) {
        const Reply r = http(server, route[4] == 'e' ? "POST" : "PUT", route, junk);
        INFO(route << " " << i);
        CHECK((r.status == 400 || r.status == 200));
      }
    }
    CHECK(http(server, "GET", "/v1/items/%00%ff/similar").status == 404);
    CHECK(http(server, "GET", "/v1/items/" + std::string(3000, 'x') + "/similar").status == 400);
    CHECK(http(server, "GET", "/healthz").status == 200);
    const Reply route = http(server, "GET", "/v1/nothing-here");
    CHECK(route.status == 404);
    CHECK_THAT(route.doc().at("error").get<std::string>(), Catch::Contains("/v1/nothing-here"));
  }

  SECTION("catalog upserts, erasure, retraining, metrics, status and a clean stop") {
    Reply r = http(server, "PUT", "/v1/items",
                   R"([{"item_id": "p40", "title": "Kitchen thing 40", "category": "Home > Kitchen", "price": 3.5},
                       {"item_id": "p3", "in_stock": false}])");
    REQUIRE(r.status == 200);
    CHECK(r.doc().at("upserted") == 2);
    CHECK(http(server, "GET", "/v1/items/p40/similar?k=3").status == 200);
    for (const auto& id : item_ids(http(server, "GET", "/v1/recommendations?user_id=u0&k=20").doc())) {
      CHECK(id != "p3");  // out of stock now
    }
    REQUIRE(http(server, "PUT", "/v1/items", R"({"item_id": "p3", "price": 9.5})").status == 200);
    for (const auto& id : item_ids(http(server, "GET", "/v1/recommendations?user_id=u0&k=20").doc())) {
      CHECK(id != "p3");  // a price change without in_stock keeps it out of stock
    }
    CHECK(http(server, "PUT", "/v1/items", R"([{"item_id": "p41", "price": "cheap"}])").status == 400);

    REQUIRE(http(server, "POST", "/v1/events", R"({"user_id": "gone", "item_id": "p5", "type": "purchase"})").status == 200);
    r = http(server, "DELETE", "/v1/users/gone");
    REQUIRE(r.status == 200);
    CHECK(r.doc().at("erased") == "gone");
    CHECK(r.doc().at("events_dropped") == 1);

    r = http(server, "POST", "/v1/retrain");
    REQUIRE(r.status == 200);
    CHECK(r.doc().at("published") == true);
    const std::uint64_t retrained = r.doc().at("model_version").get<std::uint64_t>();
    CHECK(retrained > version);
    CHECK(http(server, "GET", "/readyz").doc().at("model_version") == retrained);

    const std::string m = http(server, "GET", "/metrics").body;
    CHECK(metric(m, "tailor_model_version") == static_cast<double>(retrained));
    CHECK(metric(m, R"(tailor_http_requests_total{endpoint="retrain",code="200"})") == 1);
    CHECK(metric(m, R"(tailor_http_requests_total{endpoint="items",code="400"})") == 1);
    CHECK(metric(m, R"(tailor_http_request_duration_seconds_count{endpoint="similar"})") == 1);
    CHECK(metric(m, R"(tailor_retrains_total{result="ok"})") == 1);
    CHECK(metric(m, R"(tailor_recommender_call_duration_seconds_count{operation="recommend"})") >= 1);
    CHECK(metric(m, "tailor_event_log_errors_total") == 0);
    CHECK(m.find("tailor_drift_signal{signal=\"item_popularity\"") != std::string::npos);
    CHECK(m.find(R"(tailor_http_request_duration_seconds_bucket{endpoint="recommendations",le="+Inf"})") != std::string::npos);

    const json status = http(server, "GET", "/v1/status").doc();
    CHECK(status.at("model").at("version") == retrained);
    CHECK(status.at("model").at("catalog_items") == 41);  // 40 and p40 (p41 was refused)
    CHECK(status.contains("drift"));

    CHECK(server.stop(SIGTERM) == 0);
    CHECK(run_process({TAILOR_CLI_PATH, "inspect", saved}) == 0);  // saved, and intact
  }
}

TEST_CASE("tailor serve with an API key refuses /v1 requests without it, and retraining a model "
          "without its log", "[server]") {
  const std::string model = scratch("auth.tlm");
  REQUIRE(run_process({TAILOR_CLI_PATH, "fit", "--train", shop().events, "--config", shop().config,
                       "--out", model, "--quiet"}) == 0);
  const std::string key_file = scratch("api.key");
  const std::string key = "k3y-0123456789-abcdef";
  write_bytes(key_file, key + "\n");
  Server server({"--model", model, "--api-key-file", key_file, "--quiet"});
  const std::string path = "/v1/recommendations?user_id=u1&k=3";
  Reply r = http(server, "GET", path);
  CHECK(r.status == 401);
  CHECK_THAT(r.doc().at("error").get<std::string>(), Catch::Contains("Authorization"));
  CHECK(http(server, "GET", path, "", {"Authorization: Bearer wrong-key-0123456789"}).status == 401);
  CHECK(http(server, "GET", path, "", {"Authorization: Bearer " + key + "x"}).status == 401);
  CHECK(http(server, "GET", path, "", {"Authorization: " + key}).status == 401);
  CHECK(http(server, "POST", "/v1/events", R"({"user_id": "a", "item_id": "p1", "type": "view"})").status == 401);
  CHECK(http(server, "GET", path, "", {"Authorization: Bearer " + key}).status == 200);
  // Probes and metrics stay open for the orchestrator and the scraper.
  CHECK(http(server, "GET", "/healthz").status == 200);
  const std::string m = http(server, "GET", "/metrics").body;
  CHECK(metric(m, "tailor_http_auth_failures_total") == 5);
  // Loaded from a file without its event log: a retrain would forget the model's history.
  r = http(server, "POST", "/v1/retrain", "", {"Authorization: Bearer " + key});
  CHECK(r.status == 409);
  CHECK_THAT(r.doc().at("error").get<std::string>(), Catch::Contains("event log"));
  CHECK(server.stop(SIGINT) == 0);

  write_bytes(key_file, "short\n");
  const std::string out = scratch("short-key.txt");
  CHECK(run_process({TAILOR_CLI_PATH, "serve", "--model", model, "--api-key-file", key_file,
                     "--port", "0"}, out) == 1);
  CHECK_THAT(read_bytes(out), Catch::Contains("at least 16"));
}

TEST_CASE("tailor serve: a kill -9 after N acknowledged events loses none of them",
          "[server]") {
  const std::string log = scratch("crash.log");
  const std::string model = scratch("crash.tlm");
  std::remove(log.c_str());
  std::remove(model.c_str());
  {
    // A server trained on the bundled Online Retail data, its events in the log, saved on exit.
    std::vector<std::string> args = retail_flags();
    args.insert(args.end(), {"--event-log", log, "--save-on-exit", model, "--config", shop().config, "--quiet"});
    Server first(args, "first");
    CHECK(first.stop(SIGTERM) == 0);
  }
  const std::vector<std::string> restart = {"--model", model, "--event-log", log, "--quiet"};
  const int n = 25;
  std::vector<std::string> answer;
  double kept = 0;
  const std::vector<std::string> products = {"85123A", "71053", "84406B", "84029G", "84029E",
                                             "22752",  "21730", "22633",  "22632",  "84879",
                                             "22745",  "22748", "22749",  "22310",  "84969",
                                             "22623",  "22622", "21754",  "21755",  "21777",
                                             "48187",  "22960", "22913",  "22912",  "22914"};
  {
    Server second(restart, "second");
    for (int i = 0; i < n; ++i) {
      const json e = {{"user_id", "crash-shopper"}, {"item_id", products[static_cast<std::size_t>(i)]},
                      {"type", "purchase"}, {"timestamp", 1323500000000LL + i * 60000LL}};
      REQUIRE(http(second, "POST", "/v1/events", e.dump()).status == 200);
    }
    answer = item_ids(http(second, "GET", "/v1/recommendations?user_id=crash-shopper&k=10").doc());
    kept = metric(http(second, "GET", "/metrics").body, "tailor_events_kept");
    CHECK(second.stop(SIGKILL) == -1);
  }
  REQUIRE(answer.size() == 10);
  const std::set<std::string> bought(products.begin(), products.end());
  for (const auto& id : answer) CHECK(bought.count(id) == 0);
  Server third(restart, "third");
  CHECK(metric(http(third, "GET", "/metrics").body, "tailor_events_kept") == kept);
  CHECK(item_ids(http(third, "GET", "/v1/recommendations?user_id=crash-shopper&k=10").doc()) == answer);
  // The log holds the model's history too, so this server may retrain: on all of it.
  const Reply r = http(third, "POST", "/v1/retrain");
  REQUIRE(r.status == 200);
  CHECK(r.doc().at("events").get<double>() == kept);
}

TEST_CASE("tailor serve: an experiment variant may be served by another model file", "[server]") {
  // Model B knows a blockbuster model A has never seen: B's shoppers get it, A's never do.
  const std::string a = scratch("variant-a.tlm");
  const std::string b = scratch("variant-b.tlm");
  REQUIRE(run_process({TAILOR_CLI_PATH, "fit", "--train", shop().events, "--config", shop().config,
                       "--out", a, "--quiet"}) == 0);
  std::string events_b = read_bytes(shop().events);
  for (int u = 0; u < 60; ++u) events_b += "u" + std::to_string(u) + ",BLOCKBUSTER,1700100000,purchase,1\n";
  write_bytes(scratch("events-b.csv"), events_b);
  REQUIRE(run_process({TAILOR_CLI_PATH, "fit", "--train", scratch("events-b.csv"), "--config",
                       shop().config, "--out", b, "--quiet"}) == 0);
  const std::string experiments = scratch("experiments.json");
  write_bytes(experiments, json{{"experiments",
                                {{{"name", "model-ab"},
                                  {"variants",
                                   {{{"name", "control"}, {"share", 0.5}},
                                    {{"name", "model-b"}, {"share", 0.5}, {"config", {{"model", b}}}}}}}}}}
                              .dump());
  Server server({"--model", a, "--experiments", experiments, "--quiet"});
  std::map<std::string, int> served;
  for (int i = 0; i < 40; ++i) {
    const std::string user = "visitor" + std::to_string(i);
    const json doc = http(server, "GET", "/v1/recommendations?k=5&user_id=" + user).doc();
    const std::string variant = doc.at("assignments").at("model-ab").get<std::string>();
    const auto ids = item_ids(doc);
    const bool has_blockbuster = std::find(ids.begin(), ids.end(), "BLOCKBUSTER") != ids.end();
    INFO(user << " in " << variant);
    CHECK(has_blockbuster == (variant == "model-b"));
    CHECK_FALSE(doc.at("recommendation_id").get<std::string>().empty());
    ++served[variant];
  }
  CHECK(served["control"] > 5);
  CHECK(served["model-b"] > 5);
  // Both arms' exposures reach the experiment's report.
  const json report = http(server, "GET", "/v1/experiments").doc().at("experiments").at(0);
  CHECK(report.at("experiment") == "model-ab");
  const std::string text = report.at("report").dump();
  CHECK(text.find("model-b") != std::string::npos);
  CHECK(text.find("control") != std::string::npos);
}

TEST_CASE("tailor serve under concurrent clients: every request answered, every event counted",
          "[server][concurrency]") {
  Server server({"--train", shop().events, "--catalog", shop().items, "--config", shop().config,
                 "--event-log", scratch("concurrent.log"), "--http-threads", "4", "--quiet"});
  const double kept_before = metric(http(server, "GET", "/metrics").body, "tailor_events_kept");
  // Four clients at once, each 30 recommendation requests and 10 events, plus a retrain and
  // catalog upserts in the middle of it.
  const int clients = 4;
  std::vector<pid_t> children;
  for (int c = 0; c < clients; ++c) {
    const std::string script = scratch("client" + std::to_string(c) + ".sh");
    std::ostringstream sh;
    for (int i = 0; i < 40; ++i) {
      const std::string user = "u" + std::to_string((c * 13 + i) % 60);
      if (i % 4 == 3) {
        sh << "'" << TAILOR_CURL_PATH << "' -s -o /dev/null -w '%{http_code}\\n' -X POST -H 'Content-Type: application/json' "
           << "--data-binary '{\"user_id\":\"" << user << "\",\"item_id\":\"p" << (i + c) % 40
           << "\",\"type\":\"view\"}' " << server.url("/v1/events") << "\n";
      } else {
        sh << "'" << TAILOR_CURL_PATH << "' -s -o /dev/null -w '%{http_code}\\n' '"
           << server.url("/v1/recommendations?k=5&user_id=" + user) << "'\n";
      }
    }
    write_bytes(script, sh.str());
    const std::string out = scratch("client" + std::to_string(c) + ".out");  // (before fork: pid)
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::execl("/bin/sh", "sh", script.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    children.push_back(pid);
  }
  CHECK(http(server, "POST", "/v1/retrain").status == 200);
  CHECK(http(server, "PUT", "/v1/items", R"({"item_id": "p7", "price": 2.5})").status == 200);
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
  }
  for (int c = 0; c < clients; ++c) {
    std::istringstream lines(read_bytes(scratch("client" + std::to_string(c) + ".out")));
    std::string line;
    int answered = 0;
    while (std::getline(lines, line)) {
      CHECK(line == "200");
      ++answered;
    }
    CHECK(answered == 40);
  }
  const std::string m = http(server, "GET", "/metrics").body;
  CHECK(metric(m, "tailor_events_ingested_total") == clients * 10);
  CHECK(metric(m, "tailor_events_kept") == kept_before + clients * 10);
  CHECK(metric(m, R"(tailor_http_requests_total{endpoint="recommendations",code="200"})") == clients * 30);
  CHECK(server.stop(SIGTERM) == 0);
}

#ifdef TAILOR_CHROMIUM_PATH
TEST_CASE("tailor serve: the dashboard shows the model version and a shopper's list in Chromium",
          "[server][browser]") {
  Server server({"--train", shop().events, "--catalog", shop().items, "--config", shop().config, "--quiet"});
  const json ready = http(server, "GET", "/readyz").doc();
  const std::string version = std::to_string(ready.at("model_version").get<std::uint64_t>());
  const auto expected = item_ids(http(server, "GET", "/v1/recommendations?user_id=u5&k=10").doc());
  REQUIRE(expected.size() == 10);
  const std::string dom = scratch("dom.html");
  const std::string profile = scratch("chromium-profile");
  const int code = run_process({TAILOR_CHROMIUM_PATH, "--headless", "--no-sandbox", "--disable-gpu",
                                "--no-first-run", "--user-data-dir=" + profile,
                                "--virtual-time-budget=10000", "--dump-dom",
                                server.url("/?user_id=u5&k=10")},
                               dom);
  REQUIRE(code == 0);
  const std::string html = read_bytes(dom);
  INFO(html.substr(0, 3000));
  CHECK(html.find("id=\"model-version\">" + version + "<") != std::string::npos);
  std::size_t at = 0;
  for (const auto& id : expected) {  // every item, in the API's order
    const std::size_t found = html.find("data-item=\"" + id + "\"", at);
    CHECK(found != std::string::npos);
    if (found != std::string::npos) at = found;
  }
  CHECK(html.find("model version " + version) != std::string::npos);
}
#endif

#endif
