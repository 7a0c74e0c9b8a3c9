// tailor: the shopper event and the catalog item, the two records everything else is built from.
//
// Thread-safety: plain value types; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/core/export.hpp"

namespace tailor {

/// Milliseconds since the Unix epoch, UTC.
using Timestamp = std::int64_t;

/// What a shopper did. The built-in types have fixed codes below 32; applications register their
/// own (e.g. "wishlist", "share") with EventTypeRegistry and get codes from 32 up.
enum class EventType : std::uint16_t {
  view = 0,
  click = 1,
  add_to_cart = 2,
  purchase = 3,
  search = 4,
  rating = 5,
  return_ = 6,  ///< a returned or cancelled purchase; name "return"
};

/// Codes of built-in event types are below this value; custom types are at or above it.
inline constexpr std::uint16_t kFirstCustomEventType = 32;

/// Canonical lower-case name of a built-in type ("view", "add_to_cart", "return", ...), or an
/// empty view for a custom code (ask the EventTypeRegistry that issued it).
constexpr std::string_view builtin_event_type_name(EventType type) noexcept {
  switch (type) {
    case EventType::view: return "view";
    case EventType::click: return "click";
    case EventType::add_to_cart: return "add_to_cart";
    case EventType::purchase: return "purchase";
    case EventType::search: return "search";
    case EventType::rating: return "rating";
    case EventType::return_: return "return";
  }
  return {};
}

/// Maps event type names to codes: the built-ins plus any custom types the application adds.
/// Thread-compatible: register types at start-up, then share it read-only.
class TAILOR_API EventTypeRegistry {
 public:
  EventTypeRegistry();

  /// Registers a custom type and returns its code; returns the existing code if `name` is known.
  /// Throws Error(invalid_argument) for an empty name or when 65504 custom types exist.
  EventType add(std::string_view name);

  /// The code for `name` (case-sensitive; built-ins also accept "add-to-cart", "addtocart",
  /// "cart", "buy", "order", "returned", "cancel"), or nullopt if unknown.
  std::optional<EventType> find(std::string_view name) const;

  /// The name of `type`; throws Error(invalid_argument) for an unregistered code.
  std::string_view name(EventType type) const;

  /// Number of registered types, built-ins included.
  std::size_t size() const noexcept { return names_.size(); }

 private:
  std::vector<std::string> names_;  // index = code for built-ins; kFirstCustomEventType + i after
  std::map<std::string, EventType, std::less<>> by_name_;
};

/// The prefix that marks an anonymous session's actor key ("session:" + session ID). Reserved: no
/// user ID may start with it.
inline constexpr std::string_view kSessionActorPrefix = "session:";

/// The longest user, session or item ID the Recommender accepts, in bytes.
inline constexpr std::size_t kMaxIdBytes = 1024;

/// One thing a shopper did.
struct Event {
  std::string user;     ///< external user ID; empty for an anonymous shopper (then session is set)
  std::string item;     ///< external item ID; may be empty for search events
  EventType type = EventType::view;
  Timestamp timestamp = 0;       ///< UTC milliseconds since the epoch
  std::optional<double> value;   ///< rating, quantity or price paid, depending on the type
  std::string session;           ///< session or basket key (e.g. an invoice number); may be empty
  std::string query;             ///< search text for search events

  /// The key a profile is kept under: the user ID, or kSessionActorPrefix + session for anonymous
  /// events. User IDs that start with that prefix are refused where events enter (Recommender,
  /// readers), so the two namespaces never collide.
  std::string actor() const {
    return user.empty() ? std::string(kSessionActorPrefix) + session : user;
  }

  friend bool operator==(const Event& a, const Event& b) {
    return a.user == b.user && a.item == b.item && a.type == b.type &&
           a.timestamp == b.timestamp && a.value == b.value && a.session == b.session &&
           a.query == b.query;
  }
  friend bool operator!=(const Event& a, const Event& b) { return !(a == b); }
};

/// One product of the shop's catalog.
struct CatalogItem {
  std::string id;                          ///< external item ID (SKU, stock code)
  std::string title;
  std::string description;
  std::vector<std::string> category_path;  ///< from the root, e.g. {"Home", "Kitchen", "Mugs"}
  std::string brand;
  std::optional<double> price;             ///< in the shop's currency; absent when unknown
  bool in_stock = true;
  std::map<std::string, std::string> attributes;  ///< free-form (colour, size, family, ...)

  friend bool operator==(const CatalogItem& a, const CatalogItem& b) {
    return a.id == b.id && a.title == b.title && a.description == b.description &&
           a.category_path == b.category_path && a.brand == b.brand && a.price == b.price &&
           a.in_stock == b.in_stock && a.attributes == b.attributes;
  }
  friend bool operator!=(const CatalogItem& a, const CatalogItem& b) { return !(a == b); }
};

}  // namespace tailor
