// Where tests find data: the bundled Online Retail file and the shared public data sets.
#pragma once

#include <cstdlib>
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

/// A scratch folder for files a test writes.
inline std::string scratch_dir() { return TAILOR_TEST_SCRATCH_DIR; }

}  // namespace tailor::test
