#include "tailor/models/content_encoder.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <utility>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/QR>

#include "tailor/core/error.hpp"
#include "internal/checks.hpp"
#include "internal/random.hpp"

namespace tailor {
namespace {

using Feature = std::pair<std::uint32_t, float>;  // (hash bucket, value)
using Features = std::vector<Feature>;

// Salts keep the hash streams of different uses independent under one seed.
constexpr std::uint64_t kSaltTextHash = 0x7465787468617368ull;
constexpr std::uint64_t kSaltProjection = 0x70726f6a65637469ull;
constexpr std::uint64_t kSaltCategory = 0x63617465676f7279ull;
constexpr std::uint64_t kSaltBrand = 0x6272616e64636f64ull;
constexpr std::uint64_t kSaltAttribute = 0x6174747269627574ull;
constexpr std::uint64_t kSaltSvd = 0x7376646f6d656761ull;
constexpr std::uint64_t kSaltSample = 0x73616d706c696e67ull;

constexpr char kLevelSeparator = '\x1F';  // joins category levels and attribute key/value

using detail::mix64;
using detail::SplitMix64;

// out[0..d) += scale * c, c in {-1, +1}^d drawn from a hash stream keyed by `key`.
void add_random_code(std::uint64_t key, std::size_t d, float scale, float* out) {
  std::uint64_t state = key;
  for (std::size_t j = 0; j < d; j += 64) {
    std::uint64_t bits = mix64(state += detail::kGoldenGamma);
    const std::size_t end = std::min(d, j + 64);
    for (std::size_t t = j; t < end; ++t, bits >>= 1) out[t] += (bits & 1u) ? scale : -scale;
  }
}

// Scales out[0..n) to norm sqrt(weight); returns false (and leaves zeros) for a zero block.
bool finish_block(float* out, std::size_t n, float weight) {
  double sq = 0.0;
  for (std::size_t j = 0; j < n; ++j) sq += static_cast<double>(out[j]) * out[j];
  if (!(sq > 0.0) || !std::isfinite(sq)) {
    std::fill(out, out + n, 0.0f);
    return false;
  }
  const auto scale = static_cast<float>(std::sqrt(static_cast<double>(weight) / sq));
  for (std::size_t j = 0; j < n; ++j) out[j] *= scale;
  return true;
}

using detail::all_finite;

// Hashed terms of weighted texts with 1 + ln(tf) * field weight, merged per bucket (no idf).
Features raw_text_features(const ContentEncoderOptions& options,
                           std::initializer_list<std::pair<std::string_view, float>> fields) {
  Features out;
  const std::uint64_t hash_seed = options.seed ^ kSaltTextHash;
  for (const auto& [text, weight] : fields) {
    if (!(weight > 0.0f) || text.empty()) continue;
    std::vector<std::string> terms = tokenize_ngrams(text, options.tokenizer);
    std::sort(terms.begin(), terms.end());
    for (std::size_t i = 0; i < terms.size();) {
      std::size_t j = i + 1;
      while (j < terms.size() && terms[j] == terms[i]) ++j;
      const std::uint64_t h = stable_hash(terms[i], hash_seed);
      const auto bucket = static_cast<std::uint32_t>(h % options.hash_buckets);
      const float sign = (options.signed_hashing && (h >> 63) != 0) ? -1.0f : 1.0f;
      const float tf = 1.0f + static_cast<float>(std::log(static_cast<double>(j - i)));
      out.emplace_back(bucket, sign * weight * tf);
      i = j;
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Feature& a, const Feature& b) { return a.first < b.first; });
  std::size_t w = 0;
  for (std::size_t r = 0; r < out.size(); ++r) {
    if (w > 0 && out[w - 1].first == out[r].first) {
      out[w - 1].second += out[r].second;
    } else {
      out[w++] = out[r];
    }
  }
  out.resize(w);
  return out;
}

// Multiplies by idf, drops zeros (opposite signs that cancelled), L2-normalises.
void apply_idf(Features& features, const std::vector<float>& idf) {
  double sq = 0.0;
  std::size_t w = 0;
  for (const auto& [bucket, value] : features) {
    const float v = value * idf[bucket];
    if (v == 0.0f) continue;
    features[w++] = {bucket, v};
    sq += static_cast<double>(v) * v;
  }
  features.resize(w);
  if (sq > 0.0) {
    const auto inv = static_cast<float>(1.0 / std::sqrt(sq));
    for (auto& f : features) f.second *= inv;
  }
}

double price_position(double price, double low, double high, std::size_t buckets) {
  const double x = std::log(std::max(price, 1e-12));
  const double clamped = std::min(std::max(x, low), high);
  return (clamped - low) / (high - low) * static_cast<double>(buckets - 1);
}

// An orthonormal basis of the columns of y (rows >= cols). CholeskyQR2 (two rounds of
// Q = Y chol(Y'Y)^-T; Fukaya et al. 2014) runs as matrix products, several times faster than a
// Householder QR here; when Y'Y is not numerically positive definite (Y rank-deficient, as for a
// tiny catalog) a Householder QR is used instead.
using DenseRowsD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

DenseRowsD orthonormalize(const DenseRowsD& y) {
  DenseRowsD q = y;
  for (int round = 0; round < 2; ++round) {
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(q.cols(), q.cols());
    gram.selfadjointView<Eigen::Lower>().rankUpdate(q.transpose());
    Eigen::LLT<Eigen::MatrixXd, Eigen::Lower> llt(gram);
    const Eigen::VectorXd diag = llt.matrixL().toDenseMatrix().diagonal();
    const bool ok = llt.info() == Eigen::Success && diag.allFinite() &&
                    diag.minCoeff() > 1e-7 * diag.maxCoeff();
    if (!ok) {
      Eigen::HouseholderQR<Eigen::MatrixXd> qr(y);
      return DenseRowsD(qr.householderQ() * Eigen::MatrixXd::Identity(y.rows(), y.cols()));
    }
    // q <- q L^-T, i.e. solve X L^T = q.
    llt.matrixL().transpose().solveInPlace<Eigen::OnTheRight>(q);
  }
  return q;
}

void check_dimension(const char* field, std::size_t value) {
  if (value < 1 || value > 4096) {
    TAILOR_THROW(invalid_argument,
                 "ContentEncoderOptions::" << field << " must be in [1, 4096], got " << value);
  }
}

void check_weight(const char* field, float value) {
  if (!std::isfinite(value) || value < 0.0f) {
    TAILOR_THROW(invalid_argument,
                 "ContentEncoderOptions::" << field << " must be finite and >= 0, got " << value);
  }
}

bool same_matrix(const RowMatrix& a, const RowMatrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         (a.size() == 0 || (a.array() == b.array()).all());
}

}  // namespace

const char* text_projection_name(TextProjection projection) noexcept {
  switch (projection) {
    case TextProjection::random: return "random";
    case TextProjection::svd: return "svd";
  }
  return "unknown";
}

const char* content_field_name(ContentField field) noexcept {
  switch (field) {
    case ContentField::text: return "text";
    case ContentField::category: return "category";
    case ContentField::brand: return "brand";
    case ContentField::attributes: return "attributes";
    case ContentField::price: return "price";
  }
  return "unknown";
}

// ---- options and state ------------------------------------------------------------------------

void ContentEncoderOptions::validate() const {
  tokenizer.validate();
  if (hash_buckets < 16 || hash_buckets > (std::size_t{1} << 26)) {
    TAILOR_THROW(invalid_argument,
                 "ContentEncoderOptions::hash_buckets must be in [16, 2^26], got " << hash_buckets);
  }
  check_weight("title_weight", title_weight);
  check_weight("description_weight", description_weight);
  check_dimension("text_dimension", text_dimension);
  if (projection != TextProjection::random && projection != TextProjection::svd) {
    TAILOR_THROW(invalid_argument, "ContentEncoderOptions::projection: unknown value "
                                       << static_cast<int>(projection));
  }
  if (svd_oversampling > 1000) {
    TAILOR_THROW(invalid_argument,
                 "ContentEncoderOptions::svd_oversampling must be <= 1000, got " << svd_oversampling);
  }
  if (svd_power_iterations > 20) {
    TAILOR_THROW(invalid_argument, "ContentEncoderOptions::svd_power_iterations must be <= 20, got "
                                       << svd_power_iterations);
  }
  if (svd_max_items < 1) {
    TAILOR_THROW(invalid_argument, "ContentEncoderOptions::svd_max_items must be >= 1, got 0");
  }
  check_dimension("category_dimension", category_dimension);
  check_dimension("brand_dimension", brand_dimension);
  check_dimension("attribute_dimension", attribute_dimension);
  for (std::size_t i = 0; i < attribute_keys.size(); ++i) {
    if (attribute_keys[i].empty()) {
      TAILOR_THROW(invalid_argument, "ContentEncoderOptions::attribute_keys[" << i << "] is empty");
    }
  }
  if (price_buckets < 2 || price_buckets > 256) {
    TAILOR_THROW(invalid_argument,
                 "ContentEncoderOptions::price_buckets must be in [2, 256], got " << price_buckets);
  }
  if (!(price_overlap > 0.0 && price_overlap <= 4.0)) {
    TAILOR_THROW(invalid_argument,
                 "ContentEncoderOptions::price_overlap must be in (0, 4], got " << price_overlap);
  }
  check_weight("text_weight", text_weight);
  check_weight("category_weight", category_weight);
  check_weight("brand_weight", brand_weight);
  check_weight("attribute_weight", attribute_weight);
  check_weight("price_weight", price_weight);
  const bool text_on = text_weight > 0.0f && (title_weight > 0.0f || description_weight > 0.0f);
  const bool attributes_on = attribute_weight > 0.0f && !attribute_keys.empty();
  if (!text_on && !(category_weight > 0.0f) && !(brand_weight > 0.0f) && !attributes_on &&
      !(price_weight > 0.0f)) {
    TAILOR_THROW(invalid_argument,
                 "ContentEncoderOptions: every field weight is 0 (text_weight or both title_weight "
                 "and description_weight, category_weight, brand_weight, attribute_weight or "
                 "attribute_keys, price_weight); at least one field must be on");
  }
}

bool operator==(const ContentEncoderOptions& a, const ContentEncoderOptions& b) {
  return a.tokenizer == b.tokenizer && a.hash_buckets == b.hash_buckets &&
         a.signed_hashing == b.signed_hashing && a.title_weight == b.title_weight &&
         a.description_weight == b.description_weight && a.text_dimension == b.text_dimension &&
         a.projection == b.projection && a.svd_oversampling == b.svd_oversampling &&
         a.svd_power_iterations == b.svd_power_iterations && a.svd_max_items == b.svd_max_items &&
         a.category_dimension == b.category_dimension && a.brand_dimension == b.brand_dimension &&
         a.attribute_keys == b.attribute_keys && a.attribute_dimension == b.attribute_dimension &&
         a.price_buckets == b.price_buckets && a.price_overlap == b.price_overlap &&
         a.text_weight == b.text_weight && a.category_weight == b.category_weight &&
         a.brand_weight == b.brand_weight && a.attribute_weight == b.attribute_weight &&
         a.price_weight == b.price_weight && a.seed == b.seed;
}

bool operator==(const ContentEncoderState& a, const ContentEncoderState& b) {
  return a.options == b.options && a.idf == b.idf && a.svd_buckets == b.svd_buckets &&
         same_matrix(a.svd_components, b.svd_components) && a.price_log_low == b.price_log_low &&
         a.price_log_high == b.price_log_high && a.fitted_items == b.fitted_items;
}

// ---- ContentEncoder ---------------------------------------------------------------------------

ContentEncoder::ContentEncoder(ContentEncoderOptions options) {
  options.validate();
  state_.options = std::move(options);
  build_layout();
}

ContentEncoder ContentEncoder::from_state(ContentEncoderState state) {
  ContentEncoder out;
  state.options.validate();
  const ContentEncoderOptions& o = state.options;
  if (!state.idf.empty()) {
    if (state.idf.size() != o.hash_buckets) {
      TAILOR_THROW(invalid_argument, "ContentEncoderState::idf has " << state.idf.size()
                                         << " values, options.hash_buckets is " << o.hash_buckets);
    }
    for (std::size_t b = 0; b < state.idf.size(); ++b) {
      if (!std::isfinite(state.idf[b]) || !(state.idf[b] > 0.0f)) {
        TAILOR_THROW(invalid_argument, "ContentEncoderState::idf[" << b
                                           << "] must be finite and > 0, got " << state.idf[b]);
      }
    }
    for (std::size_t r = 0; r < state.svd_buckets.size(); ++r) {
      if (state.svd_buckets[r] >= o.hash_buckets ||
          (r > 0 && state.svd_buckets[r] <= state.svd_buckets[r - 1])) {
        TAILOR_THROW(invalid_argument, "ContentEncoderState::svd_buckets[" << r << "] = "
                                           << state.svd_buckets[r]
                                           << " is out of range or not ascending");
      }
    }
    const bool svd = o.projection == TextProjection::svd;
    const auto rows = static_cast<Eigen::Index>(svd ? state.svd_buckets.size() : 0);
    const auto cols = static_cast<Eigen::Index>(svd ? o.text_dimension : 0);
    if (!svd && !state.svd_buckets.empty()) {
      TAILOR_THROW(invalid_argument,
                   "ContentEncoderState::svd_buckets must be empty with the random projection");
    }
    if (state.svd_components.rows() != rows ||
        (state.svd_components.size() != 0 && state.svd_components.cols() != cols)) {
      TAILOR_THROW(invalid_argument, "ContentEncoderState::svd_components is "
                                         << state.svd_components.rows() << " x "
                                         << state.svd_components.cols() << ", expected " << rows
                                         << " x " << cols);
    }
    if (!all_finite(state.svd_components.data(),
                    static_cast<std::size_t>(state.svd_components.size()))) {
      TAILOR_THROW(invalid_argument, "ContentEncoderState::svd_components has a non-finite value");
    }
    if (!std::isfinite(state.price_log_low) || !std::isfinite(state.price_log_high) ||
        !(state.price_log_high > state.price_log_low)) {
      TAILOR_THROW(invalid_argument, "ContentEncoderState: price range [" << state.price_log_low
                                         << ", " << state.price_log_high
                                         << "] must be finite with high > low");
    }
    if (state.fitted_items == 0) {
      TAILOR_THROW(invalid_argument, "ContentEncoderState::fitted_items must be > 0 when fitted");
    }
  }
  out.state_ = std::move(state);
  out.build_layout();
  return out;
}

void ContentEncoder::build_layout() {
  const ContentEncoderOptions& o = state_.options;
  blocks_.clear();
  std::size_t offset = 0;
  const auto add = [&](ContentField field, std::size_t size, float weight) {
    blocks_.push_back({field, offset, size, weight});
    offset += size;
  };
  if (o.text_weight > 0.0f && (o.title_weight > 0.0f || o.description_weight > 0.0f)) {
    add(ContentField::text, o.text_dimension, o.text_weight);
  }
  if (o.category_weight > 0.0f) add(ContentField::category, o.category_dimension, o.category_weight);
  if (o.brand_weight > 0.0f) add(ContentField::brand, o.brand_dimension, o.brand_weight);
  if (o.attribute_weight > 0.0f && !o.attribute_keys.empty()) {
    add(ContentField::attributes, o.attribute_dimension, o.attribute_weight);
  }
  if (o.price_weight > 0.0f) add(ContentField::price, o.price_buckets, o.price_weight);
  dimension_ = offset;
}

void ContentEncoder::require_fitted(const char* what) const {
  if (!fitted()) TAILOR_THROW(not_fitted, "ContentEncoder::" << what << ": the encoder is not fitted");
}

void ContentEncoder::fit(const Catalog& catalog) {
  if (catalog.empty()) TAILOR_THROW(invalid_argument, "ContentEncoder::fit: the catalog is empty");
  const ContentEncoderOptions& o = state_.options;
  ContentEncoderState next;
  next.options = o;
  const std::size_t n = catalog.size();
  next.fitted_items = n;

  // Text: hashed terms of every item, document frequency per bucket, smoothed idf.
  const bool text_on = !blocks_.empty() && blocks_.front().field == ContentField::text;
  std::vector<Features> features(n);
  std::vector<std::uint32_t> df(o.hash_buckets, 0);
  for (std::size_t i = 0; i < n && text_on; ++i) {
    const CatalogItem& item = catalog.at(static_cast<Index>(i));
    features[i] = raw_text_features(o, {{item.title, o.title_weight},
                                        {item.description, o.description_weight}});
    for (const auto& f : features[i]) ++df[f.first];  // buckets are unique per item
  }
  next.idf.resize(o.hash_buckets);
  const double n1 = 1.0 + static_cast<double>(n);
  for (std::size_t b = 0; b < o.hash_buckets; ++b) {
    next.idf[b] = static_cast<float>(std::log(n1 / (1.0 + df[b])) + 1.0);
  }
  df.clear();
  df.shrink_to_fit();

  // Price: bucket centres between the 2nd and 98th percentile of log(price > 0).
  std::vector<double> logs;
  for (const auto& item : catalog) {
    if (item.price && *item.price > 0.0 && std::isfinite(*item.price)) logs.push_back(std::log(*item.price));
  }
  std::sort(logs.begin(), logs.end());
  const auto quantile = [&](double q) {
    const double pos = q * static_cast<double>(logs.size() - 1);
    const auto lo = static_cast<std::size_t>(pos);
    const std::size_t hi = std::min(lo + 1, logs.size() - 1);
    return logs[lo] + (pos - static_cast<double>(lo)) * (logs[hi] - logs[lo]);
  };
  double low = 0.0, high = 0.0;
  if (!logs.empty()) {
    low = quantile(0.02);
    high = quantile(0.98);
  }
  if (!(high - low > 1e-6)) {  // fewer than two distinct prices: ratio 1.5 per bucket
    const double centre = logs.empty() ? 0.0 : quantile(0.5);
    const double half = 0.5 * static_cast<double>(o.price_buckets - 1) * std::log(1.5);
    low = centre - half;
    high = centre + half;
  }
  next.price_log_low = low;
  next.price_log_high = high;

  // SVD projection on the idf-weighted, normalised rows.
  if (o.projection == TextProjection::svd) {
    next.svd_components.resize(0, static_cast<Eigen::Index>(o.text_dimension));
    if (text_on) {
      std::vector<std::size_t> rows;
      for (std::size_t i = 0; i < n; ++i) {
        apply_idf(features[i], next.idf);
        if (!features[i].empty()) rows.push_back(i);
      }
      if (rows.size() > o.svd_max_items) {  // seeded sample, kept in catalog order
        SplitMix64 rng(o.seed ^ kSaltSample);
        for (std::size_t k = 0; k < o.svd_max_items; ++k) {
          std::swap(rows[k], rows[k + rng.below(rows.size() - k)]);
        }
        rows.resize(o.svd_max_items);
        std::sort(rows.begin(), rows.end());
      }
      std::vector<std::uint32_t> columns;
      for (std::size_t r : rows) {
        for (const auto& f : features[r]) columns.push_back(f.first);
      }
      std::sort(columns.begin(), columns.end());
      columns.erase(std::unique(columns.begin(), columns.end()), columns.end());
      const auto m = static_cast<Eigen::Index>(columns.size());
      const auto nr = static_cast<Eigen::Index>(rows.size());
      const auto d = static_cast<Eigen::Index>(o.text_dimension);
      const Eigen::Index l =
          std::min<Eigen::Index>(d + static_cast<Eigen::Index>(o.svd_oversampling), std::min(nr, m));
      RowMatrix components = RowMatrix::Zero(m, d);
      if (l > 0) {
        using SparseD = Eigen::SparseMatrix<double, Eigen::RowMajor>;
        std::vector<Eigen::Triplet<double>> triplets;
        for (Eigen::Index r = 0; r < nr; ++r) {
          for (const auto& f : features[rows[static_cast<std::size_t>(r)]]) {
            const auto c = std::lower_bound(columns.begin(), columns.end(), f.first) - columns.begin();
            triplets.emplace_back(r, static_cast<Eigen::Index>(c), f.second);
          }
        }
        SparseD a(nr, m);
        a.setFromTriplets(triplets.begin(), triplets.end());
        const SparseD at = a.transpose();
        SplitMix64 rng(o.seed ^ kSaltSvd);
        // Dense factors are row-major so that each sparse row streams contiguous dense rows.
        DenseRowsD omega(m, l);
        for (Eigen::Index i = 0; i < m; ++i) {
          for (Eigen::Index j = 0; j < l; ++j) omega(i, j) = rng.normal();
        }
        // Range finder on the item side (rows <= svd_max_items); each power iteration applies
        // A A^T and re-orthonormalises, which keeps the small singular directions from being
        // swamped in double precision for the few iterations allowed.
        DenseRowsD q = orthonormalize(a * omega);
        omega.resize(0, 0);
        for (std::size_t it = 0; it < o.svd_power_iterations; ++it) {
          const DenseRowsD z = at * q;
          q = orthonormalize(a * z);
        }
        const DenseRowsD bt = at * q;  // (Q^T A)^T, m x l
        Eigen::MatrixXd small = Eigen::MatrixXd::Zero(l, l);
        small.selfadjointView<Eigen::Lower>().rankUpdate(bt.transpose());
        small = small.selfadjointView<Eigen::Lower>();
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(small);
        if (eig.info() != Eigen::Success) {
          TAILOR_THROW(numerical_error, "ContentEncoder::fit: the SVD eigensolver did not converge");
        }
        // B = U S V^T, so V = B^T U S^-1: the right singular vectors, largest first, kept while
        // the singular value is not negligible (a rank-deficient catalog leaves zero columns).
        const Eigen::VectorXd& values = eig.eigenvalues();  // ascending
        const double top = values(l - 1);
        Eigen::Index kept = 0;
        while (kept < std::min(d, l) && top > 0.0 && values(l - 1 - kept) > 1e-10 * top) ++kept;
        Eigen::MatrixXd u_scaled(l, kept);
        for (Eigen::Index c = 0; c < kept; ++c) {
          u_scaled.col(c) = eig.eigenvectors().col(l - 1 - c) / std::sqrt(values(l - 1 - c));
        }
        DenseRowsD v = bt * u_scaled;  // m x kept
        for (Eigen::Index c = 0; c < kept; ++c) {
          Eigen::Index arg = 0;
          v.col(c).cwiseAbs().maxCoeff(&arg);
          if (v(arg, c) < 0.0) v.col(c) *= -1.0;  // fixed sign: the largest entry is positive
        }
        components.leftCols(kept) = v.cast<float>();
      }
      if (!all_finite(components.data(), static_cast<std::size_t>(components.size()))) {
        TAILOR_THROW(numerical_error, "ContentEncoder::fit: the SVD produced non-finite values");
      }
      next.svd_buckets = std::move(columns);
      next.svd_components = std::move(components);
    }
  }
  state_ = std::move(next);
}

bool ContentEncoder::project_text(const Features& features, float* out) const {
  const ContentEncoderOptions& o = state_.options;
  const std::size_t d = o.text_dimension;
  if (o.projection == TextProjection::random) {
    const std::uint64_t seed = mix64(o.seed ^ kSaltProjection);
    for (const auto& [bucket, value] : features) {
      add_random_code(seed ^ mix64(bucket + 0x632BE59BD9B4E019ull), d, value, out);
    }
  } else {
    const auto& rows = state_.svd_buckets;
    for (const auto& [bucket, value] : features) {
      const auto it = std::lower_bound(rows.begin(), rows.end(), bucket);
      if (it == rows.end() || *it != bucket) continue;
      const auto r = static_cast<Eigen::Index>(it - rows.begin());
      const float* row = state_.svd_components.row(r).data();
      for (std::size_t j = 0; j < d; ++j) out[j] += value * row[j];
    }
  }
  return !features.empty();
}

Features ContentEncoder::text_features(std::string_view title, std::string_view description) const {
  const ContentEncoderOptions& o = state_.options;
  Features f = raw_text_features(o, {{title, o.title_weight}, {description, o.description_weight}});
  apply_idf(f, state_.idf);
  return f;
}

void ContentEncoder::encode_into(const CatalogItem& item, float* out) const {
  const ContentEncoderOptions& o = state_.options;
  std::fill(out, out + dimension_, 0.0f);
  double total_weight = 0.0;
  for (const ContentBlock& block : blocks_) {
    float* dst = out + block.offset;
    switch (block.field) {
      case ContentField::text:
        project_text(text_features(item.title, item.description), dst);
        break;
      case ContentField::category: {
        std::string prefix;
        for (std::size_t level = 0; level < item.category_path.size(); ++level) {
          const std::string label = normalize_label(item.category_path[level]);
          if (level > 0) prefix.push_back(kLevelSeparator);
          prefix += label;
          if (label.empty()) continue;
          add_random_code(stable_hash(prefix, o.seed ^ kSaltCategory), block.size, 1.0f, dst);
        }
        break;
      }
      case ContentField::brand: {
        const std::string label = normalize_label(item.brand);
        if (!label.empty()) add_random_code(stable_hash(label, o.seed ^ kSaltBrand), block.size, 1.0f, dst);
        break;
      }
      case ContentField::attributes: {
        std::vector<std::string> features;
        for (const std::string& key : o.attribute_keys) {
          const auto it = item.attributes.find(key);
          if (it == item.attributes.end()) continue;
          std::string_view rest = it->second;
          while (true) {
            const std::size_t bar = rest.find('|');
            const std::string label = normalize_label(rest.substr(0, bar));
            if (!label.empty()) features.push_back(key + kLevelSeparator + label);
            if (bar == std::string_view::npos) break;
            rest.remove_prefix(bar + 1);
          }
        }
        std::sort(features.begin(), features.end());
        features.erase(std::unique(features.begin(), features.end()), features.end());
        for (const auto& f : features) {
          add_random_code(stable_hash(f, o.seed ^ kSaltAttribute), block.size, 1.0f, dst);
        }
        break;
      }
      case ContentField::price: {
        if (!item.price || !std::isfinite(*item.price) || *item.price < 0.0) break;
        const double x = price_position(*item.price, state_.price_log_low, state_.price_log_high,
                                        block.size);
        const double inv = 1.0 / (2.0 * o.price_overlap * o.price_overlap);
        for (std::size_t j = 0; j < block.size; ++j) {
          const double dx = x - static_cast<double>(j);
          dst[j] = static_cast<float>(std::exp(-dx * dx * inv));
        }
        break;
      }
    }
    if (finish_block(dst, block.size, block.weight)) total_weight += block.weight;
  }
  if (total_weight > 0.0) {
    const auto inv = static_cast<float>(1.0 / std::sqrt(total_weight));
    for (std::size_t j = 0; j < dimension_; ++j) out[j] *= inv;
  }
}

Vector ContentEncoder::encode(const CatalogItem& item) const {
  require_fitted("encode");
  Vector v(static_cast<Eigen::Index>(dimension_));
  encode_into(item, v.data());
  return v;
}

RowMatrix ContentEncoder::encode_all(const Catalog& catalog) const {
  require_fitted("encode_all");
  RowMatrix out(static_cast<Eigen::Index>(catalog.size()), static_cast<Eigen::Index>(dimension_));
  for (std::size_t i = 0; i < catalog.size(); ++i) {
    encode_into(catalog.at(static_cast<Index>(i)), out.row(static_cast<Eigen::Index>(i)).data());
  }
  return out;
}

RowMatrix ContentEncoder::encode_all(const Catalog& catalog, const IdMap& items) const {
  require_fitted("encode_all");
  RowMatrix out = RowMatrix::Zero(static_cast<Eigen::Index>(items.size()),
                                  static_cast<Eigen::Index>(dimension_));
  for (std::size_t i = 0; i < items.size(); ++i) {
    const CatalogItem* item = catalog.find(items.id(static_cast<Index>(i)));
    if (item != nullptr) encode_into(*item, out.row(static_cast<Eigen::Index>(i)).data());
  }
  return out;
}

Vector ContentEncoder::encode_text(std::string_view text) const {
  require_fitted("encode_text");
  Vector v = Vector::Zero(static_cast<Eigen::Index>(dimension_));
  if (blocks_.empty() || blocks_.front().field != ContentField::text) return v;
  Features f = raw_text_features(state_.options, {{text, 1.0f}});
  apply_idf(f, state_.idf);
  project_text(f, v.data());
  const double sq = v.squaredNorm();
  if (sq > 0.0 && std::isfinite(sq)) {
    v /= static_cast<float>(std::sqrt(sq));
  } else {
    v.setZero();
  }
  return v;
}

// ---- similarity and profiles ------------------------------------------------------------------

std::vector<ScoredItem> content_nearest(const RowMatrix& item_vectors,
                                        const Eigen::Ref<const Vector>& query, std::size_t k,
                                        Span<const Index> exclude) {
  if (query.size() != item_vectors.cols()) {
    TAILOR_THROW(invalid_argument, "content_nearest: query has " << query.size()
                                       << " values, item vectors have " << item_vectors.cols()
                                       << " columns");
  }
  if (k == 0 || item_vectors.rows() == 0) return {};
  Vector scores = item_vectors * query;
  const Vector norms = item_vectors.rowwise().squaredNorm();
  for (Eigen::Index i = 0; i < scores.size(); ++i) {
    if (!(norms(i) > 0.0f)) scores(i) = std::numeric_limits<float>::quiet_NaN();
  }
  return top_k(scores.data(), static_cast<std::size_t>(scores.size()), k, exclude);
}

std::vector<ScoredItem> content_similar(const RowMatrix& item_vectors, Index item, std::size_t k) {
  if (static_cast<Eigen::Index>(item) >= item_vectors.rows()) {
    TAILOR_THROW(invalid_argument, "content_similar: item " << item << " out of range ("
                                       << item_vectors.rows() << " item vectors)");
  }
  const Vector q = item_vectors.row(static_cast<Eigen::Index>(item)).transpose();
  if (!(q.squaredNorm() > 0.0f)) return {};
  return content_nearest(item_vectors, q, k, {item});
}

Vector user_content_profile(const RowMatrix& item_vectors, const std::vector<ProfileItem>& history,
                            Timestamp now, double half_life_days) {
  if (!std::isfinite(half_life_days) || half_life_days < 0.0) {
    TAILOR_THROW(invalid_argument, "user_content_profile: half_life_days must be finite and >= 0, got "
                                       << half_life_days);
  }
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(item_vectors.cols());
  for (std::size_t p = 0; p < history.size(); ++p) {
    const ProfileItem& h = history[p];
    if (static_cast<Eigen::Index>(h.item) >= item_vectors.rows()) {
      TAILOR_THROW(invalid_argument, "user_content_profile: history[" << p << "].item = " << h.item
                                         << " out of range (" << item_vectors.rows()
                                         << " item vectors)");
    }
    if (!std::isfinite(h.weight)) {
      TAILOR_THROW(invalid_argument, "user_content_profile: history[" << p
                                         << "].weight is not finite");
    }
    double w = h.weight;
    if (half_life_days > 0.0 && h.timestamp < now) {
      const double age_days = static_cast<double>(now - h.timestamp) / 86'400'000.0;
      w *= std::exp2(-age_days / half_life_days);
    }
    if (w == 0.0) continue;
    sum += w * item_vectors.row(static_cast<Eigen::Index>(h.item)).transpose().cast<double>();
  }
  const double norm = sum.norm();
  if (!(norm > 0.0) || !std::isfinite(norm)) return Vector::Zero(item_vectors.cols());
  return (sum / norm).cast<float>();
}


}  // namespace tailor
