// Throughput of the CSV readers on Online Retail rows (8 columns): (a) raw tokenizing with
// CsvReader, (b) full event parsing with read_events_csv (timestamps, numbers, Event objects),
// (c) the same from the bundled gzip file when present. Median of 5 runs, plus peak RSS, which
// must stay small whatever the file size.
//
// Input: the 305 by-day files concatenated into one temporary file (header kept once), or, when
// the data set is missing, a synthetic file of 1M rows of the same shape.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "bench_util.hpp"
#include "tailor/io/csv.hpp"
#include "tailor/io/readers.hpp"

namespace fs = std::filesystem;
using tailor::bench::Clock;

namespace {

std::string build_input(const fs::path& dir, std::string& source) {
  const fs::path out_path = dir / "online-retail-concatenated.csv";
  std::ofstream out(out_path, std::ios::binary);
  const fs::path by_day = tailor::bench::data_path("online-retail/by-day");
  std::vector<fs::path> files;
  if (fs::is_directory(by_day)) {
    for (const auto& entry : fs::directory_iterator(by_day)) {
      if (entry.path().extension() == ".csv") files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  if (!files.empty()) {
    source = "online-retail/by-day (" + std::to_string(files.size()) + " files)";
    bool first = true;
    for (const auto& file : files) {
      std::ifstream in(file, std::ios::binary);
      std::string line;
      bool header = true;
      while (std::getline(in, line)) {
        if (header && !first) {
          header = false;
          continue;
        }
        header = false;
        out << line << '\n';
      }
      first = false;
    }
    return out_path.string();
  }
  source = "synthetic (1M rows)";
  std::mt19937 rng(1);
  out << "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
  for (int i = 0; i < 1000000; ++i) {
    const unsigned day = 1 + rng() % 28, hour = 8 + rng() % 10, minute = rng() % 60;
    out << 536365 + i / 20 << ',' << 20000 + rng() % 4000 << ",\"SET OF " << rng() % 12
        << " VINTAGE, TEA CUPS\"," << static_cast<int>(rng() % 48) - 2 << ",2011-03-"
        << (day < 10 ? "0" : "") << day << ' ' << (hour < 10 ? "0" : "") << hour << ':'
        << (minute < 10 ? "0" : "") << minute << ":00," << (rng() % 1000) / 100.0 << ','
        << (rng() % 5 == 0 ? std::string() : std::to_string(12346 + rng() % 4000) + ".0")
        << ",United Kingdom\n";
  }
  return out_path.string();
}

tailor::EventReaderOptions retail_options() {
  tailor::EventReaderOptions opt;
  opt.user_field = "CustomerID";
  opt.session_field = "InvoiceNo";
  opt.item_field = "StockCode";
  opt.timestamp_field = "InvoiceDate";
  opt.value_field = "Quantity";
  opt.type_field = "";
  opt.default_type = tailor::EventType::purchase;
  opt.policy = tailor::ErrorPolicy::lenient;
  return opt;
}

template <typename Run>
void measure(const std::string& name, const std::string& path, const std::string& source, Run run) {
  std::vector<double> seconds;
  std::uint64_t rows = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto start = Clock::now();
    rows = run(path);
    seconds.push_back(tailor::bench::seconds_since(start));
  }
  const double med = tailor::bench::median(seconds);
  const double bytes = static_cast<double>(fs::file_size(path));
  tailor::bench::emit({{"bench", name},
                       {"input", source},
                       {"rows", rows},
                       {"file_mib", bytes / 1048576.0},
                       {"median_s", med},
                       {"rows_per_s", static_cast<double>(rows) / med},
                       {"mib_per_s", bytes / 1048576.0 / med},
                       {"runs", 5},
                       {"peak_rss_mib", tailor::bench::peak_rss_mib()}});
}

std::uint64_t tokenize(const std::string& path) {
  auto in = tailor::open_input(path);
  tailor::CsvReader csv(*in, path);
  std::uint64_t rows = 0, bytes = 0;
  while (csv.next_row()) {
    ++rows;
    for (std::size_t i = 0; i < csv.size(); ++i) bytes += csv.field(i).size();
  }
  if (bytes == 0) std::printf("# no bytes\n");
  return rows - 1;  // header
}

std::uint64_t parse_events(const std::string& path) {
  std::uint64_t sum = 0;
  const auto report = tailor::read_events_csv(path, retail_options(), [&](tailor::Event&& e) {
    sum += static_cast<std::uint64_t>(e.timestamp) + e.item.size();
  });
  if (sum == 0) std::printf("# empty\n");
  return report.records;
}

}  // namespace

int main() {
  const fs::path dir = fs::temp_directory_path() / ("tailor_bench_csv_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string source;
  const std::string path = build_input(dir, source);
  tailor::bench::emit({{"bench", "csv_setup"}, {"input", source}, {"peak_rss_mib", tailor::bench::peak_rss_mib()}});
  measure("csv_tokenize", path, source, tokenize);
  measure("csv_events", path, source, parse_events);
  const std::string bundled = TAILOR_BENCH_BUNDLED_RETAIL;
  if (fs::exists(bundled)) measure("csv_events_gzip", bundled, "bundled online-retail.csv.gz", parse_events);
  fs::remove_all(dir);
  return 0;
}
