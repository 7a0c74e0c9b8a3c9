// tailor CLI: the commands that run the Recommender (the hybrid every host links): fit --out,
// recommend / similar with --model or --train, bought-together, trending, inspect.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "commands.hpp"
#include "tailor/core/error.hpp"
#include "tailor/io/readers.hpp"
#include "tailor/persistence/model_file.hpp"
#include "tailor/serving/options_json.hpp"
#include "tailor/serving/recommender.hpp"

namespace tailor::cli {

namespace {

const char* const kModelFlags[] = {"factors", "iterations", "regularization", "alpha",
                                   "transform", "half-life", "seed"};

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g s", s);
  return buf;
}

std::string report_text(const RetrainReport& r) {
  std::string text = std::to_string(r.events) + " events -> " + std::to_string(r.users) + " users x " +
                     std::to_string(r.items) + " items, " + std::to_string(r.interactions) +
                     " interactions; trained in " + seconds_text(r.seconds) + " (";
  for (std::size_t i = 0; i < r.phases.size(); ++i)
    text += (i ? ", " : "") + r.phases[i].first + " " + seconds_text(r.phases[i].second);
  text += "); EASE " + std::string(r.ease ? "on" : "off") + ", content " + std::string(r.content ? "on" : "off") + ", cold-start bridge " +
          (r.bridge ? "on" : "off") + ", retrieval " + r.ann_backend;
  if (r.blend) {
    char buf[320];
    const HybridRankerOptions& b = r.blend->options;
    std::snprintf(buf, sizeof buf,
                  "; blend learned on %zu validation shoppers (nDCG %.4f -> %.4f): knn %g ease %g "
                  "content %g popular %g trending %g",
                  r.blend_cases, r.blend->start_ndcg, r.blend->ndcg, b.weight_knn, b.weight_ease,
                  b.weight_content, b.weight_popular, b.weight_trending);
    text += buf;
  } else if (!r.blend_note.empty()) {
    text += "; blend not learned: " + r.blend_note;
  }
  return text;
}

// The header line's optional columns.
struct Columns {
  bool title = false;
  bool reasons = false;
};

void write_items(std::ostream& os, const std::string& prefix, const RecommendResponse& response,
                 const Catalog& catalog, const Columns& columns) {
  for (std::size_t r = 0; r < response.items.size(); ++r) {
    const Recommendation& x = response.items[r];
    os << prefix << (r + 1) << ',' << csv_field(x.item) << ',' << format_score(x.score);
    if (columns.title) {
      const CatalogItem* c = catalog.find(x.item);
      os << ',' << csv_field(c ? c->title : std::string());
    }
    if (columns.reasons)
      os << ',' << reason_kind_name(x.reason_kind) << ',' << csv_field(x.reason_item) << ','
         << csv_field(x.reason);
    os << '\n';
  }
}

std::string header(const std::string& first, const Columns& columns) {
  return first + "rank,item_id,score" + (columns.title ? ",title" : "") +
         (columns.reasons ? ",reason_kind,reason_item,reason" : "") + "\n";
}

bool catalog_has_titles(const Catalog& catalog) {
  return std::any_of(catalog.begin(), catalog.end(), [](const CatalogItem& c) { return !c.title.empty(); });
}

std::size_t k_of(const Args& args) {
  const std::size_t k = args.get_size("k");
  if (k == 0) throw UsageError("option '--k': must be >= 1");
  return k;
}

}  // namespace

// The model options (model_options()) a --train run may set on top of --config, and where each
// lands in RecommenderOptions. Only options given on the command line are applied.
void apply_model_flags(const Args& args, const std::vector<Event>& events, RecommenderOptions& o) {
  if (args.has("factors")) o.als.factors = args.get_size("factors");
  if (args.has("iterations")) {
    const auto n = args.get_int("iterations");
    if (n < 1 || n > 100000) throw UsageError("option '--iterations': must be in [1, 100000]");
    o.als.iterations = static_cast<int>(n);
  }
  if (args.has("regularization")) o.als.regularization = static_cast<float>(args.get_double("regularization"));
  if (args.has("seed")) {
    o.als.seed = args.get_u64("seed");
    o.content.seed = o.als.seed;
    o.ann.seed = o.als.seed;
  }
  if (args.has("threads")) {
    const std::size_t t = args.get_size("threads");
    o.als.threads = t;
    o.neighbors.threads = t;
    o.ann.build_threads = t;
    o.guard.threads = t;
  }
  if (args.has("alpha")) {
    o.matrix.alpha = args.get_double("alpha");
    if (!(o.matrix.alpha > 0)) throw UsageError("option '--alpha': must be > 0");
  }
  if (args.has("transform")) {
    const std::string t = args.get("transform");
    if (t == "linear") o.matrix.transform = ConfidenceTransform::linear;
    else if (t == "log" || t == "logarithmic") o.matrix.transform = ConfidenceTransform::logarithmic;
    else throw UsageError("option '--transform': expected linear or log, got '" + t + "'");
  }
  if (args.has("half-life")) {
    const double days = args.get_double("half-life");
    if (days < 0) throw UsageError("option '--half-life': must be >= 0");
    o.matrix.weights.half_life_days = days;
    if (days > 0) {
      Timestamp latest = 0;
      for (const auto& e : events) latest = std::max(latest, e.timestamp);
      o.matrix.weights.reference_time = latest;
    }
  }
  try {
    o.validate();
  } catch (const Error& e) {
    throw UsageError(std::string("the model options: ") + e.what());
  }
}

