// tailor serve: the Recommender behind the HTTP/JSON API of src/server (docs/api.md).
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "commands.hpp"
#include "tailor/core/error.hpp"

#ifdef TAILOR_HAVE_HTTP

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <set>
#include <thread>

#include "server/http_service.hpp"
#include "tailor/persistence/model_file.hpp"
#include "tailor/serving/options_json.hpp"

namespace tailor::cli {

namespace {

std::string read_api_key(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) TAILOR_THROW(io_error, path << ": cannot read the API key file");
  std::stringstream s;
  s << in.rdbuf();
  std::string key = s.str();
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.empty()) TAILOR_THROW(invalid_argument, path << ": the API key file is empty");
  if (key.find_first_of("\r\n\t ") != std::string::npos) {
    TAILOR_THROW(invalid_argument, path << ": the API key must be one line without blanks");
  }
  if (key.size() < 16) TAILOR_THROW(invalid_argument, path << ": the API key has " << key.size() << " characters, at least 16");
  return key;
}

// Loads the other model files experiment variants name ("model": "<path>").
std::map<std::string, std::shared_ptr<Recommender>> variant_models(const ExperimentSet& set,
                                                                   const Progress& progress) {
  std::map<std::string, std::shared_ptr<Recommender>> out;
  for (const ExperimentConfig& e : set.experiments()) {
    for (const Variant& v : e.variants) {
      if (!v.config.is_object() || !v.config.contains("model")) continue;
      const auto& model = v.config.at("model");
      if (!model.is_string()) {
        TAILOR_THROW(invalid_argument, "experiment '" << e.name << "', variant '" << v.name
                                                      << "': config.model: expected a model file path");
      }
      const std::string path = model.get<std::string>();
      if (out.count(path)) continue;
      progress.note("loading " + path + " for experiment '" + e.name + "', variant '" + v.name + "'");
      auto rec = std::make_shared<Recommender>(read_model_options(path));
      rec->load(path);
      out.emplace(path, std::move(rec));
    }
  }
  return out;
}

}  // namespace

