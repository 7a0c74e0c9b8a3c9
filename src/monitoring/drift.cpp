// tailor: drift detection (see include/tailor/monitoring/drift.hpp).
#include "tailor/monitoring/drift.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <string_view>
#include <utility>

#include "tailor/core/error.hpp"
#include "tailor/stats/hypothesis.hpp"
#include "internal/random.hpp"
#include "internal/json.hpp"

namespace tailor {
namespace {

using detail::json_number;

// Uniform in [0, n) for n >= 1 from the SplitMix64 stream kept in `state`.
std::uint64_t uniform_below(std::uint64_t& state, std::uint64_t n) {
  detail::SplitMix64 rng(state);
  const std::uint64_t r = rng.below(n);
  state = rng.state();
  return r;
}

std::string type_label(std::uint16_t code) {
  const std::string_view name = builtin_event_type_name(static_cast<EventType>(code));
  if (!name.empty()) return std::string(name);
  return "custom_" + std::to_string(code);
}

std::string fmt(double v, int digits = 3) { return detail::short_number(v, digits); }

std::string percent(double share) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(1) << 100.0 * share << "%";
  return os.str();
}

const char* psi_severity(double psi, const DriftOptions& o) {
  if (psi >= o.psi_major) return "major";
  if (psi >= o.psi_moderate) return "moderate";
  return "none";
}

// Fills a PSI signal from aligned counts and labels.
void psi_signal(DriftSignal& s, const std::vector<std::string>& labels, const std::vector<double>& ref,
                const std::vector<double>& cur, std::uint64_t ref_total, std::uint64_t cur_total,
                const DriftOptions& o) {
  s.statistic = "psi";
  s.reference_count = ref_total;
  s.current_count = cur_total;
  s.threshold = o.drift_on_moderate ? o.psi_moderate : o.psi_major;
  s.value = stats::population_stability_index(ref, cur, o.psi_epsilon);
  s.evaluated = true;
  s.severity = psi_severity(s.value, o);
  s.drifted = s.value >= s.threshold;
  s.expected_without_drift = static_cast<double>(labels.size() - 1) *
                             (1.0 / static_cast<double>(ref_total) + 1.0 / static_cast<double>(cur_total));
  double ref_sum = 0.0, cur_sum = 0.0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    ref_sum += ref[i];
    cur_sum += cur[i];
  }
  std::vector<DriftBin> bins;
  bins.reserve(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    DriftBin b;
    b.label = labels[i];
    b.reference_share = ref[i] / ref_sum;
    b.current_share = cur[i] / cur_sum;
    const double e = std::max(b.reference_share, o.psi_epsilon);
    const double a = std::max(b.current_share, o.psi_epsilon);
    b.contribution = (a - e) * std::log(a / e);
    bins.push_back(std::move(b));
  }
  std::stable_sort(bins.begin(), bins.end(),
                   [](const DriftBin& x, const DriftBin& y) { return x.contribution > y.contribution; });
  if (bins.size() > o.report_bins) bins.resize(o.report_bins);
  s.bins = std::move(bins);
}

std::string too_few(const char* what, const char* side, std::uint64_t have, const char* unit,
                    const char* option, std::size_t need) {
  std::ostringstream os;
  os << what << ": the " << side << " window has " << have << " " << unit << " (< " << option << " "
     << need << "), not evaluated";
  return os.str();
}

}  // namespace

// ---- options, profiles, reports ----------------------------------------------------------------

