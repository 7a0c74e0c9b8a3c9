// tailor: exposure and outcome tracking per experiment variant (last-touch attribution).
#include "tailor/experiments/outcomes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <unordered_map>

#include "tailor/core/error.hpp"
#include "tailor/data/pseudonymize.hpp"
#include "internal/sha256.hpp"

namespace tailor {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio_or_nan(double num, double den) { return den > 0 ? num / den : kNaN; }

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}
}  // namespace

void OutcomeOptions::validate() const {
  TAILOR_REQUIRE(attribution_window_ms >= 0,
                 "OutcomeOptions.attribution_window_ms must be >= 0, got " << attribution_window_ms);
  TAILOR_REQUIRE(return_window_ms >= 0, "OutcomeOptions.return_window_ms must be >= 0, got " << return_window_ms);
  TAILOR_REQUIRE(shards >= 1 && shards <= 4096, "OutcomeOptions.shards must be in [1, 4096], got " << shards);
  TAILOR_REQUIRE(max_touches_per_item >= 1 && max_touches_per_item <= 1024,
                 "OutcomeOptions.max_touches_per_item must be in [1, 1024], got " << max_touches_per_item);
  TAILOR_REQUIRE(dedup_window >= 1 && dedup_window <= 4096,
                 "OutcomeOptions.dedup_window must be in [1, 4096], got " << dedup_window);
}

// ---------------------------------------------------------------------------------------------
// VariantMetrics, MetricEstimate, ExperimentMetrics

double VariantMetrics::click_through_rate() const { return ratio_or_nan(double(clicks), double(impressions)); }
double VariantMetrics::conversion_rate() const { return ratio_or_nan(double(converting_units), double(units)); }
double VariantMetrics::add_to_cart_rate() const { return ratio_or_nan(double(carting_units), double(units)); }
double VariantMetrics::average_order_value() const { return ratio_or_nan(revenue, double(orders)); }
double VariantMetrics::revenue_per_user() const { return ratio_or_nan(revenue, double(units)); }
double VariantMetrics::return_rate() const { return ratio_or_nan(double(returns), double(purchases)); }
double VariantMetrics::mean_dwell_seconds() const { return ratio_or_nan(dwell.sum_x(), double(dwell_events)); }

nlohmann::json VariantMetrics::to_json() const {
  return {{"name", name},
          {"holdout", holdout},
          {"units", units},
          {"exposures", exposures},
          {"impressions", impressions},
          {"clicks", clicks},
          {"add_to_carts", add_to_carts},
          {"purchases", purchases},
          {"orders", orders},
          {"returns", returns},
          {"revenue", revenue},
          {"dwell_events", dwell_events},
          {"clicking_units", clicking_units},
          {"carting_units", carting_units},
          {"converting_units", converting_units},
          {"click_through_rate", number_or_null(click_through_rate())},
          {"conversion_rate", number_or_null(conversion_rate())},
          {"add_to_cart_rate", number_or_null(add_to_cart_rate())},
          {"average_order_value", number_or_null(average_order_value())},
          {"revenue_per_user", number_or_null(revenue_per_user())},
          {"return_rate", number_or_null(return_rate())},
          {"mean_dwell_seconds", number_or_null(mean_dwell_seconds())}};
}

double MetricEstimate::sd() const { return std::sqrt(variance * n); }

bool MetricEstimate::defined() const {
  return std::isfinite(value) && std::isfinite(variance) && n >= 2;
}

MetricTest metric_test(Metric metric) noexcept {
  switch (metric) {
    case Metric::conversion_rate:
    case Metric::add_to_cart_rate: return MetricTest::two_proportion;
    case Metric::revenue_per_user:
    case Metric::average_order_value: return MetricTest::welch;
    case Metric::click_through_rate:
    case Metric::return_rate:
    case Metric::dwell_time: return MetricTest::ratio;
  }
  return MetricTest::ratio;
}

