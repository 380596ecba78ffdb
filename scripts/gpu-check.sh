#!/usr/bin/env bash
# The one prepared GPU check (issue 15): on an NVIDIA host with the bundle from
# scripts/gpu-bundle.sh, in one run of under 8 minutes, it records
#   nvidia-smi; NVIDIA's OpenCL driver (found, ICD written if none names it, else where it
#   looked, and stop); gpu-train devices; verify; PyTorch fp32 (TF32 off) training steps and a
#   square SGEMM; a tuning sweep of the GPU GEMM (tune-gemm, at most ~60 variants at the square
#   size, then the best few at the network's shapes); gpu-train bench --backend all
# and writes a log and JSON to OUT_DIR. The figures the issue needs come first, so a run cut
# short still returns them.
#
#   scripts/gpu-check.sh OUT_DIR
#
# Without a GPU (no working nvidia-smi) it runs the same steps, scaled down, on whatever
# OpenCL device there is (PoCL) with PyTorch on the CPU, also forcing the GPU table entry
# through `verify` (GPU_TRAIN_OPENCL_TUNING=GPU), so that the first GPU run is not its first run.
#
# Environment:
#   GPU_TRAIN          command that runs gpu-train (default: the bundle's run.sh, from
#                      GPU_CHECK_BUNDLE, else .build/release/gpu-train, else .build/debug/gpu-train)
#   GPU_CHECK_BUNDLE   bundle archive (.tar.xz/.tar.gz) or folder (default dist/gpu-train-bundle.tar.xz,
#                      else dist/gpu-train-bundle); an archive is unpacked under $TMPDIR
#   GPU_CHECK_SCALE    full (default with a GPU) or small (default without): sizes, batches, variants
#   GPU_CHECK_DEADLINE seconds for the whole run (default 470); each step's limit is cut to fit
#   PYTHON             python with torch (default python3); no torch: the PyTorch step is skipped
# Files in OUT_DIR: gpu-check.log (every step's output), gpu-check.json (summary, the others
# embedded), bench.json, torch.json, sweep-square.json, sweep-network.json.
set -uo pipefail

[ $# -eq 1 ] || { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd) || { echo "gpu-check: cannot make $1" >&2; exit 2; }
log=$out/gpu-check.log
steps=$out/.steps.tsv
: > "$log"; : > "$steps"
started=$(date +%s)
deadline=${GPU_CHECK_DEADLINE:-470}
python=${PYTHON:-python3}

say() { echo "gpu-check: $*" | tee -a "$log" >&2; }
made=()   # temp folders this run made (the unpacked bundle, the ICD folder): removed at exit
cleanup() { for d in ${made[@]+"${made[@]}"}; do rm -rf -- "$d"; done; }
trap cleanup EXIT

# step NAME LIMIT_SECONDS COMMAND...: runs it with its output to the log (and stderr), under
# the smaller of its limit and what is left of the deadline; records status and seconds.
step() {
  local name=$1 limit=$2; shift 2
  local left=$((deadline - ($(date +%s) - started)))
  if [ "$left" -lt 5 ]; then
    say "$name: skipped, the ${deadline}s deadline is spent"
    printf '%s\tskipped\t0\t%s\n' "$name" "deadline" >> "$steps"; return 0
  fi
  [ "$limit" -le "$left" ] || limit=$left
  say "== $name (limit ${limit}s): $*"
  local t0 rc
  t0=$(date +%s.%N)
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$log" >&2
  rc=${PIPESTATUS[0]}
  local secs
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && say "$name: stopped at its limit of ${limit}s"
  say "$name: exit $rc after ${secs}s"
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$secs" "$*" >> "$steps"
  return 0
}

# ---- mode and sizes ----------------------------------------------------------------
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then gpu=1; else gpu=0; fi
scale=${GPU_CHECK_SCALE:-$([ $gpu = 1 ] && echo full || echo small)}
case $scale in
  full)  batches=5,32,128,1024; size=4096; variants=60; top=8; netbatch=128; repeats=5; torch_min=0.5
         torch_device=cuda; bench_quick="" ;;
  small) batches=5,32; size=256; variants=3; top=2; netbatch=2; repeats=2; torch_min=0.2
         torch_device=cpu; bench_quick=--quick ;;
  *) echo "gpu-check: GPU_CHECK_SCALE is full or small" >&2; exit 2 ;;
esac
[ $gpu = 1 ] || torch_device=cpu
say "$(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), $(nproc) CPUs; GPU: $([ $gpu = 1 ] && echo yes || echo no); scale $scale; deadline ${deadline}s"

