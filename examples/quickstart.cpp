// The README's quick-start code, compiled so it cannot rot. Reads any events CSV (plain or gzip);
// with no argument, the bundled Online Retail file:
//   example_quickstart examples/data/online-retail.csv.gz
#include <tailor/tailor.hpp>

#include <iostream>

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

    tailor::InteractionMatrixBuilder builder;  // default event weights, confidence 1 + w
    tailor::ReadReport report = tailor::read_events_csv(
        path, in, [&](tailor::Event&& e) { builder.add(e); });  // streams; gzip by content
    tailor::InteractionMatrix m = builder.build();
    std::cout << report.accepted << " events, " << report.rejected << " rejected\n"
              << m.statistics().summary() << '\n';

    tailor::ALSFactorizer als;                 // implicit ALS, conjugate gradient, 64 factors
    als.fit(m.confidence());
    const tailor::Index u = m.users().at("17850.0");
    for (const auto& r : als.recommend(als.user_factors().row(u).transpose(), 5,
                                       tailor::row_items(m.confidence(), u)))
      std::cout << m.items().id(r.item) << ' ' << r.score << '\n';
    // --8<--
  } catch (const tailor::Error& e) {
    std::cerr << "quickstart: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
