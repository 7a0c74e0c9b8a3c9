// tailor: special functions and distributions (see distributions.hpp).
#include "tailor/stats/distributions.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "stats/checks.hpp"

namespace tailor::stats {
namespace {

using namespace detail;


// Stirling-series remainder: log Gamma(x) - [(x - 1/2) log x - x + log sqrt(2 pi)], for x >= 15.
// Terms B_2k / (2k (2k - 1) x^(2k - 1)); the first omitted one is below 4e-18 at x = 15.
double stirling_remainder(double x) {
  const double r = 1.0 / x;
  const double r2 = r * r;
  return r * (1.0 / 12 +
              r2 * (-1.0 / 360 +
                    r2 * (1.0 / 1260 +
                          r2 * (-1.0 / 1680 + r2 * (1.0 / 1188 + r2 * (-691.0 / 360360))))));
}

constexpr double kStirlingFrom = 15.0;

// log(x^a e^-x / Gamma(a)), the common factor of the incomplete gamma series and fraction.
double log_gamma_prefactor(double a, double x) {
  if (a >= kStirlingFrom) {
    // a [log(x/a) - (x - a)/a] + log(a)/2 - log sqrt(2 pi) - remainder(a): the bracket is
    // log1p(t) - t with t = (x - a)/a, exact enough even when x is close to a.
    const double t = (x - a) / a;
    return a * (std::log1p(t) - t) + 0.5 * std::log(a) - kLogSqrt2Pi - stirling_remainder(a);
  }
  return a * std::log(x) - x - log_gamma(a);
}

// P(a, x) by its power series; valid (fast) for x < a + 1.
double gamma_series(double a, double x) {
  double term = 1.0 / a;
  double sum = term;
  for (int n = 1; n < kMaxIterations; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * kEps) {
      return std::min(1.0, sum * std::exp(log_gamma_prefactor(a, x)));
    }
  }
  TAILOR_THROW(numerical_error, "incomplete gamma series did not converge (a=" << a << ", x=" << x << ")");
}

// Q(a, x) by its continued fraction (modified Lentz); valid for x >= a + 1.
double gamma_fraction(double a, double x) {
  double b = x + 1.0 - a;
  double c = 1.0 / kTiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < kMaxIterations; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEps) return std::min(1.0, std::exp(log_gamma_prefactor(a, x)) * h);
  }
  TAILOR_THROW(numerical_error, "incomplete gamma fraction did not converge (a=" << a << ", x=" << x << ")");
}

// Continued fraction of I_x(a, b) (modified Lentz), without the prefactor.
double beta_fraction(double x, double a, double b) {
  const double qab = a + b;
  const double qap = a + 1.0;
  const double qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m < kMaxIterations; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEps) return h;
  }
  TAILOR_THROW(numerical_error, "incomplete beta fraction did not converge (x=" << x << ", a=" << a
                                                                                << ", b=" << b << ")");
}

// I_x(a, b) and 1 - I_x(a, b), each computed directly where it is the smaller one. y = 1 - x is
// passed separately so callers can supply it without rounding (e.g. t^2 / (df + t^2)).
struct BetaPair {
  double lower;  // I_x(a, b)
  double upper;  // 1 - I_x(a, b) = I_y(b, a)
};

BetaPair incomplete_beta(double x, double y, double a, double b) {
  if (x <= 0.0) return {0.0, 1.0};
  if (y <= 0.0) return {1.0, 0.0};
  const double log_x = x > 0.5 ? std::log1p(-y) : std::log(x);
  const double log_y = y > 0.5 ? std::log1p(-x) : std::log(y);
  const double log_front = a * log_x + b * log_y - log_beta(a, b);
  if (x < (a + 1.0) / (a + b + 2.0)) {
    const double lower = std::exp(log_front) * beta_fraction(x, a, b) / a;
    return {lower, 1.0 - lower};
  }
  const double upper = std::exp(log_front) * beta_fraction(y, b, a) / b;
  return {1.0 - upper, upper};
}

