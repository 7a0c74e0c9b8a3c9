// tailor: experiments, layers, holdouts and deterministic variant assignment (SipHash-2-4,
// internal/siphash.hpp).
#include "tailor/experiments/experiment.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>
#include <utility>

#include "tailor/core/error.hpp"
#include "tailor/io/input.hpp"
#include "tailor/data/pseudonymize.hpp"
#include "internal/sha256.hpp"
#include "internal/siphash.hpp"

namespace tailor {

// ---------------------------------------------------------------------------------------------
// Names of enums

const char* metric_name(Metric metric) noexcept {
  switch (metric) {
    case Metric::conversion_rate: return "conversion_rate";
    case Metric::click_through_rate: return "click_through_rate";
    case Metric::add_to_cart_rate: return "add_to_cart_rate";
    case Metric::revenue_per_user: return "revenue_per_user";
    case Metric::average_order_value: return "average_order_value";
    case Metric::return_rate: return "return_rate";
    case Metric::dwell_time: return "dwell_time";
  }
  return "unknown";
}

Metric parse_metric(const std::string& name) {
  for (Metric m : {Metric::conversion_rate, Metric::click_through_rate, Metric::add_to_cart_rate,
                   Metric::revenue_per_user, Metric::average_order_value, Metric::return_rate,
                   Metric::dwell_time}) {
    if (name == metric_name(m)) return m;
  }
  TAILOR_THROW(invalid_argument,
               "unknown metric '" << name << "' (expected conversion_rate, click_through_rate, "
                                  "add_to_cart_rate, revenue_per_user, average_order_value, "
                                  "return_rate or dwell_time)");
}

bool higher_is_better(Metric metric) noexcept { return metric != Metric::return_rate; }

const char* analysis_mode_name(AnalysisMode mode) noexcept {
  return mode == AnalysisMode::sequential ? "sequential" : "fixed_horizon";
}

AnalysisMode parse_analysis_mode(const std::string& name) {
  if (name == "sequential") return AnalysisMode::sequential;
  if (name == "fixed_horizon" || name == "fixed") return AnalysisMode::fixed_horizon;
  TAILOR_THROW(invalid_argument, "unknown analysis mode '" << name << "' (expected sequential or fixed_horizon)");
}

// ---------------------------------------------------------------------------------------------
// Validation

namespace {

constexpr double kShareTolerance = 1e-6;
constexpr std::size_t kMaxBuckets = 1'000'000;
constexpr std::size_t kDefaultBuckets = 1000;

std::string experiment_path(std::size_t i, const ExperimentConfig& e) {
  std::ostringstream os;
  os << "experiments[" << i << "]";
  if (!e.name.empty()) os << " ('" << e.name << "')";
  return os.str();
}

bool has_control_chars(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

void validate_name(const std::string& name, const std::string& path) {
  TAILOR_REQUIRE(!name.empty(), path << " must not be empty");
  TAILOR_REQUIRE(name.size() <= 200, path << " is longer than 200 bytes");
  TAILOR_REQUIRE(!has_control_chars(name), path << " contains a control character: " << quote_value(name));
}

// Where every experiment sits: its layer (index into `layers`) and bucket range.
struct LayerLayout {
  std::string name;           // declared or implicit layer name; for private layers, the salt
  bool is_private = false;
  std::size_t buckets = kDefaultBuckets;
  std::vector<std::size_t> experiments;  // config indices, in config order
};

struct Layout {
  std::vector<LayerLayout> layers;
  std::vector<std::size_t> layer_of;            // per experiment
  std::vector<ExperimentSet::Placement> place;  // per experiment
};

// Builds the layout; throws Error(invalid_argument) for ranges that do not fit or overlap.
Layout make_layout(const ExperimentSetConfig& c) {
  Layout out;
  std::map<std::string, std::size_t> by_name;
  for (const auto& l : c.layers) {
    by_name[l.name] = out.layers.size();
    out.layers.push_back({l.name, false, l.buckets, {}});
  }
  out.layer_of.resize(c.experiments.size());
  out.place.resize(c.experiments.size());
  for (std::size_t i = 0; i < c.experiments.size(); ++i) {
    const ExperimentConfig& e = c.experiments[i];
    std::size_t li;
    if (e.layer.empty()) {
      li = out.layers.size();
      out.layers.push_back({e.salt_or_name(), true, kDefaultBuckets, {}});
    } else {
      auto it = by_name.find(e.layer);
      if (it == by_name.end()) {
        it = by_name.emplace(e.layer, out.layers.size()).first;
        out.layers.push_back({e.layer, false, kDefaultBuckets, {}});
      }
      li = it->second;
    }
    out.layer_of[i] = li;
    out.layers[li].experiments.push_back(i);
  }
  for (auto& layer : out.layers) {
    std::size_t cursor = 0;
    std::vector<std::size_t> taken;  // experiments placed so far
    for (std::size_t i : layer.experiments) {
      const ExperimentConfig& e = c.experiments[i];
      const std::string path = experiment_path(i, e);
      const double width_real = e.traffic * static_cast<double>(layer.buckets);
      const double width_round = std::round(width_real);
      TAILOR_REQUIRE(std::fabs(width_real - width_round) <= 1e-6 * std::max(1.0, width_real) && width_round >= 1,
                     path << ".traffic " << e.traffic << " is not a whole number of the "
                          << layer.buckets << " buckets of layer '" << (layer.is_private ? "" : layer.name)
                          << "' (use a multiple of " << 1.0 / static_cast<double>(layer.buckets) << ")");
      const auto width = static_cast<std::size_t>(width_round);
      const std::size_t first = e.first_bucket.value_or(cursor);
      TAILOR_REQUIRE(first + width <= layer.buckets,
                     path << " needs buckets [" << first << ", " << first + width << ") but layer '"
                          << layer.name << "' has " << layer.buckets);
      for (std::size_t other : taken) {
        const auto& op = out.place[other];
        TAILOR_REQUIRE(first + width <= op.first || op.last <= first,
                       path << " buckets [" << first << ", " << first + width << ") overlap those of "
                            << experiment_path(other, c.experiments[other]) << " [" << op.first
                            << ", " << op.last << ") in layer '" << layer.name << "'");
      }
      out.place[i] = {layer.is_private ? std::string() : layer.name, first, first + width, layer.buckets};
      taken.push_back(i);
      cursor = first + width;
    }
  }
  return out;
}

}  // namespace

void AnalysisPlan::validate() const {
  TAILOR_REQUIRE(alpha > 0 && alpha < 1, "analysis.alpha must be in (0, 1), got " << alpha);
  TAILOR_REQUIRE(power > 0 && power < 1, "analysis.power must be in (0, 1), got " << power);
  TAILOR_REQUIRE(minimum_detectable_effect > 0 && std::isfinite(minimum_detectable_effect),
                 "analysis.minimum_detectable_effect must be > 0 (relative, 0.05 = 5%), got "
                     << minimum_detectable_effect);
  if (baseline) {
    TAILOR_REQUIRE(*baseline > 0 && std::isfinite(*baseline), "analysis.baseline must be > 0, got " << *baseline);
    const bool rate = primary_metric == Metric::conversion_rate || primary_metric == Metric::add_to_cart_rate ||
                      primary_metric == Metric::click_through_rate || primary_metric == Metric::return_rate;
    TAILOR_REQUIRE(!rate || *baseline < 1, "analysis.baseline of the rate " << metric_name(primary_metric)
                                                                          << " must be < 1, got " << *baseline);
  }
  TAILOR_REQUIRE(srm_threshold > 0 && srm_threshold < 1,
                 "analysis.srm_threshold must be in (0, 1), got " << srm_threshold);
  TAILOR_REQUIRE(min_units >= 2, "analysis.min_units must be >= 2, got " << min_units);
}

const std::string& ExperimentConfig::control_name() const {
  static const std::string kEmpty;
  if (!control.empty()) return control;
  return variants.empty() ? kEmpty : variants.front().name;
}

void ExperimentSetConfig::validate() const {
  TAILOR_REQUIRE(!hash_key.empty(), "hash_key must not be empty");
  TAILOR_REQUIRE(global_holdout >= 0 && global_holdout < 1,
                 "global_holdout must be in [0, 1), got " << global_holdout);
  std::set<std::string> layer_names;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::string path = "layers[" + std::to_string(i) + "]";
    validate_name(layers[i].name, path + ".name");
    TAILOR_REQUIRE(layer_names.insert(layers[i].name).second,
                   path << ".name '" << layers[i].name << "' is used by an earlier layer");
    TAILOR_REQUIRE(layers[i].buckets >= 1 && layers[i].buckets <= kMaxBuckets,
                   path << ".buckets must be in [1, " << kMaxBuckets << "], got " << layers[i].buckets);
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < experiments.size(); ++i) {
    const ExperimentConfig& e = experiments[i];
    const std::string path = experiment_path(i, e);
    validate_name(e.name, path + ".name");
    TAILOR_REQUIRE(names.insert(e.name).second, path << ".name is used by an earlier experiment");
    if (!e.layer.empty()) validate_name(e.layer, path + ".layer");
    if (!e.salt.empty()) validate_name(e.salt, path + ".salt");
    TAILOR_REQUIRE(e.traffic > 0 && e.traffic <= 1, path << ".traffic must be in (0, 1], got " << e.traffic);
    TAILOR_REQUIRE(e.holdout >= 0 && e.holdout < 1, path << ".holdout must be in [0, 1), got " << e.holdout);
    TAILOR_REQUIRE(e.variants.size() >= 2, path << ".variants: an experiment needs at least 2 variants "
                                                   "(a control and a treatment), got "
                                                << e.variants.size());
    std::set<std::string> variant_names;
    double total = 0;
    for (std::size_t v = 0; v < e.variants.size(); ++v) {
      const Variant& var = e.variants[v];
      const std::string vpath = path + ".variants[" + std::to_string(v) + "]";
      validate_name(var.name, vpath + ".name");
      TAILOR_REQUIRE(var.name != kHoldoutVariant, vpath << ".name 'holdout' is reserved for the holdout group");
      TAILOR_REQUIRE(variant_names.insert(var.name).second,
                     vpath << ".name '" << var.name << "' is used by an earlier variant");
      TAILOR_REQUIRE(var.share > 0 && var.share <= 1, vpath << ".share must be in (0, 1], got " << var.share);
      total += var.share;
    }
    TAILOR_REQUIRE(std::fabs(total - 1.0) <= kShareTolerance,
                   path << ".variants: shares sum to " << total << ", not 1 (tolerance " << kShareTolerance << ")");
    TAILOR_REQUIRE(e.control.empty() || variant_names.count(e.control) != 0,
                   path << ".control '" << e.control << "' is not one of its variants");
    try {
      e.analysis.validate();
    } catch (const Error& err) {
      TAILOR_THROW(invalid_argument, path << "." << err.what());
    }
  }
  (void)make_layout(*this);
}

// ---------------------------------------------------------------------------------------------
// JSON

namespace {

// Reads typed values from a JSON object, naming the source and path in every error.
class JsonFields {
 public:
  JsonFields(const nlohmann::json& j, std::string source, std::string path)
      : j_(j), source_(std::move(source)), path_(std::move(path)) {
    if (!j.is_object()) fail("", "expected a JSON object, got " + std::string(j.type_name()));
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    TAILOR_THROW(invalid_argument, source_ << ": " << where(key) << ": " << what);
  }
  std::string where(const std::string& key) const {
    if (key.empty()) return path_.empty() ? "(top level)" : path_;
    return path_.empty() ? key : path_ + "." + key;
  }
  const std::string& source() const { return source_; }

