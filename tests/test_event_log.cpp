// EventLog: round trips, sync policies and group commit, torn tails, corruption in the middle,
// I/O faults, erasure tombstones and compaction, concurrent appenders.
#include "tailor/persistence/event_log.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "internal/crc32c.hpp"
#include "tailor/core/error.hpp"
#include "test_data.hpp"
#include "persistence/fault_injection.hpp"
#include "persistence/files.hpp"

using namespace tailor;
using detail::crc32c;

namespace {

std::string fresh_path(const std::string& name) {
  const std::string path = tailor::test::scratch_dir() + "/" + name;
  std::filesystem::remove(path);
  return path;
}

Event make_event(std::uint64_t i) {
  Event e;
  e.user = "u" + std::to_string(i % 7);
  e.item = "item-" + std::to_string(i);
  e.type = static_cast<EventType>(i % 4);
  e.timestamp = 1700000000000 + static_cast<Timestamp>(i);
  if (i % 3 == 0) e.value = 0.5 * static_cast<double>(i);
  if (i % 5 == 0) e.session = "s" + std::to_string(i / 5);
  if (i % 11 == 0) e.query = "query " + std::to_string(i);
  return e;
}

std::string read_bytes(const std::string& path) { return read_file(path); }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Offsets where each record starts, and the end, for a log written by this build.
std::vector<std::uint64_t> record_offsets(const std::string& bytes) {
  std::vector<std::uint64_t> at;
  std::uint64_t pos = 16;
  while (pos + 8 <= bytes.size()) {
    at.push_back(pos);
    std::uint32_t len = 0;
    for (int i = 3; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>(bytes[pos + static_cast<std::uint64_t>(i)]);
    pos += 8 + len + 4;
  }
  at.push_back(pos);
  return at;
}

std::uint32_t le_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// system_file_ops with an fsync that waits at a gate, to make group commit observable.
class GatedOps : public FileOps {
 public:
  int fsync(int fd) override {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ++waiting_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return open_; });
      --waiting_;
      ++fsyncs_;
    }
    return FileOps::fsync(fd);
  }
  void close_gate() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = false;
  }
  void open_gate() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  void wait_for_waiters(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return waiting_ >= n; });
  }
  int fsyncs() {
    std::lock_guard<std::mutex> lock(mutex_);
    return fsyncs_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  int waiting_ = 0;
  int fsyncs_ = 0;
};

}  // namespace

TEST_CASE("EventLog round-trips events and tombstones with increasing sequence numbers",
          "[event_log]") {
  const std::string path = fresh_path("roundtrip.log");
  {
    EventLog log(path);
    CHECK(log.recovery().tail == LogTail::clean);
    CHECK(log.recovery().records == 0);
    CHECK(log.last_sequence() == 0);
    for (std::uint64_t i = 1; i <= 50; ++i) CHECK(log.append(make_event(i)) == i);
    CHECK(log.erase_user("u3", 42) == 51);
    CHECK(log.append(std::vector<Event>{make_event(52), make_event(53)}) == 53);
    CHECK(log.append(std::vector<Event>{}) == 0);
    CHECK(log.synced_bytes() == log.size_bytes());
    log.close();
    CHECK_THROWS_AS(log.append(make_event(1)), Error);
  }
  EventLog log(path);
  CHECK(log.recovery().tail == LogTail::clean);
  CHECK(log.recovery().records == 53);
  CHECK(log.recovery().last_sequence == 53);
  CHECK(log.last_sequence() == 53);
  const auto recs = log.records();
  REQUIRE(recs.size() == 53);
  for (std::uint64_t i = 1; i <= 53; ++i) {
    const LogRecord& r = recs[i - 1];
    CHECK(r.sequence == i);
    if (i == 51) {
      CHECK(r.type == LogRecordType::erase_user);
      CHECK(r.event.user == "u3");
      CHECK(r.event.timestamp == 42);
    } else {
      CHECK(r.type == LogRecordType::event);
      CHECK(r.event == make_event(i));
    }
  }
  CHECK(log.append(make_event(54)) == 54);
  // The read-only reader sees the same.
  std::uint64_t n = 0;
  const LogRecovery rep = read_event_log(path, [&](const LogRecord& r) { CHECK(r.sequence == ++n); });
  CHECK(rep.tail == LogTail::clean);
  CHECK(n == 54);
}

