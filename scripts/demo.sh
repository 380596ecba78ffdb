#!/usr/bin/env bash
# The main job of `make demo`. Arguments: gpu-train binary, output folder, optional data path.
set -euo pipefail
bin=$1 out=$2 data=${3:-}
"$bin" devices
echo
echo "The trainer is not built yet: devices are listed above; training, evaluation and the report come next." >&2
