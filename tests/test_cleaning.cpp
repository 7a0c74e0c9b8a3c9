#include "tailor/data/cleaning.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tailor/core/error.hpp"

using tailor::CleaningOptions;
using tailor::CleaningReport;
using tailor::Event;
using tailor::EventType;
using tailor::Timestamp;

namespace {

constexpr Timestamp kSec = 1000;
constexpr Timestamp kMin = 60 * kSec;
constexpr Timestamp kDay = 24 * 60 * kMin;
constexpr Timestamp kT0 = 1'600'000'000'000;  // 2020-09-13T12:26:40Z

Event ev(const std::string& user, const std::string& item, EventType type, Timestamp t) {
  Event e;
  e.user = user;
  e.item = item;
  e.type = type;
  e.timestamp = t;
  return e;
}

CleaningOptions only_duplicates() {
  CleaningOptions o;
  o.remove_bots = false;
  o.collapse_repeated_views = false;
  return o;
}

}  // namespace

TEST_CASE("Exact duplicates are removed, first occurrence kept, order stable", "[cleaning]") {
  std::vector<Event> events = {
      ev("u1", "a", EventType::view, kT0),      // 0
      ev("u2", "b", EventType::purchase, kT0),  // 1
      ev("u1", "a", EventType::view, kT0),      // 2 dup of 0
      ev("u1", "a", EventType::click, kT0),     // 3 differs by type
      ev("u1", "a", EventType::view, kT0 + 1),  // 4 differs by time
      ev("u2", "b", EventType::purchase, kT0),  // 5 dup of 1
  };
  events[1].value = 2.0;
  events[5].value = 2.0;
  Event differs_by_value = events[1];
  differs_by_value.value = 3.0;
  events.push_back(differs_by_value);  // 6 differs by value
  Event anon = ev("", "a", EventType::view, kT0);
  anon.session = "s1";
  events.push_back(anon);  // 7
  events.push_back(anon);  // 8 dup of 7
  Event nan_value = ev("u3", "c", EventType::rating, kT0);
  nan_value.value = std::numeric_limits<double>::quiet_NaN();
  events.push_back(nan_value);  // 9: NaN != NaN, so never a duplicate, and must not break sorting
  events.push_back(nan_value);  // 10

  const std::vector<Event> expected = {events[0], events[1], events[3], events[4],
                                       events[6], events[7], events[9], events[10]};
  CleaningReport report = tailor::clean_events(events, only_duplicates());
  CHECK(report.input_events == 11);
  CHECK(report.duplicates_removed == 3);
  CHECK(report.output_events == 8);
  REQUIRE(events.size() == expected.size());
  for (std::size_t i = 0; i < 6; ++i) CHECK(events[i] == expected[i]);
  CHECK(std::isnan(*events[6].value));
  CHECK(std::isnan(*events[7].value));
}

TEST_CASE("Repeated views of the same actor and item collapse within the window", "[cleaning]") {
  CleaningOptions opt;
  opt.remove_duplicates = false;
  opt.remove_bots = false;
  opt.view_collapse_window_ms = 10 * kMin;

  std::vector<Event> events = {
      ev("u1", "a", EventType::view, kT0 + 0 * kMin),       // kept (first)
      ev("u1", "a", EventType::view, kT0 + 4 * kMin),       // dropped: 4 min after last kept
      ev("u1", "a", EventType::view, kT0 + 9 * kMin),       // dropped: 9 min after last kept
      ev("u1", "a", EventType::view, kT0 + 10 * kMin),      // kept: exactly the window after 0
      ev("u1", "a", EventType::purchase, kT0 + 11 * kMin),  // other type: untouched
      ev("u1", "b", EventType::view, kT0 + 12 * kMin),      // other item: kept
      ev("u2", "a", EventType::view, kT0 + 13 * kMin),      // other user: kept
      ev("u1", "a", EventType::view, kT0 + 19 * kMin),  // dropped: 9 min after the kept one at 10
  };
  // Input out of time order: the first view in TIME is the anchor, whatever the input order.
  Event early = ev("u2", "a", EventType::view, kT0 + 5 * kMin);
  events.push_back(early);  // u2/a at 5 min: kept; then u2/a at 13 min is 8 min later -> dropped

  CleaningReport report = tailor::clean_events(events, opt);
  CHECK(report.views_collapsed == 4);
  REQUIRE(events.size() == 5);
  CHECK(events[0].timestamp == kT0);
  CHECK(events[1].timestamp == kT0 + 10 * kMin);
  CHECK(events[2].type == EventType::purchase);
  CHECK(events[3].item == "b");
  CHECK(events[4] == early);

  SECTION("a zero window collapses only identical timestamps") {
    std::vector<Event> same = {ev("u1", "a", EventType::view, kT0),
                               ev("u1", "a", EventType::view, kT0),
                               ev("u1", "a", EventType::view, kT0 + 1)};
    opt.view_collapse_window_ms = 0;
    CHECK(tailor::collapse_repeated_views(same, opt) == 0);
  }
  SECTION("collapse_types selects the types") {
    std::vector<Event> clicks = {
        ev("u1", "a", EventType::click, kT0), ev("u1", "a", EventType::click, kT0 + kSec),
        ev("u1", "a", EventType::view, kT0), ev("u1", "a", EventType::view, kT0 + kSec)};
    opt.collapse_types = {EventType::click};
    CHECK(tailor::collapse_repeated_views(clicks, opt) == 1);
    REQUIRE(clicks.size() == 3);
    CHECK(clicks[1].type == EventType::view);
    CHECK(clicks[2].type == EventType::view);
  }
}

