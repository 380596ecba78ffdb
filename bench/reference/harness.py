"""Timing, reporting and JSON output shared by torch_bench.py and tf_bench.py.

Method (the same as `gpu-train bench`): for each batch size, 3 warm-up steps, then
`repeats` timed repeats of `steps` steps each, where `steps` is chosen from one probe
step so that a repeat lasts at least `min_seconds`. Each repeat gives one rate; the
report shows the median, min and max over the repeats. The JSON holds the medians,
in the schema of `gpu-train bench --json`.
"""

import argparse
import datetime
import json
import math
import os
import platform
import resource
import statistics
import time

WARMUP_STEPS = 3


def parse_args(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON here")
    ap.add_argument("--batches", default="5,32,128", help="training batch sizes in pairs (default 5,32,128)")
    ap.add_argument("--inference-batch", type=int, default=256, help="images per inference call (default 256)")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats per figure (default 5, at least 5 for the record)")
    ap.add_argument("--min-seconds", type=float, default=1.0, help="least duration of one repeat (default 1.0)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="compute threads (default: all CPUs)")
    ap.add_argument("--channels", default="64,128,128,256", help="conv channels (default 64,128,128,256)")
    ap.add_argument("--embedding", type=int, default=4096, help="embedding size (default 4096)")
    args = ap.parse_args()
    args.batches = [int(b) for b in args.batches.split(",") if b]
    args.channels = [int(c) for c in args.channels.split(",")]
    if len(args.channels) != 4:
        ap.error("--channels takes four numbers")
    return args


def measure(step, items_per_step, repeats, min_seconds):
    """Run `step` (which must finish its work before returning) and return rates in
    items per second, one per repeat."""
    for _ in range(WARMUP_STEPS):
        step()
    t0 = time.perf_counter()
    step()
    probe = time.perf_counter() - t0
    steps = max(1, math.ceil(min_seconds / max(probe, 1e-9)))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        elapsed = time.perf_counter() - t0
        rates.append(items_per_step * steps / elapsed)
    return {"median": statistics.median(rates), "min": min(rates), "max": max(rates),
            "steps_per_repeat": steps, "repeats": repeats}


def _cpu_jiffies():
    """(busy, total) jiffies of the whole machine from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


class Contention:
    """How much of the machine's CPU time other processes used while we ran: the
    machine's busy time minus this process's own CPU time, over all CPU time."""

    def __init__(self):
        self.start = _cpu_jiffies()
        self.own = sum(os.times()[:2])

    def other_share(self):
        end = _cpu_jiffies()
        if self.start is None or end is None or end[1] <= self.start[1]:
            return None
        hz = os.sysconf("SC_CLK_TCK")
        own = (sum(os.times()[:2]) - self.own) * hz
        busy = end[0] - self.start[0]
        return max(0.0, (busy - own) / (end[1] - self.start[1]))


def peak_rss_mb():
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if platform.system() == "Darwin" else rss / 1024


def machine():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {model}, {os.cpu_count()} CPUs"


def write_json(path, doc):
    """Writes `doc` to `path` through a temporary file (never a half-written result)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    print(f"wrote {path}")


def report(framework, args, train, inference, started, contention, extra=None):
    """Print the table and write the JSON. `train` maps batch size to a measure() result."""
    rss = peak_rss_mb()
    other = contention.other_share()
    ch = ",".join(str(c) for c in args.channels)
    print(f"\n{framework} on {machine()}, {args.threads} threads")
    print(f"network: conv {ch}, embedding {args.embedding}, input 1x32x32; "
          f"{args.repeats} repeats after {WARMUP_STEPS} warm-up steps")
    print(f"{'figure':<28}{'median':>12}{'min':>12}{'max':>12}  steps/repeat")
    for batch, r in train.items():
        print(f"{'train pairs/s, batch ' + str(batch):<28}{r['median']:>12.1f}{r['min']:>12.1f}"
              f"{r['max']:>12.1f}  {r['steps_per_repeat']}")
    print(f"{'inference images/s, ' + str(args.inference_batch):<28}{inference['median']:>12.1f}"
          f"{inference['min']:>12.1f}{inference['max']:>12.1f}  {inference['steps_per_repeat']}")
    print(f"{'peak RSS, MB':<28}{rss:>12.1f}")
    load = os.getloadavg()
    print(f"run time {time.perf_counter() - started:.1f} s; load average now "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if other is not None:
        print(f"other processes used {100 * other:.0f}% of the machine's CPU time during the "
              f"run{' (figures not fit for the record)' if other > 0.05 else ''}")
    if args.json:
        backend = {
            "device": "cpu",
            "train_pairs_per_s": {str(b): round(r["median"], 3) for b, r in train.items()},
            "inference_images_per_s": round(inference["median"], 3),
            "peak_rss_mb": round(rss, 1),
            "ops": [],
            # not in gpu-train's schema; compare.py ignores them
            "train_pairs_per_s_min_max": {str(b): [round(r["min"], 3), round(r["max"], 3)]
                                          for b, r in train.items()},
            "inference_images_per_s_min_max": [round(inference["min"], 3), round(inference["max"], 3)],
            "threads": args.threads,
            "load_average_1m_5m_15m": [round(x, 2) for x in load],
            "other_processes_cpu_share": None if other is None else round(other, 3),
        }
        if extra:
            backend.update(extra)
        doc = {
            "machine": machine(),
            "commit": None,
            "framework": framework,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "network": {"channels": args.channels, "embedding": args.embedding, "input": [1, 32, 32]},
            "backends": {"cpu": backend},
        }
        write_json(args.json, doc)
