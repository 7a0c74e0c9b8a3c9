// Includes Catch2 whether v2 (single header, as Debian 12 ships) or v3 is installed.
#pragma once
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
