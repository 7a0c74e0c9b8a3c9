#include "persistence/encoding.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <utility>

#include "tailor/core/error.hpp"
#include "internal/checks.hpp"

namespace tailor {
namespace {

constexpr std::uint32_t kCatalogLayout = 1;

// Runs `f`; an Error(invalid_argument) from a constructor or validate() on decoded data means the
// stored data is bad, so it becomes Error(corrupt_file) at the reader's position.
template <class F>
void as_corrupt(ByteReader& r, std::string_view what, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    if (e.code() != ErrorCode::invalid_argument) throw;
    r.fail(std::string(what) + ": " + e.what());
  }
}

// Matrix dimensions are below 2^31 (row indices are 32-bit Index values everywhere), which also
// keeps an empty matrix from claiming 2^62 rows.
std::uint64_t read_dimension(ByteReader& r, const char* what) {
  const std::uint64_t n = r.u64();
  if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()))
    r.fail(std::string(what) + " " + std::to_string(n) + " is out of range (at most 2^31 - 1)");
  return n;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Dense arrays

void encode(ByteWriter& w, const RowMatrix& m) {
  w.u64(static_cast<std::uint64_t>(m.rows()));
  w.u64(static_cast<std::uint64_t>(m.cols()));
  w.f32_array(m.data(), static_cast<std::size_t>(m.size()));
}

namespace {

// Every float array a file holds must be finite: a NaN or infinity would reach scores.
void require_finite(const ByteReader& r, const float* v, std::size_t n, std::size_t cols,
                    const char* what) {
  const std::size_t j = detail::first_non_finite(v, n);
  if (j == n) return;
  std::ostringstream os;
  os << what << ": value " << j;
  if (cols > 1) os << " (row " << j / cols << ", column " << j % cols << ")";
  os << " is not finite (" << v[j] << ")";
  r.fail(os.str());
}

}  // namespace

void decode(ByteReader& r, RowMatrix& m) {
  const std::uint64_t rows = read_dimension(r, "matrix rows");
  const std::uint64_t cols = read_dimension(r, "matrix cols");
  // rows * cols floats must be present before anything is allocated (overflow-safe).
  const std::uint64_t left = r.remaining() / sizeof(float);
  if (cols != 0 && rows > left / cols) {
    r.fail("matrix of " + std::to_string(rows) + " x " + std::to_string(cols) + " floats needs " +
           "more than the " + std::to_string(r.remaining()) + " bytes left");
  }
  m.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  r.f32_array(m.data(), static_cast<std::size_t>(rows * cols));
  require_finite(r, m.data(), static_cast<std::size_t>(rows * cols), static_cast<std::size_t>(cols),
                 "matrix");
}

void encode(ByteWriter& w, const Vector& v) {
  w.u64(static_cast<std::uint64_t>(v.size()));
  w.f32_array(v.data(), static_cast<std::size_t>(v.size()));
}

void decode(ByteReader& r, Vector& v) {
  const std::size_t n = r.checked_count(r.u64(), sizeof(float), "vector size");
  v.resize(static_cast<Eigen::Index>(n));
  r.f32_array(v.data(), n);
  require_finite(r, v.data(), n, 1, "vector");
}

void encode(ByteWriter& w, const std::vector<std::uint32_t>& v) {
  w.u64(v.size());
  w.u32_array(v.data(), v.size());
}

void decode(ByteReader& r, std::vector<std::uint32_t>& v) {
  const std::size_t n = r.checked_count(r.u64(), sizeof(std::uint32_t), "u32 vector size");
  v.resize(n);
  r.u32_array(v.data(), n);
}

void encode(ByteWriter& w, const std::vector<float>& v) {
  w.u64(v.size());
  w.f32_array(v.data(), v.size());
}

void decode(ByteReader& r, std::vector<float>& v) {
  const std::size_t n = r.checked_count(r.u64(), sizeof(float), "f32 vector size");
  v.resize(n);
  r.f32_array(v.data(), n);
  require_finite(r, v.data(), n, 1, "array");
}

void encode(ByteWriter& w, const std::vector<std::string>& v) {
  w.u64(v.size());
  for (const std::string& s : v) w.string(s);
}

