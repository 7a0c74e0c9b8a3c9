// tailor: retrain policy, candidate guard, incremental-versus-full study
// (see include/tailor/monitoring/retrain_policy.hpp).
#include "tailor/monitoring/incremental_study.hpp"

#include "tailor/evaluation/evaluator.hpp"
#include "tailor/models/scorers.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iterator>
#include <memory>
#include <sstream>
#include <unordered_set>
#include <utility>

#include "tailor/core/error.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/evaluation/metrics.hpp"
#include "tailor/core/scored_item.hpp"
#include "internal/json.hpp"

namespace tailor {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using detail::json_number;

}  // namespace

ALSOptions IncrementalStudyOptions::default_als() {
  ALSOptions o;
  o.factors = 32;
  o.iterations = 8;
  o.regularization = 0.05f;
  o.compute_loss = false;
  return o;
}

InteractionMatrixOptions IncrementalStudyOptions::default_matrix() {
  InteractionMatrixOptions o;
  o.transform = ConfidenceTransform::logarithmic;
  o.alpha = 8.0;
  o.include_anonymous = false;
  return o;
}

void IncrementalStudyOptions::validate() const {
  als.validate();
  matrix.validate();
  if (prefix_events == 0) TAILOR_THROW(invalid_argument, "IncrementalStudyOptions: prefix_events must be >= 1");
  if (new_events.empty()) TAILOR_THROW(invalid_argument, "IncrementalStudyOptions: new_events is empty");
  for (std::size_t i = 0; i < new_events.size(); ++i) {
    if (new_events[i] == 0) TAILOR_THROW(invalid_argument, "IncrementalStudyOptions: new_events[" << i << "] = 0, must be >= 1");
  }
  if (test_events == 0) TAILOR_THROW(invalid_argument, "IncrementalStudyOptions: test_events must be >= 1");
  if (k == 0) TAILOR_THROW(invalid_argument, "IncrementalStudyOptions: k must be >= 1");
  if (overlap_k == 0) TAILOR_THROW(invalid_argument, "IncrementalStudyOptions: overlap_k must be >= 1");
  if (repeats == 0) TAILOR_THROW(invalid_argument, "IncrementalStudyOptions: repeats must be >= 1");
  for (std::size_t i = 0; i < partial_fit_iterations.size(); ++i) {
    if (partial_fit_iterations[i] < 0) {
      TAILOR_THROW(invalid_argument, "IncrementalStudyOptions: partial_fit_iterations[" << i << "] = "
                                         << partial_fit_iterations[i] << ", must be >= 0");
    }
  }
}

nlohmann::json IncrementalStudyOptions::to_json() const {
  std::vector<std::string> types;
  for (EventType t : relevant_types) {
    const std::string_view name = builtin_event_type_name(t);
    types.push_back(name.empty() ? "custom_" + std::to_string(static_cast<unsigned>(t)) : std::string(name));
  }
  return {{"als", {{"factors", als.factors},
                   {"iterations", als.iterations},
                   {"regularization", als.regularization},
                   {"seed", als.seed},
                   {"solver", als.solver == ALSSolver::cholesky ? "cholesky" : "conjugate_gradient"}}},
          {"confidence", {{"alpha", matrix.alpha},
                          {"transform", matrix.transform == ConfidenceTransform::linear        ? "linear"
                                        : matrix.transform == ConfidenceTransform::logarithmic ? "logarithmic"
                                                                                               : "raw"}}},
          {"prefix_events", prefix_events},
          {"new_events", new_events},
          {"test_events", test_events},
          {"relevant_types", types},
          {"k", k},
          {"overlap_k", overlap_k},
          {"partial_fit_iterations", partial_fit_iterations},
          {"refit_seed_noise", refit_seed_noise},
          {"repeats", repeats}};
}

nlohmann::json IncrementalMethod::to_json() const {
  return {{"name", name}, {"ndcg", json_number(ndcg)}, {"ndcg_ratio", json_number(ndcg_ratio)}, {"overlap", json_number(overlap)}};
}

