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
#include "internal/bytes.hpp"
#include "internal/checks.hpp"
#include "internal/dot.hpp"
#include "internal/random.hpp"

// hnswlib 0.6.2 (Debian) defines non-inline functions (cpuid, xgetbv, AVXCapable,
// AVX512Capable) and global variables (hnswlib::InnerProductSIMD16Ext, L2SqrSIMD16Ext...) in its
// headers, so two objects of one program that both include it fail to link. libtailor includes it
// here only, under private names (namespace tailor_hnswlib), so that a host program may include
// hnswlib itself and link libtailor statically. The standard and intrinsics headers hnswlib pulls
// in are included first so that the renaming macros touch hnswlib's own code only.
#include <cpuid.h>
#include <x86intrin.h>

#include <deque>
#include <fstream>
#include <iostream>
#include <list>
#include <queue>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

// hnswlib's SSE build prefetches the neighbour after the last one in a link list, reading four
// bytes past the end of an upper-level list's allocation. The read is harmless on real hardware
// (the value only feeds a prefetch hint) but AddressSanitizer reports it as a heap overflow, so a
// host that builds tailor under ASan would stop in our code. Under ASan, hnswlib is compiled
// without its manual vectorization (no prefetches, scalar distances); results are unchanged.
#if defined(__SANITIZE_ADDRESS__)
#define NO_MANUAL_VECTORIZATION
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_MANUAL_VECTORIZATION
#endif
#endif
#define hnswlib tailor_hnswlib
#define cpuid tailor_hnswlib_cpuid
#define xgetbv tailor_hnswlib_xgetbv
#define AVXCapable tailor_hnswlib_avx_capable
#define AVX512Capable tailor_hnswlib_avx512_capable
#include <hnswlib/hnswlib.h>
#undef AVX512Capable
#undef AVXCapable
#undef xgetbv
#undef cpuid
#undef hnswlib

namespace {
// The level of the item being inserted by this thread, as a uniform draw in (0, 1].
thread_local double tls_level_draw = 0.5;
}  // namespace

// hnswlib draws each inserted node's level from one std::default_random_engine shared by all
// inserting threads without a lock (a data race when the graph is built on several threads, and
// levels that depend on the thread schedule). This specialization, visible before any use of the
// class, takes the draw from the inserting thread instead; the builder sets it from a hash of
// (seed, item), so every item's level is fixed by the seed. Same law as hnswlib's:
// floor(-ln(u) * mult) with mult = 1 / ln(M).
namespace tailor_hnswlib {
template <>
int HierarchicalNSW<float>::getRandomLevel(double reverse_size) {
  return static_cast<int>(-std::log(tls_level_draw) * reverse_size);
}
}  // namespace tailor_hnswlib

namespace tailor {
namespace {

namespace hnsw = ::tailor_hnswlib;
using Graph = hnsw::HierarchicalNSW<float>;

constexpr std::size_t kMaxIdGap = std::size_t{1} << 20;
constexpr std::size_t kPredicateSamples = 512;
// Filtered walks: two-hop below this allowed fraction, plain above (see filtered_graph_search).
constexpr double kTwoHopBelow = 0.8;

// ---------------------------------------------------------------------------------------------
// Small helpers.


inline bool bit(const std::vector<std::uint64_t>& words, std::size_t i) {
  return ((words[i >> 6] >> (i & 63)) & 1u) != 0;
}
inline void set_bit(std::vector<std::uint64_t>& words, std::size_t i) {
  words[i >> 6] |= std::uint64_t{1} << (i & 63);
}
inline std::size_t word_count(std::size_t bits) { return (bits + 63) / 64; }

std::uint64_t splitmix64(std::uint64_t x) { return detail::mix64(x + detail::kGoldenGamma); }

// A uniform draw in (0, 1] fixed by (seed, item): the item's HNSW level draw.
double level_draw(std::uint64_t seed, Index item) {
  const std::uint64_t h = splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(item) + 1));
  return (static_cast<double>(h >> 11) + 1.0) * 0x1.0p-53;
}

std::atomic<std::uint64_t> next_instance_id{1};