# ---- gpu-train: the bundle's runner, else a local build ------------------------------
runner=""
if [ -n "${GPU_TRAIN:-}" ]; then
  read -r -a gt <<< "$GPU_TRAIN"
else
  bundle=${GPU_CHECK_BUNDLE:-}
  if [ -z "$bundle" ]; then
    for b in "$repo/dist/gpu-train-bundle.tar.xz" "$repo/dist/gpu-train-bundle.tar.gz" "$repo/dist/gpu-train-bundle"; do
      [ -e "$b" ] && { bundle=$b; break; }
    done
  fi
  if [ -n "$bundle" ] && [ -f "$bundle" ]; then
    dest=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-bundle.XXXXXX")
    made+=("$dest")
    say "unpacking $bundle into $dest"
    tar -xf "$bundle" -C "$dest" || { say "cannot unpack $bundle"; exit 1; }
    runner=$(ls -d "$dest"/*/run.sh 2>/dev/null | head -1)
  elif [ -n "$bundle" ] && [ -x "$bundle/run.sh" ]; then
    runner=$bundle/run.sh
  fi
  if [ -n "$runner" ]; then
    gt=("$runner")
    say "gpu-train: bundle runner $runner ($(head -3 "$(dirname "$runner")/MANIFEST" 2>/dev/null | tail -2 | tr '\n' ';'))"
  elif [ -x "$repo/.build/release/gpu-train" ]; then gt=("$repo/.build/release/gpu-train")
  elif [ -x "$repo/.build/debug/gpu-train" ]; then gt=("$repo/.build/debug/gpu-train")
  else say "no gpu-train: make a bundle (scripts/gpu-bundle.sh) or build, or set GPU_TRAIN"; exit 1
  fi
fi
say "gpu-train command: ${gt[*]}; commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"

# ---- 1. the GPU and its driver -------------------------------------------------------
if [ $gpu = 1 ]; then
  step nvidia-smi 20 nvidia-smi
  step nvidia-smi-query 20 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
fi

# ---- 2. NVIDIA's OpenCL library --------------------------------------------------------
# The runner finds libnvidia-opencl.so.1 (NVIDIA_OPENCL_LIB, ldconfig -p, the driver folders)
# and writes an ICD file when none names it; its dry run says what it would do and where it looked.
if [ -n "$runner" ]; then
  if [ -z "${GPU_RUN_ICD_DIR:-}" ]; then
    GPU_RUN_ICD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-icd.XXXXXX")
    made+=("$GPU_RUN_ICD_DIR")
  fi
  export GPU_RUN_ICD_DIR
  decisions=$(GPU_RUN_DRY=1 "$runner" devices 2>&1)
  printf '%s\n' "$decisions" | tee -a "$log" >&2
  if printf '%s\n' "$decisions" | grep -q '^run.sh: NVIDIA OpenCL driver:'; then
    say "NVIDIA OpenCL driver found; ICD folder $GPU_RUN_ICD_DIR"
  elif [ $gpu = 1 ]; then
    say "STOP: a GPU is present but no libnvidia-opencl.so.1 was found (where the runner looked is above)"
    opencl_missing=1
  else
    say "no NVIDIA OpenCL driver (no GPU here): OpenCL devices from the installed ICDs"
  fi
else
  say "not a bundle: OpenCL platforms from the installed ICDs (${OCL_ICD_VENDORS:-/etc/OpenCL/vendors})"
  ls -l "${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}" 2>&1 | tee -a "$log" >&2
fi

summary() {
  "$python" - "$out" "$steps" "$gpu" "$scale" "${opencl_missing:-0}" <<'PY' 2>&1 | tee -a "$log" >&2
import json, os, re, sys
out, steps_path, gpu, scale, missing = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4], sys.argv[5] == "1"
def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
steps = []
with open(steps_path) as f:
    for line in f:
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 3:
            steps.append({"step": parts[0], "exit": parts[1], "seconds": parts[2], "command": parts[3] if len(parts) > 3 else ""})
log = open(os.path.join(out, "gpu-check.log"), errors="replace").read()
verify = re.findall(r"^(\d+) of (\d+) checks passed.*$", log, re.M)
bench, torch = load("bench.json"), load("torch.json")
square, network = load("sweep-square.json"), load("sweep-network.json")
doc = {"gpu": gpu, "scale": scale, "nvidia_opencl_missing": missing, "steps": steps,
       "nvidia_smi": re.findall(r"^name, driver_version.*\n(.*)$", log, re.M),
       "opencl_driver": re.findall(r"^run\.sh: .*$", log, re.M)[:12],
       "opencl_devices": re.findall(r"^\s+\[\d+\] .*$", log, re.M),
       "verify": [{"passed": int(p), "checks": int(c)} for p, c in verify],
       "bench": bench, "torch": torch, "sweep_square": square, "sweep_network": network}
# Our best SGEMM at the square size beside PyTorch's, and pairs/s beside PyTorch's.
compare = {}
if square and torch and torch.get("sgemm"):
    ours = [m for m in square.get("measurements", []) if m.get("gflops") and m["shape"].startswith("gemm ")]
    if ours:
        best = max(ours, key=lambda m: m["gflops"])
        compare["sgemm"] = {"ours_gflops": round(best["gflops"], 1), "variant": best["variant"],
                            "pytorch_gflops": round(torch["sgemm"]["gflops"], 1),
                            "ratio": round(best["gflops"] / torch["sgemm"]["gflops"], 3)}
if bench and torch:
    ocl = (bench.get("backends") or {}).get("opencl") or {}
    pairs = {}
    for b, theirs in (torch.get("train_pairs_per_s") or {}).items():
        mine = (ocl.get("train_pairs_per_s") or {}).get(b)
        if mine:
            pairs[b] = {"gpu_train": mine, "pytorch": theirs, "ratio": round(mine / theirs, 3)}
    compare["train_pairs_per_s"] = pairs
    if scale != "full":
        compare["note"] = "small scale: bench --quick times a tiny network and the sizes are cut, so no ratio here means anything"
doc["compare"] = compare
tmp = os.path.join(out, "gpu-check.json.tmp")
with open(tmp, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
os.replace(tmp, os.path.join(out, "gpu-check.json"))
print("gpu-check: summary: verify " + ", ".join(f"{v['passed']}/{v['checks']}" for v in doc["verify"]) +
      f"; compare {json.dumps(compare)}")
PY
}

if [ "${opencl_missing:-0}" = 1 ]; then
  summary
  rm -f "$steps"
  exit 3
fi

# ---- 3. devices and verify -----------------------------------------------------------
step devices 30 "${gt[@]}" devices
step verify 90 "${gt[@]}" verify --failures-only
if [ $gpu = 0 ]; then
  # No GPU: the GPU table entry (gemm_tiled, implicit-GEMM convolutions) on this device too.
  step verify-gpu-entry 240 env GPU_TRAIN_OPENCL_TUNING=GPU "${gt[@]}" verify --failures-only
fi

# ---- 4. PyTorch fp32, TF32 off: training steps and the square SGEMM ----------------------
if "$python" -c 'import torch' >/dev/null 2>&1; then
  step pytorch 90 "$python" "$repo/scripts/gpu-torch.py" --device "$torch_device" --batches "$batches" \
    --matmul "$size" --repeats "$repeats" --min-seconds "$torch_min" --json "$out/torch.json"
else
  say "pytorch: skipped, $python has no torch"
  printf 'pytorch\tskipped\t0\tno torch\n' >> "$steps"
fi

# ---- 5. GEMM tuning sweep: every variant at the square size, the best few at the network's -
step sweep-square 110 "${gt[@]}" tune-gemm --size "$size" --batch 0 --max-variants "$variants" --repeats 3 \
  --json "$out/sweep-square.json"
best=$("$python" - "$out/sweep-square.json" "$top" <<'PY' 2>/dev/null
import json, sys
doc = json.load(open(sys.argv[1]))
timed = sorted((m for m in doc["measurements"] if m.get("gflops")), key=lambda m: -m["gflops"])
names = []
for m in timed:
    if m["variant"] not in names:
        names.append(m["variant"])
print(",".join(names[: int(sys.argv[2])]))
PY
)
[ -n "$best" ] || best=128x128x8/8x8,128x64x8/8x8,64x64x16/4x4

# ---- 6. gpu-train bench (both backends) --------------------------------------------------
bench_args=(bench --backend all --json "$out/bench.json")
[ -n "$bench_quick" ] && bench_args+=("$bench_quick")
if "${gt[@]}" bench --help 2>/dev/null | grep -q -- '--batches'; then
  bench_args+=(--batches "$batches")
else
  say "bench: this gpu-train times its fixed batches (no --batches option), not $batches"
fi
step bench 170 "${gt[@]}" "${bench_args[@]}"

step sweep-network 60 "${gt[@]}" tune-gemm --size 0 --batch "$netbatch" --variants "$best" --repeats 3 \
  --json "$out/sweep-network.json"

summary
rm -f "$steps"
say "done in $(( $(date +%s) - started ))s; files in $out"
