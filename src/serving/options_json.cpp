// RecommenderOptions <-> JSON (see options_json.hpp).
//
// One field table per options struct (`fields(visitor, options)`) serves both directions: the
// Writer turns each field into JSON, the Reader finds each field's key, decodes it with the JSON
// path for errors, and afterwards refuses the keys no field claimed. A new option is one line in
// its struct's table.
#include "tailor/serving/options_json.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>

#include "persistence/model_container.hpp"
#include "tailor/core/error.hpp"

namespace tailor {

namespace {

// ---- enum names ----------------------------------------------------------------------------------

template <class E>
using EnumNames = std::vector<std::pair<const char*, E>>;

const EnumNames<ValueScaling>& names(ValueScaling) {
  static const EnumNames<ValueScaling> table{{"none", ValueScaling::none}, {"linear", ValueScaling::linear}, {"log1p", ValueScaling::log1p}};
  return table;
}
const EnumNames<ConfidenceTransform>& names(ConfidenceTransform) {
  static const EnumNames<ConfidenceTransform> table{{"linear", ConfidenceTransform::linear},
          {"logarithmic", ConfidenceTransform::logarithmic},
          {"raw", ConfidenceTransform::raw}};
  return table;
}
const EnumNames<ALSFeedback>& names(ALSFeedback) {
  static const EnumNames<ALSFeedback> table{{"implicit", ALSFeedback::implicit}, {"explicit_ratings", ALSFeedback::explicit_ratings}};
  return table;
}
const EnumNames<ALSSolver>& names(ALSSolver) {
  static const EnumNames<ALSSolver> table{{"conjugate_gradient", ALSSolver::conjugate_gradient}, {"cholesky", ALSSolver::cholesky}};
  return table;
}
const EnumNames<Similarity>& names(Similarity) {
  static const EnumNames<Similarity> table{{"cosine", Similarity::cosine}, {"cooccurrence", Similarity::cooccurrence}, {"bm25", Similarity::bm25}};
  return table;
}
const EnumNames<TextProjection>& names(TextProjection) {
  static const EnumNames<TextProjection> table{{"random", TextProjection::random}, {"svd", TextProjection::svd}};
  return table;
}
const EnumNames<AnnBackend>& names(AnnBackend) {
  static const EnumNames<AnnBackend> table{{"automatic", AnnBackend::automatic}, {"exact", AnnBackend::exact}, {"hnsw", AnnBackend::hnsw}};
  return table;
}
const EnumNames<GuardMetric>& names(GuardMetric) {
  static const EnumNames<GuardMetric> table{{"ndcg", GuardMetric::ndcg},
          {"recall", GuardMetric::recall},
          {"precision", GuardMetric::precision},
          {"map", GuardMetric::map},
          {"hit_rate", GuardMetric::hit_rate}};
  return table;
}
const EnumNames<MarginKind>& names(MarginKind) {
  static const EnumNames<MarginKind> table{{"relative", MarginKind::relative}, {"absolute", MarginKind::absolute}};
  return table;
}

// ---- field tables --------------------------------------------------------------------------------

template <class V>
void fields(V& v, EventWeights& o) {
  v("view", o.view);
  v("click", o.click);
  v("add_to_cart", o.add_to_cart);
  v("purchase", o.purchase);
  v("search", o.search);
  v("rating", o.rating);
  v("rating_offset", o.rating_offset);
  v("return", o.return_);
  v("custom", o.custom);
  v("quantity_scaling", o.quantity_scaling);
  v("half_life_days", o.half_life_days);
  v("reference_time", o.reference_time);
  v("max_value", o.max_value);
}

template <class V>
void fields(V& v, InteractionMatrixOptions& o) {
  v("weights", o.weights);
  v("transform", o.transform);
  v("alpha", o.alpha);
  v("epsilon", o.epsilon);
  v("min_weight", o.min_weight);
  v("max_confidence", o.max_confidence);
  v("include_anonymous", o.include_anonymous);
}

template <class V>
void fields(V& v, ALSOptions& o) {
  v("factors", o.factors);
  v("iterations", o.iterations);
  v("regularization", o.regularization);
  v("regularization_exponent", o.regularization_exponent);
  v("unobserved_weight", o.unobserved_weight);
  v("feedback", o.feedback);
  v("solver", o.solver);
  v("cg_steps", o.cg_steps);
  v("seed", o.seed);
  v("init_scale", o.init_scale);
  v("threads", o.threads);
  v("compute_loss", o.compute_loss);
  v("validation_every", o.validation_every);
  v("patience", o.patience);
}

template <class V>
void fields(V& v, HybridRankerOptions& o) {
  v("user_half", o.user_half);
  v("item_half", o.item_half);
  v("bridge_pseudo_count", o.bridge_pseudo_count);
  v("weight_als", o.weight_als);
  v("weight_knn", o.weight_knn);
  v("weight_ease", o.weight_ease);
  v("weight_content", o.weight_content);
  v("weight_popular", o.weight_popular);
  v("weight_trending", o.weight_trending);
  v("similar_weight_popular", o.similar_weight_popular);
  v("als_candidates", o.als_candidates);
  v("knn_neighbors_per_item", o.knn_neighbors_per_item);
  v("ease_candidates", o.ease_candidates);
  v("ease_history", o.ease_history);
  v("content_candidates", o.content_candidates);
  v("popular_candidates", o.popular_candidates);
  v("category_popular_candidates", o.category_popular_candidates);
  v("trending_candidates", o.trending_candidates);
  v("max_recent", o.max_recent);
  v("recency_half_life_hours", o.recency_half_life_hours);
  v("context_weight", o.context_weight);
  v("view_weight", o.view_weight);
  v("click_weight", o.click_weight);
  v("cart_weight", o.cart_weight);
  v("purchase_weight", o.purchase_weight);
  v("category_depth", o.category_depth);
  v("family_attribute", o.family_attribute);
  v("never_recommend_attribute", o.never_recommend_attribute);
  v("new_item_threshold", o.new_item_threshold);
}

template <class V>
void fields(V& v, ItemKnnOptions& o) {
  v("similarity", o.similarity);
  v("neighbors", o.neighbors);
  v("binarize", o.binarize);
  v("shrinkage", o.shrinkage);
  v("bm25_k1", o.bm25_k1);
  v("bm25_b", o.bm25_b);
  v("threads", o.threads);
}

template <class V>
void fields(V& v, EaseOptions& o) {
  v("enabled", o.enabled);
  v("lambda", o.lambda);
  v("max_items", o.max_items);
  v("threads", o.threads);
}

template <class V>
void fields(V& v, TokenizerOptions& o) {
  v("lowercase", o.lowercase);
  v("strip_accents", o.strip_accents);
  v("remove_stop_words", o.remove_stop_words);
  v("min_token_length", o.min_token_length);
  v("max_token_length", o.max_token_length);
  v("max_ngram", o.max_ngram);
}

template <class V>
void fields(V& v, ContentEncoderOptions& o) {
  v("tokenizer", o.tokenizer);
  v("hash_buckets", o.hash_buckets);
  v("signed_hashing", o.signed_hashing);
  v("title_weight", o.title_weight);
  v("description_weight", o.description_weight);
  v("text_dimension", o.text_dimension);
  v("projection", o.projection);
  v("svd_oversampling", o.svd_oversampling);
  v("svd_power_iterations", o.svd_power_iterations);
  v("svd_max_items", o.svd_max_items);
  v("category_dimension", o.category_dimension);
  v("brand_dimension", o.brand_dimension);
  v("attribute_keys", o.attribute_keys);
  v("attribute_dimension", o.attribute_dimension);
  v("price_buckets", o.price_buckets);
  v("price_overlap", o.price_overlap);
  v("text_weight", o.text_weight);
  v("category_weight", o.category_weight);
  v("brand_weight", o.brand_weight);
  v("attribute_weight", o.attribute_weight);
  v("price_weight", o.price_weight);
  v("seed", o.seed);
}

template <class V>
void fields(V& v, ContentBridgeOptions& o) {
  v("min_interactions", o.min_interactions);
  v("ridge", o.ridge);
  v("min_training_items", o.min_training_items);
}

template <class V>
void fields(V& v, TrendingOptions& o) {
  v("now", o.now);
  v("recent_window", o.recent_window);
  v("long_window", o.long_window);
  v("prior", o.prior);
}

template <class V>
void fields(V& v, AnnIndexOptions& o) {
  v("backend", o.backend);
  v("exact_max_items", o.exact_max_items);
  v("M", o.M);
  v("ef_construction", o.ef_construction);
  v("ef_search", o.ef_search);
  v("build_threads", o.build_threads);
  v("seed", o.seed);
  v("filter_graph_cost", o.filter_graph_cost);
  v("filter_walk_min_fraction", o.filter_walk_min_fraction);
  v("filter_overfetch", o.filter_overfetch);
  v("rebuild_side_items", o.rebuild_side_items);
}

template <class V>
void fields(V& v, GuardOptions& o) {
  v("metric", o.metric);
  v("k", o.k);
  v("margin", o.margin);
  v("margin_kind", o.margin_kind);
  v("min_users", o.min_users);
  v("accept_without_evidence", o.accept_without_evidence);
  v("threads", o.threads);
}

template <class V>
void fields(V& v, DriftOptions& o) {
  v("psi_moderate", o.psi_moderate);
  v("psi_major", o.psi_major);
  v("drift_on_moderate", o.drift_on_moderate);
  v("psi_epsilon", o.psi_epsilon);
  v("top_items", o.top_items);
  v("unseen_item_share", o.unseen_item_share);
  v("ks_p_value", o.ks_p_value);
  v("ks_min_statistic", o.ks_min_statistic);
  v("min_events", o.min_events);
  v("min_scores", o.min_scores);
  v("window_ms", o.window_ms);
  v("window_buckets", o.window_buckets);
  v("max_score_samples", o.max_score_samples);
  v("report_bins", o.report_bins);
  v("seed", o.seed);
}

template <class V>
void fields(V& v, BlendLearningOptions& o) {
  v("validation_days", o.validation_days);
  v("k", o.k);
  v("min_users", o.min_users);
  v("max_users", o.max_users);
  v("passes", o.passes);
}

template <class V>
void fields(V& v, RecommenderOptions& o) {
  v("matrix", o.matrix);
  v("als", o.als);
  v("ranker", o.ranker);
  v("blend", o.blend);
  v("neighbors", o.neighbors);
  v("ease", o.ease);
  v("use_content", o.use_content);
  v("content", o.content);
  v("bridge", o.bridge);
  v("trending", o.trending);
  v("popularity_half_life_days", o.popularity_half_life_days);
  v("ann", o.ann);
  v("profile_events", o.profile_events);
  v("profile_shards", o.profile_shards);
  v("cache_entries", o.cache_entries);
  v("max_kept_events", o.max_kept_events);
  v("basket_max_items", o.basket_max_items);
  v("bought_together_per_item", o.bought_together_per_item);
  v("guard_holdout", o.guard_holdout);
  v("guard", o.guard);
  v("monitor_drift", o.monitor_drift);
  v("drift", o.drift);
  v("compact_log_on_erase", o.compact_log_on_erase);
}

// A struct with a field table (a class that is not one of the value types handled below).
template <class T, class = void>
struct HasFields : std::false_type {};
struct ProbeVisitor {
  template <class U>
  void operator()(const char*, U&) {}
};
template <class T>
struct HasFields<T, std::void_t<decltype(fields(std::declval<ProbeVisitor&>(), std::declval<T&>()))>>
    : std::true_type {};

// ---- writing -------------------------------------------------------------------------------------

// The shortest decimal that reads back as the same float (0.01f is written 0.01).
double float_for_json(float x) {
  for (int precision = 6; precision < 9; ++precision) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*g", precision, static_cast<double>(x));
    const double d = std::strtod(buf, nullptr);
    if (static_cast<float>(d) == x) return d;
  }
  return static_cast<double>(x);
}

struct Writer {
  nlohmann::json out = nlohmann::json::object();

