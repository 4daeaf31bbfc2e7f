#!/usr/bin/env bash
# Builds Lightflus and runs all its tests; CI's entry point (.ci/run).
#
#   scripts/test.sh [--sanitize | --no-sanitize]
#
# Steps: scripts/setup.sh, scripts/build.sh into build/, ctest there, `npm test` in bindings/ts
# (when that package exists). With --sanitize, or when CI=true, it also builds build-asan/
# (Debug, -DLIGHTFLUS_SANITIZE=ON: AddressSanitizer + UBSan, benchmarks off) and runs ctest
# there, without the slow tests (ctest label `slow`, Catch2 tag [slow]). Every step runs even
# when an earlier one failed (only the sanitizer run is skipped when the first build failed); a
# summary ends the output, and the exit status is non-zero if anything failed.
#
# Environment: LIGHTFLUS_TEST_JOBS (ctest -j, default 2), LIGHTFLUS_TEST_TIMEOUT (seconds per
# test, default 300; doubled under the sanitizers), LIGHTFLUS_SKIP_SETUP=1 (skip setup.sh).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

sanitize=false
[[ ${CI:-} == true ]] && sanitize=true
for arg in "$@"; do
  case "${arg}" in
    --sanitize) sanitize=true ;;
    --no-sanitize) sanitize=false ;;
    -h | --help) usage; exit 0 ;;
    *) echo "test.sh: unknown argument '${arg}'" >&2; usage >&2; exit 2 ;;
  esac
done

test_jobs="${LIGHTFLUS_TEST_JOBS:-2}"
test_timeout="${LIGHTFLUS_TEST_TIMEOUT:-300}"

# Sanitizer reports must fail the test that triggers them: UBSan only prints by default.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

summary=()        # one line per step
any_failed=false
tests_passed=0    # ctest totals over all build folders
tests_failed=0
start_time=${SECONDS}

banner() { printf '\n==> %s\n' "$*"; }

# record NAME STATUS STARTED [DETAIL]
record() {
  local name=$1 status=$2 started=$3 detail=${4:-}
  summary+=("$(printf '  %-28s %-8s %5ss  %s' "${name}" "${status}" "$((SECONDS - started))" "${detail}")")
  [[ ${status} == FAILED ]] && any_failed=true
  return 0
}

print_summary() {
  local total=$((SECONDS - start_time)) mode="sanitizers off"
  ${sanitize} && mode="sanitizers on"
  printf '\n==================== Lightflus test summary ====================\n'
  printf '%s\n' "${summary[@]}"
  printf 'ctest: %d passed, %d failed\n' "${tests_passed}" "${tests_failed}"
  if ${any_failed}; then
    printf 'test.sh: FAILED after %ss (%s, CI=%s)\n' "${total}" "${mode}" "${CI:-}"
  else
    printf 'test.sh: all passed in %ss (%s, CI=%s)\n' "${total}" "${mode}" "${CI:-}"
  fi
}

# build_step DIR [CMAKE_ARG...]: returns non-zero when the build failed.
build_step() {
  local dir=$1 started=${SECONDS}
  shift
  banner "build ${dir}"
  if scripts/build.sh "${dir}" "$@"; then
    record "build ${dir}" ok "${started}"
  else
    record "build ${dir}" FAILED "${started}"
    return 1
  fi
}

# ctest_step DIR TIMEOUT NOTE [CTEST_ARG...]: NOTE goes into the summary line.
ctest_step() {
  local dir=$1 timeout=$2 note=$3 started=${SECONDS}
  shift 3
  banner "ctest ${dir} ${note}"
  local log="${dir}/ctest.log" status=ok
  ctest --test-dir "${dir}" --output-on-failure --no-tests=error -j "${test_jobs}" \
        --timeout "${timeout}" "$@" 2>&1 | tee "${log}" || status=FAILED
  # "100% tests passed, 0 tests failed out of 42"
  local line passed=0 failed=0 total
  line="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "${log}" | tail -n 1 || true)"
  if [[ -n ${line} ]]; then
    failed="$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"${line}")"
    total="$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"${line}")"
    passed=$((total - failed))
  fi
  tests_passed=$((tests_passed + passed))
  tests_failed=$((tests_failed + failed))
  record "ctest ${dir}" "${status}" "${started}" "${passed} passed, ${failed} failed ${note}"
}

