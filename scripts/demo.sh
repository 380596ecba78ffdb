#!/usr/bin/env bash
# The main job of `make demo`: synthetic flows (or DATA=PATH), train, evaluate, report.
# Arguments: gpu-train binary, output folder, optional data path.
set -euo pipefail
bin=$1 out=$2 data=${3:-}
mkdir -p "$out"
"$bin" devices
echo
if [ -z "$data" ]; then
  data="$out/synthetic-flows"
  echo "== no DATA given: generating synthetic flows in $data (make demo DATA=PATH uses real ones)"
  "$bin" synth --out "$data" --seed 1
fi
echo "== training on $data"
"$bin" train --data "$data" --out "$out/model.safetensors" --backend auto
echo "== evaluating"
"$bin" evaluate --model "$out/model.safetensors" --data "$data" --json "$out/evaluation.json" --roc "$out/roc.svg"
echo "== report"
"$bin" report --model "$out/model.safetensors" --data "$data" --out "$out/report.html" >/dev/null
echo
echo "report: $(cd "$out" && pwd)/report.html"
echo "model, history.csv, curves.svg, evaluation.json and roc.svg are in $out/"
