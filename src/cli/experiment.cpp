// tailor CLI: experiment (A/B test report from a configuration, an exposures file and an events
// file; or the variant assignment of a list of users).
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "commands.hpp"
#include "tailor/io/csv.hpp"
#include "tailor/core/error.hpp"
#include "tailor/experiments/experiment.hpp"
#include "tailor/experiments/report.hpp"
#include "tailor/io/input.hpp"
#include "tailor/experiments/outcomes.hpp"
#include "tailor/io/readers.hpp"

namespace tailor::cli {

namespace {

const char* kDetails =
    "Inputs:\n"
    "  --config     the experiments JSON (see include/tailor/experiments/experiment.hpp): hash_key, layers,\n"
    "               experiments with variants, shares, holdout and an analysis plan.\n"
    "  --exposures  the recommendation lists shown, one per record, CSV or JSON Lines (gzip ok):\n"
    "               JSON Lines: {\"recommendation_id\": \"r1\", \"user\": \"u1\", \"session\": \"s1\",\n"
    "                 \"timestamp\": \"2024-05-01T10:00:00Z\", \"items\": [\"i1\", \"i2\"],\n"
    "                 \"variants\": {\"ranker\": \"B\", \"layout\": \"holdout\"}}\n"
    "               CSV header: recommendation_id,user,session,timestamp,items,variants with\n"
    "                 items \"i1|i2\" and variants \"ranker=B|layout=holdout\" (session optional;\n"
    "                 user or session may be empty, not both).\n"
    "               Timestamps: ISO-8601 or epoch seconds/milliseconds. Variant \"holdout\" marks\n"
    "               the experiment's holdout.\n"
    "  --events     the shoppers' events (the usual events file; see the input options): clicks,\n"
    "               add_to_cart, purchase (value = revenue), return, and views with a value\n"
    "               (dwell seconds). A session column (--session-col) groups purchases into orders.\n"
    "Attribution is last-touch: an event on item I by a user is credited to the latest exposure of\n"
    "I to that user at most --window-hours before it; a return to the latest attributed purchase\n"
    "of I at most --return-window-days before it. Records are replayed in time order (exposures\n"
    "before events at equal times).\n"
    "Output: per experiment, the variants' metrics and, per treatment, WON / LOST / INCONCLUSIVE\n"
    "with the reason (effect, confidence interval, p-value against the corrected alpha, power,\n"
    "sample-ratio check); --json prints the same as one JSON document.\n"
    "With --assign FILE (one user ID per line) it prints the assignment of every user instead, as\n"
    "CSV user_id,experiment,variant (users in the global holdout get experiment '*', variant\n"
    "'global_holdout'; users in no experiment get no row).";

// Splits "a|b|c" (empty parts dropped).
std::vector<std::string> split_bar(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('|', start), text.size());
    const std::string_view part = trim_blanks(text.substr(start, end - start));
    if (!part.empty()) out.emplace_back(part);
    start = end + 1;
  }
  return out;
}

Assignment make_assignment(std::string experiment, std::string variant) {
  Assignment a;
  a.holdout = variant == kHoldoutVariant;
  a.experiment = std::move(experiment);
  a.variant = std::move(variant);
  return a;
}

struct LoadedExposures {
  std::vector<Exposure> exposures;
  ReadReport report;
};

// A JSON scalar ID (string or integer) as text; nullopt otherwise.
std::optional<std::string> json_id(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  return std::nullopt;
}

