// tailor: durable file writes and the system-call seam used to test them.
//
// - FileOps: the handful of POSIX calls that model files and the event log go through (open,
//   pread, pwrite, fsync, ftruncate, rename, unlink, close, size). system_file_ops() calls the
//   operating system; FaultInjectingFileOps wraps it to make chosen calls fail (disk full, I/O
//   error, failed rename) so tests can check that every failure is reported and leaves the
//   previous file intact.
// - File: an open file descriptor whose operations throw Error(io_error) naming the path, the
//   operation and the system's reason ("model.tlm.tmp-41-0: pwrite: No space left on device").
// - AtomicFileWriter / write_file_atomically(): replace a file so that a crash at any moment
//   leaves either the old or the new contents under its name: write a temporary file in the same
//   directory, fsync it, rename it over the target, fsync the directory. On any failure before
//   the rename the temporary file is removed and the target is untouched.
//
// POSIX only (Linux, macOS, BSD).
//
// Thread-safety: system_file_ops() and FaultInjectingFileOps are thread-safe. File and
// AtomicFileWriter are not thread-safe. The free functions are thread-safe when called on
// different paths.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tailor {

/// The system calls behind every file tailor writes or checks. Each method behaves like the POSIX
/// call of the same name: it returns -1 and sets errno on failure.
class FileOps {
 public:
  virtual ~FileOps() = default;
  virtual int open(const char* path, int flags, int mode);
  virtual int close(int fd);
  virtual std::int64_t pread(int fd, void* buffer, std::size_t size, std::uint64_t offset);
  virtual std::int64_t pwrite(int fd, const void* data, std::size_t size, std::uint64_t offset);
  virtual int fsync(int fd);
  virtual int ftruncate(int fd, std::uint64_t size);
  virtual int rename(const char* from, const char* to);
  virtual int unlink(const char* path);
  /// Size of the open file in bytes (fstat), or -1.
  virtual std::int64_t file_size(int fd);
};

/// The FileOps that call the operating system directly.
FileOps& system_file_ops() noexcept;

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

/// An open file whose operations throw Error(io_error) naming the path, the operation and the
/// system's reason. Closes the descriptor on destruction (ignoring errors; call close() to see
/// them). Not thread-safe.
class File {
 public:
  /// Opens `path` with open(2) `flags` and `mode`; throws Error(io_error) on failure.
  File(std::string path, int flags, int mode = 0644, FileOps& ops = system_file_ops());
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  /// Reads exactly `size` bytes at `offset`; throws io_error on failure or if the file ends first.
  void read_exact(std::uint64_t offset, void* buffer, std::size_t size) const;
  /// Writes all `size` bytes at `offset` (retrying short writes and EINTR).
  void write_all(std::uint64_t offset, const void* data, std::size_t size);
  void sync();
  void truncate(std::uint64_t size);
  std::uint64_t size() const;
  /// Closes the descriptor; throws io_error if close(2) reports an error.
  void close();

  bool is_open() const noexcept { return fd_ >= 0; }
  int fd() const noexcept { return fd_; }
  const std::string& path() const noexcept { return path_; }
  FileOps& ops() const noexcept { return *ops_; }

 private:
  std::string path_;
  FileOps* ops_;
  int fd_ = -1;
};

/// Throws Error(io_error) "<path>: <operation>: <strerror(error)>".
[[noreturn]] void throw_io_error(const std::string& path, std::string_view operation, int error);

/// The directory part of `path` ("." when it has none).
std::string parent_directory(const std::string& path);

/// fsyncs the directory `dir`, making renames and new entries in it durable.
void sync_directory(const std::string& dir, FileOps& ops = system_file_ops());

/// Writes a file so that, whatever happens, `path` holds either its previous contents or all of
/// the new ones. Data goes to a temporary file "<path>.tmp-<pid>-<n>" in the same directory;
/// commit() fsyncs it, renames it over `path` and fsyncs the directory. Destroying the writer
/// without a successful commit() removes the temporary file. Not thread-safe.
///
/// A process killed while writing leaves its temporary file behind (never the target damaged).
///
/// **Example**:
///   AtomicFileWriter out("model.tlm");
///   out.write(header.data(), header.size());
///   out.write(body.data(), body.size());
///   out.commit();
class AtomicFileWriter {
 public:
  /// Creates the temporary file; throws Error(io_error) naming it if that fails.
  explicit AtomicFileWriter(std::string path, FileOps& ops = system_file_ops());
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  /// Appends bytes. On Error(io_error) the temporary file is removed and the writer is dead.
  void write(const void* data, std::size_t size);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  /// fsync, close, rename over the target, fsync the directory. Throws Error(io_error) naming the
  /// failed step; before the rename the target is untouched and the temporary file removed. A
  /// failure of the final directory fsync is reported too, though the new file is then in place.
  void commit();
  /// Removes the temporary file without touching the target (also done by the destructor).
  void abort() noexcept;

  const std::string& path() const noexcept { return path_; }
  const std::string& temp_path() const noexcept { return temp_path_; }
  /// True once the rename succeeded (the new contents are in place), even if the directory
  /// fsync after it failed.
  bool renamed() const noexcept { return renamed_; }
  std::uint64_t bytes_written() const noexcept { return offset_; }

 private:
  std::string path_;
  std::string temp_path_;
  FileOps& ops_;
  File file_;
  std::uint64_t offset_ = 0;
  bool done_ = false;
  bool renamed_ = false;
};

/// Atomically replaces `path` with `bytes` (see AtomicFileWriter).
void write_file_atomically(const std::string& path, std::string_view bytes,
                           FileOps& ops = system_file_ops());

/// Reads a whole file; throws Error(io_error) if it cannot, or if it is larger than `max_bytes`.
std::string read_file(const std::string& path, std::uint64_t max_bytes = ~std::uint64_t{0},
                      FileOps& ops = system_file_ops());

}  // namespace tailor
