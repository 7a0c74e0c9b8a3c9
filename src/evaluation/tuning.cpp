// tailor: hyperparameter search and temporal folds (see include/tailor/evaluation/tuning.hpp).
#include "tailor/evaluation/tuning.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include <Eigen/Cholesky>

#include "tailor/core/error.hpp"
#include "internal/random.hpp"
#include "internal/json.hpp"

namespace tailor {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kJitter = 1e-10;

using Rng = detail::SplitMix64;  // our own stream: searches are identical on every platform

using detail::json_number;

const char* kernel_name(Kernel k) { return k == Kernel::rbf ? "rbf" : "matern52"; }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void require_space(const ParamSpace& space, const char* where) {
  if (space.empty()) TAILOR_THROW(invalid_argument, where << ": the parameter space is empty");
}

// Runs trials, keeps the best, calls the progress hook.
class TrialRunner {
 public:
  TrialRunner(std::string method, const ParamSpace& space, const Objective& objective,
              const SearchOptions& options)
      : objective_(objective), options_(options), start_(std::chrono::steady_clock::now()) {
    if (!objective_) TAILOR_THROW(invalid_argument, method << " search: the objective is empty");
    result_.method = std::move(method);
    result_.space = space.to_json();
    result_.options = options.to_json();
  }

  const Trial& run(ParamSet params, const char* phase) {
    Trial t;
    t.index = result_.trials.size();
    t.params = std::move(params);
    t.phase = phase;
    const auto start = std::chrono::steady_clock::now();
    t.score = objective_(t.params);
    t.seconds = seconds_since(start);
    result_.trials.push_back(std::move(t));
    const Trial& added = result_.trials.back();
    if (std::isfinite(added.score)) {
      const bool better = !result_.best_index ||
                          (options_.maximize ? added.score > result_.trials[*result_.best_index].score
                                             : added.score < result_.trials[*result_.best_index].score);
      if (better) result_.best_index = added.index;
    }
    if (options_.on_trial) options_.on_trial(added);
    return added;
  }

  const SearchResult& result() const { return result_; }

  SearchResult finish() {
    result_.seconds = seconds_since(start_);
    return std::move(result_);
  }

 private:
  const Objective& objective_;
  const SearchOptions& options_;
  std::chrono::steady_clock::time_point start_;
  SearchResult result_;
};

ParamSet from_unit_point(const ParamSpace& space, const Eigen::VectorXd& u) {
  ParamSet p;
  for (std::size_t d = 0; d < space.size(); ++d) {
    p.set(space.params()[d].name, space.params()[d].from_unit(u(static_cast<Eigen::Index>(d))));
  }
  return p;
}

Eigen::VectorXd to_unit_point(const ParamSpace& space, const ParamSet& p) {
  Eigen::VectorXd u(static_cast<Eigen::Index>(space.size()));
  for (std::size_t d = 0; d < space.size(); ++d) {
    u(static_cast<Eigen::Index>(d)) = space.params()[d].to_unit(p.get(space.params()[d].name));
  }
  return u;
}

ParamSet random_point(const ParamSpace& space, Rng& rng) {
  Eigen::VectorXd u(static_cast<Eigen::Index>(space.size()));
  for (Eigen::Index d = 0; d < u.size(); ++d) u(d) = rng.uniform();
  return from_unit_point(space, u);
}

}  // namespace

// ---- parameter space ------------------------------------------------------------------------------

void ParamSpec::validate() const {
  if (name.empty()) TAILOR_THROW(invalid_argument, "ParamSpec: a parameter has an empty name");
  if (!std::isfinite(low) || !std::isfinite(high) || low > high) {
    TAILOR_THROW(invalid_argument, "ParamSpec '" << name << "': need finite low <= high, got [" << low
                                                 << ", " << high << "]");
  }
  if (log_scale && !(low > 0.0)) {
    TAILOR_THROW(invalid_argument, "ParamSpec '" << name << "': log_scale needs low > 0, got " << low);
  }
  if (integer && std::ceil(low) > std::floor(high)) {
    TAILOR_THROW(invalid_argument, "ParamSpec '" << name << "': integer parameter but [" << low << ", "
                                                 << high << "] holds no integer");
  }
  for (double v : grid_values) {
    if (!std::isfinite(v) || v < low || v > high) {
      TAILOR_THROW(invalid_argument, "ParamSpec '" << name << "': grid value " << v << " outside [" << low
                                                   << ", " << high << "]");
    }
  }
}

