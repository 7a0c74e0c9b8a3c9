// tailor: AnnIndex, top-k inner-product search over item vectors, with filters and live updates.
//
// The index answers "which k items have the largest dot product with this query vector" (a user
// vector from ALSFactorizer::fold_in_user, an item vector for similar items). Items are dense
// tailor::Index ids; item i's vector is row i of the matrix the index is built from.
//
// Backends. A catalog of more than `exact_max_items` items is searched through an hnswlib
// (0.6.2) HNSW graph built with its InnerProductSpace; a smaller one by an exact scan (AVX2+FMA
// when the CPU has it). Both return the same kind of result: ScoredItem, best first, score = the
// exact float dot product computed by the same kernel whatever the path (the graph only proposes
// candidates), order = higher score first, then lower item id (deterministic).
//
// Filters (AnnFilter): a set of allowed items, given as a shared bitset (fastest; build it once,
// e.g. "in stock", and share it), a list of item ids, or a predicate; plus an optional list of
// excluded items (what the user already bought). A filtered search returns exactly
// min(k, number of live allowed items) items, whatever the filter: it walks the graph among the
// allowed items, or scans the allowed items exactly when that is cheaper or when the filter is
// too selective for a walk to find its best items (options filter_graph_cost and
// filter_walk_min_fraction), and falls back to the exact scan whenever a walk runs out of nodes.
// docs/algorithms/retrieval.md explains the walks and the choice.

// Updates. The graph of a published index is never modified (hnswlib does not allow search and
// insert together). add/update/upsert/remove write to a side buffer that every search scans
// exactly and to a tombstone bitset that masks stale graph entries; both are visible to the next
// search. rebuild() folds them into a new graph and returns a new index (the facade publishes it
// through a shared_ptr swap); catch_up() replays onto it what the old index received meanwhile.
//
// Thread-safety: thread-safe. Every method may be called concurrently from any threads:
// search* reads the immutable graph without locks and takes a shared lock only to check
// tombstones and scan the side buffer (O(side buffer x dim)); add/update/upsert/remove take the
// exclusive lock for the time of one vector copy; rebuild/export_state copy under the shared
// lock and do the heavy work without it. We chose in-place updates under a reader-writer lock
// over copy-on-write because a shop's catalog changes (a product out of stock, a new product)
// must reach the very next request, one at a time, and copying a snapshot of a million-item
// index per change is not affordable; readers never wait for a graph build. Moving an AnnIndex
// is not thread-safe.
//
// The graph: under inner product, HNSW's neighbour selection leaves some nodes without incoming
// links; the build links every node back in, so every item is reachable.

// Memory: the item matrix (n x dim floats, shared with the caller when passed as a shared_ptr),
// plus for the graph about n * (4 * dim + 8 * M + 100) bytes (hnswlib keeps its own copy of the
// vectors, a lock and a hash-map entry per node), plus n / 8 bytes of tombstones and the side
// buffer. Each concurrent graph search uses a pooled visited list of 2 bytes per item.
//
// **Example**:
//   tailor::AnnIndex index(als.item_factors());              // rows = items
//   auto top = index.search(user_vector, 10);                 // unfiltered
//   auto in_stock = std::make_shared<tailor::ItemBitset>(index.id_bound());
//   ...in_stock->set(i) for every item in stock...
//   auto hits = index.search(user_vector, 10,
//       tailor::AnnFilter::only(in_stock).excluding(already_bought));
//   index.upsert(new_item, vector);                           // visible to the next search
//   auto fresh = index.rebuild();                             // new graph; then catch_up + swap
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/retrieval/item_bitset.hpp"
#include "tailor/core/scored_item.hpp"
#include "tailor/core/span.hpp"
#include "tailor/core/types.hpp"

