// tailor (private): durable file writes over FileOps.
//
// - File: an open file descriptor whose operations throw Error(io_error) naming the path, the
//   operation and the system's reason ("model.tlm.tmp-41-0: pwrite: No space left on device").
// - AtomicFileWriter / write_file_atomically(): replace a file so that a crash at any moment
//   leaves either the old or the new contents under its name: write a temporary file in the same
//   directory, fsync it, rename it over the target, fsync the directory. On any failure before
//   the rename the temporary file is removed and the target is untouched.
//
// Thread-safety: File and AtomicFileWriter are not thread-safe. The free functions are
// thread-safe when called on different paths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tailor/persistence/file_io.hpp"

namespace tailor {

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
/// the new ones. Data goes to a new temporary file "<path>.tmp-<pid>-<n>-<random>" in the same directory;
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