double ParamSpec::from_unit(double u) const {
  u = std::min(1.0, std::max(0.0, std::isfinite(u) ? u : 0.0));
  double v = log_scale ? std::exp(std::log(low) + u * (std::log(high) - std::log(low)))
                       : low + u * (high - low);
  if (integer) {
    v = std::round(v);
    v = std::min(std::floor(high), std::max(std::ceil(low), v));
  } else {
    v = std::min(high, std::max(low, v));
  }
  return v;
}

double ParamSpec::to_unit(double value) const {
  if (!(high > low)) return 0.0;
  const double u = log_scale ? (std::log(std::max(value, low)) - std::log(low)) / (std::log(high) - std::log(low))
                             : (value - low) / (high - low);
  return std::min(1.0, std::max(0.0, u));
}

ParamSpace& ParamSpace::add(ParamSpec spec) {
  spec.validate();
  for (const auto& p : params_) {
    if (p.name == spec.name) TAILOR_THROW(invalid_argument, "ParamSpace: parameter '" << spec.name << "' added twice");
  }
  params_.push_back(std::move(spec));
  return *this;
}

ParamSpace& ParamSpace::add(const std::string& name, double low, double high, bool log_scale,
                            bool integer) {
  ParamSpec s;
  s.name = name;
  s.low = low;
  s.high = high;
  s.log_scale = log_scale;
  s.integer = integer;
  return add(std::move(s));
}

ParamSpace& ParamSpace::add_values(const std::string& name, std::vector<double> values, bool log_scale,
                                   bool integer) {
  if (values.empty()) TAILOR_THROW(invalid_argument, "ParamSpace: parameter '" << name << "' has no grid values");
  ParamSpec s;
  s.name = name;
  s.low = *std::min_element(values.begin(), values.end());
  s.high = *std::max_element(values.begin(), values.end());
  s.log_scale = log_scale;
  s.integer = integer;
  s.grid_values = std::move(values);
  return add(std::move(s));
}

nlohmann::json ParamSpace::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : params_) {
    nlohmann::json j = {{"name", p.name}, {"low", p.low}, {"high", p.high},
                        {"log_scale", p.log_scale}, {"integer", p.integer}};
    if (!p.grid_values.empty()) j["grid_values"] = p.grid_values;
    out.push_back(std::move(j));
  }
  return out;
}

double ParamSet::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) TAILOR_THROW(invalid_argument, "ParamSet: no parameter named '" << name << "'");
  return it->second;
}

std::int64_t ParamSet::get_int(const std::string& name) const {
  return static_cast<std::int64_t>(std::llround(get(name)));
}

double ParamSet::get_or(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

nlohmann::json ParamSet::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& kv : values_) j[kv.first] = kv.second;
  return j;
}

// ---- search options and results -------------------------------------------------------------------

void SearchOptions::validate() const {
  if (trials == 0) TAILOR_THROW(invalid_argument, "SearchOptions: trials must be >= 1");
  if (grid_points == 0) TAILOR_THROW(invalid_argument, "SearchOptions: grid_points must be >= 1");
  if (initial_points == 0) TAILOR_THROW(invalid_argument, "SearchOptions: initial_points must be >= 1");
  if (candidates == 0) TAILOR_THROW(invalid_argument, "SearchOptions: candidates must be >= 1");
  if (!std::isfinite(noise) || noise < 0.0) TAILOR_THROW(invalid_argument, "SearchOptions: noise must be finite and >= 0, got " << noise);
  if (!std::isfinite(xi) || xi < 0.0) TAILOR_THROW(invalid_argument, "SearchOptions: xi must be finite and >= 0, got " << xi);
  if (length_scales.empty()) TAILOR_THROW(invalid_argument, "SearchOptions: length_scales is empty");
  for (double l : length_scales) {
    if (!std::isfinite(l) || l <= 0.0) TAILOR_THROW(invalid_argument, "SearchOptions: length scale " << l << " must be finite and > 0");
  }
}