void DriftOptions::validate() const {
  if (!(psi_moderate > 0.0) || !std::isfinite(psi_moderate)) {
    TAILOR_THROW(invalid_argument, "DriftOptions: psi_moderate must be finite and > 0, got " << psi_moderate);
  }
  if (!(psi_major >= psi_moderate) || !std::isfinite(psi_major)) {
    TAILOR_THROW(invalid_argument, "DriftOptions: psi_major must be finite and >= psi_moderate ("
                                       << psi_moderate << "), got " << psi_major);
  }
  if (!(psi_epsilon > 0.0 && psi_epsilon <= 0.01)) {
    TAILOR_THROW(invalid_argument, "DriftOptions: psi_epsilon must be in (0, 0.01], got " << psi_epsilon);
  }
  if (top_items == 0) TAILOR_THROW(invalid_argument, "DriftOptions: top_items must be >= 1");
  if (!(unseen_item_share > 0.0 && unseen_item_share <= 1.0)) {
    TAILOR_THROW(invalid_argument, "DriftOptions: unseen_item_share must be in (0, 1], got " << unseen_item_share);
  }
  if (!(ks_p_value > 0.0 && ks_p_value < 1.0)) {
    TAILOR_THROW(invalid_argument, "DriftOptions: ks_p_value must be in (0, 1), got " << ks_p_value);
  }
  if (!(ks_min_statistic >= 0.0 && ks_min_statistic <= 1.0)) {
    TAILOR_THROW(invalid_argument, "DriftOptions: ks_min_statistic must be in [0, 1], got " << ks_min_statistic);
  }
  if (min_events == 0) TAILOR_THROW(invalid_argument, "DriftOptions: min_events must be >= 1");
  if (min_scores == 0) TAILOR_THROW(invalid_argument, "DriftOptions: min_scores must be >= 1");
  if (window_ms <= 0) TAILOR_THROW(invalid_argument, "DriftOptions: window_ms must be > 0, got " << window_ms);
  if (window_buckets == 0 || window_buckets > 100000) {
    TAILOR_THROW(invalid_argument, "DriftOptions: window_buckets must be in [1, 100000], got " << window_buckets);
  }
  if (static_cast<std::uint64_t>(window_ms) < window_buckets) {
    TAILOR_THROW(invalid_argument, "DriftOptions: window_buckets (" << window_buckets
                                       << ") must be <= window_ms (" << window_ms << ")");
  }
  if (max_score_samples < window_buckets) {
    TAILOR_THROW(invalid_argument, "DriftOptions: max_score_samples (" << max_score_samples
                                       << ") must be >= window_buckets (" << window_buckets << ")");
  }
}

nlohmann::json DriftOptions::to_json() const {
  return {{"psi_moderate", psi_moderate},
          {"psi_major", psi_major},
          {"drift_on_moderate", drift_on_moderate},
          {"psi_epsilon", psi_epsilon},
          {"top_items", top_items},
          {"unseen_item_share", unseen_item_share},
          {"ks_p_value", ks_p_value},
          {"ks_min_statistic", ks_min_statistic},
          {"min_events", min_events},
          {"min_scores", min_scores},
          {"window_ms", window_ms},
          {"window_buckets", window_buckets},
          {"max_score_samples", max_score_samples},
          {"report_bins", report_bins},
          {"seed", seed}};
}

void DriftProfile::add(const Event& event) {
  ++events;
  ++event_types[static_cast<std::uint16_t>(event.type)];
  if (!event.item.empty()) {
    ++item_events;
    ++items[event.item];
  }
  first_time = std::min(first_time, event.timestamp);
  last_time = std::max(last_time, event.timestamp);
}

void DriftProfile::add_score(double score) {
  if (std::isnan(score)) TAILOR_THROW(invalid_argument, "DriftProfile::add_score: score is NaN");
  scores.push_back(score);
  ++scores_seen;
}

DriftProfile DriftProfile::from_events(const std::vector<Event>& events, const std::vector<double>& scores) {
  DriftProfile p;
  for (const Event& e : events) p.add(e);
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i])) TAILOR_THROW(invalid_argument, "DriftProfile::from_events: scores[" << i << "] is NaN");
  }
  p.scores = scores;
  p.scores_seen = scores.size();
  return p;
}

