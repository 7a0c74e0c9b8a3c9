// tailor: RecommenderOptions as JSON, for configuration files (`tailor fit --config`) and for the
// copy of the options a model file keeps (Recommender::save writes it into the file's metadata).
//
// The JSON mirrors the C++ structs: one object per nested options struct, keyed by the field
// names ("als": {"factors": 64}, "ranker": {"weight_knn": 1.5}, "matrix": {"weights":
// {"purchase": 8}}). Enums are their lower-case names ("linear", "svd", "hnsw"...), optional
// timestamps are integers (UTC ms) or null, EventWeights::custom is an object keyed by the
// event-type code. Reading starts from the defaults: a key left out keeps its default, so a
// configuration file lists only what it changes.
//
// Reading is strict: an unknown key, a value of the wrong JSON type, a negative number for an
// unsigned field, a fraction for an integer field or an unknown enum name throws
// Error(invalid_argument) naming the JSON path ("ranker.weight_cf: unknown key"); the result is
// then validated (RecommenderOptions::validate), whose errors name the C++ field.
//
// RecommenderOptions::pseudonymize is never written or read here: its key must not reach a file.
// A host sets it in code; the key "pseudonymize" in JSON is refused with that reason.
//
// Thread-safety: the functions are thread-safe (no shared state).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/serving/recommender.hpp"

namespace tailor {

/// Every field of `options` except `pseudonymize`, as described above.
TAILOR_API nlohmann::json options_to_json(const RecommenderOptions& options);

/// The options `json` describes (defaults for absent keys), validated. Throws
/// Error(invalid_argument) naming the JSON path of the first problem.
TAILOR_API RecommenderOptions options_from_json(const nlohmann::json& json);

/// HybridRankerOptions alone (the "ranker" object of the above), e.g. a blend learned at retrain.
TAILOR_API nlohmann::json ranker_options_to_json(const HybridRankerOptions& options);
/// As options_from_json, for the "ranker" object alone (paths relative to it).
TAILOR_API HybridRankerOptions ranker_options_from_json(const nlohmann::json& json);

/// Reads a JSON options file. Throws Error(io_error) when it cannot be read, and
/// Error(invalid_argument) prefixed with `path` for malformed JSON (with the byte offset) or bad
/// options (with the JSON path).
TAILOR_API RecommenderOptions read_options_file(const std::string& path);

/// The options stored in a model file written by Recommender::save, read from its header without
/// loading the models. Throws what ModelReader::open throws for a damaged file, and
/// Error(corrupt_file) naming the file when the stored options are missing or invalid.
TAILOR_API RecommenderOptions read_model_options(const std::string& model_path);

}  // namespace tailor