  /// Rejects keys outside `allowed`.
  void only(std::initializer_list<const char*> allowed) const {
    for (const auto& item : j_.items()) {
      bool ok = false;
      for (const char* a : allowed) ok = ok || item.key() == a;
      if (!ok) {
        std::string list;
        for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        fail(item.key(), "unknown key (expected one of: " + list + ")");
      }
    }
  }

  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  const nlohmann::json& at(const char* key) const { return j_.at(key); }

  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const auto& v = j_.at(key);
    if (!v.is_string()) fail(key, "expected a string, got " + v.dump());
    return v.get<std::string>();
  }
  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const auto& v = j_.at(key);
    if (!v.is_number()) fail(key, "expected a number, got " + v.dump());
    return v.get<double>();
  }
  std::size_t count(const char* key, std::size_t fallback) const {
    if (!has(key)) return fallback;
    const auto& v = j_.at(key);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
      fail(key, "expected a whole number >= 0, got " + v.dump());
    return v.get<std::size_t>();
  }
  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const auto& v = j_.at(key);
    if (!v.is_boolean()) fail(key, "expected true or false, got " + v.dump());
    return v.get<bool>();
  }
  const nlohmann::json& array(const char* key) const {
    static const nlohmann::json kEmpty = nlohmann::json::array();
    if (!has(key)) return kEmpty;
    const auto& v = j_.at(key);
    if (!v.is_array()) fail(key, "expected an array, got " + std::string(v.type_name()));
    return v;
  }
  // Runs `parse` on a string field, turning its Error into one naming the field.
  template <class T, class F>
  T parsed(const char* key, T fallback, const F& parse) const {
    if (!has(key)) return fallback;
    const std::string s = string(key, "");
    try {
      return parse(s);
    } catch (const Error& e) {
      fail(key, e.what());
    }
  }

 private:
  const nlohmann::json& j_;
  std::string source_;
  std::string path_;
};

