// tailor: Catalog, the shop's product records keyed by dense item indices.
//
// A Catalog holds one CatalogItem per external item ID. Items get dense indices from an IdMap in
// the order they are first upserted; an index never changes, so it can index factor matrices and
// content vectors built from the same catalog. Items are never removed: a withdrawn product is
// marked `in_stock = false` and business rules filter it.
//
// Upserting an ID that already exists merges the new record into the old one (UpsertMode::merge,
// the default) or replaces it (UpsertMode::replace). Merge rules, field by field:
//   - title, description, brand: the new value wins when it is non-empty;
//   - category_path: the new path wins when it is non-empty;
//   - price: the new price wins when present;
//   - in_stock: always the new value (it is a current state, not an accumulating fact);
//   - attributes: key by key; the new value wins for keys present in both.
// So a partial update ("price changed", "new description") can be sent without the other fields.
//
// Thread-safety: thread-compatible (const methods may run concurrently; upsert needs exclusion).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/data/event.hpp"
#include "tailor/core/id_map.hpp"

namespace tailor {

/// How Catalog::upsert combines a record with an existing one of the same ID.
enum class UpsertMode {
  merge,    ///< non-empty / present fields of the new record overwrite; attributes merge by key
  replace,  ///< the new record replaces the old one entirely (the index is kept)
};

/// What Catalog::upsert did.
struct UpsertResult {
  Index index = 0;        ///< dense index of the item
  bool inserted = false;  ///< true when the ID was new
};

/// The shop's catalog. Thread-compatible (const methods may run concurrently).
///
/// **Example**:
///   Catalog catalog;
///   catalog.upsert({"85123A", "WHITE HANGING HEART T-LIGHT HOLDER"});
///   CatalogItem update; update.id = "85123A"; update.price = 2.55;
///   catalog.upsert(update);            // title kept, price set
///   const CatalogItem* item = catalog.find("85123A");
class TAILOR_API Catalog {
 public:
  using const_iterator = std::vector<CatalogItem>::const_iterator;

  Catalog() = default;

  /// Inserts `item` or merges it into the existing record with the same ID (see the file comment).
  /// Throws Error(invalid_argument) for an empty ID or a negative or non-finite price.
  UpsertResult upsert(CatalogItem item, UpsertMode mode = UpsertMode::merge);

  /// The item with external ID `id`, or nullptr if unknown. The pointer is invalidated by the
  /// next upsert of a new ID.
  const CatalogItem* find(std::string_view id) const;

  /// The item with external ID `id`; throws Error(unknown_id) naming it if unknown.
  const CatalogItem& at(std::string_view id) const;

  /// The item at dense index `index`; throws Error(unknown_id) when index >= size().
  const CatalogItem& at(Index index) const;

  /// The dense index of `id`, or nullopt if unknown.
  std::optional<Index> index_of(std::string_view id) const { return ids_.find(id); }

  bool contains(std::string_view id) const { return ids_.contains(id); }

  /// Sets the stock flag of a known item; throws Error(unknown_id) if `id` is unknown.
  void set_in_stock(std::string_view id, bool in_stock);

  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  void reserve(std::size_t n);

  /// Items in index order.
  const_iterator begin() const noexcept { return items_.begin(); }
  const_iterator end() const noexcept { return items_.end(); }
  const std::vector<CatalogItem>& items() const noexcept { return items_; }

  /// External ID <-> dense index map; ids().id(i) == at(i).id.
  const IdMap& ids() const noexcept { return ids_; }

  friend bool operator==(const Catalog& a, const Catalog& b) { return a.items_ == b.items_; }
  friend bool operator!=(const Catalog& a, const Catalog& b) { return !(a == b); }

 private:
  IdMap ids_;
  std::vector<CatalogItem> items_;  // items_[i].id == ids_.id(i)
};

/// Merges `update` into `base` with the UpsertMode::merge rules (ids are not compared).
TAILOR_API void merge_catalog_item(CatalogItem& base, CatalogItem update);

}  // namespace tailor
