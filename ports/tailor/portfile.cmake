# vcpkg overlay port of tailor, built from this repository itself (the port sits in
# <repo>/ports/tailor): `vcpkg install tailor --overlay-ports=<repo>/ports`.
set(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../..")

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    -DTAILOR_BUILD_TESTS=OFF
    -DTAILOR_BUILD_EXAMPLES=OFF
    -DTAILOR_BUILD_BENCHMARKS=OFF
    -DTAILOR_BUILD_FUZZERS=OFF
    -DTAILOR_BUILD_CLI=OFF
    -DTAILOR_INSTALL=ON)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(CONFIG_PATH lib/cmake/tailor)

file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug/include")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE" "${SOURCE_PATH}/NOTICE")
