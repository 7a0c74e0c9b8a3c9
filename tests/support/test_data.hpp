// Where tests find data: the bundled Online Retail file and the shared public data sets.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace tailor::test {

/// The folder with the public data sets: $TAILOR_DATA_DIR, else the one found at configure time.
inline std::string data_dir() {
  if (const char* env = std::getenv("TAILOR_DATA_DIR"); env != nullptr && *env != '\0') return env;
  return TAILOR_TEST_DATA_DIR;
}

/// data_dir() + "/" + relative
inline std::string data_path(const std::string& relative) { return data_dir() + "/" + relative; }

/// The Online Retail file bundled with the repository (gzip-compressed CSV, all 541,909 rows).
inline std::string bundled_retail() { return TAILOR_TEST_BUNDLED_RETAIL; }

/// A scratch folder for files a test writes, private to this process: ctest runs test cases of
/// one executable in parallel processes, which must not overwrite each other's files.
inline std::string scratch_dir() {
  static const std::string dir = [] {
    const std::string path = std::string(TAILOR_TEST_SCRATCH_DIR) + "/" + std::to_string(::getpid());
    std::filesystem::create_directories(path);
    return path;
  }();
  return dir;
}

}  // namespace tailor::test
