// tailor: IdMap, external string IDs to dense indices.
//
// Inside the library users and items are dense std::uint32_t indices 0..size()-1 so that factor
// matrices and sparse matrices can be indexed directly. An IdMap assigns the next index to each new
// ID; an index, once given, never changes, so matrices built earlier stay valid as IDs arrive.
//
// Thread-safety: thread-compatible (const methods may run concurrently; insert needs exclusion).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tailor/core/error.hpp"

namespace tailor {

/// Dense index of a user or item inside the library.
using Index = std::uint32_t;

class IdMap {
 public:
  IdMap() = default;
  IdMap(const IdMap& other) : ids_(other.ids_) { rebuild_index(); }
  IdMap& operator=(const IdMap& other) {
    if (this != &other) {
      ids_ = other.ids_;
      rebuild_index();
    }
    return *this;
  }
  // Moving a deque hands over its blocks, so the views in index_ stay valid.
  IdMap(IdMap&&) noexcept = default;
  IdMap& operator=(IdMap&&) noexcept = default;

  /// Returns the index of `id`, assigning the next free one if it is new.
  /// Throws Error(invalid_argument) when 2^32 - 2 IDs already exist.
  Index insert(std::string_view id) {
    auto it = index_.find(id);
    if (it != index_.end()) return it->second;
    if (ids_.size() >= kMaxSize) TAILOR_THROW(invalid_argument, "IdMap: more than " << kMaxSize << " IDs");
    const auto idx = static_cast<Index>(ids_.size());
    ids_.emplace_back(id);
    index_.emplace(std::string_view(ids_.back()), idx);
    return idx;
  }

  /// The index of `id`, or nullopt if it was never inserted.
  std::optional<Index> find(std::string_view id) const {
    auto it = index_.find(id);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }

  /// The index of `id`; throws Error(unknown_id) naming it if it was never inserted.
  Index at(std::string_view id) const {
    auto it = index_.find(id);
    if (it == index_.end()) TAILOR_THROW(unknown_id, "unknown ID '" << id << "'");
    return it->second;
  }

  bool contains(std::string_view id) const { return index_.find(id) != index_.end(); }

  /// The external ID of index `idx`; throws Error(unknown_id) when idx >= size().
  const std::string& id(Index idx) const {
    if (idx >= ids_.size()) TAILOR_THROW(unknown_id, "index " << idx << " out of range (size " << ids_.size() << ")");
    return ids_[idx];
  }

  std::size_t size() const noexcept { return ids_.size(); }
  bool empty() const noexcept { return ids_.empty(); }
  void reserve(std::size_t n) { index_.reserve(n); }

  /// All IDs in index order.
  const std::deque<std::string>& ids() const noexcept { return ids_; }

  friend bool operator==(const IdMap& a, const IdMap& b) { return a.ids_ == b.ids_; }
  friend bool operator!=(const IdMap& a, const IdMap& b) { return !(a == b); }

 private:
  static constexpr std::size_t kMaxSize = 0xFFFFFFFEu;

  void rebuild_index() {
    index_.clear();
    index_.reserve(ids_.size());
    for (std::size_t i = 0; i < ids_.size(); ++i) index_.emplace(std::string_view(ids_[i]), static_cast<Index>(i));
  }

  // ids_ owns the strings; a deque never relocates its elements on push_back, so the views that
  // key index_ stay valid (C++17 has no heterogeneous unordered_map lookup).
  std::deque<std::string> ids_;
  std::unordered_map<std::string_view, Index> index_;
};

}  // namespace tailor
