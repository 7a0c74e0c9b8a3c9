// The README's quick-start code, compiled so it cannot rot. Reads any events CSV (plain or gzip);
// with no argument, the bundled Online Retail file:
//   example_quickstart examples/data/online-retail.csv.gz
#include <tailor/tailor.hpp>

#include <iostream>
#include <vector>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "examples/data/online-retail.csv.gz";
  try {
    // --8<-- [README quick start]
    tailor::EventReaderOptions in;           // map your columns by header name
    in.user_field = "CustomerID";
    in.item_field = "StockCode";
    in.timestamp_field = "InvoiceDate";
    in.session_field = "InvoiceNo";          // rows without a customer become session events
    in.type_field = "";                      // every row is a purchase
    in.default_type = tailor::EventType::purchase;
    in.policy = tailor::ErrorPolicy::lenient;  // skip bad rows, count them by reason

    tailor::Recommender rec;                   // thread-safe; create once, share everywhere
    std::vector<tailor::Event> history;
    tailor::ReadReport report = tailor::read_events_csv(
        path, in, [&](tailor::Event&& e) { history.push_back(std::move(e)); });  // gzip by content
    rec.ingest(history);                       // bulk load (unknown items join the catalog)
    tailor::RetrainReport trained = rec.retrain();  // ALS, neighbours, content, ANN; then swap
    std::cout << report.accepted << " events (" << report.rejected << " rejected), "
              << trained.users << " shoppers, " << trained.items << " items\n";

    tailor::Event view;                        // from your request threads, as shoppers act
    view.user = "17850.0";
    view.item = "22633";
    view.type = tailor::EventType::view;
    rec.ingest(view);                          // visible to the very next request

    tailor::RecommendRequest req;
    req.user = "17850.0";
    req.k = 5;
    req.rules.one_per_family = true;           // filters, boosts, pins, caps, diversity
    for (const auto& r : rec.recommend(req).items)
      std::cout << r.item << ' ' << r.score << "  " << r.reason << '\n';
    // --8<--
  } catch (const tailor::Error& e) {
    std::cerr << "quickstart: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