void decode(ByteReader& r, std::vector<std::string>& v) {
  const std::size_t n = r.checked_count(r.u64(), 4, "string count");
  v.clear();
  v.reserve(n);
  for (std::size_t i = 0; i < n; ++i) v.push_back(r.string());
}

// ---------------------------------------------------------------------------------------------
// IDs and catalog

void encode(ByteWriter& w, const IdMap& ids) {
  w.u64(ids.size());
  for (const std::string& id : ids.ids()) w.string(id);
}

void decode(ByteReader& r, IdMap& ids) {
  const std::size_t n = r.checked_count(r.u64(), 4, "ID count");
  if (n > 0xFFFFFFFEu) r.fail("ID count " + std::to_string(n) + " exceeds an IdMap's capacity");
  IdMap out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string id = r.string();
    if (out.insert(id) != i) {
      r.fail("ID '" + id.substr(0, 64) + "' at index " + std::to_string(i) +
             " duplicates index " + std::to_string(*out.find(id)));
    }
  }
  ids = std::move(out);
}

void encode(ByteWriter& w, const CatalogItem& item) {
  w.string(item.id);
  w.string(item.title);
  w.string(item.description);
  w.u64(item.category_path.size());
  for (const std::string& c : item.category_path) w.string(c);
  w.string(item.brand);
  w.boolean(item.price.has_value());
  if (item.price) w.f64(*item.price);
  w.boolean(item.in_stock);
  w.u64(item.attributes.size());
  for (const auto& [key, value] : item.attributes) {
    w.string(key);
    w.string(value);
  }
}

void decode(ByteReader& r, CatalogItem& item) {
  CatalogItem out;
  out.id = r.string();
  out.title = r.string();
  out.description = r.string();
  const std::size_t depth = r.checked_count(r.u64(), 4, "category path length");
  out.category_path.reserve(depth);
  for (std::size_t i = 0; i < depth; ++i) out.category_path.push_back(r.string());
  out.brand = r.string();
  if (r.boolean()) out.price = r.f64();
  out.in_stock = r.boolean();
  const std::size_t attributes = r.checked_count(r.u64(), 8, "attribute count");
  for (std::size_t i = 0; i < attributes; ++i) {
    std::string key = r.string();
    std::string value = r.string();
    if (!out.attributes.emplace(std::move(key), std::move(value)).second)
      r.fail("item '" + out.id.substr(0, 64) + "': attribute key repeated");
  }
  item = std::move(out);
}

void encode(ByteWriter& w, const Catalog& catalog) {
  w.u32(kCatalogLayout);
  w.u64(catalog.size());
  for (const CatalogItem& item : catalog) encode(w, item);
}

void decode(ByteReader& r, Catalog& catalog) {
  const std::uint32_t layout = r.u32();
  if (layout != kCatalogLayout)
    TAILOR_THROW(unsupported_version, r.context() << ", offset " << r.offset() - 4
                                                  << ": catalog layout " << layout
                                                  << "; this build reads layout "
                                                  << kCatalogLayout);
  // An item takes at least 34 bytes (five empty strings, two counts, two flags).
  const std::size_t n = r.checked_count(r.u64(), 34, "catalog item count");
  Catalog out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    CatalogItem item;
    decode(r, item);
    as_corrupt(r, "catalog item " + std::to_string(i), [&] {
      const std::string id = item.id;
      if (!out.upsert(std::move(item), UpsertMode::replace).inserted)
        TAILOR_THROW(invalid_argument, "ID '" << id.substr(0, 64) << "' appears twice");
    });
  }
  catalog = std::move(out);
}

// ---------------------------------------------------------------------------------------------
// Events

void encode(ByteWriter& w, const Event& event) {
  w.string(event.user);
  w.string(event.item);
  w.u16(static_cast<std::uint16_t>(event.type));
  w.i64(event.timestamp);
  w.boolean(event.value.has_value());
  if (event.value) w.f64(*event.value);
  w.string(event.session);
  w.string(event.query);
}

void decode(ByteReader& r, Event& event) {
  Event out;
  out.user = r.string();
  out.item = r.string();
  out.type = static_cast<EventType>(r.u16());
  out.timestamp = r.i64();
  if (r.boolean()) out.value = r.f64();
  out.session = r.string();
  out.query = r.string();
  event = std::move(out);
}

// ---------------------------------------------------------------------------------------------
// JSON and options

