// The Recommender options the model-loader fuzz target loads with, and the small trained model
// its corpus starts from (make_recommender_seed writes it).
#pragma once

#include <string>
#include <vector>

#include "tailor/serving/recommender.hpp"

namespace tailor::test {

// Small (a seed of a few kilobytes keeps executions fast), and with the graph backend from 4 items up, so a seed's ANN sections hold a graph.
inline RecommenderOptions fuzz_options() {
  RecommenderOptions o;
  o.als.factors = 4;
  o.als.iterations = 2;
  o.als.threads = 1;
  o.profile_shards = 1;
  o.monitor_drift = false;
  o.ann.exact_max_items = 4;
  o.content.hash_buckets = 64;
  o.content.text_dimension = 8;
  o.content.category_dimension = 8;
  o.content.brand_dimension = 4;
  o.content.attribute_dimension = 4;
  return o;
}

// 12 products in 3 categories and 8 shoppers who view and buy them: every section a model file
// can hold (content vectors and the bridge, neighbours, bought-together lists, both ANN graphs).
inline void train_seed_model(Recommender& rec) {
  std::vector<CatalogItem> items;
  const char* categories[] = {"Kitchen", "Garden", "Toys"};
  for (int i = 0; i < 12; ++i) {
    CatalogItem item;
    item.id = "sku-" + std::to_string(i);
    item.title = std::string(categories[i % 3]) + " item number " + std::to_string(i);
    item.category_path = {"Home", categories[i % 3]};
    item.brand = i % 2 ? "Acme" : "Globex";
    item.price = 1.5 + i;
    items.push_back(item);
  }
  rec.upsert_items(items);
  std::vector<Event> events;
  for (int u = 0; u < 8; ++u) {
    for (int j = 0; j < 5; ++j) {
      Event e;
      e.user = "shopper-" + std::to_string(u);
      e.item = "sku-" + std::to_string((u * 3 + j * 2) % 12);
      e.type = j % 2 ? EventType::purchase : EventType::view;
      e.session = e.user + "-visit-" + std::to_string(j / 3);
      e.timestamp = 1700000000000 + (u * 5 + j) * 60000;
      events.push_back(e);
    }
  }
  rec.ingest(events);
  rec.retrain();
}

}  // namespace tailor::test
