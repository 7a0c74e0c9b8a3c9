#include "persistence/fault_injection.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <utility>

#include "tailor/core/error.hpp"

namespace tailor {

const char* file_op_name(FileOpKind op) noexcept {
  switch (op) {
    case FileOpKind::open: return "open";
    case FileOpKind::close: return "close";
    case FileOpKind::pread: return "pread";
    case FileOpKind::pwrite: return "pwrite";
    case FileOpKind::fsync: return "fsync";
    case FileOpKind::ftruncate: return "ftruncate";
    case FileOpKind::rename: return "rename";
    case FileOpKind::unlink: return "unlink";
    case FileOpKind::file_size: return "file_size";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// FaultInjectingFileOps

void FaultInjectingFileOps::inject(InjectedFault fault) {
  std::lock_guard<std::mutex> lock(mutex_);
  faults_.push_back(Armed{std::move(fault)});
}

void FaultInjectingFileOps::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  faults_.clear();
}

std::uint64_t FaultInjectingFileOps::calls(FileOpKind op) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return calls_[static_cast<std::size_t>(op)];
}

std::uint64_t FaultInjectingFileOps::fired() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fired_;
}

int FaultInjectingFileOps::check(FileOpKind op, const char* path, std::size_t* partial) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++calls_[static_cast<std::size_t>(op)];
  for (Armed& armed : faults_) {
    const InjectedFault& f = armed.fault;
    if (f.op != op) continue;
    if (!f.path_contains.empty() &&
        (path == nullptr || std::strstr(path, f.path_contains.c_str()) == nullptr))
      continue;
    const std::uint64_t index = armed.seen++;
    if (index < f.after || armed.failed >= f.times) continue;
    if (op == FileOpKind::pwrite && f.partial_bytes > 0 && !armed.partial_done &&
        partial != nullptr) {
      armed.partial_done = true;
      *partial = f.partial_bytes;
      ++fired_;
      return 0;
    }
    ++armed.failed;
    ++fired_;
    return f.error;
  }
  return 0;
}

int FaultInjectingFileOps::open(const char* path, int flags, int mode) {
  if (int e = check(FileOpKind::open, path)) {
    errno = e;
    return -1;
  }
  return base_.open(path, flags, mode);
}

int FaultInjectingFileOps::close(int fd) {
  if (int e = check(FileOpKind::close, nullptr)) {
    base_.close(fd);  // the descriptor is released either way, as with close(2)
    errno = e;
    return -1;
  }
  return base_.close(fd);
}

std::int64_t FaultInjectingFileOps::pread(int fd, void* buffer, std::size_t size,
                                          std::uint64_t offset) {
  if (int e = check(FileOpKind::pread, nullptr)) {
    errno = e;
    return -1;
  }
  return base_.pread(fd, buffer, size, offset);
}

std::int64_t FaultInjectingFileOps::pwrite(int fd, const void* data, std::size_t size,
                                           std::uint64_t offset) {
  std::size_t partial = 0;
  if (int e = check(FileOpKind::pwrite, nullptr, &partial)) {
    errno = e;
    return -1;
  }
  if (partial > 0 && partial < size) return base_.pwrite(fd, data, partial, offset);
  return base_.pwrite(fd, data, size, offset);
}

int FaultInjectingFileOps::fsync(int fd) {
  if (int e = check(FileOpKind::fsync, nullptr)) {
    errno = e;
    return -1;
  }
  return base_.fsync(fd);
}

int FaultInjectingFileOps::ftruncate(int fd, std::uint64_t size) {
  if (int e = check(FileOpKind::ftruncate, nullptr)) {
    errno = e;
    return -1;
  }
  return base_.ftruncate(fd, size);
}

int FaultInjectingFileOps::rename(const char* from, const char* to) {
  if (int e = check(FileOpKind::rename, to)) {
    errno = e;
    return -1;
  }
  return base_.rename(from, to);
}

int FaultInjectingFileOps::unlink(const char* path) {
  if (int e = check(FileOpKind::unlink, path)) {
    errno = e;
    return -1;
  }
  return base_.unlink(path);
}

std::int64_t FaultInjectingFileOps::file_size(int fd) {
  if (int e = check(FileOpKind::file_size, nullptr)) {
    errno = e;
    return -1;
  }
  return base_.file_size(fd);
}

}  // namespace tailor