# Prints a ctest -E regex matching the Catch2 test cases tagged [slow] in build folder DIR
# (nothing when there are none). Catch2 v2's catch_discover_tests registers one ctest test per
# test case, with the program as the command and the case's name as its first argument, but does
# not turn tags into labels; so ask each Catch2 program which of its cases are [slow].
slow_catch_tests_regex() {
  local dir=$1
  # shellcheck disable=SC2016 # a JavaScript program, not shell
  ctest --test-dir "${dir}" --show-only=json-v1 | node -e '
    const { execFileSync } = require("child_process");
    const fs = require("fs");
    const info = JSON.parse(fs.readFileSync(0, "utf8"));
    const byProgram = new Map();
    for (const test of info.tests) {
      const command = test.command || [];
      if (command.length < 2) continue;
      if (!byProgram.has(command[0])) byProgram.set(command[0], []);
      byProgram.get(command[0]).push({ name: test.name, arg: command[1] });
    }
    const slow = [];
    for (const [program, tests] of byProgram) {
      // Only Catch2 programs: never start another program (a server, cmake) with these arguments.
      let isCatch = false;
      try { isCatch = fs.readFileSync(program).includes("--list-test-names-only"); } catch {}
      if (!isCatch) continue;
      let listing = "";
      try {
        listing = execFileSync(program, ["[slow]", "--list-test-names-only"],
                               { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 60000 });
      } catch (e) {
        listing = e.stdout || "";  // Catch2 v2 exits with the number of test cases listed
      }
      const names = new Set(listing.split("\n").map((line) => line.trim()).filter(Boolean));
      for (const test of tests) {
        // catch_discover_tests escapes , [ ] in the argument with a backslash.
        if (names.has(test.arg.replace(/\\([,\[\]])/g, "$1"))) slow.push(test.name);
      }
    }
    // Exact names, each character that is not a letter or digit matched by ".".
    if (slow.length) console.log(slow.map((n) => "^" + n.replace(/[^A-Za-z0-9]/g, ".") + "$").join("|"));
  '
}

npm_step() {
  local package_dir=bindings/ts started=${SECONDS}
  [[ -f ${package_dir}/package.json ]] || return 0
  if ! (cd "${package_dir}" && node -e 'process.exit(require("./package.json").scripts?.test ? 0 : 1)'); then
    record "npm test ${package_dir}" skipped "${started}" "(package.json has no test script)"
    return 0
  fi
  banner "npm test in ${package_dir}"
  if (cd "${package_dir}" && npm test); then
    record "npm test ${package_dir}" ok "${started}"
  else
    record "npm test ${package_dir}" FAILED "${started}"
  fi
}

if [[ ${LIGHTFLUS_SKIP_SETUP:-} != 1 ]]; then
  started=${SECONDS}
  banner "setup"
  if scripts/setup.sh; then
    record setup ok "${started}"
  else
    record setup FAILED "${started}"
    print_summary
    exit 1
  fi
fi

# What this run uses (after setup, which may have installed it).
banner "Lightflus tests: $(nproc) cores, $(c++ --version | head -n 1)," \
  "cmake $(cmake --version | head -n 1 | cut -d' ' -f3), node $(node --version 2>/dev/null || echo none)"

main_build_ok=false
if build_step build; then
  main_build_ok=true
  ctest_step build "${test_timeout}" ""
fi
npm_step

if ${sanitize}; then
  if ! ${main_build_ok}; then
    record "sanitizer run" skipped "${SECONDS}" "(the build failed)"
  # Debug, not RelWithDebInfo: see "CI" in docs/building.md for the timings behind the choice.
  elif build_step build-asan -DLIGHTFLUS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
         -DLIGHTFLUS_BUILD_BENCH=OFF; then
    # Slow tests stay out of the sanitizer run: those labelled `slow` and Catch2's [slow] cases.
    sanitizer_ctest_args=(-LE slow)
    slow_regex="$(slow_catch_tests_regex build-asan)" || slow_regex=""
    slow_count=0
    if [[ -n ${slow_regex} ]]; then
      sanitizer_ctest_args+=(-E "${slow_regex}")
      slow_count="$(tr '|' '\n' <<<"${slow_regex}" | wc -l)"
    fi
    ctest_step build-asan "$((test_timeout * 2))" \
      "(without label slow and ${slow_count} [slow] Catch2 cases)" "${sanitizer_ctest_args[@]}"
  fi
fi

print_summary
if ${any_failed}; then
  exit 1
fi
