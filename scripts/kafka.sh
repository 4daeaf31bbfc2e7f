#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft mode, one node) for development and tests.
#
#   scripts/kafka.sh fetch              download Apache Kafka from Maven Central into the cache
#                                       (once) and print the classpath file
#   scripts/kafka.sh start [PORT]       start a broker on 127.0.0.1:PORT (default: a free port) in
#                                       a temporary directory; prints "bootstrap 127.0.0.1:PORT"
#                                       once it is ready and runs until stopped (Ctrl-C), then
#                                       removes its directory
#
# `lightflusd dev-kafka` (librdkafka's mock cluster) is the quick default; this broker is the
# real thing: transactions, read_committed isolation, no 5 MiB partition limit (docs/kafka.md).
# Needs Java 17 and Maven. The cache is $LIGHTFLUS_KAFKA_CACHE (default
# ~/.cache/lightflus/kafka); the version is $LIGHTFLUS_KAFKA_VERSION (default below). Topics
# created automatically (on first use) get $LIGHTFLUS_KAFKA_PARTITIONS partitions (default 1).
set -euo pipefail

version="${LIGHTFLUS_KAFKA_VERSION:-4.1.1}"
cache="${LIGHTFLUS_KAFKA_CACHE:-${HOME}/.cache/lightflus/kafka}"
dir="${cache}/${version}"

log() { printf 'kafka: %s\n' "$*" >&2; }
die() {
  printf 'kafka: error: %s\n' "$*" >&2
  exit 1
}

# Downloads kafka_2.13 and its runtime dependencies into ${dir}/lib; writes ${dir}/classpath.
fetch() {
  if [[ -s ${dir}/classpath ]]; then
    printf '%s\n' "${dir}/classpath"
    return
  fi
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch Apache Kafka"
  command -v java >/dev/null || die "Java 17 is needed to run Apache Kafka"
  mkdir -p "${dir}"
  cat >"${dir}/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.lightflus</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>${version}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-nop</artifactId>
      <version>1.7.36</version>
    </dependency>
  </dependencies>
</project>
EOF
  log "fetching Apache Kafka ${version} (kafka_2.13) with Maven into ${dir}"
  (cd "${dir}" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="${dir}/lib") >&2 || die "mvn could not fetch org.apache.kafka:kafka_2.13:${version}"
  ls "${dir}"/lib/*.jar | tr '\n' ':' | sed 's/:$//' >"${dir}/classpath.tmp"
  mv "${dir}/classpath.tmp" "${dir}/classpath"
  printf '%s\n' "${dir}/classpath"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
  local port="${1:-$(free_port)}"
  local controller_port
  controller_port="$(free_port)"
  fetch >/dev/null
  local cp
  cp="$(cat "${dir}/classpath")"
  local work
  work="$(mktemp -d /tmp/lightflus-kafka-XXXXXX)"
  local pid=""
  cleanup() {
    if [[ -n ${pid} ]]; then
      kill "${pid}" 2>/dev/null || true
      wait "${pid}" 2>/dev/null || true
    fi
    rm -rf "${work}"
  }
  trap cleanup EXIT
  trap 'exit 0' INT TERM
  cat >"${work}/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controller_port}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${work}/data
num.partitions=${LIGHTFLUS_KAFKA_PARTITIONS:-1}
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
EOF
  java -cp "${cp}" kafka.tools.StorageTool format -t "$(java -cp "${cp}" kafka.tools.StorageTool \
    random-uuid)" -c "${work}/server.properties" --standalone >"${work}/format.log" 2>&1 ||
    java -cp "${cp}" kafka.tools.StorageTool format -t "lightflus-dev-cluster0" \
      -c "${work}/server.properties" >"${work}/format.log" 2>&1 ||
    die "formatting the KRaft storage failed: $(cat "${work}/format.log")"
  java -Xmx512m -cp "${cp}" kafka.Kafka "${work}/server.properties" >"${work}/server.log" 2>&1 &
  pid=$!
  local deadline=$((SECONDS + 60))
  until kcat -b "127.0.0.1:${port}" -L -m 1 >/dev/null 2>&1; do
    kill -0 "${pid}" 2>/dev/null || die "the broker exited: $(tail -20 "${work}/server.log")"
    ((SECONDS < deadline)) || die "the broker did not start within 60 s: $(tail -20 "${work}/server.log")"
    sleep 0.3
  done
  printf 'bootstrap 127.0.0.1:%s\n' "${port}"
  log "Apache Kafka ${version} (KRaft) in ${work}; Ctrl-C stops it and removes the directory"
  wait "${pid}"
}

case "${1:-}" in
  fetch) fetch ;;
  start)
    shift
    start "$@"
    ;;
  *)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
