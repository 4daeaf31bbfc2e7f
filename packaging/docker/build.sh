#!/usr/bin/env bash
# Builds the lightflusd image from a lightflus .deb (`cmake --build build --target package`).
#
#   packaging/docker/build.sh DEB [TAG] [DOCKER_BUILD_ARG...]
#
# The build context is a temp folder holding only the .deb and the Dockerfile, so that docker
# does not send a whole build folder. TAG defaults to lightflus:<the package's version>.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 2
fi
deb=$1
shift
[[ -f ${deb} ]] || { echo "build.sh: no such .deb: ${deb}" >&2; exit 1; }
tag="lightflus:$(dpkg-deb --field "${deb}" Version)"
if [[ $# -gt 0 ]]; then
  tag=$1
  shift
fi

context=$(mktemp -d)
trap 'rm -rf "${context}"' EXIT
# The Dockerfile copies lightflus_*.deb: keep Debian's file name whatever DEB is called.
cp "${deb}" "${context}/lightflus_$(dpkg-deb --field "${deb}" Version)_$(dpkg-deb --field "${deb}" Architecture).deb"
cp "${here}/Dockerfile" "${context}/Dockerfile"
docker build -t "${tag}" "$@" "${context}"
