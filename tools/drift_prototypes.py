#!/usr/bin/env python3
"""NumPy prototypes for drift-robust scoring and calibration (beside `gpu-train`, outside the Swift code).

Question: which scoring + calibration recipe keeps the nearest-neighbour detector quiet on normal
traffic from other hours/days (the `background` flows of the attack captures, see
../shared/data/README.md and kubernetes-flow-roles.csv) while it still flags the attack flows.

Protocol ("multi-period setup", leave one capture out): for each of the 7 malicious captures C
  baseline periods = [earliest 80% of the benign flows (file order)] + [background-role flows of
                      each OTHER capture, one period per capture]
  test             = all flows of C (attack and background role) + the latest 20% of benign flows
  shots            = up to 5 attack-role flows of the other captures (only used by the `floor` option)
Reported per capture: attack detected (fraction of C's attack flows flagged), background flagged
(fraction of C's background flows flagged), later benign flagged, AUC attack vs background; and
over the 7 folds: mean / worst background flagged, min attack detected, mean later benign flagged.
"one-capture" setup = baseline is the earliest 80% benign only (the current detector).

Recipe knobs (see `Recipe`):
  transform  quantile transform to a standard normal, clip 5, fitted on ALL baseline periods pooled
             (reused from tools/crossval_prototypes.py)
  features   the 19 default FEATURES, optionally without the rate features (Flow Bytes/s, Flow Packets/s)
  weights    none | ratio: w_j = 1/(1 + B_j/W_j) with B_j = variance across periods of the per-period
             means of feature j, W_j = mean over periods of the within-period variance of feature j
             | nndiff: w_j = 1/mean_j |z_j - z_j(nn)| over cross-period nearest neighbours (normalised
             to mean 1). Weighted distance = sqrt(sum_j w_j (a_j - b_j)^2).
  group      none | dport (Dst Port) | dport_proto (Dst Port, Protocol) | svc (min(Src Port, Dst
             Port), Protocol): a flow is compared only with bank flows of its group; if the bank holds
             fewer than max(m, k) flows of that group -> fallback: the whole bank (unseen='whole') or,
             when the group is absent from the bank (0 flows), score = +inf (unseen='inf').
             Identifiers never enter the distance.
  k, agg     distance to the k-th neighbour (agg='kth') or mean of the k nearest (agg='mean')
  calib      loo:   (1-fpr) quantile of the bank's leave-one-out scores (current detector)
             pooled: each period scored against the bank of the OTHER periods; (1-fpr) quantile of
                     the pooled cross-period scores
             maxper: max over periods of the per-period (1-fpr) quantiles of the cross-period scores
             balanced: pooled, but every period weighs the same in the quantile
             median: median over periods of the per-period (1-fpr) quantiles
  clip       >0: each per-feature difference |a_j - b_j| is clipped at this value before summing
  group_thr  >0: per-service threshold (max of the global one and the service's own cross-period quantile)
             for services with >= group_thr calibration scores
  quantile   'inverted_cdf' definition: sorted ascending s[0..n-1], q-quantile = s[ceil(q*n)-1];
             a flow is flagged when score > threshold.
  floor      optional: threshold = min(threshold, 0.5 * min score of the 5 shots) (never raises it)

    python3 tools/drift_prototypes.py --data ../shared/data/kubernetes-dataset \
        --roles ../shared/data/kubernetes-flow-roles.csv [--quick]
Recommended (RECOMMENDED below; see /work/notes/drift-findings.md): svc groups, unseen=inf, k=1, clip 1.0,
pooled cross-period calibration with fpr 0.01. Needs numpy only. Full run ~5 min on 2 cores, --quick ~1 min.
"""
import argparse, collections, csv, glob, os, sys
from dataclasses import dataclass, replace
from datetime import datetime
from statistics import NormalDist

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crossval_prototypes import FEATURES, auc_np, feature_row  # noqa: E402

RATE_FEATURES = ["Flow Bytes/s", "Flow Packets/s"]
_inv = np.vectorize(NormalDist().inv_cdf)


