#include "persistence/model_container.hpp"

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <limits>
#include <utility>

#include "internal/crc32c.hpp"
#include "internal/json.hpp"
#include "tailor/core/error.hpp"
#include "tailor/version.hpp"
#include "persistence/files.hpp"

namespace tailor {
namespace {

constexpr std::size_t kPreambleBytes = 24;
constexpr std::uint32_t kByteOrderMarker = 0x01020304u;
constexpr std::size_t kFrameFixedBytes = 16;  // flags, tag size, length
constexpr std::size_t kMaxTagBytes = 64;
constexpr int kMaxJsonDepth = 64;

using detail::get_u32;
using detail::get_u64;
using detail::put_u32;
using detail::put_u64;

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagBytes) return false;
  return std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
  });
}

std::string printable(std::string_view bytes) {
  std::string out;
  for (char c : bytes.substr(0, kMaxTagBytes)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F && c != '\'') {
      out += c;
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xFu];
    }
  }
  return out;
}

std::string iso_utc(Timestamp unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  if (gmtime_r(&secs, &tm) == nullptr) return "";
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}


}  // namespace

// ---------------------------------------------------------------------------------------------
// JSON

nlohmann::json parse_stored_json(std::string_view text, std::string_view context) {
  // The depth is checked by a linear scan first: nlohmann's callback parser (the other way to
  // limit depth) is quadratic in the elements of an array of objects.
  if (detail::json_nesting_depth(text) > kMaxJsonDepth) {
    TAILOR_THROW(corrupt_file, context << ": JSON nested deeper than " << kMaxJsonDepth
                                       << " levels");
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    TAILOR_THROW(corrupt_file, context << ": invalid JSON: " << e.what());
  }
}

// ---------------------------------------------------------------------------------------------
// ModelWriter

ModelWriter::ModelWriter() : metadata_(nlohmann::json::object()) {}

ByteWriter& ModelWriter::add_section(std::string tag, SectionPolicy policy) {
  if (!valid_tag(tag))
    TAILOR_THROW(invalid_argument, "ModelWriter::add_section: invalid tag '"
                                       << printable(tag)
                                       << "' (1 to 64 characters of A-Z a-z 0-9 . _ -)");
  if (has_section(tag))
    TAILOR_THROW(invalid_argument, "ModelWriter::add_section: section '" << tag << "' added twice");
  tags_.insert(tag);
  sections_.push_back(Section{std::move(tag), policy, ByteWriter{}});
  return sections_.back().payload;
}

void ModelWriter::add_section(std::string tag, std::string payload, SectionPolicy policy) {
  ByteWriter& w = add_section(std::move(tag), policy);
  w.bytes(payload.data(), payload.size());
}

bool ModelWriter::has_section(std::string_view tag) const {
  return tags_.find(tag) != tags_.end();
}

template <class Sink>
void ModelWriter::emit(Sink&& sink) const {
  if (!metadata_.is_object())
    TAILOR_THROW(invalid_argument, "ModelWriter: metadata must be a JSON object, got "
                                       << metadata_.type_name());
  const Timestamp created =
      created_ ? *created_
               : std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  nlohmann::json header = nlohmann::json::object();
  header["format"] = "tailor-model";
  header["library_version"] = library_version();
  header["created_ms"] = created;
  header["created"] = iso_utc(created);
  header["metadata"] = metadata_;
  nlohmann::json table = nlohmann::json::array();
  for (const Section& s : sections_)
    table.push_back({{"tag", s.tag},
                     {"length", s.payload.size()},
                     {"required", s.policy == SectionPolicy::required}});
  header["sections"] = std::move(table);
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    TAILOR_THROW(invalid_argument, "ModelWriter: metadata cannot be stored: " << e.what());
  }
  if (text.size() > std::numeric_limits<std::uint32_t>::max())
    TAILOR_THROW(invalid_argument, "ModelWriter: header of " << text.size() << " bytes is too large");

  char pre[kPreambleBytes];
  std::memcpy(pre, kModelFileMagic, 8);
  put_u32(pre + 8, kModelFormatVersion);
  put_u32(pre + 12, kByteOrderMarker);
  put_u32(pre + 16, static_cast<std::uint32_t>(text.size()));
  put_u32(pre + 20, detail::crc32c(text.data(), text.size(), detail::crc32c(pre, 20)));
  sink(pre, kPreambleBytes);
  sink(text.data(), text.size());

  for (const Section& s : sections_) {
    std::string frame(kFrameFixedBytes + s.tag.size() + 4, '\0');
    put_u32(frame.data(), static_cast<std::uint32_t>(s.policy));
    put_u32(frame.data() + 4, static_cast<std::uint32_t>(s.tag.size()));
    put_u64(frame.data() + 8, s.payload.size());
    std::memcpy(frame.data() + kFrameFixedBytes, s.tag.data(), s.tag.size());
    const std::size_t covered = kFrameFixedBytes + s.tag.size();
    put_u32(frame.data() + covered, detail::crc32c(frame.data(), covered));
    sink(frame.data(), frame.size());
    const std::string& payload = s.payload.data();
    sink(payload.data(), payload.size());
    char crc[4];
    put_u32(crc, detail::crc32c(payload.data(), payload.size()));
    sink(crc, 4);
  }
}

