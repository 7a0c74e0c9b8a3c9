// tailor CLI: evaluate (ALS vs item-kNN vs popularity on a train/test pair) and tune
// (hyperparameter search on a validation split of the training file).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "commands.hpp"
#include "tailor/models/ease.hpp"
#include "tailor/models/scorers.hpp"
#include "tailor/core/error.hpp"
#include "tailor/evaluation/evaluator.hpp"
#include "tailor/data/splits.hpp"
#include "tailor/evaluation/tuning.hpp"
#include "tailor/serving/options_json.hpp"

namespace tailor::cli {

namespace {

std::vector<std::size_t> parse_ks(const Args& args) {
  std::vector<std::size_t> ks;
  std::stringstream in(args.get("k"));
  std::string part;
  while (std::getline(in, part, ',')) {
    const auto v = parse_int64(part);
    if (!v || *v < 1) throw UsageError("option '--k': expected positive integers like 10 or 5,10, got '" + args.get("k") + "'");
    ks.push_back(static_cast<std::size_t>(*v));
  }
  if (ks.empty()) throw UsageError("option '--k': empty");
  return ks;
}

std::vector<std::string> parse_models(const std::string& text) {
  std::vector<std::string> models;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (part != "hybrid" && part != "als" && part != "ease" && part != "knn" && part != "pop")
      throw UsageError("option '--models': unknown model '" + part + "' (hybrid, als, ease, knn, pop)");
    models.push_back(part);
  }
  if (models.empty()) throw UsageError("option '--models': empty");
  return models;
}

std::string fixed(double v, int digits = 4) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.insert(0, width - s.size(), ' ');
  return s;
}

nlohmann::json als_json(const ALSOptions& o, const InteractionMatrixOptions& m) {
  return {{"factors", o.factors},
          {"iterations", o.iterations},
          {"regularization", o.regularization},
          {"alpha", m.alpha},
          {"transform", m.transform == ConfidenceTransform::linear ? "linear" : "log"},
          {"half_life_days", m.weights.half_life_days},
          {"seed", o.seed}};
}

// The confidence matrix of `matrix` recomputed with another transform/alpha (same pattern).
SparseMatrix reweighted(const InteractionMatrix& matrix, const InteractionMatrixOptions& options) {
  SparseMatrix c = matrix.confidence();
  const std::vector<float>& w = matrix.weights();
  float* values = c.valuePtr();
  for (std::size_t e = 0; e < w.size(); ++e)
    values[e] = static_cast<float>(options.confidence(static_cast<double>(w[e])));
  return c;
}

// `test` without the (user, item) pairs `train` has: what a user bought again is not a discovery.
SparseMatrix without_training_pairs(const SparseMatrix& test, const SparseMatrix& train) {
  std::vector<Eigen::Triplet<float>> kept;
  for (Eigen::Index u = 0; u < test.outerSize(); ++u) {
    for (SparseMatrix::InnerIterator it(test, u); it; ++it) {
      if (train.coeff(u, it.index()) == 0.0f) kept.emplace_back(static_cast<int>(u), static_cast<int>(it.index()), it.value());
    }
  }
  SparseMatrix out(test.rows(), test.cols());
  out.setFromTriplets(kept.begin(), kept.end());
  out.makeCompressed();
  return out;
}

// The Recommender as a Scorer in the evaluation matrix's index space: the items of its top-k
// list score k, k-1, ..., 1 in rank order, every other item the lowest float, so the evaluator's
// top-k is the Recommender's list. Thread-safe, as Recommender::recommend.
class RecommenderScorer : public Scorer {
 public:
  RecommenderScorer(const Recommender& rec, const InteractionMatrix& matrix, std::size_t k)
      : rec_(rec), matrix_(matrix), k_(k) {}
  using Scorer::score;
  std::size_t n_items() const override { return matrix_.n_items(); }
  void score(Index user, float* out, std::size_t out_size) const override {
    std::fill(out, out + out_size, std::numeric_limits<float>::lowest());
    RecommendRequest request;
    request.user = matrix_.users().id(user);
    request.k = k_;
    const RecommendResponse response = rec_.recommend(request);
    float s = static_cast<float>(response.items.size());
    for (const Recommendation& r : response.items) {
      if (const auto i = matrix_.items().find(r.item); i && *i < out_size) out[*i] = s;
      s -= 1.0f;
    }
  }

