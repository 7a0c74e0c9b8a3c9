// tailor: InteractionMatrix, the sparse user x item confidence matrix every model trains on.
//
// Events go in one at a time through InteractionMatrixBuilder (streaming: no Event is kept), are
// turned into signed weights by EventWeights (per-type weight, optional quantity scaling, optional
// exponential time decay), summed per (user, item), and pairs whose net weight is <= 0 are dropped
// (and counted in the BuildReport). The net weight w of each kept pair becomes a confidence
//   linear:       c = 1 + alpha * w
//   logarithmic:  c = 1 + alpha * log(1 + w / epsilon)
//   raw:          c = w
// stored as a row-major float CSR matrix (users x items) and its transpose (items x users). Only
// positives are stored; ALS reads the stored values as the full confidence c_ui (p_ui = 1).
//
// Rows and columns are dense indices of the IdMaps held by the matrix, assigned in first-seen order
// of the events that produced a kept pair (users or items whose every pair was dropped get no row).
//
// Anonymous events (empty Event::user) are keyed by Event::actor(), i.e. "session:" + session, so
// each anonymous session is its own row; set InteractionMatrixOptions::include_anonymous = false to
// skip them. Anonymous events without a session are always skipped (they cannot be attributed).
//
// **Example**:
//   tailor::InteractionMatrixBuilder b;            // default weights, linear confidence alpha 1
//   for (const auto& e : reader) b.add(e);
//   tailor::InteractionMatrix m = b.build();
//   const tailor::SparseMatrix& c = m.confidence(); // users x items
//   tailor::InteractionStats s = m.statistics();
//   std::cout << s.summary();
//
// Thread-safety: InteractionMatrix is thread-compatible (const methods may run concurrently);
// InteractionMatrixBuilder is not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/data/event.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/core/types.hpp"

namespace tailor {

/// How Event::value (read as a quantity) scales the weight of purchase and return events.
enum class ValueScaling {
  none,    ///< value ignored: every purchase weighs the type weight
  linear,  ///< weight * value
  log1p,   ///< weight * log1p(value) / log1p(1): one unit weighs exactly the type weight
};

/// Turns one event into a signed weight. Defaults (documented choice):
///   view 1, click 2, add_to_cart 4, purchase 8, search 0, rating 1 * (value - rating_offset),
///   return -8 (a return of the same quantity cancels its purchase), custom types 0 unless set.
/// Purchase and return weights are scaled by value through `quantity_scaling` when the event has
/// a value (a negative purchase quantity, as in cancellation rows, is read as a return of |value|).
/// Rating events without a value are skipped (counted as invalid_value).
/// With half_life_days > 0 each weight is multiplied by 0.5^(age / half_life) where
/// age = reference_time - timestamp in days; events after reference_time get age 0 (no boost).
///
/// Thread-safety: plain value type; thread-compatible.
struct TAILOR_API EventWeights {
  double view = 1.0;
  double click = 2.0;
  double add_to_cart = 4.0;
  double purchase = 8.0;
  double search = 0.0;
  double rating = 1.0;         ///< multiplied by (value - rating_offset)
  double rating_offset = 0.0;  ///< e.g. 2.5 to make 1-2 star ratings negative on a 1-5 scale
  double return_ = -8.0;       ///< should be <= 0; returns subtract
  std::map<std::uint16_t, double> custom;  ///< weights of custom types (code >= 32); default 0

  ValueScaling quantity_scaling = ValueScaling::log1p;

  double half_life_days = 0.0;             ///< 0 = no time decay
  std::optional<Timestamp> reference_time; ///< required when half_life_days > 0 (UTC ms)
  /// The largest |Event::value| an event may carry (a quantity, a rating, an amount): beyond it
  /// weight() gives nullopt and the Recommender refuses the event. Finite, > 0.
  double max_value = 1e6;

  /// The base weight of `type` (before value scaling and decay).
  double type_weight(EventType type) const;
  /// Sets the base weight of a built-in or custom type.
  void set_type_weight(EventType type, double weight);

  /// The decay factor 0.5^(age/half_life) for an event at `timestamp` (1 when decay is off).
  double decay(Timestamp timestamp) const;

  /// The signed weight of `event`, or nullopt when the event cannot be weighted (rating without
  /// value, a value that is not finite or beyond max_value). Ignores user/item emptiness.
  std::optional<double> weight(const Event& event) const;

