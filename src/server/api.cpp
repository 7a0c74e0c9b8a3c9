#include "server/api.hpp"

#include <cmath>
#include <optional>
#include <set>
#include <string_view>

#include "tailor/io/input.hpp"
#include "tailor/io/readers.hpp"

namespace tailor::server {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw ApiError(400, where + ": " + what);
}

std::string path_of(const std::string& prefix, const char* field) {
  return prefix.empty() ? std::string(field) : prefix + "." + field;
}

// A JSON string or integer as an ID of at most kMaxIdBytes; nullopt when absent or null.
std::optional<std::string> id_field(const json& object, const char* field, const std::string& prefix) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::nullopt;
  std::string id;
  if (it->is_string()) {
    id = it->get<std::string>();
  } else if (it->is_number_integer() || it->is_number_unsigned()) {
    id = it->dump();
  } else {
    bad(path_of(prefix, field), std::string("expected a string or an integer, got ") + it->type_name());
  }
  if (id.empty()) bad(path_of(prefix, field), "empty");
  if (id.size() > kMaxIdBytes) {
    bad(path_of(prefix, field),
        std::to_string(id.size()) + " bytes, at most " + std::to_string(kMaxIdBytes));
  }
  return id;
}

std::optional<std::string> string_field(const json& object, const char* field,
                                        const std::string& prefix, std::size_t max_bytes) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) bad(path_of(prefix, field), std::string("expected a string, got ") + it->type_name());
  std::string s = it->get<std::string>();
  if (s.size() > max_bytes) {
    bad(path_of(prefix, field), std::to_string(s.size()) + " bytes, at most " + std::to_string(max_bytes));
  }
  return s;
}

std::optional<double> number_field(const json& object, const char* field, const std::string& prefix) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) bad(path_of(prefix, field), std::string("expected a number, got ") + it->type_name());
  const double v = it->get<double>();
  if (!std::isfinite(v)) bad(path_of(prefix, field), "not a finite number");
  return v;
}

void check_keys(const json& object, const std::string& prefix, std::initializer_list<const char*> keys) {
  for (const auto& [key, value] : object.items()) {
    (void)value;
    bool known = false;
    for (const char* k : keys) known = known || key == k;
    if (!known) bad(path_of(prefix, key.c_str()), "unknown field");
  }
}

// The objects of a body that is one object or an array of them, with their path prefixes.
template <class F>
void for_each_object(const json& body, const ApiLimits& limits, const char* what, F&& f) {
  if (body.is_object()) {
    f(body, std::string());
    return;
  }
  if (!body.is_array()) bad("body", std::string("expected an object or an array of ") + what);
  if (body.empty()) bad("body", std::string("an empty array: no ") + what);
  if (body.size() > limits.max_batch) {
    throw ApiError(413, "body: " + std::to_string(body.size()) + " " + what + ", at most " +
                            std::to_string(limits.max_batch) + " per request");
  }
  for (std::size_t i = 0; i < body.size(); ++i) {
    const std::string prefix = "[" + std::to_string(i) + "]";
    if (!body[i].is_object()) bad(prefix, std::string("expected an object, got ") + body[i].type_name());
    f(body[i], prefix);
  }
}

std::vector<std::string> category_path(std::string_view text) {
  return split_category_path(text, ">/");
}

}  // namespace

json parse_body(const std::string& body) {
  try {
    return json::parse(body);
  } catch (const json::exception& e) {  // a syntax error, or a number beyond double's range
    throw ApiError(400, std::string("body: malformed JSON: ") + e.what());
  }
}

std::vector<Event> parse_events(const json& body, const EventTypeRegistry& types,
                                const ApiLimits& limits, Timestamp now_ms) {
  std::vector<Event> events;
  for_each_object(body, limits, "events", [&](const json& o, const std::string& p) {
    check_keys(o, p, {"user_id", "session_id", "item_id", "type", "timestamp", "value", "query"});
    Event e;
    e.user = id_field(o, "user_id", p).value_or("");
    e.session = id_field(o, "session_id", p).value_or("");
    if (e.user.empty() && e.session.empty()) bad(p.empty() ? "user_id" : p + ".user_id", "missing (give user_id or session_id)");
    const auto type = string_field(o, "type", p, 64);
    if (!type) bad(path_of(p, "type"), "missing");
    const auto code = types.find(*type);
    if (!code) bad(path_of(p, "type"), "unknown event type '" + *type + "'");
    e.type = *code;
    e.item = id_field(o, "item_id", p).value_or("");
    if (e.item.empty() && e.type != EventType::search) bad(path_of(p, "item_id"), "missing");
    e.query = string_field(o, "query", p, 4096).value_or("");
    e.value = number_field(o, "value", p);
    e.timestamp = now_ms;
    const auto ts = o.find("timestamp");
    if (ts != o.end() && !ts->is_null()) {
      std::optional<Timestamp> parsed;
      if (ts->is_string()) {
        parsed = parse_timestamp(ts->get<std::string>());
      } else if (ts->is_number()) {
        const double v = ts->get<double>();
        if (std::isfinite(v) && std::fabs(v) < 1e16) parsed = parse_timestamp(ts->dump());
      } else {
        bad(path_of(p, "timestamp"), std::string("expected a string or a number, got ") + ts->type_name());
      }
      if (!parsed) bad(path_of(p, "timestamp"), "not an ISO-8601 date-time or Unix epoch number: " + ts->dump());
      e.timestamp = *parsed;
    }
    events.push_back(std::move(e));
  });
  return events;
}

