// tailor server: the JSON of the HTTP API (docs/api.md), independent of the HTTP library: request
// bodies and query parameters to library types, responses to JSON. Every bad input becomes an
// ApiError naming the field (a JSON path such as "[3].timestamp", or a query parameter).
//
// Not part of libtailor: compiled only into the `tailor` executable with the HTTP service.
// Thread-safety: free functions over their arguments; safe to call concurrently.
#pragma once

#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/serving/recommender.hpp"

namespace tailor::server {

/// A request the API refuses: the HTTP status (400, 401, 404, 409, 413...) and a message that
/// names the field or parameter.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

/// Limits on what one request may carry.
struct ApiLimits {
  std::size_t max_body_bytes = std::size_t{1} << 20;  ///< larger bodies: 413
  std::size_t max_batch = 1000;                       ///< events or items per request: 413
  std::size_t max_k = 1000;                           ///< k above it: 400
};

/// The parameters of a request's query string (one value per name; a repeated name is refused).
using Query = std::map<std::string, std::string>;

/// Parses a request body as JSON (ApiError 400 with the parser's position when malformed).
nlohmann::json parse_body(const std::string& body);

/// The events of POST /v1/events: one object or an array of them, each with user_id and/or
/// session_id, item_id (not for "search"), type, and optional timestamp (ISO-8601 string, or Unix
/// seconds / milliseconds as a number: >= 1e11 means milliseconds; default `now_ms`), value
/// and query. IDs are strings or integers. Throws ApiError naming "[i].field" (or "field" for a
/// single object); 413 beyond limits.max_batch.
std::vector<Event> parse_events(const nlohmann::json& body, const EventTypeRegistry& types,
                                const ApiLimits& limits, Timestamp now_ms);

/// The items of PUT /v1/items: one object or an array, each with item_id and optional title,
/// description, category (a path string split on '>' or '/', or an array of strings), brand,
/// price, in_stock and attributes (an object of scalars). Same errors as parse_events.
/// *stock_given[i] says whether item i had in_stock (merging an item always applies in_stock,
/// so the caller keeps the stored value for the others).
std::vector<CatalogItem> parse_items(const nlohmann::json& body, const ApiLimits& limits,
                                     std::vector<bool>* stock_given = nullptr);

/// GET /v1/recommendations: user_id and/or session_id (neither: ApiError 400), k, context_item,
/// min_price, max_price, category and exclude_category (paths as in parse_items; several
/// separated by '|'), exclude (item IDs separated by ','), include_seen, include_purchased,
/// include_out_of_stock, one_per_family, max_per_category, diversity. Unknown parameters are
/// refused (a misspelt filter must not be ignored silently).
RecommendRequest parse_recommend_query(const Query& query, const Recommender& recommender,
                                       const ApiLimits& limits);

/// k of a query (default 10), checked against limits; `allowed` names the parameters the
/// endpoint takes, every other one is refused.
std::size_t parse_k(const Query& query, const ApiLimits& limits,
                    const std::vector<std::string>& allowed);

/// {"items": [{"item_id","score","reason_kind","reason_item","reason_category","reason",
/// "sources"}], "model_version"} plus, with experiments, "recommendation_id" and "assignments".
nlohmann::json response_json(const RecommendResponse& response);

/// The JSON of a retrain report (POST /v1/retrain).
nlohmann::json retrain_json(const RetrainReport& report);

}  // namespace tailor::server
