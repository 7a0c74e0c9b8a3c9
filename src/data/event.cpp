#include "tailor/data/event.hpp"

#include "tailor/core/error.hpp"

namespace tailor {

EventTypeRegistry::EventTypeRegistry() {
  for (std::uint16_t code = 0; code <= static_cast<std::uint16_t>(EventType::return_); ++code) {
    const auto type = static_cast<EventType>(code);
    names_.emplace_back(builtin_event_type_name(type));
    by_name_.emplace(names_.back(), type);
  }
  const std::pair<const char*, EventType> aliases[] = {
      {"add-to-cart", EventType::add_to_cart}, {"addtocart", EventType::add_to_cart},
      {"cart", EventType::add_to_cart},        {"buy", EventType::purchase},
      {"order", EventType::purchase},          {"transaction", EventType::purchase},
      {"returned", EventType::return_},        {"cancel", EventType::return_},
      {"detail", EventType::view},             {"pageview", EventType::view}};
  for (const auto& [alias, type] : aliases) by_name_.emplace(alias, type);
}

EventType EventTypeRegistry::add(std::string_view name) {
  if (name.empty()) TAILOR_THROW(invalid_argument, "EventTypeRegistry::add: empty event type name");
  if (auto known = find(name)) return *known;
  const std::size_t custom = names_.size() - (static_cast<std::size_t>(EventType::return_) + 1);
  if (kFirstCustomEventType + custom > 0xFFFFu)
    TAILOR_THROW(invalid_argument, "EventTypeRegistry::add: too many custom event types");
  const auto type = static_cast<EventType>(kFirstCustomEventType + custom);
  names_.emplace_back(name);
  by_name_.emplace(names_.back(), type);
  return type;
}

std::optional<EventType> EventTypeRegistry::find(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::string_view EventTypeRegistry::name(EventType type) const {
  const auto code = static_cast<std::uint16_t>(type);
  const std::size_t builtins = static_cast<std::size_t>(EventType::return_) + 1;
  if (code < builtins) return names_[code];
  if (code >= kFirstCustomEventType && code - kFirstCustomEventType + builtins < names_.size())
    return names_[code - kFirstCustomEventType + builtins];
  TAILOR_THROW(invalid_argument, "EventTypeRegistry: unregistered event type code " << code);
}

}  // namespace tailor
