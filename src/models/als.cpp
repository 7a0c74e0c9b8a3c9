// ALSFactorizer: training loop and per-row solvers (the SIMD kernels are in als_kernels.cpp).
//
// Hot path (CG): for every row, 1 + cg_steps passes over the row's stored entries, each pass a
// fused "dot with y_i, then add a multiple of y_i" over the rows y_i of the fixed side, plus one
// k x k Gram matrix-vector product.
#ifndef EIGEN_DONT_PARALLELIZE
#define EIGEN_DONT_PARALLELIZE  // Eigen must never start threads of its own here
#endif

#include "tailor/models/als.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Cholesky>

#include "tailor/core/error.hpp"
#include "internal/thread_pool.hpp"
#include "internal/random.hpp"
#include "models/als_kernels.hpp"


namespace tailor {
namespace {

using Clock = std::chrono::steady_clock;
using ColMatrix = Eigen::MatrixXf;
using als_kernels::kernels;
using als_kernels::Kernels;
using als_kernels::mirror_upper;

// ---------------------------------------------------------------------------------------------
// Per-row problems

// One side's half-iteration: solve the rows of `rows` (CSR, rows x n_other) against `other`.
struct HalfProblem {
  const SparseMatrix* rows = nullptr;
  const RowMatrix* other = nullptr;
  const ColMatrix* gram = nullptr;  // alpha0 * other' other (k x k); unused when alpha0 == 0
  float gram_scale = 1.0f;          // exact solves use gram_scale * gram (fold-in: alpha0 * Y'Y)
  float alpha0 = 1.0f;
  float lambda = 0.01f;
  float nu = 0.0f;
  bool explicit_ratings = false;
  std::size_t k = 0;
  int iteration = 0;      // for error messages; 0 = fold-in / partial fit
  const char* side = "";  // "user" or "item"
};

float row_lambda(const HalfProblem& p, std::size_t n_row) {
  if (p.nu == 0.0f) return p.lambda;
  const double base = static_cast<double>(n_row) +
                      static_cast<double>(p.alpha0) * static_cast<double>(p.other->rows());
  return static_cast<float>(static_cast<double>(p.lambda) * std::pow(base, p.nu));
}

// Floats starting on a cache line (the exact solver's kernels load whole aligned rows), grown on
// demand and never shrunk, so a thread's scratch stops allocating after its largest row.
class AlignedFloats {
 public:
  float* get(std::size_t n) {
    if (buf_.size() < n + kSlack) buf_.resize(n + kSlack);
    const auto misalign = reinterpret_cast<std::uintptr_t>(buf_.data()) % kAlign;
    return buf_.data() + (misalign == 0 ? 0 : (kAlign - misalign) / sizeof(float));
  }

 private:
  static constexpr std::size_t kAlign = 64, kSlack = kAlign / sizeof(float);
  std::vector<float> buf_;
};

struct Scratch {
  Vector r, p, ap;
  std::vector<float> a, s;
  // Exact solves: normal matrix, right-hand side, scaled rows, padded rows, row pointers.
  AlignedFloats A, b, U, padded;
  std::vector<const float*> V;

