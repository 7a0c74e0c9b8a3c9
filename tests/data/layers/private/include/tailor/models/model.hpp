// A fixture for the layer check: a public header that includes a private one (not allowed).
#pragma once
#include "internal/helper.hpp"