void sort_unique(std::vector<Index>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

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

// ---------------------------------------------------------------------------------------------
// Graph (de)serialization in hnswlib 0.6.2's saveIndex layout.

// hnswlib writes host-endian size_t, int, unsigned and double fields; we write the same layout
// explicitly little-endian with 64-bit sizes (what hnswlib writes on every 64-bit little-endian
// host, x86-64 and ARM64 alike). The element blocks are hnswlib's memory as is.
std::string serialize_graph(const Graph& g) {
  detail::ByteWriter out;
  const std::size_t count = g.cur_element_count;
  out.u64(g.offsetLevel0_);
  out.u64(count);  // max_elements_: the graph is never grown, so it equals the count
  out.u64(count);
  out.u64(g.size_data_per_element_);
  out.u64(g.label_offset_);
  out.u64(g.offsetData_);
  out.u32(static_cast<std::uint32_t>(g.maxlevel_));
  out.u32(g.enterpoint_node_);
  out.u64(g.maxM_);
  out.u64(g.maxM0_);
  out.u64(g.M_);
  out.f64(g.mult_);
  out.u64(g.ef_construction_);
  out.bytes(g.data_level0_memory_, count * g.size_data_per_element_);
  for (std::size_t i = 0; i < count; ++i) {
    const int level = g.element_levels_[i];
    const auto size =
        static_cast<std::uint32_t>(level > 0 ? g.size_links_per_element_ * level : 0);
    out.u32(size);
    if (size > 0) out.bytes(g.linkLists_[i], size);
  }
  return out.release();
}

// Reads a link list header: the neighbour count (low 16 bits) and the flag bytes above it.
inline std::uint32_t list_header(const char* p) {
  std::uint32_t h;
  std::memcpy(&h, p, sizeof h);
  return h;
}

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

ItemBitset::ItemBitset(std::size_t universe)
    : words_(word_count(universe), 0), universe_(universe) {}

ItemBitset ItemBitset::of(const std::vector<Index>& items, std::size_t universe) {
  ItemBitset s(universe);
  for (Index i : items) s.set(i);
  return s;
}

void ItemBitset::set(Index item) {
  if (item >= universe_) {
    TAILOR_THROW(invalid_argument, "ItemBitset::set: item " << item << " is outside the universe [0, "
                                                            << universe_ << ")");
  }
  std::uint64_t& w = words_[item >> 6];
  const std::uint64_t m = std::uint64_t{1} << (item & 63);
  if ((w & m) == 0) {
    w |= m;
    ++count_;
  }
}

void ItemBitset::reset(Index item) noexcept {
  if (item >= universe_) return;
  std::uint64_t& w = words_[item >> 6];
  const std::uint64_t m = std::uint64_t{1} << (item & 63);
  if ((w & m) != 0) {
    w &= ~m;
    --count_;
  }
}

AnnFilter AnnFilter::only(std::shared_ptr<const ItemBitset> allowed) {
  TAILOR_REQUIRE(allowed != nullptr, "AnnFilter::only: the bitset is null");
  AnnFilter f;
  f.kind_ = Kind::bitset;
  f.bitset_ = std::move(allowed);
  return f;
}

AnnFilter AnnFilter::only_items(std::vector<Index> allowed) {
  AnnFilter f;
  f.kind_ = Kind::items;
  f.items_ = std::move(allowed);
  sort_unique(f.items_);
  return f;
}

AnnFilter AnnFilter::where(std::function<bool(Index)> allowed, double expected_fraction) {
  TAILOR_REQUIRE(static_cast<bool>(allowed), "AnnFilter::where: the predicate is empty");
  TAILOR_REQUIRE(!std::isnan(expected_fraction) && expected_fraction <= 1.0,
                 "AnnFilter::where: expected_fraction must be in [0, 1] (or < 0: estimate), got "
                     << expected_fraction);
  AnnFilter f;
  f.kind_ = Kind::predicate;
  f.predicate_ = std::move(allowed);
  f.expected_fraction_ = expected_fraction;
  return f;
}

AnnFilter& AnnFilter::excluding(std::vector<Index> items) {
  excluded_.insert(excluded_.end(), items.begin(), items.end());
  sort_unique(excluded_);
  return *this;
}

bool AnnFilter::passes_allowed(Index item) const {
  switch (kind_) {
    case Kind::all: return true;
    case Kind::bitset: return bitset_->test(item);
    case Kind::items: return std::binary_search(items_.begin(), items_.end(), item);
    case Kind::predicate: return predicate_(item);
  }
  return false;
}

bool AnnFilter::is_excluded(Index item) const {
  return !excluded_.empty() && std::binary_search(excluded_.begin(), excluded_.end(), item);
}

bool AnnFilter::allows(Index item) const {
  // The cheaper test first: a bitset or list rejects most items before the exclusion search; a
  // predicate may cost more than the search.
  if (kind_ == Kind::predicate) return !is_excluded(item) && predicate_(item);
  return passes_allowed(item) && !is_excluded(item);
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

  std::unique_ptr<hnsw::InnerProductSpace> space;
  std::unique_ptr<Graph> graph;  // immutable once built; null for the exact backend
  std::size_t graph_items = 0;
  // Item of each graph node (hnswlib keeps the label beside the node's vector, a cache miss
  // away; filtered walks test every node they pass).
  std::vector<Index> node_item;

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

  // Greedy descent through the upper levels: the level-0 entry node for `q` (hnswlib's own).
  unsigned int descend(const float* q) const {
    const Graph& g = *graph;
    unsigned int cur = g.enterpoint_node_;
    float cur_dist = g.fstdistfunc_(q, g.getDataByInternalId(cur), g.dist_func_param_);
    for (int level = g.maxlevel_; level > 0; --level) {
      for (bool changed = true; changed;) {
        changed = false;
        unsigned int* list = g.get_linklist(cur, level);
        const unsigned int n = g.getListCount(list);
        for (unsigned int j = 1; j <= n; ++j) {
          const unsigned int cand = list[j];
          const float d = g.fstdistfunc_(q, g.getDataByInternalId(cand), g.dist_func_param_);
          if (d < cur_dist) {
            cur_dist = d;
            cur = cand;
            changed = true;
          }
        }
      }
    }
    return cur;
  }

  // The `ef` best graph nodes for `q` as (distance, internal id), farthest first: hnswlib's
  // searchKnn minus its shared hop counters (atomics every searching thread writes), with ef
  // chosen per call instead of the graph-wide setEf, which may not change while others search.
  std::vector<std::pair<float, unsigned int>> graph_search(const float* q, std::size_t ef) const {
    auto top = graph->searchBaseLayerST<false, false>(descend(q), q, ef);
    std::vector<std::pair<float, unsigned int>> out;
    out.reserve(top.size());
    while (!top.empty()) {
      out.push_back(top.top());
      top.pop();
    }
    return out;
  }

  // The `ef` best graph nodes whose item passes `allowed`, as (distance, internal id): the
  // level-0 beam search of hnswlib with a filter (hnswlib 0.6.2 has none). It stops once ef
  // allowed nodes are held and the frontier is farther than the worst of them; fewer than ef
  // come back only when the walk ran out of nodes.
  //
  // A lenient filter (at least kTwoHopBelow allowed: exclusions, "in stock") is walked plainly:
  // every neighbour is scored and may join the frontier, only allowed ones enter the result
  // list. That costs little more than an unfiltered walk and lets the walk cross a rejected
  // neighbourhood (the 300 items nearest the query excluded: recall@10 0.81 plain, 0.6 two-hop).
  //
  // Otherwise a node is expanded "two-hop": its allowed neighbours are scored; a rejected one is
  // not scored and never joins the frontier, its own neighbours are looked at instead, until
  // one list's worth (2M) of allowed nodes is gathered. The walk runs on the allowed items
  // alone, linked through the items they share as neighbours, so its cost follows ef instead of
  // ef / allowed fraction. Checking a node against the filter reads a 4-byte array and the
  // filter; scoring it reads its vector. (Passing through rejected nodes instead, scoring them
  // all, reached recall@50 0.84 / 0.66 / 0.34 at 50% / 20% / 5% allowed on a 1M-item ALS model
  // at p50 0.8 / 2.8 / 19 ms; at ef 100 this walk reached 0.84 / 0.64 / 0.26 at p50 0.33 /
  // 0.37 / 0.19 ms.) Its recall is bounded by how the allowed items link up, not by ef (ef 400
  // and 1000 gained 0.01-0.04): an inner-product graph's lists lean towards a few large-norm
  // hubs, and a thin allowed set is poorly connected through them. search() therefore scans
  // filters below filter_walk_min_fraction, and a walk that runs out of nodes.
  template <class Allowed>
  std::vector<std::pair<float, unsigned int>> filtered_graph_search(const float* q,
                                                                    std::size_t ef,
                                                                    const Allowed& allowed,
                                                                    bool two_hop) const {
    const Graph& g = *graph;
    using Entry = std::pair<float, unsigned int>;
    using Heap = std::priority_queue<Entry, std::vector<Entry>, Graph::CompareByFirst>;
    Heap top;       // allowed results, worst on top
    Heap frontier;  // nodes to expand, by negated distance: closest on top
    hnsw::VisitedList* visited_list = g.visited_list_pool_->getFreeVisitedList();
    hnsw::vl_type* visited = visited_list->mass;
    const hnsw::vl_type tag = visited_list->curV;
    float bound = std::numeric_limits<float>::infinity();
    auto allowed_node = [&](unsigned int node) { return allowed(node_item[node]); };
    auto distance = [&](unsigned int node) {
      return g.fstdistfunc_(q, g.getDataByInternalId(node), g.dist_func_param_);
    };
    // A scored node joins the frontier when it could still improve the result list.
    auto consider = [&](unsigned int node, float d, bool is_allowed) {
      if (top.size() < ef || d < bound) {
        frontier.emplace(-d, node);
        if (is_allowed) {
          top.emplace(d, node);
          if (top.size() > ef) top.pop();
          bound = top.top().first;
        }
      }
    };
    const unsigned int entry = descend(q);
    visited[entry] = tag;
    {
      const float d = distance(entry);
      frontier.emplace(-d, entry);
      if (allowed_node(entry)) {
        top.emplace(d, entry);
        bound = d;
      }
    }
    const std::size_t batch_cap = g.maxM0_;
    thread_local std::vector<unsigned int> batch;
    while (!frontier.empty()) {
      const auto [neg_dist, node] = frontier.top();
      if (-neg_dist > bound && top.size() >= ef) break;
      frontier.pop();
      unsigned int* list = g.get_linklist0(node);
      const unsigned int n = g.getListCount(list);
      if (!two_hop) {
        for (unsigned int j = 1; j <= n; ++j) {
          const unsigned int cand = list[j];
          if (j < n) _mm_prefetch(g.getDataByInternalId(list[j + 1]), _MM_HINT_T0);
          if (visited[cand] == tag) continue;
          visited[cand] = tag;
          consider(cand, distance(cand), allowed_node(cand));
        }
        continue;
      }
      batch.clear();
      for (unsigned int j = 1; j <= n; ++j) {
        const unsigned int cand = list[j];
        if (visited[cand] != tag && allowed_node(cand)) {
          visited[cand] = tag;
          batch.push_back(cand);
        }
      }
      for (unsigned int j = 1; j <= n && batch.size() < batch_cap; ++j) {
        const unsigned int via = list[j];
        if (visited[via] == tag) continue;  // allowed (taken above) or already looked through
        unsigned int* list2 = g.get_linklist0(via);
        const unsigned int n2 = g.getListCount(list2);
        unsigned int j2 = 1;
        for (; j2 <= n2 && batch.size() < batch_cap; ++j2) {
          const unsigned int cand = list2[j2];
          if (visited[cand] != tag && allowed_node(cand)) {
            visited[cand] = tag;
            batch.push_back(cand);
          }
        }
        if (j2 > n2) visited[via] = tag;  // its whole list was looked at
      }
      for (std::size_t b = 0; b < batch.size(); ++b) {
        if (b + 1 < batch.size()) _mm_prefetch(g.getDataByInternalId(batch[b + 1]), _MM_HINT_T0);
        consider(batch[b], distance(batch[b]), true);
      }
    }
    g.visited_list_pool_->releaseVisitedList(visited_list);
    std::vector<Entry> out;
    out.reserve(top.size());
    while (!top.empty()) {
      out.push_back(top.top());
      top.pop();
    }
    return out;
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
      const auto found =
          filtered ? filtered_graph_search(q, ef, [&f](Index i) { return f.allows(i); },
                                           frac < kTwoHopBelow)
                                  : graph_search(q, ef);
      std::shared_lock<std::shared_mutex> lock(mutex);
      TopK top(k);
      std::size_t kept = 0;
      for (const auto& [distance, node] : found) {
        const auto item = static_cast<Index>(graph->getExternalLabel(node));
        if (bit(masked, item)) continue;
        // Scored on the graph's copy of the vector (just read, so in cache; equal to the base row).
        top.push(item, detail::dot(reinterpret_cast<const float*>(graph->getDataByInternalId(node)),
                                q, dim));
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

  void build_graph() {
    std::vector<Index> rows;
    rows.reserve(base_rows - hole_count);
    for (std::size_t i = 0; i < base_rows; ++i) {
      if (!bit(holes, i)) rows.push_back(static_cast<Index>(i));
    }
    if (rows.empty()) return;
    space = std::make_unique<hnsw::InnerProductSpace>(dim);
    graph = std::make_unique<Graph>(space.get(), rows.size(), options.M, options.ef_construction,
                                    options.seed);
    graph->metric_hops = 0;
    graph->metric_distance_computations = 0;
    graph->setEf(options.ef_search);
    graph_items = rows.size();
    // Insertion order. hnswlib holds a graph-wide mutex for the whole insertion of a node that
    // raises the top level, while locking other nodes' lists; every other insertion takes that
    // mutex while holding its own node's lock. That lock-order inversion is a potential deadlock
    // (ThreadSanitizer reports it even on one thread), and concurrent insertions of upper-level
    // nodes can lock each other's lists in both orders. So: the top-level node goes first (no
    // later node raises the top level), the other upper-level nodes (about 1/M of them) follow on
    // this thread, and only level-0 nodes, which link into the graph as their last step, are
    // inserted in parallel.
    const std::uint64_t seed = options.seed;
    const double mult = 1.0 / std::log(static_cast<double>(options.M));
    std::vector<Index> upper, level0;
    Index top = rows[0];
    int top_level = -1;
    for (Index i : rows) {
      const int level = static_cast<int>(-std::log(level_draw(seed, i)) * mult);
      (level > 0 ? upper : level0).push_back(i);
      if (level > top_level) {
        top_level = level;
        top = i;
      }
    }
    auto insert = [&](Index i) {
      tls_level_draw = level_draw(seed, i);
      graph->addPoint(base_row(i), i);
    };
    insert(top);
    for (Index i : upper) {
      if (i != top) insert(i);
    }
    if (top_level == 0) level0.erase(std::find(level0.begin(), level0.end(), top));
    detail::ThreadPool pool(std::min(options.build_threads == 0 ? detail::ThreadPool::hardware_threads()
                                                         : options.build_threads,
                             std::max<std::size_t>(level0.size(), 1)));
    pool.parallel_for(0, level0.size(), 64, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t r = lo; r < hi; ++r) insert(level0[r]);
    });
    index_nodes();
    repair_reachability(pool);
  }

  void index_nodes() {
    node_item.resize(graph_items);
    for (std::size_t v = 0; v < graph_items; ++v) {
      node_item[v] = static_cast<Index>(graph->getExternalLabel(static_cast<unsigned int>(v)));
    }
  }

  // Under inner product, HNSW's neighbour selection leaves many nodes without incoming level-0
  // links (measured: 12% of a 20k and 24% of a 32k clustered set, among them items that are some
  // query's best match), so no search can return them. This pass, run once after the build and
  // before the graph is published, appends to a level-0 list that has room a link to every node a
  // breadth-first walk from the entry point does not reach: from the node's own closest
  // out-neighbour that is reached, else from the closest reached node a graph search for the
  // node's vector finds. It never replaces a link: replacing (the farthest link of a full list)
  // reached 99.7% of a 32k set but dropped its recall@10 from 0.993 to 0.853. Deterministic for a
  // given graph. Returns the number of links added. The graph searches (the expensive part: on
  // 1M clustered items it ran for minutes on one thread) run in parallel on `pool` between two
  // sequential linking steps, while no list changes.
  std::size_t repair_reachability(detail::ThreadPool& pool) {
    Graph& g = *graph;
    const std::size_t n = graph_items;
    const std::size_t cap = g.maxM0_;
    auto list = [&](unsigned int v) { return g.get_linklist0(v); };
    auto dist = [&](unsigned int a, unsigned int b) {
      return g.fstdistfunc_(g.getDataByInternalId(a), g.getDataByInternalId(b),
                            g.dist_func_param_);
    };
    std::size_t added = 0;
    // Appends the link from -> to if from's list has room and lacks it.
    auto append = [&](unsigned int from, unsigned int to) {
      if (from == to) return false;
      unsigned int* l = list(from);
      const unsigned int count = g.getListCount(l);
      if (count >= cap) return false;
      for (unsigned int j = 1; j <= count; ++j) {
        if (l[j] == to) return false;
      }
      l[count + 1] = to;
      g.setListCount(l, static_cast<unsigned short>(count + 1));
      ++added;
      return true;
    };
    std::vector<char> reached(n);
    std::vector<unsigned int> queue;
    std::vector<std::pair<float, unsigned int>> from;
    for (int round = 0; round < 8; ++round) {
      std::fill(reached.begin(), reached.end(), 0);
      queue.assign(1, g.enterpoint_node_);
      reached[g.enterpoint_node_] = 1;
      for (std::size_t head = 0; head < queue.size(); ++head) {
        unsigned int* l = list(queue[head]);
        for (unsigned int j = 1; j <= g.getListCount(l); ++j) {
          if (!reached[l[j]]) {
            reached[l[j]] = 1;
            queue.push_back(l[j]);
          }
        }
      }
      if (queue.size() == n) break;
      const std::size_t before = added;
      std::vector<unsigned int> unlinked;  // no reached out-neighbour could take a link
      for (unsigned int v = 0; v < n; ++v) {
        if (reached[v]) continue;
        from.clear();
        unsigned int* l = list(v);
        for (unsigned int j = 1; j <= g.getListCount(l); ++j) {
          if (reached[l[j]]) from.emplace_back(dist(v, l[j]), l[j]);
        }
        std::sort(from.begin(), from.end());
        bool linked = false;
        for (const auto& [d, u] : from) {
          if ((linked = append(u, v))) break;
        }
        if (!linked) unlinked.push_back(v);
      }
      // In batches (bounded memory): search a batch in parallel, then link it in order.
      constexpr std::size_t kBatch = 4096;
      std::vector<std::vector<std::pair<float, unsigned int>>> near(kBatch);
      for (std::size_t b = 0; b < unlinked.size(); b += kBatch) {
        const std::size_t m = std::min(kBatch, unlinked.size() - b);
        pool.parallel_for(0, m, 16, [&](std::size_t lo, std::size_t hi) {
          for (std::size_t r = lo; r < hi; ++r) {
            const float* x =
                reinterpret_cast<const float*>(g.getDataByInternalId(unlinked[b + r]));
            near[r] = graph_search(x, options.ef_search);  // farthest first
          }
        });
        for (std::size_t r = 0; r < m; ++r) {
          for (auto it = near[r].rbegin(); it != near[r].rend(); ++it) {
            if (reached[it->second] && append(it->second, unlinked[b + r])) break;
          }
        }
      }
      if (added == before) break;
    }
    return added;
  }

  // Loads `bytes` (hnswlib 0.6.2 layout) as the graph over the base, checking it completely
  // first: hnswlib's loader trusts its input.
  void load_graph(const std::string& bytes) {
    detail::ByteReader in = detail::ByteReader::view(bytes, "AnnIndex graph");
    const std::uint64_t offset_level0 = in.u64();
    in.u64();  // max_elements
    const std::uint64_t count = in.u64();
    const std::uint64_t size_data = in.u64();
    const std::uint64_t label_offset = in.u64();
    const std::uint64_t offset_data = in.u64();
    const auto max_level = static_cast<std::int32_t>(in.u32());
    const std::uint32_t enter = in.u32();
    const std::uint64_t max_m = in.u64();
    const std::uint64_t max_m0 = in.u64();
    const std::uint64_t m = in.u64();
    const double mult = in.f64();
    const std::uint64_t ef_construction = in.u64();

    const std::size_t links0 = 2 * options.M * sizeof(unsigned int) + sizeof(unsigned int);
    const std::size_t links = options.M * sizeof(unsigned int) + sizeof(unsigned int);
    auto check = [](bool ok, const char* what, std::size_t got, std::size_t want) {
      if (!ok) {
        TAILOR_THROW(corrupt_file, "AnnIndex graph: " << what << " is " << got << ", expected "
                                                      << want);
      }
    };
    check(offset_level0 == 0, "offsetLevel0", offset_level0, 0);
    check(m == options.M, "M", m, options.M);
    check(max_m == options.M, "maxM", max_m, options.M);
    check(max_m0 == 2 * options.M, "maxM0", max_m0, 2 * options.M);
    check(offset_data == links0, "offsetData", offset_data, links0);
    check(label_offset == links0 + dim * sizeof(float), "label_offset", label_offset,
          links0 + dim * sizeof(float));
    check(size_data == links0 + dim * sizeof(float) + sizeof(std::size_t),
          "size_data_per_element", size_data, links0 + dim * sizeof(float) + sizeof(std::size_t));
    check(count >= 1 && count <= base_rows, "element count", count, base_rows);
    check(enter < count, "entry point", enter, count);
    check(max_level >= 0 && max_level <= 255, "max level", static_cast<std::size_t>(max_level),
          255);
    check(std::isfinite(mult) && mult > 0.0 && ef_construction >= 1, "mult/ef_construction",
          ef_construction, 1);
    if (in.remaining() / size_data < count) {
      TAILOR_THROW(corrupt_file, "AnnIndex graph: " << count << " elements of " << size_data
                                                    << " bytes do not fit in the "
                                                    << in.remaining() << " bytes left");
    }
    const char* level0 = in.bytes(count * size_data).data();
    std::vector<int> levels(count, 0);
    std::vector<const char*> upper(count, nullptr);
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint32_t size = in.u32();
      if (size % links != 0 || size / links > static_cast<std::size_t>(max_level)) {
        TAILOR_THROW(corrupt_file, "AnnIndex graph: element " << i << ": link list size " << size
                                                              << " is not a whole number of levels"
                                                                 " up to the max level");
      }
      levels[i] = static_cast<int>(size / links);
      if (size > 0) upper[i] = in.bytes(size).data();
    }
    if (in.remaining() != 0) {
      TAILOR_THROW(corrupt_file, "AnnIndex graph: " << in.remaining()
                                                    << " unexpected bytes after the last element");
    }
    if (levels[enter] != max_level) {
      TAILOR_THROW(corrupt_file, "AnnIndex graph: the entry point's level " << levels[enter]
                                                                            << " is not the max level "
                                                                            << max_level);
    }
    // Labels, vectors and links.
    std::vector<std::uint64_t> seen(word_count(base_rows), 0);
    auto check_list = [&](const char* list, std::size_t i, int level, std::size_t cap) {
      const std::uint32_t header = list_header(list);
      const std::size_t n = header & 0xFFFFu;
      if ((header >> 16) != 0 || n > cap) {
        TAILOR_THROW(corrupt_file, "AnnIndex graph: element " << i << " level " << level
                                                              << ": bad link list header " << header);
      }
      for (std::size_t j = 0; j < n; ++j) {
        unsigned int to;
        std::memcpy(&to, list + sizeof(unsigned int) * (j + 1), sizeof to);
        if (to >= count || levels[to] < level || to == i) {
          TAILOR_THROW(corrupt_file, "AnnIndex graph: element " << i << " level " << level
                                                                << ": bad link to " << to);
        }
      }
    };
    for (std::size_t i = 0; i < count; ++i) {
      const char* element = level0 + i * size_data;
      std::size_t label;
      std::memcpy(&label, element + label_offset, sizeof label);
      if (label >= base_rows || bit(seen, label)) {
        TAILOR_THROW(corrupt_file, "AnnIndex graph: element " << i << ": label " << label
                                                              << " is out of range or repeated");
      }
      set_bit(seen, label);
      if (std::memcmp(element + offset_data, base_row(label), dim * sizeof(float)) != 0) {
        TAILOR_THROW(corrupt_file, "AnnIndex graph: element " << i << ": the vector of item "
                                                              << label
                                                              << " differs from the base matrix");
      }
      check_list(element, i, 0, 2 * options.M);
      for (int l = 1; l <= levels[i]; ++l) {
        check_list(upper[i] + static_cast<std::size_t>(l - 1) * links, i, l, options.M);
      }
    }
    // Base rows missing from the graph were not live at build time: they must be masked.
    holes.assign(word_count(base_rows), 0);
    hole_count = 0;
    for (std::size_t i = 0; i < base_rows; ++i) {
      if (bit(seen, i)) continue;
      if (!bit(masked, i)) {
        TAILOR_THROW(corrupt_file, "AnnIndex graph: live item " << i << " is not in the graph");
      }
      set_bit(holes, i);
      ++hole_count;
    }

    space = std::make_unique<hnsw::InnerProductSpace>(dim);
    auto g = std::make_unique<Graph>(space.get(), count, options.M, ef_construction, options.seed);
    g->metric_hops = 0;
    g->metric_distance_computations = 0;
    std::memcpy(g->data_level0_memory_, level0, count * size_data);
    g->cur_element_count = count;
    g->maxlevel_ = max_level;
    g->enterpoint_node_ = enter;
    g->mult_ = mult;
    for (std::size_t i = 0; i < count; ++i) {
      g->linkLists_[i] = nullptr;
      if (levels[i] > 0) {
        const std::size_t size = links * static_cast<std::size_t>(levels[i]);
        g->linkLists_[i] = static_cast<char*>(std::malloc(size));
        if (g->linkLists_[i] == nullptr) throw std::bad_alloc();
        std::memcpy(g->linkLists_[i], upper[i], size);
        g->element_levels_[i] = levels[i];
      }
      g->label_lookup_[g->getExternalLabel(static_cast<unsigned int>(i))] =
          static_cast<unsigned int>(i);
    }
    g->setEf(options.ef_search);
    graph = std::move(g);
    graph_items = count;
    index_nodes();
    std::size_t masked_in_graph = 0;
    for (std::size_t i = 0; i < base_rows; ++i) {
      if (bit(masked, i) && !bit(holes, i)) ++masked_in_graph;
    }
    masked_graph.store(masked_in_graph);
  }

  std::size_t memory_bytes() const {
    std::size_t bytes = base_rows * dim * sizeof(float) + 2 * masked.size() * sizeof(std::uint64_t);
    bytes += side_vectors.capacity() * sizeof(float) +
             side_items.capacity() * (sizeof(Index) + 2 * sizeof(void*) + sizeof(std::size_t));
    if (graph != nullptr) {
      bytes += graph_items * graph->size_data_per_element_;
      for (std::size_t i = 0; i < graph_items; ++i) {
        if (graph->element_levels_[i] > 0) {
          bytes += graph->size_links_per_element_ *
                   static_cast<std::size_t>(graph->element_levels_[i]);
        }
      }
      // label map (~32 bytes a node), one mutex and one level a node, a visited list per searcher
      bytes += graph_items * (32 + sizeof(std::mutex) + sizeof(int) + 2) +
               Graph::max_update_element_locks * sizeof(std::mutex);
    }
    return bytes;
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
  if (with_graph && im.graph != nullptr) s.graph = serialize_graph(*im.graph);
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