nlohmann::json SearchOptions::to_json() const {
  return {{"trials", trials},
          {"seed", seed},
          {"maximize", maximize},
          {"grid_points", grid_points},
          {"initial_points", initial_points},
          {"candidates", candidates},
          {"kernel", kernel_name(kernel)},
          {"noise", noise},
          {"length_scales", length_scales},
          {"xi", xi}};
}

nlohmann::json Trial::to_json() const {
  return {{"index", index}, {"params", params.to_json()}, {"score", json_number(score)},
          {"seconds", seconds}, {"phase", phase}};
}

const Trial& SearchResult::best() const {
  if (!best_index || *best_index >= trials.size()) {
    TAILOR_THROW(invalid_argument, "SearchResult::best: no trial of the " << method << " search had a finite score");
  }
  return trials[*best_index];
}

nlohmann::json SearchResult::to_json() const {
  nlohmann::json t = nlohmann::json::array();
  for (const auto& trial : trials) t.push_back(trial.to_json());
  return {{"method", method},
          {"space", space},
          {"options", options},
          {"trials", std::move(t)},
          {"best", best_index ? best().to_json() : nlohmann::json(nullptr)},
          {"seconds", seconds}};
}

// ---- searches -------------------------------------------------------------------------------------

std::vector<ParamSet> grid_points(const ParamSpace& space, const SearchOptions& options) {
  require_space(space, "grid_points");
  if (options.grid_points == 0) TAILOR_THROW(invalid_argument, "SearchOptions: grid_points must be >= 1");
  std::vector<std::vector<double>> axes;
  double total = 1.0;
  for (const auto& p : space.params()) {
    std::vector<double> raw;
    if (!p.grid_values.empty()) {
      for (double v : p.grid_values) raw.push_back(p.integer ? std::round(v) : v);
    } else if (options.grid_points == 1) {
      raw.push_back(p.from_unit(0.5));
    } else {
      for (std::size_t j = 0; j < options.grid_points; ++j) {
        raw.push_back(p.from_unit(static_cast<double>(j) / static_cast<double>(options.grid_points - 1)));
      }
    }
    std::vector<double> axis;  // first occurrences, in order
    for (double v : raw) {
      if (std::find(axis.begin(), axis.end(), v) == axis.end()) axis.push_back(v);
    }
    total *= static_cast<double>(axis.size());
    axes.push_back(std::move(axis));
  }
  if (total > static_cast<double>(options.max_grid_trials)) {
    TAILOR_THROW(invalid_argument, "grid_points: the grid has " << total << " points, more than max_grid_trials = "
                                                                << options.max_grid_trials);
  }
  std::vector<ParamSet> out;
  out.reserve(static_cast<std::size_t>(total));
  std::vector<std::size_t> digit(axes.size(), 0);
  for (;;) {
    ParamSet p;
    for (std::size_t d = 0; d < axes.size(); ++d) p.set(space.params()[d].name, axes[d][digit[d]]);
    out.push_back(std::move(p));
    std::size_t d = axes.size();
    while (d > 0) {
      --d;
      if (++digit[d] < axes[d].size()) break;
      digit[d] = 0;
      if (d == 0) return out;
    }
  }
}

SearchResult grid_search(const ParamSpace& space, const Objective& objective, const SearchOptions& options) {
  options.validate();
  const std::vector<ParamSet> points = grid_points(space, options);
  TrialRunner runner("grid", space, objective, options);
  for (const auto& p : points) runner.run(p, "grid");
  return runner.finish();
}

