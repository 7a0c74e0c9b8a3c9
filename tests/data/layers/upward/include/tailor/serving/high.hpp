// A fixture for the layer check: a serving header (may include anything below it).
#pragma once
#include "tailor/core/low.hpp"