std::string index_path(const std::string& base, const char* key, std::size_t i) {
  return (base.empty() ? std::string() : base + ".") + key + "[" + std::to_string(i) + "]";
}

AnalysisPlan plan_from_json(const JsonFields& f) {
  f.only({"primary_metric", "alpha", "power", "minimum_detectable_effect", "baseline", "mode",
          "correction", "srm_threshold", "min_units"});
  AnalysisPlan p;
  p.primary_metric = f.parsed("primary_metric", p.primary_metric, parse_metric);
  p.alpha = f.number("alpha", p.alpha);
  p.power = f.number("power", p.power);
  p.minimum_detectable_effect = f.number("minimum_detectable_effect", p.minimum_detectable_effect);
  if (f.has("baseline")) p.baseline = f.number("baseline", 0.0);
  p.mode = f.parsed("mode", p.mode, parse_analysis_mode);
  p.correction = f.parsed("correction", p.correction, stats::parse_correction);
  p.srm_threshold = f.number("srm_threshold", p.srm_threshold);
  p.min_units = f.count("min_units", p.min_units);
  return p;
}

nlohmann::json plan_to_json(const AnalysisPlan& p) {
  nlohmann::json j = {{"primary_metric", metric_name(p.primary_metric)},
                      {"alpha", p.alpha},
                      {"power", p.power},
                      {"minimum_detectable_effect", p.minimum_detectable_effect},
                      {"mode", analysis_mode_name(p.mode)},
                      {"correction", stats::correction_name(p.correction)},
                      {"srm_threshold", p.srm_threshold},
                      {"min_units", p.min_units}};
  if (p.baseline) j["baseline"] = *p.baseline;
  return j;
}

