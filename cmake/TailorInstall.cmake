# Install rules: headers, the library, the CLI (when built) and a relocatable CMake package.
include(CMakePackageConfigHelpers)

set(TAILOR_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/tailor" CACHE STRING
    "Where tailorConfig.cmake is installed, relative to the prefix")

install(TARGETS tailor EXPORT tailorTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET tailor_cli)
  # A shared libtailor is found from the installed CLI wherever the prefix is moved.
  file(RELATIVE_PATH _tailor_bin_to_lib "/${CMAKE_INSTALL_BINDIR}" "/${CMAKE_INSTALL_LIBDIR}")
  set_target_properties(tailor_cli PROPERTIES INSTALL_RPATH "$ORIGIN/${_tailor_bin_to_lib}")
  install(TARGETS tailor_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/tailor" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT tailorTargets NAMESPACE tailor:: DESTINATION ${TAILOR_CMAKE_DIR})

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/tailorConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/tailorConfig.cmake"
  INSTALL_DESTINATION ${TAILOR_CMAKE_DIR})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/tailorConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/tailorConfig.cmake"
  "${PROJECT_BINARY_DIR}/tailorConfigVersion.cmake"
  DESTINATION ${TAILOR_CMAKE_DIR})

# pkg-config, for builds that do not use CMake: `pkg-config --cflags --libs tailor`. zlib is
# private to libtailor: a static one needs it on every link, a shared one only with --static.
if(TAILOR_LIBRARY_TYPE STREQUAL "SHARED_LIBRARY")
  set(TAILOR_PC_REQUIRES_ZLIB "")
  set(TAILOR_PC_REQUIRES_PRIVATE "zlib")
else()
  set(TAILOR_PC_REQUIRES_ZLIB ", zlib")
  set(TAILOR_PC_REQUIRES_PRIVATE "")
endif()
file(RELATIVE_PATH TAILOR_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" TAILOR_PC_TO_PREFIX "${TAILOR_PC_TO_PREFIX}")
configure_file("${PROJECT_SOURCE_DIR}/cmake/tailor.pc.in" "${PROJECT_BINARY_DIR}/tailor.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/tailor.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" "${PROJECT_SOURCE_DIR}/NOTICE"
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/tailor)
