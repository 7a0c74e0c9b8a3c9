# Checks that every #include in the library points down the layer order (docs/architecture.md).
#
#   cmake -DROOT=<source dir> -P cmake/CheckLayers.cmake
#
# A file's layer is its folder: include/tailor/<layer>/ and src/<layer>/. A file may include
# headers of its own layer and of the layers before it in TAILOR_LAYERS, never of a later one.
# src/internal (private helpers, namespace tailor::detail) sits just above core; public headers
# never include it (it is not installed). include/tailor/version.hpp counts as core, the
# umbrella include/tailor/tailor.hpp, the command line (src/cli) and its HTTP service (src/server)
# as above every layer.
# Prints every violation as file:line and fails when there is one.
cmake_minimum_required(VERSION 3.16)
if(NOT DEFINED ROOT)
  message(FATAL_ERROR "CheckLayers: pass -DROOT=<source dir>")
endif()

# The order, lowest first. Keep it equal to the list in docs/architecture.md.
set(TAILOR_LAYERS core internal stats data io retrieval models persistence evaluation experiments
    ranking monitoring serving)

function(_layer_rank name out)
  list(FIND TAILOR_LAYERS "${name}" _rank)
  set(${out} ${_rank} PARENT_SCOPE)
endfunction()

# The layer of a file, by its path relative to ROOT; "" for files outside the layered tree.
function(_file_layer rel out)
  if(rel MATCHES "^include/tailor/([a-z_]+)/")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  elseif(rel STREQUAL "include/tailor/version.hpp")
    set(${out} "core" PARENT_SCOPE)
  elseif(rel STREQUAL "include/tailor/tailor.hpp" OR rel MATCHES "^src/(cli|server)/")
    set(${out} "top" PARENT_SCOPE)
  elseif(rel MATCHES "^src/([a-z_]+)/")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

file(GLOB_RECURSE _files RELATIVE "${ROOT}"
     "${ROOT}/include/tailor/*.hpp" "${ROOT}/src/*.hpp" "${ROOT}/src/*.cpp")
set(_violations 0)
foreach(_rel IN LISTS _files)
  _file_layer("${_rel}" _from)
  if(_from STREQUAL "")
    continue()
  endif()
  if(NOT _from STREQUAL "top")
    _layer_rank("${_from}" _from_rank)
    if(_from_rank LESS 0)
      message(SEND_ERROR "${_rel}: folder '${_from}' is not a layer (add it to TAILOR_LAYERS in "
                         "cmake/CheckLayers.cmake and to docs/architecture.md)")
      math(EXPR _violations "${_violations} + 1")
      continue()
    endif()
  endif()
  file(STRINGS "${ROOT}/${_rel}" _lines)
  set(_n 0)
  foreach(_line IN LISTS _lines)
    math(EXPR _n "${_n} + 1")
    if(NOT _line MATCHES "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"]")
      continue()
    endif()
    set(_target "${CMAKE_MATCH_1}")
    if(_target MATCHES "^tailor/([a-z_]+)/")
      set(_to "${CMAKE_MATCH_1}")
    elseif(_target STREQUAL "tailor/version.hpp")
      set(_to "core")
    elseif(_target STREQUAL "tailor/tailor.hpp")
      set(_to "top")
    elseif(_target MATCHES "^([a-z_]+)/[^/]+\\.hpp$")
      set(_to "${CMAKE_MATCH_1}")   # a private header beside the sources of a layer, or a
      if(NOT IS_DIRECTORY "${ROOT}/src/${_to}")
        continue()                  # third-party one (nlohmann/json.hpp)
      endif()
    else()
      continue()                    # a system or third-party header
    endif()
    if(_rel MATCHES "^include/" AND NOT _target MATCHES "^tailor/")
      message(SEND_ERROR "${_rel}:${_n}: a public header includes the private '${_target}'")
      math(EXPR _violations "${_violations} + 1")
      continue()
    endif()
    if(_from STREQUAL "top")
      continue()
    endif()
    if(_to STREQUAL "top")
      message(SEND_ERROR "${_rel}:${_n}: includes the umbrella header '${_target}'")
      math(EXPR _violations "${_violations} + 1")
      continue()
    endif()
    _layer_rank("${_to}" _to_rank)
    if(_to_rank GREATER _from_rank)
      message(SEND_ERROR "${_rel}:${_n}: layer '${_from}' includes '${_target}' of the higher "
                         "layer '${_to}' (order: ${TAILOR_LAYERS})")
      math(EXPR _violations "${_violations} + 1")
    endif()
  endforeach()
endforeach()
list(LENGTH _files _count)
if(_violations GREATER 0)
  message(FATAL_ERROR "CheckLayers: ${_violations} include(s) point up the layer order")
endif()
message(STATUS "CheckLayers: ${_count} files, every include points down the layer order")
