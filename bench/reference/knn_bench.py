#!/usr/bin/env python3
"""Nearest-neighbour references for `gpu-train bench`'s detector path: scikit-learn's brute-force
`NearestNeighbors(algorithm='brute')` or FAISS's exact `IndexFlatL2`, on the banks and queries
that `gpu-train bench --detector-data DIR` wrote (NPY files and manifest.json), in query flows
scored per second.

    gpu-train bench --detector-only --detector-data .build/bench/detector-data --json gpu.json
    .venv-bench/bin/python bench/reference/knn_bench.py --library sklearn \\
        --data .build/bench/detector-data --json sklearn.json
    .venv-bench/bin/python bench/reference/knn_bench.py --library faiss \\
        --data .build/bench/detector-data --json faiss.json

Both search by the Euclidean distance (neither has gpu-train's per-feature clip), k as in the
manifest. The query counts follow gpu-train's budgets: FAISS as many as gpu-train's fast search
(`fast_queries`), scikit-learn as many as its direct scan (`slow_queries`), so one run stays
within minutes. Method as gpu-train's: one untimed run (index built outside the timing), then
`repeats` timed samples, each repeating the search until it has lasted `--min-seconds`; the rate
is from the median sample. The JSON has gpu-train's `detector` keys (flows_per_s by bank size),
which bench/interleave.py reads.
"""

import argparse
import datetime
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--library", choices=["sklearn", "faiss"], required=True)
    ap.add_argument("--data", required=True, help="folder written by gpu-train bench --detector-data")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON here")
    ap.add_argument("--repeats", type=int, help="timed samples per figure (default: the manifest's)")
    ap.add_argument("--min-seconds", type=float, default=0.05, help="least duration of one sample (default 0.05)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="compute threads (default: all CPUs)")
    return ap.parse_args()


def timed(search, repeats, min_seconds):
    """Seconds per search at the median, slowest and fastest sample, after one warm-up run."""
    t0 = time.perf_counter()
    search()
    warm = time.perf_counter() - t0
    runs = max(1, min(1000, int(-(-min_seconds // max(warm, 1e-7)))))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(runs):
            search()
        samples.append((time.perf_counter() - t0) / runs)
    return statistics.median(samples), max(samples), min(samples)


def main():
    started = time.perf_counter()
    args = parse_args()
    contention = harness.Contention()
    import numpy as np

    with open(os.path.join(args.data, "manifest.json")) as f:
        manifest = json.load(f)
    k = int(manifest["k"])
    repeats = args.repeats or int(manifest.get("repeats", 5))
    queries_all = np.load(os.path.join(args.data, manifest["queries_file"]))
    if queries_all.dtype != np.float32 or queries_all.ndim != 2:
        raise SystemExit(f"{manifest['queries_file']}: expected a 2-D float32 array, got {queries_all.dtype} {queries_all.shape}")

    if args.library == "faiss":
        import faiss

        faiss.omp_set_num_threads(args.threads)
        framework = f"faiss {faiss.__version__} IndexFlatL2"
        budget = "fast_queries"

        def prepare(bank):
            index = faiss.IndexFlatL2(bank.shape[1])
            index.add(bank)
            return lambda q: index.search(q, k)
    else:
        import sklearn
        from sklearn.neighbors import NearestNeighbors
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        framework = f"scikit-learn {sklearn.__version__} NearestNeighbors(algorithm='brute')"
        budget = "slow_queries"

        def prepare(bank):
            nn = NearestNeighbors(n_neighbors=k, algorithm="brute", n_jobs=args.threads).fit(bank)
            return lambda q: nn.kneighbors(q, return_distance=True)

    rates, flows = [], {}
    for entry in manifest["banks"]:
        bank = np.load(os.path.join(args.data, entry["file"]))
        n = min(int(entry[budget]), len(queries_all))
        queries = np.ascontiguousarray(queries_all[:n])
        search = prepare(bank)
        med, slow, fast = timed(lambda: search(queries), repeats, args.min_seconds)
        rate = {"method": args.library, "clip": None, "bank": int(entry["size"]), "queries": n,
                "flows_per_s": n / med, "flows_per_s_min": n / slow, "flows_per_s_max": n / fast, "ms": med * 1e3,
                "gflops": 2 * bank.shape[1] * bank.shape[0] * n / med / 1e9, "proved_share": None}
        rates.append(rate)
        flows[str(entry["size"])] = rate["flows_per_s"]
        print(f"{framework}: bank {entry['size']}, {n} queries: {rate['flows_per_s']:,.0f} flows/s "
              f"(min {rate['flows_per_s_min']:,.0f}, max {rate['flows_per_s_max']:,.0f})", flush=True)

    other = contention.other_share()
    load = os.getloadavg()
    print(f"run time {time.perf_counter() - started:.1f} s; load average now {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if other is not None:
        print(f"other processes used {100 * other:.0f}% of the machine's CPU time during the run"
              f"{' (figures not fit for the record)' if other > 0.05 else ''}")
    if args.json:
        doc = {
            "machine": harness.machine(),
            "commit": None,
            "framework": framework,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "backends": {"cpu": {"device": "cpu", "threads": args.threads,
                                 "other_processes_cpu_share": None if other is None else round(other, 3)}},
            "parts": ["detector"],
            # The references search by the Euclidean distance; gpu-train's headline figure clips it (the
            # detector's default) and its flows_per_s_euclidean does not: both compare with these.
            "detector": {"features": int(manifest["features"]), "k": k, "bank_sizes": [int(b["size"]) for b in manifest["banks"]],
                         "rates": rates, "flows_per_s": flows, "flows_per_s_euclidean": flows,
                         "peak_rss_mb": round(harness.peak_rss_mb(), 1)},
        }
        harness.write_json(args.json, doc)


if __name__ == "__main__":
    main()
