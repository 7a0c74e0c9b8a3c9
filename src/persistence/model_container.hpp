// tailor (private): the model file container: a versioned, checksummed file of named sections.
//
// Layout (all integers little-endian; format version 1):
//
//   offset 0   magic        8 bytes  89 'T' 'L' 'R' 'M' 0D 0A 1A
//          8   version      u32      kModelFormatVersion
//         12   byte order   u32      0x01020304 (bytes 04 03 02 01)
//         16   header size  u32      H, at most ModelReaderOptions::max_header_bytes
//         20   header CRC   u32      CRC-32C of bytes 0..19 followed by the header text
//         24   header       H bytes  JSON object: "format", "library_version", "created_ms",
//                                    "created" (ISO-8601 UTC), "metadata" (the caller's object),
//                                    "sections" ([{"tag", "length", "required"}] in file order)
//   then, for each section:
//              flags        u32      bit 0: required (a reader that does not know the tag must
//                                    refuse the file); other bits reserved, written as 0
//              tag size     u32      T, 1..64
//              length       u64      L, payload bytes
//              tag          T bytes  [A-Za-z0-9._-], unique within the file
//              frame CRC    u32      CRC-32C of the 16 + T bytes above
//              payload      L bytes
//              payload CRC  u32      CRC-32C of the payload
//   and nothing after the last section.
//
// The reader checks, in this order and before allocating anything sized by the file: the magic
// (corrupt_file), the version (unsupported_version), the byte-order marker, the header size
// against the file size and the cap, the header CRC, the JSON, then every frame: its CRC, its
// tag, its length against the bytes left in the file and the section cap. Payload CRCs are
// checked when a section is read (or by verify()). Every failure is Error(corrupt_file) naming
// the file, the section tag where there is one, and the byte offset.
//
// Forward compatibility: a reader skips sections it does not ask for. A section flagged
// required that nobody read makes finish() throw unsupported_version, so an old build refuses
// a file whose meaning it would get wrong instead of serving it half understood.
//
// Components add their own sections through ModelWriter::add_section() and
// ModelReader::section(), encoding payloads with ByteWriter / ByteReader (internal/bytes.hpp) or the
// typed encoders of encoding.hpp; the container never needs to know about them. Tags are namespaced by
// convention: "als.user_factors", "catalog", "ids.users".
//
// Thread-safety: ByteWriter, ByteReader, ModelWriter and ModelReader are not thread-safe.
//
// **Example**:
//   tailor::ModelWriter w;
//   w.metadata()["name"] = "shop-42";
//   tailor::ByteWriter& s = w.add_section("demo.counts");
//   s.u64(3); s.u32(7);
//   w.save("model.tlm");                       // atomic: old or new file, never a mix
//
//   tailor::ModelReader r = tailor::ModelReader::open("model.tlm");
//   tailor::ByteReader p = r.section("demo.counts");
//   std::uint64_t n = p.u64(); std::uint32_t x = p.u32(); p.expect_end();
//   r.finish();                                 // no unknown required section left
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tailor/data/event.hpp"
#include "tailor/persistence/model_file.hpp"
#include "tailor/persistence/file_io.hpp"
#include "internal/bytes.hpp"

namespace tailor {

using detail::ByteReader;
using detail::ByteWriter;

/// Whether a reader that does not understand a section may ignore it.
enum class SectionPolicy : std::uint32_t {
  optional = 0,  ///< extra information; older readers skip it
  required = 1,  ///< the model is wrong without it; older readers must refuse the file
};

/// Builds a model file: a JSON metadata object plus named sections, then saves it atomically.
/// Payloads are kept in memory until save(). Not thread-safe.
class ModelWriter {
 public:
  ModelWriter();

  /// The caller's metadata, stored in the header under "metadata" (must stay a JSON object).
  nlohmann::json& metadata() noexcept { return metadata_; }

  /// Adds an empty section and returns its payload writer (valid for the writer's lifetime).
  /// Throws invalid_argument for a tag that is empty, longer than 64 bytes, uses characters
  /// outside [A-Za-z0-9._-], or was added before.
  ByteWriter& add_section(std::string tag, SectionPolicy policy = SectionPolicy::required);
  /// Adds a section with a ready payload.
  void add_section(std::string tag, std::string payload,
                   SectionPolicy policy = SectionPolicy::required);
  bool has_section(std::string_view tag) const;

  /// Sets the creation time recorded in the header (default: the time of save() / to_bytes()).
  void set_created(Timestamp unix_ms) { created_ = unix_ms; }

  /// The complete file contents.
  std::string to_bytes() const;
  /// Writes the file to `path` atomically (see AtomicFileWriter): afterwards `path` holds either
  /// its previous contents or this model. Throws Error(io_error) naming the path and the failed
  /// operation; the previous file is then untouched.
  void save(const std::string& path, FileOps& ops = system_file_ops()) const;

