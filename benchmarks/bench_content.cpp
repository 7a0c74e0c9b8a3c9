// ContentEncoder benchmark on real catalogs (MovieLens latest-small: 9,742 movies with titles,
// tags and genres; the bundled Online Retail: 3,914 products with descriptions and prices):
//   - fit seconds with the SVD projection vs the random projection (the baseline, which only
//     counts document frequencies), median of 3 after a warm-up, wall and process CPU;
//   - encode microseconds per item (encode_all over the catalog, median of 5);
//   - content_similar latency over the whole catalog (exact scan, median of 200 items);
//   - ContentBridge::fit seconds for catalog-size x dimension content to 64 factors.
// One JSON line per result. The machine is shared: compare cpu_s, and ratios within one run.
//
// Usage: bench_content [ml|retail|all]
#include <ctime>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "tailor/models/content_encoder.hpp"
#include "tailor/io/datasets.hpp"
#include "tailor/models/content_bridge.hpp"
#include "tailor/models/item_neighbors.hpp"

namespace {

namespace bench = tailor::bench;
using tailor::ContentEncoder;
using tailor::ContentEncoderOptions;
using tailor::TextProjection;

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timing {
  double wall = 0.0;
  double cpu = 0.0;
};

template <class F>
Timing median_time(int runs, F&& f) {
  std::vector<double> wall, cpu;
  f();  // warm-up
  for (int r = 0; r < runs; ++r) {
    const double c0 = process_cpu_seconds();
    const auto t0 = bench::Clock::now();
    f();
    wall.push_back(bench::seconds_since(t0));
    cpu.push_back(process_cpu_seconds() - c0);
  }
  return {bench::median(wall), bench::median(cpu)};
}

void run(const std::string& name, const tailor::Catalog& catalog,
         const std::vector<std::string>& attribute_keys) {
  const double n = static_cast<double>(catalog.size());
  Timing random_fit;
  for (const TextProjection projection : {TextProjection::random, TextProjection::svd}) {
    ContentEncoderOptions o;
    o.projection = projection;
    o.attribute_keys = attribute_keys;
    ContentEncoder encoder(o);
    const Timing fit = median_time(3, [&] { encoder.fit(catalog); });
    if (projection == TextProjection::random) random_fit = fit;
    tailor::RowMatrix vectors;
    const Timing encode = median_time(5, [&] { vectors = encoder.encode_all(catalog); });
    std::vector<double> similar;
    for (std::size_t i = 0; i < 200 && i < catalog.size(); ++i) {
      const auto t0 = bench::Clock::now();
      const auto top = tailor::content_similar(vectors, static_cast<tailor::Index>(i * 37 % catalog.size()), 20);
      similar.push_back(bench::seconds_since(t0));
      if (top.size() > 20) return;  // keeps the call from being optimised away
    }
    bench::emit({{"bench", "content_encoder"},
                 {"dataset", name},
                 {"projection", tailor::text_projection_name(projection)},
                 {"items", catalog.size()},
                 {"dimension", encoder.dimension()},
                 {"fit_s", fit.wall},
                 {"fit_cpu_s", fit.cpu},
                 {"fit_cpu_vs_random", fit.cpu / random_fit.cpu},
                 {"encode_us_per_item", encode.wall / n * 1e6},
                 {"encode_cpu_us_per_item", encode.cpu / n * 1e6},
                 {"content_similar_ms_p50", bench::median(similar) * 1e3},
                 {"peak_rss_mib", bench::peak_rss_mib()}});
    if (projection == TextProjection::svd) {
      // Bridge: content -> 64 synthetic factors (every item trained on).
      tailor::RowMatrix factors = tailor::RowMatrix::Random(vectors.rows(), 64);
      std::vector<std::uint32_t> counts(static_cast<std::size_t>(vectors.rows()), 10);
      tailor::ContentBridge bridge;
      const Timing fit_bridge = median_time(3, [&] { bridge.fit(vectors, factors, counts); });
      const Timing map_all = median_time(5, [&] { (void)bridge.map_all(vectors); });
      bench::emit({{"bench", "content_bridge"},
                   {"dataset", name},
                   {"items", vectors.rows()},
                   {"content_dimension", vectors.cols()},
                   {"factors", 64},
                   {"fit_s", fit_bridge.wall},
                   {"fit_cpu_s", fit_bridge.cpu},
                   {"map_all_us_per_item", map_all.wall / n * 1e6}});
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "all";
  tailor::DatasetOptions catalog_only;
  catalog_only.load_events = false;
  if (which == "all" || which == "ml") {
    try {
      const auto data = tailor::load_movielens_latest_small(bench::data_path("ml-latest-small"), catalog_only);
      run("ml-latest-small", data.catalog, {"genres"});
    } catch (const tailor::Error& e) {
      bench::emit({{"bench", "content_encoder"}, {"dataset", "ml-latest-small"}, {"skipped", e.what()}});
    }
  }
  if (which == "all" || which == "retail") {
    const auto data = tailor::load_online_retail(TAILOR_BENCH_BUNDLED_RETAIL, catalog_only);
    run("online-retail", data.catalog, {"family"});
  }
  return 0;
}
