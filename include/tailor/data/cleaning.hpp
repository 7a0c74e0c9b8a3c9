// tailor: cleaning of raw event logs before training.
//
// Three steps, each optional, run in this order by clean_events():
//   1. exact duplicates: events equal in every field (operator==) are removed, the first kept;
//   2. bots: actors (Event::actor(), i.e. the user or "session:" + session) whose event rate is
//      inhuman are flagged and all their events removed. Two rules, either may be disabled:
//        - more than `bot_max_events_in_window` events in any sliding window of
//          `bot_window_ms` milliseconds (the window is half-open: [t, t + bot_window_ms));
//        - more than `bot_max_events_per_day` events in one UTC calendar day;
//      only events whose type is in `bot_rate_types` count (by default not purchase or return
//      lines, which a checkout writes many at a time).
//      Bots are detected after de-duplication (a retried upload is not a bot) and before views
//      are collapsed (collapsing would hide a crawler hammering one page);
//   3. repeated views: for each (actor, item), an event whose type is in `collapse_types` is
//      removed when it comes less than `view_collapse_window_ms` after the last KEPT event of the
//      same type for that (actor, item). So at most one view per window is kept, and a long
//      browsing session still leaves one view per window (sustained interest stays visible).
//
// The surviving events keep their input order (the steps work on index permutations sorted by
// actor, then time, then input position), so the result is deterministic and stable.
//
// Thread-safety: the functions are thread-safe (they touch only their arguments); the option and
// report structs are value types (thread-compatible).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"
#include "tailor/data/event.hpp"

namespace tailor {

/// What clean_events() does. Defaults suit click streams with millisecond timestamps.
struct TAILOR_API CleaningOptions {
  bool remove_duplicates = true;

  bool remove_bots = true;
  /// Sliding-window rule: more than this many events in any window flags the actor; 0 disables.
  std::size_t bot_max_events_in_window = 120;
  /// Length of the sliding window in milliseconds (> 0 when the window rule is on).
  Timestamp bot_window_ms = 60 * 1000;
  /// Daily rule: more than this many events in one UTC day flags the actor; 0 disables.
  std::size_t bot_max_events_per_day = 5000;
  /// The event types counted by both rules: single actions of a person. Purchase and return
  /// lines are left out by default because one checkout writes a line per product at one instant
  /// (a wholesaler's 500-line order is not a bot); all events of a flagged actor are removed.
  std::vector<EventType> bot_rate_types = {EventType::view, EventType::click,
                                           EventType::add_to_cart, EventType::search};

  bool collapse_repeated_views = true;
  /// Repeats within this many milliseconds of the last kept one are dropped (>= 0).
  Timestamp view_collapse_window_ms = 30 * 60 * 1000;
  /// Event types that are collapsed; must not be empty when collapsing is on.
  std::vector<EventType> collapse_types = {EventType::view};

  /// Throws Error(invalid_argument) for a non-positive window with the window rule on, a negative
  /// collapse window, or an empty collapse_types with collapsing on.
  void validate() const;
};

/// An actor flagged as a bot, with the evidence.
struct FlaggedActor {
  std::string actor;                ///< Event::actor() of the flagged events
  std::size_t events = 0;           ///< all events of the actor (all removed)
  std::size_t peak_in_window = 0;   ///< most events in one sliding window
  Timestamp peak_window_start = 0;  ///< timestamp of the first event of that window
  std::size_t peak_per_day = 0;     ///< most events in one UTC day
  bool window_rule = false;         ///< the sliding-window rule fired
  bool daily_rule = false;          ///< the daily rule fired
};

/// What clean_events() removed. Invariant:
/// input_events == duplicates_removed + bot_events_removed + views_collapsed + output_events.
struct TAILOR_API CleaningReport {
  std::size_t input_events = 0;
  std::size_t duplicates_removed = 0;
  std::size_t bot_events_removed = 0;
  std::size_t views_collapsed = 0;
  std::size_t output_events = 0;
  std::vector<FlaggedActor> bots;  ///< sorted by actor

  nlohmann::json to_json() const;
};

/// Runs the enabled steps in place (see the file comment) and reports what each removed.
/// Throws Error(invalid_argument) if options are invalid.
///
/// **Example**:
///   tailor::CleaningOptions opt;
///   opt.bot_max_events_per_day = 2000;
///   tailor::CleaningReport report = tailor::clean_events(events, opt);
TAILOR_API CleaningReport clean_events(std::vector<Event>& events,
                                       const CleaningOptions& options = {});

/// Step 1 alone: removes events equal to an earlier one; returns how many were removed.
TAILOR_API std::size_t remove_duplicate_events(std::vector<Event>& events);

/// Step 2, detection only: the actors the bot rules of `options` flag (sorted by actor).
TAILOR_API std::vector<FlaggedActor> find_bots(const std::vector<Event>& events,
                                               const CleaningOptions& options);

/// Removes every event whose actor is in `actors` (as given by FlaggedActor::actor); returns how
/// many were removed.
TAILOR_API std::size_t remove_actors(std::vector<Event>& events,
                                     const std::vector<FlaggedActor>& actors);

/// Step 3 alone; returns how many events were removed.
TAILOR_API std::size_t collapse_repeated_views(std::vector<Event>& events,
                                               const CleaningOptions& options);

}  // namespace tailor
