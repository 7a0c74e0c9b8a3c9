#include "tailor/models/content_bridge.hpp"

#include <algorithm>
#include <cmath>

#include <Eigen/Cholesky>

#include "tailor/core/error.hpp"
#include "internal/checks.hpp"

namespace tailor {
namespace {

using detail::all_finite;

bool same_matrix(const RowMatrix& a, const RowMatrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         (a.size() == 0 || (a.array() == b.array()).all());
}

}  // namespace

void ContentBridgeOptions::validate() const {
  if (min_interactions < 1) {
    TAILOR_THROW(invalid_argument, "ContentBridgeOptions::min_interactions must be >= 1, got 0");
  }
  if (!std::isfinite(ridge) || !(ridge > 0.0)) {
    TAILOR_THROW(invalid_argument,
                 "ContentBridgeOptions::ridge must be finite and > 0, got " << ridge);
  }
  if (min_training_items < 2) {
    TAILOR_THROW(invalid_argument, "ContentBridgeOptions::min_training_items must be >= 2, got "
                                       << min_training_items);
  }
}

bool operator==(const ContentBridgeState& a, const ContentBridgeState& b) {
  return a.options == b.options && same_matrix(a.weights, b.weights) &&
         a.bias.size() == b.bias.size() && (a.bias.size() == 0 || a.bias == b.bias) &&
         a.training_items == b.training_items;
}

ContentBridge ContentBridge::from_state(ContentBridgeState state) {
  ContentBridge out;
  state.options.validate();
  if (state.weights.size() != 0 || state.bias.size() != 0) {
    if (state.weights.size() == 0 || state.bias.size() != state.weights.cols()) {
      TAILOR_THROW(invalid_argument, "ContentBridgeState: bias has " << state.bias.size()
                                         << " values, weights are " << state.weights.rows()
                                         << " x " << state.weights.cols());
    }
    if (!all_finite(state.weights.data(), static_cast<std::size_t>(state.weights.size()))) {
      TAILOR_THROW(invalid_argument, "ContentBridgeState::weights has a non-finite value");
    }
    if (!all_finite(state.bias.data(), static_cast<std::size_t>(state.bias.size()))) {
      TAILOR_THROW(invalid_argument, "ContentBridgeState::bias has a non-finite value");
    }
  }
  out.state_ = std::move(state);
  return out;
}

void ContentBridge::require_fitted(const char* what) const {
  if (!fitted()) {
    TAILOR_THROW(not_fitted, "ContentBridge::" << what << ": the map is not fitted");
  }
}

void ContentBridge::fit(const RowMatrix& content, const RowMatrix& item_factors,
                             const std::vector<std::uint32_t>& interaction_counts,
                             const ContentBridgeOptions& options) {
  options.validate();
  const Eigen::Index n = content.rows();
  if (item_factors.rows() != n || static_cast<Eigen::Index>(interaction_counts.size()) != n) {
    TAILOR_THROW(invalid_argument, "ContentBridge::fit: content has " << n
                                       << " rows, item_factors " << item_factors.rows()
                                       << ", interaction_counts " << interaction_counts.size()
                                       << "; they must describe the same items");
  }
  const Eigen::Index d = content.cols();
  const Eigen::Index k = item_factors.cols();
  if (d == 0 || k == 0) {
    TAILOR_THROW(invalid_argument, "ContentBridge::fit: content has " << d
                                       << " columns and item_factors " << k
                                       << "; both need at least one");
  }
  std::vector<Eigen::Index> train;
  std::size_t eligible = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    if (interaction_counts[static_cast<std::size_t>(i)] < options.min_interactions) continue;
    ++eligible;
    if (!all_finite(content.row(i).data(), static_cast<std::size_t>(d))) {
      TAILOR_THROW(invalid_argument, "ContentBridge::fit: content row " << i
                                         << " has a non-finite value");
    }
    if (!all_finite(item_factors.row(i).data(), static_cast<std::size_t>(k))) {
      TAILOR_THROW(invalid_argument, "ContentBridge::fit: item_factors row " << i
                                         << " has a non-finite value");
    }
    if (content.row(i).squaredNorm() > 0.0f) train.push_back(i);
  }
  if (train.size() < options.min_training_items) {
    TAILOR_THROW(invalid_argument,
                 "ContentBridge::fit: " << train.size() << " items have >= "
                     << options.min_interactions << " interactions and non-zero content ("
                     << eligible << " have enough interactions); need at least "
                     << options.min_training_items);
  }
  const auto nt = static_cast<double>(train.size());
  Eigen::VectorXd x_mean = Eigen::VectorXd::Zero(d);
  Eigen::VectorXd y_mean = Eigen::VectorXd::Zero(k);
  for (Eigen::Index i : train) {
    x_mean += content.row(i).transpose().cast<double>();
    y_mean += item_factors.row(i).transpose().cast<double>();
  }
  x_mean /= nt;
  y_mean /= nt;
  // Normal equations of the centred problem, accumulated in blocks of rows to bound memory.
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(d, d);
  Eigen::MatrixXd cross = Eigen::MatrixXd::Zero(d, k);
  constexpr std::size_t kBlock = 2048;
  for (std::size_t start = 0; start < train.size(); start += kBlock) {
    const std::size_t end = std::min(train.size(), start + kBlock);
    const auto rows = static_cast<Eigen::Index>(end - start);
    Eigen::MatrixXd xc(rows, d), yc(rows, k);
    for (Eigen::Index r = 0; r < rows; ++r) {
      const Eigen::Index i = train[start + static_cast<std::size_t>(r)];
      xc.row(r) = content.row(i).cast<double>() - x_mean.transpose();
      yc.row(r) = item_factors.row(i).cast<double>() - y_mean.transpose();
    }
    gram.selfadjointView<Eigen::Lower>().rankUpdate(xc.transpose());
    cross.noalias() += xc.transpose() * yc;
  }
  gram.diagonal().array() += options.ridge;
  Eigen::LLT<Eigen::MatrixXd, Eigen::Lower> llt(gram);  // reads the lower triangle only
  if (llt.info() != Eigen::Success) {
    TAILOR_THROW(numerical_error, "ContentBridge::fit: the " << d << " x " << d
                                      << " ridge system is not positive definite");
  }
  const Eigen::MatrixXd w = llt.solve(cross);
  const Eigen::VectorXd b = y_mean - w.transpose() * x_mean;
  if (!w.allFinite() || !b.allFinite()) {
    TAILOR_THROW(numerical_error, "ContentBridge::fit: the solution has non-finite values");
  }
  ContentBridgeState next;
  next.options = options;
  next.weights = w.cast<float>();
  next.bias = b.cast<float>();
  next.training_items = train.size();
  state_ = std::move(next);
}