std::vector<OptionSpec> recommender_source_options() {
  return {
      {"model", "FILE", "a model written by `tailor fit --out` (served as saved, no training)", "", false},
      {"train", "FILE",
       "events to train on (CSV or JSON Lines, gzip ok): user_id,item_id[,timestamp,event_type,value]",
       "", false},
      {"catalog", "FILE", "with --train: catalog (item_id[,title,description,category,brand,price,in_stock])",
       "", false},
      {"config", "FILE", "with --train: RecommenderOptions as JSON (docs/configuration.md)", "", false},
  };
}

std::unique_ptr<Recommender> open_recommender(const Args& args, const Progress& progress,
                                              const std::function<void(Recommender&)>& prepare) {
  const bool from_model = args.has("model");
  if (from_model == args.has("train")) throw UsageError("give one of --model FILE or --train FILE");
  if (from_model) {
    for (const char* name : {"config", "catalog"})
      if (args.has(name))
        throw UsageError(std::string("option '--") + name +
                         "' applies to --train (a model file keeps its options and catalog)");
    for (const char* name : kModelFlags)
      if (args.has(name)) throw UsageError(std::string("option '--") + name + "' applies to --train");
    const std::string path = args.get("model");
    progress.note("loading " + path);
    RecommenderOptions options = read_model_options(path);
    if (args.has("threads")) options.als.threads = options.neighbors.threads = args.get_size("threads");
    auto rec = std::make_unique<Recommender>(options);
    rec->load(path);
    if (prepare) prepare(*rec);
    const RecommenderStats s = rec->stats();
    progress.note(path + ": model version " + std::to_string(s.model_version) + ", " +
                  std::to_string(s.model_users) + " users, " + std::to_string(s.items) + " items");
    return rec;
  }
  const std::string path = args.get("train");
  RecommenderOptions options = args.has("config") ? read_options_file(args.get("config")) : RecommenderOptions{};
  LoadedEvents loaded = read_events_noted(path, args, progress);
  if (loaded.events.empty()) TAILOR_THROW(invalid_argument, path << ": no events");
  apply_model_flags(args, loaded.events, options);
  auto rec = std::make_unique<Recommender>(options);
  if (args.has("catalog")) {
    const Catalog catalog = load_catalog(args.get("catalog"), args);
    rec->upsert_items(std::vector<CatalogItem>(catalog.begin(), catalog.end()));
    progress.note(args.get("catalog") + ": " + std::to_string(catalog.size()) + " items");
  }
  if (prepare) prepare(*rec);
  try {
    rec->ingest(loaded.events);
  } catch (const Error& e) {
    TAILOR_THROW(invalid_argument, path << ": " << e.what());
  }
  progress.note("training the Recommender");
  const RetrainReport report = rec->retrain();
  progress.note(path + ": " + report_text(report));
  return rec;
}

// ---- fit ------------------------------------------------------------------------------------------

int hybrid_fit(const Args& args) {
  const Progress progress(args.flag("quiet"));
  if (args.has("model")) throw UsageError("option '--model': fit trains from --train");
  const auto rec = open_recommender(args, progress);
  const RecommenderStats s = rec->stats();
  std::cout << "trained model version " << s.model_version << ": " << s.model_users << " users, "
            << s.model_items << " items with factors, " << s.items << " in the catalog, "
            << s.events_kept << " events\n";
  if (args.has("out")) {
    const std::string out = args.get("out");
    rec->save(out);
    const ModelFileInfo info = inspect_model_file(out);
    std::cout << "saved " << out << " (" << info.file_size << " bytes, " << info.sections.size()
              << " sections)\n";
  }
  return 0;
}

// ---- recommend ------------------------------------------------------------------------------------

