#include "tailor/persistence/file_io.hpp"
#include "persistence/files.hpp"
#include "internal/random.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <sstream>
#include <random>
#include <chrono>
#include <cstring>
#include <utility>

#include "tailor/core/error.hpp"

namespace tailor {

// ---------------------------------------------------------------------------------------------
// FileOps

int FileOps::open(const char* path, int flags, int mode) {
  return ::open(path, flags | O_CLOEXEC, static_cast<mode_t>(mode));
}
int FileOps::close(int fd) { return ::close(fd); }
std::int64_t FileOps::pread(int fd, void* buffer, std::size_t size, std::uint64_t offset) {
  return ::pread(fd, buffer, size, static_cast<off_t>(offset));
}
std::int64_t FileOps::pwrite(int fd, const void* data, std::size_t size, std::uint64_t offset) {
  return ::pwrite(fd, data, size, static_cast<off_t>(offset));
}
int FileOps::fsync(int fd) { return ::fsync(fd); }
int FileOps::ftruncate(int fd, std::uint64_t size) {
  return ::ftruncate(fd, static_cast<off_t>(size));
}
int FileOps::rename(const char* from, const char* to) { return ::rename(from, to); }
int FileOps::unlink(const char* path) { return ::unlink(path); }
std::int64_t FileOps::file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return -1;
  return static_cast<std::int64_t>(st.st_size);
}

FileOps& system_file_ops() noexcept {
  static FileOps ops;
  return ops;
}

// ---------------------------------------------------------------------------------------------
// Errors and File

void throw_io_error(const std::string& path, std::string_view operation, int error) {
  TAILOR_THROW(io_error, path << ": " << operation << ": " << std::strerror(error));
}

File::File(std::string path, int flags, int mode, FileOps& ops)
    : path_(std::move(path)), ops_(&ops) {
  int fd;
  do {
    fd = ops_->open(path_.c_str(), flags, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_io_error(path_, "open", errno);
  fd_ = fd;
}

File::File(File&& other) noexcept
    : path_(std::move(other.path_)), ops_(other.ops_), fd_(std::exchange(other.fd_, -1)) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ops_->close(fd_);
    path_ = std::move(other.path_);
    ops_ = other.ops_;
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) ops_->close(fd_);
}

void File::read_exact(std::uint64_t offset, void* buffer, std::size_t size) const {
  auto* p = static_cast<char*>(buffer);
  while (size > 0) {
    const std::int64_t n = ops_->pread(fd_, p, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io_error(path_, "pread", errno);
    }
    if (n == 0)
      TAILOR_THROW(io_error, path_ << ": pread: file ended at offset " << offset << " with "
                                   << size << " more bytes expected (was it changed meanwhile?)");
    p += n;
    offset += static_cast<std::uint64_t>(n);
    size -= static_cast<std::size_t>(n);
  }
}

void File::write_all(std::uint64_t offset, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const std::int64_t n = ops_->pwrite(fd_, p, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io_error(path_, "pwrite", errno);
    }
    if (n == 0) throw_io_error(path_, "pwrite", EIO);  // no progress: never loop forever
    p += n;
    offset += static_cast<std::uint64_t>(n);
    size -= static_cast<std::size_t>(n);
  }
}

void File::sync() {
  if (ops_->fsync(fd_) != 0) throw_io_error(path_, "fsync", errno);
}

void File::truncate(std::uint64_t size) {
  int rc;
  do {
    rc = ops_->ftruncate(fd_, size);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) throw_io_error(path_, "ftruncate", errno);
}

std::uint64_t File::size() const {
  const std::int64_t n = ops_->file_size(fd_);
  if (n < 0) throw_io_error(path_, "fstat", errno);
  return static_cast<std::uint64_t>(n);
}

void File::close() {
  if (fd_ < 0) return;
  const int fd = std::exchange(fd_, -1);
  // close(2) must not be retried on EINTR (the descriptor is released either way on Linux).
  if (ops_->close(fd) != 0) throw_io_error(path_, "close", errno);
}