AssignmentUnit parse_unit(const std::string& s) {
  if (s == "user") return AssignmentUnit::user;
  if (s == "session") return AssignmentUnit::session;
  TAILOR_THROW(invalid_argument, "unknown unit '" << s << "' (expected user or session)");
}

}  // namespace

ExperimentSetConfig ExperimentSetConfig::from_json(const nlohmann::json& j, const std::string& source) {
  const JsonFields top(j, source, "");
  top.only({"hash_key", "global_holdout", "layers", "experiments"});
  ExperimentSetConfig c;
  c.hash_key = top.string("hash_key", c.hash_key);
  c.global_holdout = top.number("global_holdout", c.global_holdout);
  const auto& layers = top.array("layers");
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const JsonFields f(layers[i], source, index_path("", "layers", i));
    f.only({"name", "buckets"});
    LayerConfig l;
    l.name = f.string("name", "");
    l.buckets = f.count("buckets", l.buckets);
    c.layers.push_back(std::move(l));
  }
  const auto& experiments = top.array("experiments");
  for (std::size_t i = 0; i < experiments.size(); ++i) {
    const std::string path = index_path("", "experiments", i);
    const JsonFields f(experiments[i], source, path);
    f.only({"name", "layer", "traffic", "first_bucket", "salt", "unit", "holdout", "control",
            "enabled", "variants", "analysis"});
    ExperimentConfig e;
    e.name = f.string("name", "");
    e.layer = f.string("layer", "");
    e.traffic = f.number("traffic", e.traffic);
    if (f.has("first_bucket")) e.first_bucket = f.count("first_bucket", 0);
    e.salt = f.string("salt", "");
    e.unit = f.parsed("unit", e.unit, parse_unit);
    e.holdout = f.number("holdout", e.holdout);
    e.control = f.string("control", "");
    e.enabled = f.boolean("enabled", e.enabled);
    const auto& variants = f.array("variants");
    for (std::size_t v = 0; v < variants.size(); ++v) {
      const JsonFields vf(variants[v], source, index_path(path, "variants", v));
      vf.only({"name", "share", "config"});
      Variant var;
      var.name = vf.string("name", "");
      var.share = vf.number("share", 0.0);
      if (vf.has("config")) var.config = vf.at("config");
      e.variants.push_back(std::move(var));
    }
    if (f.has("analysis")) e.analysis = plan_from_json(JsonFields(f.at("analysis"), source, path + ".analysis"));
    c.experiments.push_back(std::move(e));
  }
  return c;
}

