# libnode: the V8 that lightflus::js embeds.
#
# V8 comes from Debian's libnode108 (libnode.so.108, V8 10.2 inside) and libnode-dev (the V8
# headers under usr/include/node). Both conflict with the NodeSource `nodejs` package that our
# machines run, so they are never installed: at configure time this module runs
# `apt-get download libnode108 libnode-dev` (works as any user, no root needed) and unpacks the
# two .debs with `dpkg -x` into ${CMAKE_BINARY_DIR}/_deps/libnode. Binaries find
# libnode.so.108 there through their RUNPATH. What libnode.so.108 itself needs at run time
# (libuv1, libc-ares2, libicu72, ...) must be installed on the machine: see docs/v8.md.
#
# Result: the IMPORTED target lightflus::libnode (libnode.so + its include directory + rpath).
#
# Cache variables:
#   LIGHTFLUS_LIBNODE_DIR  a directory that already holds the unpacked packages (its usr/include/node
#                          and usr/lib/<multiarch>/libnode.so.108); empty (the default) downloads
#                          them into the build tree once.

set(LIGHTFLUS_LIBNODE_DIR "" CACHE PATH
    "Root of unpacked libnode108 + libnode-dev .debs (holds usr/include/node); empty: download")

# Downloads libnode108 and libnode-dev and unpacks both into `root` (once: a stamp file marks a
# complete unpack, so an interrupted download is redone rather than half used).
function(lightflus_download_libnode root)
  if(EXISTS ${root}/.lightflus-unpacked)
    return()
  endif()
  find_program(LIGHTFLUS_APT_GET apt-get)
  find_program(LIGHTFLUS_DPKG dpkg)
  if(NOT LIGHTFLUS_APT_GET OR NOT LIGHTFLUS_DPKG)
    message(FATAL_ERROR
            "lightflus::js needs V8 from Debian's libnode108/libnode-dev, fetched with apt-get and "
            "dpkg, which were not found. Unpack the two .debs yourself and pass "
            "-DLIGHTFLUS_LIBNODE_DIR=<dir>, or configure with -DLIGHTFLUS_WITH_V8=OFF.")
  endif()

  set(download_dir ${root}-download)
  file(REMOVE_RECURSE ${download_dir} ${root})
  file(MAKE_DIRECTORY ${download_dir})
  message(STATUS "lightflus: downloading libnode108 and libnode-dev with apt-get (not installed)")
  execute_process(COMMAND ${LIGHTFLUS_APT_GET} download libnode108 libnode-dev
                  WORKING_DIRECTORY ${download_dir}
                  RESULT_VARIABLE result
                  OUTPUT_VARIABLE output
                  ERROR_VARIABLE output)
  file(GLOB debs ${download_dir}/*.deb)
  list(LENGTH debs deb_count)
  if(NOT result EQUAL 0 OR NOT deb_count EQUAL 2)
    message(FATAL_ERROR
            "lightflus::js: `apt-get download libnode108 libnode-dev` failed (exit ${result}):\n"
            "${output}\n"
            "Check that the Debian bookworm main repository is configured and run "
            "`apt-get update`; or unpack the two .debs yourself (dpkg -x) and pass "
            "-DLIGHTFLUS_LIBNODE_DIR=<dir>; or configure with -DLIGHTFLUS_WITH_V8=OFF.")
  endif()

  foreach(deb ${debs})
    execute_process(COMMAND ${LIGHTFLUS_DPKG} -x ${deb} ${root}
                    RESULT_VARIABLE result
                    ERROR_VARIABLE output)
    if(NOT result EQUAL 0)
      message(FATAL_ERROR "lightflus::js: `dpkg -x ${deb} ${root}` failed:\n${output}")
    endif()
    execute_process(COMMAND ${LIGHTFLUS_DPKG} --field ${deb} Package Version
                    OUTPUT_VARIABLE fields
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    string(REPLACE "\n" " " fields "${fields}")
    file(APPEND ${root}/.lightflus-unpacked "${fields}\n")
  endforeach()
  file(REMOVE_RECURSE ${download_dir})
endfunction()

if(LIGHTFLUS_LIBNODE_DIR)
  set(LIGHTFLUS_LIBNODE_ROOT ${LIGHTFLUS_LIBNODE_DIR})
else()
  set(LIGHTFLUS_LIBNODE_ROOT ${CMAKE_BINARY_DIR}/_deps/libnode)
  lightflus_download_libnode(${LIGHTFLUS_LIBNODE_ROOT})
endif()

set(LIGHTFLUS_LIBNODE_INCLUDE_DIR ${LIGHTFLUS_LIBNODE_ROOT}/usr/include/node)
file(GLOB LIGHTFLUS_LIBNODE_LIBRARY ${LIGHTFLUS_LIBNODE_ROOT}/usr/lib/*/libnode.so.108
     ${LIGHTFLUS_LIBNODE_ROOT}/usr/lib/libnode.so.108)
list(LENGTH LIGHTFLUS_LIBNODE_LIBRARY library_count)
if(NOT EXISTS ${LIGHTFLUS_LIBNODE_INCLUDE_DIR}/v8.h OR NOT library_count EQUAL 1)
  message(FATAL_ERROR
          "lightflus::js: ${LIGHTFLUS_LIBNODE_ROOT} does not hold an unpacked libnode108 + "
          "libnode-dev (expected usr/include/node/v8.h and usr/lib/<multiarch>/libnode.so.108). "
          "Point LIGHTFLUS_LIBNODE_DIR at such a directory, or leave it empty to download.")
endif()
get_filename_component(LIGHTFLUS_LIBNODE_LIBRARY_DIR ${LIGHTFLUS_LIBNODE_LIBRARY} DIRECTORY)

if(NOT TARGET lightflus::libnode)
  add_library(lightflus::libnode SHARED IMPORTED GLOBAL)
  set_target_properties(lightflus::libnode PROPERTIES
    IMPORTED_LOCATION ${LIGHTFLUS_LIBNODE_LIBRARY}
    IMPORTED_SONAME libnode.so.108
    INTERFACE_INCLUDE_DIRECTORIES ${LIGHTFLUS_LIBNODE_INCLUDE_DIR}
    # CMake adds the build-tree rpath by itself; saying it explicitly keeps it when a project
    # sets CMAKE_SKIP_BUILD_RPATH, since libnode.so.108 is never installed system-wide.
    INTERFACE_LINK_OPTIONS "LINKER:-rpath,${LIGHTFLUS_LIBNODE_LIBRARY_DIR}")
endif()
message(STATUS "lightflus: V8 from ${LIGHTFLUS_LIBNODE_LIBRARY}")
