#!/usr/bin/env python3
"""Unit tests of the lab's scripts (standard library only): python3 scripts/lab/test_lab.py"""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kinds  # noqa: E402
import label  # noqa: E402
import score  # noqa: E402
import traffic  # noqa: E402


class LabelTests(unittest.TestCase):
    def test_client_on_either_side(self):
        self.assertEqual(kinds.label_of("127.0.1.5", "127.0.3.1"), "benign")
        self.assertEqual(kinds.label_of("127.0.3.1", "127.0.1.5"), "benign")  # a reply seen first
        self.assertEqual(kinds.label_of("127.0.2.1", "127.0.3.1"), "portscan")
        self.assertEqual(kinds.label_of("127.0.3.1", "127.0.2.2"), "ssh-bruteforce")
        self.assertEqual(kinds.label_of("127.0.3.1", "127.0.2.6"), "reverse-shell")  # victim calls out

    def test_attack_address_wins_and_others_are_unknown(self):
        self.assertEqual(kinds.label_of("127.0.1.1", "127.0.2.3"), "http-probe")
        self.assertEqual(kinds.label_of("127.0.3.1", "127.0.3.1"), "unknown")
        self.assertEqual(kinds.label_of("127.0.2.7", "127.0.3.1"), "unknown")  # no kind 7
        self.assertEqual(kinds.label_of("not an address", "127.0.3.1"), "unknown")

    def test_only_loopback(self):
        self.assertEqual(kinds.require_loopback("127.200.1.1"), "127.200.1.1")
        with self.assertRaises(SystemExit):
            kinds.require_loopback("10.0.0.1")

    def test_label_file_reads_both_dialects(self):
        with tempfile.TemporaryDirectory() as tmp:
            a = os.path.join(tmp, "a.csv")
            with open(a, "w") as f:
                f.write("Flow ID,Src IP,Src Port,Dst IP\nx,127.0.3.1,80,127.0.1.9\ny,127.0.2.5,1,127.0.3.1\n")
            self.assertEqual(list(label.label_file(a)), [(1, "background", "benign"), (2, "attack", "exfiltration")])
            b = os.path.join(tmp, "b.csv")
            with open(b, "w") as f:
                f.write("src_ip,dst_ip,src_port\n127.0.0.9,127.0.3.1,5\n")
            self.assertEqual(list(label.label_file(b)), [(1, "unknown", "unknown")])
            bad = os.path.join(tmp, "bad.csv")
            with open(bad, "w") as f:
                f.write("Src IP,Dst IP\n127.0.1.1\n")
            with self.assertRaisesRegex(SystemExit, "line 2: 1 fields, the header has 2"):
                list(label.label_file(bad))


class ScoreTests(unittest.TestCase):
    def test_auc(self):
        self.assertEqual(score.auc([3, 4], [1, 2]), 1.0)
        self.assertEqual(score.auc([1], [1]), 0.5)
        self.assertEqual(score.auc([1, 3], [2]), 0.5)
        self.assertEqual(score.auc([2, 2], [1, 2, 3]), 0.5)  # each: one win, one tie, one loss
        self.assertAlmostEqual(score.auc([2], [1, 1, 3]), 2 / 3)
        self.assertIsNone(score.auc([], [1]))

    def test_report(self):
        with tempfile.TemporaryDirectory() as tmp:
            labels = os.path.join(tmp, "labels.csv")
            with open(labels, "w") as f:
                f.write("file,row,role,kind\nbaseline.csv,1,background,benign\n"
                        "later.csv,1,background,benign\nlater.csv,2,background,benign\n"
                        "later.csv,3,attack,portscan\nlater.csv,4,attack,portscan\n")
            verdicts = os.path.join(tmp, "v.jsonl")
            # detect's row is the line in the file: flow 1 is row 2.
            lines = [(2, 0.5, "benign"), (3, 2.0, "malicious"), (4, 3.0, "malicious"), (5, 1.0, "benign")]
            with open(verdicts, "w") as f:
                for row, s, v in lines:
                    f.write(json.dumps({"row": row, "score": s, "verdict": v, "threshold": 1.5}) + "\n")
            incidents = os.path.join(tmp, "i.jsonl")
            with open(incidents, "w") as f:
                f.write(json.dumps({"src_ip": "127.0.2.1", "dst_ip": "127.0.3.1"}) + "\n")
                f.write(json.dumps({"src_ip": "127.0.3.1", "dst_ip": "127.0.1.4"}) + "\n")
            report = score.score(labels, "later.csv", verdicts, incidents)
            self.assertEqual(report["threshold"], 1.5)
            self.assertEqual(report["later_benign_flows"], 2)
            self.assertEqual(report["false_positive_rate"], 0.5)
            self.assertEqual(report["benign_incidents"], 1)
            scan = report["attacks"]["portscan"]
            self.assertEqual((scan["flows"], scan["flagged"], scan["detected_rate"], scan["incidents"]), (2, 1, 0.5, 1))
            self.assertEqual(scan["auc_vs_later_benign"], 0.75)  # 3.0 beats both, 1.0 beats 0.5 only
            self.assertEqual(report["attacks"]["exfiltration"]["flows"], 0)
            self.assertIsNone(report["attacks"]["exfiltration"]["detected_rate"])
            self.assertIn("| portscan | 127.0.2.1 | 2 | 1 | 50.0% | 1 | 0.750 |", score.markdown(report, "t"))
            with open(verdicts, "a") as f:
                f.write(json.dumps({"row": 9, "score": 0, "verdict": "benign"}) + "\n")
            with self.assertRaisesRegex(SystemExit, "row 9 has no label"):
                score.score(labels, "later.csv", verdicts, incidents)


class TrafficTests(unittest.TestCase):
    def test_schedule_is_the_seeds(self):
        a = traffic.benign_schedule("baseline", 60, 1)
        self.assertEqual(a, traffic.benign_schedule("baseline", 60, 1))
        self.assertNotEqual(a, traffic.benign_schedule("baseline", 60, 2))
        self.assertTrue(all(0 < s[0] < 58 for s in a))
        self.assertTrue(all(s[2].startswith("127.0.1.") for s in a))
        later = traffic.benign_schedule("later", 600, 1)
        self.assertLessEqual(max(int(s[2].rsplit(".", 1)[1]) for s in later), 30)
        self.assertGreater(max(int(s[2].rsplit(".", 1)[1]) for s in later), 20)  # new clients in the drift

    def test_attacks_end_inside_the_phase(self):
        for seconds in (20, 30, 120, 3600):
            for seed in range(20):
                plan = traffic.attack_plan(seconds, seed)
                self.assertEqual(sorted(p[1] for p in plan), sorted(kinds.ATTACKS))
                for start, _, length, _ in plan:
                    self.assertGreaterEqual(length, 6.0)
                    self.assertLessEqual(start + length, seconds - 2 + 1e-9)

    def test_dns_query(self):
        q = traffic.dns_query("api.lab.test", 0x1234)
        self.assertEqual(q[:12], bytes.fromhex("123401000001000000000000"))
        self.assertEqual(q[12:], b"\x03api\x03lab\x04test\x00\x00\x01\x00\x01")

    def test_redis_command(self):
        self.assertEqual(traffic.redis_command("SET", "k", "vv"), b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n")


if __name__ == "__main__":
    unittest.main()
