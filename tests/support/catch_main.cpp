// The main() of every Catch2 v2 test executable (v3 brings its own Catch2WithMain).
#define CATCH_CONFIG_MAIN
#include "catch.hpp"