const IncrementalMethod& IncrementalPoint::method(const std::string& name) const {
  for (const auto& m : methods) {
    if (m.name == name) return m;
  }
  TAILOR_THROW(invalid_argument, "IncrementalPoint: no method '" << name << "' (N = " << new_events << ")");
}

nlohmann::json IncrementalPoint::to_json() const {
  nlohmann::json ms = nlohmann::json::array();
  for (const auto& m : methods) ms.push_back(m.to_json());
  return {{"new_events", new_events},         {"training_events", training_events},
          {"new_fraction", new_fraction},     {"affected_users", affected_users},
          {"new_users", new_users},           {"new_items", new_items},
          {"test_users", test_users},         {"relevant_pairs", relevant_pairs},
          {"methods", ms}};
}

nlohmann::json IncrementalStudy::to_json() const {
  nlohmann::json ps = nlohmann::json::array();
  for (const auto& p : points) ps.push_back(p.to_json());
  return {{"options", options}, {"points", ps}};
}

namespace {

// score(u, i) = x_u . y_i over given factor rows; items at or beyond y.rows() (unknown to the
// model) get the lowest float and users at or beyond x.rows() score 0 everywhere.
class FactorScorer : public Scorer {
 public:
  FactorScorer(std::shared_ptr<const RowMatrix> users, std::shared_ptr<const RowMatrix> items,
               std::size_t n_items)
      : users_(std::move(users)), items_(std::move(items)), n_items_(n_items) {}

  using Scorer::score;
  std::size_t n_items() const override { return n_items_; }
  void score(Index user, float* out, std::size_t out_size) const override {
    TAILOR_REQUIRE(out_size == n_items_, "FactorScorer: out_size " << out_size << " != n_items " << n_items_);
    const auto known = static_cast<std::size_t>(items_->rows());
    if (static_cast<Eigen::Index>(user) >= users_->rows()) {
      std::fill(out, out + known, 0.0f);
    } else {
      Eigen::Map<Eigen::VectorXf> scores(out, static_cast<Eigen::Index>(known));
      scores.noalias() = (*items_) * users_->row(user).transpose();
    }
    std::fill(out + known, out + n_items_, std::numeric_limits<float>::lowest());
  }