// Finds x in [lo, hi] where the monotone function g (value and derivative) equals target.
// The bracket must satisfy: g(lo) and g(hi) are on different sides of target. Newton steps,
// falling back to bisection (geometric when the bracket spans orders of magnitude) whenever a
// step would leave the bracket.
template <class G>
double solve_monotone(const G& g, double target, double lo, double hi, double x, bool increasing) {
  for (int it = 0; it < 2000; ++it) {
    double value = 0, slope = 0;
    g(x, value, slope);
    const double diff = value - target;
    if (diff == 0.0) return x;
    // Shrink the bracket.
    if ((diff < 0) == increasing) lo = x; else hi = x;
    double next = kNaN;
    if (slope != 0.0 && finite(slope)) next = x - diff / slope;
    if (!(next > lo && next < hi)) {
      if (lo <= 0.0) next = hi / 8.0;  // bracket [0, hi]: quantiles may be tiny, move down fast
      else if (hi > 8.0 * lo) next = std::sqrt(lo * hi);
      else next = 0.5 * (lo + hi);
    }
    if (std::fabs(next - x) <= 4.0 * kEps * std::fabs(x) || hi - lo <= 4.0 * kEps * std::fabs(hi)) {
      return next;
    }
    x = next;
  }
  return x;
}


}  // namespace

// ---------------------------------------------------------------------------------------------
// Special functions

double log_gamma(double x) {
  TAILOR_REQUIRE(x > 0.0, "log_gamma: x must be > 0, got " << x);
  if (x == kInf) return kInf;
  // Shift x up to >= 15 with Gamma(x) = Gamma(x + n) / (x (x + 1) ... (x + n - 1)).
  double product = 1.0;
  while (x < kStirlingFrom) {
    product *= x;
    x += 1.0;
  }
  return (x - 0.5) * std::log(x) - x + kLogSqrt2Pi + stirling_remainder(x) - std::log(product);
}

double log_beta(double a, double b) {
  TAILOR_REQUIRE(a > 0.0 && b > 0.0, "log_beta: a and b must be > 0, got " << a << ", " << b);
  const double small = std::min(a, b);
  const double big = std::max(a, b);
  if (big < kStirlingFrom) return log_gamma(a) + log_gamma(b) - log_gamma(a + b);
  // log Gamma(big) - log Gamma(big + small) from the Stirling forms, without the cancellation of
  // two huge log-gammas: -(big - 1/2) log1p(small/big) - small log(big + small) + small + r(big)
  // - r(big + small).
  const double difference = -(big - 0.5) * std::log1p(small / big) - small * std::log(big + small) +
                            small + stirling_remainder(big) - stirling_remainder(big + small);
  return log_gamma(small) + difference;
}

double regularized_gamma_p(double a, double x) {
  TAILOR_REQUIRE(a > 0.0 && x >= 0.0, "regularized_gamma_p: need a > 0, x >= 0, got a=" << a << ", x=" << x);
  if (x == 0.0) return 0.0;
  if (x == kInf) return 1.0;
  if (x < a + 1.0) return gamma_series(a, x);
  return 1.0 - gamma_fraction(a, x);
}

double regularized_gamma_q(double a, double x) {
  TAILOR_REQUIRE(a > 0.0 && x >= 0.0, "regularized_gamma_q: need a > 0, x >= 0, got a=" << a << ", x=" << x);
  if (x == 0.0) return 1.0;
  if (x == kInf) return 0.0;
  if (x < a + 1.0) return 1.0 - gamma_series(a, x);
  return gamma_fraction(a, x);
}

double regularized_beta(double x, double a, double b) {
  TAILOR_REQUIRE(x >= 0.0 && x <= 1.0, "regularized_beta: x must be in [0, 1], got " << x);
  TAILOR_REQUIRE(a > 0.0 && b > 0.0, "regularized_beta: a and b must be > 0, got " << a << ", " << b);
  return incomplete_beta(x, 1.0 - x, a, b).lower;
}

// ---------------------------------------------------------------------------------------------
// Normal

double normal_pdf(double x) { return std::exp(-0.5 * x * x - kLogSqrt2Pi); }
double normal_cdf(double x) { return 0.5 * std::erfc(-x / kSqrt2); }
double normal_sf(double x) { return 0.5 * std::erfc(x / kSqrt2); }

