#!/usr/bin/env python3
"""PyTorch fp32 reference for scripts/gpu-check.sh: the Siamese training step of
bench/reference/torch_bench.py on CUDA (or the CPU), TF32 off, plus a plain fp32 SGEMM.

The network and step are bench/reference/siamese_torch.py's, shared with torch_bench.py (both
branches through the shared encoder as one batch of 2B, the head on |e1 - e2|, BCE-with-logits,
backward, Adam lr 1e-4, betas 0.9/0.999, eps 1e-7, fused where this torch has it); timing is
bench/reference/harness.py's
(3 warm-up steps, then repeats of at least --min-seconds; each step reads the loss back to
the host, which on CUDA waits for the step). TF32 is off for matmuls and cuDNN, so that the
comparison with gpu-train's fp32 OpenCL kernels is fair:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    python3 scripts/gpu-torch.py --device cuda --batches 5,32,128,1024 --matmul 4096 --json out.json
"""

import argparse
import datetime
import json
import os
import statistics
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "bench", "reference"))
import harness  # noqa: E402
import siamese_torch  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", help="cuda or cpu (default cuda)")
    ap.add_argument("--batches", default="5,32,128,1024", help="training batch sizes in pairs")
    ap.add_argument("--matmul", type=int, default=4096, help="side of the square fp32 SGEMM (0: none)")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats per figure")
    ap.add_argument("--min-seconds", type=float, default=0.5, help="least duration of one repeat")
    ap.add_argument("--channels", default="64,128,128,256", help="conv channels")
    ap.add_argument("--embedding", type=int, default=4096, help="embedding size")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads (cpu device)")
    ap.add_argument("--json", metavar="FILE", help="write the results as JSON here (atomically)")
    args = ap.parse_args()
    args.batches = [int(b) for b in args.batches.split(",") if b]
    args.channels = [int(c) for c in args.channels.split(",")]
    if len(args.channels) != 4:
        ap.error("--channels takes four numbers")
    return args


def main():
    started = time.perf_counter()
    args = parse_args()
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if hasattr(torch, "set_float32_matmul_precision"):
        torch.set_float32_matmul_precision("highest")
    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu-torch: CUDA is not available to this torch", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    encoder, head, opt, adam_kind = siamese_torch.build(torch, args.channels, args.embedding, device)

    def train_step_for(batch):
        return siamese_torch.train_step(torch, encoder, head, opt, batch, device)

    train = {}
    for batch in args.batches:
        train[batch] = harness.measure(train_step_for(batch), batch, args.repeats, args.min_seconds)
        print(f"train batch {batch}: {train[batch]['median']:.1f} pairs/s "
              f"(min {train[batch]['min']:.1f}, max {train[batch]['max']:.1f})", flush=True)

    sgemm = None
    if args.matmul > 0:
        n = args.matmul
        a = torch.randn(n, n, device=device)
        b = torch.randn(n, n, device=device)
        for _ in range(3):
            torch.mm(a, b)
        sync()
        rates = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            runs = 0
            while True:
                torch.mm(a, b)
                runs += 1
                sync()
                if time.perf_counter() - t0 >= args.min_seconds:
                    break
            rates.append(2.0 * n ** 3 * runs / (time.perf_counter() - t0) / 1e9)
        sgemm = {"n": n, "gflops": statistics.median(rates), "min": min(rates), "max": max(rates)}
        print(f"sgemm {n}^3 fp32: {sgemm['gflops']:.1f} GFLOP/s (min {sgemm['min']:.1f}, max {sgemm['max']:.1f})",
              flush=True)

    name = torch.cuda.get_device_name(0) if device.type == "cuda" else harness.machine()
    doc = {
        "framework": f"pytorch {torch.__version__}",
        "device": args.device,
        "device_name": name,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32},
        "adam": adam_kind,
        "machine": harness.machine(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "network": {"channels": args.channels, "embedding": args.embedding, "input": [1, 32, 32]},
        "train_pairs_per_s": {str(b): round(r["median"], 3) for b, r in train.items()},
        "train_pairs_per_s_min_max": {str(b): [round(r["min"], 3), round(r["max"], 3)] for b, r in train.items()},
        "sgemm": sgemm,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        os.replace(tmp, args.json)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
