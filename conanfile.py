"""Conan 2 recipe for tailor.

Build and package locally with `conan create .`; consumers then use
find_package(tailor CONFIG REQUIRED) and target tailor::tailor, as with a plain CMake install.
"""
import os
import re

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rmdir

required_conan_version = ">=2.0"


class TailorConan(ConanFile):
    name = "tailor"
    license = "Apache-2.0"
    description = ("In-process e-commerce recommendations for C++ backends: implicit ALS, "
                   "content and hybrid ranking, ANN serving.")
    topics = ("recommender", "collaborative-filtering", "als", "ann", "e-commerce")
    package_type = "library"
    settings = "os", "arch", "compiler", "build_type"
    # cli: also build and package the `tailor` command-line tool (its HTTP service needs
    # cpp-httplib from the system and is built only when CMake finds it).
    options = {"shared": [True, False], "fPIC": [True, False], "cli": [True, False]}
    default_options = {"shared": False, "fPIC": True, "cli": False}
    exports_sources = ("CMakeLists.txt", "cmake/*", "include/*", "src/*", "LICENSE", "NOTICE")

    def set_version(self):
        header = load(self, os.path.join(self.recipe_folder, "include", "tailor", "version.hpp"))
        parts = [re.search(rf"#define TAILOR_VERSION_{p} (\d+)", header).group(1)
                 for p in ("MAJOR", "MINOR", "PATCH")]
        self.version = ".".join(parts)

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def configure(self):
        if self.options.shared:
            self.options.rm_safe("fPIC")

    def requirements(self):
        # Public headers include Eigen and nlohmann/json; hnswlib (header-only) and zlib are used
        # only inside the library.
        self.requires("eigen/3.4.0", transitive_headers=True)
        self.requires("nlohmann_json/3.11.3", transitive_headers=True)
        self.requires("hnswlib/0.8.0")
        self.requires("zlib/[>=1.2.11 <2]")

    def validate(self):
        from conan.tools.build import check_min_cppstd
        check_min_cppstd(self, 17)
        # What is built and tested: Linux on x86-64, and on ARM64 (CI cross-compiles and runs
        # the tests under qemu). macOS and Windows are not claimed until a tested port exists
        # (the durable file code uses Linux calls such as fdatasync and getauxval).
        if self.settings.os != "Linux":
            raise ConanInvalidConfiguration(f"tailor is built and tested on Linux only, not {self.settings.os}")
        if self.settings.arch not in ("x86_64", "armv8"):
            raise ConanInvalidConfiguration(
                f"tailor is built and tested on x86_64 and armv8 only, not {self.settings.arch}")

    def layout(self):
        cmake_layout(self)

    def generate(self):
        CMakeDeps(self).generate()
        tc = CMakeToolchain(self)
        for flag in ("TESTS", "EXAMPLES", "BENCHMARKS", "FUZZERS"):
            tc.cache_variables[f"TAILOR_BUILD_{flag}"] = False
        tc.cache_variables["TAILOR_BUILD_CLI"] = bool(self.options.cli)
        tc.cache_variables["TAILOR_INSTALL"] = True
        tc.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        copy(self, "NOTICE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        CMake(self).install()
        # CMakeDeps writes the consumers' config files; the installed ones would shadow them.
        rmdir(self, os.path.join(self.package_folder, "lib", "cmake"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "tailor")
        self.cpp_info.set_property("cmake_target_name", "tailor::tailor")
        self.cpp_info.libs = ["tailor"]
        self.cpp_info.requires = ["eigen::eigen", "hnswlib::hnswlib",
                                  "nlohmann_json::nlohmann_json", "zlib::zlib"]
        if self.settings.os in ("Linux", "FreeBSD"):
            self.cpp_info.system_libs = ["pthread", "m"]
