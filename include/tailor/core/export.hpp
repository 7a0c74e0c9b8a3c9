// tailor: TAILOR_API, the mark on what a shared libtailor exports.
//
// A shared build compiles the library with hidden visibility (-fvisibility=hidden and
// -fvisibility-inlines-hidden, set in CMakeLists.txt), so libtailor.so exports only what carries
// this mark: every public class with out-of-line members, a vtable or that is thrown, and every
// non-inline free function declared under include/tailor. Private code (src/internal,
// tailor::detail, private src/<domain> headers) stays hidden. In a static build the mark changes
// nothing.
//
// Hand-written on purpose (no CMake GenerateExportHeader): the same header serves
// add_subdirectory, an install and Conan without a generated file in the build tree. tailor is
// built on Linux only; other compilers get an empty mark (MSVC would need dllexport/dllimport).
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define TAILOR_API __attribute__((visibility("default")))
#else
#define TAILOR_API
#endif