namespace tailor {

/// Which search structure an AnnIndex uses for the items it was built with.
enum class AnnBackend {
  automatic,  ///< exact scan up to `exact_max_items` live items, HNSW graph above
  exact,      ///< always an exact scan (no graph)
  hnsw,       ///< always an HNSW graph
};

/// Lower-case name of a backend: "automatic", "exact", "hnsw".
TAILOR_API const char* ann_backend_name(AnnBackend backend) noexcept;

/// Options of AnnIndex. The defaults and how they were chosen: docs/algorithms/retrieval.md.
struct TAILOR_API AnnIndexOptions {
  AnnBackend backend = AnnBackend::automatic;
  std::size_t exact_max_items = 8192;   ///< automatic: exact scan up to this many items
  std::size_t M = 16;                   ///< HNSW links per node (level 0 has 2M), in [2, 4096]
  std::size_t ef_construction = 200;    ///< HNSW candidate list while building, >= 1
  std::size_t ef_search = 64;           ///< HNSW candidate list while searching, >= 1
  std::size_t build_threads = 0;        ///< graph build threads; 0 = hardware threads
  std::uint64_t seed = 42;              ///< seeds the graph's level draws (per item)
  /// Filtered search: cost of one unit of the walk's ef in units of one allowed item scored by
  /// the exact scan. The allowed set is scanned exactly when it has fewer than
  /// filter_graph_cost * ef items. >= 0; 0 never prefers the scan.
  double filter_graph_cost = 200.0;
  /// Filtered search: filters that let through less than this fraction of the items are
  /// scanned exactly, whatever the cost, because a walk finds too few of their best items.
  /// In [0, 1].
  double filter_walk_min_fraction = 0.1;
  /// Filtered graph search: it keeps ef = max(ef_search, filter_overfetch * k) allowed
  /// candidates, >= 1. Larger raises filtered recall and latency.
  double filter_overfetch = 2.0;
  std::size_t rebuild_side_items = 4096;  ///< rebuild_recommended() above this many buffered items

  /// Throws Error(invalid_argument) naming the first option out of range.
  void validate() const;
};

/// Which items a search may return. The default filter allows every item. Thread-compatible
/// (const methods may run concurrently); a predicate must itself be safe to call concurrently.
class TAILOR_API AnnFilter {
 public:
  AnnFilter() = default;

  /// Only the items in `allowed` (shared, not copied; must not be modified while searched).
  static AnnFilter only(std::shared_ptr<const ItemBitset> allowed);
  /// Only the listed items (any order, duplicates allowed).
  static AnnFilter only_items(std::vector<Index> allowed);
  /// Only the items for which `allowed(item)` is true. `expected_fraction` in [0, 1] is the
  /// fraction of items it lets through, if the caller knows it; otherwise (< 0) it is estimated
  /// from 512 evenly spaced ids. An exact scan asks it only about items whose score could enter
  /// the top k, a graph walk about every node it reaches; it must depend on the item alone.
  static AnnFilter where(std::function<bool(Index)> allowed, double expected_fraction = -1.0);

  /// Also rejects the listed items (any order, duplicates allowed); returns *this.
  AnnFilter& excluding(std::vector<Index> items);

  /// True when `item` passes the filter (inline: graph walks ask it about every node).
  bool allows(Index item) const {
    // The cheaper test first: a bitset or list rejects most items before the exclusion search;
    // a predicate may cost more than the search.
    if (kind_ == Kind::predicate) return !is_excluded(item) && predicate_(item);
    return passes_allowed(item) && !is_excluded(item);
  }
  /// True for a filter that allows every item (no allowed set, no exclusions).
  bool allows_all() const noexcept { return kind_ == Kind::all && excluded_.empty(); }

 private:
  friend class AnnIndex;
  enum class Kind { all, bitset, items, predicate };
  bool passes_allowed(Index item) const {
    switch (kind_) {
      case Kind::all: return true;
      case Kind::bitset: return bitset_->test(item);
      case Kind::items: return std::binary_search(items_.begin(), items_.end(), item);
      case Kind::predicate: return predicate_(item);
    }
    return false;
  }
  bool is_excluded(Index item) const {
    return !excluded_.empty() && std::binary_search(excluded_.begin(), excluded_.end(), item);
  }