TEST_CASE("Bots are flagged by sliding-window rate and by daily volume", "[cleaning]") {
  CleaningOptions opt;
  opt.remove_duplicates = false;
  opt.collapse_repeated_views = false;
  opt.bot_max_events_in_window = 10;
  opt.bot_window_ms = kMin;
  opt.bot_max_events_per_day = 50;

  std::vector<Event> events;
  // human: 40 events, one every 5 minutes (over 3h20m, so all on at most 2 days).
  for (int i = 0; i < 40; ++i)
    events.push_back(ev("human", "i" + std::to_string(i % 7), EventType::view, kT0 + i * 5 * kMin));
  // burst: 11 events within 50 seconds -> window rule.
  for (int i = 0; i < 11; ++i)
    events.push_back(ev("burst", "x", EventType::click, kT0 + i * 5 * kSec));
  // edge: 10 events in a minute, then an 11th exactly one minute after the first -> not a bot
  // (the window is half-open).
  for (int i = 0; i < 10; ++i) events.push_back(ev("edge", "x", EventType::click, kT0 + i * kSec));
  events.push_back(ev("edge", "x", EventType::click, kT0 + kMin));
  // steady: 60 events in one UTC day, 10 minutes apart -> daily rule only.
  const Timestamp day_start = (kT0 / kDay) * kDay;
  for (int i = 0; i < 60; ++i)
    events.push_back(ev("steady", "y", EventType::view, day_start + i * 10 * kMin));
  // spread: 60 events over two days (30 + 30) -> not flagged.
  for (int i = 0; i < 30; ++i)
    events.push_back(ev("spread", "y", EventType::view, day_start + kDay + i * 10 * kMin));
  for (int i = 0; i < 30; ++i)
    events.push_back(ev("spread", "y", EventType::view, day_start + 2 * kDay + i * 10 * kMin));
  // anonymous session burst: flagged under its session actor key.
  for (int i = 0; i < 12; ++i) {
    Event e = ev("", "z", EventType::view, kT0 + i * kSec);
    e.session = "s9";
    events.push_back(e);
  }
  const std::size_t total = events.size();
  const std::vector<Event> original = events;

  auto bots = tailor::find_bots(events, opt);
  REQUIRE(bots.size() == 3);
  CHECK(bots[0].actor == "burst");
  CHECK(bots[0].window_rule);
  CHECK_FALSE(bots[0].daily_rule);
  CHECK(bots[0].peak_in_window == 11);
  CHECK(bots[0].peak_window_start == kT0);
  CHECK(bots[0].events == 11);
  CHECK(bots[1].actor == "session:s9");
  CHECK(bots[1].peak_in_window == 12);
  CHECK(bots[2].actor == "steady");
  CHECK(bots[2].daily_rule);
  CHECK_FALSE(bots[2].window_rule);
  CHECK(bots[2].peak_per_day == 60);

  CleaningReport report = tailor::clean_events(events, opt);
  CHECK(report.bots.size() == 3);
  CHECK(report.bot_events_removed == 11 + 12 + 60);
  CHECK(report.output_events == total - 83);
  CHECK(events.size() == total - 83);
  for (const Event& e : events) {
    CHECK(e.user != "burst");
    CHECK(e.user != "steady");
    CHECK(e.session != "s9");
  }
  CHECK(report.to_json()["bots"].size() == 3);

  SECTION("disabling a rule") {
    opt.bot_max_events_per_day = 0;
    auto window_only = tailor::find_bots(original, opt);
    REQUIRE(window_only.size() == 2);
    CHECK(window_only[0].actor == "burst");
    CHECK(window_only[1].actor == "session:s9");
    opt.bot_max_events_in_window = 0;
    CHECK(tailor::find_bots(original, opt).empty());
    opt.bot_max_events_per_day = 50;
    auto daily_only = tailor::find_bots(original, opt);
    REQUIRE(daily_only.size() == 1);
    CHECK(daily_only[0].actor == "steady");
  }
}