  void reserve(std::size_t k, std::size_t max_nnz) {
    const auto kk = static_cast<Eigen::Index>(k);
    r.resize(kk);
    p.resize(kk);
    ap.resize(kk);
    if (a.size() < max_nnz) {
      a.resize(max_nnz);
      s.resize(max_nnz);
    }
  }
};

[[noreturn]] void throw_non_finite(const HalfProblem& p, std::size_t row, const char* what) {
  if (p.iteration > 0) {
    TAILOR_THROW(numerical_error, "ALSFactorizer: iteration " << p.iteration << ": " << p.side
                                  << " " << row << ": " << what);
  }
  TAILOR_THROW(numerical_error, "ALSFactorizer: " << p.side << " " << row << ": " << what);
}

// Fills s_i = w_i - alpha0 and a_i = w_i t_i for one row's stored entries.
void row_coefficients(const HalfProblem& p, const float* val, std::size_t n, Scratch& sc) {
  if (sc.a.size() < n) {
    sc.a.resize(n);
    sc.s.resize(n);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const float w = p.explicit_ratings ? 1.0f : val[i];
    const float t = p.explicit_ratings ? val[i] : 1.0f;
    sc.a[i] = w * t;
    sc.s[i] = w - p.alpha0;
  }
}

void solve_row_cg(const HalfProblem& p, const std::int32_t* idx, const float* val, std::size_t n,
                  float* x_out, Scratch& sc, int steps, std::size_t row) {
  const auto kk = static_cast<Eigen::Index>(p.k);
  Eigen::Map<Vector> x(x_out, kk);
  if (n == 0) {
    x.setZero();
    return;
  }
  const Kernels& kern = kernels();
  const float lam = row_lambda(p, n);
  row_coefficients(p, val, n, sc);
  const float* Y = p.other->data();
  const bool gram = p.alpha0 != 0.0f;

  // r = b - A x
  if (gram) {
    kern.matvec(p.gram->data(), x.data(), sc.r.data(), p.k);
    sc.r = -sc.r - lam * x;
  } else {
    sc.r = -lam * x;
  }
  kern.gram_apply(Y, p.k, idx, n, sc.a.data(), sc.s.data(), -1.0f, x.data(), sc.r.data(), p.k);
  sc.p = sc.r;
  float rs = sc.r.squaredNorm();
  if (!std::isfinite(rs)) throw_non_finite(p, row, "residual is not finite");
  for (int step = 0; step < steps; ++step) {
    if (!(rs > 1e-20f)) break;
    if (gram) {
      kern.matvec(p.gram->data(), sc.p.data(), sc.ap.data(), p.k);
      sc.ap += lam * sc.p;
    } else {
      sc.ap = lam * sc.p;
    }
    kern.gram_apply(Y, p.k, idx, n, nullptr, sc.s.data(), 1.0f, sc.p.data(), sc.ap.data(), p.k);
    const float pap = sc.p.dot(sc.ap);
    if (!std::isfinite(pap)) throw_non_finite(p, row, "conjugate gradient step is not finite");
    if (!(pap > 0.0f)) break;  // converged to rounding
    const float alpha = rs / pap;
    x += alpha * sc.p;
    sc.r -= alpha * sc.ap;
    const float rs_new = sc.r.squaredNorm();
    sc.p = sc.r + (rs_new / rs) * sc.p;
    rs = rs_new;
  }
  if (!x.allFinite()) throw_non_finite(p, row, "factor vector is not finite");
}

constexpr std::size_t kCholeskyBlock = 256;

// A = gram_scale * gram + lambda I in the exact solver's tile layout (kp x kp, padding identity).
void init_normal_matrix(const HalfProblem& p, float lam, std::size_t kp, std::size_t tile,
                        float* A) {
  const std::size_t k = p.k;
  const float* G = p.alpha0 != 0.0f ? p.gram->data() : nullptr;  // symmetric: column i is row i
  const float scale = p.gram_scale;
  for (std::size_t i = 0; i < kp; ++i) {
    float* __restrict a = A + i * kp;
    std::size_t c = i & ~(tile - 1);
    if (i < k && G != nullptr) {
      const float* __restrict g = G + i * k;
      for (; c < k; ++c) a[c] = scale * g[c];
    }
    for (; c < kp; ++c) a[c] = 0.0f;
    a[i] = i < k ? a[i] + lam : 1.0f;
  }
}

void solve_row_exact(const HalfProblem& p, const std::int32_t* idx, const float* val,
                     std::size_t n, float* x_out, Scratch& sc, std::size_t row) {
  const std::size_t k = p.k;
  if (n == 0) {
    std::fill(x_out, x_out + k, 0.0f);
    return;
  }
  const float lam = row_lambda(p, n);
  const float* Y = p.other->data();
  // Start fetching the first block's rows (scattered over the factor matrix) while the normal
  // matrix is initialised: on a large catalog these misses cost as much as the arithmetic.
  for (std::size_t e = 0; e < std::min(n, kCholeskyBlock); ++e) {
    const char* y = reinterpret_cast<const char*>(Y + k * static_cast<std::size_t>(idx[e]));
    for (std::size_t off = 0; off < k * sizeof(float); off += 64) __builtin_prefetch(y + off);
  }
  row_coefficients(p, val, n, sc);
  const Kernels& kern = kernels();
  const std::size_t kp = (k + kern.tile - 1) & ~(kern.tile - 1);
  float* const A = sc.A.get(kp * kp);
  float* const b = sc.b.get(kp);
  init_normal_matrix(p, lam, kp, kern.tile, A);
  std::fill(b, b + kp, 0.0f);
  const std::size_t block = std::min(n, kCholeskyBlock);
  float* const U = sc.U.get(block * kp);
  // With k a multiple of the tile width the kernels read the factor rows in place; otherwise from
  // zero-padded copies.
  float* const padded = k == kp ? nullptr : sc.padded.get(block * kp);
  sc.V.resize(block);
  for (std::size_t lo = 0; lo < n; lo += kCholeskyBlock) {
    const std::size_t m = std::min(kCholeskyBlock, n - lo);
    for (std::size_t i = 0; i < m; ++i) {
      const float* y = Y + k * static_cast<std::size_t>(idx[lo + i]);
      if (padded == nullptr) {
        sc.V[i] = y;
      } else {
        float* v = padded + i * kp;
        std::copy(y, y + k, v);
        std::fill(v + k, v + kp, 0.0f);
        sc.V[i] = v;
      }
    }
    kern.scale_rows(sc.V.data(), sc.s.data() + lo, sc.a.data() + lo, m, kp, U, b);
    kern.syrk_tiles(U, sc.V.data(), m, kp, A);
  }
  if (!kern.cholesky_solve(A, b, kp)) {
    throw_non_finite(p, row, "normal equations are not positive definite (non-finite input?)");
  }
  std::copy(b, b + k, x_out);
  if (!Eigen::Map<const Vector>(x_out, static_cast<Eigen::Index>(k)).allFinite()) {
    throw_non_finite(p, row, "factor vector is not finite");
  }
}

// Objective terms of one row: alpha0 x'Gx + sum_i [w (t - d)^2 - alpha0 d^2] + lambda |x|^2.
double row_loss(const HalfProblem& p, const std::int32_t* idx, const float* val, std::size_t n,
                const float* x_ptr) {
  const auto kk = static_cast<Eigen::Index>(p.k);
  Eigen::Map<const Vector> x(x_ptr, kk);
  double total = 0.0;
  if (p.alpha0 != 0.0f) {
    total += static_cast<double>(x.dot(*p.gram * x));  // gram already carries alpha0
  }
  for (std::size_t i = 0; i < n; ++i) {
    const float d = x.dot(p.other->row(idx[i]).transpose());
    const float w = p.explicit_ratings ? 1.0f : val[i];
    const float t = p.explicit_ratings ? val[i] : 1.0f;
    total += static_cast<double>(w) * static_cast<double>(t - d) * static_cast<double>(t - d) -
             static_cast<double>(p.alpha0) * static_cast<double>(d) * static_cast<double>(d);
  }
  total += static_cast<double>(row_lambda(p, n)) * static_cast<double>(x.squaredNorm());
  return total;
}

// ---------------------------------------------------------------------------------------------
// Whole-side operations

constexpr std::size_t kRowGrain = 64;       // rows per parallel_for chunk (dynamic scheduling)
constexpr std::size_t kGramChunk = 2048;    // rows per partial Gram matrix (fixed order of sums)

// alpha * F'F, summed over fixed row chunks in chunk order (identical for any thread count).
ColMatrix gram_matrix(const RowMatrix& F, float alpha, detail::ThreadPool& pool) {
  const Eigen::Index k = F.cols();
  const auto n = static_cast<std::size_t>(F.rows());
  const std::size_t chunks = (n + kGramChunk - 1) / kGramChunk;
  std::vector<ColMatrix> partial(chunks);
  pool.parallel_for(0, chunks, 1, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t c = lo; c < hi; ++c) {
      const auto first = static_cast<Eigen::Index>(c * kGramChunk);
      const auto rows = static_cast<Eigen::Index>(std::min(kGramChunk, n - c * kGramChunk));
      partial[c].setZero(k, k);
      kernels().syrk(F.data() + first * k, F.data() + first * k, static_cast<std::size_t>(rows),
                     static_cast<std::size_t>(k), partial[c].data());
    }
  });
  ColMatrix G = ColMatrix::Zero(k, k);
  for (const auto& P : partial) G += P;
  mirror_upper(G.data(), static_cast<std::size_t>(k));
  if (alpha != 1.0f) G *= alpha;
  return G;
}

