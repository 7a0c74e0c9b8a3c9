// Model file container, CRC-32C and typed section encoders: round trips, format checks,
// corruption (every truncation, 10,000 bit flips and overwrites), golden file of version 1.
#include "persistence/model_container.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "model_fixtures.hpp"
#include "sparse.hpp"
#include "internal/crc32c.hpp"
#include "persistence/encoding.hpp"
#include "tailor/version.hpp"
#include "test_data.hpp"
#include "persistence/files.hpp"

using namespace tailor;
using detail::crc32c;
using tailor::test::make_small_model;
using tailor::test::read_small_model;
using tailor::test::same_model;
using tailor::test::small_model_bytes;

namespace {

std::uint32_t le32(const std::string& bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
  return v;
}

void set_le32(std::string& bytes, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

void set_le64(std::string& bytes, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) bytes[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Recomputes the header CRC after a test edited the preamble or header text.
void fix_header_crc(std::string& bytes) {
  const std::uint32_t size = le32(bytes, 16);
  set_le32(bytes, 20, crc32c(bytes.data() + 24, size, crc32c(bytes.data(), 20)));
}

// The error code of loading `bytes` completely, or nullopt if it loads.
std::optional<ErrorCode> load_error(const std::string& bytes, ModelReaderOptions opt = {},
                                    std::string* message = nullptr) {
  try {
    ModelReader r = ModelReader::from_bytes(bytes, "small.tlm", opt);
    r.verify();
    read_small_model(r);
    return std::nullopt;
  } catch (const Error& e) {
    if (message != nullptr) *message = e.what();
    return e.code();
  }
}

template <class T>
T round_trip(const T& value) {
  ModelWriter w;
  write_section(w, "value", value);
  ModelReader r = ModelReader::from_bytes(w.to_bytes());
  T out = read_section<T>(r, "value");
  r.finish();
  return out;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("CRC-32C matches the standard check value", "[model_file][crc32c]") {
  const std::string check = "123456789";
  CHECK(crc32c(check) == 0xE3069283u);
  CHECK(detail::crc32c_portable(check.data(), check.size(), 0) == 0xE3069283u);
  CHECK(detail::crc32c_hardware(check.data(), check.size(), 0) == 0xE3069283u);
  CHECK(crc32c(std::string_view()) == 0u);
  // 32 bytes of zeros and of 0xFF (RFC 3720, B.4).
  CHECK(crc32c(std::string(32, '\0')) == 0x8A9136AAu);
  CHECK(crc32c(std::string(32, '\xFF')) == 0x62A8AB43u);
  // Piecewise equals whole.
  CHECK(crc32c(check.data() + 4, 5, crc32c(check.data(), 4)) == 0xE3069283u);
  const std::string impl = detail::crc32c_implementation();
  CHECK((impl == "sse4.2" || impl == "armv8-crc" || impl == "slice-by-8"));
}

TEST_CASE("CRC-32C: slice-by-8 and hardware agree at every length and alignment",
          "[model_file][crc32c]") {
  std::mt19937 rng(7);
  std::vector<unsigned char> buf(1100);
  for (auto& b : buf) b = static_cast<unsigned char>(rng());
  for (std::size_t offset = 0; offset < 9; ++offset) {
    for (std::size_t len = 0; len + offset <= buf.size(); len += (len < 64 ? 1 : 37)) {
      const std::uint32_t a = detail::crc32c_portable(buf.data() + offset, len, 0x1234u);
      const std::uint32_t b = detail::crc32c_hardware(buf.data() + offset, len, 0x1234u);
      REQUIRE(a == b);
    }
  }
}

TEST_CASE("ByteWriter and ByteReader round-trip scalars and name the offset of an overrun",
          "[model_file]") {
  ByteWriter w;
  w.u8(0xAB);
  w.u16(0xBEEF);
  w.u32(0xDEADBEEFu);
  w.u64(0x0123456789ABCDEFull);
  w.i64(-42);
  w.f32(-1.5f);
  w.f64(std::numeric_limits<double>::denorm_min());
  w.boolean(true);
  w.string("héllo");
  // Little-endian on the wire whatever the host.
  CHECK(static_cast<unsigned char>(w.data()[1]) == 0xEF);
  CHECK(static_cast<unsigned char>(w.data()[2]) == 0xBE);
  ByteReader r(w.data(), "ctx", 100);
  CHECK(r.u8() == 0xAB);
  CHECK(r.u16() == 0xBEEF);
  CHECK(r.u32() == 0xDEADBEEFu);
  CHECK(r.u64() == 0x0123456789ABCDEFull);
  CHECK(r.i64() == -42);
  CHECK(r.f32() == -1.5f);
  CHECK(r.f64() == std::numeric_limits<double>::denorm_min());
  CHECK(r.boolean());
  CHECK(r.string() == "héllo");
  r.expect_end();
  const std::uint64_t end = r.offset();
  try {
    r.u32();
    FAIL("read past the end");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::corrupt_file);
    CHECK(contains(e.what(), "ctx, offset " + std::to_string(end)));
  }
  ByteWriter big;
  big.u32(0xFFFFFFF0u);  // a string claiming 4 GiB
  ByteReader rb(big.data());
  CHECK_THROWS_AS(rb.string(), Error);
  ByteWriter flag;
  flag.u8(2);
  ByteReader rf(flag.data());
  CHECK_THROWS_AS(rf.boolean(), Error);
}

TEST_CASE("Typed encoders round-trip exactly", "[model_file][serialization]") {
  SECTION("RowMatrix, including empty shapes and special values") {
    RowMatrix m(3, 2);
    m << 1.f, -0.f, std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(),
        1e-30f, -7.25f;
    const RowMatrix back = round_trip(m);
    REQUIRE(back.rows() == 3);
    REQUIRE(back.cols() == 2);
    CHECK(std::memcmp(back.data(), m.data(), sizeof(float) * 6) == 0);
    CHECK(round_trip(RowMatrix(0, 5)).cols() == 5);
    CHECK(round_trip(RowMatrix(4, 0)).rows() == 4);
  }
  SECTION("Float arrays in a file must be finite: NaN and infinity are damage") {
    RowMatrix m = RowMatrix::Ones(3, 2);
    m(1, 0) = std::numeric_limits<float>::infinity();
    try {
      round_trip(m);
      FAIL("an infinite value was loaded");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::corrupt_file);
      CHECK(contains(e.what(), "row 1, column 0"));
    }
    Vector v = Vector::Ones(3);
    v[2] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_AS(round_trip(v), Error);
    CHECK_THROWS_AS(round_trip(std::vector<float>{1.f, -std::numeric_limits<float>::infinity()}),
                    Error);
  }
  SECTION("Vector and plain arrays") {
    Vector v(4);
    v << 1.f, 2.f, -3.f, 0.5f;
    CHECK(round_trip(v) == v);
    CHECK(round_trip(Vector()).size() == 0);
    const std::vector<std::uint32_t> u = {0, 1, 0xFFFFFFFFu, 42};
    CHECK(round_trip(u) == u);
    const std::vector<float> f = {0.1f, -2.f};
    CHECK(round_trip(f) == f);
    const std::vector<std::string> s = {"", "a", std::string("nul\0byte", 8)};
    CHECK(round_trip(s) == s);
  }
  SECTION("IdMap keeps its indices") {
    IdMap ids;
    for (int i = 0; i < 1000; ++i) ids.insert("id-" + std::to_string(i * 7919 % 1000));
    const IdMap back = round_trip(ids);
    CHECK(back == ids);
    CHECK(back.at("id-919") == ids.at("id-919"));
  }
  SECTION("Catalog with every field") {
    const Catalog c = make_small_model(0).catalog;
    const Catalog back = round_trip(c);
    CHECK(back == c);
    CHECK(back.ids() == c.ids());
    CHECK(back.at("SKU1005").price == std::nullopt);
    CHECK_FALSE(back.at("SKU1002").in_stock);
  }
  SECTION("Event") {
    Event e;
    e.user = "u1";
    e.item = "i9";
    e.type = static_cast<EventType>(40);
    e.timestamp = -5;
    e.value = 3.75;
    e.session = "s";
    e.query = "red mug";
    CHECK(round_trip(e) == e);
    Event empty;
    CHECK(round_trip(empty) == empty);
  }
  SECTION("JSON and ALSOptions") {
    const nlohmann::json j = {{"a", 1}, {"b", {1.5, "x", nullptr}}, {"c", {{"d", true}}}};
    CHECK(round_trip(j) == j);
    ALSOptions o;
    o.factors = 17;
    o.iterations = 3;
    o.regularization = 0.1f;
    o.regularization_exponent = 0.7f;
    o.unobserved_weight = 0.3f;
    o.feedback = ALSFeedback::explicit_ratings;
    o.solver = ALSSolver::cholesky;
    o.cg_steps = 5;
    o.seed = 0xFFFFFFFFFFFFFFFFull;
    o.init_scale = 0.2f;
    o.threads = 3;
    o.compute_loss = false;
    o.validation_every = 2;
    o.patience = 9;
    CHECK(tailor::test::same_options(round_trip(o), o));
  }
  SECTION("The whole small model") {
    const auto m = make_small_model(1, 77);
    ModelReader r = ModelReader::from_bytes(small_model_bytes(m));
    CHECK(same_model(read_small_model(r), m));
  }
}

TEST_CASE("ALS options JSON: unknown keys ignored, wrong types and values named",
          "[model_file][serialization]") {
  nlohmann::json j = als_options_to_json(ALSOptions{});
  j["from_the_future"] = 1;
  CHECK(tailor::test::same_options(als_options_from_json(j), ALSOptions{}));
  CHECK(als_options_from_json(nlohmann::json::object()).factors == ALSOptions{}.factors);
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"factors", -1}, {"factors", "8"}, {"solver", "magic"}, {"regularization", 1e300},
           {"iterations", 0}, {"compute_loss", 1}}) {
    nlohmann::json bad = als_options_to_json(ALSOptions{});
    bad[key] = value;
    try {
      als_options_from_json(bad);
      FAIL("accepted " << key << " = " << value.dump());
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::invalid_argument);
      CHECK(contains(e.what(), key));
    }
  }
}

