#include "tailor/persistence/event_log.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "internal/crc32c.hpp"
#include "internal/sha256.hpp"
#include "tailor/core/error.hpp"
#include "persistence/model_container.hpp"
#include "persistence/encoding.hpp"
#include "persistence/files.hpp"

namespace tailor {
namespace {

constexpr char kLogMagic[8] = {'\x89', 'T', 'L', 'R', 'L', '\r', '\n', '\x1a'};
// Version 2 added digest tombstones (records of type 3); version 1 logs are read as they are.
constexpr std::uint32_t kLogVersion = 2;
constexpr std::uint32_t kOldestLogVersion = 1;
constexpr std::size_t kLogHeaderBytes = 16;
constexpr std::size_t kFrameHeaderBytes = 8;  // length, CRC of the length
constexpr std::size_t kMinPayload = 9;        // type, sequence
constexpr std::uint32_t kMaxPayload = std::uint32_t{64} << 20;
constexpr std::size_t kReadChunk = std::size_t{1} << 20;

void put_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}
std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string log_header() {
  char h[kLogHeaderBytes];
  std::memcpy(h, kLogMagic, 8);
  put_u32(h + 8, kLogVersion);
  put_u32(h + 12, detail::crc32c(h, 12));
  return std::string(h, kLogHeaderBytes);
}

// Checks the 16 header bytes of a log of `size` >= 16 bytes.
void check_header(const char* h, const std::string& path) {
  if (std::memcmp(h, kLogMagic, 8) != 0)
    TAILOR_THROW(corrupt_file, path << ", offset 0: not a tailor event log (bad magic bytes)");
  const std::uint32_t version = get_u32(h + 8);
  if (version < kOldestLogVersion || version > kLogVersion)
    TAILOR_THROW(unsupported_version, path << ", offset 8: event log format version " << version
                                           << "; this build reads versions " << kOldestLogVersion
                                           << " to " << kLogVersion);
  if (get_u32(h + 12) != detail::crc32c(h, 12))
    TAILOR_THROW(corrupt_file, path << ", offset 12: event log header checksum mismatch");
}

std::string event_body(const Event& event) {
  ByteWriter w;
  encode(w, event);
  return w.release();
}

std::string erase_body(std::string_view actor, Timestamp when) {
  ByteWriter w;
  w.string(actor);
  w.i64(when);
  return w.release();
}

std::string erase_digest_body(std::string_view digest, Timestamp when) {
  ByteWriter w;
  w.bytes(digest.data(), digest.size());
  w.i64(when);
  return w.release();
}

void append_frame(std::string& out, LogRecordType type, std::uint64_t sequence,
                  std::string_view body) {
  const auto length = static_cast<std::uint32_t>(kMinPayload + body.size());
  char head[kFrameHeaderBytes + kMinPayload];
  put_u32(head, length);
  put_u32(head + 4, detail::crc32c(head, 4));
  head[8] = static_cast<char>(type);
  for (int i = 0; i < 8; ++i) head[9 + i] = static_cast<char>((sequence >> (8 * i)) & 0xFFu);
  std::uint32_t crc = detail::crc32c(head + kFrameHeaderBytes, kMinPayload);
  crc = detail::crc32c(body.data(), body.size(), crc);
  char tail[4];
  put_u32(tail, crc);
  out.append(head, sizeof head);
  out.append(body.data(), body.size());
  out.append(tail, 4);
}

void append_record_frame(std::string& out, const LogRecord& r) {
  switch (r.type) {
    case LogRecordType::event: append_frame(out, r.type, r.sequence, event_body(r.event)); break;
    case LogRecordType::erase_user:
      append_frame(out, r.type, r.sequence, erase_body(r.event.user, r.event.timestamp));
      break;
    case LogRecordType::erase_digest:
      append_frame(out, r.type, r.sequence, erase_digest_body(r.actor_digest, r.event.timestamp));
      break;
  }
}

// Buffered positional reads over [0, end) of a file.
class Cursor {
 public:
  Cursor(const File& file, std::uint64_t end) : file_(file), end_(end) {}
  std::uint64_t end() const { return end_; }
  // The n bytes at `offset`; offset + n <= end() is the caller's to check.
  const char* get(std::uint64_t offset, std::size_t n) {
    if (offset < buf_offset_ || offset + n > buf_offset_ + buf_.size()) {
      const std::uint64_t want = std::max<std::uint64_t>(n, kReadChunk);
      const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(want, end_ - offset));
      buf_.resize(len);
      file_.read_exact(offset, buf_.data(), len);
      buf_offset_ = offset;
    }
    return buf_.data() + (offset - buf_offset_);
  }
  bool all_zero(std::uint64_t from) { return zero_from(from) == from; }
  // The offset after the last non-zero byte of [from, end), or `from` when they are all zero.
  std::uint64_t zero_from(std::uint64_t from) {
    std::uint64_t last = from;
    while (from < end_) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kReadChunk, end_ - from));
      const char* p = get(from, n);
      for (std::size_t i = n; i > 0; --i) {
        if (p[i - 1] != 0) {
          last = from + i;
          break;
        }
      }
      from += n;
    }
    return last;
  }

 private:
  const File& file_;
  std::uint64_t end_;
  std::vector<char> buf_;
  std::uint64_t buf_offset_ = 0;
};