std::size_t max_row_nnz(const SparseMatrix& m) {
  std::size_t best = 0;
  for (Eigen::Index r = 0; r < m.outerSize(); ++r) {
    best = std::max(best, static_cast<std::size_t>(m.outerIndexPtr()[r + 1] - m.outerIndexPtr()[r]));
  }
  return best;
}

void solve_rows(const HalfProblem& p, RowMatrix& X, std::size_t row_begin, std::size_t row_end,
                bool exact, int cg_steps, detail::ThreadPool& pool, std::vector<Scratch>& scratch) {
  const SparseMatrix& m = *p.rows;
  const std::int32_t* outer = m.outerIndexPtr();
  const std::int32_t* inner = m.innerIndexPtr();
  const float* values = m.valuePtr();
  pool.parallel_for(row_begin, row_end, kRowGrain, [&](std::size_t lo, std::size_t hi,
                                                       std::size_t worker) {
    Scratch& sc = scratch[worker];
    for (std::size_t r = lo; r < hi; ++r) {
      const auto start = static_cast<std::size_t>(outer[r]);
      const auto n = static_cast<std::size_t>(outer[r + 1] - outer[r]);
      float* x = X.data() + r * p.k;
      if (exact) {
        solve_row_exact(p, inner + start, values + start, n, x, sc, r);
      } else {
        solve_row_cg(p, inner + start, values + start, n, x, sc, cg_steps, r);
      }
    }
  });
}