# ---------------------------------------------------------------- data
def load(root, roles_path):
    roles = {}
    for r in csv.DictReader(open(roles_path)):
        roles[(r["file"], int(r["row"]))] = (r["role"], r["flow_id"])
    X, cap, role, dport, sport, proto, ts, order = [], [], [], [], [], [], [], []
    for path in sorted(glob.glob(os.path.join(root, "**", "*.csv"), recursive=True)):
        fname = os.path.basename(path)
        name = fname.split("_")[0]
        for i, r in enumerate(csv.DictReader(open(path))):
            X.append(feature_row(r))
            if float(r["Label"]) == 0:
                cap.append("benign"); role.append("benign")
            else:
                rl, fid = roles[(fname, i + 1)]
                assert fid == r["Flow ID"], (fname, i + 1)
                cap.append(name); role.append(rl)
            dport.append(int(r["Dst Port"])); sport.append(int(r["Src Port"])); proto.append(int(r["Protocol"]))
            ts.append(datetime.fromisoformat(r["Timestamp"]).timestamp()); order.append(i)
    d = dict(X=np.array(X), cap=np.array(cap), role=np.array(role), dport=np.array(dport),
             sport=np.array(sport), proto=np.array(proto), ts=np.array(ts), order=np.array(order))
    return d


def quantile_transform(baseline, X, knots=1000, clip=5.0):
    """Same as crossval_prototypes.quantile_transform (vectorised inv_cdf)."""
    k = np.nanquantile(baseline, np.linspace(0, 1, knots), axis=0)
    out = np.zeros_like(X)
    for j in range(X.shape[1]):
        x = np.where(np.isnan(X[:, j]), np.nanmedian(k[:, j]), X[:, j])
        lo, hi = np.searchsorted(k[:, j], x, "left"), np.searchsorted(k[:, j], x, "right")
        pos = np.where(hi > lo, (lo + hi - 1) / 2.0, np.interp(x, k[:, j], np.arange(knots)))
        p = np.clip((pos + 0.5) / knots, 1e-6, 1 - 1e-6)
        out[:, j] = np.clip(_inv(p), -clip, clip)
    return out


# ---------------------------------------------------------------- recipe
@dataclass(frozen=True)
class Recipe:
    name: str = "default"
    drop_rates: bool = False
    weights: str = "none"        # none | ratio | nndiff
    group: str = "none"          # none | dport | dport_proto | svc
    m: int = 1                   # min group size in the bank, else fallback
    unseen: str = "whole"        # whole | inf
    k: int = 1
    agg: str = "kth"             # kth | mean
    calib: str = "loo"           # loo | pooled | maxper
    fpr: float = 0.05
    floor: bool = False
    benign_split: int = 1        # number of periods the early benign baseline is split into (calibration)
    split_by: str = "order"      # order | time
    clip: float = 0.0            # >0: per-feature |a_j - b_j| clipped at this value before summing
    group_thr: int = 0           # >0: per-service threshold where the service has >= this many calibration scores


def wqtile(s, w, q):
    """Weighted quantile: smallest s_i with cumulative weight (ascending) >= q * total weight."""
    o = np.argsort(s, kind="mergesort")
    c = np.cumsum(w[o])
    return s[o][min(np.searchsorted(c, q * c[-1] - 1e-12), len(s) - 1)]


def qtile(s, q):
    s = np.sort(s)
    return s[max(int(np.ceil(q * len(s))) - 1, 0)]


CLIP = [0.0]  # set by score(): per-feature difference clip (0 = off)


def sqdist(Q, B):
    if CLIP[0] <= 0:
        return (Q ** 2).sum(1)[:, None] + (B ** 2).sum(1)[None, :] - 2 * Q @ B.T
    out = np.empty((len(Q), len(B)))
    for i in range(0, len(Q), 64):
        diff = np.minimum(np.abs(Q[i:i + 64, None, :] - B[None, :, :]), CLIP[0])
        out[i:i + 64] = (diff ** 2).sum(2)
    return out


def knn(Q, B, k, agg, self_idx=None):
    """k-NN distance of each row of Q to B; self_idx[i] = row of B equal to Q[i] (excluded) or -1."""
    if len(B) == 0:
        return np.full(len(Q), np.inf)
    d = sqdist(Q, B)
    if self_idx is not None:
        r = np.where(self_idx >= 0)[0]
        d[r, self_idx[r]] = np.inf
    kk = min(k, d.shape[1])
    part = np.sort(np.partition(d, kk - 1, axis=1)[:, :kk], axis=1)
    part = np.sqrt(np.maximum(part, 0))
    return part[:, -1] if agg == "kth" else part.mean(1)


def group_keys(d, idx, mode):
    if mode == "none":
        return np.zeros(len(idx), np.int64)
    if mode == "dport":
        return d["dport"][idx].astype(np.int64)
    if mode == "dport_proto":
        return d["dport"][idx].astype(np.int64) * 1000 + d["proto"][idx]
    if mode == "svc":
        return np.minimum(d["sport"][idx], d["dport"][idx]).astype(np.int64) * 1000 + d["proto"][idx]
    raise ValueError(mode)


