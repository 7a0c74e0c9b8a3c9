#!/usr/bin/env bash
# Runs the benchmark set and the quality studies, one JSON-lines file per invocation, then
# benchmarks/report.py, which writes docs/benchmarks.md and docs/quality.md from those files.
#
#   benchmarks/run.sh [--quick] [--build DIR] [--only NAME[,NAME...]] [--no-report]
#
#   --build DIR  a release build of this tree (default build/release: `cmake --preset release &&
#                cmake --build --preset release`)
#   --quick      small sizes and no real-data quality tests, for a smoke run of the whole chain
#                (about five minutes). Its results and pages go to DIR/bench-quick/, never over
#                the committed ones in benchmarks/results/ and docs/.
#   --only       run only the named steps (csv, matrix, experiment, content, ranker, als, ann,
#                recommender-retail, serve-load, recommender-synthetic, quality-cli, demo,
#                session, quality-tests);
#                the other files in the results folder are kept, so the pages show every step.
#   --tag T      insert T into every results file name (bench_als.all.T.jsonl): a second run of
#                some steps then adds to the first instead of replacing it, and the pages show
#                the range over the runs.
#   --no-report  leave the pages alone.
#
# Each results file starts with {"meta": {...}} (command line, date, CPU model, commit, load
# average) and ends with {"end": {...}} (wall seconds, exit status). The full set takes about an
# hour on two cores, most of it in the million-item steps (ann, recommender-synthetic), which
# build an HNSW graph over a million vectors. TAILOR_BENCH_MODEL (default /tmp/tailor-1m.tlm)
# caches the million-item model: the first recommender-synthetic run trains and saves it, the
# second loads it.
#
# Data: bench_csv reads online-retail/by-day (else a synthetic file of the same shape), bench_als
# reads ml-1m-partial/ratings_pairs.tsv for its MovieLens rows, bench_content reads
# ml-latest-small, quality.sh needs ml-100k (its Online Retail part reads the bundled file),
# bench_session needs yoochoose-rsc15-100k, and the quality tests need ml-latest-small and ml-100k
# for their MovieLens cases; all from $TAILOR_DATA_DIR (default ../shared/data). A missing data
# set skips those rows; everything else uses the bundled Online Retail file or synthetic data.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=build/release
quick=0
only=""
report=1
tag=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --build) build=$2; shift ;;
    --only) only=",$2,"; shift ;;
    --tag) tag=".$2"; shift ;;
    --no-report) report=0 ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
export TAILOR_DATA_DIR=${TAILOR_DATA_DIR:-$(cd .. && pwd)/shared/data}
export TAILOR_BENCH_MODEL=${TAILOR_BENCH_MODEL:-/tmp/tailor-1m.tlm}
if [[ $quick == 1 ]]; then
  results="$build/bench-quick/results"
  docs="$build/bench-quick/docs"
else
  results=benchmarks/results
  docs=docs
fi
mkdir -p "$results" "$docs"
# The bundled Online Retail file, relative to the build folder the programs run in.
retail=$(realpath --relative-to="$build" examples/data/online-retail.csv.gz)
for exe in benchmarks/bench_als tailor examples/example_shop_demo; do
  [[ -x "$build/$exe" ]] || { echo "run.sh: $build/$exe not built (cmake --build --preset release)" >&2; exit 1; }
done

want() { [[ -z $only || $only == *",$1,"* ]]; }

# meta FILE COMMAND...: starts FILE with the meta line describing this run.
meta() {
  local file=$1; shift
  python3 - "$file" "$build" "$*" <<'PY'
import datetime, json, os, subprocess, sys
file, build, command = sys.argv[1], sys.argv[2], sys.argv[3]
cpu = ""
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
def git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
build_type = ""
try:
    for line in open(os.path.join(build, "CMakeCache.txt")):
        if line.startswith("CMAKE_BUILD_TYPE:"):
            build_type = line.split("=", 1)[1].strip()
except OSError:
    pass
mem_kib = 0
try:
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
except OSError:
    pass
meta = {
    "command": command,
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "cpu": cpu,
    "cores": os.cpu_count(),
    "memory_gib": round(mem_kib / 1048576, 1),
    "machine": "the 2-core, 24 GiB development machine",
    "commit": git("rev-parse", "HEAD"),
    # Whether the library, benchmark, test and example sources equal the commit (docs may differ).
    "code_clean": git("status", "--porcelain", "--", "include", "src", "tests", "examples",
                      "benchmarks/*.cpp", "benchmarks/*.hpp", "benchmarks/CMakeLists.txt",
                      "CMakeLists.txt", "cmake") == "",
    "build_type": build_type,
    "loadavg_start": open("/proc/loadavg").read().split()[:3],
}
with open(file, "w") as f:
    f.write(json.dumps({"meta": meta}) + "\n")
PY
}

# finish FILE START STATUS: ends FILE with the end line.
finish() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys, time
file, start, status = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
with open(file, "a") as f:
    f.write(json.dumps({"end": {"wall_s": round(time.time() - start, 1), "exit": status,
                                "loadavg_end": open("/proc/loadavg").read().split()[:3]}}) + "\n")
