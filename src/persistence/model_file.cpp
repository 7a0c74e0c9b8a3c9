#include "tailor/persistence/model_file.hpp"

#include "persistence/model_container.hpp"

namespace tailor {

ModelFileInfo inspect_model_file(const std::string& path) {
  ModelReader reader = ModelReader::open(path);
  reader.verify();
  ModelFileInfo info;
  info.path = path;
  info.format_version = reader.format_version();
  info.file_size = reader.file_size();
  info.header = reader.header();
  info.metadata = reader.metadata();
  for (const SectionInfo& s : reader.sections()) {
    info.sections.push_back(
        {s.tag, s.policy == SectionPolicy::required, s.offset, s.length, s.crc});
  }
  return info;
}

}  // namespace tailor
