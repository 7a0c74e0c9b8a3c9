// tailor: the single source of the library version. CMake reads these three macros.
#pragma once

#include "tailor/core/export.hpp"

#define TAILOR_VERSION_MAJOR 0
#define TAILOR_VERSION_MINOR 1
#define TAILOR_VERSION_PATCH 0

#define TAILOR_DETAIL_STR2(x) #x
#define TAILOR_DETAIL_STR(x) TAILOR_DETAIL_STR2(x)
#define TAILOR_VERSION_STRING      \
  TAILOR_DETAIL_STR(TAILOR_VERSION_MAJOR) \
  "." TAILOR_DETAIL_STR(TAILOR_VERSION_MINOR) "." TAILOR_DETAIL_STR(TAILOR_VERSION_PATCH)

namespace tailor {

/// The version of the headers compiled into the caller, e.g. "0.1.0".
inline constexpr const char* version_string() noexcept { return TAILOR_VERSION_STRING; }

TAILOR_API  /// The version of the compiled libtailor the caller linked against. Differs from
    /// version_string() only when headers and library come from different installs.
    const char*
    library_version() noexcept;

}  // namespace tailor