std::string ModelWriter::to_bytes() const {
  std::string out;
  emit([&](const void* data, std::size_t size) {
    out.append(static_cast<const char*>(data), size);
  });
  return out;
}

void ModelWriter::save(const std::string& path, FileOps& ops) const {
  AtomicFileWriter out(path, ops);
  // Small pieces (frames, CRCs) are gathered so a save costs few system calls.
  std::string pending;
  constexpr std::size_t kGather = std::size_t{1} << 16;
  emit([&](const void* data, std::size_t size) {
    if (pending.size() + size <= kGather) {
      pending.append(static_cast<const char*>(data), size);
      return;
    }
    if (!pending.empty()) {
      out.write(pending);
      pending.clear();
    }
    if (size <= kGather) {
      pending.append(static_cast<const char*>(data), size);
    } else {
      out.write(data, size);
    }
  });
  if (!pending.empty()) out.write(pending);
  out.commit();
}

// ---------------------------------------------------------------------------------------------
// ModelReader

struct ModelReader::Source {
  virtual ~Source() = default;
  virtual std::uint64_t size() const = 0;
  virtual void read(std::uint64_t offset, void* out, std::size_t size) const = 0;
};

namespace {

class FileSource final : public ModelReader::Source {
 public:
  FileSource(const std::string& path, FileOps& ops)
      : file_(path, O_RDONLY, 0, ops), size_(file_.size()) {}
  std::uint64_t size() const override { return size_; }
  void read(std::uint64_t offset, void* out, std::size_t size) const override {
    file_.read_exact(offset, out, size);
  }

 private:
  File file_;
  std::uint64_t size_;
};

class MemorySource final : public ModelReader::Source {
 public:
  explicit MemorySource(std::string bytes) : bytes_(std::move(bytes)) {}
  std::uint64_t size() const override { return bytes_.size(); }
  void read(std::uint64_t offset, void* out, std::size_t size) const override {
    // Callers check bounds against size() first; this is the last line of defence.
    if (offset > bytes_.size() || size > bytes_.size() - offset)
      TAILOR_THROW(io_error, "read of " << size << " bytes at " << offset << " beyond the end");
    if (size > 0) std::memcpy(out, bytes_.data() + offset, size);
  }

 private:
  std::string bytes_;
};

}  // namespace

void ModelReaderOptions::validate() const {
  TAILOR_REQUIRE(max_header_bytes >= 2,
                 "ModelReaderOptions.max_header_bytes must be >= 2, got " << max_header_bytes);
  TAILOR_REQUIRE(max_section_bytes >= 1,
                 "ModelReaderOptions.max_section_bytes must be >= 1, got " << max_section_bytes);
  TAILOR_REQUIRE(max_sections >= 1,
                 "ModelReaderOptions.max_sections must be >= 1, got " << max_sections);
}

ModelReader::ModelReader(std::unique_ptr<Source> source, std::string name,
                         const ModelReaderOptions& options)
    : source_(std::move(source)), name_(std::move(name)), options_(options) {
  file_size_ = source_->size();
  parse();
}

ModelReader::ModelReader(ModelReader&&) noexcept = default;
ModelReader& ModelReader::operator=(ModelReader&&) noexcept = default;
ModelReader::~ModelReader() = default;

ModelReader ModelReader::open(const std::string& path, const ModelReaderOptions& options,
                              FileOps& ops) {
  options.validate();
  return ModelReader(std::make_unique<FileSource>(path, ops), path, options);
}

ModelReader ModelReader::from_bytes(std::string bytes, std::string name,
                                    const ModelReaderOptions& options) {
  options.validate();
  return ModelReader(std::make_unique<MemorySource>(std::move(bytes)), std::move(name), options);
}

void ModelReader::corrupt(std::uint64_t offset, std::string_view what) const {
  TAILOR_THROW(corrupt_file, name_ << ", offset " << offset << ": " << what);
}