int hybrid_recommend(const Args& args) {
  const Progress progress(args.flag("quiet"));
  const std::size_t k = k_of(args);
  const std::size_t threads = args.get_size("threads");
  const auto rec = open_recommender(args, progress);
  const std::vector<std::string> known = rec->model_users();
  std::vector<std::string> users;
  if (args.has("users")) {
    auto in = open_input(args.get("users"));
    LineReader lines(*in);
    bool first = true;
    while (lines.next()) {
      std::string_view id = trim_blanks(lines.line());
      if (id.empty()) continue;
      if (first && (id == args.get("user-col") || id == "user_id")) {  // a header line
        first = false;
        continue;
      }
      first = false;
      users.emplace_back(id);
    }
  } else {
    users = known;
  }
  const std::unordered_set<std::string> known_set(known.begin(), known.end());
  Columns columns;
  columns.reasons = args.flag("reasons");
  const auto catalog = rec->catalog();
  Output out(args.get("out"));
  std::ostream& os = out.stream();
  os << header("user_id,", columns);
  std::size_t unknown = 0;
  constexpr std::size_t kChunk = 2048;
  for (std::size_t lo = 0; lo < users.size(); lo += kChunk) {
    const std::size_t hi = std::min(users.size(), lo + kChunk);
    std::vector<RecommendRequest> requests(hi - lo);
    for (std::size_t i = lo; i < hi; ++i) {
      RecommendRequest& r = requests[i - lo];
      r.user = users[i];
      r.k = k;
      r.rules.exclude_seen = r.rules.exclude_purchased = !args.flag("include-seen");
      if (known_set.count(users[i]) == 0) ++unknown;
    }
    const auto responses = rec->recommend_batch(requests, threads);
    for (std::size_t i = 0; i < responses.size(); ++i)
      write_items(os, csv_field(requests[i].user) + ",", responses[i], *catalog, columns);
    progress.step("recommend", hi, users.size());
  }
  out.close();
  if (unknown > 0)
    progress.note(std::to_string(unknown) + " of " + std::to_string(users.size()) + " users are not in " +
                  (args.has("model") ? std::string("the model") : std::string("--train")) +
                  ": they got the cold-start answer (popular and trending items)");
  return 0;
}

// ---- similar --------------------------------------------------------------------------------------

int hybrid_similar(const Args& args) {
  const Progress progress(args.flag("quiet"));
  const std::size_t k = k_of(args);
  const auto rec = open_recommender(args, progress);
  const std::string item = args.get("item");
  if (!rec->item_index(item))
    TAILOR_THROW(unknown_id, "item " << quote_value(item) << " is not in the catalog or the events");
  const auto catalog = rec->catalog();
  Columns columns{catalog_has_titles(*catalog), args.flag("reasons")};
  Output out(args.get("out"));
  out.stream() << header("", columns);
  write_items(out.stream(), "", rec->similar_items(item, k), *catalog, columns);
  out.close();
  return 0;
}

// ---- bought-together and trending -----------------------------------------------------------------

int cmd_bought_together(int argc, char** argv) {
  CommandSpec spec{"bought-together",
                   "Prints the items most often bought in the same basket (session, or user and day)\n"
                   "as --item, by lift-weighted co-purchase count, as CSV: rank,item_id,score[,title]\n"
                   "[,reason_kind,reason_item,reason]. Out-of-stock items are skipped.",
                   "",
                   recommender_source_options()};
  spec.options.push_back({"item", "ID", "the item in the basket", "", true});
  spec.options.push_back({"k", "N", "number of items", "10", false});
  spec.options.push_back({"reasons", "", "add reason_kind,reason_item,reason columns", "", false});
  spec.options.push_back({"out", "FILE", "output CSV ('-' = stdout)", "-", false});
  add_options(spec, input_options());
  add_options(spec, model_options());
  spec.options.push_back(quiet_option());
  const Args args = Args::parse(spec, argc, argv, 2);
  const Progress progress(args.flag("quiet"));
  const std::size_t k = k_of(args);
  const auto rec = open_recommender(args, progress);
  const std::string item = args.get("item");
  if (!rec->item_index(item))
    TAILOR_THROW(unknown_id, "item " << quote_value(item) << " is not in the catalog or the events");
  const auto catalog = rec->catalog();
  Columns columns{catalog_has_titles(*catalog), args.flag("reasons")};
  Output out(args.get("out"));
  out.stream() << header("", columns);
  write_items(out.stream(), "", rec->frequently_bought_together(item, k), *catalog, columns);
  out.close();
  return 0;
}