def score(Zq, gq, Zb, gb, rc, self_idx=None):
    """Score queries Zq (groups gq) against bank Zb (groups gb)."""
    CLIP[0] = rc.clip
    out = np.empty(len(Zq))
    need = max(rc.m, rc.k + (1 if self_idx is not None else 0))
    whole = np.zeros(len(Zq), bool)
    if rc.group == "none":
        whole[:] = True
    else:
        for g in np.unique(gq):
            qi = np.where(gq == g)[0]
            bi = np.where(gb == g)[0]
            if len(bi) >= need:
                si = None
                if self_idx is not None:
                    pos = {b: n for n, b in enumerate(bi)}
                    si = np.array([pos.get(s, -1) for s in self_idx[qi]])
                out[qi] = knn(Zq[qi], Zb[bi], rc.k, rc.agg, si)
            elif len(bi) == 0 and rc.unseen == "inf":
                out[qi] = np.inf
            else:
                whole[qi] = True
    if whole.any():
        wi = np.where(whole)[0]
        out[wi] = knn(Zq[wi], Zb, rc.k, rc.agg, None if self_idx is None else self_idx[wi])
    return out


def feature_weights(Z, periods, mode):
    if mode == "none":
        return np.ones(Z.shape[1])
    if mode == "ratio":
        means = np.array([Z[p].mean(0) for p in periods])
        within = np.array([Z[p].var(0) for p in periods]).mean(0)
        between = means.var(0)
        w = 1.0 / (1.0 + between / np.maximum(within, 1e-6))
    elif mode == "nndiff":
        diffs = []
        allp = np.concatenate(periods)
        for i, p in enumerate(periods):
            other = np.concatenate([q for j, q in enumerate(periods) if j != i])
            _, nn = _nn_index(Z[p], Z[other])
            diffs.append(np.abs(Z[p] - Z[other][nn]))
        w = 1.0 / np.maximum(np.concatenate(diffs).mean(0), 1e-3)
        del allp
    else:
        raise ValueError(mode)
    return w / w.mean()


def _nn_index(Q, B):
    d = (Q ** 2).sum(1)[:, None] + (B ** 2).sum(1)[None, :] - 2 * Q @ B.T
    return None, d.argmin(1)


def split_benign(d, early, n, by):
    if n <= 1:
        return [early]
    if by == "order":
        return [a for a in np.array_split(early, n)]
    t = d["ts"][early]
    edges = np.linspace(t.min(), t.max(), n + 1)
    lab = np.clip(np.searchsorted(edges, t, "right") - 1, 0, n - 1)
    return [early[lab == i] for i in range(n)]


# ---------------------------------------------------------------- evaluation
class Ctx:
    def __init__(self, d):
        self.d = d
        benign = np.where(d["cap"] == "benign")[0]
        cut = int(round(len(benign) * 0.8))
        self.early, self.later = benign[:cut], benign[cut:]
        self.caps = sorted(set(d["cap"]) - {"benign"})
        self.bg = {c: np.where((d["cap"] == c) & (d["role"] == "background"))[0] for c in self.caps}
        self.att = {c: np.where((d["cap"] == c) & (d["role"] == "attack"))[0] for c in self.caps}
        self._tcache = {}

    def transformed(self, key, base_idx, cols):
        if key not in self._tcache:
            X = self.d["X"][:, cols]
            self._tcache[key] = quantile_transform(X[base_idx], X)
        return self._tcache[key]


