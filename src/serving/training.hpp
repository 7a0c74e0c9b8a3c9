// tailor (private): the training pipeline every door of the Recommender shares: from kept events
// and a catalog to every trained model of a snapshot (matrix, ALS, item neighbours, co-purchase
// lists, popularity, trending, content encoder and bridge, ANN indexes), plus the guard that
// compares a candidate with the serving model. Recommender::retrain collects the events and
// publishes what this returns; the command line and the HTTP service train through retrain.
//
// Thread-safety: train_models and guard_candidate are thread-safe on distinct arguments (they
// run their own thread pools).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "serving/snapshot.hpp"

namespace tailor {

/// What train_models produced.
struct TrainedModels {
  std::shared_ptr<ModelParts> parts;
  std::shared_ptr<const RowMatrix> content;  ///< encoded catalog; null without content
  std::shared_ptr<const RowMatrix> cold;     ///< bridge images of the content; null without bridge
  SparseMatrix confidence;                   ///< the users x items training matrix
};

/// Trains every model on `events` (each with an item in `catalog`, or a search) and fills the
/// report's counts, content/bridge flags and ANN backend; `phase(name)` is called as each step
/// ends ("matrix", "als", "neighbors", "bought_together", "content", "ann"). Throws
/// Error(invalid_argument) when no event gives a positive user-item weight.
TrainedModels train_models(const std::vector<const Event*>& events, const Catalog& catalog,
                           const RecommenderOptions& options,
                           const std::function<void(const char*)>& phase, RetrainReport& report);

/// RecommenderOptions::blend: trains on the events up to (newest - blend.validation_days) and
/// learns the ranker's blend on the shoppers known then who came back after, ranking the items
/// new to them. Fills report.blend and report.blend_cases, or report.blend_note and returns
/// nullopt when there is nothing to learn from.
std::optional<HybridRankerOptions> learn_blend_on_validation(
    const std::vector<const Event*>& events, const std::shared_ptr<const Catalog>& catalog,
    const RecommenderOptions& options, RetrainReport& report);

/// The guard's comparison (see RecommenderOptions::guard_holdout): users of the candidate with
/// positively weighted held-out events; both models rank the candidate's item space, each user's
/// history being their candidate training row (the serving model folds it in).
GuardDecision guard_candidate(const ModelParts& serving, const ModelParts& candidate,
                              const SparseMatrix& train, const std::vector<const Event*>& holdout,
                              const Catalog& catalog, const RecommenderOptions& options);

}  // namespace tailor
