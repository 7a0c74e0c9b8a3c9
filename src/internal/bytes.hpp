// tailor internal: little-endian byte encoding, the one codec under every file format of the
// library (model files, the event log, stored ANN graphs).
//
// ByteWriter appends values to a byte string; ByteReader reads them back with every read
// checked against the bytes left (and every count checked before the caller allocates for it),
// reporting damage as Error(corrupt_file) "<context>, offset <n>: <what>". Integers and floats
// are little-endian whatever the host; floats are stored bit for bit.
//
// Thread-safety: ByteWriter and ByteReader are not thread-safe; the free functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tailor::detail {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
inline constexpr bool kHostLittleEndian = false;
#else
inline constexpr bool kHostLittleEndian = true;
#endif

/// Little-endian stores and loads at a raw pointer.
inline void put_u32(char* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}
inline void put_u64(char* p, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}
inline std::uint32_t get_u32(const char* p) noexcept {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
inline std::uint64_t get_u64(const char* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

/// Appends little-endian values to a byte string (a section payload). Not thread-safe.
class ByteWriter {
 public:
  void u8(std::uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v);
  void u32(std::uint32_t v);
  void u64(std::uint64_t v);
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void f32(float v);
  void f64(double v);
  void boolean(bool v) { u8(v ? 1 : 0); }
  /// A u32 byte count followed by the bytes. Throws invalid_argument above 4 GiB - 1.
  void string(std::string_view s);
  /// Raw bytes, no length.
  void bytes(const void* data, std::size_t size);
  void f32_array(const float* values, std::size_t count);
  void u32_array(const std::uint32_t* values, std::size_t count);

  std::size_t size() const noexcept { return buf_.size(); }
  const std::string& data() const noexcept { return buf_; }
  std::string release() noexcept { return std::move(buf_); }

 private:
  std::string buf_;
};

/// Reads little-endian values from a section payload with bounds checks. Every failure throws
/// Error(corrupt_file) "<context>, offset <absolute byte offset>: <what>". Not thread-safe.
class ByteReader {
 public:
  /// `context` names the data in errors (e.g. "model.tlm: section 'catalog'"); `base_offset` is
  /// the payload's position in its file, so errors report file offsets.
  explicit ByteReader(std::string payload, std::string context = "<bytes>",
                      std::uint64_t base_offset = 0);
  /// A reader over bytes it does not own (they must outlive the reader and stay unchanged).
  static ByteReader view(std::string_view bytes, std::string context = "<bytes>",
                         std::uint64_t base_offset = 0);
  ByteReader(ByteReader&& other) noexcept;
  ByteReader& operator=(ByteReader&& other) noexcept;
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  std::uint8_t u8();
  std::uint16_t u16();
  std::uint32_t u32();
  std::uint64_t u64();
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  float f32();
  double f64();
  /// A byte that must be 0 or 1.
  bool boolean();
  /// A u32 byte count and that many bytes (checked against the bytes left first).
  std::string string();
  /// The next `size` raw bytes (a view into the payload, valid while the reader lives).
  std::string_view bytes(std::size_t size);
  void f32_array(float* out, std::size_t count);
  void u32_array(std::uint32_t* out, std::size_t count);

  /// Checks that `count` elements of at least `min_bytes_each` bytes can still follow, so the
  /// caller may allocate `count` elements; returns count as size_t. `what` names the elements.
  std::size_t checked_count(std::uint64_t count, std::size_t min_bytes_each, std::string_view what);

  std::size_t remaining() const noexcept { return data_.size() - pos_; }
  /// Absolute offset of the next byte.
  std::uint64_t offset() const noexcept { return base_offset_ + pos_; }
  const std::string& context() const noexcept { return context_; }
  /// Throws corrupt_file if bytes are left over.
  void expect_end() const;
  /// Throws Error(corrupt_file) "<context>, offset <offset()>: <what>".
  [[noreturn]] void fail(std::string_view what) const;

 private:
  const char* take(std::size_t size, std::string_view what);

  std::string owned_;      // the payload when the reader owns it
  std::string_view data_;  // the bytes read: owned_, or the viewed bytes
  std::string context_;
  std::uint64_t base_offset_;
  std::size_t pos_ = 0;
};

}  // namespace tailor::detail