nlohmann::json ExperimentSetConfig::to_json() const {
  nlohmann::json j = {{"hash_key", hash_key}, {"global_holdout", global_holdout}};
  j["layers"] = nlohmann::json::array();
  for (const auto& l : layers) j["layers"].push_back({{"name", l.name}, {"buckets", l.buckets}});
  j["experiments"] = nlohmann::json::array();
  for (const auto& e : experiments) {
    nlohmann::json x = {{"name", e.name},
                        {"traffic", e.traffic},
                        {"unit", e.unit == AssignmentUnit::user ? "user" : "session"},
                        {"holdout", e.holdout},
                        {"enabled", e.enabled},
                        {"analysis", plan_to_json(e.analysis)}};
    if (!e.layer.empty()) x["layer"] = e.layer;
    if (e.first_bucket) x["first_bucket"] = *e.first_bucket;
    if (!e.salt.empty()) x["salt"] = e.salt;
    if (!e.control.empty()) x["control"] = e.control;
    x["variants"] = nlohmann::json::array();
    for (const auto& v : e.variants)
      x["variants"].push_back({{"name", v.name}, {"share", v.share}, {"config", v.config}});
    j["experiments"].push_back(std::move(x));
  }
  return j;
}

// ---------------------------------------------------------------------------------------------
// ExperimentSet

