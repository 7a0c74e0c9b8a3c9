# Cross-compiles tailor for 64-bit ARM Linux on a Debian x86-64 host:
#   apt-get install g++-aarch64-linux-gnu qemu-user
#   dpkg --add-architecture arm64 && apt-get update && apt-get install zlib1g-dev:arm64
# Eigen, hnswlib and nlohmann/json are header-only and taken from the host. Catch2 v2 is
# header-only too; a Catch2 v3 (a compiled library) must be an arm64 build: pass its prefix
# with -DCMAKE_PREFIX_PATH. Test programs run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR),
# so ctest works as on the host.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Debian's multiarch folders: libraries under /usr/lib/aarch64-linux-gnu.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
find_program(TAILOR_QEMU_AARCH64 qemu-aarch64)
if(TAILOR_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${TAILOR_QEMU_AARCH64};-L;/usr/aarch64-linux-gnu")
endif()
# pkg-config would report the host's libraries (the HTTP server's cpp-httplib is x86-64 only
# here): the cross build leaves the server out.
set(PKG_CONFIG_EXECUTABLE "" CACHE FILEPATH "no pkg-config in the cross build")
