#!/usr/bin/env bash
# The main job of `make demo`: learn normal traffic from a benign baseline of several periods plus
# five labelled attacks, then measure honestly: score traffic the model never saw, group its alerts
# into incidents, and cross-validate on attack scenarios it never saw. Synthetic flows by default,
# or real ones with DATA=PATH (and per-flow roles with ROLES=FILE).
# Arguments: gpu-train binary, output folder, optional data path, optional roles file.
set -euo pipefail
bin=$1 out=$2 data=${3:-} roles=${4:-}
mkdir -p "$out"
"$bin" devices
echo
if [ -z "$data" ]; then
  data="$out/synthetic-flows"
  day2="$out/synthetic-flows-day2"
  later="$out/synthetic-flows-later"
  echo "== no DATA given: generating synthetic flows (make demo DATA=PATH uses real ones)"
  echo "   $data and $day2 (another seed) as two days of baseline, $later (a third seed) standing in for later traffic"
  "$bin" synth --out "$data" --seed 1
  "$bin" synth --out "$day2" --seed 3
  "$bin" synth --out "$later" --seed 2
  echo "== training: two periods of benign flows are the baseline, plus 5 labelled attacks; the threshold is calibrated across the periods"
  "$bin" train --data "$data" --baseline "$data/benign" --baseline "$day2/benign" --out "$out/model.safetensors" --backend auto
else
  later="$data"
  echo "== training: every benign flow of $data is the baseline (each file a period), plus 5 labelled attacks"
  "$bin" train --data "$data" --out "$out/model.safetensors" --backend auto
fi
roleargs=()
[ -n "$roles" ] && roleargs=(--flow-roles "$roles")
echo "== evaluating on $later"
"$bin" evaluate --model "$out/model.safetensors" --data "$later" --json "$out/evaluation.json" --roc "$out/roc.svg" "${roleargs[@]}"
echo "== detect on $later/malicious: verdicts per flow, and the alerts grouped into incidents"
for f in "$later"/malicious/*.csv; do
  "$bin" detect --model "$out/model.safetensors" --input "$f" --output "$out/verdicts-$(basename "$f")" \
    --incidents "$out/incidents-$(basename "$f" .csv).jsonl" --backend auto 2>&1 | grep -E "^(scored|incidents|warning)" || true
done
echo "== report"
"$bin" report --model "$out/model.safetensors" --data "$later" --out "$out/report.html" "${roleargs[@]}" >/dev/null
echo "== leave-one-scenario-out on $data: attacks the model never saw, benign flows later than its baseline"
"$bin" crossval --data "$data" --encoders none --seeds 1 --json "$out/crossval.json" --backend auto "${roleargs[@]}"
echo
echo "report: $(cd "$out" && pwd)/report.html"
echo "model, history.csv, evaluation.json, roc.svg, verdicts-*.csv, incidents-*.jsonl and crossval.json are in $out/"
