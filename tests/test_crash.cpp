// Crash safety of model saves and of the event log: a child process killed with SIGKILL at
// random moments, and simulated I/O faults (disk full, failed write, fsync, rename, close).
//
// The number of kill trials per test is TAILOR_CRASH_TRIALS (default 200); tests/crash_loop.sh
// runs many more.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "model_fixtures.hpp"
#include "tailor/persistence/event_log.hpp"
#include "tailor/persistence/file_io.hpp"
#include "persistence/model_container.hpp"
#include "test_data.hpp"
#include "persistence/fault_injection.hpp"
#include "persistence/files.hpp"

using namespace tailor;
using tailor::test::make_small_model;
using tailor::test::read_small_model;
using tailor::test::same_model;

namespace {

int crash_trials() {
  if (const char* env = std::getenv("TAILOR_CRASH_TRIALS"); env != nullptr && *env != '\0')
    return std::max(1, std::atoi(env));
  return 200;
}

std::string fresh_dir(const std::string& name) {
  const std::string dir = tailor::test::scratch_dir() + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Files in `dir` other than `keep`.
std::vector<std::string> other_files(const std::string& dir, const std::string& keep) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename() != keep) out.push_back(e.path().filename().string());
  return out;
}

// Reads everything the pipe holds after the writer died; returns the complete u64 values.
std::vector<std::uint64_t> drain(int fd) {
  std::string bytes;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      bytes.append(buf, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  std::vector<std::uint64_t> values(bytes.size() / 8);
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), values.size() * 8);
  return values;
}

void report(std::uint64_t value, int fd) {
  const char* p = reinterpret_cast<const char*>(&value);
  std::size_t left = 8;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(3);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

tailor::test::SmallModel model_for(std::uint64_t generation) {
  return make_small_model(static_cast<int>(generation % 2), generation);
}

void save_model(const std::string& path, std::uint64_t generation, FileOps& ops = system_file_ops()) {
  ModelWriter w;
  tailor::test::write_small_model(w, model_for(generation));
  w.save(path, ops);
}

// Loads `path` completely and checks it is exactly the model of its generation.
std::uint64_t load_and_verify(const std::string& path) {
  ModelReader r = ModelReader::open(path);
  r.verify();
  const auto m = read_small_model(r);
  REQUIRE(same_model(m, model_for(m.generation)));
  return m.generation;
}

constexpr std::uint64_t kReady = ~std::uint64_t{0};

// Blocks for the next value the child reports.
std::uint64_t read_u64(int fd) {
  std::uint64_t value = 0;
  std::size_t got = 0;
  while (got < 8) {
    const ssize_t n = ::read(fd, reinterpret_cast<char*>(&value) + got, 8 - got);
    if (n < 0 && errno == EINTR) continue;
    REQUIRE(n > 0);
    got += static_cast<std::size_t>(n);
  }
  return value;
}

// Forks a child running child(pipe_write) until it is killed; returns once the child started.
template <class Child>
pid_t spawn(int pipe_write, int pipe_read, Child&& child) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(pipe_read);
    report(kReady, pipe_write);
    try {
      child(pipe_write);
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(0);
  }
  ::close(pipe_write);  // so a child that dies early gives end-of-file, not a hang
  // Wait until the child runs: forking a large (e.g. sanitized) process can take longer than the
  // kill delays, which must measure time spent in the child's loop.
  REQUIRE(read_u64(pipe_read) == kReady);
  return pid;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Killed, or (rarely, before the signal arrived) exited: a child error exit is a failure.
  if (WIFEXITED(status)) REQUIRE(WEXITSTATUS(status) == 0);
}

// Microseconds from a child's start to its first report (its first save or append), the
// longest of three forked children on this machine: the first step of a fresh child is what
// the kills must straddle, and it runs slower than later ones (page faults after fork, the
// previous child's unsynced data in the file system journal). At least 20.
template <class Child>
long first_step_us(Child&& child) {
  long longest = 20;
  for (int run = 0; run < 3; ++run) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = spawn(fds[1], fds[0], child);
    const auto t0 = std::chrono::steady_clock::now();
    read_u64(fds[0]);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
    kill_and_reap(pid);
    ::close(fds[0]);
    longest = std::max(longest, static_cast<long>(us));
  }
  return longest;
}

}  // namespace

