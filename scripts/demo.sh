#!/usr/bin/env bash
# The main job of `make demo`: learn normal traffic from a benign baseline of several periods plus
# five labelled attacks, then measure honestly: score traffic the model never saw, group its alerts
# into incidents, and cross-validate on attack scenarios it never saw. It also trains the Siamese
# CNN encoder briefly (a small network, one epoch of 2048 pairs: under a minute on 2 cores) on the
# same baseline and shows both encoders' results side by side. Synthetic flows by default,
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
  baseline=(--data "$data" --baseline "$data/benign" --baseline "$day2/benign")
  "$bin" train "${baseline[@]}" --out "$out/model.safetensors" --backend auto
else
  later="$data"
  echo "== training: every benign flow of $data is the baseline (each file a period), plus 5 labelled attacks"
  baseline=(--data "$data")
  "$bin" train "${baseline[@]}" --out "$out/model.safetensors" --backend auto
fi
echo "== training the Siamese CNN encoder briefly on the same baseline, for comparison (1 epoch of 2048 pairs, channels 16,32,32,64, embedding 256)"
mkdir -p "$out/siamese"
"$bin" train "${baseline[@]}" --out "$out/siamese/model.safetensors" --encoder siamese --epochs 1 --pairs-per-epoch 2048 \
  --channels 16,32,32,64 --embedding 256 --backend auto 2>&1 | tee "$out/siamese/train.log" | grep -E "^(backend|epoch [0-9]+/[0-9]+  |recipe)" || true
[ -f "$out/siamese/model.safetensors" ] || { echo "the Siamese training failed: $out/siamese/train.log" >&2; exit 1; }
roleargs=()
[ -n "$roles" ] && roleargs=(--flow-roles "$roles")
echo "== evaluating on $later"
"$bin" evaluate --model "$out/model.safetensors" --data "$later" --json "$out/evaluation.json" --roc "$out/roc.svg" "${roleargs[@]}"
echo "== the Siamese encoder on $later"
"$bin" evaluate --model "$out/siamese/model.safetensors" --data "$later" --json "$out/siamese/evaluation.json" "${roleargs[@]}" >/dev/null
metric() { sed -n "s/^  \"$2\" : \([^,]*\),*$/\1/p" "$1" | head -1; }
printf '%-22s %14s %14s\n' "on $(basename "$later")" "encoder none" "siamese"
for m in auc pr_auc recall precision false_positive_rate; do
  printf '%-22s %14.4f %14.4f\n' "$m" "$(metric "$out/evaluation.json" $m)" "$(metric "$out/siamese/evaluation.json" $m)" 2>/dev/null \
    || printf '%-22s %14s %14s\n' "$m" "$(metric "$out/evaluation.json" $m)" "$(metric "$out/siamese/evaluation.json" $m)"
done
echo "default: --encoder none (nearest neighbour on the transformed features): in cross-validation the CNN does not beat it (docs/RESULTS.md), and it trains nothing"
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
echo "model, evaluation.json, roc.svg, verdicts-*.csv, incidents-*.jsonl and crossval.json are in $out/;"
echo "the Siamese model with its history.csv, curves.svg and evaluation.json in $out/siamese/"
