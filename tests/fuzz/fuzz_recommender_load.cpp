// Fuzz target for the facade's loader, Recommender::load, and for serving whatever it accepts.
//
// Raw byte damage mostly dies at the container's checksums, so the libFuzzer build adds a custom
// mutator that edits one section's payload (or swaps in another section's) and re-seals the
// file with valid checksums (tests/support/reseal.hpp): the cross-section checks, the typed
// decoders and the serving path see crafted content, as a file written on purpose would give.
//
// Properties checked for every input:
//   * load() throws only tailor::Error with code corrupt_file or unsupported_version, and the
//     Recommender stays fresh then;
//   * a model it accepts serves: recommend (known and unknown users, after a new event),
//     similar items, bought together and trending answer without throwing, with finite scores,
//     at most k items, every item in the catalog; the model saves and loads again.
// A failed property aborts (libFuzzer and the corpus replay in ctest both report it).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <unistd.h>

#include "recommender_seed.hpp"
#include "reseal.hpp"
#include "serving/test_access.hpp"
#include "tailor/core/error.hpp"
#include "tailor/serving/recommender.hpp"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz_recommender_load: %s\n", what.c_str());
  std::abort();
}

std::string scratch_path(const char* what) {
  return "/tmp/tailor-fuzz-" + std::to_string(::getpid()) + "-" + what + ".tlm";
}

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) finding("cannot write " + path);
  if (size > 0 && std::fwrite(data, 1, size, f) != size) finding("short write to " + path);
  std::fclose(f);
}

void check_response(const tailor::RecommendResponse& r, std::size_t k, const tailor::Catalog& catalog,
                    const char* call) {
  if (r.items.size() > k) finding(std::string(call) + ": more than k items");
  for (const auto& item : r.items) {
    if (!std::isfinite(item.score)) finding(std::string(call) + ": score not finite");
    if (!catalog.contains(item.item)) finding(std::string(call) + ": item not in the catalog");
  }
}

void serve_all(tailor::Recommender& rec) {
  const auto catalog = rec.catalog();
  const auto parts = tailor::RecommenderTestAccess::parts(rec);
  if (!parts) finding("load() succeeded without a model");
  const std::size_t k = 5;
  tailor::RecommendRequest req;
  req.k = k;
  req.user = parts->users.size() > 0 ? parts->users.id(0) : std::string("nobody");
  if (req.user.rfind("session:", 0) == 0 || req.user.empty()) req.user = "nobody";
  check_response(rec.recommend(req), k, *catalog, "recommend(known)");
  req.user = "a shopper never seen";
  check_response(rec.recommend(req), k, *catalog, "recommend(unknown)");
  if (catalog->size() > 0) {
    const std::string item = catalog->ids().id(0);
    check_response(rec.similar_items(item, k), k, *catalog, "similar_items");
    check_response(rec.frequently_bought_together(item, k), k, *catalog, "bought_together");
    tailor::Event e;
    e.user = req.user;
    e.item = item;
    e.type = tailor::EventType::view;
    e.timestamp = 1;
    rec.ingest(e);
    req.context_item = item;
    check_response(rec.recommend(req), k, *catalog, "recommend(after ingest)");
  }
  check_response(rec.trending(k), k, *catalog, "trending");
  const std::string again = scratch_path("again");
  rec.save(again);
  tailor::Recommender reloaded(tailor::test::fuzz_options());
  reloaded.load(again);
  std::remove(again.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = scratch_path("input");
  write_file(path, data, size);
  tailor::Recommender rec(tailor::test::fuzz_options());
  bool loaded = false;
  try {
    rec.load(path);
    loaded = true;
  } catch (const tailor::Error& e) {
    if (e.code() != tailor::ErrorCode::corrupt_file &&
        e.code() != tailor::ErrorCode::unsupported_version) {
      finding(std::string("load: unexpected error code ") + tailor::error_code_name(e.code()) +
              ": " + e.what());
    }
    if (rec.stats().model_version != 0 || rec.stats().items != 0) {
      finding("a failed load changed the Recommender");
    }
  } catch (const std::exception& e) {
    finding(std::string("load: untyped exception: ") + e.what());
  }
  std::remove(path.c_str());
  if (!loaded) return 0;
  try {
    serve_all(rec);
  } catch (const std::exception& e) {
    finding(std::string("serving an accepted model threw: ") + e.what());
  }
  return 0;
}

#ifdef TAILOR_LIBFUZZER
extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size,
                                               std::size_t max_size, unsigned int seed) {
  // One time in eight, or when the input is not a well-formed file: plain byte mutation, which
  // exercises the container's own checks.
  if (seed % 8 != 0) {
    try {
      const std::string bytes(reinterpret_cast<const char*>(data), size);
      tailor::ModelReader reader = tailor::ModelReader::from_bytes(bytes, "<mutator>");
      const auto& sections = reader.sections();
      if (!sections.empty()) {
        const std::string tag = sections[(seed / 8) % sections.size()].tag;
        const std::string other = sections[(seed / 64) % sections.size()].tag;
        const bool swap = (seed / 4096) % 16 == 0;
        std::string other_payload;
        if (swap) {
          tailor::ByteReader r = reader.section(other);
          other_payload = std::string(r.bytes(r.remaining()));
        }
        const std::size_t room = max_size > size ? max_size - size : 0;
        const std::string out = tailor::test::reseal(bytes, tag, [&](std::string payload) {
          if (swap) return other_payload;
          const std::size_t n = payload.size();
          payload.resize(n + room);
          payload.resize(LLVMFuzzerMutate(reinterpret_cast<std::uint8_t*>(payload.data()), n,
                                          payload.size()));
          return payload;
        });
        if (out.size() <= max_size) {
          std::copy(out.begin(), out.end(), data);
          return out.size();
        }
      }
    } catch (const tailor::Error&) {
      // not a sealed file: fall through to byte mutation
    }
  }
  return LLVMFuzzerMutate(data, size, max_size);
}
#endif
