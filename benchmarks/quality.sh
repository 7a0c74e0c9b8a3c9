#!/usr/bin/env bash
# Offline quality of the `tailor` CLI on MovieLens 100K and on the bundled Online Retail data
# (the figures in docs/quality.md). About two minutes on two cores.
#   benchmarks/quality.sh [BUILD_DIR] [DATA_DIR] [RESULTS_FILE]
# BUILD_DIR defaults to build/release, DATA_DIR to $TAILOR_DATA_DIR or ../shared/data.
# Writes the CLI's JSON reports to BUILD_DIR/quality/ and prints the tables. With RESULTS_FILE,
# also appends one JSON line per model and one for the tuning run to it (benchmarks/report.py
# reads them). MovieLens is read from DATA_DIR and converted in a temporary folder (it is never
# copied into the repository); without it only the Online Retail protocol runs.
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

# One results line per model of a CLI evaluation report: results_lines REPORT DATASET VARIANT K
results_lines() {
  [[ -n "$results" ]] || return 0
  python3 - "$@" >> "$results" <<'PY'
import json, sys
path, dataset, variant, k = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
report = json.load(open(path))
for name, m in report["models"].items():
    at = m["metrics"]["@" + k]
    print(json.dumps({"bench": "cli_evaluate", "dataset": dataset, "variant": variant, "model": name,
                      "k": int(k), "users": at.get("users"), "ndcg": at["ndcg"],
                      "precision": at["precision"], "recall": at["recall"], "map": at["map"],
                      "map_recsys": at["map_recsys"], "coverage": at["beyond_accuracy"]["coverage"],
                      "fit_seconds": m.get("timings", {}).get("fit"),
                      "model_options": m.get("model_options")}))
PY
}
tune_line() {  # tune_line TUNE_JSON DATASET
  [[ -n "$results" ]] || return 0
  python3 - "$@" >> "$results" <<'PY'
import json, sys
tune = json.load(open(sys.argv[1]))
print(json.dumps({"bench": "cli_tune", "dataset": sys.argv[2], "objective": tune["objective"],
                  "trials": len(tune["search"].get("trials", [])),
                  "validation": tune["validation"], "default": tune["default"],
                  "best": tune["best"], "command_line": tune.get("command_line")}))
PY
}

echo "== Online Retail (bundled): events before 2011-11-01 train; relevant = the products a known"
echo "   customer bought from then on that they had not bought before; k = 20"
retail_in=(--user-col CustomerID --item-col StockCode --time-col InvoiceDate --value-col Quantity --lenient)
"$tailor" split "${retail_in[@]}" --in examples/data/online-retail.csv.gz --train-out "$work/rtrain.csv" \
  --test-out "$work/rtest.csv" --method temporal --cutoff 2011-11-01 --quiet
echo "-- ALS tuned by tailor tune on a temporal validation split of the training events"
"$tailor" tune --train "$work/rtrain.csv" --k 20 --val-method temporal --method bayes --trials 20 \
  --out "$out/retail_tune.json" --quiet
rtuned=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["command_line"])' "$out/retail_tune.json")
echo "-- every model with its defaults, then ALS tuned ($rtuned)"
"$tailor" evaluate --train "$work/rtrain.csv" --test "$work/rtest.csv" --k 20 --relevant new \
  --report "$out/retail_evaluate.json" --quiet
# shellcheck disable=SC2086  # the tuned options are separate words
"$tailor" evaluate --train "$work/rtrain.csv" --test "$work/rtest.csv" --k 20 --relevant new \
  --models als $rtuned --report "$out/retail_evaluate_tuned.json" --quiet
results_lines "$out/retail_evaluate.json" online-retail defaults 20
results_lines "$out/retail_evaluate_tuned.json" online-retail tuned 20
tune_line "$out/retail_tune.json" online-retail

if [[ ! -f "$data/ml-100k/u.data" ]]; then
  echo "quality.sh: $data/ml-100k/u.data not found (set TAILOR_DATA_DIR): MovieLens skipped" >&2
  exit 0
fi
echo

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

results_lines "$out/ml100k_evaluate.json" ml-100k defaults 10
results_lines "$out/ml100k_evaluate_tuned.json" ml-100k tuned 10
tune_line "$out/ml100k_tune.json" ml-100k