def run_fold(ctx, rc, C, multi=True, rng_seed=0, return_scores=False):
    d = ctx.d
    cols = [i for i, f in enumerate(FEATURES) if not (rc.drop_rates and f in RATE_FEATURES)]
    periods = split_benign(d, ctx.early, rc.benign_split, rc.split_by)
    if multi:
        periods = periods + [ctx.bg[c] for c in ctx.caps if c != C]
    bank = np.concatenate(periods)
    Z = ctx.transformed((C, multi, rc.drop_rates), bank, cols)
    w = feature_weights(Z, periods, rc.weights)
    Zw = Z * np.sqrt(w)[None, :]
    test = np.concatenate([np.where(d["cap"] == C)[0], ctx.later])
    gb = group_keys(d, bank, rc.group)
    s_test = score(Zw[test], group_keys(d, test, rc.group), Zw[bank], gb, rc)
    # calibration
    q = 1 - rc.fpr
    if rc.calib == "loo" or len(periods) < 2:
        s_cal = score(Zw[bank], gb, Zw[bank], gb, rc, self_idx=np.arange(len(bank)))
        thr = qtile(s_cal, q)
        per_thr = [thr]
    else:
        per = []
        for i, p in enumerate(periods):
            other = np.concatenate([x for j, x in enumerate(periods) if j != i])
            per.append(score(Zw[p], group_keys(d, p, rc.group), Zw[other], group_keys(d, other, rc.group), rc))
        per_thr = [qtile(s, q) for s in per]
        pooled = np.concatenate(per)
        if rc.calib == "pooled":
            thr = qtile(pooled, q)
        elif rc.calib == "balanced":  # every period weighs the same in the quantile
            thr = wqtile(pooled, np.concatenate([np.full(len(x), 1.0 / len(x)) for x in per]), q)
        elif rc.calib == "median":
            thr = float(np.median(per_thr))
        else:
            thr = max(per_thr)
    thr_test = np.full(len(test), thr)
    if rc.group_thr and rc.calib != "loo":  # per-service thresholds, never below the global one
        gm = rc.group if rc.group != "none" else "svc"
        gcal = np.concatenate([group_keys(d, p, gm) for p in periods])
        gt = group_keys(d, test, gm)
        for g in np.unique(gt):
            cs = pooled[gcal == g]
            if len(cs) >= rc.group_thr:
                thr_test[gt == g] = max(thr, qtile(cs, q))
    if rc.floor:
        others = np.concatenate([ctx.att[c] for c in ctx.caps if c != C and len(ctx.att[c])])
        shots = np.random.default_rng(rng_seed).choice(others, 5, replace=False)
        s_shot = score(Zw[shots], group_keys(d, shots, rc.group), Zw[bank], gb, rc)
        thr = min(thr, 0.5 * s_shot.min())
        thr_test = np.minimum(thr_test, thr)
    sc = dict(zip(test, s_test - thr_test))  # > 0 means flagged
    s_raw = dict(zip(test, s_test))
    a, b = ctx.att[C], ctx.bg[C]
    sa = np.array([sc[i] for i in a]); sb = np.array([sc[i] for i in b])
    sl = np.array([sc[i] for i in ctx.later])
    ra = np.array([s_raw[i] for i in a]); rb = np.array([s_raw[i] for i in b])
    res = dict(det=(sa > 0).mean() if len(a) else np.nan, bg=(sb > 0).mean(), later=(sl > 0).mean(),
               auc=auc_np(np.nan_to_num(np.r_[ra, rb], posinf=1e9), np.r_[np.ones(len(a), bool), np.zeros(len(b), bool)])
               if len(a) else np.nan,
               thr=thr, per_thr=per_thr, n_periods=[len(p) for p in periods], na=len(a), nb=len(b))
    if return_scores:
        res["scores"] = (ra, rb, np.array([s_raw[i] for i in ctx.later]))
    return res


def evaluate(ctx, rc, multi=True):
    per = {C: run_fold(ctx, rc, C, multi) for C in ctx.caps}
    bg = np.array([per[C]["bg"] for C in ctx.caps])
    det = np.array([per[C]["det"] for C in ctx.caps])
    auc = np.array([per[C]["auc"] for C in ctx.caps])
    later = np.array([per[C]["later"] for C in ctx.caps])
    summ = dict(bg_mean=bg.mean(), bg_worst=bg.max(), det_min=np.nanmin(det), later=later.mean(),
                later_max=later.max(), auc_min=np.nanmin(auc))
    return per, summ


def ok(s):
    return s["det_min"] >= 0.99 and s["bg_mean"] <= 0.05 and s["bg_worst"] <= 0.10 and s["later"] <= 0.02


def print_per_capture(ctx, title, per):
    print(f"\n## {title}")
    print("| capture | attack flows | bg flows | attack detected | bg flagged | later benign flagged | AUC att/bg | threshold |")
    print("|---|---|---|---|---|---|---|---|")
    for C in ctx.caps:
        r = per[C]
        det = "n/a" if np.isnan(r["det"]) else f"{r['det']:.3f}"
        auc = "n/a" if np.isnan(r["auc"]) else f"{r['auc']:.3f}"
        print(f"| {C} | {r['na']} | {r['nb']} | {det} | {r['bg']:.3f} | {r['later']:.3f} | {auc} | {r['thr']:.3f} |")
    bg = [per[C]["bg"] for C in ctx.caps]
    print(f"| **overall** | | | min {np.nanmin([per[C]['det'] for C in ctx.caps]):.3f} | mean {np.mean(bg):.3f}, "
          f"worst {np.max(bg):.3f} | mean {np.mean([per[C]['later'] for C in ctx.caps]):.3f} | | |")
    sys.stdout.flush()