TEST_CASE("EventLog options are validated and records are bounded", "[event_log]") {
  EventLogOptions opt;
  opt.group_commit_records = 0;
  CHECK_THROWS_AS(opt.validate(), Error);
  opt = {};
  opt.group_commit_interval = std::chrono::milliseconds(0);
  CHECK_THROWS_AS(opt.validate(), Error);
  opt = {};
  opt.max_record_bytes = 10;
  CHECK_THROWS_AS(EventLog(fresh_path("bad.log"), opt), Error);
  opt = {};
  opt.max_record_bytes = 200;
  const std::string path = fresh_path("bounded.log");
  EventLog log(path, opt);
  Event big = make_event(1);
  big.query.assign(300, 'q');
  try {
    log.append(big);
    FAIL("oversized record accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    CHECK(contains(e.what(), "max_record_bytes"));
  }
  CHECK(log.size_bytes() == 16);
  CHECK_THROWS_AS(log.erase_user("", 0), Error);
}

TEST_CASE("EventLog: one process at a time", "[event_log]") {
  const std::string path = fresh_path("locked.log");
  EventLog log(path);
  try {
    EventLog second(path);
    FAIL("opened twice");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::io_error);
    CHECK(contains(e.what(), "locked"));
  }
  log.close();
  EventLog again(path);  // the lock went with the close
}

