// tailor: HnswGraph (see hnsw_graph.hpp): the only source of the library that includes hnswlib.
#include "retrieval/hnsw_graph.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <utility>

#include "tailor/core/error.hpp"
#include "internal/bytes.hpp"
#include "internal/random.hpp"
#include "internal/thread_pool.hpp"
#include "retrieval/bits.hpp"

// hnswlib 0.6.2 (Debian) defines non-inline functions (cpuid, xgetbv, AVXCapable,
// AVX512Capable) and global variables (hnswlib::InnerProductSIMD16Ext, L2SqrSIMD16Ext...) in its
// headers, so two objects of one program that both include it fail to link. libtailor includes it
// here only, under private names (namespace tailor_hnswlib), so that a host program may include
// hnswlib itself and link libtailor statically. The standard and intrinsics headers hnswlib pulls
// in are included first so that the renaming macros touch hnswlib's own code only. Its SIMD
// distances and CPU checks are x86-only and compiled only there; elsewhere (ARM64) it uses its
// portable loops.
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

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

std::uint64_t splitmix64(std::uint64_t x) { return detail::mix64(x + detail::kGoldenGamma); }

// A uniform draw in (0, 1] fixed by (seed, item): the item's HNSW level draw.
double level_draw(std::uint64_t seed, Index item) {
  const std::uint64_t h = splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(item) + 1));
  return (static_cast<double>(h >> 11) + 1.0) * 0x1.0p-53;
}

// Reads a link list header: the neighbour count (low 16 bits) and the flag bytes above it.
inline std::uint32_t list_header(const char* p) {
  std::uint32_t h;
  std::memcpy(&h, p, sizeof h);
  return h;
}

}  // namespace

struct HnswGraph::Impl {
  AnnIndexOptions options;
  std::size_t dim = 0;
  std::unique_ptr<hnsw::InnerProductSpace> space;
  std::unique_ptr<Graph> graph;
  std::size_t graph_items = 0;
  // Item of each graph node (hnswlib keeps the label beside the node's vector, a cache miss
  // away; filtered walks test every node they pass).
  std::vector<Index> node_item;