// Reads the frame header at `pos`; returns the payload length, or 0 if the header is damaged or
// its length impossible. Requires end - pos >= 8.
std::uint32_t frame_length(Cursor& c, std::uint64_t pos) {
  const char* h = c.get(pos, kFrameHeaderBytes);
  const std::uint32_t length = get_u32(h);
  if (get_u32(h + 4) != detail::crc32c(h, 4)) return 0;
  if (length < kMinPayload || length > kMaxPayload) return 0;
  return length;
}

std::uint64_t count_frames(Cursor& c, std::uint64_t pos) {
  std::uint64_t n = 0;
  while (c.end() - pos >= kFrameHeaderBytes) {
    const std::uint32_t length = frame_length(c, pos);
    if (length == 0) break;
    ++n;
    if (length + std::uint64_t{4} > c.end() - pos - kFrameHeaderBytes) break;
    pos += kFrameHeaderBytes + length + 4;
  }
  return n;
}

// Validates the records in [16, end) and visits the valid ones. Sets every field of the report
// except file_bytes and truncated.
LogRecovery scan_records(const File& file, std::uint64_t end, const std::string& path,
                         const std::function<void(const LogRecord&)>* visit) {
  LogRecovery rep;
  Cursor c(file, end);
  std::uint64_t pos = kLogHeaderBytes;
  auto bad = [&](LogTail tail, const std::string& what) {
    rep.tail = tail;
    rep.bad_offset = pos;
    rep.detail = path + ", offset " + std::to_string(pos) + ": " + what;
    rep.dropped_records = count_frames(c, pos);
  };
  while (pos < end) {
    const std::uint64_t left = end - pos;
    if (left < kFrameHeaderBytes) {
      bad(LogTail::torn, "incomplete record header (" + std::to_string(left) + " bytes at the end)");
      break;
    }
    const char* h = c.get(pos, kFrameHeaderBytes);
    const std::uint32_t length = get_u32(h);
    // A crash (or power loss with unsynced appends) leaves the last record written only in part
    // and the rest of the file zero-filled: the bytes written all lie inside the record it began.
    // Anything written beyond that span is damage in the middle of the log.
    // (Computed only for a bad record: it reads to the end of the file.)
    auto written_to = [&] { return c.zero_from(pos); };
    if (get_u32(h + 4) != detail::crc32c(h, 4)) {
      const std::uint64_t written = written_to();
      if (written == pos) {
        bad(LogTail::torn, "zero-filled tail of " + std::to_string(left) + " bytes");
      } else if (written <= pos + kFrameHeaderBytes) {
        bad(LogTail::torn, "record header written in part, then " +
                               std::to_string(end - written) + " zero bytes");
      } else {
        bad(LogTail::corrupt, "record header checksum mismatch");
      }
      break;
    }
    if (length < kMinPayload || length > kMaxPayload) {
      bad(LogTail::corrupt, "record length " + std::to_string(length) + " is impossible");
      break;
    }
    if (length + std::uint64_t{4} > left - kFrameHeaderBytes) {
      bad(LogTail::torn, "record of " + std::to_string(length) + " bytes cut off: only " +
                             std::to_string(left - kFrameHeaderBytes) + " bytes follow its header");
      break;
    }
    const std::uint64_t payload_at = pos + kFrameHeaderBytes;
    const char* p = c.get(payload_at, length + std::size_t{4});
    if (get_u32(p + length) != detail::crc32c(p, length)) {
      if (payload_at + length + 4 == end) {
        bad(LogTail::torn, "last record fails its checksum");
      } else if (const std::uint64_t written = written_to(); written <= payload_at + length + 4) {
        bad(LogTail::torn, "record written in part, then zero bytes to the end (" +
                               std::to_string(end - written) + " of them)");
      } else {
        bad(LogTail::corrupt, "record checksum mismatch");
      }
      break;
    }
    LogRecord rec;
    try {
      ByteReader r = ByteReader::view(std::string_view(p, length), path + ": record", payload_at);
      const std::uint8_t type = r.u8();
      if (type != static_cast<std::uint8_t>(LogRecordType::event) &&
          type != static_cast<std::uint8_t>(LogRecordType::erase_user) &&
          type != static_cast<std::uint8_t>(LogRecordType::erase_digest))
        r.fail("unknown record type " + std::to_string(type));
      rec.type = static_cast<LogRecordType>(type);
      rec.sequence = r.u64();
      if (rec.type == LogRecordType::event) {
        decode(r, rec.event);
      } else if (rec.type == LogRecordType::erase_user) {
        rec.event.user = r.string();
        rec.event.timestamp = r.i64();
      } else {
        rec.actor_digest = std::string(r.bytes(kActorDigestBytes));
        rec.event.timestamp = r.i64();
      }
      r.expect_end();
    } catch (const Error& e) {
      if (e.code() != ErrorCode::corrupt_file) throw;
      bad(LogTail::corrupt, std::string("undecodable record: ") + e.what());
      break;
    }
    if (rec.sequence <= rep.last_sequence) {
      bad(LogTail::corrupt, "sequence number " + std::to_string(rec.sequence) +
                                " does not follow " + std::to_string(rep.last_sequence));
      break;
    }
    if (visit != nullptr) (*visit)(rec);
    ++rep.records;
    rep.last_sequence = rec.sequence;
    pos = payload_at + length + 4;
    rep.valid_bytes = pos;
  }
  if (rep.tail == LogTail::clean) rep.valid_bytes = end;
  if (rep.valid_bytes < kLogHeaderBytes) rep.valid_bytes = kLogHeaderBytes;
  rep.dropped_bytes = end - rep.valid_bytes;
  return rep;
}

