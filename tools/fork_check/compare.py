#!/usr/bin/env python3
"""Compares two flow CSVs line by line, as multisets keyed by (Flow ID, Timestamp); prints the
first differences and the columns that differ; exits 1 when any line differs."""
import sys, collections
def load(p):
    rows = [l.rstrip("\n").split(",") for l in open(p)][1:]
    d = collections.defaultdict(list)
    for r in rows: d[(r[0], r[6])].append(r)
    return d
h = open(sys.argv[1]).readline().rstrip("\n").split(",")
o, m = load(sys.argv[1]), load(sys.argv[2])
cols = collections.Counter(); only_o = only_m = 0; shown = 0
for k in set(o) | set(m):
    a, b = o.get(k, []), m.get(k, [])
    if len(a) != len(b): 
        only_o += len(a); only_m += len(b)
        if shown < int(sys.argv[3]): print("COUNT", k, len(a), len(b)); shown += 1
        continue
    for x, y in zip(sorted(a), sorted(b)):
        diff = [h[i] for i in range(len(h)) if x[i] != y[i]]
        for c in diff: cols[c] += 1
        if diff and shown < int(sys.argv[3]):
            shown += 1
            print(k, [(h[i], x[i], y[i]) for i in range(len(h)) if x[i] != y[i]])
print("flows:", sum(len(v) for v in o.values()), "fork,", sum(len(v) for v in m.values()), "ours;",
      "unmatched:", only_o, "fork,", only_m, "ours; columns differing:", cols.most_common() or "none")
sys.exit(1 if only_o or only_m or cols else 0)