MetricEstimate estimate(const VariantMetrics& v, Metric metric) {
  MetricEstimate e;
  const auto proportion = [&](std::uint64_t successes) {
    e.n = double(v.units);
    e.value = ratio_or_nan(double(successes), e.n);
    e.variance = e.n > 0 ? e.value * (1 - e.value) / e.n : kNaN;
  };
  const auto mean = [&](const stats::Moments& m) {
    e.n = m.n;
    e.value = m.n > 0 ? m.mean : kNaN;
    e.variance = m.n >= 2 ? m.variance() / m.n : kNaN;
  };
  const auto ratio = [&](const stats::RatioMoments& r) {
    e.n = r.n;
    e.value = r.ratio();
    e.variance = r.ratio_variance();
  };
  switch (metric) {
    case Metric::conversion_rate: proportion(v.converting_units); break;
    case Metric::add_to_cart_rate: proportion(v.carting_units); break;
    case Metric::revenue_per_user: mean(v.revenue_per_unit); break;
    case Metric::average_order_value: mean(v.order_values); break;
    case Metric::click_through_rate: ratio(v.click_through); break;
    case Metric::return_rate: ratio(v.returns_per_purchase); break;
    case Metric::dwell_time: ratio(v.dwell); break;
  }
  return e;
}

const VariantMetrics* ExperimentMetrics::find(std::string_view name) const {
  for (const auto& v : variants)
    if (v.name == name) return &v;
  return nullptr;
}

nlohmann::json ExperimentMetrics::to_json() const {
  nlohmann::json j = {{"experiment", experiment}, {"conflicting_units", conflicting_units}};
  j["variants"] = nlohmann::json::array();
  for (const auto& v : variants) j["variants"].push_back(v.to_json());
  return j;
}

// ---------------------------------------------------------------------------------------------
// OutcomeTracker

namespace {

using TagSet = std::vector<std::pair<std::uint32_t, std::uint32_t>>;  // (experiment, group)

using RecommendationId = std::shared_ptr<const std::string>;  // one allocation per exposure

std::uint64_t hash_of(std::string_view s) { return std::hash<std::string_view>{}(s); }

// One exposure of one item to one actor (40 bytes). Items are kept as 64-bit hashes: two
// different items of one actor would have to collide for an event to be credited to the wrong
// item (about n^2 / 2^65 for n live items).
struct Touch {
  std::uint64_t item = 0;
  Timestamp t = 0;
  std::uint32_t tagset = 0;
  bool clicked = false;
  bool carted = false;
  RecommendationId recommendation;
};

struct PurchaseTouch {
  std::uint64_t item = 0;
  Timestamp t = 0;
  std::uint32_t tagset = 0;
  RecommendationId recommendation;
};

struct Order {
  bool has_session = false;
  std::string session;
  double revenue = 0;
};

struct UnitExperiment {
  std::uint32_t experiment = 0;
  std::uint32_t group = 0;
  bool conflict = false;
  std::uint64_t exposures = 0, impressions = 0, clicks = 0, carts = 0, purchases = 0, returns = 0,
                dwell_events = 0;
  double revenue = 0, dwell_seconds = 0;
  std::vector<Order> orders;
};

// Touch lists are flat vectors sorted by (item, t): no allocation per item, binary search per
// event. They are swept of expired entries whenever they double in size.
struct Unit {
  std::vector<Touch> touches;
  std::vector<PurchaseTouch> purchases;
  std::vector<UnitExperiment> experiments;
  std::vector<std::uint64_t> recent;  // ring of hashes of recent recommendation IDs
  std::size_t recent_next = 0;
  Timestamp newest_exposure = std::numeric_limits<Timestamp>::min();
  Timestamp newest_purchase = std::numeric_limits<Timestamp>::min();
  std::size_t touch_sweep_at = 64;
  std::size_t purchase_sweep_at = 16;