 private:
  std::shared_ptr<const RowMatrix> users_;
  std::shared_ptr<const RowMatrix> items_;
  std::size_t n_items_;
};

// Users and items in order of first appearance in the time-ordered stream, and how many of each
// had appeared before every event position.
struct FirstSeen {
  IdMap users;
  IdMap items;
  std::vector<std::uint32_t> users_before;  // users_before[p] = distinct users in events[0, p)
  std::vector<std::uint32_t> items_before;
};

bool counts_user(const Event& e, bool include_anonymous) {
  return !e.user.empty() || (include_anonymous && !e.session.empty());
}

FirstSeen first_seen(const std::vector<Event>& events, std::size_t end, bool include_anonymous) {
  FirstSeen f;
  f.users_before.resize(end + 1);
  f.items_before.resize(end + 1);
  for (std::size_t p = 0; p < end; ++p) {
    f.users_before[p] = static_cast<std::uint32_t>(f.users.size());
    f.items_before[p] = static_cast<std::uint32_t>(f.items.size());
    const Event& e = events[p];
    if (e.item.empty() || !counts_user(e, include_anonymous)) continue;
    f.users.insert(e.actor());
    f.items.insert(e.item);
  }
  f.users_before[end] = static_cast<std::uint32_t>(f.users.size());
  f.items_before[end] = static_cast<std::uint32_t>(f.items.size());
  return f;
}

// Confidences of events[0, end) in the first-seen index space (users_before[end] x items_before[end]).
SparseMatrix confidence_matrix(const std::vector<Event>& events, std::size_t end, const FirstSeen& f,
                               const InteractionMatrixOptions& options) {
  InteractionMatrixBuilder builder(options);
  for (std::size_t p = 0; p < end; ++p) builder.add(events[p]);
  const InteractionMatrix m = builder.build();
  using Triplet = Eigen::Triplet<float, std::int32_t>;
  std::vector<Triplet> triplets;
  triplets.reserve(m.nnz());
  const SparseMatrix& c = m.confidence();
  for (Eigen::Index r = 0; r < c.rows(); ++r) {
    const Index u = f.users.at(m.users().id(static_cast<Index>(r)));
    for (SparseMatrix::InnerIterator it(c, r); it; ++it) {
      const Index i = f.items.at(m.items().id(static_cast<Index>(it.index())));
      triplets.emplace_back(static_cast<std::int32_t>(u), static_cast<std::int32_t>(i), it.value());
    }
  }
  SparseMatrix out(static_cast<Eigen::Index>(f.users_before[end]), static_cast<Eigen::Index>(f.items_before[end]));
  out.setFromTriplets(triplets.begin(), triplets.end());
  out.makeCompressed();
  return out;
}

double mean_ndcg(const std::vector<std::vector<Index>>& lists, const std::vector<std::vector<Index>>& relevant,
                 std::size_t k) {
  if (lists.empty()) return kNaN;
  double sum = 0.0;
  for (std::size_t u = 0; u < lists.size(); ++u) sum += ndcg_at_k(lists[u], relevant[u], k);
  return sum / static_cast<double>(lists.size());
}

double mean_overlap(const std::vector<std::vector<Index>>& a, const std::vector<std::vector<Index>>& b,
                    std::size_t k) {
  if (a.empty()) return kNaN;
  double sum = 0.0;
  std::vector<Index> x, y, both;
  for (std::size_t u = 0; u < a.size(); ++u) {
    x.assign(a[u].begin(), a[u].begin() + static_cast<std::ptrdiff_t>(std::min(k, a[u].size())));
    y.assign(b[u].begin(), b[u].begin() + static_cast<std::ptrdiff_t>(std::min(k, b[u].size())));
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    both.clear();
    std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(both));
    sum += static_cast<double>(both.size()) / static_cast<double>(k);
  }
  return sum / static_cast<double>(a.size());
}

}  // namespace