double side_loss(const HalfProblem& p, const RowMatrix& X, detail::ThreadPool& pool) {
  const SparseMatrix& m = *p.rows;
  const auto rows = static_cast<std::size_t>(m.outerSize());
  const std::size_t chunks = (rows + kGramChunk - 1) / kGramChunk;
  std::vector<double> partial(chunks, 0.0);
  pool.parallel_for(0, chunks, 1, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t c = lo; c < hi; ++c) {
      double sum = 0.0;
      const std::size_t end = std::min(rows, (c + 1) * kGramChunk);
      for (std::size_t r = c * kGramChunk; r < end; ++r) {
        const auto start = static_cast<std::size_t>(m.outerIndexPtr()[r]);
        const auto n = static_cast<std::size_t>(m.outerIndexPtr()[r + 1]) - start;
        sum += row_loss(p, m.innerIndexPtr() + start, m.valuePtr() + start, n,
                        X.data() + r * p.k);
      }
      partial[c] = sum;
    }
  });
  double total = 0.0;
  for (double v : partial) total += v;
  return total;
}

// Sum over the rows of Y of lambda_i |y_i|^2 (the other side's regularization term).
double regularization_term(const HalfProblem& p_other_side, const SparseMatrix& other_rows,
                           const RowMatrix& Y) {
  double total = 0.0;
  for (Eigen::Index i = 0; i < Y.rows(); ++i) {
    const auto n = static_cast<std::size_t>(other_rows.outerIndexPtr()[i + 1] -
                                            other_rows.outerIndexPtr()[i]);
    total += static_cast<double>(row_lambda(p_other_side, n)) *
             static_cast<double>(Y.row(i).squaredNorm());
  }
  return total;
}

// Initial factors: row r of a side gets values from its own seeded stream, so the result depends
// neither on the thread count nor on how many rows exist (partial_fit grows consistently).
void init_rows(RowMatrix& F, std::size_t row_begin, std::uint64_t seed, std::uint64_t side,
               float scale) {
  const auto k = static_cast<std::size_t>(F.cols());
  const float s = scale / std::sqrt(static_cast<float>(k));
  for (Eigen::Index r = static_cast<Eigen::Index>(row_begin); r < F.rows(); ++r) {
    detail::SplitMix64 rng(seed ^ (side * 0xD1B54A32D192ED03ULL) ^
                           (static_cast<std::uint64_t>(r) * 0x8CB92BA72F3D8DD7ULL));
    rng.next();
    for (std::size_t j = 0; j < k; ++j) {
      const double u = rng.uniform();  // [0, 1)
      F(r, static_cast<Eigen::Index>(j)) = static_cast<float>((2.0 * u - 1.0) * s);
    }
  }
}

void check_values(const SparseMatrix& m, bool explicit_ratings) {
  for (Eigen::Index r = 0; r < m.outerSize(); ++r) {
    for (SparseMatrix::InnerIterator it(m, r); it; ++it) {
      const float v = it.value();
      if (!std::isfinite(v) || (!explicit_ratings && !(v > 0.0f))) {
        TAILOR_THROW(invalid_argument,
                     "ALSFactorizer: ratings(" << it.row() << ", " << it.col() << ") = " << v
                     << ": " << (explicit_ratings ? "ratings must be finite"
                                                  : "confidences must be finite and > 0"));
      }
    }
  }
}

