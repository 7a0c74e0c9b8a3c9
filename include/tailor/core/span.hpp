// tailor: Span, a view of contiguous values (pointer and count), the library's stand-in for
// C++20 std::span. Span<const T> is read-only; Span<T> lets the callee write.
//
// It converts implicitly from a std::vector, a std::array, an Eigen column or row vector of
// the same scalar, and (read-only spans, for call arguments only) a braced list. It never owns:
// the viewed values must outlive it, and a Span made from a braced list must not be stored (the
// list's array dies at the end of the full expression).
//
// Thread-safety: a plain value type; thread-compatible.
//
// **Example**:
//   tailor::Vector u = als.fold_in_user({3, 17, 42}, {2.f, 1.f, 5.f});
//   auto top = index.search(u, 10);   // Span<const float> from an Eigen vector
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

namespace tailor {

template <class T>
class Span {
  using Value = std::remove_const_t<T>;

 public:
  constexpr Span() noexcept = default;
  constexpr Span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}

  // NOLINTBEGIN(google-explicit-constructor): conversions are what a view is for.
  template <class V = Value, class = std::enable_if_t<std::is_same_v<V, Value>>>
  Span(std::vector<V>& v) noexcept : data_(v.data()), size_(v.size()) {}
  template <class V = Value, class = std::enable_if_t<std::is_const_v<T> && std::is_same_v<V, Value>>>
  Span(const std::vector<V>& v) noexcept : data_(v.data()), size_(v.size()) {}
  template <std::size_t N>
  Span(std::array<Value, N>& a) noexcept : data_(a.data()), size_(N) {}
  template <std::size_t N, class U = T, class = std::enable_if_t<std::is_const_v<U>>>
  Span(const std::array<Value, N>& a) noexcept : data_(a.data()), size_(N) {}
  template <int Rows, int Cols, int Options, int MaxRows, int MaxCols,
            class = std::enable_if_t<Rows == 1 || Cols == 1>>
  Span(Eigen::Matrix<Value, Rows, Cols, Options, MaxRows, MaxCols>& v) noexcept
      : data_(v.data()), size_(static_cast<std::size_t>(v.size())) {}
  template <int Rows, int Cols, int Options, int MaxRows, int MaxCols, class U = T,
            class = std::enable_if_t<std::is_const_v<U> && (Rows == 1 || Cols == 1)>>
  Span(const Eigen::Matrix<Value, Rows, Cols, Options, MaxRows, MaxCols>& v) noexcept
      : data_(v.data()), size_(static_cast<std::size_t>(v.size())) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"
#endif
  template <class U = T, class = std::enable_if_t<std::is_const_v<U>>>
  Span(std::initializer_list<Value> list) noexcept : data_(list.begin()), size_(list.size()) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  /// A writable span converts to a read-only one.
  template <class U, class = std::enable_if_t<std::is_const_v<T> && std::is_same_v<U, Value>>>
  constexpr Span(Span<U> other) noexcept : data_(other.data()), size_(other.size()) {}
  // NOLINTEND(google-explicit-constructor)

  constexpr T* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr T* begin() const noexcept { return data_; }
  constexpr T* end() const noexcept { return data_ + size_; }
  constexpr T& operator[](std::size_t i) const noexcept { return data_[i]; }
  /// The `count` values from `offset` (the caller keeps them in range).
  constexpr Span subspan(std::size_t offset, std::size_t count) const noexcept {
    return Span(data_ + offset, count);
  }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tailor