LoadedExposures read_exposures_jsonl(const std::string& path, ErrorPolicy policy) {
  LoadedExposures out;
  ReportBuilder report(path, policy);
  auto in = open_input(path);
  LineReader lines(*in);
  while (lines.next()) {
    const std::string_view text = trim_blanks(lines.line());
    if (text.empty()) {
      report.blank_line();
      continue;
    }
    const auto reject = [&](const std::string& key, RejectReason reason, const std::string& detail) {
      report.reject(Rejection{path, lines.line_number(), key, reason, detail});
    };
    if (lines.too_long()) {
      reject("", RejectReason::record_too_large, "line longer than 16 MiB");
      continue;
    }
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      reject("", RejectReason::invalid_json, "not a JSON object");
      continue;
    }
    Exposure x;
    bool ok = true;
    const auto id_field = [&](const char* key, std::string& target, bool required) {
      if (!ok) return;
      if (!j.contains(key) || j[key].is_null()) {
        if (required) {
          reject(key, RejectReason::missing_value, "required");
          ok = false;
        }
        return;
      }
      const auto v = json_id(j[key]);
      if (!v) {
        reject(key, RejectReason::wrong_type, "expected a string or an integer, got " + j[key].dump());
        ok = false;
        return;
      }
      target = *v;
    };
    id_field("recommendation_id", x.recommendation_id, true);
    id_field("user", x.user, false);
    id_field("session", x.session, false);
    if (ok && x.user.empty() && x.session.empty()) {
      reject("user", RejectReason::missing_value, "needs a user or a session");
      ok = false;
    }
    if (ok) {
      std::optional<Timestamp> t;
      if (j.contains("timestamp") && j["timestamp"].is_number()) {
        t = parse_timestamp(j["timestamp"].dump());
      } else if (j.contains("timestamp") && j["timestamp"].is_string()) {
        t = parse_timestamp(j["timestamp"].get<std::string>());
      }
      if (!t) {
        reject("timestamp", j.contains("timestamp") ? RejectReason::invalid_timestamp : RejectReason::missing_value,
               j.contains("timestamp") ? quote_value(j["timestamp"].dump()) : "required");
        ok = false;
      } else {
        x.timestamp = *t;
      }
    }
    if (ok) {
      if (!j.contains("items") || !j["items"].is_array()) {
        reject("items", RejectReason::wrong_type, "expected an array of item IDs");
        ok = false;
      } else {
        for (const auto& item : j["items"]) {
          const auto v = json_id(item);
          if (!v || v->empty()) {
            reject("items", RejectReason::wrong_type, "expected non-empty item IDs, got " + item.dump());
            ok = false;
            break;
          }
          x.items.push_back(*v);
        }
      }
    }
    if (ok && j.contains("variants") && !j["variants"].is_null()) {
      if (!j["variants"].is_object()) {
        reject("variants", RejectReason::wrong_type, "expected an object {experiment: variant}");
        ok = false;
      } else {
        for (const auto& [experiment, variant] : j["variants"].items()) {
          if (!variant.is_string() || variant.get<std::string>().empty() || experiment.empty()) {
            reject("variants", RejectReason::wrong_type,
                   "experiment '" + experiment + "': expected a variant name, got " + variant.dump());
            ok = false;
            break;
          }
          x.variants.push_back(make_assignment(experiment, variant.get<std::string>()));
        }
      }
    }
    if (!ok) continue;
    report.accept();
    out.exposures.push_back(std::move(x));
  }
  out.report = report.take();
  return out;
}

LoadedExposures read_exposures_csv(const std::string& path, ErrorPolicy policy, char delimiter) {
  LoadedExposures out;
  ReportBuilder report(path, policy);
  auto in = open_input(path);
  CsvOptions options;
  options.delimiter = delimiter;
  CsvReader csv(*in, path, options);
  csv.read_header();
  const std::size_t c_id = csv.require_column("recommendation_id");
  const std::size_t c_time = csv.require_column("timestamp");
  const std::size_t c_items = csv.require_column("items");
  const auto c_user = csv.column("user");
  const auto c_session = csv.column("session");
  const auto c_variants = csv.column("variants");
  if (!c_user && !c_session) csv.require_column("user");  // names the missing column
  while (csv.next_valid_row(report)) {
    Exposure x;
    x.recommendation_id = std::string(trim_blanks(csv.field(c_id)));
    if (c_user) x.user = std::string(trim_blanks(csv.field(*c_user)));
    if (c_session) x.session = std::string(trim_blanks(csv.field(*c_session)));
    if (x.recommendation_id.empty()) {
      report.reject(csv.rejection(RejectReason::missing_value, c_id, "required"));
      continue;
    }
    if (x.user.empty() && x.session.empty()) {
      report.reject(csv.rejection(RejectReason::missing_value, c_user ? *c_user : *c_session, "needs a user or a session"));
      continue;
    }
    const auto t = parse_timestamp(csv.field(c_time));
    if (!t) {
      report.reject(csv.rejection(RejectReason::invalid_timestamp, c_time, quote_value(csv.field(c_time))));
      continue;
    }
    x.timestamp = *t;
    x.items = split_bar(csv.field(c_items));
    bool ok = true;
    if (c_variants) {
      for (const std::string& pair : split_bar(csv.field(*c_variants))) {
        const std::size_t eq = pair.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
          report.reject(csv.rejection(RejectReason::invalid_value, *c_variants,
                                      "expected experiment=variant, got " + quote_value(pair)));
          ok = false;
          break;
        }
        x.variants.push_back(make_assignment(std::string(trim_blanks(pair.substr(0, eq))),
                                             std::string(trim_blanks(pair.substr(eq + 1)))));
      }
    }
    if (!ok) continue;
    report.accept();
    out.exposures.push_back(std::move(x));
  }
  out.report = report.take();
  return out;
}

