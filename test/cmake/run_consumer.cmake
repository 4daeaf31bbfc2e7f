# Builds and runs test/cmake/consumer; run by ctest as `cmake -DMODE=... -P run_consumer.cmake`.
#
#   MODE=package       cmake --install LIGHTFLUS_BUILD into WORK_DIR/prefix, then build the
#                      consumer with find_package(lightflus) and CMAKE_PREFIX_PATH=that prefix
#   MODE=subdirectory  build the consumer with add_subdirectory(LIGHTFLUS_ROOT)
#
# Other inputs: WORK_DIR (emptied first), CONSUMER_SOURCE, GENERATOR, MAKE_PROGRAM, CXX_COMPILER,
# CXX_COMPILER_LAUNCHER, CXX_FLAGS, CONFIG (the build type being tested).
cmake_minimum_required(VERSION 3.22)

foreach(required MODE WORK_DIR CONSUMER_SOURCE GENERATOR)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${required}=... is required")
  endif()
endforeach()
if(CONFIG STREQUAL "")
  set(CONFIG RelWithDebInfo)
endif()

# Runs a command, echoing it first; stops the test with its output when it fails.
function(run step)
  message(STATUS "[${MODE}] ${step}: ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "[${MODE}] ${step} failed (${result})")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

set(configure_args
    -S ${CONSUMER_SOURCE} -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=${CONFIG}
    "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${CXX_FLAGS}"
    -DLIGHTFLUS_CONSUMER_MODE=${MODE})
if(MAKE_PROGRAM)
  list(APPEND configure_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(CXX_COMPILER)
  list(APPEND configure_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
if(CXX_COMPILER_LAUNCHER)
  list(APPEND configure_args -DCMAKE_CXX_COMPILER_LAUNCHER=${CXX_COMPILER_LAUNCHER})
endif()

if(MODE STREQUAL "package")
  if(NOT IS_DIRECTORY "${LIGHTFLUS_BUILD}")
    message(FATAL_ERROR "run_consumer.cmake: -DLIGHTFLUS_BUILD=<build dir> is required")
  endif()
  set(prefix ${WORK_DIR}/prefix)
  run(install ${CMAKE_COMMAND} --install ${LIGHTFLUS_BUILD} --prefix ${prefix} --config ${CONFIG})
  foreach(expected include/lightflus/error.hpp)
    if(NOT EXISTS ${prefix}/${expected})
      message(FATAL_ERROR "[package] ${expected} was not installed")
    endif()
  endforeach()
  file(GLOB_RECURSE config_files ${prefix}/*/lightflusConfig.cmake)
  if(NOT config_files)
    message(FATAL_ERROR "[package] lightflusConfig.cmake was not installed")
  endif()
  # The consumer must find this prefix only: no package registry, no system copy first.
  list(APPEND configure_args -DCMAKE_PREFIX_PATH=${prefix} -DLIGHTFLUS_EXPECTED_PREFIX=${prefix}
       -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
elseif(MODE STREQUAL "subdirectory")
  if(NOT IS_DIRECTORY "${LIGHTFLUS_ROOT}")
    message(FATAL_ERROR "run_consumer.cmake: -DLIGHTFLUS_ROOT=<source dir> is required")
  endif()
  # V8 is not part of lightflus::core; skip unpacking libnode for this check.
  list(APPEND configure_args -DLIGHTFLUS_ROOT=${LIGHTFLUS_ROOT} -DLIGHTFLUS_WITH_V8=OFF)
else()
  message(FATAL_ERROR "run_consumer.cmake: MODE must be package or subdirectory, not '${MODE}'")
endif()

# --no-warn-unused-cli: LIGHTFLUS_WITH_V8 exists only once src/js does.
run(configure ${CMAKE_COMMAND} --no-warn-unused-cli ${configure_args})
run(build ${CMAKE_COMMAND} --build ${WORK_DIR}/build --config ${CONFIG})

find_program(consumer_exe consumer
             PATHS ${WORK_DIR}/build ${WORK_DIR}/build/${CONFIG} ${WORK_DIR}/build/bin
             NO_DEFAULT_PATH NO_CACHE REQUIRED)
run(run ${consumer_exe})
message(STATUS "[${MODE}] the consumer built and ran")