Vector ContentBridge::map(const Eigen::Ref<const Vector>& content) const {
  require_fitted("map");
  if (content.size() != state_.weights.rows()) {
    TAILOR_THROW(invalid_argument, "ContentBridge::map: content has " << content.size()
                                       << " values, the map expects " << state_.weights.rows());
  }
  return state_.weights.transpose() * content + state_.bias;
}

RowMatrix ContentBridge::map_all(const RowMatrix& content) const {
  require_fitted("map_all");
  if (content.cols() != state_.weights.rows()) {
    TAILOR_THROW(invalid_argument, "ContentBridge::map_all: content has " << content.cols()
                                       << " columns, the map expects " << state_.weights.rows());
  }
  RowMatrix out = content * state_.weights;
  out.rowwise() += state_.bias.transpose();
  return out;
}

RowMatrix blend_cold_item_factors(const RowMatrix& item_factors, const RowMatrix& cold_item_factors,
                                  const std::vector<std::uint32_t>& counts, float pseudo_count,
                                  std::size_t n_items) {
  if (cold_item_factors.cols() != item_factors.cols()) {
    TAILOR_THROW(invalid_argument, "blend_cold_item_factors: cold factors have "
                                       << cold_item_factors.cols() << " columns, item factors "
                                       << item_factors.cols());
  }
  if (static_cast<std::size_t>(item_factors.rows()) > n_items ||
      static_cast<std::size_t>(cold_item_factors.rows()) > n_items || counts.size() > n_items) {
    TAILOR_THROW(invalid_argument, "blend_cold_item_factors: more rows or counts ("
                                       << item_factors.rows() << ", " << cold_item_factors.rows()
                                       << ", " << counts.size() << ") than items (" << n_items
                                       << ")");
  }
  if (!(pseudo_count >= 0.0f) || !std::isfinite(pseudo_count)) {
    TAILOR_THROW(invalid_argument, "blend_cold_item_factors: pseudo_count = "
                                       << pseudo_count << ", expected finite and >= 0");
  }
  RowMatrix out = RowMatrix::Zero(static_cast<Eigen::Index>(n_items), item_factors.cols());
  out.topRows(item_factors.rows()) = item_factors;
  for (Eigen::Index i = 0; i < cold_item_factors.rows(); ++i) {
    const double n =
        static_cast<std::size_t>(i) < counts.size() ? counts[static_cast<std::size_t>(i)] : 0.0;
    const double m = pseudo_count;
    if (n + m <= 0.0) continue;
    const auto a = static_cast<float>(n / (n + m));
    const auto b = static_cast<float>(m / (n + m));
    out.row(i) = a * out.row(i) + b * cold_item_factors.row(i);
  }
  return out;
}

}  // namespace tailor