int cmd_serve(int argc, char** argv) {
  CommandSpec spec{"serve",
                   "Serves the Recommender over HTTP/JSON (docs/api.md): events in, recommendations,\n"
                   "similar items, bought-together, trending, catalog upserts, erasure, retraining,\n"
                   "Prometheus metrics at /metrics and a dashboard at /. Prints one line\n"
                   "'listening on http://HOST:PORT' when ready; SIGTERM or SIGINT stops it after the\n"
                   "requests in flight (and saves the model with --save-on-exit).",
                   "Durability: with --event-log every accepted event is in the log (fsynced) before\n"
                   "the response; restart with --model (from --save-on-exit) and the same log to\n"
                   "get them all back. Start a new log with --train: its events enter the log, so\n"
                   "later retrains see the whole history. Without a log, a server started from\n"
                   "--model refuses to retrain (it would forget the model's history).",
                   recommender_source_options()};
  spec.options.push_back({"event-log", "FILE", "durable event log: replayed at start, appended before each answer", "", false});
  spec.options.push_back({"host", "ADDR", "address to listen on (loopback by default)", "127.0.0.1", false});
  spec.options.push_back({"port", "N", "port to listen on; 0 = a free one (printed)", "8080", false});
  spec.options.push_back({"api-key-file", "FILE", "every /v1 request needs 'Authorization: Bearer <the file's key>'", "", false});
  spec.options.push_back({"save-on-exit", "FILE", "save the serving model here (atomically) when stopped", "", false});
  spec.options.push_back({"experiments", "FILE", "A/B experiments (JSON, docs/experiments.md); a variant's config \"model\" may name another model file", "", false});
  spec.options.push_back({"http-threads", "N", "HTTP worker threads; each open keep-alive connection holds one, so give more than the clients' connections", "64", false});
  spec.options.push_back({"max-body-bytes", "N", "larger request bodies get 413", "1048576", false});
  spec.options.push_back({"max-batch", "N", "events or items per request, more get 413", "1000", false});
  spec.options.push_back({"retrain-every-events", "N", "retrain in the background after N new events (0 = off)", "0", false});
  spec.options.push_back({"retrain-every-hours", "H", "retrain in the background when the model is H hours old (0 = off)", "24", false});
  spec.options.push_back({"retrain-on-drift", "yes|no", "retrain in the background when drift is detected", "yes", false});
  spec.options.push_back({"retrain-min-minutes", "M", "no background retrain sooner than M minutes after the last", "60", false});
  add_options(spec, input_options());
  add_options(spec, model_options());
  spec.options.push_back(quiet_option());
  const Args args = Args::parse(spec, argc, argv, 2);
  const Progress progress(args.flag("quiet"));

  server::ServiceOptions service;
  service.host = args.get("host");
  const std::int64_t port = args.get_int("port");
  if (port < 0 || port > 65535) throw UsageError("option '--port': expected 0..65535, got " + args.get("port"));
  service.port = static_cast<int>(port);
  service.threads = args.get_size("http-threads");
  if (service.threads == 0) throw UsageError("option '--http-threads': must be >= 1");
  service.limits.max_body_bytes = args.get_size("max-body-bytes");
  service.limits.max_batch = args.get_size("max-batch");
  if (service.limits.max_body_bytes == 0 || service.limits.max_batch == 0) {
    throw UsageError("options '--max-body-bytes' and '--max-batch' must be >= 1");
  }
  if (args.has("api-key-file")) service.api_key = read_api_key(args.get("api-key-file"));
  const std::string on_drift = args.get("retrain-on-drift");
  if (on_drift != "yes" && on_drift != "no") throw UsageError("option '--retrain-on-drift': expected yes or no");
  RetrainPolicyOptions policy;
  policy.every_events = args.get_u64("retrain-every-events");
  const double hours = args.get_double("retrain-every-hours");
  const double min_minutes = args.get_double("retrain-min-minutes");
  if (!(hours >= 0) || !(min_minutes >= 0)) throw UsageError("options '--retrain-every-hours' and '--retrain-min-minutes' must be >= 0");
  policy.every_ms = static_cast<Timestamp>(hours * 3600e3);
  policy.min_interval_ms = static_cast<Timestamp>(min_minutes * 60e3);
  policy.on_drift = on_drift == "yes";
  policy.max_metric_drop = 0.0;
  policy.max_incremental_fraction = 0.0;
  const RetrainPolicy retrain_policy(policy);

  // The model, with the event log opened before any event enters it.
  std::uint64_t replayed = 0;
  std::uint64_t log_last_sequence = 0;
  auto open_log = [&](Recommender& rec) {
    if (!args.has("event-log")) return;
    const std::string path = args.get("event-log");
    const LogRecovery recovery = rec.open_event_log(path);
    replayed = recovery.records;
    log_last_sequence = recovery.last_sequence;
    if (args.has("train") && recovery.records > 0) {
      TAILOR_THROW(invalid_argument,
                   path << " already holds " << recovery.records
                        << " records: --train would add its events again. Restart with --model "
                           "(written by --save-on-exit) and this log, or give a new log");
    }
    std::string note = path + ": " + std::to_string(recovery.records) + " records replayed";
    if (recovery.tail != LogTail::clean) note += "; " + recovery.detail;
    if (recovery.skipped_events > 0) note += "; skipped " + std::to_string(recovery.skipped_events) + ": " + recovery.skipped_detail;
    progress.note(note);
  };
  const std::unique_ptr<Recommender> rec = open_recommender(args, progress, open_log);
  // A retrain trains on the events this process holds: with --model those are the log's, which
  // must then hold the model's own history, or a retrain would forget it.
  if (args.has("model")) {
    const std::uint64_t trained_log =
        inspect_model_file(args.get("model")).metadata.value("trained_log_sequence", std::uint64_t{0});
    if (!args.has("event-log")) {
      service.retrain_refused =
          "the model was loaded without its event log, so a retrain would train on the events "
          "since start-up only; serve it with the --event-log it was trained from";
    } else if (trained_log == 0) {
      service.retrain_refused =
          "the model was trained without an event log (e.g. by tailor fit), so the log does not "
          "hold its history and a retrain would train on the logged events only; start with "
          "--train EVENTS --event-log NEW_LOG to retrain in the server";
    } else if (log_last_sequence < trained_log) {
      service.retrain_refused = "the event log ends at record " + std::to_string(log_last_sequence) +
                                " but the model was trained through record " +
                                std::to_string(trained_log) + ": it is not this model's log";
    }
    if (!service.retrain_refused.empty()) progress.note("retraining is off: " + service.retrain_refused);
  }

  if (args.has("experiments")) {
    auto set = std::make_shared<const ExperimentSet>(ExperimentSet::load(args.get("experiments")));
    service.experiments = set;
    service.tracker = std::make_shared<OutcomeTracker>();
    rec->set_experiments(set, service.tracker);
    service.variant_models = variant_models(*set, progress);
    for (auto& [path, model] : service.variant_models) {
      (void)path;
      model->set_experiments(set, nullptr);  // assigned alike; exposures recorded by the server
    }
  }

  // SIGINT and SIGTERM are taken by a waiting thread from here on (every thread started later
  // inherits the mask), so the server stops cleanly instead of dying mid-request.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  server::HttpService http(*rec, service);
  const int bound = http.bind();
  if (service.retrain_refused.empty() &&
      (policy.every_events > 0 || policy.every_ms > 0 || policy.on_drift)) {
    rec->start_auto_retrain(retrain_policy, std::chrono::seconds(10),
                            [&progress](const RetrainReport* report, const std::string& error) {
                              if (report != nullptr) {
                                progress.note("background retrain: model version " +
                                              std::to_string(report->model_version) + " in " +
                                              std::to_string(report->seconds) + " s");
                              } else {
                                std::cerr << "tailor serve: background retrain failed: " << error << "\n";
                              }
                            });
  }

  std::atomic<bool> finished{false};
  std::atomic<int> caught{0};
  std::thread stopper([&] {
    const timespec tick{0, 100 * 1000 * 1000};
    while (!finished) {
      const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
      if (sig > 0 && caught == 0) caught = sig;
      if (caught != 0) http.stop();  // repeated until run() returned (see HttpService::stop)
    }
  });
  std::cout << "listening on http://" << service.host << ":" << bound << std::endl;
  if (replayed > 0) progress.note("serving model version " + std::to_string(rec->model_version()));
  try {
    http.run();
  } catch (...) {
    finished = true;
    stopper.join();
    throw;
  }
  finished = true;
  stopper.join();
  rec->stop_auto_retrain();
  progress.note(std::string("stopping (") + (caught == SIGINT ? "SIGINT" : caught == SIGTERM ? "SIGTERM" : "stopped") + ")");
  if (args.has("save-on-exit")) {
    const std::string out = args.get("save-on-exit");
    rec->save(out);
    progress.note("saved model version " + std::to_string(rec->model_version()) + " to " + out);
  }
  return 0;
}

}  // namespace tailor::cli

#else  // no HTTP library at configure time

namespace tailor::cli {

int cmd_serve(int, char**) {
  std::cerr << "tailor serve: this tailor was built without the HTTP service (cpp-httplib was not "
               "found at configure time; on Debian: apt install libcpp-httplib-dev, then "
               "reconfigure)\n";
  return 1;
}

}  // namespace tailor::cli

#endif
