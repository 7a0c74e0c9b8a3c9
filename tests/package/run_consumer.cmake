# cmake -P script: builds and runs the consumer project (see CMakeLists.txt beside it).
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
if(MODE STREQUAL "find_package")
  # Stage the install in a folder of its own, then move it: the package must be relocatable.
  run(${CMAKE_COMMAND} --install "${TAILOR_BINARY_DIR}" --prefix "${WORK_DIR}/staged")
  file(RENAME "${WORK_DIR}/staged" "${WORK_DIR}/moved")
  run(${CMAKE_COMMAND} -S "${CONSUMER_SOURCE_DIR}" -B "${WORK_DIR}/build" ${CONSUMER_ARGS}
      -DTAILOR_CONSUMER_MODE=find_package "-DCMAKE_PREFIX_PATH=${WORK_DIR}/moved")
else()
  run(${CMAKE_COMMAND} -S "${CONSUMER_SOURCE_DIR}" -B "${WORK_DIR}/build" ${CONSUMER_ARGS}
      -DTAILOR_CONSUMER_MODE=subdirectory "-DTAILOR_SOURCE_DIR=${TAILOR_SOURCE_DIR}")
endif()
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build" --parallel 2)
run("${WORK_DIR}/build/consumer")

# The moved install also serves builds without CMake, through its tailor.pc.
if(MODE STREQUAL "find_package")
  find_program(PKG_CONFIG pkg-config)
  if(PKG_CONFIG)
    file(GLOB_RECURSE _pc "${WORK_DIR}/moved/*/tailor.pc")
    get_filename_component(_pc_dir "${_pc}" DIRECTORY)
    set(ENV{PKG_CONFIG_PATH} "${_pc_dir}")
    execute_process(COMMAND ${PKG_CONFIG} --cflags --libs tailor OUTPUT_VARIABLE _flags
                    OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "pkg-config --cflags --libs tailor failed (${rc})")
    endif()
    separate_arguments(_flags UNIX_COMMAND "${_flags}")
    run(${CXX} "${CONSUMER_SOURCE_DIR}/main.cpp" ${_flags} -o "${WORK_DIR}/consumer_pkg_config")
    run("${WORK_DIR}/consumer_pkg_config")
    message(STATUS "the pkg-config consumer ran")
  endif()
endif()

if(NOT MODE STREQUAL "subdirectory_shared")
  return()
endif()

# A shared libtailor with hidden visibility: the consumer and the CLI really load it, it exports
# the public API and nothing private, and the CLI built against it runs.
foreach(_tool READELF NM)
  if(NOT ${_tool})
    string(TOLOWER "${_tool}" _name)
    find_program(${_tool} ${_name})
  endif()
  if(NOT ${_tool})
    message(FATAL_ERROR "the shared-library checks need ${_tool}")
  endif()
endforeach()
set(_cli "${WORK_DIR}/build/tailor/tailor")
file(GLOB _so "${WORK_DIR}/build/tailor/libtailor.so.*.*.*")
if(NOT _so OR NOT EXISTS "${_cli}")
  message(FATAL_ERROR "no libtailor.so.X.Y.Z or tailor CLI in ${WORK_DIR}/build/tailor: "
                      "BUILD_SHARED_LIBS or TAILOR_BUILD_CLI did not reach tailor")
endif()
foreach(_exe "${WORK_DIR}/build/consumer" "${_cli}")
  execute_process(COMMAND ${READELF} -d "${_exe}" OUTPUT_VARIABLE _dynamic RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT _dynamic MATCHES "\\(NEEDED\\)[^\n]*\\[libtailor\\.so")
    message(FATAL_ERROR "${_exe} does not load libtailor.so (linked statically?):\n${_dynamic}")
  endif()
endforeach()

execute_process(COMMAND ${NM} -D -C --defined-only "${_so}" OUTPUT_VARIABLE _exports
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} -D -C --defined-only ${_so} failed (${rc})")
endif()
# Private: the namespaces and top-level classes of src/internal and the private src/<domain>
# headers (src/cli and src/server are the CLI's, not the library's), and the bundled hnswlib.
set(_private "hnswlib")
file(GLOB _private_headers "${TAILOR_SOURCE_DIR}/src/*/*.hpp")
list(FILTER _private_headers EXCLUDE REGEX "/src/(cli|server)/")
foreach(_header IN LISTS _private_headers)
  file(STRINGS "${_header}" _lines
       REGEX "^(namespace tailor::[a-z_:]+|class [A-Za-z0-9_]+|struct [A-Za-z0-9_]+)( |$)")
  foreach(_line IN LISTS _lines)
    if(_line MATCHES "^namespace tailor::([a-z_:]+)")
      list(APPEND _private "tailor::${CMAKE_MATCH_1}::")
    elseif(_line MATCHES "^(class|struct) ([A-Za-z0-9_]+)")
      list(APPEND _private "tailor::${CMAKE_MATCH_2}[^A-Za-z0-9_]")
    endif()
  endforeach()
endforeach()
list(REMOVE_DUPLICATES _private)
set(_leaks "")
foreach(_pattern IN LISTS _private)
  string(REGEX MATCHALL "[^\n]*${_pattern}[^\n]*" _found "${_exports}")
  foreach(_line IN LISTS _found)
    string(APPEND _leaks "  ${_line}\n")
  endforeach()
endforeach()
if(_leaks)
  message(FATAL_ERROR "libtailor.so exports private symbols (hidden visibility is off, or "
                      "TAILOR_API marks a private declaration):\n${_leaks}")
endif()
foreach(_public "typeinfo for tailor::Error" "typeinfo for tailor::ParseError"
                "tailor::Recommender::recommend(" "tailor::library_version()")
  string(FIND "${_exports}" "${_public}" _at)
  if(_at EQUAL -1)
    message(FATAL_ERROR "libtailor.so does not export '${_public}'")
  endif()
endforeach()
list(LENGTH _private _n_private)
message(STATUS "consumer and CLI load ${_so}; it exports the public API and none of "
               "${_n_private} private namespaces and classes")

# The CLI on the bundled Online Retail data, small models so that -O0 takes seconds: train and
# save, then serve the saved file to a known and an unknown shopper.
file(WRITE "${WORK_DIR}/options.json"
     [[{"ease": {"enabled": false}, "blend": {"validation_days": 0}, "als": {"factors": 8, "iterations": 2}}]])
run("${_cli}" fit --quiet --train "${RETAIL}" --user-col CustomerID --item-col StockCode
    --time-col InvoiceDate --value-col Quantity --lenient --config "${WORK_DIR}/options.json"
    --out "${WORK_DIR}/retail.tlm")
file(WRITE "${WORK_DIR}/users.csv" "user_id\n17850.0\nnobody-at-all\n")
execute_process(COMMAND "${_cli}" recommend --quiet --k 3 --model "${WORK_DIR}/retail.tlm"
                        --users "${WORK_DIR}/users.csv"
                OUTPUT_VARIABLE _recs RESULT_VARIABLE rc)
string(REGEX MATCHALL "\n(17850\\.0|nobody-at-all),[1-3]," _rows "${_recs}")
list(LENGTH _rows _n_rows)
if(NOT rc EQUAL 0 OR NOT _n_rows EQUAL 6)
  message(FATAL_ERROR "tailor recommend --model (${rc}) did not give 3 items to each of 2 "
                      "shoppers:\n${_recs}")
endif()
message(STATUS "the CLI trained, saved and served the bundled Online Retail data")