// Everything one training run needs: both orientations of the matrix, the pool, scratch.
struct Trainer {
  const ALSOptions& opt;
  SparseMatrix by_user;  // users x items, compressed
  SparseMatrix by_item;  // items x users
  detail::ThreadPool pool;
  std::vector<Scratch> scratch;
  float alpha0;

  Trainer(const ALSOptions& o, const SparseMatrix& ratings)
      : opt(o), by_user(ratings), pool(o.threads),
        alpha0(o.feedback == ALSFeedback::explicit_ratings ? 0.0f : o.unobserved_weight) {
    by_user.makeCompressed();
    by_item = by_user.transpose();
    by_item.makeCompressed();
    scratch.resize(pool.size());
    const std::size_t max_nnz = std::max(max_row_nnz(by_user), max_row_nnz(by_item));
    for (auto& s : scratch) s.reserve(o.factors, max_nnz);
  }

  HalfProblem problem(bool user_side, const RowMatrix& other, const ColMatrix& gram,
                      int iteration) const {
    HalfProblem p;
    p.rows = user_side ? &by_user : &by_item;
    p.other = &other;
    p.gram = &gram;
    p.alpha0 = alpha0;
    p.lambda = opt.regularization;
    p.nu = opt.regularization_exponent;
    p.explicit_ratings = opt.feedback == ALSFeedback::explicit_ratings;
    p.k = opt.factors;
    p.iteration = iteration;
    p.side = user_side ? "user" : "item";
    return p;
  }

  ColMatrix gram(const RowMatrix& F) {
    if (alpha0 == 0.0f) return ColMatrix::Zero(F.cols(), F.cols());
    return gram_matrix(F, alpha0, pool);
  }

  // One full iteration; returns the Gram matrix of the new item factors (alpha0-scaled).
  ColMatrix iterate(RowMatrix& X, RowMatrix& Y, const ColMatrix& gram_y, int iteration) {
    const bool exact = opt.solver == ALSSolver::cholesky;
    const HalfProblem pu = problem(true, Y, gram_y, iteration);
    solve_rows(pu, X, 0, static_cast<std::size_t>(X.rows()), exact, opt.cg_steps, pool, scratch);
    const ColMatrix gram_x = gram(X);
    const HalfProblem pi = problem(false, X, gram_x, iteration);
    solve_rows(pi, Y, 0, static_cast<std::size_t>(Y.rows()), exact, opt.cg_steps, pool, scratch);
    return gram(Y);
  }

