# Findhnswlib
# -----------
# Finds the header-only hnswlib library (Debian's libhnswlib-dev ships headers and no CMake
# package). Prefers an upstream hnswlibConfig.cmake when one is installed.
#
# Imported target:  hnswlib::hnswlib
# Result variables: hnswlib_FOUND, hnswlib_INCLUDE_DIRS
# Cache variable:   hnswlib_INCLUDE_DIR (the directory that contains hnswlib/hnswlib.h)

find_package(hnswlib CONFIG QUIET)
if(hnswlib_FOUND AND TARGET hnswlib::hnswlib)
  return()
endif()

find_path(hnswlib_INCLUDE_DIR NAMES hnswlib/hnswlib.h)
mark_as_advanced(hnswlib_INCLUDE_DIR)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(hnswlib REQUIRED_VARS hnswlib_INCLUDE_DIR)

if(hnswlib_FOUND)
  set(hnswlib_INCLUDE_DIRS "${hnswlib_INCLUDE_DIR}")
  if(NOT TARGET hnswlib::hnswlib)
    add_library(hnswlib::hnswlib INTERFACE IMPORTED)
    set_target_properties(hnswlib::hnswlib PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${hnswlib_INCLUDE_DIR}")
  endif()
endif()
