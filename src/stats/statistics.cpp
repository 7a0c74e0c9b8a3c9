// tailor: statistics for A/B tests (special functions, distributions, tests, power, mSPRT, Holm).
#include "tailor/stats/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "tailor/core/error.hpp"

namespace tailor::stats {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr double kTiny = 1e-300;
constexpr double kPi = 3.14159265358979323846;
constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(sqrt(2 pi))
constexpr double kSqrt2 = 1.41421356237309504880;
constexpr int kMaxIterations = 10'000'000;

bool finite(double x) { return std::isfinite(x); }

void require_probability(double p, const char* name) {
  TAILOR_REQUIRE(p >= 0.0 && p <= 1.0, name << " must be in [0, 1], got " << p);
}

void require_level(double level, const char* name) {
  TAILOR_REQUIRE(level > 0.0 && level < 1.0, name << " must be in (0, 1), got " << level);
}

void require_df(double df) { TAILOR_REQUIRE(df > 0.0, "df must be > 0, got " << df); }

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

double two_sided_critical(double alpha) { return normal_quantile(1.0 - 0.5 * alpha); }

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
// Moments

void Moments::add(double x) {
  n += 1.0;
  const double delta = x - mean;
  mean += delta / n;
  m2 += delta * (x - mean);
}

void Moments::merge(const Moments& other) {
  if (other.n == 0) return;
  if (n == 0) {
    *this = other;
    return;
  }
  const double total = n + other.n;
  const double delta = other.mean - mean;
  mean += delta * other.n / total;
  m2 += other.m2 + delta * delta * n * other.n / total;
  n = total;
}

Moments Moments::from_summary(double n, double mean, double sd) {
  TAILOR_REQUIRE(n >= 0 && finite(mean) && sd >= 0 && finite(sd),
                 "Moments::from_summary: need n >= 0, finite mean and sd >= 0");
  Moments m;
  m.n = n;
  m.mean = mean;
  m.m2 = n > 1 ? sd * sd * (n - 1) : 0.0;
  return m;
}

void RatioMoments::add(double x, double y) {
  n += 1.0;
  const double dx = x - mean_x;
  const double dy = y - mean_y;
  mean_x += dx / n;
  mean_y += dy / n;
  cxx += dx * (x - mean_x);
  cyy += dy * (y - mean_y);
  cxy += dx * (y - mean_y);
}

void RatioMoments::merge(const RatioMoments& other) {
  if (other.n == 0) return;
  if (n == 0) {
    *this = other;
    return;
  }
  const double total = n + other.n;
  const double dx = other.mean_x - mean_x;
  const double dy = other.mean_y - mean_y;
  const double w = n * other.n / total;
  cxx += other.cxx + dx * dx * w;
  cyy += other.cyy + dy * dy * w;
  cxy += other.cxy + dx * dy * w;
  mean_x += dx * other.n / total;
  mean_y += dy * other.n / total;
  n = total;
}

double RatioMoments::ratio() const { return mean_y == 0.0 ? kNaN : mean_x / mean_y; }

double RatioMoments::ratio_variance() const {
  if (n < 2 || mean_y == 0.0) return kNaN;
  const double r = mean_x / mean_y;
  const double sxx = cxx / (n - 1), syy = cyy / (n - 1), sxy = cxy / (n - 1);
  return std::max(0.0, (sxx - 2.0 * r * sxy + r * r * syy) / (n * mean_y * mean_y));
}

// ---------------------------------------------------------------------------------------------
// Tests

double z_p_value(double z, Alternative alternative) {
  TAILOR_REQUIRE(!std::isnan(z), "z_p_value: z is NaN");
  switch (alternative) {
    case Alternative::greater: return normal_sf(z);
    case Alternative::less: return normal_cdf(z);
    case Alternative::two_sided: break;
  }
  return std::min(1.0, 2.0 * normal_sf(std::fabs(z)));
}

double t_p_value(double t, double df, Alternative alternative) {
  switch (alternative) {
    case Alternative::greater: return student_t_sf(t, df);
    case Alternative::less: return student_t_cdf(t, df);
    case Alternative::two_sided: break;
  }
  return std::min(1.0, 2.0 * student_t_sf(std::fabs(t), df));
}

TestResult z_test(double estimate, double standard_error, Alternative alternative) {
  TAILOR_REQUIRE(finite(estimate), "z_test: estimate must be finite, got " << estimate);
  TAILOR_REQUIRE(standard_error > 0 && finite(standard_error),
                 "z_test: standard_error must be > 0, got " << standard_error);
  TestResult r;
  r.estimate = estimate;
  r.standard_error = standard_error;
  r.statistic = estimate / standard_error;
  r.df = kInf;
  r.p_value = z_p_value(r.statistic, alternative);
  return r;
}

namespace {
void require_binomial(double successes, double trials, const char* which) {
  TAILOR_REQUIRE(trials >= 1 && finite(trials), which << ": trials must be >= 1, got " << trials);
  TAILOR_REQUIRE(successes >= 0 && successes <= trials,
                 which << ": successes must be in [0, trials], got " << successes << " of " << trials);
}
}  // namespace

TestResult two_proportion_z_test(double successes_a, double trials_a, double successes_b,
                                 double trials_b, Alternative alternative) {
  require_binomial(successes_a, trials_a, "two_proportion_z_test: group a");
  require_binomial(successes_b, trials_b, "two_proportion_z_test: group b");
  const double pa = successes_a / trials_a;
  const double pb = successes_b / trials_b;
  const double pooled = (successes_a + successes_b) / (trials_a + trials_b);
  TestResult r;
  r.estimate = pb - pa;
  r.df = kInf;
  r.standard_error = std::sqrt(pooled * (1.0 - pooled) * (1.0 / trials_a + 1.0 / trials_b));
  if (r.standard_error == 0.0) {
    r.statistic = 0.0;
    r.p_value = 1.0;
    return r;
  }
  r.statistic = r.estimate / r.standard_error;
  r.p_value = z_p_value(r.statistic, alternative);
  return r;
}

namespace {
struct WelchParts {
  double se;
  double df;
};
WelchParts welch_parts(const Moments& a, const Moments& b, const char* who) {
  TAILOR_REQUIRE(a.n >= 2 && b.n >= 2, who << ": each group needs n >= 2, got " << a.n << " and " << b.n);
  const double va = a.variance() / a.n;
  const double vb = b.variance() / b.n;
  TAILOR_REQUIRE(va + vb > 0.0, who << ": both groups have zero variance");
  const double df = (va + vb) * (va + vb) / (va * va / (a.n - 1) + vb * vb / (b.n - 1));
  return {std::sqrt(va + vb), df};
}
}  // namespace

TestResult welch_t_test(const Moments& a, const Moments& b, Alternative alternative) {
  const WelchParts w = welch_parts(a, b, "welch_t_test");
  TestResult r;
  r.estimate = b.mean - a.mean;
  r.standard_error = w.se;
  r.df = w.df;
  r.statistic = r.estimate / w.se;
  r.p_value = t_p_value(r.statistic, w.df, alternative);
  return r;
}

ChiSquareResult chi_square_independence(const std::vector<std::vector<double>>& table, bool yates) {
  const std::size_t rows = table.size();
  TAILOR_REQUIRE(rows >= 2, "chi_square_independence: need >= 2 rows, got " << rows);
  const std::size_t cols = table[0].size();
  TAILOR_REQUIRE(cols >= 2, "chi_square_independence: need >= 2 columns, got " << cols);
  std::vector<double> row_sum(rows, 0.0), col_sum(cols, 0.0);
  double total = 0.0;
  for (std::size_t i = 0; i < rows; ++i) {
    TAILOR_REQUIRE(table[i].size() == cols, "chi_square_independence: row " << i << " has "
                                                << table[i].size() << " columns, row 0 has " << cols);
    for (std::size_t j = 0; j < cols; ++j) {
      const double v = table[i][j];
      TAILOR_REQUIRE(v >= 0 && finite(v), "chi_square_independence: cell (" << i << ", " << j
                                                                          << ") must be a count >= 0, got " << v);
      row_sum[i] += v;
      col_sum[j] += v;
      total += v;
    }
  }
  for (std::size_t i = 0; i < rows; ++i)
    TAILOR_REQUIRE(row_sum[i] > 0, "chi_square_independence: row " << i << " sums to 0");
  for (std::size_t j = 0; j < cols; ++j)
    TAILOR_REQUIRE(col_sum[j] > 0, "chi_square_independence: column " << j << " sums to 0");
  ChiSquareResult r;
  r.df = static_cast<double>((rows - 1) * (cols - 1));
  const bool correct = yates && r.df == 1.0;
  r.expected.assign(rows, std::vector<double>(cols, 0.0));
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < cols; ++j) {
      const double e = row_sum[i] * col_sum[j] / total;
      r.expected[i][j] = e;
      double gap = std::fabs(table[i][j] - e);
      if (correct) gap = std::max(gap - 0.5, 0.0);
      r.statistic += gap * gap / e;
    }
  }
  r.p_value = chi_square_sf(r.statistic, r.df);
  return r;
}

