// tailor (private, for tests and benchmarks): the narrow seam through which they read a
// Recommender's trained models. Hosts use Recommender's public methods.
//
// Thread-safety: as Recommender (the snapshot is immutable once published).
#pragma once

#include <memory>

#include "serving/recommender_state.hpp"

namespace tailor {

class RecommenderTestAccess {
 public:
  /// The serving snapshot (kept alive by the returned pointer).
  static std::shared_ptr<const ModelSnapshot> snapshot(const Recommender& rec) {
    return rec.core_->load_snapshot();
  }
  /// The serving snapshot's trained models (null before the first retrain).
  static std::shared_ptr<const ModelParts> parts(const Recommender& rec) {
    return snapshot(rec)->parts;
  }
};

}  // namespace tailor