TEST_CASE("A trained ALS model round-trips through a file and serves identical results",
          "[model_file][serialization][als]") {
  std::vector<tailor::test::Triplet> t;
  for (int u = 0; u < 40; ++u)
    for (int i = 0; i < 30; ++i)
      if ((u * 7 + i * 3) % 5 == 0) t.emplace_back(u, i, 1.0f + static_cast<float>((u + i) % 4));
  ALSOptions opt;
  opt.factors = 8;
  opt.iterations = 4;
  opt.threads = 1;
  ALSFactorizer als(opt);
  als.fit(tailor::test::make_matrix(40, 30, t));

  const std::string path = tailor::test::scratch_dir() + "/als.tlm";
  ModelWriter w;
  write_als(w, als.export_state());
  w.save(path);
  ModelReader r = ModelReader::open(path);
  const ALSFactorizer back = read_als(r);
  r.finish();
  CHECK(back.fitted());
  CHECK(tailor::test::same_options(back.options(), als.options()));
  CHECK(back.user_factors() == als.user_factors());
  CHECK(back.item_factors() == als.item_factors());
  for (Index u = 0; u < 40; u += 7) {
    const auto a = als.recommend(als.user_factors().row(u).transpose(), 5);
    const auto b = back.recommend(back.user_factors().row(u).transpose(), 5);
    CHECK(a == b);
  }
  CHECK(als.similar_items(3, 4) == back.similar_items(3, 4));
  CHECK(als.fold_in_user({1, 2, 9}, {1.f, 2.f, 1.f}) == back.fold_in_user({1, 2, 9}, {1.f, 2.f, 1.f}));

  CHECK_THROWS_AS(ALSFactorizer(opt).export_state(), Error);
}

