#!/usr/bin/env bash
# Configures and builds Lightflus with Ninja.
#
#   scripts/build.sh [BUILD_DIR] [CMAKE_ARG...] [-- BUILD_ARG...]
#
#   BUILD_DIR   build folder, relative to the repository root unless absolute (default: build)
#   CMAKE_ARG   passed to the configure step, e.g. -DLIGHTFLUS_SANITIZE=ON
#   BUILD_ARG   passed to `cmake --build`, e.g. -- --target lightflus_core
#
# A new build folder gets CMAKE_BUILD_TYPE=RelWithDebInfo unless CMAKE_ARGs say otherwise; an
# existing one keeps its generator and cache, and CMAKE_ARGs update it. ccache is used when
# installed (the root CMakeLists.txt picks it up); with CI=true its cache is
# <repo>/.cache/ccache so that CI can keep it between runs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

build_dir="build"
if [[ $# -gt 0 && $1 != -* ]]; then
  build_dir="$1"
  shift
fi
[[ ${build_dir} == /* ]] || build_dir="${root}/${build_dir}"

cmake_args=()
build_args=()
while [[ $# -gt 0 ]]; do
  if [[ $1 == -- ]]; then
    shift
    build_args=("$@")
    break
  fi
  cmake_args+=("$1")
  shift
done

if [[ ${CI:-} == true ]]; then
  export CCACHE_DIR="${root}/.cache/ccache"
fi
# Paths under the repository are hashed relative to it, so clones in other folders share hits.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-${root}}"

configure_args=(-S "${root}" -B "${build_dir}")
if [[ ! -f ${build_dir}/CMakeCache.txt ]]; then
  configure_args+=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi

jobs="$(nproc 2>/dev/null || echo 2)"
echo "build: configuring ${build_dir} ${cmake_args[*]}"
# STATUS messages (found packages, ...) are left out; warnings and errors are shown.
cmake --log-level=WARNING "${configure_args[@]}" "${cmake_args[@]}"
echo "build: building ${build_dir} with ${jobs} jobs"
cmake --build "${build_dir}" --parallel "${jobs}" "${build_args[@]}"
