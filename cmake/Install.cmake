# Installs lightflus::core and a CMake package config, so that another project can write
#
#   find_package(lightflus 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE lightflus::core)
#
# Layout (GNUInstallDirs): headers in include/lightflus, the library in lib (or lib64, ...),
# and lightflusConfig.cmake, lightflusConfigVersion.cmake, lightflusTargets.cmake in
# <libdir>/cmake/lightflus. Only the public API (include/lightflus) is installed; the warnings
# target and the build-only helpers are not.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(LIGHTFLUS_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/lightflus
    CACHE STRING "Where lightflusConfig.cmake is installed, relative to the prefix")

install(TARGETS lightflus_core
        EXPORT lightflusTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/lightflus
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")

# lightflus::js (V8 via a private libnode unpacked into the build tree) is not installed yet:
# its libnode.so would have to be installed beside it. When it is, add it to the export set
# here and a find_dependency for what it needs in lightflusConfig.cmake.in.
if(TARGET lightflus_js)
  message(STATUS "lightflus: lightflus_js is built but not installed (only lightflus::core is)")
endif()

install(EXPORT lightflusTargets
        FILE lightflusTargets.cmake
        NAMESPACE lightflus::
        DESTINATION ${LIGHTFLUS_INSTALL_CMAKEDIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/lightflusConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/lightflusConfig.cmake
                              INSTALL_DESTINATION ${LIGHTFLUS_INSTALL_CMAKEDIR})
# 0.x: a minor version may break the API, so only the same major.minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lightflusConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/lightflusConfig.cmake
              ${PROJECT_BINARY_DIR}/lightflusConfigVersion.cmake
        DESTINATION ${LIGHTFLUS_INSTALL_CMAKEDIR})