TEST_CASE("ALSFactorizer::from_state checks shapes and values", "[model_file][als]") {
  ALSOptions opt;
  opt.factors = 3;
  RowMatrix u = RowMatrix::Ones(2, 3);
  RowMatrix i = RowMatrix::Ones(4, 3);
  const ALSFactorizer ok = ALSFactorizer::from_state({opt, u, i});
  CHECK(ok.fitted());
  CHECK(ok.users() == 2);
  CHECK(ok.items() == 4);
  CHECK(ok.recommend(Vector::Ones(3), 2).size() == 2);
  CHECK_THROWS_AS(ALSFactorizer::from_state({opt, RowMatrix::Ones(2, 4), i}), Error);
  i(3, 1) = std::numeric_limits<float>::quiet_NaN();
  try {
    ALSFactorizer::from_state({opt, u, i});
    FAIL("NaN accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    CHECK(contains(e.what(), "item_factors(3, 1)"));
  }
}

TEST_CASE("Model file header: metadata, creation time, section table", "[model_file]") {
  const auto m = make_small_model(0, 5);
  const std::string bytes = small_model_bytes(m, 1700000000123);
  CHECK(bytes.compare(0, 8, std::string(kModelFileMagic, 8)) == 0);
  ModelReader r = ModelReader::from_bytes(bytes, "x.tlm");
  CHECK(r.format_version() == 1);
  CHECK(r.file_size() == bytes.size());
  CHECK(r.metadata()["generation"] == 5);
  CHECK(r.header()["created_ms"] == 1700000000123);
  CHECK(r.header()["created"] == "2023-11-14T22:13:20Z");
  CHECK(r.header()["library_version"] == library_version());
  REQUIRE(r.sections().size() == 10);
  CHECK(r.sections()[0].tag == "als.options");
  CHECK(r.find("test.settings")->policy == SectionPolicy::optional);
  CHECK(r.find("catalog")->policy == SectionPolicy::required);
  CHECK(r.sections().back().offset + r.sections().back().length + 4 == bytes.size());
  r.verify();
}

TEST_CASE("ModelWriter rejects bad tags, duplicates and non-object metadata", "[model_file]") {
  ModelWriter w;
  w.add_section("ok.tag-1_X");
  CHECK_THROWS_AS(w.add_section("ok.tag-1_X"), Error);
  CHECK_THROWS_AS(w.add_section(""), Error);
  CHECK_THROWS_AS(w.add_section("has space"), Error);
  CHECK_THROWS_AS(w.add_section(std::string(65, 'a')), Error);
  w.add_section(std::string(64, 'a'));
  w.metadata() = nlohmann::json::array();
  CHECK_THROWS_AS(w.to_bytes(), Error);
  ModelWriter bad_utf8;
  bad_utf8.metadata()["x"] = std::string("\xff\xfe");
  try {
    bad_utf8.to_bytes();
    FAIL("invalid UTF-8 stored");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
  }
}

TEST_CASE("Unknown sections: optional ones are skipped, required ones refuse the file",
          "[model_file]") {
  ModelWriter w;
  w.add_section("known").u32(7);
  w.add_section("future.hint", SectionPolicy::optional).u64(1);
  {
    ModelReader r = ModelReader::from_bytes(w.to_bytes());
    ByteReader p = r.section("known");
    CHECK(p.u32() == 7);
    r.finish();  // the optional unknown section is ignored
  }
  w.add_section("future.must", SectionPolicy::required).u64(2);
  ModelReader r = ModelReader::from_bytes(w.to_bytes(), "new.tlm");
  r.section("known");
  try {
    r.finish();
    FAIL("a required unknown section was accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::unsupported_version);
    CHECK(contains(e.what(), "future.must"));
    CHECK(contains(e.what(), "new.tlm"));
  }
  try {
    r.section("absent");
    FAIL("missing section");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::corrupt_file);
    CHECK(contains(e.what(), "'absent'"));
  }
  CHECK_FALSE(r.optional_section("absent").has_value());
}

TEST_CASE("Magic, version and byte order are checked first", "[model_file]") {
  const std::string good = small_model_bytes(make_small_model(0));
  std::string msg;
  SECTION("newer version") {
    std::string b = good;
    set_le32(b, 8, 2);
    CHECK(load_error(b, {}, &msg) == ErrorCode::unsupported_version);
    CHECK(contains(msg, "version 2"));
    fix_header_crc(b);
    CHECK(load_error(b) == ErrorCode::unsupported_version);
  }
  SECTION("bad magic") {
    std::string b = good;
    b[1] = 't';
    CHECK(load_error(b, {}, &msg) == ErrorCode::corrupt_file);
    CHECK(contains(msg, "small.tlm, offset 0: not a tailor model file"));
    CHECK(load_error("GIF89a") == ErrorCode::corrupt_file);
    CHECK(load_error("") == ErrorCode::corrupt_file);
  }
  SECTION("big-endian marker") {
    std::string b = good;
    set_le32(b, 12, 0x04030201u);
    CHECK(load_error(b, {}, &msg) == ErrorCode::unsupported_version);
    CHECK(contains(msg, "big-endian"));
  }
  SECTION("header checksum") {
    std::string b = good;
    b[30] ^= 0x01;
    CHECK(load_error(b, {}, &msg) == ErrorCode::corrupt_file);
    CHECK(contains(msg, "offset 20: header checksum mismatch"));
  }
}

TEST_CASE("Every length is checked against the file and the caps before allocating",
          "[model_file]") {
  SECTION("a matrix claiming 2^40 x 2^40 floats with valid checksums") {
    ByteWriter p;
    p.u64(std::uint64_t{1} << 40);
    p.u64(std::uint64_t{1} << 40);
    p.f32(1.f);
    ModelWriter w;
    w.add_section("m", p.release());
    ModelReader r = ModelReader::from_bytes(w.to_bytes(), "huge.tlm");
    try {
      read_section<RowMatrix>(r, "m");
      FAIL("allocated a huge matrix");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::corrupt_file);
      CHECK(contains(e.what(), "huge.tlm: section 'm', offset "));
    }
  }
  SECTION("sparse row offsets that overshoot the entries before they decrease") {
    // Before (found by fuzz_recommender_load): offsets were checked row by row, so row 0 of
    // {0, 5, 1, 2} read entries 2 to 4 of a 2-entry matrix before row 1 was found decreasing.
    ByteWriter p;
    p.u64(3);  // rows
    p.u64(3);  // cols
    p.u64(2);  // entries
    for (std::uint32_t o : {0u, 5u, 1u, 2u}) p.u32(o);
    for (std::uint32_t c : {0u, 1u}) p.u32(c);
    p.f32(1.f);
    p.f32(2.f);
    ModelWriter w;
    w.add_section("m", p.release());
    ModelReader r = ModelReader::from_bytes(w.to_bytes(), "offsets.tlm");
    try {
      read_section<SparseMatrix>(r, "m");
      FAIL("decoded a matrix whose row 0 runs past its entries");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::corrupt_file);
      CHECK(contains(e.what(), "row offsets decrease at row 1"));
    }
  }
  SECTION("counts of strings, IDs and catalog items") {
    for (const char* which : {"ids", "strings", "catalog", "u32", "f32", "vector"}) {
      ByteWriter p;
      if (std::string(which) == "catalog") p.u32(1);
      p.u64(std::uint64_t{1} << 60);
      ModelWriter w;
      w.add_section("s", p.release());
      ModelReader r = ModelReader::from_bytes(w.to_bytes());
      const std::string k = which;
      CHECK_THROWS_AS(k == "ids"       ? (void)read_section<IdMap>(r, "s")
                      : k == "strings" ? (void)read_section<std::vector<std::string>>(r, "s")
                      : k == "catalog" ? (void)read_section<Catalog>(r, "s")
                      : k == "u32"     ? (void)read_section<std::vector<std::uint32_t>>(r, "s")
                      : k == "f32"     ? (void)read_section<std::vector<float>>(r, "s")
                                       : (void)read_section<Vector>(r, "s"),
                      Error);
    }
  }
  SECTION("a section length beyond the end of the file names the section and offset") {
    ModelWriter w;
    w.add_section("first").u32(1);
    w.add_section("second").u64(2);
    std::string b = w.to_bytes();
    ModelReader ok = ModelReader::from_bytes(b);
    const SectionInfo second = *ok.find("second");
    set_le64(b, second.frame_offset + 8, 1000);
    // Re-seal the frame so only the length check can catch it.
    const std::size_t covered = 16 + 6;
    set_le32(b, second.frame_offset + covered, crc32c(b.data() + second.frame_offset, covered));
    std::string msg;
    CHECK(load_error(b, {}, &msg) == ErrorCode::corrupt_file);
    CHECK(contains(msg, "offset " + std::to_string(second.frame_offset + 8)));
    CHECK(contains(msg, "section 'second'"));
    CHECK(contains(msg, "truncated"));
  }
  SECTION("caps from ModelReaderOptions") {
    const std::string b = small_model_bytes(make_small_model(0));
    ModelReaderOptions opt;
    opt.max_section_bytes = 100;
    std::string msg;
    CHECK(load_error(b, opt, &msg) == ErrorCode::corrupt_file);
    CHECK(contains(msg, "exceeds the limit of 100"));
    opt = {};
    opt.max_header_bytes = 64;
    CHECK(load_error(b, opt) == ErrorCode::corrupt_file);
    opt = {};
    opt.max_sections = 3;
    CHECK(load_error(b, opt) == ErrorCode::corrupt_file);
    opt.max_sections = 0;
    CHECK_THROWS_AS(ModelReader::from_bytes(b, "x", opt), Error);
  }
  SECTION("a payload checksum failure names the section and the payload offset") {
    std::string b = small_model_bytes(make_small_model(0));
    const SectionInfo cat = *ModelReader::from_bytes(b).find("catalog");
    b[cat.offset + 10] ^= 0x40;
    std::string msg;
    CHECK(load_error(b, {}, &msg) == ErrorCode::corrupt_file);
    CHECK(contains(msg, "small.tlm, offset " + std::to_string(cat.offset) +
                            ": section 'catalog': payload checksum mismatch"));
  }
  SECTION("duplicate IDs and bad catalog records are corrupt, not invalid arguments") {
    ByteWriter ids;
    encode(ids, std::vector<std::string>{"a", "b", "a"});
    ByteWriter cat;
    cat.u32(1);
    cat.u64(1);
    CatalogItem item;
    item.id = "x";
    item.price = -1.0;
    encode(cat, item);
    ModelWriter w;
    w.add_section("ids", ids.release());
    w.add_section("cat", cat.release());
    ModelReader r = ModelReader::from_bytes(w.to_bytes());
    for (const char* tag : {"ids", "cat"}) {
      try {
        if (std::string(tag) == "ids") {
          read_section<IdMap>(r, tag);
        } else {
          read_section<Catalog>(r, tag);
        }
        FAIL("accepted " << tag);
      } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::corrupt_file);
      }
    }
  }
}