  template <class T>
  void operator()(const char* key, T& value) {
    out[key] = encode(value);
  }

  template <class T>
  static nlohmann::json encode(T& value) {
    if constexpr (HasFields<T>::value) {
      Writer w;
      fields(w, value);
      return std::move(w.out);
    } else if constexpr (std::is_enum_v<T>) {
      for (const auto& [name, e] : names(T{}))
        if (e == value) return name;
      return static_cast<int>(value);  // unreachable for the tabled enums
    } else if constexpr (std::is_same_v<T, float>) {
      return float_for_json(value);
    } else if constexpr (std::is_same_v<T, std::optional<Timestamp>>) {
      return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
    } else if constexpr (std::is_same_v<T, std::map<std::uint16_t, double>>) {
      nlohmann::json j = nlohmann::json::object();
      for (const auto& [code, weight] : value) j[std::to_string(code)] = weight;
      return j;
    } else {
      return nlohmann::json(value);  // bool, integers, double, string, vector<string>
    }
  }
};

// ---- reading -------------------------------------------------------------------------------------

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  TAILOR_THROW(invalid_argument, (path.empty() ? std::string("(top level)") : path) << ": " << what);
}

std::string child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string describe(const nlohmann::json& j) {
  std::string text = j.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return std::string(j.type_name()) + " " + text;
}

