// tailor: InteractionMatrix construction, confidence transforms and statistics.
#include "tailor/data/interaction_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "tailor/core/error.hpp"

namespace tailor {

namespace {

constexpr double kMsPerDay = 86400000.0;

void require_finite_weight(double value, const char* field) {
  if (!std::isfinite(value)) TAILOR_THROW(invalid_argument, "EventWeights: field '" << field << "' must be finite, got " << value);
}

double scale_quantity(ValueScaling scaling, double quantity) {
  switch (scaling) {
    case ValueScaling::none: return 1.0;
    case ValueScaling::linear: return quantity;
    case ValueScaling::log1p: return std::log1p(quantity) / std::log1p(1.0);
  }
  return 1.0;
}

// Nearest-rank percentile of sorted values: the ceil(q * n)-th smallest (1-based).
double nearest_rank(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  const double n = static_cast<double>(sorted.size());
  // The small slack keeps q * n = 9.000000000000002 (0.9 * 10) at rank 9.
  auto rank = static_cast<std::size_t>(std::ceil(q * n - 1e-9));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

CountDistribution distribution(std::vector<double> counts) {
  CountDistribution d;
  if (counts.empty()) return d;
  std::sort(counts.begin(), counts.end());
  double sum = 0.0;
  for (double c : counts) sum += c;
  d.mean = sum / static_cast<double>(counts.size());
  d.p50 = nearest_rank(counts, 0.50);
  d.p90 = nearest_rank(counts, 0.90);
  d.p99 = nearest_rank(counts, 0.99);
  d.max = counts.back();
  return d;
}

std::vector<double> row_counts(const SparseMatrix& m) {
  std::vector<double> counts(static_cast<std::size_t>(m.rows()));
  const auto* outer = m.outerIndexPtr();
  for (Eigen::Index r = 0; r < m.rows(); ++r) counts[static_cast<std::size_t>(r)] = static_cast<double>(outer[r + 1] - outer[r]);
  return counts;
}

double cold_share(const std::vector<double>& counts, std::uint32_t threshold) {
  if (counts.empty()) return 0.0;
  std::size_t cold = 0;
  for (double c : counts) cold += c < static_cast<double>(threshold) ? 1 : 0;
  return static_cast<double>(cold) / static_cast<double>(counts.size());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// EventWeights

double EventWeights::type_weight(EventType type) const {
  switch (type) {
    case EventType::view: return view;
    case EventType::click: return click;
    case EventType::add_to_cart: return add_to_cart;
    case EventType::purchase: return purchase;
    case EventType::search: return search;
    case EventType::rating: return rating;
    case EventType::return_: return return_;
  }
  auto it = custom.find(static_cast<std::uint16_t>(type));
  return it == custom.end() ? 0.0 : it->second;
}

void EventWeights::set_type_weight(EventType type, double weight) {
  switch (type) {
    case EventType::view: view = weight; return;
    case EventType::click: click = weight; return;
    case EventType::add_to_cart: add_to_cart = weight; return;
    case EventType::purchase: purchase = weight; return;
    case EventType::search: search = weight; return;
    case EventType::rating: rating = weight; return;
    case EventType::return_: return_ = weight; return;
  }
  const auto code = static_cast<std::uint16_t>(type);
  if (code < kFirstCustomEventType) {
    TAILOR_THROW(invalid_argument, "EventWeights::set_type_weight: code " << code << " is reserved for built-in types");
  }
  custom[code] = weight;
}

double EventWeights::decay(Timestamp timestamp) const {
  if (half_life_days <= 0.0 || !reference_time) return 1.0;
  const double age_days = std::max(0.0, static_cast<double>(*reference_time - timestamp) / kMsPerDay);
  return std::exp2(-age_days / half_life_days);
}

std::optional<double> EventWeights::weight(const Event& event) const {
  if (event.value && !(std::abs(*event.value) <= max_value)) return std::nullopt;
  double w = 0.0;
  switch (event.type) {
    case EventType::rating: {
      if (!event.value || !std::isfinite(*event.value)) return std::nullopt;
      w = rating * (*event.value - rating_offset);
      break;
    }
    case EventType::purchase:
    case EventType::return_: {
      if (!event.value) {
        w = type_weight(event.type);
        break;
      }
      if (!std::isfinite(*event.value)) return std::nullopt;
      double quantity = *event.value;
      EventType as = event.type;
      if (quantity < 0) {  // cancellation rows carry negative quantities: a return of |quantity|
        as = EventType::return_;
        quantity = -quantity;
      }
      w = type_weight(as) * scale_quantity(quantity_scaling, quantity);
      break;
    }
    default: w = type_weight(event.type); break;
  }
  if (w == 0.0) return 0.0;
  return w * decay(event.timestamp);
}

void EventWeights::validate() const {
  require_finite_weight(view, "view");
  require_finite_weight(click, "click");
  require_finite_weight(add_to_cart, "add_to_cart");
  require_finite_weight(purchase, "purchase");
  require_finite_weight(search, "search");
  require_finite_weight(rating, "rating");
  require_finite_weight(rating_offset, "rating_offset");
  require_finite_weight(return_, "return_");
  require_finite_weight(half_life_days, "half_life_days");
  require_finite_weight(max_value, "max_value");
  if (!(max_value > 0.0)) TAILOR_THROW(invalid_argument, "EventWeights: field 'max_value' must be > 0, got " << max_value);
  if (return_ > 0.0) TAILOR_THROW(invalid_argument, "EventWeights: field 'return_' must be <= 0 (returns subtract), got " << return_);
  if (half_life_days < 0.0) TAILOR_THROW(invalid_argument, "EventWeights: field 'half_life_days' must be >= 0 (0 = off), got " << half_life_days);
  if (half_life_days > 0.0 && !reference_time) {
    TAILOR_THROW(invalid_argument, "EventWeights: field 'reference_time' must be set when half_life_days = " << half_life_days << " > 0");
  }
  for (const auto& [code, w] : custom) {
    if (code < kFirstCustomEventType) TAILOR_THROW(invalid_argument, "EventWeights: field 'custom': code " << code << " is a built-in type (custom codes start at " << kFirstCustomEventType << ")");
    if (!std::isfinite(w)) TAILOR_THROW(invalid_argument, "EventWeights: field 'custom[" << code << "]' must be finite, got " << w);
  }
}

// ---------------------------------------------------------------------------------------------
// InteractionMatrixOptions

void InteractionMatrixOptions::validate() const {
  weights.validate();
  if (!(alpha > 0.0) || !std::isfinite(alpha)) TAILOR_THROW(invalid_argument, "InteractionMatrixOptions: field 'alpha' must be finite and > 0, got " << alpha);
  if (!(epsilon > 0.0) || !std::isfinite(epsilon)) TAILOR_THROW(invalid_argument, "InteractionMatrixOptions: field 'epsilon' must be finite and > 0, got " << epsilon);
  if (!(min_weight >= 0.0) || !std::isfinite(min_weight)) TAILOR_THROW(invalid_argument, "InteractionMatrixOptions: field 'min_weight' must be finite and >= 0, got " << min_weight);
  if (!(max_confidence >= 1.0) || !std::isfinite(max_confidence)) TAILOR_THROW(invalid_argument, "InteractionMatrixOptions: field 'max_confidence' must be finite and >= 1, got " << max_confidence);
}

double InteractionMatrixOptions::confidence(double weight) const {
  double c = weight;
  switch (transform) {
    case ConfidenceTransform::linear: c = 1.0 + alpha * weight; break;
    case ConfidenceTransform::logarithmic: c = 1.0 + alpha * std::log1p(weight / epsilon); break;
    case ConfidenceTransform::raw: break;
  }
  return std::min(c, max_confidence);
}

nlohmann::json BuildReport::to_json() const {
  return {{"events_seen", events_seen},
          {"events_used", events_used},
          {"skipped_no_item", skipped_no_item},
          {"skipped_anonymous", skipped_anonymous},
          {"skipped_zero_weight", skipped_zero_weight},
          {"skipped_invalid_value", skipped_invalid_value},
          {"pairs_total", pairs_total},
          {"pairs_dropped_nonpositive", pairs_dropped_nonpositive},
          {"users_dropped", users_dropped},
          {"items_dropped", items_dropped}};
}

// ---------------------------------------------------------------------------------------------
// InteractionMatrix

void InteractionMatrix::assemble(const std::vector<Interaction>& pairs) {
  if (pairs.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    TAILOR_THROW(invalid_argument, "InteractionMatrix: " << pairs.size() << " pairs exceed the 2^31-1 non-zeros a SparseMatrix holds");
  }
  if (users_.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()) ||
      items_.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
    TAILOR_THROW(invalid_argument, "InteractionMatrix: " << users_.size() << " users x " << items_.size() << " items exceed 32-bit sparse indices");
  }
  const auto rows = static_cast<Eigen::Index>(users_.size());
  const auto cols = static_cast<Eigen::Index>(items_.size());
  const auto nnz = static_cast<Eigen::Index>(pairs.size());
  by_user_ = SparseMatrix(rows, cols);
  by_user_.resizeNonZeros(nnz);
  weights_.resize(pairs.size());
  first_times_.resize(pairs.size());
  last_times_.resize(pairs.size());
  counts_.resize(pairs.size());
  auto* outer = by_user_.outerIndexPtr();
  auto* inner = by_user_.innerIndexPtr();
  auto* values = by_user_.valuePtr();
  std::fill(outer, outer + rows + 1, 0);
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const Interaction& p = pairs[k];
    ++outer[p.user + 1];
    inner[k] = static_cast<std::int32_t>(p.item);
    values[k] = static_cast<float>(options_.confidence(p.weight));
    weights_[k] = p.weight;
    first_times_[k] = p.first_time;
    last_times_[k] = p.last_time;
    counts_[k] = p.count;
  }
  for (Eigen::Index r = 0; r < rows; ++r) outer[r + 1] += outer[r];
  by_item_ = SparseMatrix(by_user_.transpose());
  by_item_.makeCompressed();
}

InteractionMatrix InteractionMatrix::from_interactions(const std::vector<Interaction>& interactions,
                                                       IdMap users, IdMap items,
                                                       const InteractionMatrixOptions& options) {
  options.validate();
  InteractionMatrix m;
  m.options_ = options;
  m.users_ = std::move(users);
  m.items_ = std::move(items);
  std::vector<Interaction> sorted = interactions;
  for (std::size_t k = 0; k < sorted.size(); ++k) {
    const Interaction& p = sorted[k];
    if (p.user >= m.users_.size() || p.item >= m.items_.size()) {
      TAILOR_THROW(invalid_argument, "InteractionMatrix::from_interactions: interaction " << k << " has (user " << p.user << ", item " << p.item << ") outside the maps (" << m.users_.size() << " users, " << m.items_.size() << " items)");
    }
    if (!std::isfinite(p.weight)) TAILOR_THROW(invalid_argument, "InteractionMatrix::from_interactions: interaction " << k << " has a non-finite weight");
  }
  std::sort(sorted.begin(), sorted.end(), [](const Interaction& a, const Interaction& b) {
    return a.user != b.user ? a.user < b.user : a.item < b.item;
  });
  std::vector<Interaction> kept;
  kept.reserve(sorted.size());
  std::uint64_t total = 0;
  for (std::size_t k = 0; k < sorted.size();) {
    Interaction acc = sorted[k];
    double w = acc.weight;
    std::size_t j = k + 1;
    for (; j < sorted.size() && sorted[j].user == acc.user && sorted[j].item == acc.item; ++j) {
      w += sorted[j].weight;
      acc.first_time = std::min(acc.first_time, sorted[j].first_time);
      acc.last_time = std::max(acc.last_time, sorted[j].last_time);
      acc.count += sorted[j].count;
    }
    ++total;
    acc.weight = static_cast<float>(w);
    if (w > options.min_weight) kept.push_back(acc);
    k = j;
  }
  m.report_.pairs_total = total;
  m.report_.pairs_dropped_nonpositive = total - kept.size();
  m.assemble(kept);
  return m;
}

std::optional<Interaction> InteractionMatrix::find(Index user, Index item) const {
  if (user >= users_.size() || item >= items_.size()) return std::nullopt;
  const auto* outer = by_user_.outerIndexPtr();
  const auto* inner = by_user_.innerIndexPtr();
  const auto* begin = inner + outer[user];
  const auto* end = inner + outer[user + 1];
  const auto* it = std::lower_bound(begin, end, static_cast<std::int32_t>(item));
  if (it == end || *it != static_cast<std::int32_t>(item)) return std::nullopt;
  const auto k = static_cast<std::size_t>(it - inner);
  return Interaction{user, item, weights_[k], first_times_[k], last_times_[k], counts_[k]};
}

std::vector<Interaction> InteractionMatrix::interactions() const {
  std::vector<Interaction> out;
  out.reserve(nnz());
  const auto* outer = by_user_.outerIndexPtr();
  const auto* inner = by_user_.innerIndexPtr();
  for (Eigen::Index r = 0; r < by_user_.rows(); ++r) {
    for (auto k = outer[r]; k < outer[r + 1]; ++k) {
      const auto kk = static_cast<std::size_t>(k);
      out.push_back({static_cast<Index>(r), static_cast<Index>(inner[k]), weights_[kk], first_times_[kk], last_times_[kk], counts_[kk]});
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Statistics

const char* model_advice_name(ModelAdvice advice) noexcept {
  switch (advice) {
    case ModelAdvice::collaborative_filtering: return "collaborative_filtering";
    case ModelAdvice::hybrid: return "hybrid";
    case ModelAdvice::content_based: return "content_based";
  }
  return "unknown";
}

void StatsOptions::validate() const {
  auto check = [](double v, const char* field) {
    if (!std::isfinite(v) || v < 0.0) TAILOR_THROW(invalid_argument, "StatsOptions: field '" << field << "' must be finite and >= 0, got " << v);
  };
  check(content_max_user_median, "content_max_user_median");
  check(content_max_density, "content_max_density");
  check(content_min_cold_item_share, "content_min_cold_item_share");
  check(cf_min_user_median, "cf_min_user_median");
  check(cf_min_item_median, "cf_min_item_median");
  check(cf_max_cold_share, "cf_max_cold_share");
  if (content_min_cold_item_share > 1.0) TAILOR_THROW(invalid_argument, "StatsOptions: field 'content_min_cold_item_share' must be <= 1, got " << content_min_cold_item_share);
  if (cf_max_cold_share > 1.0) TAILOR_THROW(invalid_argument, "StatsOptions: field 'cf_max_cold_share' must be <= 1, got " << cf_max_cold_share);
  if (cold_threshold == 0) TAILOR_THROW(invalid_argument, "StatsOptions: field 'cold_threshold' must be >= 1, got 0");
}

double gini(std::vector<double> values) {
  const std::size_t n = values.size();
  if (n == 0) return 0.0;
  std::sort(values.begin(), values.end());
  double sum = 0.0;
  double weighted = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!(values[i] >= 0.0)) TAILOR_THROW(invalid_argument, "gini: value " << i << " is negative or NaN: " << values[i]);
    sum += values[i];
    weighted += static_cast<double>(i + 1) * values[i];
  }
  if (sum <= 0.0) return 0.0;
  const double dn = static_cast<double>(n);
  // G = sum_i (2i - n - 1) x_(i) / (n * sum x), i = 1..n over ascending values.
  return std::max(0.0, (2.0 * weighted) / (dn * sum) - (dn + 1.0) / dn);
}

nlohmann::json CountDistribution::to_json() const {
  return {{"mean", mean}, {"p50", p50}, {"p90", p90}, {"p99", p99}, {"max", max}};
}

nlohmann::json InteractionStats::to_json() const {
  return {{"users", users},
          {"items", items},
          {"nnz", nnz},
          {"density", density},
          {"per_user", per_user.to_json()},
          {"per_item", per_item.to_json()},
          {"item_gini", item_gini},
          {"user_gini", user_gini},
          {"cold_threshold", cold_threshold},
          {"cold_user_share", cold_user_share},
          {"cold_item_share", cold_item_share},
          {"advice", model_advice_name(advice)},
          {"advice_reason", advice_reason}};
}

std::string InteractionStats::summary() const {
  std::ostringstream os;
  os << std::setprecision(4);
  os << users << " users x " << items << " items, " << nnz << " interactions, density " << density * 100.0 << "%\n";
  os << "per user: mean " << per_user.mean << ", p50 " << per_user.p50 << ", p90 " << per_user.p90 << ", p99 " << per_user.p99 << ", max " << per_user.max << "\n";
  os << "per item: mean " << per_item.mean << ", p50 " << per_item.p50 << ", p90 " << per_item.p90 << ", p99 " << per_item.p99 << ", max " << per_item.max << "\n";
  os << "popularity Gini: items " << item_gini << ", users " << user_gini << "\n";
  os << "cold (< " << cold_threshold << " interactions): " << cold_user_share * 100.0 << "% of users, " << cold_item_share * 100.0 << "% of items\n";
  os << "advice: " << model_advice_name(advice) << " (" << advice_reason << ")\n";
  return os.str();
}

InteractionStats InteractionMatrix::statistics(const StatsOptions& options) const {
  options.validate();
  InteractionStats s;
  s.users = n_users();
  s.items = n_items();
  s.nnz = nnz();
  const double cells = static_cast<double>(s.users) * static_cast<double>(s.items);
  s.density = cells > 0 ? static_cast<double>(s.nnz) / cells : 0.0;
  std::vector<double> per_user = row_counts(by_user_);
  std::vector<double> per_item = row_counts(by_item_);
  s.cold_threshold = options.cold_threshold;
  s.cold_user_share = cold_share(per_user, options.cold_threshold);
  s.cold_item_share = cold_share(per_item, options.cold_threshold);
  s.user_gini = gini(per_user);
  s.item_gini = gini(per_item);
  s.per_user = distribution(std::move(per_user));
  s.per_item = distribution(std::move(per_item));

  std::ostringstream why;
  why << std::setprecision(4);
  if (s.per_user.p50 < options.content_max_user_median) {
    s.advice = ModelAdvice::content_based;
    why << "median interactions per user " << s.per_user.p50 << " < " << options.content_max_user_median;
  } else if (s.density < options.content_max_density) {
    s.advice = ModelAdvice::content_based;
    why << "density " << s.density << " < " << options.content_max_density;
  } else if (s.cold_item_share > options.content_min_cold_item_share) {
    s.advice = ModelAdvice::content_based;
    why << "cold item share " << s.cold_item_share << " > " << options.content_min_cold_item_share;
  } else if (s.per_user.p50 >= options.cf_min_user_median && s.per_item.p50 >= options.cf_min_item_median &&
             s.cold_user_share <= options.cf_max_cold_share && s.cold_item_share <= options.cf_max_cold_share) {
    s.advice = ModelAdvice::collaborative_filtering;
    why << "median per user " << s.per_user.p50 << " >= " << options.cf_min_user_median << ", median per item "
        << s.per_item.p50 << " >= " << options.cf_min_item_median << ", cold users " << s.cold_user_share
        << " and items " << s.cold_item_share << " <= " << options.cf_max_cold_share;
  } else {
    s.advice = ModelAdvice::hybrid;
    why << "between the content rule and the CF rule: median per user " << s.per_user.p50 << ", per item "
        << s.per_item.p50 << ", cold users " << s.cold_user_share << ", cold items " << s.cold_item_share;
  }
  s.advice_reason = why.str();
  return s;
}

// ---------------------------------------------------------------------------------------------
// InteractionMatrixBuilder

InteractionMatrixBuilder::InteractionMatrixBuilder(InteractionMatrixOptions options) : options_(std::move(options)) {
  options_.validate();
}

void InteractionMatrixBuilder::add(const Event& event) {
  ++report_.events_seen;
  if (event.item.empty()) {
    ++report_.skipped_no_item;
    return;
  }
  if (event.user.empty() && (!options_.include_anonymous || event.session.empty())) {
    ++report_.skipped_anonymous;
    return;
  }
  const std::optional<double> w = options_.weights.weight(event);
  if (!w) {
    ++report_.skipped_invalid_value;
    return;
  }
  if (*w == 0.0) {
    ++report_.skipped_zero_weight;
    return;
  }
  const Index u = event.user.empty() ? users_.insert(event.actor()) : users_.insert(event.user);
  const Index i = items_.insert(event.item);
  pending_.push_back({(static_cast<std::uint64_t>(u) << 32) | i, *w, event.timestamp, event.timestamp, 1});
  ++report_.events_used;
  if (pending_.size() >= 2 * compacted_size_ + (std::size_t{1} << 20)) compact();
}

void InteractionMatrixBuilder::compact() {
  auto by_key = [](const Pending& a, const Pending& b) { return a.key < b.key; };
  const auto mid = pending_.begin() + static_cast<std::ptrdiff_t>(compacted_size_);
  std::stable_sort(mid, pending_.end(), by_key);
  std::inplace_merge(pending_.begin(), mid, pending_.end(), by_key);
  std::size_t out = 0;
  for (std::size_t k = 0; k < pending_.size(); ++k) {
    if (out > 0 && pending_[out - 1].key == pending_[k].key) {
      Pending& acc = pending_[out - 1];
      acc.weight += pending_[k].weight;
      acc.first_time = std::min(acc.first_time, pending_[k].first_time);
      acc.last_time = std::max(acc.last_time, pending_[k].last_time);
      acc.count += pending_[k].count;
    } else {
      pending_[out++] = pending_[k];
    }
  }
  pending_.resize(out);
  compacted_size_ = out;
}

InteractionMatrix InteractionMatrixBuilder::build() {
  compact();
  InteractionMatrix m;
  m.options_ = options_;
  m.report_ = report_;
  m.report_.pairs_total = pending_.size();

  // Keep pairs above min_weight; renumber the users and items that keep at least one pair, in
  // first-seen order (the builder's indices are first-seen order already).
  constexpr Index kNone = std::numeric_limits<Index>::max();
  std::vector<Index> user_map(users_.size(), kNone);
  std::vector<Index> item_map(items_.size(), kNone);
  for (const Pending& p : pending_) {
    if (p.weight > options_.min_weight) {
      user_map[static_cast<std::size_t>(p.key >> 32)] = 0;
      item_map[static_cast<std::size_t>(p.key & 0xFFFFFFFFu)] = 0;
    }
  }
  for (std::size_t u = 0; u < user_map.size(); ++u) {
    if (user_map[u] != kNone) user_map[u] = m.users_.insert(users_.id(static_cast<Index>(u)));
  }
  for (std::size_t i = 0; i < item_map.size(); ++i) {
    if (item_map[i] != kNone) item_map[i] = m.items_.insert(items_.id(static_cast<Index>(i)));
  }
  m.report_.users_dropped = users_.size() - m.users_.size();
  m.report_.items_dropped = items_.size() - m.items_.size();

  std::vector<Interaction> kept;
  kept.reserve(pending_.size());
  for (const Pending& p : pending_) {
    if (!(p.weight > options_.min_weight)) continue;
    const Index u = user_map[static_cast<std::size_t>(p.key >> 32)];
    const Index i = item_map[static_cast<std::size_t>(p.key & 0xFFFFFFFFu)];
    kept.push_back({u, i, static_cast<float>(p.weight), p.first_time, p.last_time, p.count});
  }
  m.report_.pairs_dropped_nonpositive = pending_.size() - kept.size();
  // Renumbering is monotone, so `kept` is still sorted by (user, item).
  std::vector<Pending>().swap(pending_);
  m.assemble(kept);

  report_ = BuildReport{};
  users_ = IdMap{};
  items_ = IdMap{};
  compacted_size_ = 0;
  return m;
}

InteractionMatrix build_interaction_matrix(const std::vector<Event>& events, const InteractionMatrixOptions& options) {
  InteractionMatrixBuilder builder(options);
  builder.add(events);
  return builder.build();
}

}  // namespace tailor