SearchResult random_search(const ParamSpace& space, const Objective& objective, const SearchOptions& options) {
  options.validate();
  require_space(space, "random_search");
  TrialRunner runner("random", space, objective, options);
  Rng rng(options.seed);
  for (std::size_t t = 0; t < options.trials; ++t) runner.run(random_point(space, rng), "random");
  return runner.finish();
}

SearchResult bayesian_search(const ParamSpace& space, const Objective& objective, const SearchOptions& options) {
  options.validate();
  require_space(space, "bayesian_search");
  TrialRunner runner("bayesian", space, objective, options);
  Rng rng(options.seed);
  const auto dims = static_cast<Eigen::Index>(space.size());
  const std::size_t n_initial = std::min(options.initial_points, options.trials);
  for (std::size_t t = 0; t < n_initial; ++t) runner.run(random_point(space, rng), "initial");

  GPOptions gp_options;
  gp_options.kernel = options.kernel;
  gp_options.noise = options.noise;
  const double sign = options.maximize ? 1.0 : -1.0;

  for (std::size_t t = n_initial; t < options.trials; ++t) {
    const std::vector<Trial>& trials = runner.result().trials;
    std::vector<std::size_t> finite;
    for (std::size_t i = 0; i < trials.size(); ++i) {
      if (std::isfinite(trials[i].score)) finite.push_back(i);
    }
    std::set<std::vector<double>> tried;  // unit coordinates of every trial so far
    for (const auto& tr : trials) {
      const Eigen::VectorXd u = to_unit_point(space, tr.params);
      tried.insert(std::vector<double>(u.data(), u.data() + u.size()));
    }
    if (finite.size() < 2) {
      runner.run(random_point(space, rng), "random");
      continue;
    }
    Eigen::MatrixXd x(static_cast<Eigen::Index>(finite.size()), dims);
    Eigen::VectorXd y(static_cast<Eigen::Index>(finite.size()));
    Eigen::Index best_row = 0;
    for (std::size_t r = 0; r < finite.size(); ++r) {
      const auto row = static_cast<Eigen::Index>(r);
      x.row(row) = to_unit_point(space, trials[finite[r]].params).transpose();
      y(row) = sign * trials[finite[r]].score;
      if (y(row) > y(best_row)) best_row = row;
    }
    const GaussianProcess gp = GaussianProcess::fit_best(x, y, gp_options, options.length_scales);
    const double y_best = y(best_row);
    const double y_sd = std::sqrt((y.array() - y.mean()).square().mean());
    const double xi = options.xi * (y_sd > 0.0 ? y_sd : 1.0);

    // Candidates: uniform points, and a fifth of them near the best point so far.
    double best_ei = -1.0;
    Eigen::VectorXd best_u;
    Eigen::VectorXd u(dims);
    const std::size_t local = options.candidates / 5;
    for (std::size_t c = 0; c < options.candidates; ++c) {
      for (Eigen::Index d = 0; d < dims; ++d) {
        u(d) = c < local ? std::min(1.0, std::max(0.0, x(best_row, d) + 0.05 * rng.normal())) : rng.uniform();
      }
      // Snap to representable values (integers) so the GP sees the point that will be run.
      const Eigen::VectorXd snapped = to_unit_point(space, from_unit_point(space, u));
      if (tried.count(std::vector<double>(snapped.data(), snapped.data() + snapped.size())) != 0) continue;
      const auto pred = gp.predict(snapped);
      const double ei = expected_improvement(pred.first, std::sqrt(std::max(0.0, pred.second)), y_best, xi);
      if (ei > best_ei) {
        best_ei = ei;
        best_u = snapped;
      }
    }
    if (best_u.size() == 0) {
      runner.run(random_point(space, rng), "random");  // every candidate was tried already
    } else {
      runner.run(from_unit_point(space, best_u), "bayes");
    }
  }
  return runner.finish();
}

// ---- Gaussian process -----------------------------------------------------------------------------

