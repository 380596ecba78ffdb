#!/usr/bin/env bash
# The main job of `make demo`: learn normal traffic from a benign baseline plus five labelled
# attacks, then measure honestly: score traffic the model never saw, and cross-validate on
# attack scenarios it never saw. Synthetic flows by default, or real ones with DATA=PATH.
# Arguments: gpu-train binary, output folder, optional data path.
set -euo pipefail
bin=$1 out=$2 data=${3:-}
mkdir -p "$out"
"$bin" devices
echo
if [ -z "$data" ]; then
  data="$out/synthetic-flows"
  later="$out/synthetic-flows-later"
  echo "== no DATA given: generating synthetic flows (make demo DATA=PATH uses real ones)"
  echo "   $data to train on, and $later (another seed) standing in for later traffic"
  "$bin" synth --out "$data" --seed 1
  "$bin" synth --out "$later" --seed 2
else
  later="$data"
fi
echo "== training: every benign flow of $data is the baseline, plus 5 labelled attacks"
"$bin" train --data "$data" --out "$out/model.safetensors" --backend auto
echo "== evaluating on $later"
"$bin" evaluate --model "$out/model.safetensors" --data "$later" --json "$out/evaluation.json" --roc "$out/roc.svg"
echo "== report"
"$bin" report --model "$out/model.safetensors" --data "$later" --out "$out/report.html" >/dev/null
echo "== leave-one-scenario-out on $data: attacks the model never saw, benign flows later than its baseline"
"$bin" crossval --data "$data" --encoders none --seeds 1 --json "$out/crossval.json" --backend auto
echo
echo "report: $(cd "$out" && pwd)/report.html"
echo "model, history.csv, evaluation.json, roc.svg and crossval.json are in $out/"