TEST_CASE("EventLog sync policies: group commit and none flush on request and in the background",
          "[event_log]") {
  SECTION("group_commit by record count") {
    EventLogOptions opt;
    opt.sync = SyncPolicy::group_commit;
    opt.group_commit_records = 4;
    opt.group_commit_interval = std::chrono::hours(1);
    EventLog log(fresh_path("group.log"), opt);
    for (std::uint64_t i = 1; i <= 3; ++i) log.append(make_event(i));
    CHECK(log.synced_bytes() < log.size_bytes());  // 3 < 4 records, and the interval is long
    log.append(make_event(4));
    // The background thread syncs once 4 records are pending; give it up to 10 s.
    for (int i = 0; i < 1000 && log.synced_bytes() < log.size_bytes(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(log.synced_bytes() == log.size_bytes());
  }
  SECTION("group_commit by interval") {
    EventLogOptions opt;
    opt.sync = SyncPolicy::group_commit;
    opt.group_commit_records = 1000;
    opt.group_commit_interval = std::chrono::milliseconds(5);
    EventLog log(fresh_path("interval.log"), opt);
    log.append(make_event(1));
    for (int i = 0; i < 1000 && log.synced_bytes() < log.size_bytes(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(log.synced_bytes() == log.size_bytes());
  }
  SECTION("none syncs on flush only") {
    EventLogOptions opt;
    opt.sync = SyncPolicy::none;
    FaultInjectingFileOps ops;  // no faults: counts calls
    opt.file_ops = &ops;
    EventLog log(fresh_path("none.log"), opt);
    const std::uint64_t before = ops.calls(FileOpKind::fsync);
    for (std::uint64_t i = 1; i <= 20; ++i) log.append(make_event(i));
    CHECK(ops.calls(FileOpKind::fsync) == before);
    CHECK(log.synced_bytes() < log.size_bytes());
    log.flush();
    CHECK(ops.calls(FileOpKind::fsync) == before + 1);
    CHECK(log.synced_bytes() == log.size_bytes());
  }
  SECTION("every_record syncs each append") {
    FaultInjectingFileOps ops;
    EventLogOptions opt;
    opt.file_ops = &ops;
    EventLog log(fresh_path("every.log"), opt);
    const std::uint64_t before = ops.calls(FileOpKind::fsync);
    for (std::uint64_t i = 1; i <= 10; ++i) {
      log.append(make_event(i));
      CHECK(log.synced_bytes() == log.size_bytes());
    }
    CHECK(ops.calls(FileOpKind::fsync) == before + 10);
  }
}

TEST_CASE("EventLog every_record: concurrent appenders share one fsync", "[event_log]") {
  GatedOps ops;
  EventLogOptions opt;
  opt.file_ops = &ops;
  EventLog log(fresh_path("shared-fsync.log"), opt);
  const int base = ops.fsyncs();
  ops.close_gate();
  std::thread leader([&] { log.append(make_event(1)); });
  ops.wait_for_waiters(1);  // the leader is inside fsync, the mutex released
  std::vector<std::thread> followers;
  for (int t = 0; t < 4; ++t)
    followers.emplace_back([&, t] { log.append(make_event(static_cast<std::uint64_t>(10 + t))); });
  // All four followers write their records while the leader's fsync is pending.
  while (log.last_sequence() < 5) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ops.open_gate();
  leader.join();
  for (auto& t : followers) t.join();
  // One fsync for the leader's record, one shared by the four followers.
  CHECK(ops.fsyncs() - base == 2);
  CHECK(log.synced_bytes() == log.size_bytes());
  CHECK(log.records().size() == 5);
}

TEST_CASE("EventLog: many threads append, every record arrives once and in order per thread",
          "[event_log]") {
  for (SyncPolicy policy : {SyncPolicy::group_commit, SyncPolicy::none, SyncPolicy::every_record}) {
    EventLogOptions opt;
    opt.sync = policy;
    opt.group_commit_records = 16;
    const std::string path = fresh_path("threads.log");
    const int threads = 4;
    const int per_thread = policy == SyncPolicy::every_record ? 25 : 200;
    {
      EventLog log(path, opt);
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
          for (int i = 0; i < per_thread; ++i) {
            Event e = make_event(static_cast<std::uint64_t>(i));
            e.user = "thread-" + std::to_string(t);
            e.timestamp = i;
            log.append(e);
          }
        });
      for (auto& t : pool) t.join();
      log.close();
    }
    EventLog log(path, opt);
    const auto recs = log.records();
    REQUIRE(recs.size() == static_cast<std::size_t>(threads * per_thread));
    std::vector<Timestamp> next(threads, 0);
    for (std::size_t i = 0; i < recs.size(); ++i) {
      CHECK(recs[i].sequence == i + 1);
      const int t = std::stoi(recs[i].event.user.substr(7));
      CHECK(recs[i].event.timestamp == next[static_cast<std::size_t>(t)]++);
    }
  }
}

TEST_CASE("EventLog truncates and reports a torn tail at every cut of the last record",
          "[event_log][corrupt]") {
  const std::string path = fresh_path("torn.log");
  {
    EventLog log(path);
    for (std::uint64_t i = 1; i <= 5; ++i) log.append(make_event(i));
  }
  const std::string full = read_bytes(path);
  const auto at = record_offsets(full);
  REQUIRE(at.size() == 6);
  REQUIRE(at.back() == full.size());
  const std::uint64_t last = at[4];
  for (std::uint64_t cut = last + 1; cut < full.size(); ++cut) {
    write_bytes(path, full.substr(0, cut));
    EventLog log(path);
    const LogRecovery& rep = log.recovery();
    INFO("cut at " << cut);
    CHECK(rep.tail == LogTail::torn);
    CHECK(rep.truncated);
    CHECK(rep.records == 4);
    CHECK(rep.last_sequence == 4);
    CHECK(rep.valid_bytes == last);
    CHECK(rep.bad_offset == last);
    CHECK(rep.file_bytes == cut);
    CHECK(rep.dropped_bytes == cut - last);
    CHECK(rep.dropped_records == (cut - last >= 8 ? 1u : 0u));
    CHECK(contains(rep.detail, "offset " + std::to_string(last)));
    CHECK(log.size_bytes() == last);
    CHECK(std::filesystem::file_size(path) == last);
    // Appending continues the sequence right after the last intact record.
    CHECK(log.append(make_event(5)) == 5);
  }
  // A cut exactly at a record boundary is a clean (shorter) log.
  write_bytes(path, full.substr(0, last));
  CHECK(EventLog(path).recovery().tail == LogTail::clean);
  // A zero-filled end (file extended, data never written) is a torn tail.
  write_bytes(path, full + std::string(300, '\0'));
  {
    EventLog log(path);
    CHECK(log.recovery().tail == LogTail::torn);
    CHECK(log.recovery().records == 5);
    CHECK(log.recovery().dropped_bytes == 300);
  }
  // The last record failing its checksum is torn, too.
  std::string bad_last = full;
  bad_last[full.size() - 6] ^= 0x10;
  write_bytes(path, bad_last);
  {
    EventLog log(path);
    CHECK(log.recovery().tail == LogTail::torn);
    CHECK(log.recovery().records == 4);
    CHECK(log.recovery().dropped_records == 1);
  }
  // A header cut short while the log was created is rebuilt; a file that is not a log is refused.
  write_bytes(path, full.substr(0, 7));
  {
    EventLog log(path);
    CHECK(log.recovery().tail == LogTail::torn);
    CHECK(log.recovery().records == 0);
    CHECK(log.append(make_event(1)) == 1);
  }
  write_bytes(path, "hello");
  CHECK_THROWS_AS(EventLog(path), Error);
  CHECK(read_bytes(path) == "hello");
}

TEST_CASE("EventLog: a record written in part and then zeros (power loss) is a torn tail",
          "[event_log][corrupt][regression]") {
  // Unsynced records under group commit or shared fsyncs: after a power loss the file may keep
  // its new length while the last records' data blocks are zero, or hold a prefix of a record
  // followed by zeros. Every such tail is torn: the intact records load, the rest is cut off.
  const std::string path = fresh_path("torn-zeros.log");
  {
    EventLog log(path);
    for (std::uint64_t i = 1; i <= 3; ++i) log.append(make_event(i));
  }
  const std::string full = read_bytes(path);
  const auto at = record_offsets(full);
  REQUIRE(at.size() == 4);
  const std::uint64_t third = at[2];
  for (std::uint64_t cut = third + 1; cut < full.size(); ++cut) {
    for (const std::size_t zeros : {std::size_t{1}, full.size() - cut, std::size_t{4096}}) {
      write_bytes(path, full.substr(0, cut) + std::string(zeros, '\0'));
      INFO("cut at " << cut << ", " << zeros << " zero bytes after it");
      EventLog log(path);
      CHECK(log.recovery().tail == LogTail::torn);
      CHECK(log.recovery().records == 2);
      CHECK(log.recovery().valid_bytes == third);
      CHECK(log.records().size() == 2);
      CHECK(log.append(make_event(3)) == 3);
    }
  }
  // Damage that is followed by written (non-zero) bytes is still corruption in the middle.
  std::string bad = full.substr(0, third + 20) + std::string(64, '\0') + "garbage";
  write_bytes(path, bad);
  CHECK_THROWS_AS(EventLog(path), Error);
  CHECK(read_bytes(path) == bad);
}

TEST_CASE("EventLog: a damaged record in the middle is reported with its offset, never skipped",
          "[event_log][corrupt]") {
  const std::string path = fresh_path("middle.log");
  {
    EventLog log(path);
    for (std::uint64_t i = 1; i <= 10; ++i) log.append(make_event(i));
  }
  const std::string full = read_bytes(path);
  const auto at = record_offsets(full);
  for (const bool header_hit : {false, true}) {
    std::string bad = full;
    bad[at[3] + (header_hit ? 1 : 12)] ^= 0x01;  // record 4: its length, or its payload
    write_bytes(path, bad);
    try {
      EventLog log(path);
      FAIL("opened a log with a damaged record in the middle");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::corrupt_file);
      CHECK(contains(e.what(), path + ", offset " + std::to_string(at[3])));
    }
    CHECK(read_bytes(path) == bad);  // untouched
    std::uint64_t seen = 0;
    CHECK_THROWS_AS(read_event_log(path, [&](const LogRecord&) { ++seen; }), Error);
    CHECK(seen == 3);
    seen = 0;
    const LogRecovery rep =
        read_event_log(path, [&](const LogRecord&) { ++seen; }, CorruptionPolicy::truncate);
    CHECK(seen == 3);
    CHECK(rep.tail == LogTail::corrupt);
    CHECK(rep.bad_offset == at[3]);
    CHECK_FALSE(rep.truncated);

    EventLogOptions opt;
    opt.on_corruption = CorruptionPolicy::truncate;
    EventLog log(path, opt);
    CHECK(log.recovery().tail == LogTail::corrupt);
    CHECK(log.recovery().truncated);
    CHECK(log.recovery().records == 3);
    CHECK(log.recovery().dropped_bytes == full.size() - at[3]);
    // A payload hit leaves every frame header intact: all 7 dropped records are counted.
    CHECK(log.recovery().dropped_records == (header_hit ? 0u : 7u));
    CHECK(log.records().size() == 3);
    CHECK(log.append(make_event(4)) == 4);
  }
}

TEST_CASE("EventLog refuses newer formats", "[event_log]") {
  const std::string path = fresh_path("future.log");
  { EventLog log(path); }
  std::string b = read_bytes(path);
  b[8] = 3;  // version 3, with a valid header checksum
  const std::uint32_t crc = crc32c(b.data(), 12);
  for (int i = 0; i < 4; ++i) b[12 + static_cast<std::size_t>(i)] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  write_bytes(path, b);
  try {
    EventLog log(path);
    FAIL("opened a version 3 log");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::unsupported_version);
  }
}