  /// Throws Error(invalid_argument) for non-finite weights, a negative half-life, a half-life
  /// without reference_time, or a positive return weight.
  void validate() const;
};

/// How a pair's net weight w becomes the stored confidence.
enum class ConfidenceTransform {
  linear,       ///< 1 + alpha * w
  logarithmic,  ///< 1 + alpha * log(1 + w / epsilon)
  raw,          ///< w (e.g. explicit ratings or co-occurrence counts)
};

struct TAILOR_API InteractionMatrixOptions {
  EventWeights weights;
  ConfidenceTransform transform = ConfidenceTransform::linear;
  double alpha = 1.0;    ///< > 0
  double epsilon = 1.0;  ///< > 0, logarithmic transform only
  /// Pairs with net weight <= min_weight are dropped; must be >= 0 (default 0: drop w <= 0).
  double min_weight = 0.0;
  /// Confidences saturate here, so no pile of events on one pair can overflow a model's
  /// arithmetic (ALS sums squares of confidences in single precision). >= 1.
  double max_confidence = 1e6;
  bool include_anonymous = true;  ///< anonymous events keyed by Event::actor(); false skips them

  /// Throws Error(invalid_argument) naming the bad field.
  void validate() const;
  /// c(w) under this transform, at most max_confidence.
  double confidence(double weight) const;
};

/// What happened to the events given to a builder.
struct TAILOR_API BuildReport {
  std::uint64_t events_seen = 0;
  std::uint64_t events_used = 0;               ///< contributed a non-zero weight to some pair
  std::uint64_t skipped_no_item = 0;           ///< empty Event::item (searches)
  std::uint64_t skipped_anonymous = 0;         ///< empty user and excluded, or no session either
  std::uint64_t skipped_zero_weight = 0;       ///< type weight (after decay) exactly 0
  std::uint64_t skipped_invalid_value = 0;     ///< rating without value, non-finite value
  std::uint64_t pairs_total = 0;               ///< distinct (user, item) pairs before dropping
  std::uint64_t pairs_dropped_nonpositive = 0; ///< net weight <= min_weight
  std::uint64_t users_dropped = 0;             ///< users all of whose pairs were dropped
  std::uint64_t items_dropped = 0;             ///< items all of whose pairs were dropped

  nlohmann::json to_json() const;
};

/// One aggregated (user, item) pair, indices into the matrix's IdMaps.
struct Interaction {
  Index user = 0;
  Index item = 0;
  float weight = 0.0f;       ///< net weight w (after decay and returns)
  Timestamp first_time = 0;  ///< earliest event of the pair (UTC ms)
  Timestamp last_time = 0;   ///< latest event of the pair (UTC ms)
  std::uint32_t count = 0;   ///< events aggregated into the pair

  friend bool operator==(const Interaction& a, const Interaction& b) {
    return a.user == b.user && a.item == b.item && a.weight == b.weight &&
           a.first_time == b.first_time && a.last_time == b.last_time && a.count == b.count;
  }
  friend bool operator!=(const Interaction& a, const Interaction& b) { return !(a == b); }
};

/// Which model family the data favours (see StatsOptions for the rule).
enum class ModelAdvice { collaborative_filtering, hybrid, content_based };
TAILOR_API const char* model_advice_name(ModelAdvice advice) noexcept;

/// Thresholds for statistics() and its advice. The rule, applied in order:
///   content_based           if median interactions per user < content_max_user_median
///                           or density < content_max_density
///                           or cold item share > content_min_cold_item_share;
///   collaborative_filtering if median interactions per user >= cf_min_user_median and
///                           median per item >= cf_min_item_median and
///                           cold user share <= cf_max_cold_share and
///                           cold item share <= cf_max_cold_share;
///   hybrid                  otherwise.
/// Defaults: cold < 5 interactions; content if user median < 2, density < 1e-5 or > 80% cold
/// items; CF if user median >= 5, item median >= 5 and <= 50% cold users and items.
struct TAILOR_API StatsOptions {
  std::uint32_t cold_threshold = 5;  ///< a user/item with fewer interactions is cold
  double content_max_user_median = 2.0;
  double content_max_density = 1e-5;
  double content_min_cold_item_share = 0.8;
  double cf_min_user_median = 5.0;
  double cf_min_item_median = 5.0;
  double cf_max_cold_share = 0.5;

  void validate() const;
};

/// Distribution of a per-user or per-item count (number of stored pairs).
struct TAILOR_API CountDistribution {
  double mean = 0.0;
  double p50 = 0.0;  ///< nearest-rank percentiles
  double p90 = 0.0;
  double p99 = 0.0;
  double max = 0.0;
  nlohmann::json to_json() const;
};

struct TAILOR_API InteractionStats {
  std::size_t users = 0;
  std::size_t items = 0;
  std::size_t nnz = 0;
  double density = 0.0;  ///< nnz / (users * items), 0 for an empty matrix
  CountDistribution per_user;
  CountDistribution per_item;
  double item_gini = 0.0;  ///< Gini of item popularity (pairs per item): 0 uniform, -> 1 skewed
  double user_gini = 0.0;
  std::uint32_t cold_threshold = 5;
  double cold_user_share = 0.0;  ///< share of users with < cold_threshold pairs
  double cold_item_share = 0.0;
  ModelAdvice advice = ModelAdvice::hybrid;
  std::string advice_reason;  ///< which rule fired, with the numbers

