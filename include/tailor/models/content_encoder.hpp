// tailor: content vectors for catalog items, content similarity and user content profiles.
//
// ContentEncoder turns a CatalogItem into a dense float vector made of field blocks, in this
// order (a block whose weight is 0 is left out; the attribute block exists only when
// attribute_keys is non-empty):
//
//   text        title and description as hashed, idf-weighted terms (n-grams of text.hpp),
//               projected to `text_dimension` values by a truncated SVD fitted on the catalog
//               (TextProjection::svd, the default) or a seeded random projection
//   category    every prefix of category_path, each with its own seeded +-1 code, summed
//   brand       the brand, coded the same way
//   attributes  each '|'-separated value of the attributes named in attribute_keys
//   price       overlapping buckets in log(price) between the catalog's 2nd and 98th percentiles
//
// Labels are compared after normalize_label(). Each non-empty block is L2-normalised and
// multiplied by sqrt(field weight), and the whole vector is L2-normalised, so the dot product of
// two item vectors is their cosine: a weighted mean of the per-field cosines over the fields
// both items have. An item with no content gets the zero vector. docs/algorithms/content.md
// gives the formulas (idf, projections, price kernel) and how the blocks combine.
//
// encode() works on any item, including one that was not in the fitted catalog (a brand-new
// product): its unseen terms get the largest idf. This is the content side of cold start; the
// content bridge (content_bridge.hpp) maps these vectors into the collaborative space.
//
// Complexity, N = catalog items, t = terms of an item, d = dimension(), l = text_dimension +
// svd_oversampling, q = svd_power_iterations:
//   fit            O(total terms) for the idf; the SVD adds O((q + 1) T l + (S + B) l^2) for
//                  the T terms of the S = min(N, svd_max_items) sampled items using B buckets
//   encode         O(t text_dimension + d)
//   content_similar, content_nearest   O(N d + N log k);   user_content_profile   O(history d)
//
// Thread-safety: ContentEncoder is thread-compatible (const methods may run concurrently; fit
// needs exclusion). The free functions are pure; thread-safe.
//
// **Example**:
//   tailor::ContentEncoder encoder;                         // default options
//   encoder.fit(catalog);
//   tailor::RowMatrix content = encoder.encode_all(catalog, matrix.items());  // ALS item order
//   tailor::Vector x_new = encoder.encode(new_item);        // any item, also a brand-new one
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/core/export.hpp"
#include "tailor/data/catalog.hpp"
#include "tailor/data/event.hpp"
#include "tailor/core/id_map.hpp"
#include "tailor/core/scored_item.hpp"
#include "tailor/models/text.hpp"
#include "tailor/core/types.hpp"
#include "tailor/core/span.hpp"

