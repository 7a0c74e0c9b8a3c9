// Includes Catch2 whether v2 (single header, as Debian 12 ships) or v3 is installed. The tests
// are written in v2's spelling; for v3 the names it moved are brought back here: the global
// Approx, and the string matchers Catch::Contains and Catch::StartsWith.
#pragma once
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>

#include <string>

namespace Catch {
using Matchers::StartsWith;
inline Matchers::StringContainsMatcher Contains(const std::string& text,
                                                CaseSensitive cs = CaseSensitive::Yes) {
  return Matchers::ContainsSubstring(text, cs);
}
}  // namespace Catch
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif
