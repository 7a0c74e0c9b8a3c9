// Fuzz target for the model file loader: ModelReader, every typed decoder and read_als. No
// crash, hang or leak; only tailor::Error with code corrupt_file or unsupported_version escapes.
// Each input is read twice: with checksums (what users get) and without them, so the fuzzer can
// reach the decoders behind the CRCs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "persistence/model_container.hpp"
#include "persistence/encoding.hpp"

namespace {

void expect_typed(const tailor::Error& e) {
  if (e.code() != tailor::ErrorCode::corrupt_file &&
      e.code() != tailor::ErrorCode::unsupported_version) {
    std::fprintf(stderr, "unexpected error code %s: %s\n", tailor::error_code_name(e.code()),
                 e.what());
    std::abort();
  }
}

template <class T>
void try_decode(tailor::ModelReader& reader, const std::string& tag) {
  try {
    tailor::ByteReader r = reader.section(tag);
    T value{};
    tailor::decode(r, value);
    r.expect_end();
  } catch (const tailor::Error& e) {
    expect_typed(e);
  }
}

void load(const std::string& bytes, bool checksums) {
  tailor::ModelReaderOptions opt;
  opt.verify_checksums = checksums;
  opt.max_section_bytes = std::uint64_t{1} << 24;
  try {
    tailor::ModelReader reader = tailor::ModelReader::from_bytes(bytes, "fuzz.tlm", opt);
    (void)reader.metadata().dump();
    try {
      reader.verify();
    } catch (const tailor::Error& e) {
      expect_typed(e);
    }
    std::vector<std::string> tags;
    for (const auto& s : reader.sections()) tags.push_back(s.tag);
    for (const std::string& tag : tags) {
      try_decode<tailor::RowMatrix>(reader, tag);
      try_decode<tailor::Vector>(reader, tag);
      try_decode<std::vector<std::uint32_t>>(reader, tag);
      try_decode<std::vector<float>>(reader, tag);
      try_decode<std::vector<std::string>>(reader, tag);
      try_decode<tailor::IdMap>(reader, tag);
      try_decode<tailor::Catalog>(reader, tag);
      try_decode<tailor::Event>(reader, tag);
      try_decode<nlohmann::json>(reader, tag);
      try_decode<tailor::ALSOptions>(reader, tag);
    }
    try {
      tailor::ALSFactorizer als = tailor::read_als(reader);
      if (als.items() > 0 && als.users() > 0)
        (void)als.recommend(als.user_factors().row(0).transpose(), 3);
    } catch (const tailor::Error& e) {
      expect_typed(e);
    }
    reader.finish();
  } catch (const tailor::Error& e) {
    expect_typed(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  load(bytes, true);
  load(bytes, false);
  return 0;
}