void lock_file(const File& file) {
  if (::flock(file.fd(), LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    if (e == EWOULDBLOCK)
      TAILOR_THROW(io_error, file.path() << ": event log is locked by another EventLog (in this "
                                            "or another process)");
    throw_io_error(file.path(), "flock", e);
  }
}

// Erasures seen in a log: actor -> sequence of its last tombstone, and the same for digest
// tombstones (digest -> sequence), with the digests of the actors looked up so far.
struct ErasureMap {
  std::unordered_map<std::string, std::uint64_t> actors;
  std::unordered_map<std::string, std::uint64_t> digests;
  mutable std::unordered_map<std::string, std::string> digest_of;
  bool empty() const { return actors.empty() && digests.empty(); }
};

void note_erasure(ErasureMap& erased, const LogRecord& r) {
  if (r.type == LogRecordType::erase_user) {
    auto& seq = erased.actors[r.event.user];
    seq = std::max(seq, r.sequence);
  } else if (r.type == LogRecordType::erase_digest) {
    auto& seq = erased.digests[r.actor_digest];
    seq = std::max(seq, r.sequence);
  }
}

bool survives(const ErasureMap& erased, const LogRecord& r) {
  if (r.type != LogRecordType::event || erased.empty()) return true;
  const std::string actor = r.event.actor();
  const auto it = erased.actors.find(actor);
  if (it != erased.actors.end() && it->second > r.sequence) return false;
  if (erased.digests.empty()) return true;
  auto d = erased.digest_of.find(actor);
  if (d == erased.digest_of.end()) d = erased.digest_of.emplace(actor, actor_digest(actor)).first;
  const auto hit = erased.digests.find(d->second);
  return hit == erased.digests.end() || hit->second < r.sequence;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Options

void EventLogOptions::validate() const {
  TAILOR_REQUIRE(group_commit_records >= 1,
                 "EventLogOptions.group_commit_records must be >= 1, got " << group_commit_records);
  TAILOR_REQUIRE(group_commit_interval.count() > 0,
                 "EventLogOptions.group_commit_interval must be > 0 ms, got "
                     << group_commit_interval.count());
  TAILOR_REQUIRE(max_record_bytes >= 64 && max_record_bytes <= kMaxPayload,
                 "EventLogOptions.max_record_bytes must be in 64.." << kMaxPayload << ", got "
                                                                    << max_record_bytes);
}

// ---------------------------------------------------------------------------------------------
// Opening and recovery

EventLog::EventLog(std::string path, EventLogOptions options)
    : path_(std::move(path)), options_(options) {
  options_.validate();
  ops_ = options_.file_ops != nullptr ? options_.file_ops : &system_file_ops();
  auto file = std::make_shared<File>(path_, O_RDWR | O_CREAT, 0644, *ops_);
  lock_file(*file);
  const std::uint64_t size = file->size();
  const std::string header = log_header();
  LogRecovery rep;
  if (size < kLogHeaderBytes) {
    // New, or cut short while it was being created: only our own header's prefix may be there.
    std::string have(static_cast<std::size_t>(size), '\0');
    file->read_exact(0, have.data(), have.size());
    if (header.compare(0, have.size(), have) != 0)
      TAILOR_THROW(corrupt_file, path_ << ", offset 0: not a tailor event log (" << size
                                       << " bytes that do not start like one)");
    if (size > 0) {
      rep.tail = LogTail::torn;
      rep.detail = path_ + ", offset 0: incomplete log header (" + std::to_string(size) + " bytes)";
      rep.dropped_bytes = size;
      rep.truncated = true;
      file->truncate(0);
    }
    file->write_all(0, header.data(), header.size());
    file->sync();
    sync_directory(parent_directory(path_), *ops_);
    rep.valid_bytes = kLogHeaderBytes;
  } else {
    char h[kLogHeaderBytes];
    file->read_exact(0, h, kLogHeaderBytes);
    check_header(h, path_);
    rep = scan_records(*file, size, path_, nullptr);
    if (rep.tail == LogTail::corrupt && options_.on_corruption == CorruptionPolicy::fail)
      TAILOR_THROW(corrupt_file, rep.detail << "; " << rep.dropped_bytes
                                            << " bytes from there to the end of the file "
                                               "(CorruptionPolicy::truncate would drop them)");
    if (rep.tail != LogTail::clean) {
      file->truncate(rep.valid_bytes);
      rep.truncated = true;
    }
    file->sync();  // what we keep (possibly appended without fsync before) is durable from here
  }
  rep.file_bytes = size;
  recovery_ = rep;
  file_ = std::move(file);
  end_ = synced_ = rep.valid_bytes;
  records_written_ = records_synced_ = rep.records;
  next_sequence_ = rep.last_sequence + 1;
  if (options_.sync == SyncPolicy::group_commit) flusher_ = std::thread([this] { flusher_loop(); });
}

EventLog::~EventLog() {
  try {
    close();
  } catch (...) {  // a destructor cannot report; close() can
  }
}

// ---------------------------------------------------------------------------------------------
// Appending and syncing

void EventLog::check_usable() const {
  if (closed_) TAILOR_THROW(invalid_argument, path_ << ": event log is closed");
  if (!failed_.empty())
    TAILOR_THROW(io_error, path_ << ": event log failed earlier and must be reopened: " << failed_);
}

std::uint64_t EventLog::append(const Event& event) {
  std::vector<std::string> bodies;
  bodies.push_back(event_body(event));
  return append_bodies(LogRecordType::event, std::move(bodies));
}

std::uint64_t EventLog::append(const std::vector<Event>& events) {
  std::vector<std::string> bodies;
  bodies.reserve(events.size());
  for (const Event& e : events) bodies.push_back(event_body(e));
  return append_bodies(LogRecordType::event, std::move(bodies));
}

std::uint64_t EventLog::erase_user(std::string_view actor, Timestamp when) {
  if (actor.empty()) TAILOR_THROW(invalid_argument, "EventLog::erase_user: empty actor");
  std::vector<std::string> bodies;
  bodies.push_back(erase_body(actor, when));
  return append_bodies(LogRecordType::erase_user, std::move(bodies));
}

std::uint64_t EventLog::append_bodies(LogRecordType type, std::vector<std::string>&& bodies) {
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    const std::size_t payload = kMinPayload + bodies[i].size();
    if (payload > options_.max_record_bytes)
      TAILOR_THROW(invalid_argument, path_ << ": record " << i << " of the batch takes " << payload
                                           << " bytes, more than max_record_bytes ("
                                           << options_.max_record_bytes << ")");
  }
  std::unique_lock<std::mutex> lock(mutex_);
  check_usable();
  if (bodies.empty()) return 0;
  const std::uint64_t first = next_sequence_;
  std::string frames;
  std::size_t total = 0;
  for (const std::string& b : bodies) total += kFrameHeaderBytes + kMinPayload + b.size() + 4;
  frames.reserve(total);
  for (std::size_t i = 0; i < bodies.size(); ++i) append_frame(frames, type, first + i, bodies[i]);

  const std::uint64_t at = end_;
  try {
    file_->write_all(at, frames.data(), frames.size());
  } catch (const Error& e) {
    // Cut off whatever part of the batch reached the file, so no later record follows garbage.
    try {
      file_->truncate(at);
    } catch (const Error& t) {
      failed_ = std::string(e.what()) + "; cutting the partial write off failed too: " + t.what();
    }
    throw;
  }
  end_ = at + frames.size();
  const std::uint64_t my_end = end_;
  next_sequence_ = first + bodies.size();
  records_written_ += bodies.size();
  const std::uint64_t last = next_sequence_ - 1;
  switch (options_.sync) {
    case SyncPolicy::every_record:
      sync_to(lock, my_end);
      break;
    case SyncPolicy::group_commit: {
      const std::uint64_t unsynced = records_written_ - records_synced_;
      if (unsynced == bodies.size() || unsynced >= options_.group_commit_records)
        flusher_cv_.notify_one();
      break;
    }
    case SyncPolicy::none:
      break;
  }
  return last;
}

// Makes bytes [0, target) durable. One caller at a time runs fsync with the mutex released;
// the others wait for it, and whoever still needs more afterwards runs the next one, covering
// every record written meanwhile.
void EventLog::sync_to(std::unique_lock<std::mutex>& lock, std::uint64_t target) {
  while (synced_ < target) {
    if (!failed_.empty())
      TAILOR_THROW(io_error, path_ << ": event log failed earlier and must be reopened: " << failed_);
    if (sync_in_progress_) {
      synced_cv_.wait(lock);
      continue;
    }
    sync_in_progress_ = true;
    const std::uint64_t upto = end_;
    const std::uint64_t records = records_written_;
    const std::shared_ptr<File> file = file_;
    lock.unlock();
    std::string error;
    try {
      file->sync();
    } catch (const Error& e) {
      error = e.what();
    }
    lock.lock();
    sync_in_progress_ = false;
    if (!error.empty()) {
      failed_ = error;
      synced_cv_.notify_all();
      TAILOR_THROW(io_error, error << " (records after byte " << synced_
                                   << " may not be durable; reopen the event log)");
    }
    synced_ = std::max(synced_, upto);
    records_synced_ = std::max(records_synced_, records);
    synced_cv_.notify_all();
  }
}

void EventLog::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  check_usable();
  sync_to(lock, end_);
}

