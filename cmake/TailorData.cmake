# Locates the real public data sets that quality tests and benchmarks read.
#
# TAILOR_DATA_DIR (cache or environment variable) points at a folder laid out like the project's
# shared data (ml-100k/, ml-latest-small/, ml-1m-partial/, online-retail/by-day/, ...); it
# defaults to ../shared/data beside the source tree. The bundled Online Retail file in
# examples/data/ is always available. A test that needs a data set is registered only when that
# data set is found here, and configure says which were found.
if(NOT DEFINED TAILOR_DATA_DIR)
  if(DEFINED ENV{TAILOR_DATA_DIR})
    set(_tailor_data_default "$ENV{TAILOR_DATA_DIR}")
  else()
    get_filename_component(_tailor_data_default "${PROJECT_SOURCE_DIR}/../shared/data" ABSOLUTE)
  endif()
  set(TAILOR_DATA_DIR "${_tailor_data_default}" CACHE PATH "Folder with the public data sets")
endif()

set(TAILOR_BUNDLED_RETAIL "${PROJECT_SOURCE_DIR}/examples/data/online-retail.csv.gz")

# name -> file whose presence means the data set is there
set(_tailor_datasets
  "ml100k|ml-100k/u.data"
  "ml-latest-small|ml-latest-small/ratings.csv"
  "ml1m|ml-1m-partial/ratings_pairs.tsv"
  "online-retail-by-day|online-retail/by-day/2011-12-09.csv"
  "amazon-magazines|amazon-2018-magazine-subscriptions/meta_Magazine_Subscriptions.json.gz"
  "completejourney|completejourney-sample/transactions_sample.csv"
  "yoochoose|yoochoose-rsc15-100k/yoochoose-clicks-100k_test.txt.gz")

set(TAILOR_DATASETS_FOUND "")
set(TAILOR_DATASETS_MISSING "")
foreach(_entry IN LISTS _tailor_datasets)
  string(REPLACE "|" ";" _pair "${_entry}")
  list(GET _pair 0 _name)
  list(GET _pair 1 _file)
  if(EXISTS "${TAILOR_DATA_DIR}/${_file}")
    list(APPEND TAILOR_DATASETS_FOUND "${_name}")
  else()
    list(APPEND TAILOR_DATASETS_MISSING "${_name}")
  endif()
endforeach()
message(STATUS "tailor: data directory ${TAILOR_DATA_DIR}")
message(STATUS "tailor: data sets found: ${TAILOR_DATASETS_FOUND}")
if(TAILOR_DATASETS_MISSING)
  message(STATUS "tailor: data sets missing (their tests are not registered): ${TAILOR_DATASETS_MISSING}")
endif()
