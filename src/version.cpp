#include "tailor/version.hpp"

namespace tailor {

const char* library_version() noexcept { return TAILOR_VERSION_STRING; }

}  // namespace tailor
