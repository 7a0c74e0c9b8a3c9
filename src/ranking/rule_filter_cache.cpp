#include "ranking/rule_filter_cache.hpp"

#include <algorithm>

namespace tailor {

std::shared_ptr<const ItemBitset> RuleFilterCache::find(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (std::size_t j = 0; j < entries_.size(); ++j) {
    if (entries_[j].first != key) continue;
    std::rotate(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(j),
                entries_.begin() + static_cast<std::ptrdiff_t>(j) + 1);
    return entries_.front().second;
  }
  return nullptr;
}

std::shared_ptr<const ItemBitset> RuleFilterCache::get(const RuleSet& rules) {
  std::string key = rules.catalog_filter_key();
  if (auto hit = find(key)) return hit;
  // Built outside the lock; two threads may both build a new key, and the first one stored wins.
  auto built = std::make_shared<const ItemBitset>(rules.catalog_filter());
  if (auto hit = find(key)) return hit;
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.insert(entries_.begin(), {std::move(key), built});
  if (entries_.size() > kCapacity) entries_.pop_back();
  return built;
}

}  // namespace tailor