struct Reader {
  const nlohmann::json& in;
  std::string path;
  std::set<std::string> claimed;

  template <class T>
  void operator()(const char* key, T& value) {
    claimed.insert(key);
    const auto it = in.find(key);
    if (it != in.end()) decode(*it, value, child(path, key));
  }

  void refuse_unclaimed() const {
    for (const auto& [key, value] : in.items()) {
      if (claimed.count(key) != 0) continue;
      if (path.empty() && key == "pseudonymize")
        bad(key, "not read from JSON: the pseudonymization key must never be in a file; set "
                 "RecommenderOptions::pseudonymize in code");
      bad(child(path, key), "unknown key");
    }
  }

  template <class T>
  static void decode(const nlohmann::json& j, T& value, const std::string& path) {
    if constexpr (HasFields<T>::value) {
      if (!j.is_object()) bad(path, "expected an object, got " + describe(j));
      Reader r{j, path, {}};
      fields(r, value);
      r.refuse_unclaimed();
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!j.is_boolean()) bad(path, "expected true or false, got " + describe(j));
      value = j.get<bool>();
    } else if constexpr (std::is_enum_v<T>) {
      std::string expected;
      if (j.is_string()) {
        for (const auto& [name, e] : names(T{})) {
          if (j.get_ref<const std::string&>() == name) {
            value = e;
            return;
          }
        }
      }
      for (const auto& [name, e] : names(T{})) expected += (expected.empty() ? "" : ", ") + std::string(name);
      bad(path, "expected one of " + expected + ", got " + describe(j));
    } else if constexpr (std::is_integral_v<T>) {
      decode_integer(j, value, path);
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!j.is_number()) bad(path, "expected a number, got " + describe(j));
      const double d = j.get<double>();
      if (std::is_same_v<T, float> && std::isfinite(d) &&
          std::abs(d) > static_cast<double>(std::numeric_limits<float>::max()))
        bad(path, "out of range for a 32-bit float: " + j.dump());
      value = static_cast<T>(d);
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!j.is_string()) bad(path, "expected a string, got " + describe(j));
      value = j.get<std::string>();
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      if (!j.is_array()) bad(path, "expected an array of strings, got " + describe(j));
      std::vector<std::string> out;
      for (std::size_t i = 0; i < j.size(); ++i) {
        std::string s;
        decode(j[i], s, path + "[" + std::to_string(i) + "]");
        out.push_back(std::move(s));
      }
      value = std::move(out);
    } else if constexpr (std::is_same_v<T, std::optional<Timestamp>>) {
      if (j.is_null()) {
        value.reset();
      } else {
        Timestamp t = 0;
        decode_integer(j, t, path);
        value = t;
      }
    } else if constexpr (std::is_same_v<T, std::map<std::uint16_t, double>>) {
      if (!j.is_object()) bad(path, "expected an object of event-type codes, got " + describe(j));
      std::map<std::uint16_t, double> out;
      for (const auto& [key, weight] : j.items()) {
        const std::string p = child(path, key);
        char* end = nullptr;
        const unsigned long code = std::strtoul(key.c_str(), &end, 10);
        if (key.empty() || *end != '\0' || key[0] == '-' || code > 65535)
          bad(p, "the key must be an event-type code (an integer in [0, 65535])");
        double w = 0;
        decode(weight, w, p);
        out[static_cast<std::uint16_t>(code)] = w;
      }
      value = std::move(out);
    } else {
      static_assert(!sizeof(T*), "no JSON decoding for this field type");
    }
  }

  template <class T>
  static void decode_integer(const nlohmann::json& j, T& value, const std::string& path) {
    if (!j.is_number_integer()) {
      if (j.is_number_float()) bad(path, "expected an integer, got " + j.dump());
      bad(path, "expected an integer, got " + describe(j));
    }
    if (j.is_number_unsigned()) {
      const auto u = j.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
        bad(path, "out of range: " + j.dump());
      value = static_cast<T>(u);
      return;
    }
    const auto s = j.get<std::int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (s < 0) bad(path, "must not be negative, got " + j.dump());
      if (static_cast<std::uint64_t>(s) > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
        bad(path, "out of range: " + j.dump());
    } else {
      if (s < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
          s > static_cast<std::int64_t>(std::numeric_limits<T>::max()))
        bad(path, "out of range: " + j.dump());
    }
    value = static_cast<T>(s);
  }
};

}  // namespace