TEST_CASE("A file with 200,000 sections opens in time linear in the sections",
          "[model_file][regression]") {
  // Before: the duplicate-tag check compared every section with every earlier one (65,536
  // empty sections took 6.5 s, 200,000 about a minute).
  ModelWriter w;
  constexpr std::size_t kSections = 200000;
  for (std::size_t i = 0; i < kSections; ++i) w.add_section("s" + std::to_string(i), std::string());
  ModelReaderOptions o;
  o.max_sections = kSections;
  const ModelReader r = ModelReader::from_bytes(w.to_bytes(), "<many>", o);
  CHECK(r.sections().size() == kSections);
  CHECK(r.has("s199999"));
  CHECK_FALSE(r.has("s200000"));
}

TEST_CASE("Every truncation of a small model file is a corrupt_file error", "[model_file][corrupt]") {
  const std::string bytes = small_model_bytes(make_small_model(0));
  REQUIRE(!load_error(bytes).has_value());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const auto code = load_error(bytes.substr(0, n));
    INFO("truncated to " << n << " of " << bytes.size() << " bytes");
    REQUIRE(code == ErrorCode::corrupt_file);
  }
  // Trailing bytes are no better than missing ones.
  CHECK(load_error(bytes + std::string(1, '\0')) == ErrorCode::corrupt_file);
  // And through the file system, at a few cuts.
  const std::string path = tailor::test::scratch_dir() + "/cut.tlm";
  for (std::size_t n : {std::size_t{0}, std::size_t{23}, bytes.size() / 2, bytes.size() - 1}) {
    write_file_atomically(path, std::string_view(bytes).substr(0, n));
    CHECK_THROWS_AS(ModelReader::open(path).verify(), Error);
  }
}

