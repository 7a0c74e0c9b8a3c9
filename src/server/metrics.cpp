#include "server/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

namespace tailor::server {

namespace {

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const std::string& name, const std::string& labels, double v) {
  out += name;
  if (!labels.empty()) out += '{' + labels + '}';
  out += ' ';
  out += number(v);
  out += '\n';
}

// A metric with one unlabelled sample.
void single(std::string& out, const char* name, const char* type, const char* help, double v) {
  header(out, name, type, help);
  sample(out, name, "", v);
}

}  // namespace

// ---- Histogram -----------------------------------------------------------------------------------

const std::vector<double>& Histogram::default_bounds() {
  static const std::vector<double> bounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                             0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                             0.5,     1,      2.5,     5,      10,    30,
                                             60};
  return bounds;
}

Histogram::Histogram() : buckets_(default_bounds().size() + 1) {}

void Histogram::observe(double seconds) noexcept {
  if (!(seconds >= 0.0)) seconds = 0.0;
  const auto& bounds = default_bounds();
  std::size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  const double micros = std::min(seconds * 1e6, 1e15);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(micros), std::memory_order_relaxed);
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const auto& bounds = default_bounds();
  const std::string sep = labels.empty() ? "" : labels + ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    const std::string le = i < bounds.size() ? number(bounds[i]) : "+Inf";
    sample(out, name + "_bucket", sep + "le=\"" + le + "\"", static_cast<double>(cumulative));
  }
  sample(out, name + "_sum", labels,
         static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  sample(out, name + "_count", labels, static_cast<double>(cumulative));
}

double Histogram::quantile_bound(double q) const noexcept {
  const auto& bounds = default_bounds();
  std::uint64_t total = 0;
  for (const auto& b : buckets_) total += b.load(std::memory_order_relaxed);
  if (total == 0) return 0.0;
  const double target = q * static_cast<double>(total);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (static_cast<double>(cumulative) >= target) return bounds[i];
  }
  return std::numeric_limits<double>::infinity();
}

// ---- the Recommender's observer ------------------------------------------------------------------