nlohmann::json DriftProfile::summary() const {
  nlohmann::json types = nlohmann::json::object();
  for (const auto& [code, count] : event_types) types[type_label(code)] = count;
  nlohmann::json j = {{"events", events},
                      {"item_events", item_events},
                      {"distinct_items", items.size()},
                      {"event_types", types},
                      {"scores_seen", scores_seen},
                      {"score_samples", scores.size()}};
  j["first_time"] = events > 0 ? nlohmann::json(first_time) : nlohmann::json(nullptr);
  j["last_time"] = events > 0 ? nlohmann::json(last_time) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json DriftSignal::to_json() const {
  nlohmann::json j = {{"name", name},
                      {"statistic", statistic},
                      {"evaluated", evaluated},
                      {"value", json_number(value)},
                      {"threshold", json_number(threshold)},
                      {"severity", severity},
                      {"drifted", drifted},
                      {"reference_count", reference_count},
                      {"current_count", current_count}};
  j["p_value"] = json_number(p_value);
  if (statistic == "psi") {
    j["expected_without_drift"] = json_number(expected_without_drift);
    nlohmann::json bins_json = nlohmann::json::array();
    for (const DriftBin& b : bins) {
      bins_json.push_back({{"label", b.label},
                           {"reference_share", json_number(b.reference_share)},
                           {"current_share", json_number(b.current_share)},
                           {"contribution", json_number(b.contribution)}});
    }
    j["bins"] = std::move(bins_json);
  }
  if (!note.empty()) j["note"] = note;
  return j;
}

nlohmann::json DriftReport::to_json() const {
  nlohmann::json signals = nlohmann::json::object();
  for (const DriftSignal* s : {&event_types, &item_popularity, &unseen_items, &scores}) {
    signals[s->name] = s->to_json();
  }
  return {{"drifted", drifted},   {"reasons", reasons}, {"notes", notes},
          {"signals", signals},   {"reference", reference.is_null() ? nlohmann::json::object() : reference},
          {"current", current.is_null() ? nlohmann::json::object() : current}};
}

DriftReport compare_profiles(const DriftProfile& reference, const DriftProfile& current,
                             const DriftOptions& options) {
  options.validate();
  const DriftOptions& o = options;
  DriftReport r;
  r.reference = reference.summary();
  r.current = current.summary();
  r.event_types.name = "event_type_mix";
  r.event_types.statistic = "psi";
  r.item_popularity.name = "item_popularity";
  r.item_popularity.statistic = "psi";
  r.unseen_items.name = "unseen_items";
  r.unseen_items.statistic = "share";
  r.scores.name = "scores";
  r.scores.statistic = "ks";

  // Event-type mix: one bin per type seen in either window.
  {
    DriftSignal& s = r.event_types;
    s.reference_count = reference.events;
    s.current_count = current.events;
    if (reference.events < o.min_events) {
      s.note = too_few("event_type_mix", "reference", reference.events, "events", "min_events", o.min_events);
    } else if (current.events < o.min_events) {
      s.note = too_few("event_type_mix", "current", current.events, "events", "min_events", o.min_events);
    } else {
      std::map<std::uint16_t, std::pair<double, double>> bins;
      for (const auto& [code, count] : reference.event_types) bins[code].first = static_cast<double>(count);
      for (const auto& [code, count] : current.event_types) bins[code].second = static_cast<double>(count);
      std::vector<std::string> labels;
      std::vector<double> ref, cur;
      for (const auto& [code, counts] : bins) {
        labels.push_back(type_label(code));
        ref.push_back(counts.first);
        cur.push_back(counts.second);
      }
      psi_signal(s, labels, ref, cur, reference.events, current.events, o);
      if (labels.size() >= 2) s.p_value = stats::chi_square_independence({ref, cur}).p_value;
      if (s.drifted) {
        r.reasons.push_back("event-type mix PSI " + fmt(s.value) + " >= " + fmt(s.threshold) + " (" +
                            s.severity + " shift; largest change: " + s.bins.front().label + " " +
                            percent(s.bins.front().reference_share) + " -> " +
                            percent(s.bins.front().current_share) + ")");
      }
    }
  }

  // Item popularity and unseen items, over events with an item.
  const bool items_ok = reference.item_events >= o.min_events && current.item_events >= o.min_events;
  std::string items_note;
  if (reference.item_events < o.min_events) {
    items_note = "the reference window has " + std::to_string(reference.item_events) +
                 " item events (< min_events " + std::to_string(o.min_events) + "), not evaluated";
  } else if (current.item_events < o.min_events) {
    items_note = "the current window has " + std::to_string(current.item_events) +
                 " item events (< min_events " + std::to_string(o.min_events) + "), not evaluated";
  }
  {
    DriftSignal& s = r.item_popularity;
    s.reference_count = reference.item_events;
    s.current_count = current.item_events;
    if (!items_ok) {
      s.note = "item_popularity: " + items_note;
    } else {
      // The reference's most frequent items (ties by ID, for a deterministic choice).
      std::vector<std::pair<const std::string*, std::uint64_t>> ranked;
      ranked.reserve(reference.items.size());
      for (const auto& [id, count] : reference.items) ranked.emplace_back(&id, count);
      const std::size_t k = std::min(o.top_items, ranked.size());
      auto better = [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : *a.first < *b.first;
      };
      std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(k), ranked.end(), better);
      std::vector<std::string> labels;
      std::vector<double> ref, cur;
      double ref_top = 0.0, cur_top = 0.0;
      for (std::size_t i = 0; i < k; ++i) {
        labels.push_back(*ranked[i].first);
        ref.push_back(static_cast<double>(ranked[i].second));
        const auto it = current.items.find(*ranked[i].first);
        cur.push_back(it == current.items.end() ? 0.0 : static_cast<double>(it->second));
        ref_top += ref.back();
        cur_top += cur.back();
      }
      labels.emplace_back("(other)");
      ref.push_back(static_cast<double>(reference.item_events) - ref_top);
      cur.push_back(static_cast<double>(current.item_events) - cur_top);
      psi_signal(s, labels, ref, cur, reference.item_events, current.item_events, o);
      if (s.drifted) {
        r.reasons.push_back("item popularity PSI " + fmt(s.value) + " >= " + fmt(s.threshold) + " (" +
                            s.severity + " shift over the reference's top " + std::to_string(k) +
                            " items and the rest; largest change: " + s.bins.front().label + " " +
                            percent(s.bins.front().reference_share) + " -> " +
                            percent(s.bins.front().current_share) + ")");
      }
    }
  }
  {
    DriftSignal& s = r.unseen_items;
    s.reference_count = reference.item_events;
    s.current_count = current.item_events;
    s.threshold = o.unseen_item_share;
    if (!items_ok) {
      s.note = "unseen_items: " + items_note;
    } else {
      std::uint64_t unseen = 0;
      for (const auto& [id, count] : current.items) {
        if (reference.items.find(id) == reference.items.end()) unseen += count;
      }
      s.value = static_cast<double>(unseen) / static_cast<double>(current.item_events);
      s.evaluated = true;
      s.drifted = s.value >= s.threshold;
      s.severity = s.drifted ? "drift" : "none";
      if (s.drifted) {
        r.reasons.push_back(percent(s.value) + " of the current item events are on items unseen in "
                            "the reference (threshold " + percent(s.threshold) + ")");
      }
    }
  }
  {
    DriftSignal& s = r.scores;
    s.reference_count = reference.scores.size();
    s.current_count = current.scores.size();
    s.threshold = o.ks_min_statistic;
    if (reference.scores.size() < o.min_scores) {
      s.note = too_few("scores", "reference", reference.scores.size(), "score samples", "min_scores", o.min_scores);
    } else if (current.scores.size() < o.min_scores) {
      s.note = too_few("scores", "current", current.scores.size(), "score samples", "min_scores", o.min_scores);
    } else {
      const stats::KsResult ks = stats::ks_two_sample(reference.scores, current.scores);
      s.value = ks.statistic;
      s.p_value = ks.p_value;
      s.evaluated = true;
      s.drifted = ks.statistic >= o.ks_min_statistic && ks.p_value < o.ks_p_value;
      s.severity = s.drifted ? "drift" : "none";
      if (s.drifted) {
        r.reasons.push_back("score distribution changed: KS D = " + fmt(ks.statistic) + " >= " +
                            fmt(o.ks_min_statistic) + " with p = " + fmt(ks.p_value) + " < " +
                            fmt(o.ks_p_value) + " (" + std::to_string(ks.n1) + " vs " +
                            std::to_string(ks.n2) + " scores)");
      }
    }
  }
  for (const DriftSignal* s : {&r.event_types, &r.item_popularity, &r.unseen_items, &r.scores}) {
    r.drifted = r.drifted || s->drifted;
    if (!s->evaluated) r.notes.push_back(s->note);
  }
  return r;
}