struct ExperimentSet::Impl {
  ExperimentSetConfig config;
  std::array<std::uint8_t, 16> key{};
  Layout layout;
  std::vector<std::vector<double>> cumulative;  // per experiment: cumulative variant shares
  std::map<std::string, std::size_t, std::less<>> by_name;

  // u in [0, 1) from the top 53 bits of SipHash(tag | len(name) : name unit). The name is
  // length-prefixed so that no two (name, unit) pairs give the same message.
  double uniform(std::string_view tag, std::string_view name, std::string_view unit) const {
    char digits[24];
    const int n = std::snprintf(digits, sizeof digits, "|%zu:", name.size());
    detail::SipHasher h(key);
    h.update(tag);
    h.update(std::string_view(digits, static_cast<std::size_t>(n)));
    h.update(name);
    h.update(unit);
    return static_cast<double>(h.finish() >> 11) * 0x1.0p-53;
  }
};

ExperimentSet::ExperimentSet() : ExperimentSet(ExperimentSetConfig{}) {}

ExperimentSet::ExperimentSet(ExperimentSetConfig config) {
  config.validate();
  auto impl = std::make_shared<Impl>();
  const detail::Sha256Digest digest = detail::sha256(config.hash_key);
  std::copy(digest.begin(), digest.begin() + 16, impl->key.begin());
  impl->layout = make_layout(config);
  for (std::size_t i = 0; i < config.experiments.size(); ++i) {
    const auto& e = config.experiments[i];
    impl->by_name.emplace(e.name, i);
    double total = 0;
    for (const auto& v : e.variants) total += v.share;
    std::vector<double> cum;
    double running = 0;
    for (const auto& v : e.variants) {
      running += v.share / total;
      cum.push_back(running);
    }
    cum.back() = 1.0;  // no gap at the top from rounding
    impl->cumulative.push_back(std::move(cum));
  }
  impl->config = std::move(config);
  impl_ = std::move(impl);
}

ExperimentSet ExperimentSet::from_json(const nlohmann::json& j, const std::string& source) {
  ExperimentSetConfig config = ExperimentSetConfig::from_json(j, source);
  try {
    return ExperimentSet(std::move(config));
  } catch (const Error& e) {
    TAILOR_THROW(invalid_argument, source << ": " << e.what());
  }
}

ExperimentSet ExperimentSet::load(const std::string& path) {
  auto in = open_input(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(*in);
  } catch (const nlohmann::json::parse_error& e) {
    TAILOR_THROW(parse_error, path << ": not valid JSON: " << e.what());
  }
  return from_json(j, path);
}

const ExperimentSetConfig& ExperimentSet::config() const { return impl_->config; }

const ExperimentConfig* ExperimentSet::find(std::string_view name) const {
  const auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? nullptr : &impl_->config.experiments[it->second];
}

const ExperimentSet::Placement& ExperimentSet::placement(std::string_view experiment) const {
  const auto it = impl_->by_name.find(experiment);
  if (it == impl_->by_name.end())
    TAILOR_THROW(unknown_id, "unknown experiment '" << std::string(experiment) << "'");
  return impl_->layout.place[it->second];
}

const Variant* ExperimentSet::variant(const Assignment& assignment) const {
  if (assignment.holdout) return nullptr;
  const ExperimentConfig* e = find(assignment.experiment);
  if (e == nullptr) return nullptr;
  for (const auto& v : e->variants)
    if (v.name == assignment.variant) return &v;
  return nullptr;
}