  UnitExperiment* find(std::uint32_t experiment) {
    for (auto& e : experiments)
      if (e.experiment == experiment) return &e;
    return nullptr;
  }
};

// [first, last) of the entries of `item` in a vector sorted by (item, t).
template <class V>
std::pair<typename V::iterator, typename V::iterator> item_range(V& v, std::uint64_t item) {
  const auto first = std::lower_bound(v.begin(), v.end(), item,
                                      [](const auto& x, std::uint64_t i) { return x.item < i; });
  auto last = first;
  while (last != v.end() && last->item == item) ++last;
  return {first, last};
}

// Inserts `entry` at its (item, t) place (after equal times: the later record is the later
// touch), then keeps at most `cap` entries of that item and drops those older than its newest
// minus `window`.
template <class V, class E>
void insert_touch(V& v, E entry, Timestamp window, std::size_t cap) {
  auto [first, last] = item_range(v, entry.item);
  const auto pos = std::upper_bound(first, last, entry.t, [](Timestamp t, const auto& x) { return t < x.t; });
  const auto offset = pos - v.begin();
  const auto first_offset = first - v.begin();
  v.insert(pos, std::move(entry));
  first = v.begin() + first_offset;
  last = first;
  while (last != v.end() && last->item == v[static_cast<std::size_t>(offset)].item) ++last;
  const Timestamp newest = (last - 1)->t;
  auto drop = first;
  while (drop + 1 < last && (drop->t < newest - window || static_cast<std::size_t>(last - drop) > cap)) ++drop;
  v.erase(first, drop);
}

// Drops entries older than `horizon`; returns the next size at which to sweep again.
template <class V>
std::size_t sweep(V& v, Timestamp horizon, std::size_t minimum) {
  v.erase(std::remove_if(v.begin(), v.end(), [&](const auto& x) { return x.t < horizon; }), v.end());
  return std::max(minimum, 2 * v.size());
}

struct Shard {
  mutable std::mutex mutex;
  std::unordered_map<std::string, Unit> units;
};

struct Group {
  std::string name;
  bool holdout = false;
};

}  // namespace

struct OutcomeTracker::Impl {
  std::vector<Shard> shards;

  // Interned experiment names, their groups (variants and holdout) and the tag sets of
  // exposures. Tag set 0 is the empty set (an exposure from no experiment).
  mutable std::shared_mutex names_mutex;
  std::vector<std::string> experiment_names;
  std::unordered_map<std::string, std::uint32_t> experiment_ids;
  std::vector<std::vector<Group>> groups;  // per experiment
  std::vector<TagSet> tagsets{TagSet{}};
  std::map<TagSet, std::uint32_t> tagset_ids{{TagSet{}, 0}};

  std::atomic<std::uint64_t> exposures{0}, duplicates{0}, events{0}, attributed{0}, unattributed{0},
      ignored{0};

  explicit Impl(std::size_t n) : shards(n) {}

  Shard& shard_of(const std::string& actor) {
    return shards[std::hash<std::string>{}(actor) % shards.size()];
  }

  // Group ID of (experiment, group name) or nullopt; caller holds names_mutex.
  std::optional<std::pair<std::uint32_t, std::uint32_t>> lookup(const Assignment& a) const {
    const auto it = experiment_ids.find(a.experiment);
    if (it == experiment_ids.end()) return std::nullopt;
    const std::string& name = a.holdout ? std::string(kHoldoutVariant) : a.variant;
    const auto& gs = groups[it->second];
    for (std::uint32_t g = 0; g < gs.size(); ++g)
      if (gs[g].name == name) return std::make_pair(it->second, g);
    return std::nullopt;
  }

  std::uint32_t intern(const std::vector<Assignment>& variants) {
    std::vector<const Assignment*> tracked;
    for (const auto& a : variants)
      if (!a.forced) tracked.push_back(&a);
    if (tracked.empty()) return 0;
    {
      std::shared_lock<std::shared_mutex> read(names_mutex);
      TagSet set;
      bool complete = true;
      for (const Assignment* a : tracked) {
        const auto id = lookup(*a);
        if (!id) {
          complete = false;
          break;
        }
        set.push_back(*id);
      }
      if (complete) {
        std::sort(set.begin(), set.end());
        const auto it = tagset_ids.find(set);
        if (it != tagset_ids.end()) return it->second;
      }
    }
    std::unique_lock<std::shared_mutex> write(names_mutex);
    TagSet set;
    for (const Assignment* a : tracked) {
      auto id = lookup(*a);
      if (!id) {
        auto [it, fresh] = experiment_ids.emplace(a->experiment, static_cast<std::uint32_t>(experiment_names.size()));
        if (fresh) {
          experiment_names.push_back(a->experiment);
          groups.emplace_back();
        }
        auto& gs = groups[it->second];
        const bool holdout = a->holdout || a->variant == kHoldoutVariant;
        gs.push_back({holdout ? std::string(kHoldoutVariant) : a->variant, holdout});
        id = std::make_pair(it->second, static_cast<std::uint32_t>(gs.size() - 1));
      }
      set.push_back(*id);
    }
    std::sort(set.begin(), set.end());
    // One experiment twice in one exposure: keep the first group (counted once).
    set.erase(std::unique(set.begin(), set.end(),
                          [](const auto& x, const auto& y) { return x.first == y.first; }),
              set.end());
    const auto [it, fresh] = tagset_ids.emplace(set, static_cast<std::uint32_t>(tagsets.size()));
    if (fresh) tagsets.push_back(set);
    return it->second;
  }