void GPOptions::validate() const {
  if (!std::isfinite(length_scale) || length_scale <= 0.0) {
    TAILOR_THROW(invalid_argument, "GPOptions: length_scale must be finite and > 0, got " << length_scale);
  }
  if (!std::isfinite(signal_variance) || signal_variance <= 0.0) {
    TAILOR_THROW(invalid_argument, "GPOptions: signal_variance must be finite and > 0, got " << signal_variance);
  }
  if (!std::isfinite(noise) || noise < 0.0) {
    TAILOR_THROW(invalid_argument, "GPOptions: noise must be finite and >= 0, got " << noise);
  }
}

GaussianProcess::GaussianProcess(GPOptions options) : options_(options) { options_.validate(); }

double GaussianProcess::kernel(const Eigen::VectorXd& a, const Eigen::VectorXd& b) const {
  const double r = (a - b).norm() / options_.length_scale;
  if (options_.kernel == Kernel::rbf) return options_.signal_variance * std::exp(-0.5 * r * r);
  const double s = std::sqrt(5.0) * r;
  return options_.signal_variance * (1.0 + s + s * s / 3.0) * std::exp(-s);
}

void GaussianProcess::fit(const Eigen::MatrixXd& x, const Eigen::VectorXd& y) {
  const Eigen::Index n = x.rows();
  if (n == 0 || y.size() != n) {
    TAILOR_THROW(invalid_argument, "GaussianProcess::fit: need n >= 1 points with one target each, got "
                                       << n << " points and " << y.size() << " targets");
  }
  if (!x.allFinite() || !y.allFinite()) TAILOR_THROW(invalid_argument, "GaussianProcess::fit: non-finite input or target");
  x_ = x;
  y_mean_ = y.mean();
  const double sd = std::sqrt((y.array() - y_mean_).square().mean());
  y_scale_ = sd > 0.0 ? sd : 1.0;
  const Eigen::VectorXd ys = (y.array() - y_mean_) / y_scale_;

  Eigen::MatrixXd k(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j <= i; ++j) {
      const double v = kernel(x.row(i).transpose(), x.row(j).transpose());
      k(i, j) = v;
      k(j, i) = v;
    }
  }
  k.diagonal().array() += options_.noise + kJitter * options_.signal_variance;
  Eigen::LLT<Eigen::MatrixXd> llt(k);
  if (llt.info() != Eigen::Success) {
    TAILOR_THROW(numerical_error, "GaussianProcess::fit: the kernel matrix of " << n
                                      << " points is not positive definite (duplicate points with noise 0?)");
  }
  chol_l_ = llt.matrixL();
  alpha_ = llt.solve(ys);
  log_likelihood_ = -0.5 * ys.dot(alpha_) - chol_l_.diagonal().array().log().sum() -
                    0.5 * static_cast<double>(n) * std::log(2.0 * kPi);
  fitted_ = true;
}

GaussianProcess GaussianProcess::fit_best(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, GPOptions base,
                                          const std::vector<double>& length_scales) {
  if (length_scales.empty()) TAILOR_THROW(invalid_argument, "GaussianProcess::fit_best: no length scale to try");
  GaussianProcess best(base);
  bool have = false;
  for (double l : length_scales) {
    base.length_scale = l;
    GaussianProcess gp(base);
    try {
      gp.fit(x, y);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::numerical_error) throw;
      continue;
    }
    if (!have || gp.log_marginal_likelihood() > best.log_marginal_likelihood()) {
      best = std::move(gp);
      have = true;
    }
  }
  if (!have) TAILOR_THROW(numerical_error, "GaussianProcess::fit_best: no length scale gave a factorable kernel matrix");
  return best;
}

std::pair<double, double> GaussianProcess::predict(const Eigen::VectorXd& x) const {
  if (!fitted_) TAILOR_THROW(not_fitted, "GaussianProcess::predict: call fit first");
  if (x.size() != x_.cols()) {
    TAILOR_THROW(invalid_argument, "GaussianProcess::predict: point has " << x.size() << " coordinates, the process "
                                                                         << x_.cols());
  }
  const Eigen::Index n = x_.rows();
  Eigen::VectorXd ks(n);
  for (Eigen::Index i = 0; i < n; ++i) ks(i) = kernel(x, x_.row(i).transpose());
  const double mean = ks.dot(alpha_);
  const Eigen::VectorXd v = chol_l_.triangularView<Eigen::Lower>().solve(ks);
  const double var = std::max(0.0, options_.signal_variance - v.squaredNorm());
  return {y_mean_ + y_scale_ * mean, var * y_scale_ * y_scale_};
}

