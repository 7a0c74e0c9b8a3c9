// A small, fully deterministic model for the model file tests, the crash tests, the golden file
// and the fuzz corpus: ALS factors with exactly representable values (no training, so the bytes
// are the same on every machine), ID maps, a catalog, JSON and plain arrays, one section of each
// encoder.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/models/als.hpp"
#include "tailor/data/catalog.hpp"
#include "tailor/core/id_map.hpp"
#include "persistence/model_container.hpp"
#include "persistence/encoding.hpp"

namespace tailor::test {

struct SmallModel {
  std::uint64_t generation = 0;  ///< stored in the file metadata
  ALSOptions options;
  RowMatrix user_factors;
  RowMatrix item_factors;
  IdMap users;
  IdMap items;
  Catalog catalog;
  nlohmann::json settings;
  std::vector<std::uint32_t> counts;
  std::vector<float> weights;
  Vector bias;
};

/// Variant 0 and 1 differ in every section; `generation` only in the metadata.
inline SmallModel make_small_model(int variant, std::uint64_t generation = 0) {
  SmallModel m;
  m.generation = generation;
  m.options.factors = 4;
  m.options.iterations = 7 + variant;
  m.options.regularization = 0.125f;
  m.options.solver = variant == 0 ? ALSSolver::cholesky : ALSSolver::conjugate_gradient;
  m.options.seed = 1234 + static_cast<std::uint64_t>(variant);
  m.options.threads = 1;
  const int users = 6;
  const int items = 8;
  const int k = 4;
  m.user_factors.resize(users, k);
  m.item_factors.resize(items, k);
  // Multiples of 1/16: exactly representable, so text and binary agree everywhere.
  for (int r = 0; r < users; ++r)
    for (int c = 0; c < k; ++c)
      m.user_factors(r, c) = static_cast<float>((r * k + c) % 11 - 5 + variant) / 16.0f;
  for (int r = 0; r < items; ++r)
    for (int c = 0; c < k; ++c)
      m.item_factors(r, c) = static_cast<float>((r * 3 + c * 5) % 13 - 6 - variant) / 16.0f;
  for (int u = 0; u < users; ++u) m.users.insert("user-" + std::to_string(u + 10 * variant));
  for (int i = 0; i < items; ++i) {
    const std::string id = "SKU" + std::to_string(1000 + i + 100 * variant);
    m.items.insert(id);
    CatalogItem item;
    item.id = id;
    item.title = "Item " + std::to_string(i) + (variant ? " (v1)" : "");
    if (i % 2 == 0) item.description = "A useful thing, number " + std::to_string(i) + ".";
    item.category_path = {"Home", i < 4 ? "Kitchen" : "Garden"};
    if (i % 3 == 0) item.brand = "Acme";
    if (i != 5) item.price = 0.25 * (i + 1) + variant;
    item.in_stock = i != 2;
    if (i % 2 == 1) item.attributes = {{"colour", i == 1 ? "red" : "blue"}, {"size", "M"}};
    m.catalog.upsert(item);
  }
  m.settings = {{"name", "small"}, {"variant", variant}, {"weights", {0.5, 0.25}}, {"tags", {"a", "b"}}};
  m.counts = {3, 1, 4, 1, 5, static_cast<std::uint32_t>(9 + variant)};
  m.weights = {0.5f, -1.25f, 2.0f + static_cast<float>(variant)};
  m.bias = Vector::Constant(3, 0.75f * static_cast<float>(1 + variant));
  return m;
}

inline void write_small_model(ModelWriter& w, const SmallModel& m) {
  w.metadata()["generation"] = m.generation;
  w.metadata()["purpose"] = "tailor test model";
  write_als(w, {m.options, m.user_factors, m.item_factors});
  write_section(w, "ids.users", m.users);
  write_section(w, "ids.items", m.items);
  write_section(w, "catalog", m.catalog);
  write_section(w, "test.settings", m.settings, SectionPolicy::optional);
  write_section(w, "test.counts", m.counts);
  write_section(w, "test.weights", m.weights);
  write_section(w, "test.bias", m.bias);
}

inline std::string small_model_bytes(const SmallModel& m, Timestamp created = 1700000000000) {
  ModelWriter w;
  w.set_created(created);
  write_small_model(w, m);
  return w.to_bytes();
}

/// Reads every section written by write_small_model, then finish().
inline SmallModel read_small_model(ModelReader& r) {
  SmallModel m;
  const nlohmann::json& meta = r.metadata();
  const auto gen = meta.find("generation");
  if (gen == meta.end() || !gen->is_number_unsigned())
    TAILOR_THROW(corrupt_file, r.name() << ": metadata has no generation");
  m.generation = gen->get<std::uint64_t>();
  ALSFactorizer als = read_als(r);
  m.options = als.options();
  m.user_factors = als.user_factors();
  m.item_factors = als.item_factors();
  m.users = read_section<IdMap>(r, "ids.users");
  m.items = read_section<IdMap>(r, "ids.items");
  m.catalog = read_section<Catalog>(r, "catalog");
  m.settings = read_section<nlohmann::json>(r, "test.settings");
  m.counts = read_section<std::vector<std::uint32_t>>(r, "test.counts");
  m.weights = read_section<std::vector<float>>(r, "test.weights");
  m.bias = read_section<Vector>(r, "test.bias");
  r.finish();
  return m;
}

inline bool same_options(const ALSOptions& a, const ALSOptions& b) {
  return a.factors == b.factors && a.iterations == b.iterations &&
         a.regularization == b.regularization &&
         a.regularization_exponent == b.regularization_exponent &&
         a.unobserved_weight == b.unobserved_weight && a.feedback == b.feedback &&
         a.solver == b.solver && a.cg_steps == b.cg_steps && a.seed == b.seed &&
         a.init_scale == b.init_scale && a.threads == b.threads &&
         a.compute_loss == b.compute_loss && a.validation_every == b.validation_every &&
         a.patience == b.patience;
}

template <class M>
bool same_matrix(const M& a, const M& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && a == b;
}

inline bool same_model(const SmallModel& a, const SmallModel& b) {
  return a.generation == b.generation && same_options(a.options, b.options) &&
         same_matrix(a.user_factors, b.user_factors) &&
         same_matrix(a.item_factors, b.item_factors) &&
         a.users == b.users && a.items == b.items && a.catalog == b.catalog &&
         a.settings == b.settings && a.counts == b.counts && a.weights == b.weights &&
         same_matrix(a.bias, b.bias);
}

}  // namespace tailor::test
