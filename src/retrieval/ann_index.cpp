#include "tailor/retrieval/ann_index.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "tailor/core/error.hpp"
#include "internal/thread_pool.hpp"
#include "internal/checks.hpp"
#include "internal/dot.hpp"
#include "retrieval/bits.hpp"
#include "retrieval/hnsw_graph.hpp"

namespace tailor {
namespace {

constexpr std::size_t kMaxIdGap = std::size_t{1} << 20;
constexpr std::size_t kPredicateSamples = 512;
// Filtered walks: two-hop below this allowed fraction, plain above (see filtered_graph_search).
constexpr double kTwoHopBelow = 0.8;

std::atomic<std::uint64_t> next_instance_id{1};

// Throws invalid_argument naming the first non-finite value of `v` (`what` names the vector).
void check_finite(const float* v, std::size_t d, const char* what, Index item, bool has_item) {
  const std::size_t j = detail::first_non_finite(v, d);
  if (j == d) return;
  if (has_item) {
    TAILOR_THROW(invalid_argument, what << ": item " << item << ": value " << j
                                        << " is not finite (" << v[j] << ")");
  }
  TAILOR_THROW(invalid_argument, what << ": value " << j << " is not finite (" << v[j] << ")");
}

// The k best (item, score) pairs seen, by ranks_before (higher score, then lower id).
class TopK {
 public:
  explicit TopK(std::size_t k) : k_(k) { heap_.reserve(k + 1); }

  // Scores below this cannot enter (the worst kept score once full, else -inf).
  float floor() const {
    return heap_.size() < k_ ? -std::numeric_limits<float>::infinity() : heap_.front().score;
  }
  void push(Index item, float score) {
    if (std::isnan(score)) score = -std::numeric_limits<float>::infinity();
    const ScoredItem c{item, score};
    if (heap_.size() < k_) {
      heap_.push_back(c);
      std::push_heap(heap_.begin(), heap_.end(), ranks_before);
    } else if (ranks_before(c, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), ranks_before);
      heap_.back() = c;
      std::push_heap(heap_.begin(), heap_.end(), ranks_before);
    }
  }
  std::vector<ScoredItem> take() {
    std::sort_heap(heap_.begin(), heap_.end(), ranks_before);
    return std::move(heap_);
  }

 private:
  std::size_t k_;
  std::vector<ScoredItem> heap_;
};

// Walks a sorted exclusion list alongside increasing item ids.
class ExclusionCursor {
 public:
  explicit ExclusionCursor(const std::vector<Index>& sorted) : v_(sorted) {}
  bool excluded(Index item) {
    while (next_ < v_.size() && v_[next_] < item) ++next_;
    return next_ < v_.size() && v_[next_] == item;
  }

 private:
  const std::vector<Index>& v_;
  std::size_t next_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public small types.

const char* ann_backend_name(AnnBackend backend) noexcept {
  switch (backend) {
    case AnnBackend::automatic: return "automatic";
    case AnnBackend::exact: return "exact";
    case AnnBackend::hnsw: return "hnsw";
  }
  return "unknown";
}

void AnnIndexOptions::validate() const {
  TAILOR_REQUIRE(backend == AnnBackend::automatic || backend == AnnBackend::exact ||
                     backend == AnnBackend::hnsw,
                 "AnnIndexOptions.backend is not a known AnnBackend value");
  TAILOR_REQUIRE(M >= 2 && M <= 4096, "AnnIndexOptions.M must be in [2, 4096], got " << M);
  TAILOR_REQUIRE(ef_construction >= 1,
                 "AnnIndexOptions.ef_construction must be >= 1, got " << ef_construction);
  TAILOR_REQUIRE(ef_search >= 1, "AnnIndexOptions.ef_search must be >= 1, got " << ef_search);
  TAILOR_REQUIRE(build_threads <= 1024,
                 "AnnIndexOptions.build_threads must be <= 1024 (0 = hardware), got "
                     << build_threads);
  TAILOR_REQUIRE(!std::isnan(filter_graph_cost) && filter_graph_cost >= 0.0,
                 "AnnIndexOptions.filter_graph_cost must be >= 0, got " << filter_graph_cost);
  TAILOR_REQUIRE(filter_walk_min_fraction >= 0.0 && filter_walk_min_fraction <= 1.0,
                 "AnnIndexOptions.filter_walk_min_fraction must be in [0, 1], got "
                     << filter_walk_min_fraction);
  TAILOR_REQUIRE(std::isfinite(filter_overfetch) && filter_overfetch >= 1.0,
                 "AnnIndexOptions.filter_overfetch must be finite and >= 1, got "
                     << filter_overfetch);
}

// ---------------------------------------------------------------------------------------------
// The index.

struct AnnIndex::Impl {
  AnnIndexOptions options;
  std::size_t dim = 0;
  AnnBackend backend = AnnBackend::exact;
  std::shared_ptr<const RowMatrix> base;
  std::size_t base_rows = 0;
  std::vector<std::uint64_t> holes;  // base rows not in the build (not live then); immutable
  std::size_t hole_count = 0;

