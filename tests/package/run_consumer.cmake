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