DriftReport compare_windows(const std::vector<Event>& reference, const std::vector<Event>& current,
                            const DriftOptions& options, const std::vector<double>& reference_scores,
                            const std::vector<double>& current_scores) {
  return compare_profiles(DriftProfile::from_events(reference, reference_scores),
                          DriftProfile::from_events(current, current_scores), options);
}

// ---- DriftMonitor -------------------------------------------------------------------------------

DriftMonitor::DriftMonitor(DriftOptions options) : options_(std::move(options)) {
  options_.validate();
  width_ = options_.window_ms / static_cast<Timestamp>(options_.window_buckets);
  reservoir_ = options_.max_score_samples / options_.window_buckets;
  buckets_.resize(options_.window_buckets);
  rng_state_ = options_.seed;
}

std::int64_t DriftMonitor::epoch_of(Timestamp t) const {
  // Floor division (timestamps may be negative).
  std::int64_t q = t / width_;
  if (t % width_ != 0 && t < 0) --q;
  return q;
}

DriftMonitor::Bucket& DriftMonitor::bucket_for(std::int64_t epoch) {
  const std::int64_t n = buckets_n();
  Bucket& b = buckets_[static_cast<std::size_t>(((epoch % n) + n) % n)];
  if (b.epoch != epoch) {
    b.epoch = epoch;
    b.profile = DriftProfile{};
  }
  return b;
}

void DriftMonitor::set_reference(DriftProfile reference) {
  std::lock_guard<std::mutex> lock(mutex_);
  reference_ = std::move(reference);
  has_reference_ = true;
}

void DriftMonitor::set_reference_from_current() {
  std::lock_guard<std::mutex> lock(mutex_);
  reference_ = merged_locked();
  has_reference_ = true;
}