  std::unique_ptr<HnswGraph> graph;  // immutable once built; null for the exact backend
  std::size_t graph_items = 0;

  std::uint64_t instance_id = next_instance_id.fetch_add(1);
  std::mutex catch_up_mutex;   // serializes catch_up calls
  std::uint64_t source_id = 0;       // the index this one was rebuilt from (0: none)
  std::uint64_t source_version = 0;  // guarded by catch_up_mutex

  mutable std::shared_mutex mutex;
  // Guarded by `mutex`:
  std::vector<std::uint64_t> masked;  // base rows that are not live (holes included)
  std::size_t masked_count = 0;
  std::vector<Index> side_items;
  std::vector<float> side_vectors;  // side_items.size() x dim
  std::unordered_map<Index, std::size_t> side_slot;
  std::size_t id_bound = 0;
  std::uint64_t version = 0;
  std::vector<std::pair<std::uint64_t, Index>> log;  // (version, item) of every change
  // Masked rows that are in the graph; read without the lock for search planning.
  std::atomic<std::size_t> masked_graph{0};

  const float* base_row(std::size_t i) const { return base->data() + i * dim; }

  // --- state inspection (lock held by the caller) ---
  bool base_live(Index item) const { return item < base_rows && !bit(masked, item); }
  bool live(Index item) const { return base_live(item) || side_slot.count(item) != 0; }
  std::size_t live_count() const { return base_rows - masked_count + side_items.size(); }

  // --- mutations (exclusive lock held by the caller) ---
  void append_side(Index item, const float* v) {
    side_slot.emplace(item, side_items.size());
    side_items.push_back(item);
    side_vectors.insert(side_vectors.end(), v, v + dim);
  }
  void erase_side(Index item) {
    const auto it = side_slot.find(item);
    const std::size_t slot = it->second;
    const std::size_t last = side_items.size() - 1;
    if (slot != last) {
      side_items[slot] = side_items[last];
      std::copy_n(side_vectors.begin() + static_cast<std::ptrdiff_t>(last * dim), dim,
                  side_vectors.begin() + static_cast<std::ptrdiff_t>(slot * dim));
      side_slot[side_items[slot]] = slot;
    }
    side_items.pop_back();
    side_vectors.resize(side_items.size() * dim);
    side_slot.erase(it);
  }
  void mask(Index item) {
    set_bit(masked, item);
    ++masked_count;
    if (graph != nullptr && !bit(holes, item)) masked_graph.fetch_add(1, std::memory_order_relaxed);
  }
  void record(Index item) { log.emplace_back(++version, item); }