void EventLog::flusher_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    flusher_cv_.wait(lock, [&] { return stopping_ || records_written_ > records_synced_; });
    if (stopping_) break;
    flusher_cv_.wait_for(lock, options_.group_commit_interval, [&] {
      return stopping_ || records_written_ - records_synced_ >= options_.group_commit_records;
    });
    if (stopping_ || !failed_.empty() || closed_) break;
    try {
      sync_to(lock, end_);
    } catch (const Error&) {
      break;  // failed_ is set; appenders and flush() report it
    }
  }
}

void EventLog::stop_flusher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  flusher_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
}

void EventLog::close() {
  stop_flusher();
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) return;
  std::string error = failed_;
  if (error.empty()) {
    try {
      sync_to(lock, end_);
    } catch (const Error& e) {
      error = e.what();
    }
  }
  closed_ = true;
  file_.reset();  // closes the descriptor (and drops the lock) once no replay uses it
  if (!error.empty())
    TAILOR_THROW(io_error, path_ << ": closing an event log that failed: " << error);
}

std::uint64_t EventLog::last_sequence() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_sequence_ - 1;
}

std::uint64_t EventLog::size_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return end_;
}

std::uint64_t EventLog::synced_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return synced_;
}

// ---------------------------------------------------------------------------------------------
// Reading

