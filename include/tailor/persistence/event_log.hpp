// tailor: EventLog, a durable append-only log of shopper events and erasure requests.
//
// The Recommender appends every ingested event here before applying it, so a restart rebuilds
// its real-time state from the last model file plus the log, and a retrain reads the history.
//
// File layout (little-endian; log format version 2, which also reads version 1 files):
//   header   16 bytes: magic 89 'T' 'L' 'R' 'L' 0D 0A 1A, u32 version, u32 CRC-32C of the 12
//            bytes before it
//   records  u32 L (payload bytes), u32 CRC-32C of those 4 length bytes,
//            L payload bytes: u8 type (1 event, 2 erase_user, 3 erase_digest), u64 sequence
//            number, then the body: an event (docs/formats.md); for erase_user the erased actor
//            as a u32-length string and an i64 timestamp; for erase_digest the actor's 32-byte
//            SHA-256 and an i64 timestamp,
//            u32 CRC-32C of the payload.
// Sequence numbers start at 1 and increase by one per record (compaction leaves gaps).
//
// Durability (EventLogOptions::sync):
//   - every_record: append() returns once its record is on stable storage (fsync). Concurrent
//     appenders share fsyncs: while one thread syncs, the others write their records and the
//     next fsync covers all of them (group commit).
//   - group_commit: append() returns once its record is written to the file (it survives the
//     process being killed, not a power loss); a background thread fsyncs when
//     `group_commit_records` records are unsynced or `group_commit_interval` has passed since
//     the first of them. flush() waits for everything appended so far.
//   - none: fsync only on flush() and close().
// Records are never buffered inside the process: each append() writes them with one pwrite.
//
// Recovery on open, never silent (see recovery()):
//   - a torn tail (the last record cut short by a crash, a zero-filled end, or a last record
//     whose checksum fails) is truncated away, and the report gives its offset and size;
//   - a damaged record followed by more data is corruption in the middle: by default open throws
//     Error(corrupt_file) naming its offset and the bytes after it, and the file is left alone;
//     with CorruptionPolicy::truncate the log is cut at that record and the report says how many
//     bytes (and recognisable records) were dropped. Replay never skips over a bad record.
// A failed write is cut back off the file (so later records never follow garbage); a failed
// fsync puts the log in a failed state (the kernel may have dropped the dirty pages): every
// later call throws Error(io_error) and the log must be reopened.
//
// Erasure: erase_user(actor) appends a tombstone. surviving_events() / replay_surviving() drop
// every event of that actor that precedes the tombstone (events after it are a new history);
// compact() rewrites the file without them, and may turn the tombstones into digests so no raw
// ID remains (TombstonePolicy::digest).
//
// One process at a time: open takes an exclusive flock(2) on the file.
//
// Thread-safety: EventLog is thread-safe (append, erase_user, flush, replay and compact may be
// called from any thread). LogRecord, LogRecovery and EventLogOptions are value types
// (thread-compatible).
//
// **Example**:
//   tailor::EventLogOptions opt;
//   opt.sync = tailor::SyncPolicy::group_commit;
//   tailor::EventLog log("events.log", opt);
//   if (log.recovery().tail != tailor::LogTail::clean) report(log.recovery().detail);
//   log.replay([&](const tailor::LogRecord& r) { rebuild(r); });
//   std::uint64_t seq = log.append(event);
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/data/event.hpp"
#include "tailor/persistence/file_io.hpp"