  double loss(const RowMatrix& X, const RowMatrix& Y, const ColMatrix& gram_y) {
    const HalfProblem pu = problem(true, Y, gram_y, 0);
    // Items' regularization uses n_i and the user count, i.e. the item-side problem's lambda_i.
    const HalfProblem pi = problem(false, X, gram_y, 0);
    return side_loss(pu, X, pool) + regularization_term(pi, by_item, Y);
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------

void ALSOptions::validate() const {
  TAILOR_REQUIRE(factors >= 1 && factors <= 4096,
                 "ALSOptions.factors must be in [1, 4096], got " << factors);
  TAILOR_REQUIRE(iterations >= 1, "ALSOptions.iterations must be >= 1, got " << iterations);
  TAILOR_REQUIRE(std::isfinite(regularization) && regularization > 0.0f,
                 "ALSOptions.regularization must be finite and > 0, got " << regularization);
  TAILOR_REQUIRE(std::isfinite(regularization_exponent) && regularization_exponent >= 0.0f,
                 "ALSOptions.regularization_exponent must be finite and >= 0, got "
                     << regularization_exponent);
  TAILOR_REQUIRE(std::isfinite(unobserved_weight) && unobserved_weight >= 0.0f,
                 "ALSOptions.unobserved_weight must be finite and >= 0, got " << unobserved_weight);
  TAILOR_REQUIRE(feedback == ALSFeedback::implicit || feedback == ALSFeedback::explicit_ratings,
                 "ALSOptions.feedback is not a known ALSFeedback value");
  TAILOR_REQUIRE(solver == ALSSolver::conjugate_gradient || solver == ALSSolver::cholesky,
                 "ALSOptions.solver is not a known ALSSolver value");
  TAILOR_REQUIRE(cg_steps >= 1, "ALSOptions.cg_steps must be >= 1, got " << cg_steps);
  TAILOR_REQUIRE(std::isfinite(init_scale) && init_scale > 0.0f,
                 "ALSOptions.init_scale must be finite and > 0, got " << init_scale);
  TAILOR_REQUIRE(threads <= 1024, "ALSOptions.threads must be <= 1024 (0 = hardware), got "
                                      << threads);
  TAILOR_REQUIRE(validation_every >= 1,
                 "ALSOptions.validation_every must be >= 1, got " << validation_every);
  TAILOR_REQUIRE(patience >= 1, "ALSOptions.patience must be >= 1, got " << patience);
}

ALSFactorizer::ALSFactorizer(ALSOptions options) : options_(std::move(options)) {
  options_.validate();
}

ALSFactorizer ALSFactorizer::from_state(ALSState state) {
  RowMatrix& user_factors = state.user_factors;
  RowMatrix& item_factors = state.item_factors;
  ALSFactorizer als(std::move(state.options));
  const auto k = static_cast<Eigen::Index>(als.options_.factors);
  const std::pair<const char*, const RowMatrix*> sides[] = {{"user_factors", &user_factors},
                                                            {"item_factors", &item_factors}};
  for (const auto& [name, m] : sides) {
    TAILOR_REQUIRE(m->cols() == k, "ALSFactorizer::from_state: " << name << " has " << m->cols()
                                       << " columns, options.factors is " << k);
    if (!m->allFinite()) {
      for (Eigen::Index r = 0; r < m->rows(); ++r)
        for (Eigen::Index c = 0; c < m->cols(); ++c)
          if (!std::isfinite((*m)(r, c)))
            TAILOR_THROW(invalid_argument, "ALSFactorizer::from_state: " << name << "(" << r
                                               << ", " << c << ") is not finite: " << (*m)(r, c));
    }
  }
  for (const auto& [name, m] : sides) {
    Eigen::Index r = 0, c = 0;
    const float largest = m->size() == 0 ? 0.0f : m->cwiseAbs().maxCoeff(&r, &c);
    TAILOR_REQUIRE(largest <= kMaxFactorMagnitude,
                   "ALSFactorizer::from_state: " << name << "(" << r << ", " << c << ") is "
                       << (*m)(r, c) << ", beyond +-" << kMaxFactorMagnitude
                       << " (kMaxFactorMagnitude)");
  }
  als.user_factors_ = std::move(user_factors);
  als.item_factors_ = std::move(item_factors);
  als.refresh_caches();
  TAILOR_REQUIRE(als.user_gram_.allFinite() && als.item_gram_.allFinite(),
                 "ALSFactorizer::from_state: the factors' Gram matrix overflows");
  als.fitted_ = true;
  return als;
}

ALSState ALSFactorizer::export_state() const {
  require_fitted("export_state");
  return {options_, user_factors_, item_factors_};
}

const char* ALSFactorizer::kernel_name() noexcept { return kernels().name; }

void ALSFactorizer::require_fitted(const char* what) const {
  if (!fitted_) TAILOR_THROW(not_fitted, "ALSFactorizer::" << what << ": model is not fitted");
}

void ALSFactorizer::refresh_caches() {
  detail::ThreadPool pool(options_.threads);
  user_gram_ = gram_matrix(user_factors_, 1.0f, pool);
  item_gram_ = gram_matrix(item_factors_, 1.0f, pool);
  item_norms_ = item_factors_.rowwise().norm();
}

void ALSFactorizer::fit(const SparseMatrix& ratings, const ALSCallbacks& callbacks) {
  TAILOR_REQUIRE(ratings.rows() > 0 && ratings.cols() > 0,
                 "ALSFactorizer::fit: ratings must have at least one user and one item, got "
                     << ratings.rows() << " x " << ratings.cols());
  const bool explicit_ratings = options_.feedback == ALSFeedback::explicit_ratings;
  check_values(ratings, explicit_ratings);
  const auto start = Clock::now();
  Trainer tr(options_, ratings);
  const auto k = static_cast<Eigen::Index>(options_.factors);

  fitted_ = false;
  user_factors_.resize(ratings.rows(), k);
  item_factors_.resize(ratings.cols(), k);
  init_rows(user_factors_, 0, options_.seed, 1, options_.init_scale);
  init_rows(item_factors_, 0, options_.seed, 2, options_.init_scale);
  iterations_run_ = 0;
  best_iteration_ = 0;
  best_validation_ = std::numeric_limits<double>::quiet_NaN();

  RowMatrix best_users, best_items;
  int since_best = 0;
  int best_iteration = 0;
  ColMatrix gram_y = tr.gram(item_factors_);
  for (int it = 1; it <= options_.iterations; ++it) {
    const auto t0 = Clock::now();
    gram_y = tr.iterate(user_factors_, item_factors_, gram_y, it);
    ALSProgress progress;
    progress.iteration = it;
    if (options_.compute_loss) {
      progress.loss = tr.loss(user_factors_, item_factors_, gram_y);
      if (!std::isfinite(progress.loss)) {
        TAILOR_THROW(numerical_error,
                     "ALSFactorizer: iteration " << it << ": loss is not finite: " << progress.loss);
      }
    }
    progress.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    iterations_run_ = it;
    bool stop = false;
    if (callbacks.validation && it % options_.validation_every == 0) {
      fitted_ = true;  // the callback may use recommend() and friends
      refresh_caches();
      const double metric = callbacks.validation(*this);
      fitted_ = false;
      progress.validation = metric;
      if (std::isnan(best_validation_) || metric > best_validation_) {
        best_validation_ = metric;
        best_iteration = it;
        best_users = user_factors_;
        best_items = item_factors_;
        since_best = 0;
      } else if (++since_best >= options_.patience) {
        stop = true;
      }
    }
    progress.total_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (callbacks.progress && !callbacks.progress(progress)) stop = true;
    if (stop) break;
  }
  best_iteration_ = iterations_run_;
  if (best_users.size() > 0) {
    user_factors_ = std::move(best_users);
    item_factors_ = std::move(best_items);
    best_iteration_ = best_iteration;
  }
  refresh_caches();
  fitted_ = true;
}

void ALSFactorizer::partial_fit(const SparseMatrix& ratings, int iterations) {
  TAILOR_REQUIRE(iterations >= 0, "ALSFactorizer::partial_fit: iterations must be >= 0, got "
                                      << iterations);
  if (!fitted_) {
    fit(ratings);
    return;
  }
  TAILOR_REQUIRE(ratings.rows() >= user_factors_.rows() && ratings.cols() >= item_factors_.rows(),
                 "ALSFactorizer::partial_fit: ratings (" << ratings.rows() << " x "
                     << ratings.cols() << ") must not be smaller than the model ("
                     << user_factors_.rows() << " users x " << item_factors_.rows() << " items)");
  check_values(ratings, options_.feedback == ALSFeedback::explicit_ratings);
  const auto old_users = static_cast<std::size_t>(user_factors_.rows());
  const auto old_items = static_cast<std::size_t>(item_factors_.rows());
  const auto k = static_cast<Eigen::Index>(options_.factors);
  Trainer tr(options_, ratings);
  fitted_ = false;
  user_factors_.conservativeResize(ratings.rows(), k);
  item_factors_.conservativeResize(ratings.cols(), k);
  user_factors_.bottomRows(ratings.rows() - static_cast<Eigen::Index>(old_users)).setZero();
  item_factors_.bottomRows(ratings.cols() - static_cast<Eigen::Index>(old_items)).setZero();
  const auto n_users = static_cast<std::size_t>(ratings.rows());
  const auto n_items = static_cast<std::size_t>(ratings.cols());

  ColMatrix gram_y = tr.gram(item_factors_);
  solve_rows(tr.problem(true, item_factors_, gram_y, 0), user_factors_, old_users, n_users, true,
             options_.cg_steps, tr.pool, tr.scratch);
  const ColMatrix gram_x = tr.gram(user_factors_);
  solve_rows(tr.problem(false, user_factors_, gram_x, 0), item_factors_, old_items, n_items, true,
             options_.cg_steps, tr.pool, tr.scratch);
  gram_y = tr.gram(item_factors_);
  solve_rows(tr.problem(true, item_factors_, gram_y, 0), user_factors_, old_users, n_users, true,
             options_.cg_steps, tr.pool, tr.scratch);
  for (int it = 1; it <= iterations; ++it) {
    gram_y = tr.iterate(user_factors_, item_factors_, gram_y, it);
  }
  refresh_caches();
  fitted_ = true;
}

namespace {

Vector fold_in(const ALSOptions& opt, const RowMatrix& other, const ColMatrix& gram,
               Span<const Index> ids, Span<const float> values,
               const char* side, const char* other_name) {
  TAILOR_REQUIRE(ids.size() == values.size(),
                 "ALSFactorizer::fold_in_" << side << ": " << ids.size() << " " << other_name
                     << "s but " << values.size() << " confidences");
  const bool explicit_ratings = opt.feedback == ALSFeedback::explicit_ratings;
  thread_local std::vector<std::int32_t> idx;
  idx.resize(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] >= static_cast<Index>(other.rows())) {
      TAILOR_THROW(invalid_argument, "ALSFactorizer::fold_in_" << side << ": " << other_name
                                     << " " << ids[i] << " at position " << i
                                     << " is out of range (model has " << other.rows() << ")");
    }
    const float v = values[i];
    if (!std::isfinite(v) || (!explicit_ratings && !(v > 0.0f))) {
      TAILOR_THROW(invalid_argument, "ALSFactorizer::fold_in_" << side << ": confidence " << v
                                     << " at position " << i << " must be finite"
                                     << (explicit_ratings ? "" : " and > 0"));
    }
    idx[i] = static_cast<std::int32_t>(ids[i]);
  }
  const float alpha0 = explicit_ratings ? 0.0f : opt.unobserved_weight;
  HalfProblem p;
  p.other = &other;
  p.gram = &gram;
  p.gram_scale = alpha0;
  p.alpha0 = alpha0;
  p.lambda = opt.regularization;
  p.nu = opt.regularization_exponent;
  p.explicit_ratings = explicit_ratings;
  p.k = opt.factors;
  p.side = side;
  thread_local Scratch sc;
  sc.reserve(opt.factors, ids.size());
  Vector x(static_cast<Eigen::Index>(opt.factors));
  solve_row_exact(p, idx.data(), values.data(), ids.size(), x.data(), sc, 0);
  return x;
}

}  // namespace

