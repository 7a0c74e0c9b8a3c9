# Finds tailor's dependencies. Used by the build and, through find_dependency, by tailorConfig.cmake.
include(GNUInstallDirs)
find_package(Threads REQUIRED)

# Ask for Eigen without a version (Eigen 5's config rejects "3.3" requests) and check afterwards.
find_package(Eigen3 REQUIRED NO_MODULE)
if(DEFINED Eigen3_VERSION AND Eigen3_VERSION VERSION_LESS 3.3)
  message(FATAL_ERROR "tailor needs Eigen 3.3 or newer, found ${Eigen3_VERSION}")
endif()

find_package(hnswlib REQUIRED)          # cmake/Findhnswlib.cmake when no config package exists
find_package(nlohmann_json 3.2 REQUIRED)
find_package(ZLIB REQUIRED)
