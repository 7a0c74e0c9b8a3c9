// tailor: the umbrella header. Includes the whole public API; a host that wants a smaller
// include footprint includes the one component header it uses (e.g. tailor/serving/recommender.hpp).
#pragma once

#include "tailor/version.hpp"

#include "tailor/core/error.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/core/scored_item.hpp"
#include "tailor/core/types.hpp"

#include "tailor/stats/distributions.hpp"
#include "tailor/stats/hypothesis.hpp"

#include "tailor/data/catalog.hpp"
#include "tailor/data/cleaning.hpp"
#include "tailor/data/event.hpp"
#include "tailor/data/interaction_matrix.hpp"
#include "tailor/data/pseudonymize.hpp"
#include "tailor/data/splits.hpp"

#include "tailor/io/csv.hpp"
#include "tailor/io/datasets.hpp"
#include "tailor/io/input.hpp"
#include "tailor/io/readers.hpp"

#include "tailor/retrieval/ann_index.hpp"
#include "tailor/retrieval/item_bitset.hpp"

#include "tailor/models/als.hpp"
#include "tailor/models/content_encoder.hpp"
#include "tailor/models/scorers.hpp"
#include "tailor/models/session_baselines.hpp"
#include "tailor/models/session_knn.hpp"
#include "tailor/models/text.hpp"

#include "tailor/persistence/event_log.hpp"
#include "tailor/persistence/file_io.hpp"
#include "tailor/persistence/model_file.hpp"

#include "tailor/evaluation/evaluator.hpp"
#include "tailor/evaluation/metrics.hpp"
#include "tailor/evaluation/next_item.hpp"
#include "tailor/evaluation/tuning.hpp"

#include "tailor/experiments/experiment.hpp"
#include "tailor/experiments/outcomes.hpp"
#include "tailor/experiments/report.hpp"

#include "tailor/ranking/hybrid_ranker.hpp"
#include "tailor/ranking/rules.hpp"

#include "tailor/monitoring/drift.hpp"
#include "tailor/monitoring/retrain_policy.hpp"

#include "tailor/serving/recommender.hpp"
#include "tailor/models/content_bridge.hpp"
#include "tailor/models/item_neighbors.hpp"
#include "tailor/models/trending.hpp"
#include "tailor/retrieval/vector_search.hpp"
#include "tailor/ranking/blend_learning.hpp"
#include "tailor/monitoring/retrain_guard.hpp"
#include "tailor/monitoring/incremental_study.hpp"
#include "tailor/data/rfm.hpp"
#include "tailor/serving/options_json.hpp"