void ModelReader::parse() {
  // Magic: compare what is there, so a short file that is not ours says "not a model file".
  char pre[kPreambleBytes];
  const std::size_t have = static_cast<std::size_t>(std::min<std::uint64_t>(file_size_, kPreambleBytes));
  source_->read(0, pre, have);
  if (std::memcmp(pre, kModelFileMagic, std::min<std::size_t>(have, 8)) != 0)
    corrupt(0, "not a tailor model file (bad magic bytes)");
  if (have < kPreambleBytes) {
    std::ostringstream os;
    os << "truncated: the file has " << file_size_ << " bytes, the preamble alone needs "
       << kPreambleBytes;
    corrupt(have, os.str());
  }
  version_ = get_u32(pre + 8);
  if (version_ != kModelFormatVersion)
    TAILOR_THROW(unsupported_version, name_ << ", offset 8: model format version " << version_
                                            << "; this build of tailor (" << library_version()
                                            << ") reads version " << kModelFormatVersion);
  const std::uint32_t marker = get_u32(pre + 12);
  if (marker != kByteOrderMarker) {
    if (marker == 0x04030201u)
      TAILOR_THROW(unsupported_version, name_ << ", offset 12: the file is big-endian; this build "
                                                 "reads little-endian model files");
    corrupt(12, "bad byte-order marker");
  }
  const std::uint64_t header_size = get_u32(pre + 16);
  if (header_size > options_.max_header_bytes) {
    std::ostringstream os;
    os << "header size " << header_size << " exceeds the limit of " << options_.max_header_bytes;
    corrupt(16, os.str());
  }
  if (header_size > file_size_ - kPreambleBytes) {
    std::ostringstream os;
    os << "truncated: header size " << header_size << " but only "
       << file_size_ - kPreambleBytes << " bytes follow the preamble";
    corrupt(16, os.str());
  }
  std::string text(static_cast<std::size_t>(header_size), '\0');
  source_->read(kPreambleBytes, text.data(), text.size());
  if (options_.verify_checksums) {
    const std::uint32_t stored = get_u32(pre + 20);
    const std::uint32_t actual = detail::crc32c(text.data(), text.size(), detail::crc32c(pre, 20));
    if (stored != actual) {
      std::ostringstream os;
      os << "header checksum mismatch (stored 0x" << std::hex << stored << ", computed 0x"
         << actual << ")";
      corrupt(20, os.str());
    }
  }
  header_ = parse_stored_json(text, name_ + ", offset 24: header");
  if (!header_.is_object()) corrupt(kPreambleBytes, "header is not a JSON object");
  if (auto it = header_.find("metadata"); it != header_.end()) {
    if (!it->is_object()) corrupt(kPreambleBytes, "header field 'metadata' is not an object");
    metadata_ = *it;
  } else {
    metadata_ = nlohmann::json::object();
  }
  const auto table = header_.find("sections");
  if (table == header_.end() || !table->is_array())
    corrupt(kPreambleBytes, "header has no 'sections' array");

  // Frames.
  std::uint64_t pos = kPreambleBytes + header_size;
  while (pos < file_size_) {
    const std::uint64_t frame_offset = pos;
    if (sections_.size() >= options_.max_sections) {
      std::ostringstream os;
      os << "more than " << options_.max_sections << " sections";
      corrupt(pos, os.str());
    }
    const std::uint64_t left = file_size_ - pos;
    if (left < kFrameFixedBytes) {
      std::ostringstream os;
      os << "truncated section frame: " << left << " bytes left, a frame needs at least "
         << kFrameFixedBytes + 1 + 4 + 4;
      corrupt(pos, os.str());
    }
    char fixed[kFrameFixedBytes + kMaxTagBytes + 4];
    source_->read(pos, fixed, kFrameFixedBytes);
    const std::uint32_t flags = get_u32(fixed);
    const std::uint32_t tag_size = get_u32(fixed + 4);
    const std::uint64_t length = get_u64(fixed + 8);
    if (tag_size == 0 || tag_size > kMaxTagBytes) {
      std::ostringstream os;
      os << "section tag size " << tag_size << " is not in 1.." << kMaxTagBytes;
      corrupt(pos + 4, os.str());
    }
    if (left < kFrameFixedBytes + tag_size + 4) {
      std::ostringstream os;
      os << "truncated section frame: " << left << " bytes left, the frame needs "
         << kFrameFixedBytes + tag_size + 4;
      corrupt(pos, os.str());
    }
    source_->read(pos + kFrameFixedBytes, fixed + kFrameFixedBytes, tag_size + 4);
    const std::string tag(fixed + kFrameFixedBytes, tag_size);
    const std::size_t covered = kFrameFixedBytes + tag_size;
    if (options_.verify_checksums) {
      const std::uint32_t stored = get_u32(fixed + covered);
      if (stored != detail::crc32c(fixed, covered))
        corrupt(pos, "section frame checksum mismatch (tag bytes '" + printable(tag) + "')");
    }
    if (!valid_tag(tag)) corrupt(pos + kFrameFixedBytes, "invalid section tag '" + printable(tag) + "'");
    if (find(tag) != nullptr) corrupt(pos, "section '" + tag + "' appears twice");
    pos += covered + 4;
    const std::uint64_t after = file_size_ - pos;  // payload and its CRC must fit here
    if (length > options_.max_section_bytes) {
      std::ostringstream os;
      os << "section '" << tag << "': length " << length << " exceeds the limit of "
         << options_.max_section_bytes;
      corrupt(frame_offset + 8, os.str());
    }
    if (after < 4 || length > after - 4) {
      std::ostringstream os;
      os << "section '" << tag << "': truncated: length " << length << " plus its 4-byte CRC, but only "
         << after << " bytes left in the file";
      corrupt(frame_offset + 8, os.str());
    }
    SectionInfo info;
    info.tag = tag;
    info.flags = flags;
    info.policy = (flags & 1u) ? SectionPolicy::required : SectionPolicy::optional;
    info.frame_offset = frame_offset;
    info.offset = pos;
    info.length = length;
    char crc[4];
    source_->read(pos + length, crc, 4);
    info.crc = get_u32(crc);
    by_tag_.emplace(info.tag, sections_.size());
    sections_.push_back(std::move(info));
    pos += length + 4;
  }

  // The header's table must describe the frames exactly (it also catches a file cut at a
  // section boundary).
  if (table->size() != sections_.size()) {
    std::ostringstream os;
    os << "the header lists " << table->size() << " sections, the file holds "
       << sections_.size() << (table->size() > sections_.size() ? " (truncated?)" : "");
    corrupt(file_size_, os.str());
  }
  for (std::size_t i = 0; i < sections_.size(); ++i) {
    const nlohmann::json& e = (*table)[i];
    const SectionInfo& s = sections_[i];
    const auto tag = e.find("tag");
    const auto length = e.find("length");
    const auto required = e.find("required");
    const bool ok = e.is_object() && tag != e.end() && tag->is_string() &&
                    tag->get_ref<const std::string&>() == s.tag && length != e.end() &&
                    length->is_number_unsigned() && length->get<std::uint64_t>() == s.length &&
                    required != e.end() && required->is_boolean() &&
                    required->get<bool>() == (s.policy == SectionPolicy::required);
    if (!ok) {
      std::ostringstream os;
      os << "section " << i << " ('" << s.tag << "', " << s.length
         << " bytes) does not match the header's section table entry " << e.dump();
      corrupt(s.frame_offset, os.str());
    }
  }
}