std::uint64_t EventLog::replay(const std::function<void(const LogRecord&)>& visit) const {
  std::shared_ptr<File> file;
  std::uint64_t end;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) TAILOR_THROW(invalid_argument, path_ << ": event log is closed");
    file = file_;
    end = end_;
  }
  const LogRecovery rep = scan_records(*file, end, path_, &visit);
  if (rep.tail != LogTail::clean)
    TAILOR_THROW(corrupt_file, rep.detail << " (the record was valid when the log was opened)");
  return rep.records;
}

std::uint64_t EventLog::replay_surviving(
    const std::function<void(const LogRecord&)>& visit) const {
  ErasureMap erased;
  replay([&](const LogRecord& r) { note_erasure(erased, r); });
  std::uint64_t n = 0;
  replay([&](const LogRecord& r) {
    if (r.type == LogRecordType::event && survives(erased, r)) {
      visit(r);
      ++n;
    }
  });
  return n;
}

std::vector<LogRecord> EventLog::records() const {
  std::vector<LogRecord> out;
  replay([&](const LogRecord& r) { out.push_back(r); });
  return out;
}

std::uint64_t EventLog::compact(TombstonePolicy tombstones) {
  std::unique_lock<std::mutex> lock(mutex_);
  check_usable();
  while (sync_in_progress_) synced_cv_.wait(lock);
  const std::shared_ptr<File> old = file_;
  const std::uint64_t end = end_;
  auto must_be_clean = [&](const LogRecovery& rep) {
    if (rep.tail != LogTail::clean)
      TAILOR_THROW(corrupt_file, rep.detail << " (the record was valid when the log was opened)");
  };
  ErasureMap erased;
  const std::function<void(const LogRecord&)> note = [&](const LogRecord& r) {
    note_erasure(erased, r);
  };
  must_be_clean(scan_records(*old, end, path_, &note));

  AtomicFileWriter out(path_, *ops_);
  std::string chunk = log_header();
  std::uint64_t kept = 0;
  std::uint64_t removed = 0;
  const std::function<void(const LogRecord&)> copy = [&](const LogRecord& r) {
    const bool keep = r.type == LogRecordType::event ? survives(erased, r)
                                                     : tombstones != TombstonePolicy::drop;
    if (!keep) {
      ++removed;
      return;
    }
    ++kept;
    if (r.type == LogRecordType::erase_user && tombstones == TombstonePolicy::digest) {
      LogRecord hashed;
      hashed.type = LogRecordType::erase_digest;
      hashed.sequence = r.sequence;
      hashed.actor_digest = actor_digest(r.event.user);
      hashed.event.timestamp = r.event.timestamp;
      append_record_frame(chunk, hashed);
    } else {
      append_record_frame(chunk, r);
    }
    if (chunk.size() >= kReadChunk) {
      out.write(chunk);
      chunk.clear();
    }
  };
  must_be_clean(scan_records(*old, end, path_, &copy));
  if (!chunk.empty()) out.write(chunk);
  auto adopt = [&] {
    auto fresh = std::make_shared<File>(path_, O_RDWR, 0644, *ops_);
    lock_file(*fresh);
    end_ = synced_ = fresh->size();
    records_written_ = records_synced_ = kept;
    file_ = std::move(fresh);
  };
  try {
    out.commit();
  } catch (const Error&) {
    if (out.renamed()) adopt();  // the new file is in place; only its directory fsync failed
    throw;
  }
  adopt();
  return removed;
}

