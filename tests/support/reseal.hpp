// Rewrites a model file with one section's payload replaced and every checksum valid again: how
// the tests and the model-loader fuzzer build files that pass the container's checks but hold
// crafted content (a file need not be damaged by accident to be wrong).
#pragma once

#include <functional>
#include <string>

#include "persistence/model_container.hpp"

namespace tailor::test {

/// The bytes of a model file equal to `bytes` except that section `tag` holds
/// mutate(its payload); sections, order, flags and metadata are kept, checksums recomputed.
/// Throws Error(invalid_argument) when the file has no such section.
inline std::string reseal(const std::string& bytes, const std::string& tag,
                          const std::function<std::string(std::string)>& mutate) {
  ModelReader reader = ModelReader::from_bytes(bytes, "<reseal>");
  if (!reader.has(tag)) {
    TAILOR_THROW(invalid_argument, "reseal: no section '" << tag << "'");
  }
  ModelWriter writer;
  writer.metadata() = reader.metadata();
  if (reader.header().contains("created_ms")) {
    writer.set_created(reader.header().at("created_ms").get<Timestamp>());
  }
  for (const SectionInfo& info : reader.sections()) {
    ByteReader payload = reader.section(info.tag);
    std::string raw(payload.bytes(payload.remaining()));
    if (info.tag == tag) raw = mutate(std::move(raw));
    writer.add_section(info.tag, std::move(raw), info.policy);
  }
  return writer.to_bytes();
}

/// reseal() with a typed edit: decodes the section as T, lets `edit` change it, encodes it.
template <class T, class Edit>
std::string reseal_as(const std::string& bytes, const std::string& tag, Edit edit) {
  return reseal(bytes, tag, [&](std::string raw) {
    ByteReader r(std::move(raw), "<reseal>");
    T value{};
    decode(r, value);
    edit(value);
    ByteWriter w;
    encode(w, value);
    return w.release();
  });
}

}  // namespace tailor::test
