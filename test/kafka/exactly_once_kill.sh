#!/usr/bin/env bash
# The long variant of the kill -9 test of the exactly-once Kafka sink (kafka_kill_test.cpp):
# 1,000,000 records, the job killed with SIGKILL 12 times (every third time by itself between a
# checkpoint's write and its commit), restarted at parallelism 2 and 1 in turn, then a
# read_committed reader checks every key's sequence. Starts its own Kafka broker (Java 17,
# Maven; scripts/kafka.sh).
#
#   test/kafka/exactly_once_kill.sh [BUILD_DIR] [RECORDS] [KILLS]
#
# BUILD_DIR defaults to build; kafka_test must be built there.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-build}"
[[ ${build} == /* ]] || build="${root}/${build}"
export LIGHTFLUS_EO_RECORDS="${2:-1000000}"
export LIGHTFLUS_EO_KILLS="${3:-12}"
[[ -x ${build}/bin/kafka_test ]] || {
  echo "exactly_once_kill.sh: ${build}/bin/kafka_test is missing (build the kafka_test target)" >&2
  exit 2
}
exec "${build}/bin/kafka_test" \
  "an exactly-once Kafka job killed with SIGKILL again and again writes every record once" \
  --reporter compact
