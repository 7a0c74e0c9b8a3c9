#include "internal/bytes.hpp"

#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "tailor/core/error.hpp"

namespace tailor::detail {

// ---------------------------------------------------------------------------------------------
// ByteWriter

void ByteWriter::u16(std::uint16_t v) {
  u8(static_cast<std::uint8_t>(v & 0xFFu));
  u8(static_cast<std::uint8_t>(v >> 8));
}
void ByteWriter::u32(std::uint32_t v) {
  char b[4];
  put_u32(b, v);
  buf_.append(b, 4);
}
void ByteWriter::u64(std::uint64_t v) {
  char b[8];
  put_u64(b, v);
  buf_.append(b, 8);
}
void ByteWriter::f32(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, 4);
  u32(bits);
}
void ByteWriter::f64(double v) {
  std::uint64_t bits;
  std::memcpy(&bits, &v, 8);
  u64(bits);
}
void ByteWriter::string(std::string_view s) {
  if (s.size() > std::numeric_limits<std::uint32_t>::max())
    TAILOR_THROW(invalid_argument, "ByteWriter::string: " << s.size() << " bytes, at most 2^32 - 1");
  u32(static_cast<std::uint32_t>(s.size()));
  buf_.append(s.data(), s.size());
}
void ByteWriter::bytes(const void* data, std::size_t size) {
  buf_.append(static_cast<const char*>(data), size);
}
void ByteWriter::f32_array(const float* values, std::size_t count) {
  if (kHostLittleEndian) {
    bytes(values, count * sizeof(float));
  } else {
    for (std::size_t i = 0; i < count; ++i) f32(values[i]);
  }
}
void ByteWriter::u32_array(const std::uint32_t* values, std::size_t count) {
  if (kHostLittleEndian) {
    bytes(values, count * sizeof(std::uint32_t));
  } else {
    for (std::size_t i = 0; i < count; ++i) u32(values[i]);
  }
}

// ---------------------------------------------------------------------------------------------
// ByteReader

ByteReader::ByteReader(std::string payload, std::string context, std::uint64_t base_offset)
    : owned_(std::move(payload)), data_(owned_), context_(std::move(context)),
      base_offset_(base_offset) {}

ByteReader ByteReader::view(std::string_view bytes, std::string context,
                            std::uint64_t base_offset) {
  ByteReader r(std::string(), std::move(context), base_offset);
  r.data_ = bytes;
  return r;
}

// A moved std::string may move its bytes (short strings live inside the object), so an owning
// reader (owned_ not empty) points its view at its own copy again; a viewing one keeps its view.
ByteReader::ByteReader(ByteReader&& other) noexcept
    : owned_(std::move(other.owned_)),
      context_(std::move(other.context_)),
      base_offset_(other.base_offset_),
      pos_(other.pos_) {
  data_ = owned_.empty() ? other.data_ : std::string_view(owned_);
}

ByteReader& ByteReader::operator=(ByteReader&& other) noexcept {
  if (this != &other) {
    const std::string_view viewed = other.data_;
    owned_ = std::move(other.owned_);
    data_ = owned_.empty() ? viewed : std::string_view(owned_);
    context_ = std::move(other.context_);
    base_offset_ = other.base_offset_;
    pos_ = other.pos_;
  }
  return *this;
}

void ByteReader::fail(std::string_view what) const {
  TAILOR_THROW(corrupt_file, context_ << ", offset " << offset() << ": " << what);
}

const char* ByteReader::take(std::size_t size, std::string_view what) {
  if (size > remaining()) {
    std::ostringstream os;
    os << what << ": needs " << size << " bytes, only " << remaining() << " left";
    fail(os.str());
  }
  const char* p = data_.data() + pos_;
  pos_ += size;
  return p;
}

std::uint8_t ByteReader::u8() { return static_cast<std::uint8_t>(*take(1, "u8")); }
std::uint16_t ByteReader::u16() {
  const char* p = take(2, "u16");
  return static_cast<std::uint16_t>(static_cast<unsigned char>(p[0]) |
                                    (static_cast<unsigned char>(p[1]) << 8));
}
std::uint32_t ByteReader::u32() { return get_u32(take(4, "u32")); }
std::uint64_t ByteReader::u64() { return get_u64(take(8, "u64")); }
float ByteReader::f32() {
  const std::uint32_t bits = u32();
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}
double ByteReader::f64() {
  const std::uint64_t bits = u64();
  double v;
  std::memcpy(&v, &bits, 8);
  return v;
}
bool ByteReader::boolean() {
  const std::uint8_t b = u8();
  if (b > 1) {
    pos_ -= 1;
    fail("boolean byte is " + std::to_string(b) + ", not 0 or 1");
  }
  return b == 1;
}
std::string ByteReader::string() {
  const std::uint32_t size = u32();
  const char* p = take(size, "string");
  return std::string(p, size);
}
std::string_view ByteReader::bytes(std::size_t size) { return {take(size, "bytes"), size}; }

std::size_t ByteReader::checked_count(std::uint64_t count, std::size_t min_bytes_each,
                                      std::string_view what) {
  const std::size_t each = std::max<std::size_t>(min_bytes_each, 1);
  if (count > remaining() / each) {
    std::ostringstream os;
    os << what << ": count " << count << " needs at least " << each << " bytes each, only "
       << remaining() << " bytes left";
    fail(os.str());
  }
  return static_cast<std::size_t>(count);
}

void ByteReader::f32_array(float* out, std::size_t count) {
  checked_count(count, sizeof(float), "f32 array");
  const char* p = take(count * sizeof(float), "f32 array");
  if (kHostLittleEndian) {
    if (count > 0) std::memcpy(out, p, count * sizeof(float));
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint32_t bits = get_u32(p + 4 * i);
      std::memcpy(out + i, &bits, 4);
    }
  }
}

void ByteReader::u32_array(std::uint32_t* out, std::size_t count) {
  checked_count(count, sizeof(std::uint32_t), "u32 array");
  const char* p = take(count * sizeof(std::uint32_t), "u32 array");
  if (kHostLittleEndian) {
    if (count > 0) std::memcpy(out, p, count * sizeof(std::uint32_t));
  } else {
    for (std::size_t i = 0; i < count; ++i) out[i] = get_u32(p + 4 * i);
  }
}

void ByteReader::expect_end() const {
  if (remaining() != 0) fail(std::to_string(remaining()) + " unexpected bytes at the end");
}

}  // namespace tailor::detail
