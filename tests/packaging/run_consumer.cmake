# Builds and runs tests/packaging/consumer against freqcap one way (cmake -P).
# Inputs: MODE (find_package | add_subdirectory | fetchcontent),
#   FREQCAP_SOURCE_DIR, FREQCAP_BUILD_DIR (a configured and built freqcap tree,
#   installed for find_package), FREQCAP_VERSION, WORK_DIR, GENERATOR, CXX.
cmake_minimum_required(VERSION 3.25)

foreach(_var MODE FREQCAP_SOURCE_DIR FREQCAP_BUILD_DIR FREQCAP_VERSION WORK_DIR GENERATOR CXX)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: ${_var} is not set")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    string(REPLACE ";" " " _cmd "${ARGN}")
    message(FATAL_ERROR "[${MODE}] command failed (${_rc}): ${_cmd}")
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

set(_args
  -D "FREQCAP_CONSUMER_MODE=${MODE}"
  -D "FREQCAP_CONSUMER_EXPECTED_VERSION=${FREQCAP_VERSION}")

if(MODE STREQUAL "find_package")
  # Install the freqcap tree's library component into a private prefix.
  run("${CMAKE_COMMAND}" --install "${FREQCAP_BUILD_DIR}" --prefix "${WORK_DIR}/prefix"
      --component freqcap_development)
  foreach(_f include/freqcap/freqcap.hpp share/cmake/freqcap/freqcapConfig.cmake
             share/cmake/freqcap/freqcapConfigVersion.cmake share/cmake/freqcap/freqcapTargets.cmake
             share/cmake/freqcap/FindFFTW3.cmake share/cmake/freqcap/FindStb.cmake)
    if(NOT EXISTS "${WORK_DIR}/prefix/${_f}")
      message(FATAL_ERROR "[${MODE}] install did not produce ${_f}")
    endif()
  endforeach()
  list(APPEND _args -D "CMAKE_PREFIX_PATH=${WORK_DIR}/prefix" -D "CMAKE_FIND_USE_PACKAGE_REGISTRY=OFF")
elseif(MODE STREQUAL "add_subdirectory")
  list(APPEND _args -D "FREQCAP_CONSUMER_SOURCE_DIR=${FREQCAP_SOURCE_DIR}")
elseif(MODE STREQUAL "fetchcontent")
  # A source tarball holding only what a release needs; FetchContent gets it by URL.
  set(_tarball "${WORK_DIR}/freqcap-src.tar.gz")
  run("${CMAKE_COMMAND}" -E chdir "${FREQCAP_SOURCE_DIR}"
      "${CMAKE_COMMAND}" -E tar czf "${_tarball}" -- CMakeLists.txt cmake include LICENSE)
  file(SHA256 "${_tarball}" _sha)
  list(APPEND _args -D "FREQCAP_CONSUMER_URL=file://${_tarball}" -D "FREQCAP_CONSUMER_URL_SHA256=${_sha}")
else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

# Configure and build as a user would: no build type tricks, no -march.
run("${CMAKE_COMMAND}" -S "${CMAKE_CURRENT_LIST_DIR}/consumer" -B "${WORK_DIR}/build"
    -G "${GENERATOR}" -D "CMAKE_CXX_COMPILER=${CXX}" -D CMAKE_BUILD_TYPE=Release
    -D CMAKE_EXPORT_COMPILE_COMMANDS=ON ${_args})
run("${CMAKE_COMMAND}" --build "${WORK_DIR}/build")

# The consumer's compile command must carry freqcap's usage requirements
# (C++20, OpenMP) and nothing that ties it to the build machine's CPU.
file(READ "${WORK_DIR}/build/compile_commands.json" _commands)
string(REGEX MATCH "\"command\": \"[^\n]*main\\.cpp[^\n]*\"" _main_command "${_commands}")
if(_main_command STREQUAL "")
  message(FATAL_ERROR "[${MODE}] no compile command for main.cpp in compile_commands.json")
endif()
message(STATUS "[${MODE}] ${_main_command}")
if(_main_command MATCHES "-march|-mtune|-mavx")
  message(FATAL_ERROR "[${MODE}] consumer was compiled with a CPU-specific flag")
endif()
if(NOT _main_command MATCHES "-std=(c|gnu)\\+\\+(20|2a)")
  message(FATAL_ERROR "[${MODE}] consumer was not compiled as C++20")
endif()
if(NOT _main_command MATCHES "-fopenmp")
  message(FATAL_ERROR "[${MODE}] consumer did not get OpenMP from freqcap::freqcap")
endif()

execute_process(COMMAND "${WORK_DIR}/build/consumer" RESULT_VARIABLE _rc OUTPUT_VARIABLE _out)
message(STATUS "[${MODE}] consumer printed:\n${_out}")
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "[${MODE}] consumer exited with ${_rc}")
endif()
if(NOT _out MATCHES "freqcap ${FREQCAP_VERSION}\n.*consumer ok")
  message(FATAL_ERROR "[${MODE}] unexpected consumer output")
endif()