IncrementalStudy measure_incremental_drift(std::vector<Event> events, const IncrementalStudyOptions& options) {
  options.validate();
  const std::size_t max_new = *std::max_element(options.new_events.begin(), options.new_events.end());
  if (options.prefix_events + max_new + options.test_events > events.size()) {
    TAILOR_THROW(invalid_argument, "measure_incremental_drift: prefix_events (" << options.prefix_events
                                       << ") + max new_events (" << max_new << ") + test_events ("
                                       << options.test_events << ") exceed the " << events.size() << " events");
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.timestamp < b.timestamp; });
  const bool anonymous = options.matrix.include_anonymous;
  const std::size_t P = options.prefix_events;
  const FirstSeen seen = first_seen(events, P + max_new + options.test_events, anonymous);
  const std::size_t users_p = seen.users_before[P];
  const std::size_t items_p = seen.items_before[P];

  const EvaluationOptions eo = EvaluationOptions::accuracy_at(options.k, options.als.threads);

  // What does not depend on the seed: each N's grown matrix, held-out pairs and affected users.
  struct Step {
    SparseMatrix grown;
    std::unique_ptr<Evaluator> evaluator;
    std::vector<Index> affected;  // ascending
    std::vector<std::vector<Index>> relevant;  // per evaluator test user
    std::size_t users_n = 0;
    std::size_t items_n = 0;
  };
  IncrementalStudy study;
  study.options = options.to_json();
  std::vector<Step> steps(options.new_events.size());
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const std::size_t n = options.new_events[s];
    const std::size_t end = P + n;
    Step& step = steps[s];
    step.users_n = seen.users_before[end];
    step.items_n = seen.items_before[end];
    step.grown = confidence_matrix(events, end, seen, options.matrix);
    // Held-out pairs: relevant events after prefix + N, user and item known, item new to the user.
    using Triplet = Eigen::Triplet<float, std::int32_t>;
    std::vector<Triplet> held;
    for (std::size_t p = end; p < end + options.test_events; ++p) {
      const Event& e = events[p];
      if (e.item.empty() || !counts_user(e, anonymous)) continue;
      if (!options.relevant_types.empty() &&
          std::find(options.relevant_types.begin(), options.relevant_types.end(), e.type) ==
              options.relevant_types.end()) {
        continue;
      }
      const auto u = seen.users.find(e.actor());
      const auto i = seen.items.find(e.item);
      if (!u || !i || *u >= step.users_n || *i >= step.items_n) continue;
      if (step.grown.coeff(static_cast<Eigen::Index>(*u), static_cast<Eigen::Index>(*i)) != 0.0f) continue;
      held.emplace_back(static_cast<std::int32_t>(*u), static_cast<std::int32_t>(*i), 1.0f);
    }
    SparseMatrix test(step.grown.rows(), step.grown.cols());
    test.setFromTriplets(held.begin(), held.end());
    test.makeCompressed();
    step.evaluator = std::make_unique<Evaluator>(step.grown, test, eo);
    for (const Index u : step.evaluator->test_users()) step.relevant.push_back(row_items(test, u));
    std::vector<char> affected(step.users_n, 0);
    for (std::size_t p = P; p < end; ++p) {
      const Event& e = events[p];
      if (e.item.empty() || !counts_user(e, anonymous)) continue;
      affected[*seen.users.find(e.actor())] = 1;
    }
    for (std::size_t u = 0; u < step.users_n; ++u) {
      if (affected[u] != 0) step.affected.push_back(static_cast<Index>(u));
    }

    IncrementalPoint point;
    point.new_events = n;
    point.training_events = P;
    point.new_fraction = static_cast<double>(n) / static_cast<double>(P);
    point.new_users = step.users_n - users_p;
    point.new_items = step.items_n - items_p;
    point.affected_users = step.affected.size();
    point.test_users = step.evaluator->test_users().size();
    point.relevant_pairs = static_cast<std::size_t>(test.nonZeros());
    study.points.push_back(std::move(point));
  }

  // Sums over the seeds, per point and method (in the order the methods are added below).
  std::vector<std::vector<double>> ndcg_sum(steps.size()), overlap_sum(steps.size());
  std::vector<std::vector<std::string>> names(steps.size());
  const std::size_t list_length = std::max(options.k, options.overlap_k);
  const SparseMatrix prefix = confidence_matrix(events, P, seen, options.matrix);
  for (std::size_t r = 0; r < options.repeats; ++r) {
    ALSOptions als = options.als;
    als.seed = options.als.seed + r;
    ALSFactorizer base(als);
    base.fit(prefix);
    const auto base_users = std::make_shared<const RowMatrix>(base.user_factors());
    const auto base_items = std::make_shared<const RowMatrix>(base.item_factors());

    for (std::size_t s = 0; s < steps.size(); ++s) {
      const Step& step = steps[s];
      struct Candidate {
        std::string name;
        std::unique_ptr<Scorer> scorer;
      };
      std::vector<Candidate> candidates;
      std::vector<std::unique_ptr<ALSFactorizer>> models;  // kept alive for their scorers

      auto full = std::make_unique<ALSFactorizer>(als);
      full->fit(step.grown);
      candidates.push_back({"full_refit", std::make_unique<ALSScorer>(*full)});
      models.push_back(std::move(full));
      if (options.refit_seed_noise) {
        ALSOptions other = als;
        other.seed = als.seed + 1000;
        auto refit = std::make_unique<ALSFactorizer>(other);
        refit->fit(step.grown);
        candidates.push_back({"full_refit_other_seed", std::make_unique<ALSScorer>(*refit)});
        models.push_back(std::move(refit));
      }
      // Fold-in of every affected user over the items the prefix model knows.
      {
        auto users = std::make_shared<RowMatrix>(
            RowMatrix::Zero(static_cast<Eigen::Index>(step.users_n), base.user_factors().cols()));
        users->topRows(static_cast<Eigen::Index>(users_p)) = base.user_factors();
        std::vector<Index> items;
        std::vector<float> conf;
        for (const Index u : step.affected) {
          items.clear();
          conf.clear();
          for (SparseMatrix::InnerIterator it(step.grown, static_cast<Eigen::Index>(u)); it; ++it) {
            if (static_cast<std::size_t>(it.index()) >= items_p) continue;
            items.push_back(static_cast<Index>(it.index()));
            conf.push_back(it.value());
          }
          users->row(static_cast<Eigen::Index>(u)) = base.fold_in_user(items, conf).transpose();
        }
        candidates.push_back({"fold_in", std::make_unique<FactorScorer>(users, base_items, step.items_n)});
      }
      for (const int iterations : options.partial_fit_iterations) {
        auto grown_model = std::make_unique<ALSFactorizer>(base);
        grown_model->partial_fit(step.grown, iterations);
        candidates.push_back({"partial_fit_" + std::to_string(iterations), std::make_unique<ALSScorer>(*grown_model)});
        models.push_back(std::move(grown_model));
      }
      candidates.push_back({"stale", std::make_unique<FactorScorer>(base_users, base_items, step.items_n)});

      if (r == 0) {
        ndcg_sum[s].assign(candidates.size(), 0.0);
        overlap_sum[s].assign(candidates.size(), 0.0);
        for (const auto& c : candidates) names[s].push_back(c.name);
      }
      // One ranking per user and model serves both figures (nDCG@k is the Evaluator's metric on
      // the first k items of the same list).
      std::vector<std::vector<Index>> reference_lists;
      for (std::size_t c = 0; c < candidates.size(); ++c) {
        const auto lists = step.evaluator->recommendations(*candidates[c].scorer, list_length);
        if (c == 0) reference_lists = lists;
        ndcg_sum[s][c] += mean_ndcg(lists, step.relevant, options.k);
        overlap_sum[s][c] += mean_overlap(lists, reference_lists, options.overlap_k);
      }
    }
  }
  const auto repeats = static_cast<double>(options.repeats);
  for (std::size_t s = 0; s < steps.size(); ++s) {
    IncrementalPoint& point = study.points[s];
    const double full = ndcg_sum[s][0] / repeats;
    for (std::size_t c = 0; c < names[s].size(); ++c) {
      IncrementalMethod m;
      m.name = names[s][c];
      m.ndcg = ndcg_sum[s][c] / repeats;
      m.ndcg_ratio = full > 0.0 ? m.ndcg / full : kNaN;
      m.overlap = overlap_sum[s][c] / repeats;
      point.methods.push_back(std::move(m));
    }
  }
  return study;
}

double suggest_incremental_fraction(const IncrementalStudy& study, const std::string& method, double tolerance) {
  if (study.points.empty()) TAILOR_THROW(invalid_argument, "suggest_incremental_fraction: the study has no points");
  if (!(tolerance >= 0.0 && tolerance < 1.0)) {
    TAILOR_THROW(invalid_argument, "suggest_incremental_fraction: tolerance must be in [0, 1), got " << tolerance);
  }
  std::vector<const IncrementalPoint*> points;
  for (const auto& p : study.points) points.push_back(&p);
  std::stable_sort(points.begin(), points.end(),
                   [](const IncrementalPoint* a, const IncrementalPoint* b) { return a->new_events < b->new_events; });
  double fraction = 0.0;
  for (const IncrementalPoint* p : points) {
    const double full = p->method("full_refit").ndcg;
    const double got = p->method(method).ndcg;
    if (!(got >= (1.0 - tolerance) * full)) break;
    fraction = p->new_fraction;
  }
  return fraction;
}

}  // namespace tailor