  TagSet tagset(std::uint32_t id) const {
    std::shared_lock<std::shared_mutex> read(names_mutex);
    return tagsets[id];
  }

  std::vector<Assignment> assignments(const TagSet& set) const {
    std::shared_lock<std::shared_mutex> read(names_mutex);
    std::vector<Assignment> out;
    for (const auto& [e, g] : set) {
      Assignment a;
      a.experiment = experiment_names[e];
      a.variant = groups[e][g].name;
      a.holdout = groups[e][g].holdout;
      out.push_back(std::move(a));
    }
    return out;
  }
};

OutcomeTracker::OutcomeTracker(OutcomeOptions options) : options_(std::move(options)) {
  options_.validate();
  impl_ = std::make_unique<Impl>(options_.shards);
}

OutcomeTracker::~OutcomeTracker() = default;

bool OutcomeTracker::record_exposure(const Exposure& x) {
  TAILOR_REQUIRE(!x.recommendation_id.empty(), "Exposure.recommendation_id must not be empty");
  TAILOR_REQUIRE(!x.user.empty() || !x.session.empty(),
                 "Exposure " << x.recommendation_id << ": needs a user or a session");
  for (std::size_t i = 0; i < x.items.size(); ++i)
    TAILOR_REQUIRE(!x.items[i].empty(), "Exposure " << x.recommendation_id << ": items[" << i << "] is empty");
  for (std::size_t i = 0; i < x.variants.size(); ++i) {
    TAILOR_REQUIRE(!x.variants[i].experiment.empty() && (!x.variants[i].variant.empty() || x.variants[i].holdout),
                   "Exposure " << x.recommendation_id << ": variants[" << i
                               << "] needs an experiment and a variant name");
  }
  const std::uint32_t tagset_id = impl_->intern(x.variants);
  const TagSet tags = impl_->tagset(tagset_id);
  const std::string actor = x.actor();
  // Distinct items (by hash).
  std::vector<std::uint64_t> items;
  items.reserve(x.items.size());
  for (const auto& item : x.items) items.push_back(hash_of(item));
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  const std::uint64_t rec_hash = hash_of(x.recommendation_id);
  const auto rec = std::make_shared<const std::string>(x.recommendation_id);

  Shard& shard = impl_->shard_of(actor);
  std::lock_guard<std::mutex> lock(shard.mutex);
  Unit& unit = shard.units[actor];
  if (std::find(unit.recent.begin(), unit.recent.end(), rec_hash) != unit.recent.end()) {
    impl_->duplicates.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (unit.recent.size() < options_.dedup_window) {
    unit.recent.push_back(rec_hash);
  } else {
    unit.recent[unit.recent_next] = rec_hash;
    unit.recent_next = (unit.recent_next + 1) % unit.recent.size();
  }

  for (const auto& [experiment, group] : tags) {
    UnitExperiment* ue = unit.find(experiment);
    if (ue == nullptr) {
      unit.experiments.push_back({});
      ue = &unit.experiments.back();
      ue->experiment = experiment;
      ue->group = group;
    } else if (ue->group != group) {
      ue->conflict = true;
    }
    ue->exposures += 1;
    ue->impressions += items.size();
  }
  const Timestamp window = options_.attribution_window_ms;
  for (std::uint64_t item : items) {
    Touch touch;
    touch.item = item;
    touch.t = x.timestamp;
    touch.tagset = tagset_id;
    touch.recommendation = rec;
    insert_touch(unit.touches, std::move(touch), window, options_.max_touches_per_item);
  }
  unit.newest_exposure = std::max(unit.newest_exposure, x.timestamp);
  if (unit.touches.size() > unit.touch_sweep_at) {
    // Touches older than the newest exposure minus the window can no longer be credited with
    // events that arrive in time order.
    unit.touch_sweep_at = sweep(unit.touches, unit.newest_exposure - window, 64);
  }
  impl_->exposures.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::optional<Attribution> OutcomeTracker::record_event(const Event& event) {
  impl_->events.fetch_add(1, std::memory_order_relaxed);
  const bool dwell = options_.dwell_event && event.type == *options_.dwell_event && event.value.has_value();
  const bool outcome = event.type == EventType::click || event.type == EventType::add_to_cart ||
                       event.type == EventType::purchase || event.type == EventType::return_ || dwell;
  if (!outcome || (event.user.empty() && event.session.empty()) || event.item.empty()) {
    impl_->ignored.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  if (dwell) {
    TAILOR_REQUIRE(std::isfinite(*event.value) && *event.value >= 0,
                   "dwell event of " << event.actor() << " on item " << event.item
                                     << ": dwell seconds must be finite and >= 0, got " << *event.value);
  }
  double revenue = 0;
  if (event.type == EventType::purchase) {
    revenue = options_.revenue ? options_.revenue(event) : (event.value && *event.value > 0 ? *event.value : 0.0);
    TAILOR_REQUIRE(std::isfinite(revenue) && revenue >= 0,
                   "revenue of the purchase of " << event.item << " by " << event.actor()
                                                  << " must be finite and >= 0, got " << revenue);
  }
  const std::string actor = event.actor();
  const std::uint64_t item = hash_of(event.item);
  Shard& shard = impl_->shard_of(actor);
  std::optional<Attribution> result;
  TagSet tags;
  {
    std::lock_guard<std::mutex> lock(shard.mutex);
    const auto unit_it = shard.units.find(actor);
    if (unit_it != shard.units.end()) {
      Unit& unit = unit_it->second;
      if (event.type == EventType::return_) {
        auto [first, last] = item_range(unit.purchases, item);
        // The latest purchase at or before the return.
        auto it = std::upper_bound(first, last, event.timestamp, [](Timestamp t, const PurchaseTouch& p) { return t < p.t; });
        if (it != first) {
          --it;
          if (event.timestamp - it->t <= options_.return_window_ms) {
            result = Attribution{*it->recommendation, event.item, event.type, it->t, {}};
            tags = impl_->tagset(it->tagset);
            for (const auto& [experiment, group] : tags) {
              UnitExperiment* ue = unit.find(experiment);
              if (ue != nullptr) ue->returns += 1;
            }
            unit.purchases.erase(it);  // one return per purchase
          }
        }
      } else {
        auto [first, last] = item_range(unit.touches, item);
        // Last touch: the latest exposure of the item at or before the event.
        auto it = std::upper_bound(first, last, event.timestamp, [](Timestamp t, const Touch& x) { return t < x.t; });
        if (it != first) {
          --it;
          if (event.timestamp - it->t <= options_.attribution_window_ms) {
            result = Attribution{*it->recommendation, event.item, event.type, it->t, {}};
            bool first_click = false, first_cart = false;
            if (event.type == EventType::click && !it->clicked) first_click = it->clicked = true;
            if (event.type == EventType::add_to_cart && !it->carted) first_cart = it->carted = true;
            const std::uint32_t tagset_id = it->tagset;
            const RecommendationId rec = it->recommendation;
            tags = impl_->tagset(tagset_id);
            for (const auto& [experiment, group] : tags) {
              UnitExperiment* ue = unit.find(experiment);
              if (ue == nullptr) continue;
              if (first_click) ue->clicks += 1;
              if (first_cart) ue->carts += 1;
              if (dwell) {
                ue->dwell_events += 1;
                ue->dwell_seconds += *event.value;
              }
              if (event.type == EventType::purchase) {
                ue->purchases += 1;
                ue->revenue += revenue;
                Order* order = nullptr;
                if (!event.session.empty()) {
                  for (auto& o : ue->orders)
                    if (o.has_session && o.session == event.session) order = &o;
                }
                if (order == nullptr) {
                  ue->orders.push_back({!event.session.empty(), event.session, 0.0});
                  order = &ue->orders.back();
                }
                order->revenue += revenue;
              }
            }
            if (event.type == EventType::purchase) {
              // `it` is not used past this point: inserting may reallocate `purchases` only.
              PurchaseTouch p;
              p.item = item;
              p.t = event.timestamp;
              p.tagset = tagset_id;
              p.recommendation = rec;
              insert_touch(unit.purchases, std::move(p), options_.return_window_ms, options_.max_touches_per_item);
              unit.newest_purchase = std::max(unit.newest_purchase, event.timestamp);
              if (unit.purchases.size() > unit.purchase_sweep_at) {
                unit.purchase_sweep_at = sweep(unit.purchases, unit.newest_purchase - options_.return_window_ms, 16);
              }
            }
          }
        }
      }
    }
  }
  if (!result) {
    impl_->unattributed.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  result->variants = impl_->assignments(tags);
  impl_->attributed.fetch_add(1, std::memory_order_relaxed);
  return result;
}

ExperimentMetrics OutcomeTracker::metrics(std::string_view experiment) const {
  ExperimentMetrics out;
  out.experiment = std::string(experiment);
  std::uint32_t id = 0;
  std::vector<Group> groups;
  {
    std::shared_lock<std::shared_mutex> read(impl_->names_mutex);
    const auto it = impl_->experiment_ids.find(out.experiment);
    if (it == impl_->experiment_ids.end()) return out;
    id = it->second;
    groups = impl_->groups[id];
  }
  std::vector<VariantMetrics> by_group(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    by_group[g].name = groups[g].name;
    by_group[g].holdout = groups[g].holdout;
  }
  for (const Shard& shard : impl_->shards) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    for (const auto& [actor, unit] : shard.units) {
      for (const UnitExperiment& ue : unit.experiments) {
        if (ue.experiment != id || ue.group >= by_group.size()) continue;
        VariantMetrics& v = by_group[ue.group];
        v.units += 1;
        v.exposures += ue.exposures;
        v.impressions += ue.impressions;
        v.clicks += ue.clicks;
        v.add_to_carts += ue.carts;
        v.purchases += ue.purchases;
        v.returns += ue.returns;
        v.revenue += ue.revenue;
        v.dwell_events += ue.dwell_events;
        v.clicking_units += ue.clicks > 0;
        v.carting_units += ue.carts > 0;
        v.converting_units += ue.purchases > 0;
        v.revenue_per_unit.add(ue.revenue);
        for (const Order& o : ue.orders) v.order_values.add(o.revenue);
        v.orders += ue.orders.size();
        v.click_through.add(double(ue.clicks), double(ue.impressions));
        v.returns_per_purchase.add(double(ue.returns), double(ue.purchases));
        v.dwell.add(ue.dwell_seconds, double(ue.dwell_events));
        out.conflicting_units += ue.conflict;
      }
    }
  }
  for (auto& v : by_group)
    if (v.units > 0 && !v.holdout) out.variants.push_back(std::move(v));
  for (auto& v : by_group)
    if (v.units > 0 && v.holdout) out.variants.push_back(std::move(v));
  return out;
}

std::vector<std::string> OutcomeTracker::experiments() const {
  std::shared_lock<std::shared_mutex> read(impl_->names_mutex);
  return impl_->experiment_names;
}

OutcomeCounters OutcomeTracker::counters() const {
  OutcomeCounters c;
  c.exposures = impl_->exposures.load();
  c.duplicate_exposures = impl_->duplicates.load();
  c.events = impl_->events.load();
  c.attributed = impl_->attributed.load();
  c.unattributed = impl_->unattributed.load();
  c.ignored = impl_->ignored.load();
  for (const Shard& shard : impl_->shards) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    c.actors += shard.units.size();
    for (const auto& [actor, unit] : shard.units) {
      c.live_touches += unit.touches.size();
      c.live_purchases += unit.purchases.size();
    }
  }
  return c;
}

void OutcomeTracker::prune(Timestamp now) {
  for (Shard& shard : impl_->shards) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    for (auto& [actor, unit] : shard.units) {
      unit.touch_sweep_at = sweep(unit.touches, now - options_.attribution_window_ms, 64);
      unit.purchase_sweep_at = sweep(unit.purchases, now - options_.return_window_ms, 16);
      unit.touches.shrink_to_fit();
      unit.purchases.shrink_to_fit();
    }
  }
}

std::string make_recommendation_id() {
  thread_local std::mt19937_64 rng = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  std::uint8_t bytes[16];
  for (int half = 0; half < 2; ++half) {
    const std::uint64_t v = rng();
    for (int i = 0; i < 8; ++i) bytes[half * 8 + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  return detail::to_hex(bytes, sizeof bytes);
}

}  // namespace tailor