PY
}

# bench NAME FILE COMMAND...: runs COMMAND (a program in the build folder) into FILE.
bench() {
  local name=$1 file="$results/${2%.jsonl}$tag.jsonl"; shift 2
  want "$name" || return 0
  echo "== $name: $*" >&2
  meta "$file" "$@"
  local start status=0
  start=$(date +%s.%N)
  (cd "$build" && "$@") >> "$file" 2> "${file%.jsonl}.log" || status=$?
  finish "$file" "$start" "$status"
  [[ $status == 0 ]] || echo "run.sh: $name exited with $status (see $file)" >&2
}

# recorded NAME FILE COMMAND...: runs COMMAND with TAILOR_RESULTS pointing at FILE (the demo and
# the quality tests append their figures there; their own output goes to a log).
recorded() {
  local name=$1 file="$results/${2%.jsonl}$tag.jsonl"; shift 2
  want "$name" || return 0
  echo "== $name: $*" >&2
  meta "$file" "$@"
  local start status=0 abs
  abs=$(cd "$(dirname "$file")" && pwd)/$(basename "$file")
  start=$(date +%s.%N)
  (cd "$build" && TAILOR_RESULTS="$abs" "$@") > "${file%.jsonl}.log" 2>&1 || status=$?
  finish "$file" "$start" "$status"
  [[ $status == 0 ]] || echo "run.sh: $name exited with $status (see ${file%.jsonl}.log)" >&2
}

if [[ $quick == 1 ]]; then
  bench csv bench_csv.jsonl benchmarks/bench_csv
  bench matrix bench_matrix.200000.jsonl benchmarks/bench_matrix 200000 3
  bench experiment bench_experiment.jsonl benchmarks/bench_experiment
  bench content bench_content.retail.jsonl benchmarks/bench_content retail
  bench ranker bench_ranker.jsonl benchmarks/bench_ranker "$retail" 500
  bench als bench_als.ml1m.jsonl benchmarks/bench_als ml1m 2
  bench ann bench_ann.10000.jsonl benchmarks/bench_ann --sizes 10000 --queries 200 \
    --sections build,recall,latency,overhead,filtered
  bench recommender-retail bench_recommender.retail.jsonl benchmarks/bench_recommender retail
  recorded demo demo.jsonl examples/example_shop_demo "$retail"
else
  bench csv bench_csv.jsonl benchmarks/bench_csv
  bench matrix bench_matrix.jsonl benchmarks/bench_matrix
  bench experiment bench_experiment.jsonl benchmarks/bench_experiment
  bench content bench_content.all.jsonl benchmarks/bench_content all
  bench ranker bench_ranker.jsonl benchmarks/bench_ranker "$retail"
  bench als bench_als.all.jsonl benchmarks/bench_als all 2
  bench recommender-retail bench_recommender.retail.jsonl benchmarks/bench_recommender retail
  if want serve-load; then
    # The HTTP load (wrk; the build must include `tailor serve`): two runs each at 4 and 16
    # connections.
    echo "== serve-load: benchmarks/serve_load.sh" >&2
    file=$results/http_load$tag.jsonl
    meta "$file" benchmarks/serve_load.sh "$build"
    start=$(date +%s.%N); status=0
    for connections in 4 4 16 16; do
      benchmarks/serve_load.sh "$build" "$file" 20 "$connections" >> "${file%.jsonl}.log" 2>&1 || status=$?
    done
    finish "$file" "$start" "$status"
  fi
  bench ann bench_ann.1m.jsonl benchmarks/bench_ann --sizes 10000,100000,1000000 \
    --sections build,recall,latency,overhead,filtered
  # Twice: the first run trains the million-item model (and caches it), the second loads it;
  # the serving rows of both give the range quoted in docs/benchmarks.md.
  bench recommender-synthetic bench_recommender.synthetic.1.jsonl \
    benchmarks/bench_recommender synthetic 1000000
  bench recommender-synthetic bench_recommender.synthetic.2.jsonl \
    benchmarks/bench_recommender synthetic 1000000
  if want quality-cli; then
    echo "== quality-cli: benchmarks/quality.sh" >&2
    file=$results/quality.cli$tag.jsonl
    meta "$file" benchmarks/quality.sh "$build"
    start=$(date +%s.%N); status=0
    benchmarks/quality.sh "$build" "$TAILOR_DATA_DIR" "$file" > "${file%.jsonl}.log" 2>&1 || status=$?
    finish "$file" "$start" "$status"
  fi
  recorded demo demo.jsonl examples/example_shop_demo "$retail"
  bench session bench_session.yoochoose.jsonl benchmarks/bench_session
  recorded quality-tests tests.hybrid_quality.jsonl tests/test_hybrid_quality
  recorded quality-tests tests.content_encoder.jsonl tests/test_content_encoder "Cold start*"
  recorded quality-tests tests.incremental.jsonl tests/test_incremental "[incremental]"
fi

if [[ $report == 1 ]]; then
  python3 benchmarks/report.py --results "$results" --out "$docs"
fi