TEST_CASE("10,000 random bit flips and byte overwrites are all detected", "[model_file][corrupt]") {
  const std::string bytes = small_model_bytes(make_small_model(1, 3));
  std::mt19937_64 rng(20240607);
  std::uniform_int_distribution<std::size_t> pos(0, bytes.size() - 1);
  std::size_t unsupported = 0;
  for (int trial = 0; trial < 10000; ++trial) {
    std::string b = bytes;
    const int kind = trial % 3;
    if (kind == 0) {  // one bit
      b[pos(rng)] ^= static_cast<char>(1u << (rng() % 8));
    } else if (kind == 1) {  // one byte overwritten with a different value
      const std::size_t at = pos(rng);
      b[at] = static_cast<char>(b[at] ^ static_cast<char>(1 + rng() % 255));
    } else {  // a burst of 2..8 random bytes
      const std::size_t at = pos(rng);
      const std::size_t len = std::min<std::size_t>(2 + rng() % 7, b.size() - at);
      for (std::size_t i = 0; i < len; ++i) b[at + i] = static_cast<char>(rng());
      if (b == bytes) continue;
    }
    const auto code = load_error(b);
    INFO("trial " << trial);
    REQUIRE(code.has_value());
    REQUIRE((*code == ErrorCode::corrupt_file || *code == ErrorCode::unsupported_version));
    if (*code == ErrorCode::unsupported_version) ++unsupported;
  }
  // Only the 8 bytes of version and byte order can give unsupported_version.
  CHECK(unsupported < 200);
}

