// tailor: building a published snapshot over trained models and a catalog (see snapshot.hpp).
#include "serving/snapshot.hpp"

#include <algorithm>

namespace tailor {

namespace {

// The ranker model over `parts` and `catalog` (arrays may be shorter than the catalog).
RankerModel ranker_model(const ModelParts& parts, const Catalog& catalog, const RowMatrix* content,
                         const RowMatrix* cold) {
  // The ANN index is shared by every snapshot of these parts and gains items as the catalog
  // grows; a search drops items this snapshot's catalog does not have yet.
  const std::size_t n_items = catalog.size();
  RankerModel m;
  m.catalog = &catalog;
  m.item_factors = &parts.als.item_factors();
  m.cold_item_factors = cold;
  m.content = content;
  m.neighbors = &parts.neighbors;
  if (parts.ease.fitted()) m.ease = &parts.ease;
  m.interaction_counts = &parts.counts;
  m.popularity = &parts.popularity;
  m.trending = &parts.trending;
  // Each search takes the request's rules as its filter, so a request never has to widen past
  // what the index returns (AnnIndex picks a filtered graph walk or an exact scan of the allowed
  // items by the fraction the rules let through).
  auto search = [n_items](std::shared_ptr<AnnIndex> index) -> VectorSearch {
    return [index = std::move(index), n_items](Span<const float> q, std::size_t k,
                                               const ItemFilter& eligible) {
      if (eligible.catalog) {
        return index->search(q, k, AnnFilter::only(eligible.catalog).excluding(eligible.excluded));
      }
      if (eligible) return index->search(q, k, AnnFilter::where(eligible.allows));
      std::vector<ScoredItem> found = index->search(q, k);
      found.erase(std::remove_if(found.begin(), found.end(),
                                 [n_items](const ScoredItem& s) { return s.item >= n_items; }),
                  found.end());
      return found;
    };
  };
  m.factor_search = search(parts.ann);
  if (content != nullptr && parts.content_ann) m.content_search = search(parts.content_ann);
  return m;
}

}  // namespace


namespace {

// Appends content vectors (and their bridge images) for catalog items beyond the rows of `old`.
void extend_vectors(const ModelParts& parts, const Catalog& catalog,
                    std::shared_ptr<const RowMatrix>& content, std::shared_ptr<const RowMatrix>& cold) {
  if (!content || !parts.encoder.fitted()) return;
  const auto have = static_cast<std::size_t>(content->rows());
  if (catalog.size() <= have) return;
  const auto n = static_cast<Eigen::Index>(catalog.size());
  auto grown = std::make_shared<RowMatrix>(n, content->cols());
  grown->topRows(content->rows()) = *content;
  for (std::size_t i = have; i < catalog.size(); ++i) {
    grown->row(static_cast<Eigen::Index>(i)) =
        parts.encoder.encode(catalog.at(static_cast<Index>(i))).transpose();
  }
  if (cold && parts.bridge.fitted()) {
    auto grown_cold = std::make_shared<RowMatrix>(n, cold->cols());
    grown_cold->topRows(cold->rows()) = *cold;
    grown_cold->bottomRows(n - cold->rows()) =
        parts.bridge.map_all(RowMatrix(grown->bottomRows(n - cold->rows())));
    cold = std::move(grown_cold);
  }
  content = std::move(grown);
}

}  // namespace

std::shared_ptr<ModelSnapshot> make_snapshot(const RecommenderOptions& options,
                                                    std::shared_ptr<const ModelParts> parts,
                                                    std::shared_ptr<const Catalog> catalog,
                                                    std::shared_ptr<const RowMatrix> content,
                                                    std::shared_ptr<const RowMatrix> cold,
                                                    std::uint64_t trained_through) {
  auto snap = std::make_shared<ModelSnapshot>();
  snap->trained_through = trained_through;
  snap->catalog = std::move(catalog);
  if (parts) {
    extend_vectors(*parts, *snap->catalog, content, cold);
    snap->ranker = std::make_unique<HybridRanker>(
        ranker_model(*parts, *snap->catalog, content.get(), cold.get()),
        parts->ranker ? *parts->ranker : options.ranker);
    // New items (beyond the factor rows) join the ANN index with their CF vectors (bridge images
    // blended as the ranker does), searched exactly from its side buffer until the next retrain.
    const RowMatrix* cf = snap->ranker->cf_item_vectors();
    if (cf != nullptr) {
      for (Eigen::Index i = parts->als.items(); i < cf->rows(); ++i) {
        const auto item = static_cast<Index>(i);
        if (!parts->ann->contains(item) && cf->row(i).squaredNorm() > 0.0f) {
          const Vector v = cf->row(i).transpose();
          parts->ann->upsert(item, v);
        }
      }
    }
    // Content rows of items added since the index was built (it holds every row below its
    // id_bound): only those are visited, not the whole catalog on every catalog change.
    if (content && parts->content_ann) {
      for (auto i = static_cast<Eigen::Index>(parts->content_ann->id_bound()); i < content->rows();
           ++i) {
        const Vector v = content->row(i).transpose();
        parts->content_ann->upsert(static_cast<Index>(i), v);
      }
    }
  }
  snap->parts = std::move(parts);
  snap->content = std::move(content);
  snap->cold_factors = std::move(cold);
  return snap;
}

}  // namespace tailor