namespace tailor {

/// How ContentEncoder reduces hashed TF-IDF to text_dimension values.
enum class TextProjection {
  random,  ///< seeded Rademacher random projection (no fitted state besides idf)
  svd,     ///< truncated SVD of the catalog's TF-IDF matrix (randomized, seeded)
};

/// "random" or "svd".
TAILOR_API const char* text_projection_name(TextProjection projection) noexcept;

/// The fields a content vector is made of, in layout order.
enum class ContentField { text, category, brand, attributes, price };

/// "text", "category", "brand", "attributes" or "price".
TAILOR_API const char* content_field_name(ContentField field) noexcept;

/// Options of ContentEncoder. Weights must be finite and >= 0 and not all 0; a field with
/// weight 0 is left out of the vector.
struct TAILOR_API ContentEncoderOptions {
  TokenizerOptions tokenizer;              ///< tokenizer and n-gram length (default: bigrams)
  std::size_t hash_buckets = 1u << 18;     ///< TF-IDF feature-hashing buckets, in [16, 2^26]
  bool signed_hashing = true;              ///< a hash-derived sign per term (unbiased collisions)
  float title_weight = 1.0f;               ///< multiplies title terms' 1 + ln(tf), >= 0
  float description_weight = 1.0f;         ///< multiplies description terms' 1 + ln(tf), >= 0
  std::size_t text_dimension = 128;        ///< text block size, in [1, 4096]
  /// svd by default: the random projection keeps every rare term as noise, which ranks new items
  /// worse through the bridge (docs/algorithms/content.md).
  TextProjection projection = TextProjection::svd;
  std::size_t svd_oversampling = 10;       ///< extra random directions of the range finder, <= 1000
  std::size_t svd_power_iterations = 2;    ///< power iterations of the range finder, <= 20
  std::size_t svd_max_items = 50000;       ///< items (seeded sample) the SVD is fitted on, >= 1
  std::size_t category_dimension = 64;     ///< category block size, in [1, 4096]
  std::size_t brand_dimension = 32;        ///< brand block size, in [1, 4096]
  std::vector<std::string> attribute_keys; ///< categorical attributes ('|'-separated values)
  std::size_t attribute_dimension = 32;    ///< attribute block size, in [1, 4096]
  std::size_t price_buckets = 12;          ///< price block size, in [2, 256]
  double price_overlap = 0.5;              ///< kernel width s in buckets, in (0, 4]
  float text_weight = 1.0f;                ///< field weights, see the file comment
  float category_weight = 0.5f;
  float brand_weight = 0.3f;
  float attribute_weight = 0.5f;
  float price_weight = 0.2f;
  std::uint64_t seed = 42;                 ///< hashing signs, random codes, projection, SVD

  /// Throws Error(invalid_argument) naming the first field out of range.
  void validate() const;

  friend TAILOR_API bool operator==(const ContentEncoderOptions& a, const ContentEncoderOptions& b);
  friend bool operator!=(const ContentEncoderOptions& a, const ContentEncoderOptions& b) {
    return !(a == b);
  }
};

/// Where one field's block sits in a content vector.
struct ContentBlock {
  ContentField field = ContentField::text;
  std::size_t offset = 0;  ///< first column
  std::size_t size = 0;    ///< columns
  float weight = 0.0f;     ///< the field weight from the options
};

/// Everything a fitted ContentEncoder holds, as plain data (for model files). A default-constructed
/// state is "not fitted".
struct ContentEncoderState {
  ContentEncoderOptions options;
  std::vector<float> idf;                 ///< hash_buckets values (empty = not fitted)
  std::vector<std::uint32_t> svd_buckets; ///< svd: ascending bucket ids with a component row
  RowMatrix svd_components;               ///< svd: svd_buckets.size() x text_dimension, else 0x0
  double price_log_low = 0.0;             ///< log(price) of the centre of bucket 0
  double price_log_high = 0.0;            ///< log(price) of the centre of the last bucket (> low)
  std::size_t fitted_items = 0;           ///< catalog size at fit (N of the idf)

  friend TAILOR_API bool operator==(const ContentEncoderState& a, const ContentEncoderState& b);
  friend bool operator!=(const ContentEncoderState& a, const ContentEncoderState& b) {
    return !(a == b);
  }
};

/// Dense content vectors for catalog items (see the file comment for the recipe).
/// Thread-safety: thread-compatible (const methods may run concurrently; fit needs exclusion).
class TAILOR_API ContentEncoder {
 public:
  /// Throws Error(invalid_argument) if options.validate() does.
  explicit ContentEncoder(ContentEncoderOptions options = {});

  /// A fitted encoder from saved state. Throws Error(invalid_argument) naming the field when the
  /// state is inconsistent (options invalid, idf of the wrong size or not finite and > 0, svd
  /// rows unsorted or out of range, component shape wrong, price range not finite or empty).
  /// A state with empty idf gives an unfitted encoder.
  static ContentEncoder from_state(ContentEncoderState state);

  /// Fits idf (and the SVD projection, and the price range) on every item of `catalog`.
  /// Throws Error(invalid_argument) for an empty catalog.
  void fit(const Catalog& catalog);