TEST_CASE("With checksums off, decoders survive 10,000 mutations with typed errors only",
          "[model_file][corrupt]") {
  const std::string bytes = small_model_bytes(make_small_model(0, 9));
  ModelReaderOptions opt;
  opt.verify_checksums = false;
  std::mt19937_64 rng(99);
  std::uniform_int_distribution<std::size_t> pos(0, bytes.size() - 1);
  std::size_t loaded = 0;
  for (int trial = 0; trial < 10000; ++trial) {
    std::string b = bytes;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = pos(rng);
      switch (rng() % 4) {
        case 0: b[at] ^= static_cast<char>(1u << (rng() % 8)); break;
        case 1: b[at] = static_cast<char>(rng()); break;
        case 2: b[at] = '\xff'; break;
        default: b[at] = '\0'; break;
      }
    }
    INFO("trial " << trial);
    try {
      const auto code = load_error(b, opt);
      if (!code) {
        ++loaded;
      } else {
        REQUIRE((*code == ErrorCode::corrupt_file || *code == ErrorCode::unsupported_version));
      }
    } catch (const std::exception& e) {
      FAIL("untyped exception: " << e.what());
    }
  }
  // Some mutations hit bytes that decode to other valid values (a factor, a letter of a title).
  CHECK(loaded > 0);
  CHECK(loaded < 10000);
}