TEST_CASE("SIGKILL while saving models: the file always holds the old or the new model",
          "[crash][model_file]") {
  const std::string dir = fresh_dir("crash-model");
  const std::string path = dir + "/model.tlm";
  save_model(path, 0);
  auto saver = [&path](std::uint64_t start) {
    return [&path, start](int out) {
      for (std::uint64_t g = start + 1;; ++g) {
        save_model(path, g);
        report(g, out);
      }
    };
  };
  // Calibrate the kill delays: how long the first save of a child takes on this machine.
  const long save_us = first_step_us(saver(0));
  std::uint64_t current = load_and_verify(path);
  REQUIRE(current >= 1);

  std::mt19937_64 rng(31337);
  // Kills land anywhere in the first save (before, during and after its rename) or soon after.
  std::uniform_int_distribution<long> delay_us(0, 3 * save_us / 2);
  const int trials = crash_trials();
  int saw_new = 0;
  int saw_old = 0;
  std::size_t leftovers = 0;
  for (int trial = 0; trial < trials; ++trial) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const std::uint64_t start = current;
    const pid_t pid = spawn(fds[1], fds[0], saver(start));
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    kill_and_reap(pid);
    const std::vector<std::uint64_t> done = drain(fds[0]);
    ::close(fds[0]);
    const std::uint64_t last_done = done.empty() ? start : done.back();
    INFO("trial " << trial << ": child finished saves up to generation " << last_done);
    const std::uint64_t found = load_and_verify(path);
    // The last completed save, or the one in flight if its rename happened before the kill.
    REQUIRE((found == last_done || found == last_done + 1));
    (found == last_done ? saw_old : saw_new) += 1;
    // Only temporary files of the killed child may be left next to the model.
    for (const std::string& f : other_files(dir, "model.tlm")) {
      REQUIRE(f.rfind("model.tlm.tmp-", 0) == 0);
      std::filesystem::remove(dir + "/" + f);
      ++leftovers;
    }
    current = found;
  }
  std::cout << "crash-model: " << trials << " kills, first save in a child ~" << save_us << " us, " << current
            << " generations, in-flight save landed " << saw_new << "x, "
            << leftovers << " temp files left by killed saves\n";
}

TEST_CASE("SIGKILL while appending with fsync per record: no acknowledged event is lost",
          "[crash][event_log]") {
  const std::string dir = fresh_dir("crash-log");
  const std::string path = dir + "/events.log";
  auto event_for = [](std::uint64_t seq) {
    Event e;
    e.user = "user-" + std::to_string(seq % 13);
    e.item = "item-" + std::to_string(seq * 7);
    e.type = static_cast<EventType>(seq % 4);
    e.timestamp = static_cast<Timestamp>(seq);
    if (seq % 2 == 0) e.value = static_cast<double>(seq) / 4.0;
    return e;
  };
  auto appender = [&](int out) {
    EventLog log(path);  // SyncPolicy::every_record
    for (;;) {
      const std::uint64_t seq = log.last_sequence() + 1;
      if (log.append(event_for(seq)) != seq) ::_exit(4);
      report(seq, out);
    }
  };
  // Calibrate the kill delays: opening the log and the first append, timed in a child.
  const long append_us = first_step_us(appender);
  std::uint64_t appended = EventLog(path).last_sequence();
  std::mt19937_64 rng(4242);
  std::uniform_int_distribution<long> delay_us(0, 3 * append_us);
  const int trials = crash_trials();
  std::uint64_t torn = 0;
  for (int trial = 0; trial < trials; ++trial) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = spawn(fds[1], fds[0], appender);
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    kill_and_reap(pid);
    const std::vector<std::uint64_t> acked = drain(fds[0]);
    ::close(fds[0]);
    INFO("trial " << trial << ": " << acked.size() << " appends acknowledged");
    EventLog log(path);
    if (log.recovery().tail != LogTail::clean) {
      REQUIRE(log.recovery().tail == LogTail::torn);  // never corruption in the middle
      ++torn;
    }
    const auto recs = log.records();
    // Contiguous sequence numbers with the right contents ...
    for (std::size_t i = 0; i < recs.size(); ++i) {
      REQUIRE(recs[i].sequence == i + 1);
      REQUIRE(recs[i].event == event_for(i + 1));
    }
    // ... and every acknowledged append among them.
    const std::uint64_t acked_last = acked.empty() ? appended : acked.back();
    REQUIRE(recs.size() >= acked_last);
    REQUIRE(recs.size() <= acked_last + 1);  // at most the one in flight
    appended = recs.size();
  }
  std::cout << "crash-log: " << trials << " kills, open + first append in a child ~" << append_us << " us, " << appended
            << " records, " << torn << " torn tails repaired\n";
}