 private:
  const Recommender& rec_;
  const InteractionMatrix& matrix_;
  std::size_t k_;
};

}  // namespace

// ---- evaluate -------------------------------------------------------------------------------------

int cmd_evaluate(int argc, char** argv) {
  CommandSpec spec{
      "evaluate",
      "Fits each model on --train, recommends for every user with a relevant --test item\n"
      "(training items excluded) and prints nDCG, precision, recall, MAP, MRR, hit rate and\n"
      "catalog coverage at k; --report writes the full JSON report (segments, novelty, AUC...).",
      "Test events of users or items absent from --train are dropped (counted on stderr). MAP\n"
      "uses the min(|R|, k) denominator; the report also has map_recsys (|R|, as Microsoft\n"
      "Recommenders). hybrid = the Recommender (as `tailor fit` trains it: --config, then the model\n"
      "options given; its lists are ranked, so it has no AUC); als = bare ALS with the model\n"
      "options; ease = EASE (Steck 2019) with --ease-lambda, skipped above 20,000 items;\n"
      "knn = item-kNN cosine, 100 neighbours; pop = most popular items.",
      {{"train", "FILE", "training events", "", true},
       {"test", "FILE", "test events", "", true},
       {"k", "N[,N...]", "cut-offs", "10", false},
       {"models", "LIST", "comma-separated among hybrid,als,ease,knn,pop", "hybrid,als,ease,knn,pop", false},
       {"ease-lambda", "X", "EASE L2 penalty", "300", false},
       {"config", "FILE", "RecommenderOptions as JSON for hybrid (docs/configuration.md)", "", false},
       {"relevant", "all|new", "test items that count: all, or only those new to the user", "all", false},
       {"report", "FILE", "write the JSON report here", "", false}}};
  add_options(spec, input_options());
  add_options(spec, model_options());
  spec.options.push_back(quiet_option());
  const Args args = Args::parse(spec, argc, argv, 2);
  const Progress progress(args.flag("quiet"));
  const std::vector<std::size_t> ks = parse_ks(args);
  const std::vector<std::string> models = parse_models(args.get("models"));
  const ALSOptions options = als_options(args);

  TrainingData train = load_training(args.get("train"), args, progress);
  progress.note("reading " + args.get("test"));
  const LoadedEvents test_events = load_events(args.get("test"), args);
  std::size_t dropped = 0;
  SparseMatrix test = matrix_in_index_space(test_events.events, train.matrix, &dropped).confidence();
  if (dropped > 0)
    progress.note(args.get("test") + ": " + std::to_string(dropped) +
                  " test pairs dropped (user or item not in --train)");

  const std::string relevant = args.get("relevant");
  if (relevant != "all" && relevant != "new")
    throw UsageError("option '--relevant': expected all or new, got '" + relevant + "'");
  if (relevant == "new") {
    test = without_training_pairs(test, train.matrix.confidence());
    progress.note("relevant: test items new to their user only");
  }
  EvaluationOptions eo;
  eo.ks = ks;
  eo.threads = options.threads;
  const Evaluator evaluator(train.matrix.confidence(), test, eo);
  EvaluationOptions ranked = eo;  // the hybrid's lists carry ranks, not scores over every item
  ranked.compute_auc = false;
  const Evaluator ranked_evaluator(train.matrix.confidence(), test, ranked);
  if (evaluator.test_users().empty())
    TAILOR_THROW(invalid_argument, args.get("test") << ": no test user of --train has a relevant item");

  nlohmann::json report;
  report["train"] = args.get("train");
  report["test"] = args.get("test");
  report["test_pairs_dropped"] = dropped;
  report["models"] = nlohmann::json::object();
  const std::size_t k0 = ks.front();
  std::cout << "users evaluated: " << evaluator.test_users().size() << " of "
            << train.matrix.n_users() << ", items: " << train.matrix.n_items() << "\n";
  std::cout << "model  " << pad("nDCG@" + std::to_string(k0), 9) << pad("P@" + std::to_string(k0), 9)
            << pad("R@" + std::to_string(k0), 9) << pad("MAP@" + std::to_string(k0), 9)
            << pad("MRR", 9) << pad("HR", 9) << pad("cov", 9) << pad("AUC", 9) << pad("fit_s", 9)
            << "\n";
  for (const auto& name : models) {
    const double start = now_seconds();
    std::unique_ptr<Scorer> scorer;
    std::unique_ptr<Recommender> rec;
    ALSFactorizer als(options);
    ReportInfo info;
    info.dataset = args.get("train");
    info.split = "train " + args.get("train") + ", test " + args.get("test");
    info.seed = options.seed;
    info.model = name;
    if (name == "hybrid") {
      RecommenderOptions ro = args.has("config") ? read_options_file(args.get("config")) : RecommenderOptions{};
      apply_model_flags(args, train.loaded.events, ro);
      rec = std::make_unique<Recommender>(ro);
      try {
        rec->ingest(train.loaded.events);
      } catch (const Error& e) {
        TAILOR_THROW(invalid_argument, args.get("train") << ": " << e.what());
      }
      progress.note("training the Recommender");
      rec->retrain();
      scorer = std::make_unique<RecommenderScorer>(*rec, train.matrix, *std::max_element(ks.begin(), ks.end()));
      info.model_options = options_to_json(ro);
    } else if (name == "als") {
      als = train_als(train.matrix.confidence(), options, progress);
      scorer = std::make_unique<ALSScorer>(als);
      info.model_options = als_json(options, train.matrix.options());
    } else if (name == "ease") {
      EaseOptions eo_ease;
      eo_ease.lambda = args.get_double("ease-lambda");
      eo_ease.threads = options.threads;
      if (train.matrix.n_items() > eo_ease.max_items) {
        progress.note("ease skipped: " + std::to_string(train.matrix.n_items()) + " items, more than " +
                      std::to_string(eo_ease.max_items));
        continue;
      }
      auto ease = std::make_unique<EaseScorer>(eo_ease);
      ease->fit(train.matrix.confidence());
      scorer = std::move(ease);
      info.model_options = {{"lambda", eo_ease.lambda}};
    } else if (name == "knn") {
      ItemKnnOptions ko;
      ko.threads = options.threads;
      auto knn = std::make_unique<ItemKnnScorer>(ko);
      knn->fit(train.matrix.confidence());
      scorer = std::move(knn);
      info.model_options = {{"similarity", "cosine"}, {"neighbors", ko.neighbors}};
    } else {
      auto pop = std::make_unique<PopularityScorer>();
      pop->fit(train.matrix.confidence());
      scorer = std::move(pop);
    }
    const double fit_seconds = now_seconds() - start;
    progress.note("evaluating " + name);
    const bool is_hybrid = name == "hybrid";
    const EvaluationResult r = (is_hybrid ? ranked_evaluator : evaluator).evaluate(*scorer);
    info.timings["fit"] = fit_seconds;
    report["models"][name] = evaluation_report(r, is_hybrid ? ranked : eo, info);
    const AccuracyMetrics& a = r.at(k0).accuracy;
    std::string label = name;
    label.resize(6, ' ');
    std::cout << label << " " << pad(fixed(a.ndcg), 9) << pad(fixed(a.precision), 9)
              << pad(fixed(a.recall), 9) << pad(fixed(a.map), 9) << pad(fixed(a.mrr), 9)
              << pad(fixed(a.hit_rate), 9) << pad(fixed(r.at(k0).beyond.coverage), 9)
              << pad(fixed(r.auc), 9) << pad(fixed(fit_seconds, 2), 9) << "\n";
    std::cout.flush();
  }
  if (args.has("report")) {
    Output out(args.get("report"));
    out.stream() << report.dump(2) << "\n";
    out.close();
    progress.note("report written to " + args.get("report"));
  }
  return 0;
}

