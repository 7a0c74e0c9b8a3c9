#include "server/http_service.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "server/dashboard.hpp"
#include "tailor/core/error.hpp"
#include "tailor/experiments/report.hpp"
#include "tailor/io/readers.hpp"
#include "tailor/version.hpp"

namespace tailor::server {

namespace {

using nlohmann::json;

// The route names metrics are labelled with (never raw paths: the label set stays bounded).
const std::vector<std::string> kEndpoints = {
    "dashboard", "healthz",  "readyz",          "metrics",  "status",      "events",
    "recommendations", "similar", "bought_together", "trending", "items",  "erase_user",
    "erase_session", "retrain", "experiments"};

int status_of(const Error& e) {
  switch (e.code()) {
    case ErrorCode::invalid_argument:
    case ErrorCode::parse_error:
      return 400;
    case ErrorCode::unknown_id:
      return 404;
    case ErrorCode::not_fitted:
      return 503;
    default:
      return 500;
  }
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, json{{"error", message}, {"status", status}});
}

// Equal-length-independent comparison: the time depends only on the lengths.
bool constant_time_equal(const std::string& a, const std::string& b) {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

Query query_of(const httplib::Request& req) {
  Query q;
  for (const auto& [name, value] : req.params) {
    if (!q.emplace(name, value).second) {
      throw ApiError(400, "query parameter '" + name + "': given more than once");
    }
  }
  return q;
}

std::string path_id(const httplib::Request& req, const char* what) {
  const std::string id = req.matches.size() > 1 ? req.matches[1].str() : std::string();
  if (id.empty()) throw ApiError(400, std::string("path: empty ") + what);
  if (id.size() > kMaxIdBytes) {
    throw ApiError(400, std::string("path: ") + what + " of " + std::to_string(id.size()) +
                            " bytes, at most " + std::to_string(kMaxIdBytes));
  }
  return id;
}

Timestamp now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct HttpService::Impl {
  Recommender& rec;
  ServiceOptions options;
  std::shared_ptr<Metrics> metrics;
  httplib::Server http;
  EventTypeRegistry types;
  std::atomic<bool> bound{false};
  std::atomic<bool> stop_requested{false};
  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  Impl(Recommender& r, ServiceOptions o, std::shared_ptr<Metrics> m)
      : rec(r), options(std::move(o)), metrics(std::move(m)) {}

  using Body = std::function<void(const httplib::Request&, httplib::Response&)>;

  // Wraps a handler: authentication for /v1, error mapping, timing and metrics.
  httplib::Server::Handler route(const std::string& endpoint, bool needs_key, Body body) {
    return [this, endpoint, needs_key, body = std::move(body)](const httplib::Request& req,
                                                               httplib::Response& res) {
      const auto t0 = std::chrono::steady_clock::now();
      try {
        if (needs_key && options.api_key) {
          const std::string auth = req.get_header_value("Authorization");
          const std::string prefix = "Bearer ";
          const bool ok = auth.size() > prefix.size() && auth.compare(0, prefix.size(), prefix) == 0 &&
                          constant_time_equal(auth.substr(prefix.size()), *options.api_key);
          if (!ok) {
            metrics->record_auth_failure();
            res.set_header("WWW-Authenticate", "Bearer");
            throw ApiError(401, auth.empty() ? "header 'Authorization': missing (Bearer API key)"
                                             : "header 'Authorization': wrong API key");
          }
        }
        body(req, res);
        if (res.status == -1) res.status = 200;  // (httplib's "not set yet")
      } catch (const ApiError& e) {
        send_error(res, e.status(), e.what());
      } catch (const Error& e) {
        send_error(res, status_of(e), e.what());
      } catch (const std::exception& e) {
        send_error(res, 500, std::string("internal error: ") + e.what());
      }
      metrics->record_request(
          endpoint, res.status,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    };
  }

  // The Recommender a request is served by: the primary, or the model file its experiment
  // variant names.
  RecommendResponse recommend(const RecommendRequest& request) {
    if (options.experiments && !options.variant_models.empty()) {
      ExperimentContext context;
      context.user = request.user;
      context.session = request.session;
      const json config = options.experiments->merged_config(options.experiments->assign(context));
      const auto model = config.find("model");
      if (model != config.end() && model->is_string()) {
        const auto it = options.variant_models.find(model->get<std::string>());
        if (it != options.variant_models.end()) {
          RecommendResponse response = it->second->recommend(request);
          // The variant model has the experiments but no tracker (events reach the primary's
          // tracker once): its exposure is recorded here.
          if (options.tracker && !response.items.empty()) {
            Exposure exposure;
            exposure.recommendation_id = response.recommendation_id;
            exposure.user = request.user;
            exposure.session = request.session;
            for (const auto& r : response.items) exposure.items.push_back(r.item);
            exposure.variants = response.assignments;
            exposure.timestamp = now_ms();
            options.tracker->record_exposure(exposure);
          }
          return response;
        }
      }
    }
    return rec.recommend(request);
  }

  json status_json() {
    const RecommenderStats s = rec.stats();
    json traffic = json::array();
    for (const auto& e : metrics->summary()) {
      if (e.requests == 0) continue;
      traffic.push_back({{"endpoint", e.endpoint},
                         {"requests", e.requests},
                         {"errors", e.errors},
                         {"p50_seconds_at_most", e.p50_seconds},
                         {"p99_seconds_at_most", e.p99_seconds}});
    }
    json out = {{"version", std::to_string(TAILOR_VERSION_MAJOR) + "." +
                                std::to_string(TAILOR_VERSION_MINOR) + "." +
                                std::to_string(TAILOR_VERSION_PATCH)},
                {"uptime_seconds",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()},
                {"model",
                 {{"version", s.model_version},
                  {"users", s.model_users},
                  {"items", s.model_items},
                  {"catalog_items", s.items},
                  {"events_kept", s.events_kept},
                  {"profiles", s.profiles}}},
                {"events_ingested", metrics->events_ingested()},
                {"retrains", {{"ok", metrics->retrains_ok()}, {"failed", metrics->retrains_failed()},
                              {"last_error", metrics->last_retrain_error()},
                              {"refused", options.retrain_refused}}},
                {"event_log_errors", metrics->log_errors()},
                {"traffic", std::move(traffic)}};
    if (rec.options().monitor_drift) out["drift"] = rec.drift_report().to_json();
    json experiments = json::array();
    if (options.experiments) {
      for (const auto& e : options.experiments->experiments()) experiments.push_back(e.name);
    }
    out["experiments"] = std::move(experiments);
    return out;
  }

  json experiments_json() {
    json out = json::array();
    if (!options.experiments) return out;
    for (const ExperimentConfig& config : options.experiments->experiments()) {
      json entry = {{"experiment", config.name}};
      if (options.tracker) {
        entry["report"] = analyze_experiment(config, options.tracker->metrics(config.name)).to_json();
      }
      out.push_back(std::move(entry));
    }
    return out;
  }

  void install_routes() {
    const ApiLimits& limits = options.limits;
    http.Get("/", route("dashboard", false, [](const httplib::Request&, httplib::Response& res) {
      res.set_content(dashboard_html(), "text/html; charset=utf-8");
    }));
    http.Get("/healthz", route("healthz", false, [](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, {{"status", "ok"}});
    }));
    http.Get("/readyz", route("readyz", false, [this](const httplib::Request&, httplib::Response& res) {
      const std::uint64_t v = rec.model_version();
      if (v == 0) {
        send_json(res, 503, {{"ready", false}, {"reason", "no model yet"}});
      } else {
        send_json(res, 200, {{"ready", true}, {"model_version", v}});
      }
    }));
    http.Get("/metrics", route("metrics", false, [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics->render(rec), "text/plain; version=0.0.4; charset=utf-8");
    }));
    http.Get("/v1/status", route("status", true, [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, status_json());
    }));
    http.Post("/v1/events", route("events", true, [this, &limits](const httplib::Request& req,
                                                                 httplib::Response& res) {
      const std::vector<Event> events = parse_events(parse_body(req.body), types, limits, now_ms());
      try {
        rec.ingest(events);  // all or none: checked first, durable before visible
      } catch (const Error& e) {
        if (e.code() == ErrorCode::io_error) throw ApiError(503, std::string("event log: ") + e.what());
        throw;
      }
      for (const auto& [path, model] : options.variant_models) {
        (void)path;
        try {
          model->ingest(events);
        } catch (const Error&) {
          // A variant model with stricter options than the primary only misses this batch: the
          // events are durable in the primary's log, and refusing them now would lie.
        }
      }
      send_json(res, 200, {{"accepted", events.size()}});
    }));
    http.Get("/v1/recommendations", route("recommendations", true, [this, &limits](
                                                                      const httplib::Request& req,
                                                                      httplib::Response& res) {
      const RecommendRequest request = parse_recommend_query(query_of(req), rec, limits);
      send_json(res, 200, response_json(recommend(request)));
    }));
    http.Get(R"(/v1/items/([^/]+)/similar)", route("similar", true, [this, &limits](
                                                                       const httplib::Request& req,
                                                                       httplib::Response& res) {
      const std::size_t k = parse_k(query_of(req), limits, {"k"});
      send_json(res, 200, response_json(rec.similar_items(path_id(req, "item ID"), k)));
    }));
    http.Get(R"(/v1/items/([^/]+)/bought-together)",
             route("bought_together", true, [this, &limits](const httplib::Request& req,
                                                             httplib::Response& res) {
               const std::size_t k = parse_k(query_of(req), limits, {"k"});
               send_json(res, 200,
                         response_json(rec.frequently_bought_together(path_id(req, "item ID"), k)));
             }));
    http.Get("/v1/trending", route("trending", true, [this, &limits](const httplib::Request& req,
                                                                     httplib::Response& res) {
      const Query query = query_of(req);
      const std::size_t k = parse_k(query, limits, {"k", "category"});
      std::vector<std::string> prefix;
      if (const auto it = query.find("category"); it != query.end()) {
        prefix = split_category_path(it->second, ">/");
      }
      send_json(res, 200, response_json(rec.trending(k, prefix)));
    }));
    http.Put("/v1/items", route("items", true, [this, &limits](const httplib::Request& req,
                                                               httplib::Response& res) {
      std::vector<bool> stock_given;
      std::vector<CatalogItem> items = parse_items(parse_body(req.body), limits, &stock_given);
      const auto catalog = rec.catalog();
      for (std::size_t i = 0; i < items.size(); ++i) {  // an update without in_stock keeps it
        if (stock_given[i]) continue;
        if (const auto idx = catalog->index_of(items[i].id)) items[i].in_stock = catalog->at(*idx).in_stock;
      }
      rec.upsert_items(items);
      for (const auto& [path, model] : options.variant_models) {
        (void)path;
        model->upsert_items(items);
      }
      send_json(res, 200, {{"upserted", items.size()}, {"model_version", rec.model_version()}});
    }));
    auto erase = [this](const std::string& actor, httplib::Response& res) {
      std::size_t dropped = rec.erase_user(actor);
      for (const auto& [path, model] : options.variant_models) {
        (void)path;
        dropped += model->erase_user(actor);
      }
      send_json(res, 200, {{"erased", actor}, {"events_dropped", dropped}});
    };
    http.Delete(R"(/v1/users/([^/]+))", route("erase_user", true, [erase](const httplib::Request& req,
                                                                           httplib::Response& res) {
      const std::string user = path_id(req, "user ID");
      if (user.rfind(kSessionActorPrefix, 0) == 0) {
        throw ApiError(400, "path: a user ID must not start with '" + std::string(kSessionActorPrefix) + "'");
      }
      erase(user, res);
    }));
    http.Delete(R"(/v1/sessions/([^/]+))", route("erase_session", true, [erase](
                                                                          const httplib::Request& req,
                                                                          httplib::Response& res) {
      erase(std::string(kSessionActorPrefix) + path_id(req, "session ID"), res);
    }));
    http.Post("/v1/retrain", route("retrain", true, [this](const httplib::Request&, httplib::Response& res) {
      if (!options.retrain_refused.empty()) throw ApiError(409, options.retrain_refused);
      send_json(res, 200, retrain_json(rec.retrain()));
    }));
    http.Get("/v1/experiments", route("experiments", true, [this](const httplib::Request&,
                                                                  httplib::Response& res) {
      send_json(res, 200, {{"experiments", experiments_json()}});
    }));

    // Answers httplib produces itself (no route, body too large) get a JSON body too.
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      std::string message = "HTTP status " + std::to_string(res.status);
      if (res.status == 404) message = "no route for " + req.method + " " + req.path;
      if (res.status == 413) {
        message = "body: larger than " + std::to_string(options.limits.max_body_bytes) + " bytes";
      }
      send_error(res, res.status, message);
      metrics->record_request("other", res.status, 0.0);
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string message = "internal error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        message += std::string(": ") + e.what();
      } catch (...) {
      }
      send_error(res, 500, message);
    });
  }
};

