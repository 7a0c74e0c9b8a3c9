// A fixture for the layer check: a core header that includes a serving header (not allowed).
#pragma once
#include "tailor/serving/high.hpp"