namespace tailor {

class File;  // persistence/files.hpp (private)

/// When appended records are fsynced (see the file comment).
enum class SyncPolicy { every_record, group_commit, none };

/// What opening or reading a log does about a damaged record followed by more data.
enum class CorruptionPolicy {
  fail,      ///< throw Error(corrupt_file) naming the offset; the file is not modified
  truncate,  ///< EventLog: cut the log at the bad record; read_event_log: stop there. Reported.
};

/// What compact() does with erase_user records (tombstones).
enum class TombstonePolicy {
  keep,    ///< keep them, so a model file older than the erasure can still be cleaned on replay
  drop,    ///< drop them too: no trace of the erased actors remains in the log
  /// replace each by a digest tombstone (SHA-256 of the actor): the ID's bytes leave the log,
  /// and a model file older than the erasure is still cleaned on replay (its users are matched by
  /// digest). An ID that can be guessed can be confirmed against the digest; with pseudonymized
  /// IDs (RecommenderOptions::pseudonymize) what is hashed is already a keyed pseudonym.
  digest,
};

/// Bytes of an actor digest (SHA-256).
inline constexpr std::size_t kActorDigestBytes = 32;

/// The digest a digest tombstone stores for `actor`: the raw SHA-256 of its bytes.
TAILOR_API std::string actor_digest(std::string_view actor);

/// Options of EventLog.
struct TAILOR_API EventLogOptions {
  SyncPolicy sync = SyncPolicy::every_record;
  /// group_commit: fsync once this many records are unsynced; >= 1.
  std::size_t group_commit_records = 256;
  /// group_commit: fsync at most this long after the first unsynced record; > 0.
  std::chrono::milliseconds group_commit_interval{20};
  CorruptionPolicy on_corruption = CorruptionPolicy::fail;
  /// Largest record payload append() accepts, in bytes; 64 .. 64 MiB.
  std::size_t max_record_bytes = std::size_t{1} << 20;
  /// The system calls to use; nullptr = system_file_ops(). Must outlive the log.
  FileOps* file_ops = nullptr;

  /// Throws Error(invalid_argument) naming the first option out of range.
  void validate() const;
};

/// Kinds of records in the log.
enum class LogRecordType : std::uint8_t {
  event = 1,         ///< a shopper event
  erase_user = 2,    ///< a tombstone: forget this actor's earlier events
  erase_digest = 3,  ///< the same, naming the actor by actor_digest() only (log version 2)
};

/// One record read back from the log.
struct LogRecord {
  std::uint64_t sequence = 0;
  LogRecordType type = LogRecordType::event;
  /// The event. For erase_user records only `user` (the erased actor, as Event::actor() gives
  /// it) and `timestamp` (when erasure was requested) are set; for erase_digest records only
  /// `timestamp`.
  Event event;
  /// erase_digest records: actor_digest() of the erased actor (kActorDigestBytes bytes).
  std::string actor_digest;
};

/// State of the end of a log when it was opened or read.
enum class LogTail {
  clean,    ///< every byte belongs to a valid record
  torn,     ///< the last record was incomplete (a crash while appending)
  corrupt,  ///< a damaged record is followed by more data
};

/// What opening (or reading) a log found.
struct LogRecovery {
  LogTail tail = LogTail::clean;
  std::uint64_t records = 0;          ///< valid records kept
  std::uint64_t last_sequence = 0;    ///< sequence number of the last valid record (0: none)
  std::uint64_t valid_bytes = 0;      ///< end offset of the last valid record
  std::uint64_t file_bytes = 0;       ///< size of the file as found
  std::uint64_t bad_offset = 0;       ///< where the first bad record starts (tail != clean)
  std::uint64_t dropped_bytes = 0;    ///< file_bytes - valid_bytes
  /// Records recognisable in the dropped bytes: frames with an intact header, walked from
  /// bad_offset (the first bad record included when its header is intact). Unrecognisable
  /// garbage may hide more.
  std::uint64_t dropped_records = 0;
  bool truncated = false;             ///< the file was cut back to valid_bytes
  std::string detail;                 ///< "<path>, offset <n>: <what was wrong>"; empty if clean
  /// Recommender::open_event_log only: intact events it did not apply because they are not
  /// acceptable under its options (e.g. a value beyond EventWeights::max_value), and why (the
  /// first five).
  std::uint64_t skipped_events = 0;
  std::string skipped_detail;
};

/// A durable append-only log of events (see the file comment). Thread-safe.
class TAILOR_API EventLog {
 public:
  /// Opens `path`, creating it if missing, and recovers it as the file comment describes.
  /// Throws Error(io_error) if it cannot be opened, created or locked (another process has it),
  /// Error(corrupt_file) if it is not an event log or (CorruptionPolicy::fail) is damaged in the
  /// middle, Error(unsupported_version) for a newer log format, Error(invalid_argument) for bad
  /// options.
  explicit EventLog(std::string path, EventLogOptions options = {});
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;
  /// Flushes unsynced records (errors ignored: call close() to see them) and closes the file.
  ~EventLog();

