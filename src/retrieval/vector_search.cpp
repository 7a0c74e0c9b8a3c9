#include "tailor/retrieval/vector_search.hpp"

#include "tailor/core/error.hpp"

namespace tailor {
namespace {

std::vector<ScoredItem> exact_search(const RowMatrix& vectors, Span<const float> query,
                                     std::size_t k, const ItemFilter& eligible) {
  TAILOR_REQUIRE(query.size() == static_cast<std::size_t>(vectors.cols()),
                 "exact_vector_search: the query has " << query.size() << " values, the vectors "
                                                       << vectors.cols());
  const Eigen::Map<const Vector> q(query.data(), vectors.cols());
  const Vector scores = vectors * q;
  if (!eligible) return top_k(scores.data(), static_cast<std::size_t>(scores.size()), k);
  return top_k_where(scores.data(), static_cast<std::size_t>(scores.size()), k, eligible);
}

}  // namespace

VectorSearch exact_vector_search(const RowMatrix* vectors) {
  if (vectors == nullptr) TAILOR_THROW(invalid_argument, "exact_vector_search: null vectors");
  return [vectors](Span<const float> query, std::size_t k, const ItemFilter& eligible) {
    return exact_search(*vectors, query, k, eligible);
  };
}

}  // namespace tailor