  bool fitted() const noexcept { return !state_.idf.empty(); }
  const ContentEncoderOptions& options() const noexcept { return state_.options; }

  /// Columns of every content vector (sum of the block sizes); known before fit.
  std::size_t dimension() const noexcept { return dimension_; }
  /// The blocks in layout order (fields with weight 0 are absent).
  const std::vector<ContentBlock>& blocks() const noexcept { return blocks_; }

  /// The unit-norm content vector of `item` (zero vector for an item without content).
  /// Works for items that were not in the fitted catalog. Throws Error(not_fitted) before fit.
  Vector encode(const CatalogItem& item) const;

  /// encode() of every catalog item, row i = item with catalog index i.
  RowMatrix encode_all(const Catalog& catalog) const;

  /// Rows in the index order of `items` (e.g. an InteractionMatrix's or a model's item IdMap):
  /// row i = encode(catalog item with ID items.id(i)), a zero row if the catalog lacks that ID.
  RowMatrix encode_all(const Catalog& catalog, const IdMap& items) const;

  /// A content vector with only the text block filled from `text` (e.g. a search query),
  /// normalised like encode(); zero when no term survives tokenizing.
  Vector encode_text(std::string_view text) const;

  /// The fitted state as plain data (what a model file stores); idf() has hash_buckets entries.
  const ContentEncoderState& export_state() const noexcept { return state_; }
  const std::vector<float>& idf() const noexcept { return state_.idf; }

 private:
  void require_fitted(const char* what) const;
  void build_layout();
  void encode_into(const CatalogItem& item, float* out) const;
  // Hashed, idf-weighted, L2-normalised text terms of one item, sorted by bucket.
  std::vector<std::pair<std::uint32_t, float>> text_features(std::string_view title,
                                                             std::string_view description) const;
  bool project_text(const std::vector<std::pair<std::uint32_t, float>>& features,
                    float* out) const;

  ContentEncoderState state_;
  std::vector<ContentBlock> blocks_;
  std::size_t dimension_ = 0;
};

/// The k items whose content vectors (rows of `item_vectors`, unit-norm as encode() makes them)
/// have the largest dot product (= cosine) with row `item`, best first, `item` itself and items
/// with a zero vector excluded. Empty when row `item` is zero. Throws Error(invalid_argument)
/// when item >= item_vectors.rows().
TAILOR_API std::vector<ScoredItem> content_similar(const RowMatrix& item_vectors, Index item,
                                                   std::size_t k);

/// The k rows of `item_vectors` with the largest dot product with `query` (e.g. a user content
/// profile or the vector of a new item), best first, skipping zero rows and the indices in
/// `exclude` (any order). Throws Error(invalid_argument) if query.size() != item_vectors.cols().
TAILOR_API std::vector<ScoredItem> content_nearest(const RowMatrix& item_vectors,
                                                   const Eigen::Ref<const Vector>& query,
                                                   std::size_t k, Span<const Index> exclude = {});

/// One item of a user's history for user_content_profile().
struct ProfileItem {
  Index item = 0;          ///< row of the item vectors
  Timestamp timestamp = 0; ///< when the user interacted (UTC ms)
  float weight = 1.0f;     ///< strength (e.g. an event weight); finite, may be negative
};

/// A user's content profile: sum over `history` of weight * 0.5^(age / half_life_days) * row,
/// age = (now - timestamp) in days (0 for events after `now`), L2-normalised. half_life_days 0
/// means no decay. Returns the zero vector (of item_vectors.cols() values) for an empty history
/// or one whose weighted sum is zero. Throws Error(invalid_argument) for half_life_days negative
/// or not finite, an item out of range or a non-finite weight (naming its position).
TAILOR_API Vector user_content_profile(const RowMatrix& item_vectors,
                                       const std::vector<ProfileItem>& history, Timestamp now,
                                       double half_life_days);

}  // namespace tailor