def row(rc, s, label=None):
    return (f"| {label or rc.name} | {s['bg_mean']:.3f} | {s['bg_worst']:.3f} | {s['det_min']:.3f} | "
            f"{s['later']:.3f} | {s['auc_min']:.3f} | {'yes' if ok(s) else ''} |")


def describe(d, ctx):
    print("## Periods and timestamp spans (Timestamp format: 'YYYY-MM-DD HH:MM:SS.ffffff', file order)")
    print("| file/period | flows | background/baseline flows | first | last | min | max |")
    print("|---|---|---|---|---|---|---|")
    fmt = lambda t: datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")
    for name, idx, n2 in [("benign (all)", np.where(d["cap"] == "benign")[0], None),
                          ("benign early 80% (baseline)", ctx.early, None), ("benign later 20% (test)", ctx.later, None)] + \
                         [(c, np.where(d["cap"] == c)[0], len(ctx.bg[c])) for c in ctx.caps]:
        t = d["ts"][idx]
        print(f"| {name} | {len(idx)} | {n2 if n2 is not None else len(idx)} | {fmt(t[0])} | {fmt(t[-1])} | {fmt(t.min())} | {fmt(t.max())} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--roles", required=True)
    ap.add_argument("--quick", action="store_true", help="skip the variants table")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    d = load(args.data, args.roles)
    ctx = Ctx(d)
    describe(d, ctx)

    run_all(ctx, args.quick)


B = Recipe()
RECOMMENDED = replace(B, name="RECOMMENDED: svc groups, unseen=inf, k=1, clip 1, pooled cross-period q .99",
                      group="svc", unseen="inf", clip=1.0, calib="pooled", fpr=0.01)
MINIMAL = replace(B, name="MINIMAL: whole bank, k=1, pooled cross-period q .99", calib="pooled", fpr=0.01)
R = RECOMMENDED
VARIANTS = [replace(B, name="default (LOO fpr .05)"), replace(B, name="default LOO fpr .01", fpr=0.01)]
for f in (0.05, 0.03, 0.02, 0.01, 0.005):
    VARIANTS += [replace(B, name=f"1. pooled cross-period fpr {f}", calib="pooled", fpr=f)]
for f in (0.05, 0.01):
    VARIANTS += [replace(B, name=f"1. maxper cross-period fpr {f}", calib="maxper", fpr=f)]
for f in (0.03, 0.01):
    VARIANTS += [replace(B, name=f"1. balanced (periods equal weight) fpr {f}", calib="balanced", fpr=f),
                 replace(B, name=f"1. median of per-period quantiles fpr {f}", calib="median", fpr=f)]
for n in (2, 4):
    VARIANTS += [replace(MINIMAL, name=f"1. pooled .01, early benign split into {n} periods by time", benign_split=n,
                         split_by="time")]
for wm in ("ratio", "nndiff"):
    VARIANTS += [replace(B, name=f"2. weights {wm} (LOO .05)", weights=wm),
                 replace(MINIMAL, name=f"2. weights {wm} + pooled .01", weights=wm)]
for g in ("dport", "dport_proto", "svc"):
    VARIANTS += [replace(B, name=f"3. group {g} m=1 unseen=whole (LOO .05)", group=g)]
    for un, m in (("whole", 1), ("whole", 20), ("inf", 1)):
        VARIANTS += [replace(MINIMAL, name=f"3. group {g} m={m} unseen={un} + pooled .01", group=g, m=m, unseen=un)]
VARIANTS += [replace(MINIMAL, name="3+5. group svc, unseen=inf, pooled .01, per-service thresholds (>=50 scores)",
                     group="svc", unseen="inf", group_thr=50)]
for k in (3, 5):
    for agg in ("kth", "mean"):
        VARIANTS += [replace(B, name=f"4. k={k} {agg} (LOO .05)", k=k, agg=agg),
                     replace(MINIMAL, name=f"4. k={k} {agg} + pooled .01", k=k, agg=agg)]