  // add (allow_existing = false), update (allow_new = false) or upsert.
  void write(Index item, const float* v, bool allow_new, bool allow_existing, const char* what) {
    const auto side = side_slot.find(item);
    if (side != side_slot.end()) {
      if (!allow_existing) {
        TAILOR_THROW(invalid_argument, what << ": item " << item
                                            << " is already in the index (use update or upsert)");
      }
      std::copy_n(v, dim, side_vectors.begin() + static_cast<std::ptrdiff_t>(side->second * dim));
    } else if (base_live(item)) {
      if (!allow_existing) {
        TAILOR_THROW(invalid_argument, what << ": item " << item
                                            << " is already in the index (use update or upsert)");
      }
      mask(item);
      append_side(item, v);
    } else {
      if (!allow_new) TAILOR_THROW(unknown_id, what << ": item " << item << " is not in the index");
      if (item >= id_bound + kMaxIdGap) {
        TAILOR_THROW(invalid_argument, what << ": item " << item << " is more than " << kMaxIdGap
                                            << " past id_bound() = " << id_bound
                                            << " (item ids must be dense)");
      }
      append_side(item, v);
      id_bound = std::max<std::size_t>(id_bound, std::size_t{item} + 1);
    }
    record(item);
  }
  void erase(Index item, const char* what) {
    if (side_slot.count(item) != 0) {
      erase_side(item);
    } else if (base_live(item)) {
      mask(item);
    } else {
      TAILOR_THROW(unknown_id, what << ": item " << item << " is not in the index");
    }
    record(item);
  }

  // --- search (shared lock held by the caller for the scan_* functions) ---

  // Scores every live base row that passes `f` into `top`.
  void scan_base(const float* q, const AnnFilter& f, TopK& top) const {
    ExclusionCursor excl(f.excluded_);
    switch (f.kind_) {
      case AnnFilter::Kind::all:
      case AnnFilter::Kind::predicate: {
        // Scores first, in blocks with the SIMD kernel; a predicate is asked only about items
        // whose score would enter the top k (about k log(n / k) of them for a lenient filter).
        const bool ask = f.kind_ == AnnFilter::Kind::predicate;
        constexpr std::size_t kBlock = 512;
        thread_local std::vector<float> scores;
        scores.resize(kBlock);
        for (std::size_t lo = 0; lo < base_rows; lo += kBlock) {
          const std::size_t n = std::min(kBlock, base_rows - lo);
          detail::dot_rows(base_row(lo), n, dim, q, scores.data());
          for (std::size_t r = 0; r < n; ++r) {
            const float s = scores[r];
            if (s < top.floor()) continue;
            const auto i = static_cast<Index>(lo + r);
            if (bit(masked, i) || excl.excluded(i) || (ask && !f.predicate_(i))) continue;
            top.push(i, s);
          }
        }
        break;
      }
      case AnnFilter::Kind::bitset: {
        const auto& allowed = f.bitset_->words();
        const std::size_t words = std::min(allowed.size(), word_count(base_rows));
        for (std::size_t w = 0; w < words; ++w) {
          std::uint64_t bits = allowed[w] & ~masked[w];
          while (bits != 0) {
            const std::size_t i = w * 64 + static_cast<std::size_t>(__builtin_ctzll(bits));
            bits &= bits - 1;
            if (i >= base_rows) break;
            const auto item = static_cast<Index>(i);
            if (excl.excluded(item)) continue;
            top.push(item, detail::dot(base_row(i), q, dim));
          }
        }
        break;
      }
      case AnnFilter::Kind::items: {
        for (Index item : f.items_) {
          if (item >= base_rows) break;
          if (bit(masked, item) || excl.excluded(item)) continue;
          top.push(item, detail::dot(base_row(item), q, dim));
        }
        break;
      }
    }
  }

  void scan_side(const float* q, const AnnFilter& f, TopK& top) const {
    for (std::size_t j = 0; j < side_items.size(); ++j) {
      if (!f.allows(side_items[j])) continue;
      top.push(side_items[j], detail::dot(side_vectors.data() + j * dim, q, dim));
    }
  }

  std::vector<ScoredItem> exact(const float* q, std::size_t k, const AnnFilter& f) const {
    std::shared_lock<std::shared_mutex> lock(mutex);
    TopK top(k);
    scan_base(q, f, top);
    scan_side(q, f, top);
    return top.take();
  }