// ---- tune -----------------------------------------------------------------------------------------

namespace {

// tune --model hybrid: the Recommender retrained per trial on the events before a temporal cutoff
// (the latest 1 - ratio of the pairs after it), scored by nDCG@k on the items each known shopper
// went on to have that were new to them.
int tune_hybrid(const Args& args, const Progress& progress, const std::string& method,
                std::size_t trials, std::size_t k, double ratio) {
  if (args.has("val-method") && args.get("val-method") != "temporal")
    throw UsageError("option '--val-method': --model hybrid tunes on a temporal validation period "
                     "(temporal, its default)");
  TrainingData data = load_training(args.get("train"), args, progress);
  RecommenderOptions base = args.has("config") ? read_options_file(args.get("config")) : RecommenderOptions{};
  apply_model_flags(args, data.loaded.events, base);
  const Timestamp cutoff = temporal_cutoff(data.matrix.interactions(), 1.0 - ratio);
  std::vector<Event> before, after;
  for (const Event& e : data.loaded.events) (e.timestamp < cutoff ? before : after).push_back(e);
  InteractionMatrixBuilder builder(data.matrix.options());
  for (const Event& e : before) builder.add(e);
  const InteractionMatrix train = builder.build();
  SparseMatrix test = without_training_pairs(
      matrix_in_index_space(after, train, nullptr).confidence(), train.confidence());
  EvaluationOptions eo = EvaluationOptions::accuracy_at(k, base.als.threads);
  eo.compute_auc = false;  // the Recommender's lists are ranks
  const Evaluator evaluator(train.confidence(), test, eo);
  if (evaluator.test_users().empty())
    TAILOR_THROW(invalid_argument, args.get("train") << ": no shopper before the validation period "
                                                        "has a new item after it");
  progress.note("validation: " + std::to_string(before.size()) + " events before the cutoff, " +
                std::to_string(after.size()) + " after, " +
                std::to_string(evaluator.test_users().size()) + " users with new items");

  auto with = [&base](const ParamSet& p) {
    RecommenderOptions o = base;
    o.popularity_half_life_days = p.get("popularity_half_life_days");
    o.ease.lambda = p.get("ease_lambda");
    o.als.factors = static_cast<std::size_t>(p.get_int("factors"));
    o.als.regularization = static_cast<float>(p.get("regularization"));
    o.validate();
    return o;
  };
  auto score_of = [&](const RecommenderOptions& o) {
    Recommender rec(o);
    rec.ingest(before);
    rec.retrain();
    return evaluator.evaluate(RecommenderScorer(rec, train, k)).at(k).accuracy.ndcg;
  };
  progress.note("scoring the starting configuration");
  const double default_score = score_of(base);

  ParamSpace space;
  if (method == "grid") {  // centred on the starting configuration, so it contains it
    const double h = std::max(base.popularity_half_life_days, 0.5);
    const double l = base.ease.lambda;
    const double f = static_cast<double>(base.als.factors);
    const double r = base.als.regularization;
    space.add_values("popularity_half_life_days", {h / 2, h, 2 * h}, true);
    space.add_values("ease_lambda", {l / 3, l, 3 * l}, true);
    space.add_values("factors", {std::max(1.0, std::round(f / 2)), f, 2 * f}, true, true);
    space.add_values("regularization", {r / 3, r, 3 * r}, true);
  } else {
    space.add("popularity_half_life_days", 1, 60, true);
    space.add("ease_lambda", 30, 3000, true);
    space.add("factors", 16, 128, true, true);
    space.add("regularization", 0.001, 100, true);
  }
  SearchOptions so;
  so.trials = trials;
  so.seed = base.als.seed;
  so.initial_points = std::min<std::size_t>(5, trials);
  const std::size_t total = method == "grid" ? grid_points(space, so).size() : trials;
  so.on_trial = [&](const Trial& t) {
    progress.step("tune", t.index + 1, total, "nDCG@" + std::to_string(k) + " " + fixed(t.score));
  };
  const Objective objective = [&](const ParamSet& p) { return score_of(with(p)); };
  const SearchResult result = method == "grid"     ? grid_search(space, objective, so)
                              : method == "random" ? random_search(space, objective, so)
                                                   : bayesian_search(space, objective, so);

  nlohmann::json out;
  out["train"] = args.get("train");
  out["model"] = "hybrid";
  out["validation"] = {{"method", "temporal"},
                       {"train_ratio", ratio},
                       {"cutoff", cutoff},
                       {"train_events", before.size()},
                       {"validation_events", after.size()},
                       {"users", evaluator.test_users().size()}};
  out["objective"] = "ndcg@" + std::to_string(k);
  out["default"] = {{"params",
                     {{"popularity_half_life_days", base.popularity_half_life_days},
                      {"ease_lambda", base.ease.lambda},
                      {"factors", base.als.factors},
                      {"regularization", base.als.regularization}}},
                    {"score", default_score}};
  out["search"] = result.to_json();
  if (result.best_index) {
    const Trial& best = result.best();
    out["best"] = {{"params", best.params.to_json()}, {"score", best.score}};
    out["improvement_over_default"] = best.score - default_score;
    out["improves_on_default"] = best.score > default_score;
    // A complete --config for fit, recommend and evaluate: the starting options, or the best
    // trial's when it beat them on the validation period.
    out["config"] = options_to_json(best.score > default_score ? with(best.params) : base);
    progress.note("best nDCG@" + std::to_string(k) + " " + fixed(best.score) + " (start " +
                  fixed(default_score) + ")");
  } else {
    out["best"] = nullptr;
    out["config"] = options_to_json(base);
  }
  Output o(args.get("out"));
  o.stream() << out.dump(2) << "\n";
  o.close();
  return 0;
}

}  // namespace

