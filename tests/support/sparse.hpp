// Builds small tailor::SparseMatrix inputs for tests from (row, col, value) triplets.
#pragma once

#include <cstdint>
#include <vector>

#include "tailor/core/types.hpp"

namespace tailor::test {

using Triplet = Eigen::Triplet<float, std::int32_t>;

/// A compressed rows x cols matrix; duplicate triplets are summed.
inline SparseMatrix make_matrix(Eigen::Index rows, Eigen::Index cols, const std::vector<Triplet>& t) {
  SparseMatrix m(rows, cols);
  m.setFromTriplets(t.begin(), t.end());
  m.makeCompressed();
  return m;
}

}  // namespace tailor::test
