#!/usr/bin/env bash
# HTTP load on `tailor serve` with a real load generator (wrk, Debian package `wrk`): Online
# Retail, 90% recommendations / 10% events (each event fsynced to the event log before its
# answer), wrk with 2 threads on the same 2-core machine as the server; CONNECTIONS default 16.
#
#   benchmarks/serve_load.sh BUILD_DIR [RESULTS_FILE] [SECONDS] [CONNECTIONS]
#
# Prints, and appends to RESULTS_FILE when given, one JSON line per run: {"bench": "http_load",
# requests/s, recommendations/s (90% of them), p50/p90/p99 latency over all requests, errors}
# and the server's own view of the same run: the in-process recommend() latency histogram
# (tailor_recommender_call_duration_seconds, bucket bounds) read from /metrics. The in-process
# throughput ceiling is bench_recommender retail (benchmarks/run.sh runs it in the same run).
set -euo pipefail
build=${1:?usage: serve_load.sh BUILD_DIR [RESULTS_FILE] [SECONDS] [CONNECTIONS]}
results=${2:-}
seconds=${3:-20}
connections=${4:-16}
root=$(cd "$(dirname "$0")/.." && pwd)
tailor=$(cd "$build" && pwd)/tailor
command -v wrk > /dev/null || { echo "serve_load.sh: needs wrk (apt install wrk)" >&2; exit 1; }
work=$(mktemp -d)
server_pid=""
cleanup() { [[ -n $server_pid ]] && kill "$server_pid" 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT

retail=(--user-col CustomerID --item-col StockCode --time-col InvoiceDate --value-col Quantity --lenient)
data=$root/examples/data/online-retail.csv.gz
"$tailor" fit --train "$data" "${retail[@]}" --out "$work/model.tlm" --quiet > /dev/null
# Shoppers and products of the data (the requests pick among them at random).
python3 - "$data" "$work" <<'PY'
import csv, gzip, json, sys
users, items = set(), set()
with gzip.open(sys.argv[1], "rt", encoding="utf-8", errors="replace") as f:
    for row in csv.DictReader(f):
        if row["CustomerID"]:
            users.add(row["CustomerID"])
        items.add(row["StockCode"])
for name, ids in (("users.txt", users), ("items.txt", items)):
    with open(f"{sys.argv[2]}/{name}", "w") as out:
        # JSON-safe IDs only: the script writes them into request bodies as they are.
        out.writelines(i + "\n" for i in sorted(ids) if json.dumps(i) == f'"{i}"')
PY

"$tailor" serve --model "$work/model.tlm" --event-log "$work/events.log" --port 0 --quiet \
  > "$work/serve.out" 2> "$work/serve.err" &
server_pid=$!
for _ in $(seq 1 120); do grep -q listening "$work/serve.out" 2> /dev/null && break; sleep 0.5; done
port=$(grep -o '[0-9]*$' "$work/serve.out")
url=http://127.0.0.1:$port
curl -sf "$url/readyz" > /dev/null
# Warm-up, then the measured run.
(cd "$work" && wrk -t2 -c"$connections" -d3s -s "$root/benchmarks/http/mix.lua" "$url" > /dev/null)
curl -sf "$url/metrics" > "$work/metrics.before"
line=$(cd "$work" && wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$root/benchmarks/http/mix.lua" "$url" | tail -1)
curl -sf "$url/metrics" > "$work/metrics.after"
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""

python3 - "$line" "$work/metrics.before" "$work/metrics.after" "$connections" "$seconds" <<'PY' | tee -a "${results:-/dev/null}"
import json, re, sys
run = json.loads(sys.argv[1])
def buckets(path):
    out = {}
    for line in open(path):
        m = re.match(r'tailor_recommender_call_duration_seconds_bucket\{operation="recommend",le="([^"]+)"\} (\S+)', line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out
before, after = buckets(sys.argv[2]), buckets(sys.argv[3])
counts = [(le, after[le] - before.get(le, 0.0)) for le in after]
total = counts[-1][1] if counts else 0.0
def bound(q):
    for le, c in counts:
        if total and c >= q * total:
            return None if le == "+Inf" else float(le) * 1000
    return None
run.update({"bench": "http_load", "dataset": "online-retail", "mix": "90% recommendations, 10% events",
            "wrk_threads": 2, "connections": int(sys.argv[4]), "duration_s": int(sys.argv[5]),
            "recommendations_per_s": round(run["requests_per_s"] * 0.9, 1),
            "in_process_recommend_calls": int(total),
            "in_process_p50_ms_at_most": bound(0.5), "in_process_p99_ms_at_most": bound(0.99)})
print(json.dumps(run))
PY
