#include "tailor/data/catalog.hpp"

#include <cmath>
#include <utility>

#include "tailor/core/error.hpp"

namespace tailor {

void merge_catalog_item(CatalogItem& base, CatalogItem update) {
  if (!update.title.empty()) base.title = std::move(update.title);
  if (!update.description.empty()) base.description = std::move(update.description);
  if (!update.category_path.empty()) base.category_path = std::move(update.category_path);
  if (!update.brand.empty()) base.brand = std::move(update.brand);
  if (update.price) base.price = update.price;
  base.in_stock = update.in_stock;
  for (auto& [key, value] : update.attributes) base.attributes[key] = std::move(value);
}

UpsertResult Catalog::upsert(CatalogItem item, UpsertMode mode) {
  if (item.id.empty()) TAILOR_THROW(invalid_argument, "Catalog::upsert: empty item ID");
  if (item.price && !(std::isfinite(*item.price) && *item.price >= 0.0))
    TAILOR_THROW(invalid_argument, "Catalog::upsert: item '"
                                       << item.id << "': price must be finite and >= 0, got "
                                       << *item.price);
  if (auto existing = ids_.find(item.id)) {
    CatalogItem& base = items_[*existing];
    if (mode == UpsertMode::replace) {
      base = std::move(item);
    } else {
      merge_catalog_item(base, std::move(item));
    }
    return {*existing, false};
  }
  const Index index = ids_.insert(item.id);
  items_.push_back(std::move(item));
  return {index, true};
}

const CatalogItem* Catalog::find(std::string_view id) const {
  auto index = ids_.find(id);
  return index ? &items_[*index] : nullptr;
}

const CatalogItem& Catalog::at(std::string_view id) const {
  auto index = ids_.find(id);
  if (!index) TAILOR_THROW(unknown_id, "Catalog: unknown item ID '" << id << "'");
  return items_[*index];
}

const CatalogItem& Catalog::at(Index index) const {
  if (index >= items_.size())
    TAILOR_THROW(unknown_id,
                 "Catalog: item index " << index << " out of range (size " << items_.size() << ")");
  return items_[index];
}

void Catalog::set_in_stock(std::string_view id, bool in_stock) {
  auto index = ids_.find(id);
  if (!index) TAILOR_THROW(unknown_id, "Catalog::set_in_stock: unknown item ID '" << id << "'");
  items_[*index].in_stock = in_stock;
}

void Catalog::reserve(std::size_t n) {
  ids_.reserve(n);
  items_.reserve(n);
}

}  // namespace tailor
