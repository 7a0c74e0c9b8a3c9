// tailor server: the HTTP/JSON service over a Recommender (docs/api.md): routes, API-key
// authentication, limits, metrics, the dashboard, and experiments whose variants may name other
// model files.
//
// Not part of libtailor: compiled into the `tailor` executable (`tailor serve`) when cpp-httplib
// is found at configure time.
// Thread-safety: run() blocks on the calling thread and serves requests on a pool of worker
// threads; stop() may be called from any thread (a signal-waiting thread, a test) and returns at
// once. Every other member is used from the workers, concurrently.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "server/api.hpp"
#include "server/metrics.hpp"
#include "tailor/experiments/experiment.hpp"
#include "tailor/experiments/outcomes.hpp"
#include "tailor/serving/recommender.hpp"

namespace tailor::server {

struct ServiceOptions {
  std::string host = "127.0.0.1";
  int port = 0;                        ///< 0 = a free port, chosen at bind()
  std::optional<std::string> api_key;  ///< set: every /v1 request needs "Authorization: Bearer KEY"
  ApiLimits limits;
  /// HTTP worker threads, >= 1. A keep-alive connection holds a worker while it is open, so
  /// more connections than workers wait in a queue: give more workers than connections.
  std::size_t threads = 64;
  /// POST /v1/retrain and the dashboard's retrain button are refused (409) with this reason when
  /// set (e.g. a model loaded without its event log: a retrain would forget its history).
  std::string retrain_refused;
  /// Experiments routed by the server; a variant whose config has "model": "<path>" is served by
  /// the Recommender of that path in `variant_models` (loaded at start-up).
  std::shared_ptr<const ExperimentSet> experiments;
  std::shared_ptr<OutcomeTracker> tracker;
  std::map<std::string, std::shared_ptr<Recommender>> variant_models;
};

class HttpService {
 public:
  /// `recommender` must outlive the service. Throws Error(invalid_argument) for bad options.
  HttpService(Recommender& recommender, ServiceOptions options);
  ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  /// Binds the listening socket; returns the port (the chosen one for port 0). Throws
  /// Error(io_error) naming host and port when it cannot bind.
  int bind();
  /// Serves until stop(): returns after in-flight requests finished.
  void run();
  /// Stops accepting; run() then returns once the requests being handled are answered. A stop()
  /// before run() started listening makes run() return at once, unless run() passed that check
  /// in the meantime: a caller that must be sure repeats stop() until run() returned.
  void stop();

  Metrics& metrics() { return *metrics_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::shared_ptr<Metrics> metrics_;
};

}  // namespace tailor::server