double expected_improvement(double mean, double sd, double best, double xi) {
  const double improvement = mean - best - xi;
  if (!(sd > 0.0)) return std::max(improvement, 0.0);
  const double z = improvement / sd;
  const double cdf = 0.5 * std::erfc(-z / std::sqrt(2.0));
  const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2.0 * kPi);
  return std::max(0.0, improvement * cdf + sd * pdf);
}

// ---- temporal cross-validation --------------------------------------------------------------------

void RollingWindowOptions::validate() const {
  if (folds == 0) TAILOR_THROW(invalid_argument, "RollingWindowOptions: folds must be >= 1");
  if (!(validation_fraction > 0.0 && validation_fraction < 1.0)) {
    TAILOR_THROW(invalid_argument, "RollingWindowOptions: validation_fraction must be in (0, 1), got " << validation_fraction);
  }
  if (static_cast<double>(folds) * validation_fraction >= 1.0) {
    TAILOR_THROW(invalid_argument, "RollingWindowOptions: folds x validation_fraction = "
                                       << static_cast<double>(folds) * validation_fraction
                                       << " leaves no training data; it must be < 1");
  }
  if (train_span < 0) TAILOR_THROW(invalid_argument, "RollingWindowOptions: train_span must be >= 0, got " << train_span);
}

std::vector<TemporalFold> rolling_windows(const std::vector<Interaction>& interactions,
                                          const RollingWindowOptions& options) {
  options.validate();
  const std::size_t n = interactions.size();
  if (n == 0) TAILOR_THROW(invalid_argument, "rolling_windows: no interactions");
  std::vector<Timestamp> times;
  times.reserve(n);
  for (const auto& x : interactions) times.push_back(x.last_time);
  std::sort(times.begin(), times.end());

  const std::size_t k = options.folds;
  const auto total = static_cast<std::size_t>(std::llround(options.validation_fraction * static_cast<double>(k) *
                                                           static_cast<double>(n)));
  if (total < k || total >= n) {
    TAILOR_THROW(invalid_argument, "rolling_windows: " << n << " pairs give " << total << " validation pairs for "
                                                       << k << " folds; need at least one per fold and some to train on");
  }
  std::vector<Timestamp> cutoffs(k + 1);
  for (std::size_t j = 0; j < k; ++j) {
    const std::size_t pos = n - total + (j * total + k / 2) / k;
    cutoffs[j] = times[pos];
  }
  cutoffs[k] = times.back() + 1;
  if (cutoffs[0] <= times.front()) {
    TAILOR_THROW(invalid_argument, "rolling_windows: the first cutoff equals the earliest time " << times.front()
                                                                                                << "; no training data before it");
  }
  for (std::size_t j = 1; j <= k; ++j) {
    if (cutoffs[j] <= cutoffs[j - 1]) {
      TAILOR_THROW(invalid_argument, "rolling_windows: too few distinct timestamps for " << k
                                         << " non-empty windows (cutoff " << j << " = " << cutoffs[j]
                                         << " repeats the previous one)");
    }
  }
  std::vector<TemporalFold> folds(k);
  for (std::size_t j = 0; j < k; ++j) {
    TemporalFold& f = folds[j];
    f.cutoff = cutoffs[j];
    f.end = cutoffs[j + 1];
    f.train_begin = options.train_span > 0 ? f.cutoff - options.train_span : times.front();
    for (const auto& x : interactions) {
      if (x.last_time >= f.train_begin && x.last_time < f.cutoff) {
        f.split.train.push_back(x);
      } else if (x.last_time >= f.cutoff && x.last_time < f.end) {
        f.split.test.push_back(x);
      }
    }
  }
  return folds;
}

}  // namespace tailor
