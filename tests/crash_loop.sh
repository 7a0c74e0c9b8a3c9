#!/usr/bin/env bash
# Long crash runs: the SIGKILL tests of tests/test_crash.cpp (model saves, fsync-per-record event
# log) with many more kills than ctest's 200. Kill delays come from a seeded generator, but what
# a kill interrupts depends on timing, so every round explores different moments.
#
# Usage: tests/crash_loop.sh [BUILD_DIR] [TRIALS_PER_TEST] [ROUNDS]
#   BUILD_DIR        default: build (relative to the repository root)
#   TRIALS_PER_TEST  default: 5000 kills per test and round
#   ROUNDS           default: 1
# Exit status 0 when every round passed. Each round prints one summary line per test, e.g.
#   crash-model: 5000 kills, save ~19000 us, ...
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-build}"
trials="${2:-5000}"
rounds="${3:-1}"
[[ "$build" = /* ]] || build="$root/$build"
bin="$build/tests/test_crash"
if [[ ! -x "$bin" ]]; then
  echo "crash_loop.sh: $bin not found; build it with: cmake --build $build --target test_crash" >&2
  exit 1
fi
for ((round = 1; round <= rounds; round++)); do
  echo "round $round/$rounds: $trials trials per test"
  TAILOR_CRASH_TRIALS="$trials" "$bin" "[crash]~[faults]" --reporter compact
done