int cmd_tune(int argc, char** argv) {
  CommandSpec spec{
      "tune",
      "Searches ALS hyperparameters (factors, regularization, confidence alpha) on a validation\n"
      "split of --train, maximizing nDCG@k, and prints a JSON document with every trial, the\n"
      "default configuration's score on the same split and the best configuration.",
      "Validation split (--val-method): stratified-user (default; per user, --val-ratio of the\n"
      "pairs train), stratified-item, leave-last-k (each user's latest pair), or temporal (the\n"
      "latest 1 - ratio of the pairs). Ranges: factors 16..192 (log), regularization 0.05..200\n"
      "(log), alpha 0.25..64 (log). Grid: 27 points centred on the starting values (--factors x 0.5,\n"
      "1, 2; --regularization x 1/3, 1, 3; --alpha x 1/4, 1, 4), so it contains the default.\n"
      "--iterations and --transform stay fixed. Pass the best values to `tailor recommend` (the JSON's \"command_line\").\n"
      "--model hybrid tunes the Recommender instead (as `tailor fit` trains it, from --config):\n"
      "retrained per trial on the events before a temporal cutoff (--val-method temporal), nDCG@k on the items new to\n"
      "each known shopper after it; ranges popularity_half_life_days 1..60, ease_lambda\n"
      "30..3000, factors 16..128, regularization 0.001..100 (all log; grid: x 1/2|1/3, 1, 2|3 around\n"
      "the start). The JSON's \"config\" is a complete --config file of the best options.",
      {{"train", "FILE", "events to tune on (split into train/validation)", "", true},
       {"model", "als|hybrid", "what to tune: bare ALS or the Recommender", "als", false},
       {"config", "FILE", "starting RecommenderOptions for --model hybrid", "", false},
       {"method", "grid|random|bayes", "search method", "bayes", false},
       {"trials", "N", "objective evaluations (random, bayes)", "20", false},
       {"k", "N", "cut-off of the nDCG objective", "10", false},
       {"val-method", "NAME", "stratified-user|stratified-item|leave-last-k|temporal",
        "stratified-user", false},
       {"val-ratio", "X", "train share of the validation split", "0.8", false},
       {"out", "FILE", "write the JSON here ('-' = stdout)", "-", false}}};
  add_options(spec, input_options());
  add_options(spec, model_options());
  spec.options.push_back(quiet_option());
  const Args args = Args::parse(spec, argc, argv, 2);
  const Progress progress(args.flag("quiet"));
  const std::string method = args.get("method");
  if (method != "grid" && method != "random" && method != "bayes")
    throw UsageError("option '--method': expected grid, random or bayes, got '" + method + "'");
  const std::size_t trials = args.get_size("trials");
  if (trials == 0) throw UsageError("option '--trials': must be >= 1");
  const std::size_t k = args.get_size("k");
  if (k == 0) throw UsageError("option '--k': must be >= 1");
  const double ratio = args.get_double("val-ratio");
  if (!(ratio > 0.0 && ratio < 1.0)) throw UsageError("option '--val-ratio': must be in (0, 1)");
  const std::string val_method = args.get("val-method");
  const std::string model = args.get("model");
  if (model == "hybrid") return tune_hybrid(args, progress, method, trials, k, ratio);
  if (model != "als") throw UsageError("option '--model': expected als or hybrid, got '" + model + "'");
  if (args.has("config")) throw UsageError("option '--config': only with --model hybrid");
  const ALSOptions defaults = als_options(args);

  TrainingData data = load_training(args.get("train"), args, progress);
  const std::vector<Interaction> pairs = data.matrix.interactions();
  Split split;
  if (val_method == "stratified-user") split = split_stratified(pairs, ratio, defaults.seed, StratifyBy::user);
  else if (val_method == "stratified-item") split = split_stratified(pairs, ratio, defaults.seed, StratifyBy::item);
  else if (val_method == "leave-last-k") split = split_leave_last_k(pairs, 1);
  else if (val_method == "temporal") split = split_temporal(pairs, temporal_cutoff(pairs, 1.0 - ratio));
  else throw UsageError("option '--val-method': unknown method '" + val_method + "'");
  const TrainTest tt = make_train_test(data.matrix, split);

  const EvaluationOptions eo = EvaluationOptions::accuracy_at(k, defaults.threads);
  const Evaluator evaluator(tt.train, tt.test, eo);
  if (evaluator.test_users().empty())
    TAILOR_THROW(invalid_argument, args.get("train") << ": the validation split has no users with held-out items");
  progress.note("validation: " + std::to_string(split.train.size()) + " train pairs, " +
                std::to_string(split.test.size()) + " held out, " +
                std::to_string(evaluator.test_users().size()) + " users");

  const InteractionMatrixOptions base_matrix = data.matrix.options();
  auto score_of = [&](std::size_t factors, double regularization, double alpha) {
    ALSOptions o = defaults;
    o.factors = factors;
    o.regularization = static_cast<float>(regularization);
    o.compute_loss = false;
    InteractionMatrixOptions m = base_matrix;
    m.alpha = alpha;
    ALSFactorizer als(o);
    als.fit(reweighted(tt.train, m));
    return evaluator.evaluate(ALSScorer(als)).at(k).accuracy.ndcg;
  };

  progress.note("scoring the default configuration");
  const double default_score =
      score_of(defaults.factors, defaults.regularization, base_matrix.alpha);

  ParamSpace space;
  if (method == "grid") {
    // Centred on the starting configuration, so the grid contains it and its best is never worse.
    const double f = static_cast<double>(defaults.factors);
    const double r = defaults.regularization;
    const double a = base_matrix.alpha;
    space.add_values("factors", {std::max(1.0, std::round(f / 2)), f, 2 * f}, true, true);
    space.add_values("regularization", {r / 3, r, 3 * r}, true);
    space.add_values("alpha", {a / 4, a, 4 * a}, true);
  } else {
    space.add("factors", 16, 192, true, true);
    space.add("regularization", 0.05, 200, true);
    space.add("alpha", 0.25, 64, true);
  }
  SearchOptions so;
  so.trials = trials;
  so.seed = defaults.seed;
  so.initial_points = std::min<std::size_t>(5, trials);
  const std::size_t total = method == "grid" ? grid_points(space, so).size() : trials;
  so.on_trial = [&](const Trial& t) {
    progress.step("tune", t.index + 1, total, "nDCG@" + std::to_string(k) + " " + fixed(t.score));
  };
  const Objective objective = [&](const ParamSet& p) {
    return score_of(static_cast<std::size_t>(p.get_int("factors")), p.get("regularization"),
                    p.get("alpha"));
  };
  const SearchResult result = method == "grid"     ? grid_search(space, objective, so)
                              : method == "random" ? random_search(space, objective, so)
                                                   : bayesian_search(space, objective, so);

  nlohmann::json out;
  out["train"] = args.get("train");
  out["validation"] = {{"method", val_method},
                       {"train_ratio", ratio},
                       {"seed", defaults.seed},
                       {"train_pairs", split.train.size()},
                       {"validation_pairs", split.test.size()},
                       {"users", evaluator.test_users().size()}};
  out["objective"] = "ndcg@" + std::to_string(k);
  out["fixed"] = {{"iterations", defaults.iterations},
                  {"transform", base_matrix.transform == ConfidenceTransform::linear ? "linear" : "log"}};
  out["default"] = {{"params",
                     {{"factors", defaults.factors},
                      {"regularization", defaults.regularization},
                      {"alpha", base_matrix.alpha}}},
                    {"score", default_score}};
  out["search"] = result.to_json();
  if (result.best_index) {
    const Trial& best = result.best();
    out["best"] = {{"params", best.params.to_json()}, {"score", best.score}};
    out["improvement_over_default"] = best.score - default_score;
    out["improves_on_default"] = best.score > default_score;
    char cmd[256];
    std::snprintf(cmd, sizeof cmd, "--factors %lld --regularization %.6g --alpha %.6g",
                  static_cast<long long>(best.params.get_int("factors")),
                  best.params.get("regularization"), best.params.get("alpha"));
    out["command_line"] = cmd;
    progress.note("best nDCG@" + std::to_string(k) + " " + fixed(best.score) + " (default " +
                  fixed(default_score) + "): " + cmd);
  } else {
    out["best"] = nullptr;
  }
  Output o(args.get("out"));
  o.stream() << out.dump(2) << "\n";
  o.close();
  return 0;
}

}  // namespace tailor::cli