  // Estimated fraction of base rows that pass `f` (before tombstones).
  double allowed_fraction(const AnnFilter& f) const {
    const double rows = static_cast<double>(std::max<std::size_t>(base_rows, 1));
    double frac = 1.0;
    switch (f.kind_) {
      case AnnFilter::Kind::all: break;
      case AnnFilter::Kind::bitset:
        frac = static_cast<double>(f.bitset_->count()) /
               static_cast<double>(std::max<std::size_t>(f.bitset_->universe(), base_rows));
        break;
      case AnnFilter::Kind::items: frac = static_cast<double>(f.items_.size()) / rows; break;
      case AnnFilter::Kind::predicate:
        if (f.expected_fraction_ >= 0.0) {
          frac = f.expected_fraction_;
        } else {
          const std::size_t samples = std::min(kPredicateSamples, base_rows);
          std::size_t hits = 0;
          for (std::size_t s = 0; s < samples; ++s) {
            const auto item = static_cast<Index>(s * base_rows / samples);
            if (f.predicate_(item)) ++hits;
          }
          frac = samples == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(samples);
        }
        break;
    }
    frac -= static_cast<double>(f.excluded_.size()) / rows;
    return std::clamp(frac, 0.0, 1.0);
  }

  std::vector<ScoredItem> search(const float* q, std::size_t k, const AnnFilter& f) const {
    check_finite(q, dim, "AnnIndex::search: query", 0, false);
    if (k == 0) return {};
    if (graph == nullptr) return exact(q, k, f);
    const bool filtered = !f.allows_all();
    const double frac = filtered ? allowed_fraction(f) : 1.0;
    const double live_frac =
        1.0 - static_cast<double>(masked_graph.load(std::memory_order_relaxed)) /
                  static_cast<double>(graph_items);
    // ef counts result nodes: all nodes unfiltered, allowed nodes filtered (the two-hop walk
    // moves among allowed nodes, so its recall at a given ef is that of an unfiltered walk);
    // tombstones are dropped afterwards, hence the live fraction.
    const double pass = std::max(frac * live_frac, 1e-12);
    const double per_result = filtered ? options.filter_overfetch : 1.0;
    const double wanted =
        std::ceil(per_result * static_cast<double>(k) / std::max(live_frac, 1e-12));
    std::size_t ef = static_cast<std::size_t>(
        std::min(static_cast<double>(graph_items),
                 std::max(static_cast<double>(options.ef_search), wanted)));
    // The exact scan scores the allowed items of a bitset or list (scattered rows), or every row
    // for a predicate (a sequential block scan, about half the cost per row).
    const double scan_cost = f.kind_ == AnnFilter::Kind::predicate
                                 ? 0.5 * static_cast<double>(base_rows)
                                 : pass * static_cast<double>(graph_items);

    for (;;) {
      // Filtered: a walk costs about filter_graph_cost allowed items scanned exactly per unit of
      // ef (measured), so a filter that leaves fewer is scanned instead; and below
      // filter_walk_min_fraction the allowed items are too thinly linked for the walk to find
      // the best of them (recall, measured), so those filters are scanned too.
      if (filtered && (frac < options.filter_walk_min_fraction ||
                       options.filter_graph_cost * static_cast<double>(ef) > scan_cost)) {
        return exact(q, k, f);
      }
      const auto found = filtered ? graph->filtered_search(q, ef, f, frac < kTwoHopBelow)
                                  : graph->search(q, ef);
      std::shared_lock<std::shared_mutex> lock(mutex);
      TopK top(k);
      std::size_t kept = 0;
      for (const auto& node : found) {
        if (bit(masked, node.item)) continue;
        // Scored on the graph's copy of the vector (just read, so in cache; equal to the base row).
        top.push(node.item, detail::dot(node.vector, q, dim));
        ++kept;
      }
      if (kept >= k) {
        scan_side(q, f, top);
        return top.take();
      }
      // Fewer than ef came back: the walk ran out of nodes, so items may be out of its reach (or,
      // filtered, fewer than k allowed items are live in the graph). The exact scan is complete.
      if (found.size() < ef || ef >= graph_items) {
        TopK all(k);
        scan_base(q, f, all);
        scan_side(q, f, all);
        return all.take();
      }
      ef = std::min(graph_items, ef * 4);  // tombstones took too many: widen
    }
  }

  // --- construction ---

  void init_overlay() {
    masked = holes;
    masked.resize(word_count(base_rows), 0);
    masked_count = hole_count;
    id_bound = base_rows;
  }

  void resolve_backend(std::size_t live_base) {
    switch (options.backend) {
      case AnnBackend::exact: backend = AnnBackend::exact; break;
      case AnnBackend::hnsw: backend = AnnBackend::hnsw; break;
      case AnnBackend::automatic:
        backend = live_base > options.exact_max_items ? AnnBackend::hnsw : AnnBackend::exact;
        break;
    }
  }

