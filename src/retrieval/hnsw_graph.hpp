// tailor (private): HnswGraph, the HNSW graph behind an AnnIndex: building it (with the pass that
// links unreachable nodes back in), walking it (plain and filtered), and storing and loading it.
//
// It wraps hnswlib 0.6.2, which is included in hnsw_graph.cpp only: its headers define non-inline
// functions and globals, so no other object of the library (or of a host that links it
// statically) may include them too. Nodes are the items given to build(); a walk returns items
// with the graph's copy of their vector (equal to the base row).
//
// Thread-safety: thread-compatible; a built graph is never modified, and any number of threads
// may walk it at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tailor/retrieval/ann_index.hpp"

namespace tailor {

class HnswGraph {
 public:
  /// One node a walk found.
  struct Found {
    float distance = 0.0f;          ///< hnswlib's inner-product distance, 1 - q . v
    Index item = 0;
    const float* vector = nullptr;  ///< the graph's copy of the item's vector
  };

  /// Builds the graph over the items `rows` (row r of the row-major `base`, `dim` floats), with
  /// options.M, ef_construction, seed and build_threads, then links every node a walk from the
  /// entry point cannot reach back in. `rows` must not be empty.
  static std::unique_ptr<HnswGraph> build(const float* base, std::size_t dim,
                                          const std::vector<Index>& rows,
                                          const AnnIndexOptions& options);
  /// Loads bytes written by serialize(), checking them completely first (hnswlib's own loader
  /// trusts its input): sizes against options.M and dim, every label a row of `base` below
  /// base_rows, unique, its vector bit-equal to that row, every link in range. Sets bit i of
  /// `in_graph` (base_rows bits) for each item in the graph. Throws Error(corrupt_file).
  static std::unique_ptr<HnswGraph> load(const std::string& bytes, const float* base,
                                         std::size_t base_rows, std::size_t dim,
                                         const AnnIndexOptions& options,
                                         std::vector<std::uint64_t>& in_graph);
  ~HnswGraph();
  HnswGraph(const HnswGraph&) = delete;
  HnswGraph& operator=(const HnswGraph&) = delete;

  /// The graph in hnswlib 0.6.2's saveIndex layout, fields explicitly little-endian.
  std::string serialize() const;
  /// Nodes (items) in the graph.
  std::size_t size() const noexcept;
  /// Approximate heap bytes the graph owns.
  std::size_t memory_bytes() const noexcept;

  /// The `ef` best nodes for `q`, farthest first.
  std::vector<Found> search(const float* q, std::size_t ef) const;
  /// The `ef` best nodes whose item `filter` allows (see the source for the walk), farthest
  /// first; fewer only when the walk ran out of nodes. `two_hop`: look through rejected nodes
  /// instead of scoring them (for filters that reject much of the graph).
  std::vector<Found> filtered_search(const float* q, std::size_t ef, const AnnFilter& filter,
                                     bool two_hop) const;

 private:
  struct Impl;
  explicit HnswGraph(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tailor
