#!/usr/bin/env bash
# Offline quality of the `tailor` CLI on MovieLens 100K (the figures in docs/quality.md).
#   benchmarks/quality.sh [BUILD_DIR] [DATA_DIR] [RESULTS_FILE]
# BUILD_DIR defaults to build/release, DATA_DIR to $TAILOR_DATA_DIR or ../shared/data.
# Writes the CLI's JSON reports to BUILD_DIR/quality/ and prints the tables. With RESULTS_FILE,
# also appends one JSON line per model and one for the tuning run to it (benchmarks/report.py
# reads them). MovieLens is read from DATA_DIR and converted in a temporary folder (it is never
# copied into the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
data=${2:-${TAILOR_DATA_DIR:-../shared/data}}
results=${3:-}
tailor="$build/tailor"
out="$build/quality"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ ! -f "$data/ml-100k/u.data" ]]; then
  echo "quality.sh: $data/ml-100k/u.data not found (set TAILOR_DATA_DIR)" >&2
  exit 1
fi

echo "== MovieLens 100K, Microsoft Recommenders protocol: every rating relevant, 75/25 split"
echo "   stratified per item with seed 42, seen items excluded, k = 10"
{ echo "user_id,item_id,value,timestamp"; tr '\t' ',' < "$data/ml-100k/u.data"; } > "$work/ml100k.csv"
"$tailor" split --in "$work/ml100k.csv" --train-out "$work/train.csv" --test-out "$work/test.csv" \
  --method stratified-item --ratio 0.75 --seed 42 --default-type rating --quiet
"$tailor" evaluate --train "$work/train.csv" --test "$work/test.csv" --k 10 --default-type rating \
  --report "$out/ml100k_evaluate.json" --quiet

echo
echo "== MovieLens 100K: Bayesian search (20 trials) on a validation split of the training file"
"$tailor" tune --train "$work/train.csv" --method bayes --trials 20 --default-type rating \
  --out "$out/ml100k_tune.json" --quiet
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print({k: d[k] for k in d if k in ("default","best","improves_on_default","command_line")})' \
  "$out/ml100k_tune.json" 2>/dev/null || echo "(see $out/ml100k_tune.json)"

echo
echo "== MovieLens 100K: the tuned configuration on the test split"
tuned=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["command_line"])' "$out/ml100k_tune.json")
# shellcheck disable=SC2086  # the tuned options are separate words
"$tailor" evaluate --train "$work/train.csv" --test "$work/test.csv" --k 10 --default-type rating \
  --models als $tuned --report "$out/ml100k_evaluate_tuned.json" --quiet

if [[ -n "$results" ]]; then
  # One line per model: {"bench":"cli_evaluate","dataset":"ml-100k","model":...,"ndcg":...}
  python3 - "$out/ml100k_evaluate.json" "$out/ml100k_evaluate_tuned.json" "$out/ml100k_tune.json" \
    >> "$results" <<'PY'
import json, sys
def models(path, variant):
    report = json.load(open(path))
    for name, m in report["models"].items():
        at = m["metrics"]["@10"]
        yield {"bench": "cli_evaluate", "dataset": "ml-100k", "variant": variant, "model": name,
               "k": 10, "users": at.get("users"), "ndcg": at["ndcg"], "precision": at["precision"],
               "recall": at["recall"], "map": at["map"], "map_recsys": at["map_recsys"],
               "coverage": at["beyond_accuracy"]["coverage"], "model_options": m.get("model_options")}
for line in models(sys.argv[1], "defaults"):
    print(json.dumps(line))
for line in models(sys.argv[2], "tuned"):
    print(json.dumps(line))
tune = json.load(open(sys.argv[3]))
print(json.dumps({"bench": "cli_tune", "dataset": "ml-100k", "objective": tune["objective"],
                  "trials": len(tune["search"].get("trials", [])),
                  "validation": tune["validation"], "default": tune["default"],
                  "best": tune["best"], "command_line": tune.get("command_line")}))
PY
fi
