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