int cmd_trending(int argc, char** argv) {
  CommandSpec spec{"trending",
                   "Prints the items trending at the newest event (recent rate against the longer-run\n"
                   "rate), optionally within a category, as CSV: rank,item_id,score[,title]\n"
                   "[,reason_kind,reason_item,reason].",
                   "--category takes a path prefix, levels separated by '>' or '/' (\"Home > Kitchen\").",
                   recommender_source_options()};
  spec.options.push_back({"k", "N", "number of items", "10", false});
  spec.options.push_back({"category", "PATH", "only items under this category path", "", false});
  spec.options.push_back({"reasons", "", "add reason_kind,reason_item,reason columns", "", false});
  spec.options.push_back({"out", "FILE", "output CSV ('-' = stdout)", "-", false});
  add_options(spec, input_options());
  add_options(spec, model_options());
  spec.options.push_back(quiet_option());
  const Args args = Args::parse(spec, argc, argv, 2);
  const Progress progress(args.flag("quiet"));
  const std::size_t k = k_of(args);
  const auto rec = open_recommender(args, progress);
  const std::vector<std::string> category =
      args.has("category") ? split_category_path(args.get("category"), ">/") : std::vector<std::string>{};
  const auto catalog = rec->catalog();
  Columns columns{catalog_has_titles(*catalog), args.flag("reasons")};
  Output out(args.get("out"));
  out.stream() << header("", columns);
  write_items(out.stream(), "", rec->trending(k, category), *catalog, columns);
  out.close();
  return 0;
}

// ---- config ---------------------------------------------------------------------------------------

int cmd_config(int argc, char** argv) {
  CommandSpec spec{"config",
                   "Prints every RecommenderOptions field as JSON: the defaults, or with --config the\n"
                   "file's options completed with the defaults after checking them (a starting point\n"
                   "for a --config file, and a way to validate one).",
                   "",
                   {{"config", "FILE", "an options file to check and complete", "", false}}};
  const Args args = Args::parse(spec, argc, argv, 2);
  const RecommenderOptions options =
      args.has("config") ? read_options_file(args.get("config")) : RecommenderOptions{};
  std::cout << options_to_json(options).dump(2) << "\n";
  return 0;
}

// ---- inspect --------------------------------------------------------------------------------------

int cmd_inspect(int argc, char** argv) {
  CommandSpec spec{"inspect",
                   "Checks a model file (header and every section's CRC-32C) and prints its format\n"
                   "version, sections with sizes and checksums, counts and the options it was trained\n"
                   "with. `tailor inspect model.tlm` or --model model.tlm.",
                   "",
                   {{"model", "FILE", "the model file", "", true},
                    {"json", "", "print one JSON document instead of text", "", false}}};
  // `tailor inspect FILE`: a first bare argument is the model file.
  std::vector<char*> argv_model(argv, argv + argc);
  static char model_flag[] = "--model";
  if (argc > 2 && argv[2][0] != '-') argv_model.insert(argv_model.begin() + 2, model_flag);
  const Args args = Args::parse(spec, static_cast<int>(argv_model.size()), argv_model.data(), 2);
  const ModelFileInfo info = inspect_model_file(args.get("model"));
  const nlohmann::json& meta = info.metadata;
  if (args.flag("json")) {
    nlohmann::json sections = nlohmann::json::array();
    for (const auto& s : info.sections)
      sections.push_back({{"tag", s.tag}, {"required", s.required}, {"offset", s.offset},
                          {"length", s.length}, {"crc32c", s.crc32c}});
    std::cout << nlohmann::json{{"file", info.path},
                                {"format_version", info.format_version},
                                {"file_size", info.file_size},
                                {"header", info.header},
                                {"sections", sections}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::cout << "file: " << info.path << " (" << info.file_size << " bytes)\n"
            << "format version: " << info.format_version << "\n"
            << "written by: tailor " << info.header.value("library_version", std::string("?")) << " at "
            << info.header.value("created", std::string("?")) << "\n";
  if (meta.contains("model_version")) std::cout << "model version: " << meta.at("model_version").dump() << "\n";
  if (meta.contains("counts")) {
    std::cout << "counts:";
    for (const auto& [key, value] : meta.at("counts").items()) std::cout << " " << key << " " << value.dump();
    std::cout << "\n";
  }
  std::cout << "sections (" << info.sections.size() << ", checksums verified):\n";
  for (const auto& s : info.sections) {
    char line[160];
    std::snprintf(line, sizeof line, "  %-24s %-9s %12llu bytes at %-12llu crc32c %08x\n", s.tag.c_str(),
                  s.required ? "required" : "optional", static_cast<unsigned long long>(s.length),
                  static_cast<unsigned long long>(s.offset), s.crc32c);
    std::cout << line;
  }
  if (meta.contains("options")) std::cout << "options: " << meta.at("options").dump(2) << "\n";
  return 0;
}

}  // namespace tailor::cli
