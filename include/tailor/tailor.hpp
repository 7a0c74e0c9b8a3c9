// tailor: umbrella header. Includes every public component.
#pragma once

#include "tailor/error.hpp"
#include "tailor/event.hpp"
#include "tailor/id_map.hpp"
#include "tailor/version.hpp"