Assignments ExperimentSet::assign(const ExperimentContext& context) const {
  const Impl& im = *impl_;
  const auto& experiments = im.config.experiments;
  // Forced variants first: validated whatever else happens.
  std::vector<const std::string*> forced(experiments.size(), nullptr);
  for (const auto& forced_pair : context.forced_variants) {
    const std::string& name = forced_pair.first;
    const std::string& variant = forced_pair.second;  // (a lambda cannot capture a binding in C++17)
    const auto it = im.by_name.find(name);
    TAILOR_REQUIRE(it != im.by_name.end(), "forced variant for unknown experiment '" << name << "'");
    const ExperimentConfig& e = experiments[it->second];
    const bool known = variant == kHoldoutVariant ||
                       std::any_of(e.variants.begin(), e.variants.end(),
                                   [&](const Variant& v) { return v.name == variant; });
    TAILOR_REQUIRE(known, "forced variant '" << variant << "' is not a variant of experiment '" << name << "'");
    forced[it->second] = &variant;
  }

  Assignments out;
  if (context.excluded) return out;
  const std::string user_unit =
      !context.user.empty() ? context.user : (context.session.empty() ? std::string() : "session:" + context.session);
  const std::string session_unit = context.session.empty() ? std::string() : "session:" + context.session;
  const bool any_forced = !context.forced_variants.empty();
  if (!any_forced && user_unit.empty() && session_unit.empty()) return out;

  // The global holdout is decided on the user unit (the session for anonymous shoppers).
  if (im.config.global_holdout > 0 && !user_unit.empty() &&
      im.uniform("global-holdout", "", user_unit) < im.config.global_holdout) {
    out.global_holdout = true;
  }

  // Per layer and unit kind, the bucket (computed once per layer and unit).
  std::vector<std::size_t> member(experiments.size(), 0);  // 1 = in the experiment
  for (const auto& layer : im.layout.layers) {
    if (out.global_holdout) break;
    std::size_t bucket_user = SIZE_MAX, bucket_session = SIZE_MAX;
    for (std::size_t i : layer.experiments) {
      const ExperimentConfig& e = experiments[i];
      if (!e.enabled) continue;
      const std::string& unit = e.unit == AssignmentUnit::user ? user_unit : session_unit;
      if (unit.empty()) continue;
      std::size_t& bucket = e.unit == AssignmentUnit::user ? bucket_user : bucket_session;
      if (bucket == SIZE_MAX) {
        const double u = im.uniform(layer.is_private ? "private-layer" : "layer", layer.name, unit);
        bucket = std::min(static_cast<std::size_t>(u * static_cast<double>(layer.buckets)), layer.buckets - 1);
      }
      const auto& p = im.layout.place[i];
      if (bucket >= p.first && bucket < p.last) member[i] = 1;
    }
  }

  for (std::size_t i = 0; i < experiments.size(); ++i) {
    const ExperimentConfig& e = experiments[i];
    Assignment a;
    a.experiment = e.name;
    if (forced[i] != nullptr) {
      a.variant = *forced[i];
      a.holdout = a.variant == kHoldoutVariant;
      a.forced = true;
      out.experiments.push_back(std::move(a));
      continue;
    }
    if (member[i] == 0) continue;
    const std::string& unit = e.unit == AssignmentUnit::user ? user_unit : session_unit;
    double u = im.uniform("experiment", e.salt_or_name(), unit);
    if (u < e.holdout) {
      a.variant = std::string(kHoldoutVariant);
      a.holdout = true;
    } else {
      u = (u - e.holdout) / (1.0 - e.holdout);
      const auto& cum = im.cumulative[i];
      const std::size_t v = static_cast<std::size_t>(std::upper_bound(cum.begin(), cum.end(), u) - cum.begin());
      a.variant = e.variants[std::min(v, cum.size() - 1)].name;
    }
    out.experiments.push_back(std::move(a));
  }
  return out;
}

nlohmann::json ExperimentSet::merged_config(const Assignments& assignments) const {
  nlohmann::json merged = nlohmann::json::object();
  for (const auto& a : assignments.experiments) {
    const Variant* v = variant(a);
    if (v != nullptr) merged.merge_patch(v->config);
  }
  return merged;
}

const Assignment* Assignments::find(std::string_view experiment) const {
  for (const auto& a : experiments)
    if (a.experiment == experiment) return &a;
  return nullptr;
}

}  // namespace tailor
