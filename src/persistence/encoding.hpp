// tailor: typed encoders for model file sections, and the ALS model's sections.
//
// encode(ByteWriter&, const T&) appends a value to a section payload; decode(ByteReader&, T&)
// reads it back, checking every count against the bytes left before allocating and reporting
// damage as Error(corrupt_file) with the file, section and offset. load(save(x)) == x exactly
// (floats are stored bit for bit, little-endian). Encodings, all little-endian:
//
//   RowMatrix              u64 rows, u64 cols (each < 2^31), rows*cols f32, row-major
//   Vector                 u64 size, size f32
//   vector<uint32_t>       u64 size, size u32
//   vector<float>          u64 size, size f32
//   vector<string>         u64 size, then each string as u32 bytes + bytes
//   IdMap                  as vector<string>, in index order (duplicates are corrupt)
//   CatalogItem            id, title, description, u64 n + n category strings, brand,
//                          u8 has_price [f64 price], u8 in_stock, u64 n + n (key, value) strings
//   Catalog                u32 layout (1), u64 items, items in index order
//   Event                  user, item, u16 type, i64 timestamp, u8 has_value [f64 value],
//                          session, query
//   nlohmann::json         its text (dump()) as a u32-length string; nesting limited to 64
//   ALSOptions             a JSON object (see als_options_to_json); unknown keys are ignored,
//                          missing keys keep their defaults, so options can grow
//
// write_section() / read_section() put one value in a section of its own. write_als() /
// read_als() store a fitted ALSFactorizer as three required sections: "<prefix>.options",
// "<prefix>.user_factors", "<prefix>.item_factors".
//
// A component with state of its own adds sections the same way, with its own tag prefix:
//   ByteWriter& w = writer.add_section("ann.graph"); w.u32(...); encode(w, vectors);
// and reads them back with reader.section("ann.graph").
//
// Thread-safety: the functions are thread-safe on distinct writers and readers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/models/als.hpp"
#include "tailor/models/content_bridge.hpp"
#include "tailor/models/content_encoder.hpp"
#include "tailor/models/item_neighbors.hpp"
#include "tailor/retrieval/ann_index.hpp"
#include "tailor/data/catalog.hpp"
#include "tailor/data/event.hpp"
#include "tailor/core/id_map.hpp"
#include "persistence/model_container.hpp"
#include "tailor/core/types.hpp"

namespace tailor {

void encode(ByteWriter& w, const RowMatrix& m);
void decode(ByteReader& r, RowMatrix& m);

void encode(ByteWriter& w, const Vector& v);
void decode(ByteReader& r, Vector& v);

void encode(ByteWriter& w, const std::vector<std::uint32_t>& v);
void decode(ByteReader& r, std::vector<std::uint32_t>& v);

void encode(ByteWriter& w, const std::vector<float>& v);
void decode(ByteReader& r, std::vector<float>& v);

void encode(ByteWriter& w, const std::vector<std::string>& v);
void decode(ByteReader& r, std::vector<std::string>& v);

void encode(ByteWriter& w, const IdMap& ids);
void decode(ByteReader& r, IdMap& ids);

void encode(ByteWriter& w, const CatalogItem& item);
void decode(ByteReader& r, CatalogItem& item);

void encode(ByteWriter& w, const Catalog& catalog);
void decode(ByteReader& r, Catalog& catalog);

void encode(ByteWriter& w, const Event& event);
void decode(ByteReader& r, Event& event);

void encode(ByteWriter& w, const ALSOptions& options);
void decode(ByteReader& r, ALSOptions& options);

void encode(ByteWriter& w, const SparseMatrix& m);
void decode(ByteReader& r, SparseMatrix& m);

void encode(ByteWriter& w, const ItemNeighbors& neighbors);
void decode(ByteReader& r, ItemNeighbors& neighbors);

// Model states: every field but `options`, which the loading Recommender supplies.
void encode(ByteWriter& w, const ContentEncoderState& state);
void decode(ByteReader& r, ContentEncoderState& state);
void encode(ByteWriter& w, const ContentBridgeState& state);
void decode(ByteReader& r, ContentBridgeState& state);
void encode(ByteWriter& w, const AnnIndexState& state);
void decode(ByteReader& r, AnnIndexState& state);

/// JSON: a template so that nothing converts to nlohmann::json implicitly and lands here.
void encode_json(ByteWriter& w, const nlohmann::json& value);
void decode_json(ByteReader& r, nlohmann::json& value);
template <class J, std::enable_if_t<std::is_same_v<J, nlohmann::json>, int> = 0>
void encode(ByteWriter& w, const J& value) {
  encode_json(w, value);
}
template <class J, std::enable_if_t<std::is_same_v<J, nlohmann::json>, int> = 0>
void decode(ByteReader& r, J& value) {
  decode_json(r, value);
}

/// ALSOptions as a JSON object with every field ("feedback": "implicit" | "explicit_ratings",
/// "solver": "conjugate_gradient" | "cholesky").
nlohmann::json als_options_to_json(const ALSOptions& options);
/// The options in `json` (keys as written by als_options_to_json; unknown keys ignored, missing
/// keys default). Throws Error(invalid_argument) naming the key with a wrong type or value, or
/// the option validate() rejects.
ALSOptions als_options_from_json(const nlohmann::json& json);

/// Adds a section holding `value` alone.
template <class T>
void write_section(ModelWriter& writer, std::string tag, const T& value,
                   SectionPolicy policy = SectionPolicy::required) {
  ByteWriter& w = writer.add_section(std::move(tag), policy);
  encode(w, value);
}

/// Reads a section written by write_section<T>; throws Error(corrupt_file) if it is missing,
/// damaged or has bytes left over.
template <class T>
T read_section(ModelReader& reader, std::string_view tag) {
  ByteReader r = reader.section(tag);
  T value{};
  decode(r, value);
  r.expect_end();
  return value;
}

/// Like read_section, or nullopt when the file has no section `tag`.
template <class T>
std::optional<T> read_optional_section(ModelReader& reader, std::string_view tag) {
  if (!reader.has(tag)) return std::nullopt;
  return read_section<T>(reader, tag);
}

/// Stores a fitted ALS model as three required sections named "<prefix>.options",
/// "<prefix>.user_factors", "<prefix>.item_factors".
void write_als(ModelWriter& writer, const ALSState& state, std::string_view prefix = "als");

/// Restores a model stored by write_als. Throws Error(corrupt_file) for missing or damaged
/// sections, or factors that disagree with the options (shape, non-finite values).
ALSFactorizer read_als(ModelReader& reader, std::string_view prefix = "als");

}  // namespace tailor