TEST_CASE("Steps run in order: duplicates, then bots, then view collapsing", "[cleaning]") {
  CleaningOptions opt;
  opt.bot_max_events_in_window = 5;
  opt.bot_window_ms = kMin;
  opt.bot_max_events_per_day = 0;
  opt.view_collapse_window_ms = 30 * kMin;

  std::vector<Event> events;
  // A retried upload: the same 4 events sent twice -> 4 duplicates, and NOT a bot (4 <= 5).
  for (int copy = 0; copy < 2; ++copy)
    for (int i = 0; i < 4; ++i)
      events.push_back(ev("retry", "p" + std::to_string(i), EventType::view, kT0 + i * kSec));
  // A crawler refreshing one page 8 times in 8 seconds: a bot, although collapsing would leave 1.
  for (int i = 0; i < 8; ++i) events.push_back(ev("crawler", "p", EventType::view, kT0 + i * kSec));
  // A shopper viewing the same item 3 times in 20 minutes: 2 collapsed.
  for (int i = 0; i < 3; ++i)
    events.push_back(ev("shopper", "p", EventType::view, kT0 + i * 10 * kMin));

  CleaningReport report = tailor::clean_events(events, opt);
  CHECK(report.input_events == 19);
  CHECK(report.duplicates_removed == 4);
  CHECK(report.bot_events_removed == 8);
  REQUIRE(report.bots.size() == 1);
  CHECK(report.bots[0].actor == "crawler");
  CHECK(report.views_collapsed == 2);
  CHECK(report.output_events == 5);
  CHECK(report.input_events == report.duplicates_removed + report.bot_events_removed +
                                   report.views_collapsed + report.output_events);
  REQUIRE(events.size() == 5);
  for (int i = 0; i < 4; ++i) CHECK(events[static_cast<std::size_t>(i)].user == "retry");
  CHECK(events[4].user == "shopper");
  CHECK(events[4].timestamp == kT0);

  SECTION("all steps off is the identity") {
    std::vector<Event> copy = events;
    CleaningOptions off;
    off.remove_duplicates = false;
    off.remove_bots = false;
    off.collapse_repeated_views = false;
    auto r = tailor::clean_events(copy, off);
    CHECK(copy == events);
    CHECK(r.output_events == events.size());
  }
}

TEST_CASE("Bot detection handles timestamps before 1970 on the right UTC day", "[cleaning]") {
  CleaningOptions opt;
  opt.bot_max_events_in_window = 0;
  opt.bot_max_events_per_day = 2;
  // -1 ms is 1969-12-31; 0 and +1 ms are 1970-01-01: no day has more than 2 events.
  std::vector<Event> events = {ev("u", "a", EventType::view, -kDay + 1),
                               ev("u", "a", EventType::view, -1), ev("u", "a", EventType::view, 0),
                               ev("u", "a", EventType::view, 1)};
  auto bots = tailor::find_bots(events, opt);
  CHECK(bots.empty());
  events.push_back(ev("u", "a", EventType::view, 2));
  bots = tailor::find_bots(events, opt);
  REQUIRE(bots.size() == 1);
  CHECK(bots[0].peak_per_day == 3);
}

TEST_CASE("CleaningOptions::validate rejects nonsense", "[cleaning]") {
  CleaningOptions opt;
  CHECK_NOTHROW(opt.validate());
  SECTION("window") {
    opt.bot_window_ms = 0;
    CHECK_THROWS_AS(opt.validate(), tailor::Error);
    opt.bot_max_events_in_window = 0;  // rule off: the window does not matter
    CHECK_NOTHROW(opt.validate());
  }
  SECTION("collapse window") {
    opt.view_collapse_window_ms = -1;
    CHECK_THROWS_AS(opt.validate(), tailor::Error);
  }
  SECTION("collapse types") {
    opt.collapse_types.clear();
    std::vector<Event> events;
    CHECK_THROWS_AS(tailor::clean_events(events, opt), tailor::Error);
    opt.collapse_repeated_views = false;
    CHECK_NOTHROW(opt.validate());
  }
}

TEST_CASE("Checkout lines do not count toward the bot rates unless asked", "[cleaning]") {
  CleaningOptions opt;
  opt.bot_max_events_in_window = 10;
  opt.bot_window_ms = kMin;
  opt.bot_max_events_per_day = 0;
  std::vector<Event> events;
  // A wholesaler's 300-line order, all lines at one instant, plus a few views before it.
  for (int i = 0; i < 300; ++i)
    events.push_back(ev("wholesaler", "p" + std::to_string(i), EventType::purchase, kT0));
  for (int i = 0; i < 5; ++i)
    events.push_back(ev("wholesaler", "p" + std::to_string(i), EventType::view, kT0 - (i + 1) * kSec));
  CHECK(tailor::find_bots(events, opt).empty());

  opt.bot_rate_types.push_back(EventType::purchase);
  const auto bots = tailor::find_bots(events, opt);
  REQUIRE(bots.size() == 1);
  CHECK(bots[0].actor == "wholesaler");
  CHECK(bots[0].events == 305);
  CHECK(bots[0].peak_in_window == 305);
}