Vector ALSFactorizer::fold_in_user(Span<const Index> items, Span<const float> confidences) const {
  require_fitted("fold_in_user");
  return fold_in(options_, item_factors_, item_gram_, items, confidences, "user", "item");
}

Vector ALSFactorizer::fold_in_item(Span<const Index> users, Span<const float> confidences) const {
  require_fitted("fold_in_item");
  return fold_in(options_, user_factors_, user_gram_, users, confidences, "item", "user");
}

std::vector<ALSFactorizer::ScoredItem> ALSFactorizer::recommend(
    const Eigen::Ref<const Vector>& user_vector, std::size_t k, Span<const Index> exclude) const {
  require_fitted("recommend");
  TAILOR_REQUIRE(user_vector.size() == static_cast<Eigen::Index>(options_.factors),
                 "ALSFactorizer::recommend: user vector has " << user_vector.size()
                     << " values, the model has " << options_.factors << " factors");
  TAILOR_REQUIRE(user_vector.allFinite(), "ALSFactorizer::recommend: user vector is not finite");
  if (k == 0) return {};
  const Vector scores = item_factors_ * user_vector;
  return top_k(scores.data(), static_cast<std::size_t>(scores.size()), k, exclude);
}

std::vector<ALSFactorizer::ScoredItem> ALSFactorizer::similar_items(Index item,
                                                                     std::size_t k) const {
  require_fitted("similar_items");
  TAILOR_REQUIRE(item < items(), "ALSFactorizer::similar_items: item " << item
                                     << " is out of range (model has " << items() << ")");
  if (k == 0) return {};
  const float norm = item_norms_[static_cast<Eigen::Index>(item)];
  Vector scores = Vector::Zero(item_factors_.rows());
  if (norm > 0.0f) {
    scores.noalias() = item_factors_ * item_factors_.row(item).transpose();
    for (Eigen::Index i = 0; i < scores.size(); ++i) {
      scores[i] = item_norms_[i] > 0.0f ? scores[i] / (item_norms_[i] * norm) : 0.0f;
    }
  }
  return top_k(scores.data(), static_cast<std::size_t>(scores.size()), k, {item});
}

double ALSFactorizer::loss(const SparseMatrix& ratings) const {
  require_fitted("loss");
  TAILOR_REQUIRE(ratings.rows() == user_factors_.rows() && ratings.cols() == item_factors_.rows(),
                 "ALSFactorizer::loss: ratings are " << ratings.rows() << " x " << ratings.cols()
                     << ", the model " << user_factors_.rows() << " x " << item_factors_.rows());
  Trainer tr(options_, ratings);
  const ColMatrix gram_y = tr.alpha0 == 0.0f ? ColMatrix::Zero(item_gram_.rows(), item_gram_.cols())
                                             : ColMatrix(tr.alpha0 * item_gram_);
  return tr.loss(user_factors_, item_factors_, gram_y);
}

}  // namespace tailor