double normal_quantile(double p) {
  require_probability(p, "normal_quantile: p");
  if (p == 0.0) return -kInf;
  if (p == 1.0) return kInf;
  if (p == 0.5) return 0.0;
  const double q = std::min(p, 1.0 - p);
  // Start from Abramowitz & Stegun 26.2.23 (error < 4.5e-4), then Newton on log sf(x) = log q.
  const double t = std::sqrt(-2.0 * std::log(q));
  double x = t - (2.515517 + t * (0.802853 + t * 0.010328)) /
                     (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308)));
  const double log_q = std::log(q);
  for (int it = 0; it < 100; ++it) {
    const double sf = normal_sf(x);
    const double step = (std::log(sf) - log_q) * sf / normal_pdf(x);
    x += step;
    if (std::fabs(step) <= 2.0 * kEps * std::max(1.0, std::fabs(x))) break;
  }
  return p < 0.5 ? -x : x;
}

// ---------------------------------------------------------------------------------------------
// Student t

namespace {

// P(T > t) for t >= 0.
double t_upper_tail(double t, double df) {
  if (t == kInf) return 0.0;
  // x = df / (df + t^2), y = t^2 / (df + t^2), written to avoid overflowing t^2.
  const double s = std::sqrt(df) / t;
  const double r = s * s;  // df / t^2
  const double x = t == 0.0 ? 1.0 : r / (1.0 + r);
  const double y = t == 0.0 ? 0.0 : 1.0 / (1.0 + r);
  return 0.5 * incomplete_beta(x, y, 0.5 * df, 0.5).lower;
}

}  // namespace

double student_t_pdf(double t, double df) {
  require_df(df);
  if (df == kInf) return normal_pdf(t);
  const double tt = std::fabs(t);
  // log(1 + t^2/df) without overflow for huge t.
  double log_term;
  if (tt * tt > df) {
    const double s = std::sqrt(df) / tt;
    log_term = 2.0 * std::log(tt) - std::log(df) + std::log1p(s * s);
  } else {
    log_term = std::log1p(tt * tt / df);
  }
  return std::exp(-0.5 * std::log(df) - log_beta(0.5 * df, 0.5) - 0.5 * (df + 1.0) * log_term);
}

double student_t_sf(double t, double df) {
  require_df(df);
  TAILOR_REQUIRE(!std::isnan(t), "student_t_sf: t is NaN");
  if (df == kInf) return normal_sf(t);
  return t >= 0 ? t_upper_tail(t, df) : 1.0 - t_upper_tail(-t, df);
}

double student_t_cdf(double t, double df) {
  require_df(df);
  TAILOR_REQUIRE(!std::isnan(t), "student_t_cdf: t is NaN");
  if (df == kInf) return normal_cdf(t);
  return t <= 0 ? t_upper_tail(-t, df) : 1.0 - t_upper_tail(t, df);
}

double student_t_quantile(double p, double df) {
  require_probability(p, "student_t_quantile: p");
  require_df(df);
  if (df == kInf) return normal_quantile(p);
  if (p == 0.0) return -kInf;
  if (p == 1.0) return kInf;
  if (p == 0.5) return 0.0;
  const double q = std::min(p, 1.0 - p);
  // Solve log sf(t) = log q for t > 0 (log sf is decreasing).
  const auto g = [df](double t, double& value, double& slope) {
    const double sf = t_upper_tail(t, df);
    value = std::log(sf);
    slope = -student_t_pdf(t, df) / sf;
  };
  const double z = normal_quantile(1.0 - q);
  double x = z + (z * z * z + z) / (4.0 * df);  // Cornish-Fisher start
  if (!(x > 0) || !finite(x)) x = 1.0;
  double hi = x;
  while (t_upper_tail(hi, df) > q) hi *= 16.0;
  const double t = solve_monotone(g, std::log(q), 0.0, hi, std::min(x, hi), false);
  return p < 0.5 ? -t : t;
}

// ---------------------------------------------------------------------------------------------
// Chi-square

