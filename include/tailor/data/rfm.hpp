// tailor: RFM (recency, frequency, monetary) features per customer, from purchase and return
// events: the classic segmentation of a shop's customers.
//
// Thread-safety: RfmAccumulator is not thread-safe; compute_rfm is thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/data/event.hpp"

namespace tailor {

/// Definitions:
///   recency   = (reference_time - latest purchase) in days (fractional; purchases after the
///               reference time give 0);
///   frequency = distinct baskets among the user's purchases, a basket being Event::session, or
///               the timestamp when the session is empty (frequency_by_basket = true); otherwise
///               the number of purchase events;
///   monetary  = sum of the amounts paid over purchases: Event::value read as the amount, or,
///               when a unit price is passed with the event (sources such as Online Retail whose
///               value is a quantity, see Dataset::unit_prices), value x unit price; returns (and
///               purchases with a negative value) subtract |amount|; a missing value or a
///               non-finite price adds 0 and is counted in RfmRecord::purchases_without_value.
/// Only users with at least one purchase (value >= 0 or absent) get a record. Anonymous events are
/// keyed by Event::actor() when include_anonymous is true, else skipped.
/// Scores 1-5 are quintiles over the users: score = 1 + floor(5 * r / n), r = how many users have a
/// strictly worse value (ties share a score); for recency smaller is better, for frequency and
/// monetary larger is better.
struct RfmOptions {
  std::optional<Timestamp> reference_time;  ///< unset: the latest timestamp of any event added
  bool frequency_by_basket = true;
  bool include_anonymous = false;
  bool scores = true;  ///< compute r/f/m scores (else they stay 0)
};

struct TAILOR_API RfmRecord {
  std::string user;
  double recency_days = 0.0;
  std::uint32_t frequency = 0;
  double monetary = 0.0;
  std::uint32_t purchases = 0;                ///< purchase events with value >= 0 or no value
  std::uint32_t returns = 0;                  ///< return events and negative-value purchases
  std::uint32_t purchases_without_value = 0;
  std::uint8_t r_score = 0;  ///< 1 (worst) .. 5 (best); 0 when scores are off
  std::uint8_t f_score = 0;
  std::uint8_t m_score = 0;

  nlohmann::json to_json() const;
};

/// Streams events into per-user RFM state (a few numbers and a basket-key set per user).
/// Thread-safety: not thread-safe.
class TAILOR_API RfmAccumulator {
 public:
  explicit RfmAccumulator(RfmOptions options = {}) : options_(std::move(options)) {}
  void add(const Event& event) { add(event, std::nullopt); }
  /// As add(event), the amount being event.value * unit_price when unit_price is given.
  void add(const Event& event, std::optional<double> unit_price);
  /// One record per user with a purchase, in first-seen order of the users.
  std::vector<RfmRecord> finish() const;

 private:
  struct State {
    Timestamp last_purchase = 0;
    std::uint32_t purchases = 0;
    std::uint32_t returns = 0;
    std::uint32_t purchases_without_value = 0;
    double monetary = 0.0;
    std::unordered_set<std::string> baskets;  // distinct basket keys
  };
  RfmOptions options_;
  IdMap users_;
  std::vector<State> states_;
  std::optional<Timestamp> latest_;
};

/// Convenience: RFM records of a vector of events.
TAILOR_API std::vector<RfmRecord> compute_rfm(const std::vector<Event>& events,
                                              const RfmOptions& options = {});
/// RFM records with amounts value x unit_prices[i] (parallel to events, e.g. Dataset::unit_prices).
/// Throws Error(invalid_argument) when the sizes differ.
TAILOR_API std::vector<RfmRecord> compute_rfm(const std::vector<Event>& events,
                                              const std::vector<double>& unit_prices,
                                              const RfmOptions& options = {});

}  // namespace tailor
