#!/usr/bin/env python3
"""Tests of bench/interleave.py with fake benchmark commands (standard library only):
    python3 bench/test_interleave.py
"""

import contextlib
import io
import json
import os
import shlex
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interleave  # noqa: E402

FAKE = r'''
import json, sys
path, label, scale, framework, log = sys.argv[1:6]
with open(log, "a") as f:
    f.write(label + "\n")
s = float(scale)
doc = {"machine": "test", "commit": None, "backends": {"cpu": {"device": "cpu",
       "train_pairs_per_s": {"5": 100 * s, "32": 200 * s, "128": 300 * s},
       "inference_images_per_s": 1000 * s, "peak_rss_mb": 900.0,
       "ops": [{"op": "conv_forward+bias+relu", "layer": "conv2", "ms": 20 / s}]}},
       "peak": {"gflops": 200.0}}
if framework != "-":
    doc["framework"] = framework
json.dump(doc, open(path, "w"))
'''


class InterleaveTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.fake = os.path.join(self.dir, "fake.py")
        with open(self.fake, "w") as f:
            f.write(FAKE)
        self.log = os.path.join(self.dir, "order.log")

    def command(self, label, scale, framework="-"):
        return (f"{label}={shlex.quote(sys.executable)} {shlex.quote(self.fake)} {{json}} {label} {scale} "
                f"{framework} {shlex.quote(self.log)}")

    def run_main(self, *args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            interleave.main(list(args))
        return out.getvalue()

    def test_before_after_ratios_per_round_and_rotation(self):
        out = os.path.join(self.dir, "rounds")
        text = self.run_main("--rounds", "3", "--out", out, "--baseline", "before",
                             "--run", self.command("before", 1.0), "--run", self.command("after", 1.5))
        with open(self.log) as f:
            order = f.read().split()
        # Each round runs both, and the order rotates: before-after, after-before, before-after.
        self.assertEqual(order, ["before", "after", "after", "before", "before", "after"])
        self.assertEqual(sorted(os.listdir(out)), [f"round{r}-{l}.json" for r in (1, 2, 3) for l in ("after", "before")])
        ratio_line = next(l for l in text.splitlines() if l.startswith("train pairs/s, batch 5") and "1.50" in l)
        self.assertEqual(ratio_line.split()[-4:], ["1.50", "1.50", "1.50", "1.50"])  # r1 r2 r3 median
        op_line = next(l for l in text.splitlines() if l.startswith("conv_forward+bias+relu conv2"))
        self.assertEqual(op_line.split()[-3:], ["20.000", "13.333", "0.67"])
        # --summarize gives the same report from the files alone (labels sorted).
        again = self.run_main("--summarize", out, "--baseline", "before")
        self.assertIn("after / before", again)

    def test_ratio_against_the_best_reference(self):
        out = os.path.join(self.dir, "refs")
        text = self.run_main("--rounds", "2", "--out", out,
                             "--run", self.command("gpu-train", 1.2),
                             "--run", self.command("pytorch", 1.0, "pytorch-2"),
                             "--run", self.command("tensorflow", 0.8, "tensorflow-2"))
        self.assertIn("gpu-train / best reference (pytorch, tensorflow)", text)
        line = next(l for l in text.splitlines() if l.startswith("inference images/s") and "x" not in l and "1.20" in l)
        self.assertEqual(line.split()[-3:], ["1.20", "1.20", "1.20"])
        # RSS: equal everywhere, so 1.00 (lower is better, against the smallest reference).
        rss = [l for l in text.splitlines() if l.startswith("peak RSS, MB") and "1.00" in l]
        self.assertTrue(rss)

    def test_detector_figures_against_the_best_reference(self):
        out = os.path.join(self.dir, "detector")
        os.makedirs(out)
        docs = {
            # a detector-only gpu-train run: no network figures
            "gpu-train": {"backends": {}, "parts": ["detector"], "peak": {"gflops": 200.0},
                          "detector": {"flows_per_s": {"100000": 60000, "20000": 300000},
                                       "flows_per_s_euclidean": {"100000": 80000},
                                       "flows_per_s_direct": {"100000": 3000}, "quantile_rows_per_s": 1e6}},
            "faiss": {"framework": "faiss 1", "backends": {"cpu": {"device": "cpu"}},
                      "detector": {"flows_per_s": {"100000": 40000}, "flows_per_s_euclidean": {"100000": 40000}}},
            "sklearn": {"framework": "scikit-learn 1", "backends": {"cpu": {"device": "cpu"}},
                        "detector": {"flows_per_s": {"100000": 4000}, "flows_per_s_euclidean": {"100000": 4000}}},
        }
        for r in (1, 2):
            for label, doc in docs.items():
                with open(os.path.join(out, f"round{r}-{label}.json"), "w") as f:
                    json.dump(doc, f)
        text = self.run_main("--summarize", out)
        lines = text.splitlines()
        # Medians: banks in increasing order, each kind a row; the direct scan only for gpu-train.
        titles = [l.split("  ")[0] for l in lines if l.startswith("detect flows/s")]
        self.assertEqual(titles[:4], ["detect flows/s, bank 20000", "detect flows/s, bank 100000",
                                      "detect flows/s, bank 100000, no clip", "detect flows/s, bank 100000, CPU direct scan"])
        # Ratios against the best reference (FAISS): 60000 / 40000 and 80000 / 40000 in both rounds.
        ratio = [l.split()[-3:] for l in lines if l.startswith("detect flows/s, bank 100000") and "1.50" in l]
        self.assertEqual(ratio, [["1.50", "1.50", "1.50"]])
        self.assertTrue(any(l.startswith("detect flows/s, bank 100000, no clip") and l.split()[-1] == "2.00" for l in lines))
        self.assertTrue(any(l.startswith("quantile transform rows/s") for l in lines))

    def test_bad_specs_are_refused_with_a_message(self):
        for spec in ["nolabel", "a b=cmd {json}", "x=echo no-placeholder"]:
            with self.assertRaises(SystemExit) as e:
                self.run_main("--out", self.dir, "--run", spec)
            self.assertIn("--run", str(e.exception))
        with self.assertRaises(SystemExit):
            self.run_main("--summarize", os.path.join(self.dir, "empty"))

    def test_a_failing_command_stops_with_its_status(self):
        with self.assertRaises(SystemExit) as e:
            self.run_main("--rounds", "1", "--out", os.path.join(self.dir, "f"), "--run", "bad=exit 3 {json}")
        self.assertIn("exit status 3", str(e.exception))


if __name__ == "__main__":
    unittest.main()
