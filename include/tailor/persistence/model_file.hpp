// tailor: model files, the one file a Recommender saves and loads (Recommender::save / load).
//
// A model file is a versioned, checksummed container of named sections: magic bytes, the format
// version, a byte-order marker, a JSON header, then every section with its tag, length and a
// CRC-32C of its payload. docs/formats.md gives the layout byte by byte and the sections a
// Recommender writes. Every length is checked against the file size before anything is
// allocated; damage is reported as Error(corrupt_file) naming the file, section and byte offset,
// a newer format as Error(unsupported_version).
//
// This header offers what a host needs besides save and load: the format constants and
// inspect_model_file(), which checks a file and lists what is in it (the `tailor inspect` command).
//
// Thread-safety: inspect_model_file is thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/core/export.hpp"

namespace tailor {

/// The format version this build writes (and the newest it reads).
inline constexpr std::uint32_t kModelFormatVersion = 1;

/// The 8 magic bytes that open every model file.
inline constexpr char kModelFileMagic[8] = {'\x89', 'T', 'L', 'R', 'M', '\r', '\n', '\x1a'};

/// One section of a model file.
struct ModelFileSection {
  std::string tag;           ///< e.g. "als.item_factors"
  bool required = true;      ///< a reader that does not know the tag must refuse the file
  std::uint64_t offset = 0;  ///< first byte of the payload
  std::uint64_t length = 0;  ///< payload bytes
  std::uint32_t crc32c = 0;  ///< CRC-32C of the payload (verified by inspect_model_file)
};

/// What inspect_model_file found.
struct ModelFileInfo {
  std::string path;
  std::uint32_t format_version = 0;
  std::uint64_t file_size = 0;
  nlohmann::json header;    ///< the whole JSON header (library version, creation time, ...)
  nlohmann::json metadata;  ///< the writer's metadata object (a Recommender's counts and options)
  std::vector<ModelFileSection> sections;  ///< in file order
};

/// Reads `path`, verifies its header and every section's checksum, and lists its contents. Throws
/// Error(io_error), Error(corrupt_file) naming the section and offset, or
/// Error(unsupported_version).
TAILOR_API ModelFileInfo inspect_model_file(const std::string& path);

}  // namespace tailor