const SectionInfo* ModelReader::find(std::string_view tag) const {
  const auto it = by_tag_.find(tag);
  return it == by_tag_.end() ? nullptr : &sections_[it->second];
}

ByteReader ModelReader::read_payload(const SectionInfo& info) {
  std::string payload(static_cast<std::size_t>(info.length), '\0');
  source_->read(info.offset, payload.data(), payload.size());
  if (options_.verify_checksums) {
    const std::uint32_t actual = detail::crc32c(payload.data(), payload.size());
    if (actual != info.crc) {
      std::ostringstream os;
      os << "section '" << info.tag << "': payload checksum mismatch (stored 0x" << std::hex
         << info.crc << ", computed 0x" << actual << ")";
      corrupt(info.offset, os.str());
    }
  }
  return ByteReader(std::move(payload), name_ + ": section '" + info.tag + "'", info.offset);
}

ByteReader ModelReader::section(std::string_view tag) {
  const SectionInfo* info = find(tag);
  if (info == nullptr) TAILOR_THROW(corrupt_file, name_ << ": missing section '" << tag << "'");
  ByteReader r = read_payload(*info);
  read_.emplace(tag);
  return r;
}

std::optional<ByteReader> ModelReader::optional_section(std::string_view tag) {
  if (!has(tag)) return std::nullopt;
  return section(tag);
}

void ModelReader::verify() {
  for (const SectionInfo& s : sections_) read_payload(s);
}

void ModelReader::finish() const {
  for (const SectionInfo& s : sections_) {
    if (s.policy == SectionPolicy::required && read_.find(s.tag) == read_.end())
      TAILOR_THROW(unsupported_version,
                   name_ << ", offset " << s.frame_offset << ": section '" << s.tag
                         << "' is required but this build of tailor (" << library_version()
                         << ") does not read it; the file needs a newer version");
  }
}

}  // namespace tailor