  std::size_t memory_bytes() const {
    std::size_t bytes = base_rows * dim * sizeof(float) + 2 * masked.size() * sizeof(std::uint64_t);
    bytes += side_vectors.capacity() * sizeof(float) +
             side_items.capacity() * (sizeof(Index) + 2 * sizeof(void*) + sizeof(std::size_t));
    if (graph != nullptr) bytes += graph->memory_bytes();
    return bytes;
  }

  // A graph over the base rows that are not holes (none when all are).
  void build_graph() {
    std::vector<Index> rows;
    rows.reserve(base_rows - hole_count);
    for (std::size_t i = 0; i < base_rows; ++i) {
      if (!bit(holes, i)) rows.push_back(static_cast<Index>(i));
    }
    if (rows.empty()) return;
    graph = HnswGraph::build(base->data(), dim, rows, options);
    graph_items = graph->size();
  }

  // Loads a stored graph over the base; base rows missing from it were not live at build time,
  // so they must be masked (they become the holes).
  void load_graph(const std::string& bytes) {
    std::vector<std::uint64_t> in_graph;
    graph = HnswGraph::load(bytes, base->data(), base_rows, dim, options, in_graph);
    graph_items = graph->size();
    holes.assign(word_count(base_rows), 0);
    hole_count = 0;
    std::size_t masked_in_graph = 0;
    for (std::size_t i = 0; i < base_rows; ++i) {
      if (bit(in_graph, i)) {
        if (bit(masked, i)) ++masked_in_graph;
        continue;
      }
      if (!bit(masked, i)) {
        TAILOR_THROW(corrupt_file, "AnnIndex graph: live item " << i << " is not in the graph");
      }
      set_bit(holes, i);
      ++hole_count;
    }
    masked_graph.store(masked_in_graph);
  }
};

namespace {

std::shared_ptr<const RowMatrix> checked_matrix(std::shared_ptr<const RowMatrix> m,
                                                const char* what) {
  TAILOR_REQUIRE(m != nullptr, what << ": the matrix is null");
  TAILOR_REQUIRE(m->cols() >= 1, what << ": the matrix has no columns (dimension 0)");
  TAILOR_REQUIRE(static_cast<std::uint64_t>(m->rows()) < (std::uint64_t{1} << 32) - 1,
                 what << ": too many rows for 32-bit item ids: " << m->rows());
  const float* data = m->data();
  const auto d = static_cast<std::size_t>(m->cols());
  for (Eigen::Index i = 0; i < m->rows(); ++i) {
    for (std::size_t j = 0; j < d; ++j) {
      const float v = data[static_cast<std::size_t>(i) * d + j];
      if (!std::isfinite(v)) {
        TAILOR_THROW(invalid_argument, what << ": row " << i << " (item " << i << ") column " << j
                                            << " is not finite (" << v << ")");
      }
    }
  }
  return m;
}

}  // namespace

AnnIndex::AnnIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AnnIndex::AnnIndex(const RowMatrix& vectors, const AnnIndexOptions& options)
    : AnnIndex(std::make_shared<const RowMatrix>(vectors), options) {}

AnnIndex::AnnIndex(std::shared_ptr<const RowMatrix> vectors, const AnnIndexOptions& options)
    : impl_(std::make_unique<Impl>()) {
  options.validate();
  Impl& im = *impl_;
  im.options = options;
  im.base = checked_matrix(std::move(vectors), "AnnIndex");
  im.dim = static_cast<std::size_t>(im.base->cols());
  im.base_rows = static_cast<std::size_t>(im.base->rows());
  im.holes.assign(word_count(im.base_rows), 0);
  im.init_overlay();
  im.resolve_backend(im.base_rows);
  if (im.backend == AnnBackend::hnsw) im.build_graph();
}

AnnIndex::~AnnIndex() = default;
AnnIndex::AnnIndex(AnnIndex&&) noexcept = default;
AnnIndex& AnnIndex::operator=(AnnIndex&&) noexcept = default;

std::size_t AnnIndex::dim() const noexcept { return impl_->dim; }
const AnnIndexOptions& AnnIndex::options() const noexcept { return impl_->options; }
AnnBackend AnnIndex::backend() const noexcept { return impl_->backend; }

std::size_t AnnIndex::size() const {
  std::shared_lock<std::shared_mutex> lock(impl_->mutex);
  return impl_->live_count();
}

std::size_t AnnIndex::id_bound() const {
  std::shared_lock<std::shared_mutex> lock(impl_->mutex);
  return impl_->id_bound;
}

bool AnnIndex::contains(Index item) const {
  std::shared_lock<std::shared_mutex> lock(impl_->mutex);
  return impl_->live(item);
}

Vector AnnIndex::vector(Index item) const {
  const Impl& im = *impl_;
  std::shared_lock<std::shared_mutex> lock(im.mutex);
  Vector v(static_cast<Eigen::Index>(im.dim));
  const auto side = im.side_slot.find(item);
  if (side != im.side_slot.end()) {
    std::copy_n(im.side_vectors.begin() + static_cast<std::ptrdiff_t>(side->second * im.dim),
                im.dim, v.data());
  } else if (im.base_live(item)) {
    std::copy_n(im.base_row(item), im.dim, v.data());
  } else {
    TAILOR_THROW(unknown_id, "AnnIndex::vector: item " << item << " is not in the index");
  }
  return v;
}

std::vector<ScoredItem> AnnIndex::search(Span<const float> query, std::size_t k,
                                         const AnnFilter& filter) const {
  TAILOR_REQUIRE(query.size() == impl_->dim, "AnnIndex::search: the query has "
                                                 << query.size() << " values, the index has dimension "
                                                 << impl_->dim);
  return impl_->search(query.data(), k, filter);
}

std::vector<ScoredItem> AnnIndex::search_exact(Span<const float> query, std::size_t k,
                                               const AnnFilter& filter) const {
  TAILOR_REQUIRE(query.size() == impl_->dim, "AnnIndex::search_exact: the query has "
                                                 << query.size() << " values, the index has dimension "
                                                 << impl_->dim);
  check_finite(query.data(), impl_->dim, "AnnIndex::search_exact: query", 0, false);
  if (k == 0) return {};
  return impl_->exact(query.data(), k, filter);
}

namespace {
void check_vector(Span<const float> v, std::size_t dim, Index item, const char* what) {
  if (v.size() != dim) {
    TAILOR_THROW(invalid_argument, what << ": item " << item << ": the vector has " << v.size()
                                        << " values, the index has dimension " << dim);
  }
  check_finite(v.data(), dim, what, item, true);
}
}  // namespace

void AnnIndex::add(Index item, Span<const float> vector) {
  check_vector(vector, impl_->dim, item, "AnnIndex::add");
  std::unique_lock<std::shared_mutex> lock(impl_->mutex);
  impl_->write(item, vector.data(), true, false, "AnnIndex::add");
}

void AnnIndex::update(Index item, Span<const float> vector) {
  check_vector(vector, impl_->dim, item, "AnnIndex::update");
  std::unique_lock<std::shared_mutex> lock(impl_->mutex);
  impl_->write(item, vector.data(), false, true, "AnnIndex::update");
}

void AnnIndex::upsert(Index item, Span<const float> vector) {
  check_vector(vector, impl_->dim, item, "AnnIndex::upsert");
  std::unique_lock<std::shared_mutex> lock(impl_->mutex);
  impl_->write(item, vector.data(), true, true, "AnnIndex::upsert");
}

void AnnIndex::remove(Index item) {
  std::unique_lock<std::shared_mutex> lock(impl_->mutex);
  impl_->erase(item, "AnnIndex::remove");
}

std::unique_ptr<AnnIndex> AnnIndex::rebuild() const {
  const Impl& im = *impl_;
  auto next = std::make_unique<Impl>();
  next->options = im.options;
  next->dim = im.dim;
  std::uint64_t version = 0;
  std::size_t live = 0;
  {
    std::shared_lock<std::shared_mutex> lock(im.mutex);
    version = im.version;
    const std::size_t rows = im.id_bound;
    auto m = std::make_shared<RowMatrix>(RowMatrix::Zero(static_cast<Eigen::Index>(rows),
                                                         static_cast<Eigen::Index>(im.dim)));
    next->holes.assign(word_count(rows), ~std::uint64_t{0});
    for (std::size_t i = 0; i < im.base_rows; ++i) {
      if (bit(im.masked, i)) continue;
      std::copy_n(im.base_row(i), im.dim, m->data() + i * im.dim);
      next->holes[i >> 6] &= ~(std::uint64_t{1} << (i & 63));
    }
    for (std::size_t j = 0; j < im.side_items.size(); ++j) {
      const std::size_t i = im.side_items[j];
      std::copy_n(im.side_vectors.data() + j * im.dim, im.dim, m->data() + i * im.dim);
      next->holes[i >> 6] &= ~(std::uint64_t{1} << (i & 63));
    }
    live = im.live_count();
    next->base = std::move(m);
    next->base_rows = rows;
  }
  // Clear the padding bits past the last row, then count the holes.
  if (next->base_rows % 64 != 0 && !next->holes.empty()) {
    next->holes.back() &= (std::uint64_t{1} << (next->base_rows % 64)) - 1;
  }
  next->hole_count = next->base_rows - live;
  next->init_overlay();
  next->resolve_backend(live);
  if (next->backend == AnnBackend::hnsw) next->build_graph();
  next->source_id = im.instance_id;
  next->source_version = version;
  std::unique_ptr<AnnIndex> result(new AnnIndex(std::move(next)));
  result->catch_up(*this);
  return result;
}

void AnnIndex::catch_up(const AnnIndex& source) {
  Impl& im = *impl_;
  const Impl& src = *source.impl_;
  TAILOR_REQUIRE(src.instance_id == im.source_id,
                 "AnnIndex::catch_up: this index was not rebuilt from the given source");
  std::lock_guard<std::mutex> serial(im.catch_up_mutex);
  struct Change {
    Index item;
    bool live;
    std::vector<float> vector;
  };
  std::vector<Change> changes;
  std::uint64_t upto = 0;
  {
    std::shared_lock<std::shared_mutex> lock(src.mutex);
    upto = src.version;
    auto first = std::upper_bound(
        src.log.begin(), src.log.end(), im.source_version,
        [](std::uint64_t v, const std::pair<std::uint64_t, Index>& e) { return v < e.first; });
    std::vector<Index> items;
    for (auto it = first; it != src.log.end(); ++it) items.push_back(it->second);
    sort_unique(items);
    for (Index item : items) {
      Change c{item, src.live(item), {}};
      if (c.live) {
        const auto side = src.side_slot.find(item);
        const float* v = side != src.side_slot.end()
                             ? src.side_vectors.data() + side->second * src.dim
                             : src.base_row(item);
        c.vector.assign(v, v + src.dim);
      }
      changes.push_back(std::move(c));
    }
  }
  {
    std::unique_lock<std::shared_mutex> lock(im.mutex);
    for (const Change& c : changes) {
      if (c.live) {
        im.write(c.item, c.vector.data(), true, true, "AnnIndex::catch_up");
      } else if (im.live(c.item)) {
        im.erase(c.item, "AnnIndex::catch_up");
      }
    }
  }
  im.source_version = upto;
}

bool AnnIndex::rebuild_recommended() const {
  const Impl& im = *impl_;
  std::shared_lock<std::shared_mutex> lock(im.mutex);
  return im.side_items.size() > im.options.rebuild_side_items ||
         (im.graph_items > 0 &&
          im.masked_graph.load(std::memory_order_relaxed) * 10 > im.graph_items);
}

AnnIndexStats AnnIndex::stats() const {
  const Impl& im = *impl_;
  std::shared_lock<std::shared_mutex> lock(im.mutex);
  AnnIndexStats s;
  s.backend = im.backend;
  s.dim = im.dim;
  s.items = im.live_count();
  s.id_bound = im.id_bound;
  s.graph_items = im.graph_items;
  s.base_items = im.base_rows;
  s.masked_base = im.masked_count - im.hole_count;
  s.side_items = im.side_items.size();
  s.memory_bytes = im.memory_bytes();
  return s;
}

AnnIndexState AnnIndex::export_state(bool with_graph) const {
  const Impl& im = *impl_;
  AnnIndexState s;
  s.options = im.options;
  s.dim = im.dim;
  s.base = im.base;
  {
    std::shared_lock<std::shared_mutex> lock(im.mutex);
    for (std::size_t i = 0; i < im.base_rows; ++i) {
      if (bit(im.masked, i)) s.base_masked.push_back(static_cast<Index>(i));
    }
    s.side_items = im.side_items;
    s.side_vectors.resize(static_cast<Eigen::Index>(im.side_items.size()),
                          static_cast<Eigen::Index>(im.dim));
    std::copy(im.side_vectors.begin(), im.side_vectors.end(), s.side_vectors.data());
  }
  if (with_graph && im.graph != nullptr) s.graph = im.graph->serialize();
  return s;
}

std::unique_ptr<AnnIndex> AnnIndex::from_state(AnnIndexState state) {
  try {
    state.options.validate();
  } catch (const Error& e) {
    TAILOR_THROW(corrupt_file, "AnnIndex state: " << e.what());
  }
  if (state.base == nullptr) TAILOR_THROW(corrupt_file, "AnnIndex state: no base matrix");
  if (state.dim == 0 || static_cast<std::size_t>(state.base->cols()) != state.dim) {
    TAILOR_THROW(corrupt_file, "AnnIndex state: dimension " << state.dim << " but the base matrix has "
                                                            << state.base->cols() << " columns");
  }
  try {
    checked_matrix(state.base, "AnnIndex state: base");
  } catch (const Error& e) {
    TAILOR_THROW(corrupt_file, e.what());
  }
  auto im = std::make_unique<Impl>();
  im->options = state.options;
  im->dim = state.dim;
  im->base = std::move(state.base);
  im->base_rows = static_cast<std::size_t>(im->base->rows());
  im->holes.assign(word_count(im->base_rows), 0);
  im->init_overlay();

  for (std::size_t j = 0; j < state.base_masked.size(); ++j) {
    const Index i = state.base_masked[j];
    if (i >= im->base_rows || (j > 0 && state.base_masked[j - 1] >= i)) {
      TAILOR_THROW(corrupt_file, "AnnIndex state: base_masked[" << j << "] = " << i
                                                                << " is out of range or not sorted");
    }
    set_bit(im->masked, i);
  }
  im->masked_count = state.base_masked.size();
  const std::size_t side = state.side_items.size();
  if (static_cast<std::size_t>(state.side_vectors.rows()) != side ||
      (side > 0 && static_cast<std::size_t>(state.side_vectors.cols()) != state.dim)) {
    TAILOR_THROW(corrupt_file, "AnnIndex state: " << side << " side items but side_vectors is "
                                                  << state.side_vectors.rows() << " x "
                                                  << state.side_vectors.cols());
  }
  for (std::size_t j = 0; j < side; ++j) {
    const Index item = state.side_items[j];
    if (item < im->base_rows && !bit(im->masked, item)) {
      TAILOR_THROW(corrupt_file, "AnnIndex state: side item " << item
                                                              << " is also a live base row");
    }
    if (item >= im->id_bound + kMaxIdGap || im->side_slot.count(item) != 0) {
      TAILOR_THROW(corrupt_file, "AnnIndex state: side item " << item
                                                              << " is repeated or out of range");
    }
    const float* v = state.side_vectors.data() + j * state.dim;
    for (std::size_t c = 0; c < state.dim; ++c) {
      if (!std::isfinite(v[c])) {
        TAILOR_THROW(corrupt_file, "AnnIndex state: side item " << item << " value " << c
                                                                << " is not finite");
      }
    }
    im->append_side(item, v);
    im->id_bound = std::max<std::size_t>(im->id_bound, std::size_t{item} + 1);
  }

  if (!state.graph.empty()) {
    im->backend = AnnBackend::hnsw;
    im->load_graph(state.graph);
  } else {
    // Everything masked is a hole of the graph to build.
    im->holes = im->masked;
    im->hole_count = im->masked_count;
    im->resolve_backend(im->base_rows - im->masked_count);
    if (im->backend == AnnBackend::hnsw) im->build_graph();
  }
  return std::unique_ptr<AnnIndex>(new AnnIndex(std::move(im)));
}

}  // namespace tailor