HttpService::HttpService(Recommender& recommender, ServiceOptions options)
    : metrics_(std::make_shared<Metrics>(kEndpoints)) {
  TAILOR_REQUIRE(options.threads >= 1, "ServiceOptions::threads must be >= 1");
  TAILOR_REQUIRE(options.port >= 0 && options.port <= 65535,
                 "ServiceOptions::port must be in [0, 65535], got " << options.port);
  TAILOR_REQUIRE(!options.api_key || !options.api_key->empty(), "ServiceOptions::api_key is empty");
  impl_ = std::make_unique<Impl>(recommender, std::move(options), metrics_);
  const std::size_t threads = impl_->options.threads;
  impl_->http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  impl_->http.set_payload_max_length(impl_->options.limits.max_body_bytes);
  impl_->http.set_keep_alive_max_count(1000);  // requests per connection before it is closed
  // A response goes out in more than one write: without TCP_NODELAY, Nagle's algorithm holds the
  // second behind the client's delayed ACK (40 ms on Linux).
  impl_->http.set_tcp_nodelay(true);
  impl_->http.set_read_timeout(std::chrono::seconds(10));
  impl_->http.set_write_timeout(std::chrono::seconds(10));
  impl_->install_routes();
  recommender.set_observer(metrics_->observer());
}

HttpService::~HttpService() {
  stop();
  impl_->rec.set_observer(nullptr);
}

int HttpService::bind() {
  const ServiceOptions& o = impl_->options;
  int port = o.port;
  if (port == 0) {
    port = impl_->http.bind_to_any_port(o.host);
    if (port <= 0) TAILOR_THROW(io_error, "cannot listen on " << o.host << " (any port)");
  } else if (!impl_->http.bind_to_port(o.host, port)) {
    TAILOR_THROW(io_error, "cannot listen on " << o.host << ":" << port
                                               << " (in use, or not an address of this machine)");
  }
  impl_->bound = true;
  return port;
}

void HttpService::run() {
  TAILOR_REQUIRE(impl_->bound, "HttpService::run: bind() first");
  if (impl_->stop_requested) return;
  impl_->http.listen_after_bind();
}

void HttpService::stop() {
  impl_->stop_requested = true;
  if (impl_->http.is_running()) impl_->http.stop();
}

}  // namespace tailor::server