// ---------------------------------------------------------------------------------------------
// Directories and atomic replacement

std::string parent_directory(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void sync_directory(const std::string& dir, FileOps& ops) {
  File d(dir, O_RDONLY | O_DIRECTORY, 0, ops);
  d.sync();
  d.close();
}

namespace {
// "<path>.tmp-<pid>-<n>-<random>": the random part keeps a name left behind by a killed process
// with the same PID (PID 1 in every container) from colliding with this one.
std::string make_temp_path(const std::string& path) {
  if (path.empty() || path.back() == '/')
    TAILOR_THROW(invalid_argument, "AtomicFileWriter: not a file path: '" << path << "'");
  static std::atomic<std::uint64_t> counter{0};
  static const std::uint64_t process_salt = [] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device() ^
           static_cast<std::uint64_t>(
               std::chrono::steady_clock::now().time_since_epoch().count());
  }();
  const std::uint64_t n = counter++;
  std::ostringstream os;
  os << path << ".tmp-" << ::getpid() << '-' << n << '-' << std::hex
     << detail::mix64(process_salt + n);
  return os.str();
}

// Creates a new temporary file beside `path` (O_EXCL), trying other names if one exists.
File create_temp(const std::string& path, FileOps& ops, std::string& temp_path) {
  for (int attempt = 0;; ++attempt) {
    temp_path = make_temp_path(path);
    try {
      return File(temp_path, O_WRONLY | O_CREAT | O_EXCL, 0644, ops);
    } catch (const Error&) {
      if (attempt >= 8 || ::access(temp_path.c_str(), F_OK) != 0) throw;  // not a name clash
    }
  }
}
}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path, FileOps& ops)
    : path_(std::move(path)), ops_(ops), file_(create_temp(path_, ops, temp_path_)) {}

AtomicFileWriter::~AtomicFileWriter() { abort(); }

void AtomicFileWriter::abort() noexcept {
  if (done_) return;
  done_ = true;
  if (file_.is_open()) {
    try {
      file_.close();
    } catch (...) {  // nothing to report: the file is being thrown away
    }
  }
  ops_.unlink(temp_path_.c_str());
}

void AtomicFileWriter::write(const void* data, std::size_t size) {
  if (done_) TAILOR_THROW(invalid_argument, path_ << ": AtomicFileWriter used after commit or failure");
  try {
    file_.write_all(offset_, data, size);
    offset_ += size;
  } catch (...) {
    abort();
    throw;
  }
}

void AtomicFileWriter::commit() {
  if (done_) TAILOR_THROW(invalid_argument, path_ << ": AtomicFileWriter used after commit or failure");
  try {
    file_.sync();
    file_.close();
    if (ops_.rename(temp_path_.c_str(), path_.c_str()) != 0) {
      const int e = errno;
      TAILOR_THROW(io_error, path_ << ": rename from '" << temp_path_ << "': " << std::strerror(e));
    }
  } catch (...) {
    abort();
    throw;
  }
  done_ = true;  // the temporary name is gone; nothing to clean up any more
  renamed_ = true;
  const std::string dir = parent_directory(path_);
  try {
    sync_directory(dir, ops_);
  } catch (const Error& e) {
    TAILOR_THROW(io_error, path_ << ": replaced, but syncing its directory failed, so the change "
                                    "may not survive a power loss: "
                                 << e.what());
  }
}

void write_file_atomically(const std::string& path, std::string_view bytes, FileOps& ops) {
  AtomicFileWriter out(path, ops);
  out.write(bytes);
  out.commit();
}

std::string read_file(const std::string& path, std::uint64_t max_bytes, FileOps& ops) {
  File f(path, O_RDONLY, 0, ops);
  const std::uint64_t size = f.size();
  if (size > max_bytes)
    TAILOR_THROW(io_error, path << ": file has " << size << " bytes, more than the limit of "
                                << max_bytes);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  f.read_exact(0, bytes.data(), bytes.size());
  return bytes;
}

}  // namespace tailor