class Metrics::Observer final : public RecommenderObserver {
 public:
  explicit Observer(std::shared_ptr<Metrics> m) : owner_(std::move(m)), m_(*owner_) {}
  void on_request(Operation op, double seconds, bool) override {
    m_.operation_seconds_[static_cast<std::size_t>(op)].observe(seconds);
  }
  void on_events(std::size_t n) override { m_.events_.fetch_add(n, std::memory_order_relaxed); }
  void on_retrain_start() override { m_.retrains_running_.fetch_add(1, std::memory_order_relaxed); }
  void on_retrain_end(const RetrainReport* report, const std::string& error) override {
    m_.retrains_running_.fetch_sub(1, std::memory_order_relaxed);
    if (report != nullptr) {
      m_.retrains_ok_.fetch_add(1, std::memory_order_relaxed);
      m_.retrain_seconds_.observe(report->seconds);
    } else {
      m_.retrains_failed_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard<std::mutex> lock(m_.last_error_mutex_);
      m_.last_retrain_error_ = error;
    }
  }
  void on_event_log_error(const std::string&) override {
    m_.log_errors_.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  std::shared_ptr<Metrics> owner_;
  Metrics& m_;
};

// ---- Metrics -------------------------------------------------------------------------------------

Metrics::Metrics(std::vector<std::string> endpoints) : names_(std::move(endpoints)) {
  names_.push_back("other");
  for (std::size_t i = 0; i < names_.size(); ++i) endpoints_.push_back(std::make_unique<Endpoint>());
}

Metrics::Endpoint& Metrics::endpoint(const std::string& name) {
  for (std::size_t i = 0; i + 1 < names_.size(); ++i) {
    if (names_[i] == name) return *endpoints_[i];
  }
  return *endpoints_.back();
}

void Metrics::record_request(const std::string& name, int status, double seconds) {
  Endpoint& e = endpoint(name);
  e.latency.observe(seconds);
  std::lock_guard<std::mutex> lock(e.mutex);
  e.statuses[status].fetch_add(1, std::memory_order_relaxed);
}

std::shared_ptr<RecommenderObserver> Metrics::observer() {
  return std::make_shared<Observer>(shared_from_this());
}

std::string Metrics::last_retrain_error() const {
  std::lock_guard<std::mutex> lock(last_error_mutex_);
  return last_retrain_error_;
}

std::vector<Metrics::EndpointSummary> Metrics::summary() const {
  std::vector<EndpointSummary> out;
  for (std::size_t i = 0; i < names_.size(); ++i) {
    const Endpoint& e = *endpoints_[i];
    EndpointSummary s;
    s.endpoint = names_[i];
    {
      std::lock_guard<std::mutex> lock(e.mutex);
      for (const auto& [status, count] : e.statuses) {
        const auto n = count.load(std::memory_order_relaxed);
        s.requests += n;
        if (status >= 400) s.errors += n;
      }
    }
    s.p50_seconds = e.latency.quantile_bound(0.5);
    s.p99_seconds = e.latency.quantile_bound(0.99);
    out.push_back(s);
  }
  return out;
}

std::string Metrics::render(const Recommender& recommender) const {
  std::string out;
  out.reserve(16384);
  header(out, "tailor_http_requests_total", "counter", "HTTP requests answered, by endpoint and status code.");
  for (std::size_t i = 0; i < names_.size(); ++i) {
    const Endpoint& e = *endpoints_[i];
    std::lock_guard<std::mutex> lock(e.mutex);
    for (const auto& [status, count] : e.statuses) {
      sample(out, "tailor_http_requests_total",
             "endpoint=\"" + names_[i] + "\",code=\"" + std::to_string(status) + "\"",
             static_cast<double>(count.load(std::memory_order_relaxed)));
    }
  }
  header(out, "tailor_http_request_duration_seconds", "histogram",
         "Wall time from the parsed request to the response, by endpoint.");
  for (std::size_t i = 0; i < names_.size(); ++i) {
    endpoints_[i]->latency.render(out, "tailor_http_request_duration_seconds",
                                  "endpoint=\"" + names_[i] + "\"");
  }
  header(out, "tailor_recommender_call_duration_seconds", "histogram",
         "Wall time inside the Recommender per serving call (from its observer).");
  for (Operation op : {Operation::recommend, Operation::similar_items, Operation::bought_together,
                       Operation::trending}) {
    operation_seconds_[static_cast<std::size_t>(op)].render(
        out, "tailor_recommender_call_duration_seconds",
        std::string("operation=\"") + operation_name(op) + "\"");
  }
  single(out, "tailor_http_auth_failures_total", "counter", "Requests refused for a missing or wrong API key.", static_cast<double>(auth_failures_.load()));
  single(out, "tailor_events_ingested_total", "counter", "Events recorded since the server started.", static_cast<double>(events_.load()));
  single(out, "tailor_event_log_errors_total", "counter", "Event-log appends that failed (write or fsync); each refused its ingest.", static_cast<double>(log_errors_.load()));
  header(out, "tailor_retrains_total", "counter", "Retrains since the server started, by result.");
  sample(out, "tailor_retrains_total", "result=\"ok\"", static_cast<double>(retrains_ok_.load()));
  sample(out, "tailor_retrains_total", "result=\"failed\"", static_cast<double>(retrains_failed_.load()));
  single(out, "tailor_retrain_running", "gauge", "Retrains in progress (or waiting for one).", static_cast<double>(retrains_running_.load()));
  header(out, "tailor_retrain_duration_seconds", "histogram", "Wall time of completed retrains.");
  retrain_seconds_.render(out, "tailor_retrain_duration_seconds", "");

  const RecommenderStats s = recommender.stats();
  single(out, "tailor_model_version", "gauge", "Version of the serving snapshot (0: no model).", static_cast<double>(s.model_version));
  single(out, "tailor_model_users", "gauge", "Users with factors in the serving model.", static_cast<double>(s.model_users));
  single(out, "tailor_model_items", "gauge", "Items with factors in the serving model.", static_cast<double>(s.model_items));
  single(out, "tailor_catalog_items", "gauge", "Items in the catalog.", static_cast<double>(s.items));
  single(out, "tailor_events_kept", "gauge", "Events kept for the next retrain.", static_cast<double>(s.events_kept));
  single(out, "tailor_profiles", "gauge", "Shopper profiles in memory.", static_cast<double>(s.profiles));
  single(out, "tailor_fold_ins_total", "counter", "User vectors recomputed by requests.", static_cast<double>(s.fold_ins));
  single(out, "tailor_fold_in_failures_total", "counter", "Fold-ins that could not be solved.", static_cast<double>(s.fold_in_failures));

  if (recommender.options().monitor_drift) {
    const DriftReport d = recommender.drift_report();
    header(out, "tailor_drift_signal", "gauge",
           "Drift statistic per signal (PSI, share or KS D) of the current window against the "
           "window at the last retrain; NaN when not evaluated.");
    header(out, "tailor_drift_signal_threshold", "gauge", "Value at or above which a signal drifts.");
    for (const DriftSignal* sig : {&d.event_types, &d.item_popularity, &d.unseen_items, &d.scores}) {
      const std::string labels = "signal=\"" + sig->name + "\",statistic=\"" + sig->statistic + "\"";
      sample(out, "tailor_drift_signal", labels,
             sig->evaluated ? sig->value : std::numeric_limits<double>::quiet_NaN());
      sample(out, "tailor_drift_signal_threshold", labels, sig->threshold);
    }
    header(out, "tailor_drifted", "gauge", "1 when any drift signal is at or above its threshold.");
    sample(out, "tailor_drifted", "", d.drifted ? 1.0 : 0.0);
  }
  return out;
}

}  // namespace tailor::server