void encode_json(ByteWriter& w, const nlohmann::json& value) {
  std::string text;
  try {
    text = value.dump();
  } catch (const nlohmann::json::exception& e) {
    TAILOR_THROW(invalid_argument, "encode(json): cannot store the value: " << e.what());
  }
  w.string(text);
}

void decode_json(ByteReader& r, nlohmann::json& value) {
  const std::uint64_t at = r.offset();
  const std::string text = r.string();
  value = parse_stored_json(text, r.context() + ", offset " + std::to_string(at));
}

nlohmann::json als_options_to_json(const ALSOptions& o) {
  return {
      {"factors", o.factors},
      {"iterations", o.iterations},
      {"regularization", o.regularization},
      {"regularization_exponent", o.regularization_exponent},
      {"unobserved_weight", o.unobserved_weight},
      {"feedback", o.feedback == ALSFeedback::implicit ? "implicit" : "explicit_ratings"},
      {"solver", o.solver == ALSSolver::conjugate_gradient ? "conjugate_gradient" : "cholesky"},
      {"cg_steps", o.cg_steps},
      {"seed", o.seed},
      {"init_scale", o.init_scale},
      {"threads", o.threads},
      {"compute_loss", o.compute_loss},
      {"validation_every", o.validation_every},
      {"patience", o.patience},
  };
}

namespace {

const nlohmann::json* field(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

[[noreturn]] void bad_field(const char* key, const char* expected, const nlohmann::json& value) {
  TAILOR_THROW(invalid_argument, "ALSOptions JSON: '" << key << "' must be " << expected
                                                      << ", got " << value.dump());
}

template <class T>
void read_unsigned(const nlohmann::json& j, const char* key, T& out) {
  const nlohmann::json* v = field(j, key);
  if (v == nullptr) return;
  if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<std::int64_t>() >= 0))
    bad_field(key, "a non-negative integer", *v);
  const auto u = v->get<std::uint64_t>();
  if (u > std::numeric_limits<T>::max()) bad_field(key, "a smaller integer", *v);
  out = static_cast<T>(u);
}

void read_int(const nlohmann::json& j, const char* key, int& out) {
  const nlohmann::json* v = field(j, key);
  if (v == nullptr) return;
  if (!v->is_number_integer()) bad_field(key, "an integer", *v);
  const auto i = v->get<std::int64_t>();
  if (i < std::numeric_limits<int>::min() || i > std::numeric_limits<int>::max())
    bad_field(key, "an int", *v);
  out = static_cast<int>(i);
}

void read_float(const nlohmann::json& j, const char* key, float& out) {
  const nlohmann::json* v = field(j, key);
  if (v == nullptr) return;
  if (!v->is_number()) bad_field(key, "a number", *v);
  const double d = v->get<double>();
  if (!(std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max())))
    bad_field(key, "a number in float range", *v);
  out = static_cast<float>(d);
}

void read_bool(const nlohmann::json& j, const char* key, bool& out) {
  const nlohmann::json* v = field(j, key);
  if (v == nullptr) return;
  if (!v->is_boolean()) bad_field(key, "true or false", *v);
  out = v->get<bool>();
}

}  // namespace

ALSOptions als_options_from_json(const nlohmann::json& j) {
  if (!j.is_object()) TAILOR_THROW(invalid_argument, "ALSOptions JSON: not an object: " << j.type_name());
  ALSOptions o;
  read_unsigned(j, "factors", o.factors);
  read_int(j, "iterations", o.iterations);
  read_float(j, "regularization", o.regularization);
  read_float(j, "regularization_exponent", o.regularization_exponent);
  read_float(j, "unobserved_weight", o.unobserved_weight);
  if (const nlohmann::json* v = field(j, "feedback")) {
    if (*v == "implicit") {
      o.feedback = ALSFeedback::implicit;
    } else if (*v == "explicit_ratings") {
      o.feedback = ALSFeedback::explicit_ratings;
    } else {
      bad_field("feedback", "\"implicit\" or \"explicit_ratings\"", *v);
    }
  }
  if (const nlohmann::json* v = field(j, "solver")) {
    if (*v == "conjugate_gradient") {
      o.solver = ALSSolver::conjugate_gradient;
    } else if (*v == "cholesky") {
      o.solver = ALSSolver::cholesky;
    } else {
      bad_field("solver", "\"conjugate_gradient\" or \"cholesky\"", *v);
    }
  }
  read_int(j, "cg_steps", o.cg_steps);
  read_unsigned(j, "seed", o.seed);
  read_float(j, "init_scale", o.init_scale);
  read_unsigned(j, "threads", o.threads);
  read_bool(j, "compute_loss", o.compute_loss);
  read_int(j, "validation_every", o.validation_every);
  read_int(j, "patience", o.patience);
  o.validate();
  return o;
}