ChiSquareResult chi_square_rates(const std::vector<double>& successes,
                                 const std::vector<double>& trials) {
  TAILOR_REQUIRE(successes.size() == trials.size(),
                 "chi_square_rates: " << successes.size() << " success counts for " << trials.size() << " groups");
  std::vector<std::vector<double>> table;
  for (std::size_t i = 0; i < trials.size(); ++i) {
    require_binomial(successes[i], trials[i], "chi_square_rates");
    table.push_back({successes[i], trials[i] - successes[i]});
  }
  return chi_square_independence(table, false);
}

ChiSquareResult chi_square_goodness_of_fit(const std::vector<double>& observed,
                                           const std::vector<double>& expected_shares) {
  const std::size_t k = observed.size();
  TAILOR_REQUIRE(k >= 2, "chi_square_goodness_of_fit: need >= 2 categories, got " << k);
  TAILOR_REQUIRE(expected_shares.size() == k, "chi_square_goodness_of_fit: " << expected_shares.size()
                                                  << " shares for " << k << " categories");
  double total = 0.0, share_sum = 0.0;
  for (std::size_t i = 0; i < k; ++i) {
    TAILOR_REQUIRE(observed[i] >= 0 && finite(observed[i]),
                   "chi_square_goodness_of_fit: observed[" << i << "] must be >= 0, got " << observed[i]);
    TAILOR_REQUIRE(expected_shares[i] > 0 && finite(expected_shares[i]),
                   "chi_square_goodness_of_fit: expected_shares[" << i << "] must be > 0, got "
                                                                  << expected_shares[i]);
    total += observed[i];
    share_sum += expected_shares[i];
  }
  TAILOR_REQUIRE(total > 0, "chi_square_goodness_of_fit: no observations");
  ChiSquareResult r;
  r.df = static_cast<double>(k - 1);
  r.expected.assign(1, std::vector<double>(k, 0.0));
  for (std::size_t i = 0; i < k; ++i) {
    const double e = expected_shares[i] / share_sum * total;
    r.expected[0][i] = e;
    r.statistic += (observed[i] - e) * (observed[i] - e) / e;
  }
  r.p_value = chi_square_sf(r.statistic, r.df);
  return r;
}

