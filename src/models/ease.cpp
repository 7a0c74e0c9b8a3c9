// tailor: EASE (see include/tailor/models/ease.hpp).
#include "tailor/models/ease.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <Eigen/Cholesky>

#include "internal/thread_pool.hpp"
#include "tailor/core/error.hpp"

namespace tailor {

void EaseOptions::validate() const {
  TAILOR_REQUIRE(std::isfinite(lambda) && lambda > 0.0, "EaseOptions.lambda must be finite and > 0, got " << lambda);
  TAILOR_REQUIRE(max_items >= 1 && max_items <= 65536,
                 "EaseOptions.max_items must be in [1, 65536], got " << max_items);
}

EaseModel EaseModel::fit(const SparseMatrix& interactions, const EaseOptions& options) {
  options.validate();
  const auto n = static_cast<Eigen::Index>(interactions.cols());
  TAILOR_REQUIRE(n >= 1, "EaseModel::fit: the matrix has no items");
  TAILOR_REQUIRE(static_cast<std::size_t>(n) <= options.max_items,
                 "EaseModel::fit: " << n << " items, more than EaseOptions.max_items (" << options.max_items
                                    << "); the fit needs 8 n^2 bytes");
  // Binary X, then the dense Gram matrix X^T X + lambda I.
  SparseMatrix x(interactions.rows(), n);
  x.reserve(interactions.nonZeros());
  for (Eigen::Index u = 0; u < interactions.outerSize(); ++u) {
    x.startVec(u);
    for (SparseMatrix::InnerIterator it(interactions, u); it; ++it) {
      if (it.value() > 0.0f) x.insertBack(u, it.index()) = 1.0f;
    }
  }
  x.finalize();
  Eigen::MatrixXf gram(n, n);
  {
    const Eigen::SparseMatrix<float, Eigen::ColMajor> xc = x;
    gram = Eigen::MatrixXf(xc.transpose() * xc);
  }
  gram.diagonal().array() += static_cast<float>(options.lambda);

  Eigen::LLT<Eigen::Ref<Eigen::MatrixXf>> llt(gram);  // in place: gram holds L
  if (llt.info() != Eigen::Success)
    TAILOR_THROW(numerical_error, "EaseModel::fit: the Gram matrix is not positive definite");

  // P = (LL^T)^-1, solved for blocks of identity columns in parallel, written straight into the
  // weights' storage: P is symmetric, so its column-major and row-major layouts are the same.
  RowMatrix weights(n, n);
  Eigen::Map<Eigen::MatrixXf> p(weights.data(), n, n);
  const Eigen::MatrixXf& factor = gram;
  constexpr std::size_t kBlock = 64;
  detail::ThreadPool pool(options.threads);
  const std::size_t blocks = (static_cast<std::size_t>(n) + kBlock - 1) / kBlock;
  pool.parallel_for(0, blocks, 1, [&](std::size_t lo, std::size_t hi, std::size_t) {
    for (std::size_t b = lo; b < hi; ++b) {
      const auto first = static_cast<Eigen::Index>(b * kBlock);
      const Eigen::Index width = std::min<Eigen::Index>(static_cast<Eigen::Index>(kBlock), n - first);
      Eigen::MatrixXf cols = Eigen::MatrixXf::Zero(n, width);
      for (Eigen::Index j = 0; j < width; ++j) cols(first + j, j) = 1.0f;
      factor.triangularView<Eigen::Lower>().solveInPlace(cols);
      factor.transpose().triangularView<Eigen::Upper>().solveInPlace(cols);
      p.middleCols(first, width) = cols;
    }
  });
  // B_ij = -P_ij / P_jj, zero diagonal.
  Eigen::VectorXf inverse_diagonal = p.diagonal().cwiseInverse();
  for (Eigen::Index i = 0; i < n; ++i) {
    float* row = weights.data() + i * n;
    for (Eigen::Index j = 0; j < n; ++j) row[j] = -row[j] * inverse_diagonal[j];
    row[i] = 0.0f;
  }
  if (!weights.allFinite())
    TAILOR_THROW(numerical_error, "EaseModel::fit: the weights are not finite (lambda " << options.lambda << ")");
  EaseModel model;
  model.weights_ = std::move(weights);
  return model;
}

EaseModel EaseModel::from_weights(RowMatrix weights) {
  TAILOR_REQUIRE(weights.rows() == weights.cols(),
                 "EaseModel::from_weights: " << weights.rows() << " x " << weights.cols() << " is not square");
  TAILOR_REQUIRE(weights.allFinite(), "EaseModel::from_weights: a weight is not finite");
  for (Eigen::Index i = 0; i < weights.rows(); ++i)
    TAILOR_REQUIRE(weights(i, i) == 0.0f, "EaseModel::from_weights: diagonal entry " << i << " is not 0");
  EaseModel model;
  model.weights_ = std::move(weights);
  return model;
}

void EaseModel::score(Span<const Index> items, float* out, std::size_t out_size) const {
  const std::size_t n = n_items();
  TAILOR_REQUIRE(out_size >= n, "EaseModel::score: buffer of " << out_size << " for " << n << " items");
  std::fill(out, out + out_size, 0.0f);
  Eigen::Map<Vector> acc(out, static_cast<Eigen::Index>(n));
  for (Index i : items) {
    if (i < n) acc += weights_.row(static_cast<Eigen::Index>(i)).transpose();
  }
}

void EaseScorer::fit(const SparseMatrix& interactions) {
  model_ = EaseModel::fit(interactions, options_);
  train_ = interactions;
  train_.makeCompressed();
}

void EaseScorer::score(Index user, float* out, std::size_t out_size) const {
  if (!model_.fitted()) TAILOR_THROW(not_fitted, "EaseScorer::score: not fitted");
  TAILOR_REQUIRE(static_cast<Eigen::Index>(user) < train_.rows(),
                 "EaseScorer::score: user " << user << " is outside the " << train_.rows() << " trained users");
  TAILOR_REQUIRE(out_size == n_items(), "EaseScorer::score: score buffer has " << out_size << " entries, the model has "
                                                                               << n_items() << " items");
  std::vector<Index> items;
  for (SparseMatrix::InnerIterator it(train_, static_cast<Eigen::Index>(user)); it; ++it) {
    if (it.value() > 0.0f) items.push_back(static_cast<Index>(it.index()));
  }
  model_.score(Span<const Index>(items.data(), items.size()), out, out_size);
}

}  // namespace tailor
