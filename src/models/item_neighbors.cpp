#include "tailor/models/item_neighbors.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "tailor/core/error.hpp"
#include "tailor/models/scorers.hpp"

namespace tailor {

void ItemKnnOptions::validate() const {
  if (neighbors == 0) TAILOR_THROW(invalid_argument, "ItemKnnOptions: neighbors must be >= 1");
  if (!std::isfinite(shrinkage) || shrinkage < 0.0) {
    TAILOR_THROW(invalid_argument, "ItemKnnOptions: shrinkage must be finite and >= 0, got " << shrinkage);
  }
  if (!std::isfinite(bm25_k1) || bm25_k1 < 0.0) {
    TAILOR_THROW(invalid_argument, "ItemKnnOptions: bm25_k1 must be finite and >= 0, got " << bm25_k1);
  }
  if (!(bm25_b >= 0.0 && bm25_b <= 1.0)) {
    TAILOR_THROW(invalid_argument, "ItemKnnOptions: bm25_b must be in [0, 1], got " << bm25_b);
  }
}

ItemNeighbors ItemNeighbors::from_similarity(const SparseMatrix& similarity,
                                             std::size_t max_per_item) {
  if (similarity.rows() != similarity.cols()) {
    TAILOR_THROW(invalid_argument, "ItemNeighbors::from_similarity: the matrix is "
                                       << similarity.rows() << " x " << similarity.cols()
                                       << ", expected square");
  }
  ItemNeighbors out;
  const auto n = static_cast<std::size_t>(similarity.rows());
  out.offsets_.reserve(n + 1);
  out.offsets_.push_back(0);
  std::vector<ItemNeighbor> row;
  for (Eigen::Index i = 0; i < similarity.outerSize(); ++i) {
    row.clear();
    for (SparseMatrix::InnerIterator it(similarity, i); it; ++it) {
      if (!std::isfinite(it.value())) {
        TAILOR_THROW(invalid_argument, "ItemNeighbors::from_similarity: entry ("
                                           << i << ", " << it.index() << ") is " << it.value());
      }
      if (it.index() == i || it.value() <= 0.0f) continue;
      row.push_back({static_cast<Index>(it.index()), it.value()});
    }
    std::sort(row.begin(), row.end(), [](const ItemNeighbor& a, const ItemNeighbor& b) {
      if (a.similarity != b.similarity) return a.similarity > b.similarity;
      return a.item < b.item;
    });
    if (max_per_item > 0 && row.size() > max_per_item) row.resize(max_per_item);
    out.entries_.insert(out.entries_.end(), row.begin(), row.end());
    out.offsets_.push_back(out.entries_.size());
  }
  return out;
}

ItemNeighbors ItemNeighbors::from_lists(const std::vector<std::vector<ItemNeighbor>>& lists) {
  ItemNeighbors out;
  out.offsets_.reserve(lists.size() + 1);
  out.offsets_.push_back(0);
  for (std::size_t i = 0; i < lists.size(); ++i) {
    std::vector<ItemNeighbor> row = lists[i];
    for (std::size_t j = 0; j < row.size(); ++j) {
      if (row[j].item >= lists.size() || !std::isfinite(row[j].similarity)) {
        TAILOR_THROW(invalid_argument, "ItemNeighbors::from_lists: lists["
                                           << i << "][" << j << "] = (item " << row[j].item
                                           << ", similarity " << row[j].similarity
                                           << "): item must be < " << lists.size()
                                           << " and similarity finite");
      }
    }
    std::sort(row.begin(), row.end(), [](const ItemNeighbor& a, const ItemNeighbor& b) {
      if (a.similarity != b.similarity) return a.similarity > b.similarity;
      return a.item < b.item;
    });
    out.entries_.insert(out.entries_.end(), row.begin(), row.end());
    out.offsets_.push_back(out.entries_.size());
  }
  return out;
}

ItemNeighbors::List ItemNeighbors::of(Index item) const {
  if (static_cast<std::size_t>(item) + 1 >= offsets_.size()) return {};
  return {entries_.data() + offsets_[item], offsets_[item + 1] - offsets_[item]};
}

ItemNeighbors build_item_neighbors(const SparseMatrix& interactions,
                                   const ItemKnnOptions& options) {
  ItemKnnScorer knn(options);
  knn.fit(interactions);
  return ItemNeighbors::from_similarity(knn.similarity_matrix(), options.neighbors);
}

std::vector<std::uint32_t> item_interaction_counts(const SparseMatrix& interactions) {
  std::vector<std::uint32_t> counts(static_cast<std::size_t>(interactions.cols()), 0);
  for (Eigen::Index u = 0; u < interactions.outerSize(); ++u) {
    for (SparseMatrix::InnerIterator it(interactions, u); it; ++it) {
      if (it.value() != 0.0f) ++counts[static_cast<std::size_t>(it.index())];
    }
  }
  return counts;
}

}  // namespace tailor
