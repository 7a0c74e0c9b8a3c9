// A side channel for the figures that quality tests measure: when the environment variable
// TAILOR_RESULTS names a file, record_result appends one JSON line to it, e.g.
//   {"bench":"hybrid_new_items","dataset":"online-retail","recall20_hybrid":0.22,...}
// benchmarks/report.py turns those lines into docs/quality.md. Without the variable nothing is
// written. The tests stay assertions: recording never changes what they check.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

namespace tailor::test {

/// Appends {"bench": name, ...fields} as one line to $TAILOR_RESULTS (no-op when it is unset or
/// empty). `fields` must be a JSON object. The line goes out in one append-mode write, so test
/// processes that ctest runs in parallel may share the file. Failures to write are ignored.
inline void record_result(const std::string& name, const nlohmann::json& fields) {
  const char* path = std::getenv("TAILOR_RESULTS");
  if (path == nullptr || *path == '\0') return;
  nlohmann::json line = {{"bench", name}};
  line.update(fields);
  const std::string text = line.dump() + "\n";
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const ssize_t written = ::write(fd, text.data(), text.size());
  static_cast<void>(written);
  ::close(fd);
}

}  // namespace tailor::test