// Events with the input options plus an optional session column.
LoadedEvents read_events(const std::string& path, const Args& args) {
  LoadedEvents out;
  const bool jsonl = is_jsonl(path, args.get("format"));
  EventReaderOptions o;
  const std::string d = args.get("delimiter");
  if (d == "tab" || d == "\\t") o.csv.delimiter = '\t';
  else if (d.size() == 1) o.csv.delimiter = d[0];
  else throw UsageError("option '--delimiter': expected one character or 'tab', got '" + d + "'");
  o.policy = args.flag("lenient") ? ErrorPolicy::lenient : ErrorPolicy::strict;
  o.user_field = args.get("user-col");
  o.item_field = args.get("item-col");
  EventTypeRegistry types;
  const auto default_type = types.find(args.get("default-type"));
  if (!default_type)
    throw UsageError("option '--default-type': unknown event type '" + args.get("default-type") + "'");
  o.default_type = *default_type;
  std::vector<std::string> columns;
  if (!jsonl) {
    auto in = open_input(path);
    CsvReader csv(*in, path, o.csv);
    csv.read_header();
    columns = csv.header();
  }
  const auto optional = [&](const std::string& name) -> std::string {
    if (jsonl) return name;  // a JSON record may omit any optional key
    return std::find(columns.begin(), columns.end(), name) != columns.end() ? name : std::string();
  };
  o.timestamp_field = optional(args.get("time-col"));
  o.require_timestamp = !jsonl && !o.timestamp_field.empty();
  o.type_field = optional(args.get("type-col"));
  o.value_field = optional(args.get("value-col"));
  o.session_field = optional(args.get("session-col"));
  if (o.user_field == o.session_field) o.session_field.clear();
  auto sink = [&](Event&& e) { out.events.push_back(std::move(e)); };
  out.report = jsonl ? read_events_jsonl(path, o, sink, types) : read_events_csv(path, o, sink, types);
  return out;
}

int run_assign(const ExperimentSet& set, const std::string& users_path, std::ostream& out) {
  auto in = open_input(users_path);
  LineReader lines(*in);
  out << "user_id,experiment,variant\n";
  while (lines.next()) {
    const std::string_view id = trim_blanks(lines.line());
    if (id.empty()) continue;
    ExperimentContext ctx;
    ctx.user = std::string(id);
    const Assignments a = set.assign(ctx);
    if (a.global_holdout) out << csv_field(ctx.user) << ",*,global_holdout\n";
    for (const auto& x : a.experiments)
      out << csv_field(ctx.user) << "," << csv_field(x.experiment) << "," << csv_field(x.variant) << "\n";
  }
  return 0;
}

}  // namespace