  Kind kind_ = Kind::all;
  std::shared_ptr<const ItemBitset> bitset_;
  std::vector<Index> items_;     // sorted, unique
  std::function<bool(Index)> predicate_;
  double expected_fraction_ = -1.0;
  std::vector<Index> excluded_;  // sorted, unique
};

/// Counts describing an AnnIndex at one moment.
struct AnnIndexStats {
  AnnBackend backend = AnnBackend::exact;  ///< exact or hnsw (never automatic)
  std::size_t dim = 0;
  std::size_t items = 0;          ///< live items
  std::size_t id_bound = 0;       ///< one past the largest id the index has held
  std::size_t graph_items = 0;    ///< items in the graph (0 for the exact backend)
  std::size_t base_items = 0;     ///< rows of the matrix the index was built from
  std::size_t masked_base = 0;    ///< base rows removed or updated since the build (tombstones)
  std::size_t side_items = 0;     ///< items whose current vector is in the side buffer
  std::size_t memory_bytes = 0;   ///< approximate heap bytes owned (the base matrix included)
};

/// Everything needed to store an AnnIndex and load it back (from_state). Item i's current vector
/// is side_vectors.row(j) if side_items[j] == i, else base->row(i) unless i is in base_masked.
struct AnnIndexState {
  AnnIndexOptions options;
  std::size_t dim = 0;
  std::shared_ptr<const RowMatrix> base;  ///< id_bound-or-fewer rows x dim: vectors at build time
  std::vector<Index> base_masked;         ///< base rows that are not live (sorted, unique)
  std::vector<Index> side_items;          ///< live items held in the side buffer (any order)
  RowMatrix side_vectors;                 ///< side_items.size() x dim, row-major
  /// The graph over the base rows live at build time in hnswlib 0.6.2's saveIndex byte format
  /// (a file with these bytes loads with HierarchicalNSW::loadIndex and an InnerProductSpace of
  /// `dim`). Empty for the exact backend or when not exported; from_state then rebuilds it.
  std::string graph;
};

class TAILOR_API AnnIndex {
 public:
  /// Indexes the rows of `vectors` (row i = item i; copied). Throws invalid_argument for a
  /// matrix with no columns, non-finite values (naming row and column) or bad options.
  explicit AnnIndex(const RowMatrix& vectors, const AnnIndexOptions& options = {});
  /// Same, sharing the matrix instead of copying it (it must not be modified afterwards).
  explicit AnnIndex(std::shared_ptr<const RowMatrix> vectors, const AnnIndexOptions& options = {});
  ~AnnIndex();
  AnnIndex(AnnIndex&&) noexcept;
  AnnIndex& operator=(AnnIndex&&) noexcept;
  AnnIndex(const AnnIndex&) = delete;
  AnnIndex& operator=(const AnnIndex&) = delete;

  /// Vector dimension.
  std::size_t dim() const noexcept;
  /// The options the index was built with.
  const AnnIndexOptions& options() const noexcept;
  /// exact or hnsw: how the items of the build are searched.
  AnnBackend backend() const noexcept;
  /// Number of live items.
  std::size_t size() const;
  /// One past the largest item id the index holds or has held (size for bitsets over items).
  std::size_t id_bound() const;
  /// True when `item` is live.
  bool contains(Index item) const;
  /// The current vector of a live item; throws unknown_id otherwise.
  Vector vector(Index item) const;

  /// The k live items with the largest inner product with `query` that pass `filter`, best
  /// first. Returns exactly min(k, live allowed items) items; k == 0 returns nothing. Throws
  /// invalid_argument when query.size() != dim() or a query value is not finite.
  std::vector<ScoredItem> search(Span<const float> query, std::size_t k,
                                 const AnnFilter& filter = {}) const;
  /// Exact search (scans every live allowed item) with the same contract: the ground truth of
  /// search(), for evaluation and for re-ranking small candidate sets.
  std::vector<ScoredItem> search_exact(Span<const float> query, std::size_t k,
                                       const AnnFilter& filter = {}) const;

  /// Adds a new item (or re-adds a removed one). Throws invalid_argument if `item` is live, if
  /// the vector has the wrong length or a non-finite value, or if `item` exceeds id_bound() by
  /// more than 2^20 (ids are dense).
  void add(Index item, Span<const float> vector);
  /// Replaces a live item's vector; throws unknown_id if `item` is not live.
  void update(Index item, Span<const float> vector);
  /// add() or update(), whichever applies.
  void upsert(Index item, Span<const float> vector);
  /// Removes a live item; throws unknown_id if `item` is not live.
  void remove(Index item);

  /// A new index over the current live items with a fresh graph (or exact backend, by the
  /// options' rule on the live count); ids are kept. Changes made to *this while it runs are
  /// replayed onto the result before it returns; later ones are applied by result->catch_up(*this).
  std::unique_ptr<AnnIndex> rebuild() const;
  /// Replays onto *this the adds, updates and removes `source` received since *this was built by
  /// source.rebuild() (or since the last catch_up). To lose none, call it while no other thread
  /// modifies `source`, right before publishing *this. Throws invalid_argument if *this was not
  /// rebuilt from `source`.
  void catch_up(const AnnIndex& source);
  /// True when the side buffer holds more than options().rebuild_side_items items or more than
  /// 10% of the graph is masked: searches pay for both, a rebuild() removes the cost.
  bool rebuild_recommended() const;

  AnnIndexStats stats() const;

  /// The index's data for storage; `with_graph` includes the graph bytes (hnsw backend).
  AnnIndexState export_state(bool with_graph = true) const;
  /// Loads an index from a state (e.g. read back from a model file). Checks every field (sizes,
  /// ids, finiteness; the graph's structure, labels and vectors against `base`) and throws
  /// Error(corrupt_file) naming the first inconsistency; an empty `graph` is rebuilt when the
  /// backend needs one. Hand it graph bytes only after verifying your file's checksum.
  static std::unique_ptr<AnnIndex> from_state(AnnIndexState state);

 private:
  struct Impl;
  explicit AnnIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tailor