std::vector<CatalogItem> parse_items(const json& body, const ApiLimits& limits,
                                     std::vector<bool>* stock_given) {
  std::vector<CatalogItem> items;
  if (stock_given != nullptr) stock_given->clear();
  for_each_object(body, limits, "items", [&](const json& o, const std::string& p) {
    check_keys(o, p, {"item_id", "title", "description", "category", "brand", "price", "in_stock",
                      "attributes"});
    CatalogItem item;
    const auto id = id_field(o, "item_id", p);
    if (!id) bad(path_of(p, "item_id"), "missing");
    item.id = *id;
    item.title = string_field(o, "title", p, 4096).value_or("");
    item.description = string_field(o, "description", p, 65536).value_or("");
    item.brand = string_field(o, "brand", p, 1024).value_or("");
    item.price = number_field(o, "price", p);
    if (item.price && *item.price < 0) bad(path_of(p, "price"), "negative");
    const auto cat = o.find("category");
    if (cat != o.end() && !cat->is_null()) {
      if (cat->is_string()) {
        item.category_path = category_path(cat->get<std::string>());
      } else if (cat->is_array()) {
        for (std::size_t i = 0; i < cat->size(); ++i) {
          if (!(*cat)[i].is_string()) bad(path_of(p, "category") + "[" + std::to_string(i) + "]", "expected a string");
          item.category_path.push_back((*cat)[i].get<std::string>());
        }
      } else {
        bad(path_of(p, "category"), "expected a path string or an array of strings");
      }
    }
    const auto stock = o.find("in_stock");
    if (stock_given != nullptr) stock_given->push_back(stock != o.end() && !stock->is_null());
    if (stock != o.end() && !stock->is_null()) {
      if (!stock->is_boolean()) bad(path_of(p, "in_stock"), std::string("expected true or false, got ") + stock->type_name());
      item.in_stock = stock->get<bool>();
    }
    const auto attrs = o.find("attributes");
    if (attrs != o.end() && !attrs->is_null()) {
      if (!attrs->is_object()) bad(path_of(p, "attributes"), "expected an object");
      for (const auto& [key, value] : attrs->items()) {
        const std::string where = path_of(p, "attributes") + "." + key;
        if (value.is_string()) item.attributes[key] = value.get<std::string>();
        else if (value.is_boolean() || value.is_number()) item.attributes[key] = value.dump();
        else bad(where, "expected a string, number or boolean");
      }
    }
    items.push_back(std::move(item));
  });
  return items;
}

namespace {

void check_params(const Query& query, const std::vector<std::string>& allowed) {
  for (const auto& [name, value] : query) {
    (void)value;
    bool known = false;
    for (const auto& a : allowed) known = known || a == name;
    if (!known) throw ApiError(400, "query parameter '" + name + "': unknown");
  }
}

std::optional<std::string> param(const Query& query, const char* name) {
  const auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

double param_number(const std::string& name, const std::string& text) {
  const auto v = parse_double(text);
  if (!v || !std::isfinite(*v)) {
    throw ApiError(400, "query parameter '" + name + "': not a finite number: " + quote_value(text));
  }
  return *v;
}

bool param_bool(const std::string& name, const std::string& text) {
  const auto v = parse_bool(text);
  if (!v) throw ApiError(400, "query parameter '" + name + "': expected true or false, got " + quote_value(text));
  return *v;
}

std::size_t param_size(const std::string& name, const std::string& text, std::size_t max) {
  const auto v = parse_int64(text);
  if (!v || *v < 0 || static_cast<std::uint64_t>(*v) > max) {
    throw ApiError(400, "query parameter '" + name + "': expected an integer in [0, " +
                            std::to_string(max) + "], got " + quote_value(text));
  }
  return static_cast<std::size_t>(*v);
}

std::string param_id(const std::string& name, const std::string& text) {
  if (text.empty()) throw ApiError(400, "query parameter '" + name + "': empty");
  if (text.size() > kMaxIdBytes) {
    throw ApiError(400, "query parameter '" + name + "': " + std::to_string(text.size()) +
                            " bytes, at most " + std::to_string(kMaxIdBytes));
  }
  return text;
}

std::vector<std::vector<std::string>> param_categories(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t bar = std::min(text.find('|', start), text.size());
    auto path = category_path(std::string_view(text).substr(start, bar - start));
    if (!path.empty()) out.push_back(std::move(path));
    start = bar + 1;
  }
  return out;
}

}  // namespace