Interval proportion_difference_ci(double successes_a, double trials_a, double successes_b,
                                  double trials_b, double confidence) {
  require_binomial(successes_a, trials_a, "proportion_difference_ci: group a");
  require_binomial(successes_b, trials_b, "proportion_difference_ci: group b");
  require_level(confidence, "proportion_difference_ci: confidence");
  const double pa = successes_a / trials_a;
  const double pb = successes_b / trials_b;
  const double se = std::sqrt(pa * (1 - pa) / trials_a + pb * (1 - pb) / trials_b);
  const double z = two_sided_critical(1.0 - confidence);
  return {pb - pa - z * se, pb - pa + z * se};
}

Interval mean_difference_ci(const Moments& a, const Moments& b, double confidence) {
  require_level(confidence, "mean_difference_ci: confidence");
  const WelchParts w = welch_parts(a, b, "mean_difference_ci");
  const double t = student_t_quantile(1.0 - 0.5 * (1.0 - confidence), w.df);
  const double d = b.mean - a.mean;
  return {d - t * w.se, d + t * w.se};
}

Interval normal_ci(double estimate, double variance, double confidence) {
  require_level(confidence, "normal_ci: confidence");
  TAILOR_REQUIRE(variance >= 0 && finite(variance), "normal_ci: variance must be >= 0, got " << variance);
  const double half = two_sided_critical(1.0 - confidence) * std::sqrt(variance);
  return {estimate - half, estimate + half};
}