nlohmann::json options_to_json(const RecommenderOptions& options) {
  RecommenderOptions copy = options;
  copy.pseudonymize.reset();
  return Writer::encode(copy);
}

RecommenderOptions options_from_json(const nlohmann::json& json) {
  RecommenderOptions options;
  Reader::decode(json, options, "");
  options.validate();
  return options;
}

nlohmann::json ranker_options_to_json(const HybridRankerOptions& options) {
  HybridRankerOptions copy = options;
  return Writer::encode(copy);
}

HybridRankerOptions ranker_options_from_json(const nlohmann::json& json) {
  HybridRankerOptions options;
  Reader::decode(json, options, "");
  options.validate();
  return options;
}

RecommenderOptions read_options_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) TAILOR_THROW(io_error, path << ": cannot open the options file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) TAILOR_THROW(io_error, path << ": read failed");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    TAILOR_THROW(invalid_argument, path << ": not valid JSON (byte " << e.byte << ")");
  }
  try {
    return options_from_json(json);
  } catch (const Error& e) {
    TAILOR_THROW(invalid_argument, path << ": " << e.what());
  }
}

RecommenderOptions read_model_options(const std::string& model_path) {
  const ModelReader reader = ModelReader::open(model_path);
  const auto it = reader.metadata().find("options");
  if (it == reader.metadata().end())
    TAILOR_THROW(corrupt_file, model_path << ": the header holds no options (metadata.options)");
  try {
    return options_from_json(*it);
  } catch (const Error& e) {
    TAILOR_THROW(corrupt_file, model_path << ": metadata.options: " << e.what());
  }
}

}  // namespace tailor