TEST_CASE("EventLog under I/O faults: failed writes leave no trace, failed fsyncs stop the log",
          "[event_log][faults]") {
  SECTION("disk full in the middle of a record") {
    const std::string path = fresh_path("enospc.log");
    FaultInjectingFileOps ops;
    EventLogOptions opt;
    opt.file_ops = &ops;
    EventLog log(path, opt);
    log.append(make_event(1));
    const std::uint64_t size = log.size_bytes();
    InjectedFault f;
    f.op = FileOpKind::pwrite;
    f.error = ENOSPC;
    f.partial_bytes = 10;
    ops.inject(f);
    try {
      log.append(make_event(2));
      FAIL("write on a full disk succeeded");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::io_error);
      CHECK(contains(e.what(), path));
      CHECK(contains(e.what(), "pwrite"));
      CHECK(contains(e.what(), "No space left"));
    }
    CHECK(ops.fired() == 2);  // the short write, then the failure
    CHECK(std::filesystem::file_size(path) == size);  // the 10 bytes were cut off again
    ops.clear();
    CHECK(log.append(make_event(2)) == 2);  // the log goes on, without a gap
    log.close();
    EventLog again(path);
    CHECK(again.recovery().tail == LogTail::clean);
    CHECK(again.records().size() == 2);
  }
  SECTION("failed fsync") {
    const std::string path = fresh_path("eio.log");
    FaultInjectingFileOps ops;
    EventLogOptions opt;
    opt.file_ops = &ops;
    {
      EventLog log(path, opt);
      log.append(make_event(1));
      ops.inject({FileOpKind::fsync, EIO});
      try {
        log.append(make_event(2));
        FAIL("fsync failure not reported");
      } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::io_error);
        CHECK(contains(e.what(), "fsync"));
      }
      ops.clear();
      // The kernel may have dropped the pages: the log refuses to go on.
      CHECK_THROWS_AS(log.append(make_event(3)), Error);
      CHECK_THROWS_AS(log.flush(), Error);
      CHECK_THROWS_AS(log.close(), Error);
    }
    EventLog again(path);
    CHECK(again.records().size() == 2);
  }
  SECTION("failed fsync in the group-commit thread reaches the appenders") {
    FaultInjectingFileOps ops;
    EventLogOptions opt;
    opt.file_ops = &ops;
    opt.sync = SyncPolicy::group_commit;
    opt.group_commit_records = 1;
    EventLog log(fresh_path("eio-group.log"), opt);
    ops.inject({FileOpKind::fsync, EIO, 0, InjectedFault::kForever});
    log.append(make_event(1));
    bool failed = false;
    for (int i = 0; i < 1000 && !failed; ++i) {
      try {
        log.append(make_event(2 + static_cast<std::uint64_t>(i)));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      } catch (const Error& e) {
        failed = e.code() == ErrorCode::io_error;
      }
    }
    CHECK(failed);
  }
}