 private:
  struct Section {
    std::string tag;
    SectionPolicy policy;
    ByteWriter payload;
  };
  template <class Sink>
  void emit(Sink&& sink) const;

  std::deque<Section> sections_;  // deque: references returned by add_section() stay valid
  std::set<std::string, std::less<>> tags_;  // the tags of sections_
  nlohmann::json metadata_;
  std::optional<Timestamp> created_;
};

/// Limits the reader enforces before allocating. Defaults suit any model that fits in memory.
struct ModelReaderOptions {
  std::uint64_t max_header_bytes = std::uint64_t{16} << 20;   ///< 16 MiB; >= 2
  std::uint64_t max_section_bytes = std::uint64_t{64} << 30;  ///< 64 GiB per section; >= 1
  std::size_t max_sections = 65536;                           ///< >= 1
  /// Check the header, frame and payload CRCs. Turn off only to fuzz the decoders or to salvage
  /// a damaged file; bounds are checked either way.
  bool verify_checksums = true;

  /// Throws Error(invalid_argument) naming the first option out of range.
  void validate() const;
};

/// Where a section lies in its file.
struct SectionInfo {
  std::string tag;
  SectionPolicy policy = SectionPolicy::required;
  std::uint32_t flags = 0;          ///< the raw flags word
  std::uint64_t frame_offset = 0;   ///< first byte of the frame
  std::uint64_t offset = 0;         ///< first byte of the payload
  std::uint64_t length = 0;         ///< payload bytes
  std::uint32_t crc = 0;            ///< stored CRC-32C of the payload
};

/// Opens a model file, validates its header and section table, and hands out section payloads
/// (checksum-verified) on request. Not thread-safe.
class ModelReader {
 public:
  /// Opens and validates `path`. Throws Error(io_error) if it cannot be read,
  /// Error(corrupt_file) or Error(unsupported_version) as described in the file comment.
  static ModelReader open(const std::string& path, const ModelReaderOptions& options = {},
                          FileOps& ops = system_file_ops());
  /// The same from bytes in memory; `name` stands for the file name in errors.
  static ModelReader from_bytes(std::string bytes, std::string name = "<memory>",
                                const ModelReaderOptions& options = {});

  ModelReader(ModelReader&&) noexcept;
  ModelReader& operator=(ModelReader&&) noexcept;
  ~ModelReader();

  const std::string& name() const noexcept { return name_; }
  std::uint32_t format_version() const noexcept { return version_; }
  std::uint64_t file_size() const noexcept { return file_size_; }
  /// The whole JSON header.
  const nlohmann::json& header() const noexcept { return header_; }
  /// The caller's metadata object (empty when the file has none).
  const nlohmann::json& metadata() const noexcept { return metadata_; }
  /// All sections in file order.
  const std::vector<SectionInfo>& sections() const noexcept { return sections_; }

  bool has(std::string_view tag) const { return find(tag) != nullptr; }
  const SectionInfo* find(std::string_view tag) const;

  /// Reads the payload of `tag` and checks its CRC. Throws Error(corrupt_file) naming the tag when
  /// the section is missing or damaged.
  ByteReader section(std::string_view tag);
  /// Like section(), or nullopt when the file has no such section.
  std::optional<ByteReader> optional_section(std::string_view tag);

  /// Reads every payload and checks its CRC (whether or not this build understands it).
  void verify();
  /// Call after reading the sections this build understands: throws Error(unsupported_version)
  /// naming the first section flagged required that was never read.
  void finish() const;

  /// Implementation detail: where the bytes come from (a file or memory).
  struct Source;

 private:
  ModelReader(std::unique_ptr<Source> source, std::string name, const ModelReaderOptions& options);
  void parse();
  ByteReader read_payload(const SectionInfo& info);
  [[noreturn]] void corrupt(std::uint64_t offset, std::string_view what) const;

  std::unique_ptr<Source> source_;
  std::string name_;
  ModelReaderOptions options_;
  std::uint64_t file_size_ = 0;
  std::uint32_t version_ = 0;
  nlohmann::json header_;
  nlohmann::json metadata_;
  std::vector<SectionInfo> sections_;
  std::map<std::string, std::size_t, std::less<>> by_tag_;  // tag -> index in sections_
  std::set<std::string, std::less<>> read_;
};

/// Parses JSON text from a file (a header, a stored blob) with a nesting limit of 64; throws
/// Error(corrupt_file) "<context>: <parser message>" on bad or too deeply nested JSON.
nlohmann::json parse_stored_json(std::string_view text, std::string_view context);

}  // namespace tailor
