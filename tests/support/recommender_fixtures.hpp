// Shared fixtures of the Recommender tests: the bundled Online Retail data split at 2011-04-01,
// small options that train fast under the sanitizers, and a trained Recommender.
#pragma once

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tailor/io/datasets.hpp"
#include "tailor/serving/recommender.hpp"
#include "test_data.hpp"

namespace tailor::test {

// The bundled Online Retail data, loaded once: events before 2011-04-01 (about a quarter of the
// year, to keep training fast under the sanitizers) and the catalog.
struct Retail {
  std::vector<Event> train;    // before the cutoff
  std::vector<Event> later;    // from the cutoff on
  std::vector<CatalogItem> items;
};

inline const Retail& retail() {
  static const Retail r = [] {
    Retail out;
    tailor::Dataset d = tailor::load_online_retail(tailor::test::bundled_retail());
    const tailor::Timestamp cutoff = 1301616000000;  // 2011-04-01T00:00:00Z
    for (auto& e : d.events) (e.timestamp < cutoff ? out.train : out.later).push_back(e);
    out.items.assign(d.catalog.begin(), d.catalog.end());
    return out;
  }();
  return r;
}

inline RecommenderOptions small_options() {
  RecommenderOptions o;
  o.als.factors = 24;
  o.als.iterations = 4;
  o.als.threads = 2;
  o.cache_entries = 16;
  // EASE costs an O(items^3) fit per retrain, slow under the sanitizers; the tests of the EASE
  // source turn it on (test_recommender "EASE", test_ease).
  o.ease.enabled = false;
  // Blend learning trains a second model per retrain; its own tests turn it on.
  o.blend.validation_days = 0.0;
  return o;
}

// A Recommender trained on the retail prefix.
inline std::unique_ptr<Recommender> trained() {
  auto rec = std::make_unique<Recommender>(small_options());
  rec->upsert_items(retail().items);
  rec->ingest(retail().train);
  rec->retrain();
  return rec;
}

inline std::string busiest_customer(const std::vector<Event>& events) {
  std::map<std::string, int> n;
  for (const auto& e : events) {
    if (!e.user.empty()) ++n[e.user];
  }
  return std::max_element(n.begin(), n.end(), [](const auto& a, const auto& b) {
           return a.second < b.second;
         })->first;
}


inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace tailor::test