double chi_square_pdf(double x, double df) {
  require_df(df);
  if (x < 0.0) return 0.0;
  const double k = 0.5 * df;
  if (x == 0.0) return df < 2.0 ? kInf : (df == 2.0 ? 0.5 : 0.0);
  return std::exp((k - 1.0) * std::log(x) - 0.5 * x - k * std::log(2.0) - log_gamma(k));
}

double chi_square_cdf(double x, double df) {
  require_df(df);
  TAILOR_REQUIRE(!std::isnan(x), "chi_square_cdf: x is NaN");
  if (x <= 0.0) return 0.0;
  return regularized_gamma_p(0.5 * df, 0.5 * x);
}

double chi_square_sf(double x, double df) {
  require_df(df);
  TAILOR_REQUIRE(!std::isnan(x), "chi_square_sf: x is NaN");
  if (x <= 0.0) return 1.0;
  return regularized_gamma_q(0.5 * df, 0.5 * x);
}

double chi_square_quantile(double p, double df) {
  require_probability(p, "chi_square_quantile: p");
  require_df(df);
  if (p == 0.0) return 0.0;
  if (p == 1.0) return kInf;
  const double k = 0.5 * df;
  // Start: Wilson-Hilferty, or the small-x series cdf ~ (x/2)^k / Gamma(k + 1) far in the lower
  // tail.
  const double z = normal_quantile(p);
  const double h = 2.0 / (9.0 * df);
  double x = df * std::pow(std::max(1.0 - h + z * std::sqrt(h), 0.0), 3);
  const double series_start = 2.0 * std::exp((std::log(p) + log_gamma(k + 1.0)) / k);
  if (!(x > 0.0) || (p < 0.5 && series_start < x)) x = series_start;
  if (!(x > 0.0) || !finite(x)) x = df;
  if (p < 0.5) {
    // Solve log cdf(x) = log p (increasing).
    const auto g = [df](double v, double& value, double& slope) {
      const double c = chi_square_cdf(v, df);
      value = std::log(c);
      slope = chi_square_pdf(v, df) / c;
    };
    double hi = std::max(x, kTiny);
    while (chi_square_cdf(hi, df) < p) hi *= 4.0;
    return solve_monotone(g, std::log(p), 0.0, hi, std::min(x, hi), true);
  }
  const double q = 1.0 - p;
  const auto g = [df](double v, double& value, double& slope) {
    const double s = chi_square_sf(v, df);
    value = std::log(s);
    slope = -chi_square_pdf(v, df) / s;
  };
  double hi = std::max(x, 1.0);
  while (chi_square_sf(hi, df) > q) hi *= 4.0;
  return solve_monotone(g, std::log(q), 0.0, hi, std::min(x, hi), false);
}

// ---------------------------------------------------------------------------------------------
// Kolmogorov

double kolmogorov_survival(double lambda) {
  if (std::isnan(lambda)) return kNaN;
  if (lambda <= 0.0) return 1.0;
  if (lambda < 1.18) {
    // P(K <= l) = sqrt(2 pi) / l * sum_j exp(-(2j - 1)^2 pi^2 / (8 l^2)); converges fast for
    // small l, where the alternating series below would need many terms.
    const double c = kPi * kPi / (8.0 * lambda * lambda);
    double sum = 0.0;
    for (int j = 1; j <= 100; ++j) {
      const double odd = 2.0 * j - 1.0;
      const double term = std::exp(-odd * odd * c);
      sum += term;
      if (term <= 1e-17 * sum) break;
    }
    const double cdf = std::sqrt(2.0 * kPi) / lambda * sum;
    return std::min(1.0, std::max(0.0, 1.0 - cdf));
  }
  double sum = 0.0;
  double sign = 1.0;
  for (int j = 1; j <= 100; ++j) {
    const double term = std::exp(-2.0 * j * j * lambda * lambda);
    sum += sign * term;
    if (term <= 1e-17 * std::abs(sum)) break;
    sign = -sign;
  }
  return std::min(1.0, std::max(0.0, 2.0 * sum));
}

}  // namespace tailor::stats
