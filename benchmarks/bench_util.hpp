// Small harness shared by the benchmarks: wall-clock timing, medians and percentiles, peak memory,
// and one JSON object per result line on stdout so runs can be compared by script.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tailor::bench {

using Clock = std::chrono::steady_clock;

/// Seconds elapsed since `start`.
inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// The q-quantile (0..1) of `values` by nearest rank; 0 for an empty input.
inline double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(rank, values.size() - 1)];
}

inline double median(std::vector<double> values) { return quantile(std::move(values), 0.5); }

/// Peak resident set size of this process in MiB (VmHWM from /proc/self/status; 0 if unknown).
inline double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmHWM:") {
      double kib = 0;
      status >> kib;
      return kib / 1024.0;
    }
    status.ignore(1 << 12, '\n');
  }
  return 0.0;
}

/// Path of a public data set file: $TAILOR_DATA_DIR/relative, else the configure-time folder.
inline std::string data_path(const std::string& relative) {
  const char* env = std::getenv("TAILOR_DATA_DIR");
  return std::string(env != nullptr && *env != '\0' ? env : TAILOR_BENCH_DATA_DIR) + "/" + relative;
}

/// Prints one result as a JSON line, e.g. {"bench":"csv_parse","rows_per_s":1.2e6,...}.
inline void emit(const nlohmann::json& result) {
  std::printf("%s\n", result.dump().c_str());
  std::fflush(stdout);
}

}  // namespace tailor::bench
