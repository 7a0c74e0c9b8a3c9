// tailor (private): the cache of the rules' catalog filters a HybridRanker keeps.
//
// The catalog part of a request's rules (stock, price range, categories, never-recommend; see
// RuleSet::catalog_filter) depends on the item alone, and building it reads every catalog item.
// A shop's requests use a few distinct filters (in stock, a price band, a department), so each is
// built once per ranker, i.e. per snapshot of the catalog, and shared as a bitset. The least
// recently used entries are dropped beyond kCapacity.
//
// Thread-safety: thread-safe (one mutex, held only to look up or insert an entry; a bitset is
// built outside it).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "tailor/ranking/rules.hpp"
#include "tailor/retrieval/item_bitset.hpp"

namespace tailor {

class RuleFilterCache {
 public:
  static constexpr std::size_t kCapacity = 32;

  /// The catalog filter of `rules`, built on the first request with its key.
  std::shared_ptr<const ItemBitset> get(const RuleSet& rules);

 private:
  std::shared_ptr<const ItemBitset> find(const std::string& key);

  std::mutex mutex_;
  std::vector<std::pair<std::string, std::shared_ptr<const ItemBitset>>> entries_;  // recent first
};

}  // namespace tailor
