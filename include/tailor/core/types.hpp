// tailor: the matrix types shared by every component.
//
// Dense matrices are row-major float: one row per user or item, so a row is one factor vector,
// contiguous in memory. Sparse matrices are compressed rows (CSR) of float with 32-bit indices;
// a matrix holds at most 2^31 - 1 non-zeros.
#pragma once

#include <cstdint>

#include <Eigen/Core>
#include <Eigen/SparseCore>

namespace tailor {

/// Dense row-major float matrix (one factor vector per row).
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/// Dense float column vector.
using Vector = Eigen::VectorXf;
/// Compressed sparse rows, float values, 32-bit indices.
using SparseMatrix = Eigen::SparseMatrix<float, Eigen::RowMajor, std::int32_t>;

}  // namespace tailor