  void index_nodes() {
    node_item.resize(graph_items);
    for (std::size_t v = 0; v < graph_items; ++v) {
      node_item[v] = static_cast<Index>(graph->getExternalLabel(static_cast<unsigned int>(v)));
    }
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
  // come back only when the walk ran out of nodes. `two_hop` = false: every neighbour is scored
  // and may join the frontier, only allowed ones enter the results (lenient filters). `two_hop`:
  // a rejected neighbour is not scored and never joins the frontier; its own neighbours are
  // looked at instead, until one list's worth (2M) of allowed nodes is gathered, so the walk moves
  // among the allowed items alone (docs/algorithms/retrieval.md has the measurements).
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
          if (j < n) __builtin_prefetch(g.getDataByInternalId(list[j + 1]));
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
        if (b + 1 < batch.size()) __builtin_prefetch(g.getDataByInternalId(batch[b + 1]));
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

  std::vector<Found> found(std::vector<std::pair<float, unsigned int>> nodes) const {
    std::vector<Found> out;
    out.reserve(nodes.size());
    for (const auto& [d, node] : nodes) {
      out.push_back({d, node_item[node],
                     reinterpret_cast<const float*>(graph->getDataByInternalId(node))});
    }
    return out;
  }

  // Links every node a breadth-first walk from the entry point does not reach back in: appends
  // to a level-0 list that has room a link from the node's closest reached out-neighbour, else
  // from the closest reached node a graph search for the node's vector finds; never replaces a
  // link (docs/algorithms/retrieval.md says why). Deterministic for a given graph. Returns the
  // links added. The graph searches run in parallel on `pool` between two sequential linking
  // steps, while no list changes.
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
};

HnswGraph::HnswGraph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HnswGraph::~HnswGraph() = default;

std::size_t HnswGraph::size() const noexcept { return impl_->graph_items; }

std::vector<HnswGraph::Found> HnswGraph::search(const float* q, std::size_t ef) const {
  return impl_->found(impl_->graph_search(q, ef));
}

std::vector<HnswGraph::Found> HnswGraph::filtered_search(const float* q, std::size_t ef,
                                                         const AnnFilter& filter,
                                                         bool two_hop) const {
  return impl_->found(
      impl_->filtered_graph_search(q, ef, [&filter](Index i) { return filter.allows(i); }, two_hop));
}

std::unique_ptr<HnswGraph> HnswGraph::build(const float* base, std::size_t dim,
                                            const std::vector<Index>& rows,
                                            const AnnIndexOptions& options) {
  TAILOR_REQUIRE(!rows.empty(), "HnswGraph::build: no rows");
  auto im = std::make_unique<Impl>();
  im->options = options;
  im->dim = dim;
  im->space = std::make_unique<hnsw::InnerProductSpace>(dim);
  im->graph = std::make_unique<Graph>(im->space.get(), rows.size(), options.M,
                                      options.ef_construction, options.seed);
  Graph* graph = im->graph.get();
  graph->metric_hops = 0;
  graph->metric_distance_computations = 0;
  graph->setEf(options.ef_search);
  im->graph_items = rows.size();
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
    graph->addPoint(base + static_cast<std::size_t>(i) * dim, i);
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
  im->index_nodes();
  im->repair_reachability(pool);
  return std::unique_ptr<HnswGraph>(new HnswGraph(std::move(im)));
}


std::unique_ptr<HnswGraph> HnswGraph::load(const std::string& bytes, const float* base,
                                           std::size_t base_rows, std::size_t dim,
                                           const AnnIndexOptions& options,
                                           std::vector<std::uint64_t>& in_graph) {
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
    if (std::memcmp(element + offset_data, base + label * dim, dim * sizeof(float)) != 0) {
      TAILOR_THROW(corrupt_file, "AnnIndex graph: element " << i << ": the vector of item "
                                                            << label
                                                            << " differs from the base matrix");
    }
    check_list(element, i, 0, 2 * options.M);
    for (int l = 1; l <= levels[i]; ++l) {
      check_list(upper[i] + static_cast<std::size_t>(l - 1) * links, i, l, options.M);
    }
  }
  in_graph = std::move(seen);

  auto im = std::make_unique<Impl>();
  im->options = options;
  im->dim = dim;
  im->space = std::make_unique<hnsw::InnerProductSpace>(dim);
  auto g = std::make_unique<Graph>(im->space.get(), count, options.M, ef_construction,
                                   options.seed);
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
  im->graph = std::move(g);
  im->graph_items = count;
  im->index_nodes();
  return std::unique_ptr<HnswGraph>(new HnswGraph(std::move(im)));
}


// hnswlib writes host-endian size_t, int, unsigned and double fields; we write the same layout
// explicitly little-endian with 64-bit sizes (what hnswlib writes on every 64-bit little-endian
// host, x86-64 and ARM64 alike). The element blocks are hnswlib's memory as is.
std::string HnswGraph::serialize() const {
  const Graph& g = *impl_->graph;
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

std::size_t HnswGraph::memory_bytes() const noexcept {
  const Graph& g = *impl_->graph;
  const std::size_t n = impl_->graph_items;
  std::size_t bytes = n * g.size_data_per_element_ + n * sizeof(Index);
  for (std::size_t i = 0; i < n; ++i) {
    if (g.element_levels_[i] > 0) {
      bytes += g.size_links_per_element_ * static_cast<std::size_t>(g.element_levels_[i]);
    }
  }
  // label map (~32 bytes a node), one mutex and one level a node, a visited list per searcher
  bytes += n * (32 + sizeof(std::mutex) + sizeof(int) + 2) +
           Graph::max_update_element_locks * sizeof(std::mutex);
  return bytes;
}

}  // namespace tailor
