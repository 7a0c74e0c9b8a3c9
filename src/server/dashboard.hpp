// tailor server: the dashboard page served at GET / (src/server/dashboard.html, embedded at build
// time by CMake, so the page ships inside the executable with no build step of its own).
//
// Thread-safety: returns a reference to an immutable string.
#pragma once

#include <string>

namespace tailor::server {

/// The HTML of the dashboard (static HTML and JavaScript; it reads /v1/status,
/// /v1/experiments and /v1/recommendations).
const std::string& dashboard_html();

}  // namespace tailor::server