TEST_CASE("Erasure: tombstones drop a user's earlier events, and compaction removes them",
          "[event_log][erasure]") {
  const std::string path = fresh_path("erase.log");
  auto ev = [](const std::string& user, const std::string& item) {
    Event e;
    e.user = user;
    e.item = item;
    return e;
  };
  Event anon;
  anon.session = "basket-1";
  anon.item = "x";
  {
    EventLog log(path);
    log.append(ev("alice", "a1"));
    log.append(ev("bob", "b1"));
    log.append(ev("alice", "a2"));
    log.append(anon);
    log.erase_user("alice", 100);
    log.erase_user("session:basket-1", 101);
    log.append(ev("alice", "a3"));  // alice came back: a new history
    log.append(ev("bob", "b2"));
  }
  EventLog log(path);
  const auto recs = log.records();
  REQUIRE(recs.size() == 8);
  const auto kept = surviving_events(recs);
  REQUIRE(kept.size() == 3);
  CHECK(kept[0].item == "b1");
  CHECK(kept[1].item == "a3");
  CHECK(kept[2].item == "b2");
  std::vector<std::string> via_replay;
  CHECK(log.replay_surviving([&](const LogRecord& r) { via_replay.push_back(r.event.item); }) == 3);
  CHECK(via_replay == std::vector<std::string>{"b1", "a3", "b2"});

  CHECK(log.compact() == 3);  // a1, a2 and the anonymous event
  CHECK(log.records().size() == 5);
  CHECK(log.append(ev("carol", "c1")) == 9);  // sequence numbers go on
  CHECK(log.compact(TombstonePolicy::drop) == 2);
  const auto after = log.records();
  REQUIRE(after.size() == 4);
  for (const auto& r : after) CHECK(r.type == LogRecordType::event);
  log.close();
  // No trace of the erased events or the tombstones in the file.
  const std::string bytes = read_bytes(path);
  CHECK_FALSE(contains(bytes, "a1"));
  CHECK_FALSE(contains(bytes, "basket-1"));
  EventLog reopened(path);
  CHECK(reopened.recovery().tail == LogTail::clean);
  CHECK(reopened.last_sequence() == 9);
  CHECK(reopened.records().size() == 4);
}