LiftEstimate relative_lift(double estimate_a, double variance_a, double estimate_b,
                           double variance_b, double confidence) {
  require_level(confidence, "relative_lift: confidence");
  TAILOR_REQUIRE(variance_a >= 0 && variance_b >= 0 && finite(variance_a) && finite(variance_b),
                 "relative_lift: variances must be finite and >= 0");
  TAILOR_REQUIRE(finite(estimate_a) && finite(estimate_b), "relative_lift: estimates must be finite");
  LiftEstimate r;
  r.lift = estimate_a == 0.0 ? kNaN : estimate_b / estimate_a - 1.0;
  if (estimate_a > 0.0 && estimate_b > 0.0) {
    const double log_ratio = std::log(estimate_b / estimate_a);
    const double se = std::sqrt(variance_a / (estimate_a * estimate_a) +
                                variance_b / (estimate_b * estimate_b));
    const double z = two_sided_critical(1.0 - confidence);
    r.ci = {std::expm1(log_ratio - z * se), std::expm1(log_ratio + z * se)};
  } else {
    r.ci = {kNaN, kNaN};
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Power and sample size

namespace {

void require_rate(double p, const char* name) {
  TAILOR_REQUIRE(p > 0.0 && p < 1.0, name << " must be in (0, 1), got " << p);
}

double critical_value(double alpha, Alternative alternative) {
  return alternative == Alternative::two_sided ? normal_quantile(1.0 - 0.5 * alpha)
                                               : normal_quantile(1.0 - alpha);
}

// Power of a z test whose statistic is (d_hat / se0) with d_hat ~ N(d, se1^2).
double z_power(double d, double se0, double se1, double alpha, Alternative alternative) {
  const double c = critical_value(alpha, alternative);
  const double up = normal_cdf((d - c * se0) / se1);
  const double down = normal_cdf((-d - c * se0) / se1);
  switch (alternative) {
    case Alternative::greater: return up;
    case Alternative::less: return down;
    case Alternative::two_sided: break;
  }
  return std::min(1.0, up + down);
}

// Smallest integer n_a >= 2 with power(n_a, ceil(ratio n_a)) >= target (power increases with
// n), found by an exponential search from `start` and a binary search.
template <class PowerFn>
SampleSize smallest_n(const PowerFn& power, double target, double start, double ratio) {
  const auto n_b = [ratio](double n_a) { return std::ceil(ratio * n_a - 1e-9); };
  const auto passes = [&](double n) { return n >= 2.0 && power(n, n_b(n)) >= target; };
  constexpr double kCap = 1e15;
  const double n0 = std::max(2.0, std::ceil(start));
  if (!finite(n0) || n0 > kCap) TAILOR_THROW(invalid_argument, "sample size exceeds 1e15 (effect too small)");
  double lo, hi;  // lo fails (or is below 2), hi passes
  if (passes(n0)) {
    hi = n0;
    double step = 1.0;
    lo = n0 - step;
    while (passes(lo)) {
      hi = lo;
      step *= 2.0;
      lo = std::max(1.0, n0 - step);
    }
  } else {
    lo = n0;
    double step = 1.0;
    hi = n0 + step;
    while (!passes(hi)) {
      lo = hi;
      step *= 2.0;
      hi = n0 + step;
      if (hi > kCap) TAILOR_THROW(invalid_argument, "sample size exceeds 1e15 (effect too small)");
    }
  }
  while (hi - lo > 1.0) {
    const double mid = std::floor(0.5 * (lo + hi));
    if (passes(mid)) hi = mid; else lo = mid;
  }
  return {hi, n_b(hi)};
}

void require_power_args(double alpha, double power) {
  require_level(alpha, "alpha");
  TAILOR_REQUIRE(power > 0.0 && power < 1.0, "power must be in (0, 1), got " << power);
}

}  // namespace

double power_two_proportions(double p_a, double p_b, double n_a, double n_b, double alpha,
                             Alternative alternative) {
  require_rate(p_a, "power_two_proportions: p_a");
  require_rate(p_b, "power_two_proportions: p_b");
  require_level(alpha, "power_two_proportions: alpha");
  TAILOR_REQUIRE(n_a > 0 && n_b > 0, "power_two_proportions: group sizes must be > 0");
  const double pooled = (n_a * p_a + n_b * p_b) / (n_a + n_b);
  const double se0 = std::sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b));
  const double se1 = std::sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b);
  return z_power(p_b - p_a, se0, se1, alpha, alternative);
}