TEST_CASE("Simulated I/O faults while saving: typed error, old model intact, no temp file",
          "[crash][model_file][faults]") {
  const std::string dir = fresh_dir("faults");
  const std::string path = dir + "/model.tlm";
  save_model(path, 1);
  struct Case {
    const char* name;
    InjectedFault fault;
    const char* op_in_message;
  };
  InjectedFault disk_full_midway(FileOpKind::pwrite, ENOSPC, 0, InjectedFault::kForever);
  disk_full_midway.partial_bytes = 700;
  const std::vector<Case> cases = {
      {"disk full on the first write", {FileOpKind::pwrite, ENOSPC}, "No space left"},
      {"disk full in the middle", disk_full_midway, "No space left"},
      {"write I/O error", {FileOpKind::pwrite, EIO}, "pwrite"},
      {"fsync fails", {FileOpKind::fsync, EIO}, "fsync"},
      {"close fails", {FileOpKind::close, EIO}, "close"},
      {"rename fails", {FileOpKind::rename, EXDEV}, "rename"},
      {"temporary file cannot be created", {FileOpKind::open, EACCES}, "open"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      FaultInjectingFileOps ops;
      ops.inject(c.fault);
      try {
        save_model(path, 2, ops);
        FAIL("the save succeeded");
      } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::io_error);
        CHECK(std::string(e.what()).find(path) != std::string::npos);
        CHECK(std::string(e.what()).find(c.op_in_message) != std::string::npos);
      }
      CHECK(ops.fired() >= 1);
      CHECK(load_and_verify(path) == 1);  // the previous model keeps serving
      CHECK(other_files(dir, "model.tlm").empty());
      // And the next save, without the fault, works.
      save_model(path, 3);
      CHECK(load_and_verify(path) == 3);
      save_model(path, 1);
    }
  }
  SECTION("the directory fsync fails after the rename") {
    FaultInjectingFileOps ops;
    ops.inject({FileOpKind::fsync, EIO, 1});  // the file's fsync passes, the directory's fails
    try {
      save_model(path, 5, ops);
      FAIL("the save succeeded");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::io_error);
      CHECK(std::string(e.what()).find("directory") != std::string::npos);
    }
    CHECK(load_and_verify(path) == 5);  // already renamed: the new model is in place
    CHECK(other_files(dir, "model.tlm").empty());
  }
}

TEST_CASE("A temporary file left by a killed process with the same PID does not block saving",
          "[crash][model_file][regression]") {
  // In a container every process may be PID 1, so a save killed earlier leaves
  // "<path>.tmp-<pid>-<n>" behind under the very name a new process would pick. Before: the save
  // failed with io_error "File exists".
  const std::string dir = fresh_dir("stale-temp");
  const std::string path = dir + "/model.tlm";
  for (int n = 0; n < 1000; ++n) {
    std::ofstream(path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(n)) << "x";
  }
  save_model(path, 1);
  CHECK(load_and_verify(path) == 1);
  save_model(path, 2);
  CHECK(load_and_verify(path) == 2);
}
