// tailor (private, for tests): FaultInjectingFileOps, a FileOps that makes chosen calls fail
// (disk full, I/O error, failed rename, short writes) so tests can check that every failure is
// reported and leaves the previous file intact.
//
// Thread-safety: thread-safe.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "tailor/persistence/file_io.hpp"

namespace tailor {

/// The operations FaultInjectingFileOps can make fail.
enum class FileOpKind { open, close, pread, pwrite, fsync, ftruncate, rename, unlink, file_size };

/// Lower-case name of an operation, e.g. "fsync".
const char* file_op_name(FileOpKind op) noexcept;

/// One failure to inject.
struct InjectedFault {
  InjectedFault(FileOpKind op_ = FileOpKind::pwrite, int error_ = EIO, std::uint64_t after_ = 0,
                std::uint64_t times_ = 1)
      : op(op_), error(error_), after(after_), times(times_) {}

  FileOpKind op = FileOpKind::pwrite;
  int error = EIO;              ///< errno reported by the failing call (ENOSPC = disk full)
  std::uint64_t after = 0;      ///< calls of `op` that succeed before the first failure
  std::uint64_t times = 1;      ///< failing calls; kForever = every later call (a full disk)
  /// pwrite only: before failing, one call writes this many bytes (fewer than asked) and returns
  /// that count, like a disk that fills up in the middle of a write. 0 = fail outright.
  std::size_t partial_bytes = 0;
  /// open, rename and unlink only: the fault applies only to paths containing this text.
  std::string path_contains;

  static constexpr std::uint64_t kForever = ~std::uint64_t{0};
};

/// FileOps that forwards to another FileOps (by default the system's) except for the calls that
/// match an injected fault. Thread-safe.
///
/// **Example**:
///   FaultInjectingFileOps ops;
///   ops.inject({FileOpKind::pwrite, ENOSPC});      // the first write finds the disk full
///   write_file_atomically("model.tlm", bytes, ops); // throws Error(io_error); old file intact
class FaultInjectingFileOps : public FileOps {
 public:
  explicit FaultInjectingFileOps(FileOps& base = system_file_ops()) : base_(base) {}

  /// Adds a fault; several may be armed at once (for different or the same operations).
  void inject(InjectedFault fault);
  /// Disarms every fault (the call counters keep counting).
  void clear();
  /// Calls of `op` seen so far, failed ones included.
  std::uint64_t calls(FileOpKind op) const;
  /// Injected failures that fired so far (short writes included).
  std::uint64_t fired() const;

  int open(const char* path, int flags, int mode) override;
  int close(int fd) override;
  std::int64_t pread(int fd, void* buffer, std::size_t size, std::uint64_t offset) override;
  std::int64_t pwrite(int fd, const void* data, std::size_t size, std::uint64_t offset) override;
  int fsync(int fd) override;
  int ftruncate(int fd, std::uint64_t size) override;
  int rename(const char* from, const char* to) override;
  int unlink(const char* path) override;
  std::int64_t file_size(int fd) override;

 private:
  struct Armed {
    InjectedFault fault;
    std::uint64_t seen = 0;    // matching calls so far
    std::uint64_t failed = 0;  // failures so far
    bool partial_done = false;
  };
  // Counts the call; returns the errno to fail with (0 = let it through). For pwrite,
  // *partial is set when the call should write only that many bytes.
  int check(FileOpKind op, const char* path, std::size_t* partial = nullptr);

  FileOps& base_;
  mutable std::mutex mutex_;
  std::vector<Armed> faults_;
  static constexpr std::size_t kOpKinds = 9;
  std::uint64_t calls_[kOpKinds] = {};
  std::uint64_t fired_ = 0;
};

}  // namespace tailor
