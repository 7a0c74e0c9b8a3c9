// tailor CLI: stats, fit, recommend, similar and split.
#include "commands.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "tailor/models/scorers.hpp"
#include "tailor/core/error.hpp"
#include "tailor/data/splits.hpp"

namespace tailor::cli {

namespace {

OptionSpec train_option() {
  return {"train", "FILE", "events file (CSV or JSON Lines, gzip ok): user_id,item_id[,timestamp,event_type,value]",
          "", true};
}

std::string json_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Sorted, unique union of two ascending index lists.
std::vector<Index> merge_sorted(const std::vector<Index>& a, const std::vector<Index>& b) {
  std::vector<Index> out;
  out.reserve(a.size() + b.size());
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// Matrix item indices whose catalog record says in_stock = false (ascending).
std::vector<Index> out_of_stock_items(const Catalog& catalog, const IdMap& items) {
  std::vector<Index> out;
  for (const auto& item : catalog) {
    if (item.in_stock) continue;
    if (const auto i = items.find(item.id)) out.push_back(*i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

// ---- stats ----------------------------------------------------------------------------------------

int cmd_stats(int argc, char** argv) {
  CommandSpec spec{"stats",
                   "Reads an events file and prints the interaction matrix statistics (users, items,\n"
                   "density, per-user/per-item distributions, Gini, cold shares, model advice) and\n"
                   "the report of rejected rows.",
                   "",
                   {train_option(), {"json", "", "print one JSON document instead of text", "", false}}};
  add_options(spec, input_options());
  add_options(spec, model_options());
  spec.options.push_back(quiet_option());
  const Args args = Args::parse(spec, argc, argv, 2);
  const Progress progress(args.flag("quiet") || args.flag("json"));
  const std::string path = args.get("train");
  TrainingData data = load_training(path, args, progress);
  const InteractionStats stats = data.matrix.statistics();
  if (args.flag("json")) {
    nlohmann::json j;
    j["file"] = path;
    j["read"] = data.loaded.report.to_json();
    j["build"] = data.matrix.report().to_json();
    j["stats"] = stats.to_json();
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  const ReadReport& r = data.loaded.report;
  std::cout << "file: " << path << "\n"
            << "rows: " << r.records << " read, " << r.accepted << " accepted, " << r.rejected
            << " rejected, " << r.blank_lines << " blank lines\n";
  for (const auto& [reason, count] : r.by_reason)
    std::cout << "  rejected " << reject_reason_name(reason) << ": " << count << "\n";
  for (std::size_t i = 0; i < r.samples.size() && i < 5; ++i)
    std::cout << "  e.g. " << r.samples[i].message() << "\n";
  const BuildReport& b = data.matrix.report();
  std::cout << "events: " << b.events_seen << " seen, " << b.events_used << " used, "
            << b.skipped_zero_weight << " zero weight, " << b.skipped_no_item << " without item, "
            << b.skipped_anonymous << " anonymous skipped, " << b.skipped_invalid_value
            << " invalid value\n"
            << "pairs: " << b.pairs_total << " total, " << b.pairs_dropped_nonpositive
            << " dropped (net weight <= 0)\n"
            << stats.summary();
  if (!stats.summary().empty() && stats.summary().back() != '\n') std::cout << "\n";
  return 0;
}

// ---- fit ------------------------------------------------------------------------------------------

int cmd_fit(int argc, char** argv) {
  CommandSpec spec{"fit",
                   "Trains the Recommender (ALS, item neighbours, content and cold-start bridge,\n"
                   "popularity, trending, co-purchases, the retrieval index) on --train and saves it\n"
                   "with --out; `recommend`, `similar`, `bought-together` and `trending` serve the\n"
                   "saved file with --model, without training again.",
                   "Options come from --config (RecommenderOptions as JSON, docs/configuration.md;\n"
                   "absent keys keep their defaults); model options given on the command line\n"
                   "(--factors, --alpha...) override them. --algorithm als trains bare ALS instead\n"
                   "and prints each iteration's loss and time (nothing is saved).",
                   recommender_source_options()};
  spec.options.push_back({"out", "FILE", "write the model file here (atomic: old or new file)", "", false});
  spec.options.push_back({"algorithm", "hybrid|als", "what to train", "hybrid", false});
  add_options(spec, input_options());
  add_options(spec, model_options());
  spec.options.push_back(quiet_option());
  const Args args = Args::parse(spec, argc, argv, 2);
  const std::string algorithm = args.get("algorithm");
  if (algorithm == "hybrid") return hybrid_fit(args);
  if (algorithm != "als") throw UsageError("option '--algorithm': expected hybrid or als, got '" + algorithm + "'");
  for (const char* name : {"out", "model", "config", "catalog"})
    if (args.has(name))
      throw UsageError(std::string("option '--") + name + "' needs --algorithm hybrid (bare ALS is not saved)");
  if (!args.has("train")) throw UsageError("missing required option '--train FILE'");
  const Progress progress(args.flag("quiet"));
  const ALSOptions options = als_options(args);
  TrainingData data = load_training(args.get("train"), args, progress);
  const InteractionMatrixOptions& m = data.matrix.options();
  std::cout << "data: " << data.matrix.n_users() << " users x " << data.matrix.n_items()
            << " items, " << data.matrix.nnz() << " interactions\n"
            << "confidence: " << (m.transform == ConfidenceTransform::linear ? "1 + alpha*w" : "1 + alpha*log(1 + w)")
            << ", alpha " << json_number(m.alpha) << ", half-life "
            << json_number(m.weights.half_life_days) << " days\n"
            << "als: factors " << options.factors << ", iterations " << options.iterations
            << ", regularization " << json_number(options.regularization) << ", cg steps "
            << options.cg_steps << ", seed " << options.seed << ", threads "
            << (options.threads == 0 ? std::string("all") : std::to_string(options.threads))
            << ", kernels " << ALSFactorizer::kernel_name() << "\n";
  std::vector<ALSProgress> log;
  const ALSFactorizer als = train_als(data.matrix.confidence(), options, progress, &log);
  std::cout << "iteration  loss            seconds  total_seconds\n";
  for (const auto& p : log) {
    char line[128];
    std::snprintf(line, sizeof line, "%9d  %-14.8g  %7.3f  %13.3f\n", p.iteration, p.loss, p.seconds,
                  p.total_seconds);
    std::cout << line;
  }
  std::cout << "trained " << als.iterations_run() << " iterations in "
            << json_number(log.empty() ? 0.0 : log.back().total_seconds) << " s\n";
  return 0;
}

// ---- recommend ------------------------------------------------------------------------------------

int cmd_recommend(int argc, char** argv) {
  CommandSpec spec{
      "recommend",
      "Writes the top-k items of every user (or of the users listed in --users) as CSV:\n"
      "user_id,rank,item_id,score[,reason_kind,reason_item,reason] (header; rank from 1; IDs\n"
      "quoted per RFC 4180 when needed; best first). The Recommender answers: from a saved\n"
      "--model, or trained once on --train (with --catalog and --config, as `tailor fit`).",
      "Items the user already has are excluded unless --include-seen; items marked\n"
      "in_stock=false in the catalog are never recommended. Users the model does not know get\n"
      "the cold-start answer (popular and trending items) and are counted on stderr. A user may\n"
      "get fewer than k rows when fewer items are eligible. --users: one ID per line (or the\n"
      "first CSV field); a first line 'user_id' is a header. --algorithm als|knn|pop ranks with\n"
      "one bare model on --train instead (baselines; --reasons needs the Recommender).",
      recommender_source_options()};
  add_options(spec, {{"k", "N", "recommendations per user", "10", false},
                     {"out", "FILE", "output CSV ('-' = stdout)", "-", false},
                     {"users", "FILE", "user IDs to answer (default: every user of the model)", "", false},
                     {"include-seen", "", "also recommend items the user already has", "", false},
                     {"reasons", "", "add reason_kind,reason_item,reason columns", "", false},
                     {"algorithm", "hybrid|als|knn|pop", "who ranks", "hybrid", false}});
  add_options(spec, input_options());
  add_options(spec, model_options());
  spec.options.push_back(quiet_option());
  const Args args = Args::parse(spec, argc, argv, 2);
  const std::string model = args.get("algorithm");
  if (model == "hybrid") return hybrid_recommend(args);
  if (model != "als" && model != "knn" && model != "pop")
    throw UsageError("option '--algorithm': expected hybrid, als, knn or pop, got '" + model + "'");
  for (const char* name : {"model", "config", "reasons"})
    if (args.has(name)) throw UsageError(std::string("option '--") + name + "' needs --algorithm hybrid");
  if (!args.has("train")) throw UsageError("missing required option '--train FILE'");
  const Progress progress(args.flag("quiet"));
  const std::size_t k = args.get_size("k");
  if (k == 0) throw UsageError("option '--k': must be >= 1");
  const ALSOptions options = als_options(args);

  TrainingData data = load_training(args.get("train"), args, progress);
  const InteractionMatrix& m = data.matrix;
  std::vector<Index> blocked;
  if (args.has("catalog")) {
    const Catalog catalog = load_catalog(args.get("catalog"), args);
    blocked = out_of_stock_items(catalog, m.items());
    progress.note(args.get("catalog") + ": " + std::to_string(catalog.size()) + " items, " +
                  std::to_string(blocked.size()) + " out of stock among the trained items");
  }

  // Users: every matrix row in index order, or the file's list.
  std::vector<std::string> user_ids;
  if (args.has("users")) {
    auto in = open_input(args.get("users"));
    LineReader lines(*in);
    while (lines.next()) {
      const std::string_view id = trim_blanks(lines.line());
      if (!id.empty()) user_ids.emplace_back(id);
    }
  } else {
    user_ids.assign(m.users().ids().begin(), m.users().ids().end());
  }

  PopularityScorer popularity;
  popularity.fit(m.confidence());
  ALSFactorizer als;
  ItemKnnOptions knn_options;
  knn_options.threads = options.threads;
  ItemKnnScorer knn(knn_options);
  if (model == "als") als = train_als(m.confidence(), options, progress);
  if (model == "knn") knn.fit(m.confidence());

  Output out(args.get("out"));
  std::ostream& os = out.stream();
  os << "user_id,rank,item_id,score\n";
  std::size_t unknown = 0;
  for (std::size_t n = 0; n < user_ids.size(); ++n) {
    const std::string& id = user_ids[n];
    const auto u = m.users().find(id);
    std::vector<ScoredItem> top;
    if (!u) {
      ++unknown;
      top = popularity.recommend(0, k, blocked);
    } else {
      const std::vector<Index> exclude =
          args.flag("include-seen") ? blocked : merge_sorted(row_items(m.confidence(), *u), blocked);
      if (model == "als") {
        for (const auto& r : als.recommend(als.user_factors().row(*u).transpose(), k, exclude))
          top.push_back({r.item, r.score});
      } else if (model == "knn") {
        top = knn.recommend(*u, k, exclude);
      } else {
        top = popularity.recommend(*u, k, exclude);
      }
    }
    const std::string quoted = csv_field(id);
    for (std::size_t r = 0; r < top.size(); ++r)
      os << quoted << ',' << (r + 1) << ',' << csv_field(m.items().id(top[r].item)) << ','
         << format_score(top[r].score) << '\n';
    if ((n + 1) % 1000 == 0 || n + 1 == user_ids.size())
      progress.step("recommend", n + 1, user_ids.size());
  }
  out.close();
  if (unknown > 0)
    progress.note(std::to_string(unknown) + " of " + std::to_string(user_ids.size()) +
                  " users are not in --train: they got the most popular items");
  return 0;
}

// ---- similar --------------------------------------------------------------------------------------

int cmd_similar(int argc, char** argv) {
  CommandSpec spec{
      "similar",
      "Prints the items most similar to --item as CSV: rank,item_id,score[,title]\n"
      "[,reason_kind,reason_item,reason].",
      "--method hybrid (default): the Recommender's product-page answer (item neighbours,\n"
      "content and collaborative similarity, with rules: out-of-stock items are skipped), from\n"
      "--model or trained on --train. Baselines on --train: --method knn, the cosine of the\n"
      "items' user columns, 100 nearest kept per item; --method als, the cosine of the ALS item\n"
      "factors (smoother for rare items). Titles come from the catalog when it has them.",
      recommender_source_options()};
  add_options(spec, {{"item", "ID", "the item to find neighbours of", "", true},
                     {"k", "N", "number of similar items", "10", false},
                     {"method", "hybrid|knn|als", "similarity model", "hybrid", false},
                     {"reasons", "", "add reason_kind,reason_item,reason columns (hybrid)", "", false},
                     {"out", "FILE", "output CSV ('-' = stdout)", "-", false}});
  add_options(spec, input_options());
  add_options(spec, model_options());
  spec.options.push_back(quiet_option());
  const Args args = Args::parse(spec, argc, argv, 2);
  const std::string method = args.get("method");
  if (method == "hybrid") return hybrid_similar(args);
  if (method != "knn" && method != "als")
    throw UsageError("option '--method': expected hybrid, knn or als, got '" + method + "'");
  for (const char* name : {"model", "config", "reasons"})
    if (args.has(name)) throw UsageError(std::string("option '--") + name + "' needs --method hybrid");
  if (!args.has("train")) throw UsageError("missing required option '--train FILE'");
  const Progress progress(args.flag("quiet"));
  const std::size_t k = args.get_size("k");
  if (k == 0) throw UsageError("option '--k': must be >= 1");
  const ALSOptions options = als_options(args);

  TrainingData data = load_training(args.get("train"), args, progress);
  const InteractionMatrix& m = data.matrix;
  const auto item = m.items().find(args.get("item"));
  if (!item)
    TAILOR_THROW(unknown_id, args.get("train") << ": item " << quote_value(args.get("item"))
                                               << " has no interactions");
  Catalog catalog;
  if (args.has("catalog")) catalog = load_catalog(args.get("catalog"), args);

  std::vector<ScoredItem> top;
  if (method == "knn") {
    ItemKnnOptions ko;
    ko.threads = options.threads;
    ItemKnnScorer knn(ko);
    knn.fit(m.confidence());
    top = knn.similar_items(*item, k);
  } else {
    const ALSFactorizer als = train_als(m.confidence(), options, progress);
    for (const auto& r : als.similar_items(*item, k)) top.push_back({r.item, r.score});
  }
  const bool titles = args.has("catalog");
  if (titles) {
    const CatalogItem* self = catalog.find(args.get("item"));
    progress.note("similar to " + args.get("item") + (self ? " (" + self->title + ")" : std::string()));
  }
  Output out(args.get("out"));
  std::ostream& os = out.stream();
  os << "rank,item_id,score" << (titles ? ",title" : "") << "\n";
  for (std::size_t r = 0; r < top.size(); ++r) {
    const std::string& id = m.items().id(top[r].item);
    os << (r + 1) << ',' << csv_field(id) << ',' << format_score(top[r].score);
    if (titles) {
      const CatalogItem* c = catalog.find(id);
      os << ',' << csv_field(c ? c->title : std::string());
    }
    os << '\n';
  }
  out.close();
  return 0;
}

// ---- split ----------------------------------------------------------------------------------------

int cmd_split(int argc, char** argv) {
  CommandSpec spec{
      "split",
      "Splits an events file into train and test CSV files (user_id,item_id,event_type,\n"
      "timestamp,value; timestamps in ISO-8601 UTC, columns the input lacks are left out).",
      "Methods (each (user, item) pair goes whole to one side, except temporal):\n"
      "  stratified-item  per item, a seeded shuffle keeps round(ratio*n) pairs in train, at least\n"
      "                   one (Microsoft Recommenders' python_stratified_split with col=item)\n"
      "  stratified-user  the same per user\n"
      "  temporal         events before --cutoff to train, the rest to test; without --cutoff the\n"
      "                   cutoff is the ratio-quantile of the event timestamps\n"
      "  leave-last-k     each user's --k latest pairs to test (at least one pair stays in train)\n"
      "Events whose pair has a net weight <= 0 (e.g. fully returned) stay in train.",
      {{"in", "FILE", "events file to split", "", true},
       {"train-out", "FILE", "train CSV to write", "", true},
       {"test-out", "FILE", "test CSV to write", "", true},
       {"method", "NAME", "stratified-item|stratified-user|temporal|leave-last-k", "stratified-item",
        false},
       {"ratio", "X", "train share, in (0, 1)", "0.75", false},
       {"seed", "N", "shuffle seed (stratified)", "42", false},
       {"cutoff", "TIME", "temporal: ISO-8601 date/time or epoch seconds/ms", "", false},
       {"k", "N", "leave-last-k: pairs per user held out", "1", false}}};
  add_options(spec, input_options());
  spec.options.push_back(quiet_option());
  const Args args = Args::parse(spec, argc, argv, 2);
  const Progress progress(args.flag("quiet"));
  const std::string method = args.get("method");
  if (method != "stratified-item" && method != "stratified-user" && method != "temporal" &&
      method != "leave-last-k")
    throw UsageError("option '--method': unknown method '" + method + "'");
  const double ratio = args.get_double("ratio");
  if (!(ratio > 0.0 && ratio < 1.0)) throw UsageError("option '--ratio': must be in (0, 1)");
  const std::uint64_t seed = args.get_u64("seed");
  const std::size_t hold_out = args.get_size("k");
  if (method == "leave-last-k" && hold_out == 0) throw UsageError("option '--k': must be >= 1");

  const std::string path = args.get("in");
  progress.note("reading " + path);
  LoadedEvents loaded = load_events(path, args);
  const auto has_column = [&](const std::string& c) {
    return std::find(loaded.columns.begin(), loaded.columns.end(), c) != loaded.columns.end();
  };
  const bool has_time = has_column(args.get("time-col"));
  const bool has_value = has_column(args.get("value-col"));

  std::vector<char> to_test(loaded.events.size(), 0);
  if (method == "temporal") {
    if (!has_time) TAILOR_THROW(invalid_argument, path << ": temporal split needs a timestamp column");
    Timestamp cutoff = 0;
    if (args.has("cutoff")) {
      const auto t = parse_timestamp(args.get("cutoff"));
      if (!t) throw UsageError("option '--cutoff': not a timestamp: '" + args.get("cutoff") + "'");
      cutoff = *t;
    } else {
      if (loaded.events.empty()) TAILOR_THROW(invalid_argument, path << ": no events");
      std::vector<Timestamp> times;
      times.reserve(loaded.events.size());
      for (const auto& e : loaded.events) times.push_back(e.timestamp);
      std::sort(times.begin(), times.end());
      cutoff = times[std::min(times.size() - 1, static_cast<std::size_t>(ratio * static_cast<double>(times.size())))];
    }
    progress.note("temporal cutoff " + format_timestamp(cutoff));
    for (std::size_t i = 0; i < loaded.events.size(); ++i)
      to_test[i] = loaded.events[i].timestamp >= cutoff ? 1 : 0;
  } else {
    InteractionMatrixBuilder builder;
    for (const auto& e : loaded.events) builder.add(e);
    const InteractionMatrix m = builder.build();
    const std::vector<Interaction> pairs = m.interactions();
    Split split;
    if (method == "stratified-item") split = split_stratified(pairs, ratio, seed, StratifyBy::item);
    else if (method == "stratified-user") split = split_stratified(pairs, ratio, seed, StratifyBy::user);
    else split = split_leave_last_k(pairs, hold_out);
    std::unordered_set<std::uint64_t> test_keys;
    test_keys.reserve(split.test.size() * 2);
    for (const auto& x : split.test)
      test_keys.insert((static_cast<std::uint64_t>(x.user) << 32) | x.item);
    for (std::size_t i = 0; i < loaded.events.size(); ++i) {
      const Event& e = loaded.events[i];
      const auto u = m.users().find(e.actor());
      const auto it = m.items().find(e.item);
      if (u && it) to_test[i] = test_keys.count((static_cast<std::uint64_t>(*u) << 32) | *it) ? 1 : 0;
    }
  }

  EventTypeRegistry types;
  Output train_out(args.get("train-out"));
  Output test_out(args.get("test-out"));
  std::size_t n_train = 0, n_test = 0;
  for (Output* o : {&train_out, &test_out}) {
    o->stream() << "user_id,item_id,event_type" << (has_time ? ",timestamp" : "")
                << (has_value ? ",value" : "") << "\n";
  }
  for (std::size_t i = 0; i < loaded.events.size(); ++i) {
    const Event& e = loaded.events[i];
    std::ostream& os = to_test[i] ? test_out.stream() : train_out.stream();
    (to_test[i] ? n_test : n_train)++;
    os << csv_field(e.actor()) << ',' << csv_field(e.item) << ','
       << csv_field(std::string(types.name(e.type)));
    if (has_time) os << ',' << format_timestamp(e.timestamp);
    if (has_value) {
      os << ',';
      if (e.value) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", *e.value);
        os << buf;
      }
    }
    os << '\n';
  }
  train_out.close();
  test_out.close();
  progress.note(method + " split: " + std::to_string(n_train) + " train events, " +
                std::to_string(n_test) + " test events");
  return 0;
}

}  // namespace tailor::cli