std::size_t parse_k(const Query& query, const ApiLimits& limits, const std::vector<std::string>& allowed) {
  check_params(query, allowed);
  const auto k = param(query, "k");
  if (!k) return 10;
  const std::size_t v = param_size("k", *k, limits.max_k);
  if (v == 0) throw ApiError(400, "query parameter 'k': must be >= 1");
  return v;
}

RecommendRequest parse_recommend_query(const Query& query, const Recommender& recommender,
                                       const ApiLimits& limits) {
  RecommendRequest req;
  req.k = parse_k(query, limits,
                  {"user_id", "session_id", "k", "context_item", "min_price", "max_price",
                   "category", "exclude_category", "exclude", "include_seen", "include_purchased",
                   "include_out_of_stock", "one_per_family", "max_per_category", "diversity"});
  if (const auto v = param(query, "user_id")) req.user = param_id("user_id", *v);
  if (const auto v = param(query, "session_id")) req.session = param_id("session_id", *v);
  if (req.user.empty() && req.session.empty()) {
    throw ApiError(400, "query parameter 'user_id': missing (give user_id or session_id)");
  }
  if (req.user.rfind(kSessionActorPrefix, 0) == 0) {
    throw ApiError(400, "query parameter 'user_id': must not start with '" +
                            std::string(kSessionActorPrefix) + "'");
  }
  if (const auto v = param(query, "context_item")) req.context_item = param_id("context_item", *v);
  Rules& r = req.rules;
  if (const auto v = param(query, "min_price")) r.min_price = param_number("min_price", *v);
  if (const auto v = param(query, "max_price")) r.max_price = param_number("max_price", *v);
  if (r.min_price && *r.min_price < 0) throw ApiError(400, "query parameter 'min_price': negative");
  if (r.max_price && r.min_price && *r.max_price < *r.min_price) {
    throw ApiError(400, "query parameter 'max_price': below min_price");
  }
  if (const auto v = param(query, "category")) r.include_categories = param_categories(*v);
  if (const auto v = param(query, "exclude_category")) r.exclude_categories = param_categories(*v);
  if (const auto v = param(query, "exclude")) {
    std::size_t start = 0;
    while (start <= v->size()) {
      const std::size_t comma = std::min(v->find(',', start), v->size());
      const std::string id = v->substr(start, comma - start);
      if (id.size() > kMaxIdBytes) throw ApiError(400, "query parameter 'exclude': an ID longer than " + std::to_string(kMaxIdBytes) + " bytes");
      if (!id.empty()) {
        if (const auto idx = recommender.item_index(id)) r.deny.push_back(*idx);  // unknown: never shown anyway
      }
      start = comma + 1;
    }
  }
  if (const auto v = param(query, "include_seen")) r.exclude_seen = !param_bool("include_seen", *v);
  if (const auto v = param(query, "include_purchased")) r.exclude_purchased = !param_bool("include_purchased", *v);
  if (const auto v = param(query, "include_out_of_stock")) {
    r.exclude_out_of_stock = !param_bool("include_out_of_stock", *v);
  }
  if (const auto v = param(query, "one_per_family")) r.one_per_family = param_bool("one_per_family", *v);
  if (const auto v = param(query, "max_per_category")) {
    r.max_per_category = param_size("max_per_category", *v, limits.max_k);
  }
  if (const auto v = param(query, "diversity")) {
    const double d = param_number("diversity", *v);
    if (d < 0 || d > 1) throw ApiError(400, "query parameter 'diversity': must be in [0, 1]");
    r.diversity_lambda = static_cast<float>(1.0 - d);  // 0 = none, 1 = most diverse
  }
  return req;
}

json response_json(const RecommendResponse& response) {
  json items = json::array();
  for (const Recommendation& r : response.items) {
    items.push_back({{"item_id", r.item},
                     {"score", std::isfinite(r.score) ? json(r.score) : json(nullptr)},
                     {"reason_kind", reason_kind_name(r.reason_kind)},
                     {"reason_item", r.reason_item},
                     {"reason_category", r.reason_category},
                     {"reason", r.reason},
                     {"sources", source_names(r.sources)}});
  }
  json out = {{"items", std::move(items)}, {"model_version", response.model_version}};
  if (!response.recommendation_id.empty()) {
    out["recommendation_id"] = response.recommendation_id;
    json assignments = json::object();
    for (const Assignment& a : response.assignments) assignments[a.experiment] = a.variant;
    out["assignments"] = std::move(assignments);
  }
  return out;
}

json retrain_json(const RetrainReport& report) {
  json phases = json::object();
  for (const auto& [name, seconds] : report.phases) phases[name] = seconds;
  json out = {{"model_version", report.model_version},
              {"published", report.published},
              {"events", report.events},
              {"users", report.users},
              {"items", report.items},
              {"interactions", report.interactions},
              {"seconds", report.seconds},
              {"phases", std::move(phases)},
              {"ann_backend", report.ann_backend}};
  if (!report.blend_note.empty()) out["blend_note"] = report.blend_note;
  return out;
}

}  // namespace tailor::server