LogRecovery read_event_log(const std::string& path,
                           const std::function<void(const LogRecord&)>& visit,
                           CorruptionPolicy on_corruption, FileOps& ops) {
  File file(path, O_RDONLY, 0, ops);
  const std::uint64_t size = file.size();
  LogRecovery rep;
  if (size < kLogHeaderBytes) {
    std::string have(static_cast<std::size_t>(size), '\0');
    file.read_exact(0, have.data(), have.size());
    if (log_header().compare(0, have.size(), have) != 0)
      TAILOR_THROW(corrupt_file, path << ", offset 0: not a tailor event log");
    rep.tail = size == 0 ? LogTail::clean : LogTail::torn;
    if (size > 0) rep.detail = path + ", offset 0: incomplete log header";
    rep.file_bytes = rep.dropped_bytes = size;
    return rep;
  }
  char h[kLogHeaderBytes];
  file.read_exact(0, h, kLogHeaderBytes);
  check_header(h, path);
  rep = scan_records(file, size, path, &visit);
  rep.file_bytes = size;
  if (rep.tail == LogTail::corrupt && on_corruption == CorruptionPolicy::fail)
    TAILOR_THROW(corrupt_file, rep.detail << "; " << rep.dropped_bytes
                                          << " bytes from there to the end of the file");
  return rep;
}

std::string actor_digest(std::string_view actor) {
  const detail::Sha256Digest d = detail::sha256(actor);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

std::vector<Event> surviving_events(const std::vector<LogRecord>& records) {
  ErasureMap erased;
  for (const LogRecord& r : records) note_erasure(erased, r);
  std::vector<Event> out;
  for (const LogRecord& r : records)
    if (r.type == LogRecordType::event && survives(erased, r)) out.push_back(r.event);
  return out;
}

}  // namespace tailor