SampleSize sample_size_two_proportions(double p_a, double p_b, double alpha, double power,
                                       double ratio, Alternative alternative) {
  require_rate(p_a, "sample_size_two_proportions: p_a");
  require_rate(p_b, "sample_size_two_proportions: p_b");
  require_power_args(alpha, power);
  TAILOR_REQUIRE(ratio > 0 && finite(ratio), "sample_size_two_proportions: ratio must be > 0, got " << ratio);
  TAILOR_REQUIRE(p_a != p_b, "sample_size_two_proportions: p_a equals p_b (no effect to detect)");
  // Closed form without the far tail: n_a = (c sqrt(pq (1 + 1/r)) + z_beta sqrt(p_a q_a +
  // p_b q_b / r))^2 / d^2.
  const double pooled = (p_a + ratio * p_b) / (1 + ratio);
  const double c = critical_value(alpha, alternative);
  const double zb = normal_quantile(power);
  const double d = p_b - p_a;
  const double root = c * std::sqrt(pooled * (1 - pooled) * (1 + 1 / ratio)) +
                      zb * std::sqrt(p_a * (1 - p_a) + p_b * (1 - p_b) / ratio);
  const double start = root * root / (d * d);
  return smallest_n(
      [&](double na, double nb) { return power_two_proportions(p_a, p_b, na, nb, alpha, alternative); },
      power, start, ratio);
}

double power_two_means(double difference, double sd_a, double sd_b, double n_a, double n_b,
                       double alpha, Alternative alternative) {
  require_level(alpha, "power_two_means: alpha");
  TAILOR_REQUIRE(finite(difference), "power_two_means: difference must be finite");
  TAILOR_REQUIRE(sd_a >= 0 && sd_b >= 0 && sd_a + sd_b > 0 && finite(sd_a) && finite(sd_b),
                 "power_two_means: standard deviations must be >= 0, not both 0");
  TAILOR_REQUIRE(n_a > 0 && n_b > 0, "power_two_means: group sizes must be > 0");
  const double se = std::sqrt(sd_a * sd_a / n_a + sd_b * sd_b / n_b);
  return z_power(difference, se, se, alpha, alternative);
}

SampleSize sample_size_two_means(double difference, double sd_a, double sd_b, double alpha,
                                 double power, double ratio, Alternative alternative) {
  require_power_args(alpha, power);
  TAILOR_REQUIRE(difference != 0 && finite(difference), "sample_size_two_means: difference must be != 0");
  TAILOR_REQUIRE(ratio > 0 && finite(ratio), "sample_size_two_means: ratio must be > 0, got " << ratio);
  TAILOR_REQUIRE(sd_a >= 0 && sd_b >= 0 && sd_a + sd_b > 0 && finite(sd_a) && finite(sd_b),
                 "sample_size_two_means: standard deviations must be >= 0, not both 0");
  const double c = critical_value(alpha, alternative);
  const double zb = normal_quantile(power);
  const double start =
      (c + zb) * (c + zb) * (sd_a * sd_a + sd_b * sd_b / ratio) / (difference * difference);
  return smallest_n(
      [&](double na, double nb) {
        return power_two_means(difference, sd_a, sd_b, na, nb, alpha, alternative);
      },
      power, start, ratio);
}

double minimum_detectable_difference_proportions(double p_a, double n_a, double n_b, double alpha,
                                                 double power) {
  require_rate(p_a, "minimum_detectable_difference_proportions: p_a");
  require_power_args(alpha, power);
  TAILOR_REQUIRE(n_a > 0 && n_b > 0, "minimum_detectable_difference_proportions: group sizes must be > 0");
  double lo = 0.0, hi = 1.0 - p_a;
  const auto pw = [&](double d) { return power_two_proportions(p_a, p_a + d, n_a, n_b, alpha); };
  if (pw(hi * (1 - 1e-12)) < power) return kNaN;
  for (int it = 0; it < 200 && hi - lo > 1e-15; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (mid > 0 && pw(mid) >= power) hi = mid; else lo = mid;
  }
  return hi;
}