TEST_CASE("Erasure: digest compaction keeps the erasure but not the ID", "[event_log][erasure]") {
  const std::string path = fresh_path("erase-digest.log");
  auto ev = [](const std::string& user, const std::string& item) {
    Event e;
    e.user = user;
    e.item = item;
    return e;
  };
  {
    EventLog log(path);
    log.append(ev("erin.secret@example.com", "i1"));
    log.append(ev("bob", "b1"));
    log.erase_user("erin.secret@example.com", 100);
    CHECK(log.compact(TombstonePolicy::digest) == 1);  // only erin's event goes
    CHECK_FALSE(contains(read_bytes(path), "erin.secret"));
    log.append(ev("erin.secret@example.com", "i2"));  // a new history after the erasure
  }
  // The compacted file is a version 2 log holding one digest tombstone at its old sequence.
  CHECK(le_u32(read_bytes(path).data() + 8) == 2);
  EventLog log(path);
  const auto recs = log.records();
  REQUIRE(recs.size() == 3);
  CHECK(recs[0].event.item == "b1");
  CHECK(recs[1].type == LogRecordType::erase_digest);
  CHECK(recs[1].sequence == 3);
  CHECK(recs[1].event.timestamp == 100);
  CHECK(recs[1].actor_digest == actor_digest("erin.secret@example.com"));
  CHECK(recs[1].actor_digest.size() == kActorDigestBytes);
  CHECK(recs[1].event.user.empty());
  // The digest tombstone still erases what precedes it; the later event survives.
  const auto kept = surviving_events(recs);
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].item == "b1");
  CHECK(kept[1].item == "i2");
  // A second compaction changes nothing; a drop compaction removes the digest too.
  CHECK(log.compact(TombstonePolicy::digest) == 0);
  CHECK(log.compact(TombstonePolicy::drop) == 1);
  CHECK(log.records().size() == 2);
}

TEST_CASE("Erasure: a digest tombstone erases records that precede it and not others",
          "[event_log][erasure]") {
  // Digest tombstones written directly into a log (as a compaction leaves them) apply by actor:
  // anonymous sessions are digested as "session:<key>", like erase_user names them.
  const std::string path = fresh_path("erase-digest-2.log");
  Event anon;
  anon.session = "basket-9";
  anon.item = "anonymous-item";
  Event named;
  named.user = "basket-9";  // a user with the same key is a different actor
  named.item = "u1";
  {
    EventLog log(path);
    log.append(anon);
    log.append(named);
    log.erase_user("session:basket-9", 7);
    log.compact(TombstonePolicy::digest);
  }
  EventLog log(path);
  const auto kept = surviving_events(log.records());
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].item == "u1");
  CHECK_FALSE(contains(read_bytes(path), "anonymous-item"));
}
