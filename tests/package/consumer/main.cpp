// A downstream program, built against tailor every way a project consumes it (find_package after
// install, add_subdirectory with a shared libtailor, Conan's test_package, vcpkg): the umbrella
// header, then a small Recommender trained, asked for recommendations, saved and loaded, as a host
// backend would, and tailor's exceptions caught by their types (across the library boundary when
// libtailor is shared).
#include <tailor/tailor.hpp>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

int main() {
  if (std::strcmp(tailor::library_version(), tailor::version_string()) != 0) {
    std::cerr << "header/library version mismatch\n";
    return 1;
  }
  // 30 shoppers in three groups, each buying within its group of 8 products.
  std::vector<tailor::Event> events;
  for (int u = 0; u < 30; ++u) {
    for (int j = 0; j < 4; ++j) {
      tailor::Event e;
      e.user = "shopper" + std::to_string(u);
      e.item = "sku" + std::to_string((u % 3) * 8 + (u + j * 3) % 8);
      e.type = tailor::EventType::purchase;
      e.timestamp = 1700000000000LL + (u * 4 + j) * 60000LL;
      events.push_back(e);
    }
  }
  tailor::RecommenderOptions options;
  options.als.factors = 4;
  options.als.iterations = 3;
  options.blend.validation_days = 0;
  tailor::Recommender rec(options);
  rec.ingest(events);
  rec.retrain();
  tailor::RecommendRequest request;
  request.user = "shopper0";
  request.k = 3;
  const tailor::RecommendResponse response = rec.recommend(request);
  if (response.items.size() != 3) {
    std::cerr << "expected 3 recommendations, got " << response.items.size() << "\n";
    return 1;
  }

  // A model file round trip: a fresh Recommender serves the same list from the saved file.
  const std::string model = (std::filesystem::temp_directory_path() /
                             ("tailor_consumer_" + std::to_string(std::random_device{}()) + ".tlm"))
                                .string();
  rec.save(model);
  tailor::Recommender loaded(options);
  loaded.load(model);
  std::filesystem::remove(model);
  const tailor::RecommendResponse reloaded = loaded.recommend(request);
  for (std::size_t i = 0; i < response.items.size(); ++i) {
    if (i >= reloaded.items.size() || reloaded.items[i].item != response.items[i].item) {
      std::cerr << "the loaded model answers differently\n";
      return 1;
    }
  }

  // Errors keep their types: a bad row is a tailor::ParseError, a missing file a tailor::Error.
  try {
    std::istringstream bad("user_id,item_id,event_type,timestamp\nshopper0,sku1,view,12a\n");
    tailor::read_events_csv(bad, "bad.csv", tailor::EventReaderOptions{}, [](tailor::Event&&) {});
    std::cerr << "a bad timestamp was accepted\n";
    return 1;
  } catch (const tailor::ParseError& e) {
    if (e.code() != tailor::ErrorCode::parse_error || e.rejection().line != 2) {
      std::cerr << "unexpected ParseError: " << e.what() << "\n";
      return 1;
    }
  }
  try {
    tailor::Recommender fresh(options);
    fresh.load(model);  // removed above
    std::cerr << "loading a missing file succeeded\n";
    return 1;
  } catch (const tailor::Error& e) {
    if (e.code() != tailor::ErrorCode::io_error) {
      std::cerr << "unexpected Error: " << e.what() << "\n";
      return 1;
    }
  }

  std::cout << "tailor " << tailor::library_version() << " linked; shopper0 gets";
  for (const auto& r : response.items) std::cout << " " << r.item;
  std::cout << "; saved, loaded and errors caught by type\n";
  return 0;
}