bool DriftMonitor::has_reference() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return has_reference_;
}

void DriftMonitor::observe(const Event& event) {
  const std::int64_t epoch = epoch_of(event.timestamp);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!admit(epoch)) return;
  bucket_for(epoch).profile.add(event);
}

bool DriftMonitor::admit(std::int64_t epoch) {
  if (!started_ || epoch > head_) head_ = epoch;
  started_ = true;
  if (in_window(epoch)) return true;
  ++late_;
  return false;
}

void DriftMonitor::observe_score(double score, Timestamp time) {
  if (std::isnan(score)) TAILOR_THROW(invalid_argument, "DriftMonitor::observe_score: score is NaN (time " << time << ")");
  const std::int64_t epoch = epoch_of(time);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!admit(epoch)) return;
  DriftProfile& p = bucket_for(epoch).profile;
  ++p.scores_seen;
  if (p.scores.size() < reservoir_) {
    p.scores.push_back(score);
  } else {
    // Reservoir sampling (Vitter's algorithm R): keep each of the seen scores with equal chance.
    const std::uint64_t j = uniform_below(rng_state_, p.scores_seen);
    if (j < reservoir_) p.scores[static_cast<std::size_t>(j)] = score;
  }
}

void DriftMonitor::advance(Timestamp now) {
  const std::int64_t epoch = epoch_of(now);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!started_ || epoch > head_) head_ = epoch;
  started_ = true;
}

DriftProfile DriftMonitor::merged_locked() const {
  DriftProfile out;
  if (!started_) return out;
  // Score reservoirs of busy buckets hold a smaller share of their scores than those of quiet
  // ones; take from every bucket the same share (the busiest bucket's rate) so the merged sample
  // is an even sample of the window.
  double rate = 1.0;
  for (const Bucket& b : buckets_) {
    if (!in_window(b.epoch) || b.profile.scores_seen == 0) continue;
    rate = std::min(rate, static_cast<double>(b.profile.scores.size()) /
                              static_cast<double>(b.profile.scores_seen));
  }
  for (const Bucket& b : buckets_) {
    if (!in_window(b.epoch)) continue;
    const DriftProfile& p = b.profile;
    out.events += p.events;
    out.item_events += p.item_events;
    for (const auto& [code, count] : p.event_types) out.event_types[code] += count;
    for (const auto& [id, count] : p.items) out.items[id] += count;
    if (p.events > 0) {
      out.first_time = std::min(out.first_time, p.first_time);
      out.last_time = std::max(out.last_time, p.last_time);
    }
    out.scores_seen += p.scores_seen;
    const auto take = std::min<std::size_t>(
        p.scores.size(), static_cast<std::size_t>(std::llround(rate * static_cast<double>(p.scores_seen))));
    if (take == p.scores.size()) {
      out.scores.insert(out.scores.end(), p.scores.begin(), p.scores.end());
    } else {
      // A seeded partial shuffle picks `take` of the reservoir uniformly.
      std::vector<double> pool = p.scores;
      std::uint64_t state = options_.seed ^ static_cast<std::uint64_t>(b.epoch) * detail::kGoldenGamma;
      for (std::size_t i = 0; i < take; ++i) {
        const std::size_t pick = i + static_cast<std::size_t>(uniform_below(state, pool.size() - i));
        std::swap(pool[i], pool[pick]);
        out.scores.push_back(pool[i]);
      }
    }
  }
  return out;
}

DriftProfile DriftMonitor::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return merged_locked();
}

Timestamp DriftMonitor::window_start() const {
  std::lock_guard<std::mutex> lock(mutex_);
  // Saturates at min() for (absurdly) early clocks instead of overflowing.
  if (!started_ || head_ < std::numeric_limits<Timestamp>::min() / width_ + buckets_n()) {
    return std::numeric_limits<Timestamp>::min();
  }
  return (head_ - buckets_n() + 1) * width_;
}

std::uint64_t DriftMonitor::late_events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return late_;
}

DriftReport DriftMonitor::report() const {
  DriftProfile reference, current;
  bool has_reference = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    has_reference = has_reference_;
    if (has_reference) reference = reference_;
    current = merged_locked();
  }
  if (has_reference) return compare_profiles(reference, current, options_);
  DriftReport r = compare_profiles(DriftProfile{}, current, options_);
  for (DriftSignal* s : {&r.event_types, &r.item_popularity, &r.unseen_items, &r.scores}) {
    s->note = s->name + ": no reference window";
  }
  r.notes.clear();
  r.notes.emplace_back("no reference window: call set_reference or set_reference_from_current");
  return r;
}

}  // namespace tailor