int cmd_experiment(int argc, char** argv) {
  CommandSpec spec{
      "experiment",
      "A/B test report: replays exposures and events through last-touch attribution and prints,\n"
      "per experiment of --config, the variants' metrics and whether each treatment won, lost or\n"
      "is inconclusive, and why.",
      kDetails,
      {{"config", "FILE", "experiments configuration (JSON)", "", true},
       {"exposures", "FILE", "recommendation exposures (CSV or JSON Lines, gzip ok)", "", false},
       {"events", "FILE", "shopper events (CSV or JSON Lines, gzip ok)", "", false},
       {"experiment", "NAME", "report only this experiment (default: all in --config)", "", false},
       {"window-hours", "H", "attribution window after an exposure", "24", false},
       {"return-window-days", "D", "window for crediting a return to a purchase", "30", false},
       {"session-col", "NAME", "events column grouping purchases into orders (optional in the file)",
        "session", false},
       {"json", "", "print one JSON document instead of tables", "", false},
       {"assign", "FILE", "print the variants of the user IDs in FILE (one per line) and exit", "", false},
       {"out", "FILE", "output file ('-' = stdout)", "-", false}}};
  add_options(spec, input_options());
  spec.options.push_back(quiet_option());
  const Args args = Args::parse(spec, argc, argv, 2);
  const Progress progress(args.flag("quiet") || args.flag("json"));
  const double window_hours = args.get_double("window-hours");
  const double return_days = args.get_double("return-window-days");
  if (!(window_hours >= 0) || window_hours > 1e6)
    throw UsageError("option '--window-hours': must be in [0, 1e6], got " + args.get("window-hours"));
  if (!(return_days >= 0) || return_days > 1e5)
    throw UsageError("option '--return-window-days': must be in [0, 1e5], got " + args.get("return-window-days"));

  const ExperimentSet set = ExperimentSet::load(args.get("config"));
  Output output(args.get("out"));
  if (args.has("assign")) {
    const int code = run_assign(set, args.get("assign"), output.stream());
    output.close();
    return code;
  }
  if (!args.has("exposures") || !args.has("events"))
    throw UsageError("--exposures and --events are required (or --assign)");
  std::vector<const ExperimentConfig*> chosen;
  if (args.has("experiment")) {
    const ExperimentConfig* e = set.find(args.get("experiment"));
    if (e == nullptr)
      TAILOR_THROW(unknown_id, args.get("config") << ": no experiment named '" << args.get("experiment") << "'");
    chosen.push_back(e);
  } else {
    for (const auto& e : set.experiments()) chosen.push_back(&e);
  }

  const std::string exposures_path = args.get("exposures");
  progress.note("reading " + exposures_path + "...");
  const ErrorPolicy policy = args.flag("lenient") ? ErrorPolicy::lenient : ErrorPolicy::strict;
  const std::string d = args.get("delimiter");
  const char delimiter = (d == "tab" || d == "\\t") ? '\t' : (d.empty() ? ',' : d[0]);
  LoadedExposures exposures = is_jsonl(exposures_path, args.get("format"))
                                  ? read_exposures_jsonl(exposures_path, policy)
                                  : read_exposures_csv(exposures_path, policy, delimiter);
  progress.note("reading " + args.get("events") + "...");
  LoadedEvents events = read_events(args.get("events"), args);

  // Replay in time order; exposures before events at equal times.
  struct Step {
    Timestamp t;
    int kind;  // 0 exposure, 1 event
    std::size_t index;
  };
  std::vector<Step> steps;
  steps.reserve(exposures.exposures.size() + events.events.size());
  for (std::size_t i = 0; i < exposures.exposures.size(); ++i) steps.push_back({exposures.exposures[i].timestamp, 0, i});
  for (std::size_t i = 0; i < events.events.size(); ++i) steps.push_back({events.events[i].timestamp, 1, i});
  std::stable_sort(steps.begin(), steps.end(), [](const Step& a, const Step& b) {
    return a.t != b.t ? a.t < b.t : a.kind < b.kind;
  });
  OutcomeOptions options;
  options.attribution_window_ms = static_cast<Timestamp>(window_hours * 3600.0 * 1000.0);
  options.return_window_ms = static_cast<Timestamp>(return_days * 24.0 * 3600.0 * 1000.0);
  OutcomeTracker tracker(options);
  for (const Step& s : steps) {
    if (s.kind == 0) {
      tracker.record_exposure(exposures.exposures[s.index]);
    } else {
      tracker.record_event(events.events[s.index]);
    }
  }
  const OutcomeCounters counters = tracker.counters();
  std::vector<ExperimentReport> reports;
  for (const ExperimentConfig* e : chosen) reports.push_back(analyze_experiment(*e, tracker.metrics(e->name)));
  std::vector<std::string> unknown;
  for (const auto& name : tracker.experiments())
    if (set.find(name) == nullptr) unknown.push_back(name);

  std::ostream& out = output.stream();
  if (args.flag("json")) {
    nlohmann::json j;
    j["config"] = args.get("config");
    j["exposures"] = exposures.report.to_json();
    j["events"] = events.report.to_json();
    j["attribution"] = {{"window_hours", window_hours},
                        {"return_window_days", return_days},
                        {"exposures_recorded", counters.exposures},
                        {"duplicate_exposures", counters.duplicate_exposures},
                        {"events", counters.events},
                        {"attributed", counters.attributed},
                        {"unattributed", counters.unattributed},
                        {"ignored", counters.ignored}};
    j["unknown_experiments"] = unknown;
    j["reports"] = nlohmann::json::array();
    for (const auto& r : reports) j["reports"].push_back(r.to_json());
    out << j.dump(2) << "\n";
  } else {
    out << "exposures: " << exposures.report.accepted << " read (" << exposures.report.rejected << " rejected, "
        << counters.duplicate_exposures << " duplicates); events: " << events.report.accepted << " read ("
        << events.report.rejected << " rejected), " << counters.attributed << " attributed within "
        << window_hours << " h, " << counters.unattributed << " outcome events unattributed\n";
    if (!unknown.empty()) {
      out << "exposures name experiments not in the configuration:";
      for (const auto& u : unknown) out << " " << u;
      out << "\n";
    }
    for (const auto& r : reports) out << "\n" << r.to_table();
  }
  output.close();
  return 0;
}

}  // namespace tailor::cli
