// tailor (private): the Recommender's published model state. A ModelSnapshot is immutable once
// published; the ModelParts it points to (every trained model) are shared by the snapshots that
// differ only in the catalog (catalog changes publish a new snapshot over the same parts).
//
// Thread-safety: immutable once published, so thread-safe to read; the ANN indexes inside are
// themselves thread-safe (new items join their side buffers while requests search them).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "tailor/serving/recommender.hpp"

namespace tailor {

/// The trained models of a snapshot, shared by the snapshots that differ only in the catalog.
struct ModelParts {
  IdMap users;                 ///< training actors (Event::actor())
  SparseMatrix weights;        ///< users x items net event weights (catalog index space)
  IdMap history_users;         ///< every actor with an item event in training
  SparseMatrix history;        ///< history_users x items: 1 for every item the actor touched
                               ///< (also when returns cancelled it out of `weights`)
  ALSFactorizer als;
  ContentEncoder encoder;      ///< fitted when the catalog had content at training
  ContentBridge bridge;   ///< fitted when enough items qualify
  ItemNeighbors neighbors;
  EaseModel ease;              ///< fitted when enabled and the catalog has at most ease.max_items
  ItemNeighbors bought_together;
  std::vector<std::uint32_t> counts;
  std::vector<float> popularity;
  std::vector<float> trending;
  std::shared_ptr<AnnIndex> ann;  ///< over the ranker's CF vectors; new items join its side buffer
  /// Over the content vectors (null without content); new items join its side buffer. Not
  /// stored in model files: load() rebuilds it from the content vectors.
  std::shared_ptr<AnnIndex> content_ann;
  Timestamp newest_event = 0;
  /// The blend learned at retrain (RecommenderOptions::blend); unset: RecommenderOptions::ranker.
  std::optional<HybridRankerOptions> ranker;
};


/// Everything one published model state holds (immutable once published).
struct ModelSnapshot {
  std::uint64_t version = 0;
  std::uint64_t trained_through = 0;   ///< events with sequence number < this are in the models
  std::uint64_t trained_log_sequence = 0;  ///< event-log records up to this one are in the models
  Timestamp trained_at = 0;            ///< when the models were trained (UTC ms; 0: never)
  std::uint64_t trained_events = 0;    ///< events the models were trained on
  std::shared_ptr<const Catalog> catalog;
  std::shared_ptr<const ModelParts> parts;  ///< null before the first retrain
  /// Content vectors and their bridge images (cold-start factors), one row per item known when
  /// they were last extended (catalog changes append rows for new items); may be null.
  std::shared_ptr<const RowMatrix> content;
  std::shared_ptr<const RowMatrix> cold_factors;
  std::unique_ptr<HybridRanker> ranker;            ///< over `catalog` and `parts`
};

/// Builds the snapshot for (parts, catalog): extends the content and bridge rows for items added
/// since, builds the ranker, and adds new items to the shared ANN indexes. The caller holds
/// Core::publish_mutex and sets the version.
std::shared_ptr<ModelSnapshot> make_snapshot(const RecommenderOptions& options,
                                             std::shared_ptr<const ModelParts> parts,
                                             std::shared_ptr<const Catalog> catalog,
                                             std::shared_ptr<const RowMatrix> content,
                                             std::shared_ptr<const RowMatrix> cold,
                                             std::uint64_t trained_through);

}  // namespace tailor