VARIANTS += [replace(B, name="5. drop rates (LOO .05)", drop_rates=True),
             replace(MINIMAL, name="5. drop rates + pooled .01", drop_rates=True),
             replace(MINIMAL, name="5. clip 1 + pooled .01 (whole bank)", clip=1.0),
             replace(MINIMAL, name="5. shot floor (0.5 x min of 5 shots) + pooled .01", floor=True)]
for c in (0.5, 1.5):
    VARIANTS += [replace(R, name=f"R with clip {c}", clip=c)]
VARIANTS += [replace(R, name="R without clip", clip=0.0), replace(R, name="R with unseen=whole", unseen="whole"),
             replace(R, name="R with group dport_proto", group="dport_proto"),
             replace(R, name="R + ratio weights", weights="ratio"), replace(R, name="R + drop rates", drop_rates=True),
             replace(R, name="R with k=3 kth", k=3), replace(R, name="R, early benign split into 4 periods by time",
                                                         benign_split=4, split_by="time")]
SENSITIVITY = [replace(R, name=f"R fpr {f}", fpr=f) for f in (0.005, 0.01, 0.015, 0.02, 0.03)] + \
              [replace(MINIMAL, name=f"MINIMAL fpr {f}", fpr=f) for f in (0.005, 0.01, 0.015, 0.02, 0.03)]


def deployment_threshold(ctx, rc):
    """Unit-test numbers: calibration with ALL 8 periods (early benign + every capture's background)."""
    d = ctx.d
    periods = split_benign(d, ctx.early, rc.benign_split, rc.split_by) + [ctx.bg[c] for c in ctx.caps]
    bank = np.concatenate(periods)
    cols = [i for i, f in enumerate(FEATURES) if not (rc.drop_rates and f in RATE_FEATURES)]
    X = d["X"][:, cols]
    Z = quantile_transform(X[bank], X) * np.sqrt(feature_weights(quantile_transform(X[bank], X), periods, rc.weights))
    per = []
    for i, p in enumerate(periods):
        other = np.concatenate([x for j, x in enumerate(periods) if j != i])
        per.append(score(Z[p], group_keys(d, p, rc.group), Z[other], group_keys(d, other, rc.group), rc))
    pooled = np.concatenate(per)
    print(f"\n{rc.name}: all-8-period calibration, {len(pooled)} cross-period scores, "
          f"{int(np.isinf(pooled).sum())} infinite (service unseen in the other periods)")
    for qq in (0.95, 0.98, 0.99, 0.995):
        print(f"  pooled quantile {qq}: {qtile(pooled, qq):.4f}")
    print("  per-period n / 0.99 quantile / max finite: " + "; ".join(
        f"{n} {len(x)} {qtile(x, .99):.3f} {x[np.isfinite(x)].max():.3f}"
        for n, x in zip(["benign-early"] + ctx.caps, per)))


def run_all(ctx, quick):
    per, _ = evaluate(ctx, replace(B, name="default"), multi=False)
    print_per_capture(ctx, "One-capture baseline (early 80% benign only), default recipe (k=1, LOO q .95)", per)
    per, _ = evaluate(ctx, B, multi=True)
    print_per_capture(ctx, "Multi-period baseline, default recipe (LOO q .95)", per)
    for rc in (MINIMAL, RECOMMENDED):
        per, _ = evaluate(ctx, rc)
        print_per_capture(ctx, f"Multi-period baseline, {rc.name}", per)
        print("per-fold: period sizes, per-period 0.99 quantiles of cross-period scores, threshold:")
        for C in ctx.caps:
            r = per[C]
            print(f"  leave out {C}: {r['n_periods']}, {[round(float(x), 3) for x in r['per_thr']]}, {r['thr']:.4f}")
        deployment_threshold(ctx, rc)
    print("\n## Sensitivity to fpr")
    print("| variant | bg flagged mean | bg flagged worst | attack detected min | later benign flagged | AUC min | meets targets |")
    print("|---|---|---|---|---|---|---|")
    for rc in SENSITIVITY:
        print(row(rc, evaluate(ctx, rc)[1]), flush=True)
    if quick:
        return
    print("\n## Variants (multi-period setup; min attack detected over the 5 captures with attacks)")
    print("| variant | bg flagged mean | bg flagged worst | attack detected min | later benign flagged | AUC min | meets targets |")
    print("|---|---|---|---|---|---|---|")
    for rc in VARIANTS:
        print(row(rc, evaluate(ctx, rc)[1]), flush=True)


if __name__ == "__main__":
    main()
