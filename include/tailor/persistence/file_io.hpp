// tailor: FileOps, the system-call seam every file tailor writes or checks goes through (model
// files, the event log): open, pread, pwrite, fsync, ftruncate, rename, unlink, close, size.
// system_file_ops() calls the operating system. A host may pass its own FileOps (to count or
// throttle I/O, or to inject failures in its own tests) through EventLogOptions::file_ops.
//
// Files are replaced atomically (a temporary file in the same directory, fsync, rename, fsync of
// the directory), so a crash at any moment leaves the old or the new contents under a name.
//
// POSIX only (Linux, macOS, BSD).
//
// Thread-safety: system_file_ops() is thread-safe; an override must be too.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tailor/core/export.hpp"

namespace tailor {

/// The system calls behind every file tailor writes or checks. Each method behaves like the POSIX
/// call of the same name: it returns -1 and sets errno on failure.
class TAILOR_API FileOps {
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
TAILOR_API FileOps& system_file_ops() noexcept;

}  // namespace tailor
