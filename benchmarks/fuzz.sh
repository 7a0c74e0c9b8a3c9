#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed time from a copy of its saved corpus and records what the
# run did in benchmarks/results/fuzz.<target>[.<tag>].jsonl, for benchmarks/report.py
# (docs/quality.md#fuzzing).
#
#   benchmarks/fuzz.sh TARGET [--seconds N] [--build DIR] [--tag T] [--no-report]
#
#   TARGET     recommender_load, model_file, csv or jsonl (tests/fuzz/fuzz_TARGET.cpp)
#   --seconds  fuzzing time, default 600
#   --build    a fuzz build of this tree (default build/fuzz: `cmake --preset fuzz &&
#              cmake --build build/fuzz --target fuzz_TARGET`)
#   --tag T    a second run adds a file instead of replacing the first
#
# The result line holds executions, executions per second, corpus growth, peak memory and the
# number of findings (0, or 1 with the crashing input's path: libFuzzer stops at the first).
# A finding also makes this script exit 1. The corpus copy is left in the build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
target=""
seconds=600
build=build/fuzz
tag=""
report=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds=$2; shift ;;
    --build) build=$2; shift ;;
    --tag) tag=".$2"; shift ;;
    --no-report) report=0 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    *) target=$1 ;;
  esac
  shift
done
[[ -n $target ]] || { echo "fuzz.sh: name a target (see --help)" >&2; exit 2; }
exe="$build/tests/fuzz/fuzz_$target"
[[ -x $exe ]] || { echo "fuzz.sh: $exe not built (cmake --build $build --target fuzz_$target)" >&2; exit 1; }
[[ -d tests/fuzz/corpus/$target ]] || { echo "fuzz.sh: no corpus tests/fuzz/corpus/$target" >&2; exit 1; }

work="$build/fuzz-runs/$target"
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts" benchmarks/results
cp tests/fuzz/corpus/"$target"/* "$work/corpus/"
seeds=$(ls "$work/corpus" | wc -l)
# Inputs up to twice the largest seed, and at least 4 KiB.
max_len=$(( $(stat -c %s "$work"/corpus/* | sort -n | tail -1) * 2 ))
(( max_len < 4096 )) && max_len=4096
load=$(cut -d' ' -f1 /proc/loadavg)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
status=0
"$exe" -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" > "$work/log.txt" 2>&1 || status=$?
out="benchmarks/results/fuzz.$target$tag.jsonl"
python3 - "$work" "$target" "$seconds" "$max_len" "$seeds" "$status" "$load" "$started" "$out" <<'PY'
import glob, json, os, re, subprocess, sys
work, target, seconds, max_len, seeds, status, load, started, out = sys.argv[1:]
log = open(os.path.join(work, "log.txt"), errors="replace").read()
def stat(name):
    m = re.search(r"stat::%s:\s+(\d+)" % name, log)
    return int(m.group(1)) if m else None
cov = re.findall(r" cov: (\d+) ", log)
cpu = ""
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
def git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
artifacts = sorted(glob.glob(os.path.join(work, "artifacts", "*")))
row = {"bench": "fuzz", "target": target, "seconds": int(seconds), "max_len": int(max_len),
       "seeds": int(seeds), "executions": stat("number_of_executed_units"),
       "exec_per_sec": stat("average_exec_per_sec"), "new_units": stat("new_units_added"),
       "peak_rss_mb": stat("peak_rss_mb"), "coverage": int(cov[-1]) if cov else None,
       "findings": len(artifacts), "exit_status": int(status)}
if artifacts:
    row["artifact"] = artifacts[0]
meta = {"command": f"benchmarks/fuzz.sh {target} --seconds {seconds}", "date": started,
        "cpu": cpu, "cores": os.cpu_count(), "commit": git("rev-parse", "--short", "HEAD"),
        "loadavg_start": [float(load)], "build_type": "RelWithDebInfo, ASan+UBSan, libFuzzer"}
with open(out, "w") as f:
    f.write(json.dumps({"meta": meta}) + "\n")
    f.write(json.dumps(row) + "\n")
    f.write(json.dumps({"end": {"seconds": int(seconds), "status": int(status)}}) + "\n")
print(json.dumps(row))
PY
if [[ $report == 1 ]]; then python3 benchmarks/report.py; fi
if [[ $status != 0 ]]; then
  echo "fuzz.sh: the fuzzer stopped with status $status: see $work/log.txt" >&2
  exit 1
fi