void encode(ByteWriter& w, const ALSOptions& options) {
  encode_json(w, als_options_to_json(options));
}

void decode(ByteReader& r, ALSOptions& options) {
  nlohmann::json j;
  decode_json(r, j);
  as_corrupt(r, "ALS options", [&] { options = als_options_from_json(j); });
}

// ---------------------------------------------------------------------------------------------
// Sparse matrices and neighbour lists

void encode(ByteWriter& w, const SparseMatrix& m) {
  w.u64(static_cast<std::uint64_t>(m.rows()));
  w.u64(static_cast<std::uint64_t>(m.cols()));
  w.u64(static_cast<std::uint64_t>(m.nonZeros()));
  for (Eigen::Index r = 0; r <= m.rows(); ++r) w.u32(static_cast<std::uint32_t>(m.outerIndexPtr()[r]));
  for (Eigen::Index i = 0; i < m.nonZeros(); ++i) w.u32(static_cast<std::uint32_t>(m.innerIndexPtr()[i]));
  w.f32_array(m.valuePtr(), static_cast<std::size_t>(m.nonZeros()));
}

void decode(ByteReader& r, SparseMatrix& out) {
  const char* what = "sparse matrix";
  const std::uint64_t rows = r.u64(), cols = r.u64(), nnz = r.u64();
  constexpr std::uint64_t kMax = std::numeric_limits<std::int32_t>::max();
  if (rows > kMax || cols > kMax || nnz > kMax) {
    TAILOR_THROW(corrupt_file, r.context() << ": " << what << ": shape " << rows << " x " << cols
                                           << " with " << nnz << " entries exceeds the limits");
  }
  // Bounds against the bytes left before allocating: 4 bytes per offset, 8 per entry.
  r.checked_count(rows + 1, 4, what);
  r.checked_count(nnz, 8, what);
  std::vector<std::int32_t> outer(rows + 1), inner(nnz);
  std::vector<float> values(nnz);
  for (auto& o : outer) o = static_cast<std::int32_t>(r.u32());
  for (auto& i : inner) i = static_cast<std::int32_t>(r.u32());
  r.f32_array(values.data(), values.size());
  if (outer.front() != 0 || static_cast<std::uint64_t>(outer.back()) != nnz) {
    TAILOR_THROW(corrupt_file, r.context() << ": " << what << ": row offsets do not span the entries");
  }
  // Every offset first: a later one below an earlier one would let a row run past the entries.
  for (std::uint64_t row = 0; row < rows; ++row) {
    if (outer[row] > outer[row + 1] || outer[row] < 0) {
      TAILOR_THROW(corrupt_file, r.context() << ": " << what << ": row offsets decrease at row " << row);
    }
  }
  for (std::uint64_t row = 0; row < rows; ++row) {
    for (auto e = outer[row]; e < outer[row + 1]; ++e) {
      const auto c = inner[static_cast<std::size_t>(e)];
      if (c < 0 || static_cast<std::uint64_t>(c) >= cols ||
          (e > outer[row] && inner[static_cast<std::size_t>(e) - 1] >= c)) {
        TAILOR_THROW(corrupt_file, r.context() << ": " << what << ": row " << row
                                               << ": column indices out of range or unsorted");
      }
      if (!std::isfinite(values[static_cast<std::size_t>(e)])) {
        TAILOR_THROW(corrupt_file, r.context() << ": " << what << ": row " << row << ": non-finite value");
      }
    }
  }
  SparseMatrix m(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  m.reserve(static_cast<Eigen::Index>(nnz));
  for (std::uint64_t row = 0; row < rows; ++row) {
    m.startVec(static_cast<Eigen::Index>(row));
    for (auto e = outer[row]; e < outer[row + 1]; ++e) {
      m.insertBack(static_cast<Eigen::Index>(row), inner[static_cast<std::size_t>(e)]) =
          values[static_cast<std::size_t>(e)];
    }
  }
  m.finalize();
  out = std::move(m);
}

void encode(ByteWriter& w, const ItemNeighbors& n) {
  w.u64(n.n_items());
  for (std::size_t i = 0; i < n.n_items(); ++i) {
    const auto list = n.of(static_cast<Index>(i));
    w.u32(static_cast<std::uint32_t>(list.size()));
    for (const auto& e : list) {
      w.u32(e.item);
      w.f32(e.similarity);
    }
  }
}

void decode(ByteReader& r, ItemNeighbors& out) {
  const char* what = "neighbour lists";
  const std::size_t n = r.checked_count(r.u64(), 4, what);
  std::vector<std::vector<ItemNeighbor>> lists(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t count = r.checked_count(r.u32(), 8, what);
    lists[i].resize(count);
    for (auto& e : lists[i]) {
      e.item = r.u32();
      e.similarity = r.f32();
      if (e.item >= n) {
        TAILOR_THROW(corrupt_file, r.context() << ": " << what << ": item " << i << " lists neighbour "
                                               << e.item << " of " << n);
      }
    }
  }
  try {
    out = ItemNeighbors::from_lists(lists);
  } catch (const Error& e) {
    TAILOR_THROW(corrupt_file, r.context() << ": " << what << ": " << e.what());
  }
}


// ---------------------------------------------------------------------------------------------
// Model states

void encode(ByteWriter& w, const ContentEncoderState& s) {
  encode(w, s.idf);
  encode(w, s.svd_buckets);
  encode(w, s.svd_components);
  w.f64(s.price_log_low);
  w.f64(s.price_log_high);
  w.u64(s.fitted_items);
}

void decode(ByteReader& r, ContentEncoderState& s) {
  decode(r, s.idf);
  decode(r, s.svd_buckets);
  decode(r, s.svd_components);
  s.price_log_low = r.f64();
  s.price_log_high = r.f64();
  s.fitted_items = static_cast<std::size_t>(r.u64());
}

void encode(ByteWriter& w, const ContentBridgeState& s) {
  encode(w, s.weights);
  encode(w, s.bias);
  w.u64(s.training_items);
}

void decode(ByteReader& r, ContentBridgeState& s) {
  decode(r, s.weights);
  decode(r, s.bias);
  s.training_items = static_cast<std::size_t>(r.u64());
}

void encode(ByteWriter& w, const AnnIndexState& s) {
  w.u64(s.dim);
  encode(w, *s.base);
  encode(w, std::vector<std::uint32_t>(s.base_masked.begin(), s.base_masked.end()));
  encode(w, std::vector<std::uint32_t>(s.side_items.begin(), s.side_items.end()));
  encode(w, s.side_vectors);
  w.string(s.graph);
}

void decode(ByteReader& r, AnnIndexState& s) {
  s.dim = static_cast<std::size_t>(r.u64());
  RowMatrix base;
  decode(r, base);
  s.base = std::make_shared<const RowMatrix>(std::move(base));
  std::vector<std::uint32_t> masked, side;
  decode(r, masked);
  decode(r, side);
  s.base_masked.assign(masked.begin(), masked.end());
  s.side_items.assign(side.begin(), side.end());
  decode(r, s.side_vectors);
  s.graph = r.string();
}

// ---------------------------------------------------------------------------------------------
// ALS model

void write_als(ModelWriter& writer, const ALSState& state, std::string_view prefix) {
  const std::string p(prefix);
  write_section(writer, p + ".options", state.options);
  write_section(writer, p + ".user_factors", state.user_factors);
  write_section(writer, p + ".item_factors", state.item_factors);
}

ALSFactorizer read_als(ModelReader& reader, std::string_view prefix) {
  const std::string p(prefix);
  ALSState state;
  state.options = read_section<ALSOptions>(reader, p + ".options");
  state.user_factors = read_section<RowMatrix>(reader, p + ".user_factors");
  state.item_factors = read_section<RowMatrix>(reader, p + ".item_factors");
  try {
    return ALSFactorizer::from_state(std::move(state));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::invalid_argument) throw;
    TAILOR_THROW(corrupt_file, reader.name() << ": sections '" << p << ".*' disagree: " << e.what());
  }
}

}  // namespace tailor
