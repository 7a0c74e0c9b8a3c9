// A downstream program, built against tailor every way a project consumes it (find_package after
// install, add_subdirectory, Conan's test_package, vcpkg): the umbrella header, then a small
// Recommender trained and asked for recommendations, as a host backend would.
#include <tailor/tailor.hpp>

#include <cstring>
#include <iostream>
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
  std::cout << "tailor " << tailor::library_version() << " linked; shopper0 gets";
  for (const auto& r : response.items) std::cout << " " << r.item;
  std::cout << "\n";
  return 0;
}
