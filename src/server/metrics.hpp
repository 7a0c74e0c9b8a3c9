// tailor server: the counters and latency histograms behind GET /metrics (Prometheus text format
// 0.0.4) and the dashboard's status, fed by the HTTP layer and by the Recommender's observer.
//
// Not part of libtailor: compiled only into the `tailor` executable with the HTTP service.
// Thread-safety: thread-safe; recording is lock-free except for a request of a status code an
// endpoint has not answered before (one mutex).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tailor/serving/recommender.hpp"

namespace tailor::server {

/// A cumulative histogram with fixed upper bounds in seconds (Prometheus "le" buckets).
class Histogram {
 public:
  /// Bounds from 50 us to 60 s, roughly x2.5 apart: request latencies and retrain durations.
  static const std::vector<double>& default_bounds();

  Histogram();
  void observe(double seconds) noexcept;
  /// Appends `name`_bucket/_sum/_count lines with `labels` ("" or `endpoint="x"`).
  void render(std::string& out, const std::string& name, const std::string& labels) const;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  /// The smallest bucket bound at or below which `q` (in (0, 1]) of the observations fall
  /// (infinity beyond the last bound; 0 without observations).
  double quantile_bound(double q) const noexcept;

 private:
  std::vector<std::atomic<std::uint64_t>> buckets_;  // per bound, not cumulative; +1 for +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};
};

/// Everything the server counts. Endpoint names are fixed route names ("recommendations",
/// "events", ...), never raw paths, so the label set stays bounded.
class Metrics : public std::enable_shared_from_this<Metrics> {
 public:
  explicit Metrics(std::vector<std::string> endpoints);

  /// One HTTP request answered with `status` after `seconds`. Unknown endpoints count as "other".
  void record_request(const std::string& endpoint, int status, double seconds);
  void record_auth_failure() noexcept { auth_failures_.fetch_add(1, std::memory_order_relaxed); }

  /// The Recommender's observer that feeds these metrics (serving calls, events, retrains, log
  /// errors); it keeps this object alive. Only for a Metrics owned by a shared_ptr.
  std::shared_ptr<RecommenderObserver> observer();

  /// The Prometheus exposition of every metric, plus the gauges read from `recommender` now.
  std::string render(const Recommender& recommender) const;

  /// Per endpoint: requests, errors (status >= 400) and the p50/p99 bucket bounds; plus retrain
  /// and event counters (the dashboard's traffic panel).
  struct EndpointSummary {
    std::string endpoint;
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    double p50_seconds = 0;
    double p99_seconds = 0;
  };
  std::vector<EndpointSummary> summary() const;
  std::uint64_t events_ingested() const noexcept { return events_.load(std::memory_order_relaxed); }
  std::uint64_t retrains_ok() const noexcept { return retrains_ok_.load(std::memory_order_relaxed); }
  std::uint64_t retrains_failed() const noexcept {
    return retrains_failed_.load(std::memory_order_relaxed);
  }
  std::uint64_t log_errors() const noexcept { return log_errors_.load(std::memory_order_relaxed); }
  std::string last_retrain_error() const;

 private:
  class Observer;
  struct Endpoint {
    Histogram latency;
    mutable std::mutex mutex;                    // guards `statuses` inserts
    std::map<int, std::atomic<std::uint64_t>> statuses;  // nodes never move once inserted
  };
  Endpoint& endpoint(const std::string& name);

  std::vector<std::string> names_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;  // parallel to names_, then "other"
  std::atomic<std::uint64_t> auth_failures_{0};
  std::atomic<std::uint64_t> events_{0};
  std::atomic<std::uint64_t> retrains_ok_{0};
  std::atomic<std::uint64_t> retrains_failed_{0};
  std::atomic<std::uint64_t> retrains_running_{0};
  std::atomic<std::uint64_t> log_errors_{0};
  Histogram retrain_seconds_;
  std::array<Histogram, 4> operation_seconds_;  // in-process latency per tailor::Operation
  mutable std::mutex last_error_mutex_;
  std::string last_retrain_error_;
};

}  // namespace tailor::server