TEST_CASE("Golden file of format version 1 still reads", "[model_file][golden]") {
  const std::string path = std::string(TAILOR_TEST_SOURCE_DIR) + "/tests/data/golden/model_v1.tlm";
  ModelReader r = ModelReader::open(path);
  CHECK(r.format_version() == 1);
  CHECK(r.header()["library_version"] == "0.1.0");
  CHECK(r.header()["created_ms"] == 1700000000000);
  r.verify();
  const auto expected = make_small_model(1, 42);
  CHECK(same_model(read_small_model(r), expected));
  // Spot checks that do not depend on the fixture code, in case it changes.
  ModelReader again = ModelReader::open(path);
  const auto users = read_section<IdMap>(again, "ids.users");
  CHECK(users.size() == 6);
  CHECK(users.id(0) == "user-10");
  const auto catalog = read_section<Catalog>(again, "catalog");
  CHECK(catalog.at("SKU1103").title == "Item 3 (v1)");
  CHECK(catalog.at("SKU1101").attributes.at("colour") == "red");
  CHECK(*catalog.at("SKU1100").price == 1.25);
  const ALSFactorizer als = read_als(again);
  CHECK(als.user_factors()(1, 2) == 0.125f);
}

// Regenerates tests/data/golden/ and the fuzz seed corpus. Hidden: run it by name only, when a
// new format version is introduced (never overwrite the files of a released version).
TEST_CASE("Write golden files and fuzz seeds", "[.generate]") {
  const std::string src = TAILOR_TEST_SOURCE_DIR;
  std::filesystem::create_directories(src + "/tests/data/golden");
  write_file_atomically(src + "/tests/data/golden/model_v1.tlm",
                        small_model_bytes(make_small_model(1, 42)));
  const std::string corpus = src + "/tests/fuzz/corpus/model_file";
  std::filesystem::create_directories(corpus);
  const std::string a = small_model_bytes(make_small_model(0, 1));
  write_file_atomically(corpus + "/seed-small-0", a);
  write_file_atomically(corpus + "/seed-small-1", small_model_bytes(make_small_model(1, 2)));
  write_file_atomically(corpus + "/seed-truncated", a.substr(0, a.size() / 2));
  ModelWriter w;
  w.add_section("known").u32(7);
  w.add_section("future.hint", SectionPolicy::optional).u64(1);
  w.add_section("future.must").u64(2);
  w.set_created(0);
  write_file_atomically(corpus + "/seed-unknown-sections", w.to_bytes());
  ModelWriter empty;
  empty.set_created(0);
  write_file_atomically(corpus + "/seed-empty", empty.to_bytes());
}