  /// Appends one event and returns its sequence number; durability per the sync policy.
  /// Throws Error(invalid_argument) if the record exceeds max_record_bytes, Error(io_error) if
  /// writing or syncing fails (nothing of the record stays in the file after a failed write).
  std::uint64_t append(const Event& event);
  /// Appends several events with one write (and one fsync); returns the last sequence number
  /// (0 for an empty batch). All or none are appended.
  std::uint64_t append(const std::vector<Event>& events);
  /// Appends a tombstone for `actor` (a user ID, or "session:<key>" as Event::actor() gives for
  /// anonymous events) and returns its sequence number.
  std::uint64_t erase_user(std::string_view actor, Timestamp when);

  /// Waits until every record appended so far is on stable storage.
  void flush();
  /// Flushes and closes; later calls other than recovery(), path() and close() throw.
  void close();

  /// Calls `visit` for every record, oldest first, and returns how many it visited. Records
  /// appended while replay runs may or may not be visited. Throws Error(corrupt_file) if a
  /// record fails its checksum now (the disk changed since open).
  std::uint64_t replay(const std::function<void(const LogRecord&)>& visit) const;
  /// Like replay, but visits only the event records that survive erasure (see
  /// surviving_events()); reads the log twice.
  std::uint64_t replay_surviving(const std::function<void(const LogRecord&)>& visit) const;
  /// All records (replay into a vector).
  std::vector<LogRecord> records() const;

  /// Rewrites the log without the events that erasure removed (and, with TombstonePolicy::drop,
  /// without the tombstones), atomically. Blocks appends meanwhile. Returns the records removed.
  std::uint64_t compact(TombstonePolicy tombstones = TombstonePolicy::keep);

  /// What open found and did.
  const LogRecovery& recovery() const noexcept { return recovery_; }
  const std::string& path() const noexcept { return path_; }
  /// Sequence number of the last record appended (0 for an empty log).
  std::uint64_t last_sequence() const;
  /// Bytes in the file (written records), and how many of them are known to be fsynced.
  std::uint64_t size_bytes() const;
  std::uint64_t synced_bytes() const;

 private:
  struct Frame;
  std::uint64_t append_bodies(LogRecordType type, std::vector<std::string>&& bodies);
  void sync_to(std::unique_lock<std::mutex>& lock, std::uint64_t target);
  void check_usable() const;
  void flusher_loop();
  void stop_flusher();

  std::string path_;
  EventLogOptions options_;
  FileOps* ops_;
  LogRecovery recovery_;

  mutable std::mutex mutex_;
  std::condition_variable synced_cv_;   // a sync finished
  std::condition_variable flusher_cv_;  // wakes the group-commit thread
  std::shared_ptr<File> file_;
  std::uint64_t end_ = 0;               // bytes written
  std::uint64_t synced_ = 0;            // bytes known durable
  std::uint64_t records_written_ = 0;
  std::uint64_t records_synced_ = 0;
  std::uint64_t next_sequence_ = 1;
  bool sync_in_progress_ = false;
  bool closed_ = false;
  bool stopping_ = false;
  std::string failed_;                  // non-empty: the log is unusable, this says why
  std::thread flusher_;
};

/// Reads a log without opening it for appending (no lock, no repair): visits every valid record
/// and returns what the tail looks like. A torn tail ends the read and is reported; a damaged
/// record followed by more data throws Error(corrupt_file) naming its offset after the records
/// before it were visited, or (CorruptionPolicy::truncate) ends the read and is reported.
TAILOR_API LogRecovery read_event_log(const std::string& path,
                                      const std::function<void(const LogRecord&)>& visit,
                                      CorruptionPolicy on_corruption = CorruptionPolicy::fail,
                                      FileOps& ops = system_file_ops());

/// The events of `records` that survive erasure, in order: an event is dropped when an
/// erase_user record with a higher sequence number names its actor(); erase_user records are
/// not returned.
TAILOR_API std::vector<Event> surviving_events(const std::vector<LogRecord>& records);

}  // namespace tailor