  nlohmann::json to_json() const;
  std::string summary() const;  ///< a few readable lines
};

/// Gini coefficient of non-negative values (0 when all equal or empty). Exposed for tests.
TAILOR_API double gini(std::vector<double> values);

class TAILOR_API InteractionMatrix {
 public:
  InteractionMatrix() = default;

  /// Builds a matrix from aggregated interactions whose indices refer to `users` and `items`
  /// (the maps are kept whole, so rows/cols exist for every ID even without interactions).
  /// Used to rebuild train/test matrices after a split with the same index spaces. Duplicate
  /// (user, item) pairs are merged (weights summed, times min/max, counts summed); pairs with
  /// weight <= options.min_weight are dropped. Throws Error(invalid_argument) for an index
  /// outside the maps.
  static InteractionMatrix from_interactions(const std::vector<Interaction>& interactions,
                                             IdMap users, IdMap items,
                                             const InteractionMatrixOptions& options = {});

  /// Same index spaces and options as this matrix, different interactions.
  InteractionMatrix with_interactions(const std::vector<Interaction>& interactions) const {
    return from_interactions(interactions, users_, items_, options_);
  }

  /// users x items confidences, row-major CSR, sorted column indices.
  const SparseMatrix& confidence() const noexcept { return by_user_; }
  /// items x users confidences (the transpose), row-major CSR.
  const SparseMatrix& confidence_t() const noexcept { return by_item_; }

  const IdMap& users() const noexcept { return users_; }
  const IdMap& items() const noexcept { return items_; }
  std::size_t n_users() const noexcept { return users_.size(); }
  std::size_t n_items() const noexcept { return items_.size(); }
  std::size_t nnz() const noexcept { return static_cast<std::size_t>(by_user_.nonZeros()); }

  /// Net weights, aligned with confidence().valuePtr() (same order as its non-zeros).
  const std::vector<float>& weights() const noexcept { return weights_; }
  /// Earliest/latest event time and event count of each stored pair, aligned likewise.
  const std::vector<Timestamp>& first_times() const noexcept { return first_times_; }
  const std::vector<Timestamp>& last_times() const noexcept { return last_times_; }
  const std::vector<std::uint32_t>& counts() const noexcept { return counts_; }

  /// The aggregated pair (user, item) if stored.
  std::optional<Interaction> find(Index user, Index item) const;
  /// All stored pairs in row-major order (user, then item index).
  std::vector<Interaction> interactions() const;

  const InteractionMatrixOptions& options() const noexcept { return options_; }
  const BuildReport& report() const noexcept { return report_; }

  InteractionStats statistics(const StatsOptions& options = {}) const;

 private:
  friend class InteractionMatrixBuilder;

  // Fills the CSR matrices and aligned arrays from pairs sorted by (user, item), unique, kept.
  void assemble(const std::vector<Interaction>& sorted_pairs);

  InteractionMatrixOptions options_;
  BuildReport report_;
  IdMap users_;
  IdMap items_;
  SparseMatrix by_user_;
  SparseMatrix by_item_;
  std::vector<float> weights_;
  std::vector<Timestamp> first_times_;
  std::vector<Timestamp> last_times_;
  std::vector<std::uint32_t> counts_;
};

/// Streams events into an InteractionMatrix. Memory: one small record per distinct (user, item)
/// pair plus a bounded buffer of not-yet-merged events; no Event is stored.
/// Thread-safety: not thread-safe.
class TAILOR_API InteractionMatrixBuilder {
 public:
  /// Throws Error(invalid_argument) when options.validate() does.
  explicit InteractionMatrixBuilder(InteractionMatrixOptions options = {});

  /// Adds one event (see the header comment for what is skipped and counted).
  void add(const Event& event);
  void add(const std::vector<Event>& events) {
    for (const auto& e : events) add(e);
  }

  /// Number of events given so far.
  std::uint64_t events_seen() const noexcept { return report_.events_seen; }

  /// Aggregates and returns the matrix; the builder is left empty (ready for reuse).
  InteractionMatrix build();

 private:
  struct Pending {
    std::uint64_t key;  // user << 32 | item (builder-local first-seen indices)
    double weight;
    Timestamp first_time;
    Timestamp last_time;
    std::uint32_t count;
  };
  void compact();

  InteractionMatrixOptions options_;
  BuildReport report_;
  IdMap users_;
  IdMap items_;
  std::vector<Pending> pending_;
  std::size_t compacted_size_ = 0;  // pending_[0, compacted_size_) sorted by key, unique
};

/// Convenience: builds a matrix from a vector of events.
TAILOR_API InteractionMatrix build_interaction_matrix(const std::vector<Event>& events,
                                                      const InteractionMatrixOptions& options = {});

}  // namespace tailor