// ---------------------------------------------------------------------------------------------
// SRM, sequential, multiple comparisons

SrmResult sample_ratio_mismatch(const std::vector<double>& units,
                                const std::vector<double>& expected_shares, double threshold) {
  require_level(threshold, "sample_ratio_mismatch: threshold");
  SrmResult r;
  r.test = chi_square_goodness_of_fit(units, expected_shares);
  r.threshold = threshold;
  r.mismatch = r.test.p_value < threshold;
  return r;
}

SequentialResult msprt(double estimate, double variance, double tau, double alpha) {
  TAILOR_REQUIRE(finite(estimate), "msprt: estimate must be finite, got " << estimate);
  TAILOR_REQUIRE(variance > 0 && finite(variance), "msprt: variance must be > 0, got " << variance);
  TAILOR_REQUIRE(tau > 0 && finite(tau), "msprt: tau must be > 0, got " << tau);
  require_level(alpha, "msprt: alpha");
  const double v = variance;
  const double t2 = tau * tau;
  SequentialResult r;
  r.log_likelihood_ratio =
      0.5 * std::log(v / (v + t2)) + t2 * estimate * estimate / (2.0 * v * (v + t2));
  r.p_value = std::min(1.0, std::exp(-r.log_likelihood_ratio));
  r.reject = r.log_likelihood_ratio >= -std::log(alpha);
  const double half = std::sqrt(2.0 * v * (v + t2) / t2 * (-std::log(alpha) + 0.5 * std::log((v + t2) / v)));
  r.confidence_sequence = {estimate - half, estimate + half};
  return r;
}

const char* correction_name(Correction correction) noexcept {
  switch (correction) {
    case Correction::none: return "none";
    case Correction::bonferroni: return "bonferroni";
    case Correction::holm: return "holm";
  }
  return "unknown";
}

Correction parse_correction(const std::string& name) {
  if (name == "none") return Correction::none;
  if (name == "bonferroni") return Correction::bonferroni;
  if (name == "holm") return Correction::holm;
  TAILOR_THROW(invalid_argument, "unknown correction '" << name << "' (expected none, bonferroni or holm)");
}

MultipleTestResult correct_p_values(const std::vector<double>& p_values, double alpha,
                                    Correction correction) {
  require_level(alpha, "correct_p_values: alpha");
  const std::size_t m = p_values.size();
  for (std::size_t i = 0; i < m; ++i) {
    TAILOR_REQUIRE(p_values[i] >= 0 && p_values[i] <= 1,
                   "correct_p_values: p_values[" << i << "] must be in [0, 1], got " << p_values[i]);
  }
  MultipleTestResult r;
  r.adjusted_p.assign(m, 0.0);
  r.alpha.assign(m, alpha);
  r.reject.assign(m, false);
  const double md = static_cast<double>(m);
  switch (correction) {
    case Correction::none:
      for (std::size_t i = 0; i < m; ++i) {
        r.adjusted_p[i] = p_values[i];
        r.reject[i] = p_values[i] <= alpha;
      }
      break;
    case Correction::bonferroni:
      for (std::size_t i = 0; i < m; ++i) {
        r.adjusted_p[i] = std::min(1.0, md * p_values[i]);
        r.alpha[i] = alpha / md;
        r.reject[i] = p_values[i] <= r.alpha[i];
      }
      break;
    case Correction::holm: {
      std::vector<std::size_t> order(m);
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return p_values[a] < p_values[b]; });
      double running = 0.0;
      bool rejecting = true;
      for (std::size_t rank = 0; rank < m; ++rank) {
        const std::size_t i = order[rank];
        const double factor = md - static_cast<double>(rank);
        running = std::max(running, std::min(1.0, factor * p_values[i]));
        r.adjusted_p[i] = running;
        r.alpha[i] = alpha / factor;
        rejecting = rejecting && p_values[i] <= r.alpha[i];
        r.reject[i] = rejecting;
      }
      break;
    }
  }
  return r;
}

}  // namespace tailor::stats
