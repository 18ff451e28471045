#!/usr/bin/env python3
"""smft reference evaluator: an independent NumPy/SciPy implementation of the
paper's analysis (dimension-wise Spearman + Steiger, RSA with bootstrap,
word-wise similarity).  Used to produce golden outputs for the TypeScript
evaluator and as the speed baseline for `npm run bench`.

It is deliberately plain and slow where the paper is slow (the bootstrap
recomputes the three RDMs of every model pair in every iteration).

See scripts/reference/README.md for the conventions.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
import time
import warnings

import numpy as np
from scipy import stats

# ---------------------------------------------------------------------------
# Dimensions, subsets, model order
# ---------------------------------------------------------------------------

EN_DIMS = ["auditory", "gustatory", "haptic", "interoceptive", "olfactory", "visual",
           "foot_leg", "hand_arm", "head", "mouth", "torso"]
NL_DIMS = ["horen", "proeven", "voelen", "sensaties", "ruiken", "zien"]

SUBSETS = {
    "en": {
        "motor": ["foot_leg", "hand_arm", "head", "mouth", "torso"],
        "sensory": ["auditory", "gustatory", "haptic", "interoceptive", "olfactory", "visual"],
        "all": EN_DIMS,
    },
    "nl": {
        "sensory": NL_DIMS,
    },
}

HUMAN = "human"
PRIORITY_FIRST = ["en_ft", "qa_ft", "nl_ft"]
PRIORITY_LAST = ["base"]


def pair_order(models):
    """Models in pair-naming priority: en_ft, qa_ft, nl_ft, others (first
    appearance), base."""
    first = [m for m in PRIORITY_FIRST if m in models]
    last = [m for m in PRIORITY_LAST if m in models]
    middle = [m for m in models if m not in first and m not in last]
    return first + middle + last


def model_pairs(models):
    """All unordered pairs (A, B), A before B in priority order."""
    order = pair_order(models)
    return [(order[i], order[j]) for i in range(len(order)) for j in range(i + 1, len(order))]


def pair_key(a, b):
    return f"{a} vs {b}"


# ---------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------

class Dataset:
    """words: list[str]; lang; dims (canonical order, those present);
    models: list[str] (first appearance, no human);
    values[source][dim] -> float64 array over words (NaN = missing)."""

    def __init__(self, words, lang, dims, models, values):
        self.words = words
        self.lang = lang
        self.dims = dims
        self.models = models
        self.values = values

    def sources(self):
        return [HUMAN] + self.models


def parse_rating(text, where):
    s = text.strip()
    if s == "":
        return math.nan
    try:
        return float(s)
    except ValueError:
        print(f"warning: non-numeric rating {text!r} at {where}; treated as missing", file=sys.stderr)
        return math.nan


def read_long(path):
    words, word_pos = [], {}
    models = []
    dims_seen = set()
    cells = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        need = {"word", "dimension", "model", "rating"}
        if reader.fieldnames is None or not need.issubset(reader.fieldnames):
            raise SystemExit(f"{path}: header must be word,dimension,model,rating")
        for lineno, row in enumerate(reader, start=2):
            w, d, m = row["word"], row["dimension"].strip(), row["model"].strip()
            if w not in word_pos:
                word_pos[w] = len(words)
                words.append(w)
            if m != HUMAN and m not in models:
                models.append(m)
            dims_seen.add(d)
            key = (w, d, m)
            if key in cells:
                raise SystemExit(f"{path}:{lineno}: duplicate rating for {key}")
            cells[key] = parse_rating(row["rating"] or "", f"{path}:{lineno}")
    en = dims_seen & set(EN_DIMS)
    nl = dims_seen & set(NL_DIMS)
    unknown = dims_seen - set(EN_DIMS) - set(NL_DIMS)
    if unknown:
        raise SystemExit(f"{path}: unknown dimension ids {sorted(unknown)}")
    if en and nl:
        raise SystemExit(f"{path}: mixes English and Dutch dimension ids")
    lang = "en" if en else "nl"
    dims = [d for d in (EN_DIMS if lang == "en" else NL_DIMS) if d in dims_seen]
    values = {}
    for src in [HUMAN] + models:
        values[src] = {}
        for d in dims:
            # A (word, dim, model) combination absent from the file is missing too.
            values[src][d] = np.array([cells.get((w, d, src), math.nan) for w in words],
                                      dtype=np.float64)
    return Dataset(words, lang, dims, models, values)


EN_HUMAN_COLS = {"Auditory.mean": "auditory", "Gustatory.mean": "gustatory",
                 "Haptic.mean": "haptic", "Interoceptive.mean": "interoceptive",
                 "Olfactory.mean": "olfactory", "Visual.mean": "visual",
                 "Foot.mean": "foot_leg", "Hand.mean": "hand_arm", "Head.mean": "head",
                 "Mouth.mean": "mouth", "Torso.mean": "torso"}
EN_MODEL_PREFIX = {"auditory": "auditory", "gustatory": "gustatory", "haptic": "haptic",
                   "interoceptive": "interoceptive", "olfactory": "olfactory",
                   "visual": "visual", "foot": "foot_leg", "hand": "hand_arm",
                   "head": "head", "mouth": "mouth", "torso": "torso"}
NL_HUMAN_COLS = {"Horen": "horen", "Proeven": "proeven", "Voelen": "voelen",
                 "Sensaties": "sensaties", "Ruiken": "ruiken", "Zien": "zien"}
NL_MODEL_PREFIX = {d: d for d in NL_DIMS}
MODEL_COL_RE = re.compile(r"^([A-Za-z]+)_([A-Za-z0-9_]+)$")


def read_paper_wide(path, lang):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    human_cols = EN_HUMAN_COLS if lang == "en" else NL_HUMAN_COLS
    prefixes = EN_MODEL_PREFIX if lang == "en" else NL_MODEL_PREFIX
    dims_all = EN_DIMS if lang == "en" else NL_DIMS
    words = [r[0] for r in body]
    colmap = {}  # (source, dim) -> column index
    models = []
    for ci, name in enumerate(header):
        if name in human_cols:
            colmap[(HUMAN, human_cols[name])] = ci
            continue
        m = MODEL_COL_RE.match(name)
        if not m:
            continue
        prefix, model = m.group(1).lower(), m.group(2).lower()
        if prefix not in prefixes:
            continue
        dim = prefixes[prefix]
        if model not in models:
            models.append(model)
        if (model, dim) in colmap:
            raise SystemExit(f"{path}: two columns for {model}/{dim}")
        colmap[(model, dim)] = ci
    dims = [d for d in dims_all if (HUMAN, d) in colmap]
    values = {}
    for src in [HUMAN] + models:
        values[src] = {}
        for d in dims:
            if (src, d) not in colmap:
                raise SystemExit(f"{path}: no column for {src}/{d}")
            ci = colmap[(src, d)]
            values[src][d] = np.array(
                [parse_rating(r[ci] if ci < len(r) else "", f"{path}:{k + 2}:{header[ci]}")
                 for k, r in enumerate(body)], dtype=np.float64)
    return Dataset(words, lang, dims, models, values)


# ---------------------------------------------------------------------------
# Small numerical helpers (explicit sequential sums for bit-level agreement)
# ---------------------------------------------------------------------------

def complete_rows(ds, dims):
    ok = np.ones(len(ds.words), dtype=bool)
    for src in ds.sources():
        for d in dims:
            ok &= ~np.isnan(ds.values[src][d])
    return np.nonzero(ok)[0]


def raw_matrix(ds, src, dims, rows):
    return np.column_stack([ds.values[src][d][rows] for d in dims]).astype(np.float64)


def zscore_columns(X):
    """Per column: mean = sequential sum / n; population variance = sequential
    sum of (x - mean)^2 / n; z = (x - mean) / sqrt(var).  A constant column
    (all values equal) becomes exactly 0.0 (centred, SD treated as 1)."""
    n, d = X.shape
    Z = np.empty_like(X)
    for k in range(d):
        col = X[:, k]
        if n == 0:
            Z[:, k] = col
            continue
        if col.min() == col.max():
            Z[:, k] = 0.0
            continue
        s = 0.0
        for v in col.tolist():
            s = s + v
        mean = s / n
        c = col - mean
        ss = 0.0
        for v in c.tolist():
            ss = ss + v * v
        sd = math.sqrt(ss / n)
        Z[:, k] = c / sd
    return Z


_TRIU_CACHE = {}


def triu_pairs(n):
    """Row/column index arrays of the condensed upper triangle (pdist order)."""
    if n not in _TRIU_CACHE:
        _TRIU_CACHE.clear()
        _TRIU_CACHE[n] = np.triu_indices(n, k=1)
    return _TRIU_CACHE[n]


def _cosine_terms(X, I, J):
    P = I.shape[0]
    dot = np.zeros(P)
    nu = np.zeros(P)
    nv = np.zeros(P)
    for k in range(X.shape[1]):
        col = np.ascontiguousarray(X[:, k])
        a = col[I]
        b = col[J]
        dot = dot + a * b
        nu = nu + a * a
        nv = nv + b * b
    return dot, nu, nv


def centre_rows(X):
    """Subtract each row's mean (sequential sum over dims / d)."""
    d = X.shape[1]
    s = np.zeros(X.shape[0])
    for k in range(d):
        s = s + X[:, k]
    return X - (s / d)[:, None]


def rdm_raw(X, metric):
    """Condensed distance vector in pdist order, NaN left in place."""
    I, J = triu_pairs(X.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "cosine":
            dot, nu, nv = _cosine_terms(X, I, J)
            return 1 - dot / np.sqrt(nu * nv)
        if metric == "correlation":
            dot, nu, nv = _cosine_terms(centre_rows(X), I, J)
            return 1 - dot / np.sqrt(nu * nv)
        if metric == "euclidean":
            s = np.zeros(I.shape[0])
            for k in range(X.shape[1]):
                col = np.ascontiguousarray(X[:, k])
                diff = col[I] - col[J]
                s = s + diff * diff
            return np.sqrt(s)
    raise ValueError(metric)


def self_distance_undefined(X, metric):
    """Per row: True when the distance of the row to itself is NaN (zero
    vector for cosine, constant row for correlation)."""
    if metric == "cosine":
        V = X
    elif metric == "correlation":
        V = centre_rows(X)
    else:
        return np.zeros(X.shape[0], dtype=bool)
    nn = np.zeros(X.shape[0])
    for k in range(V.shape[1]):
        nn = nn + V[:, k] * V[:, k]
    return nn == 0


def rdm(X, metric, fill):
    d = rdm_raw(X, metric)
    return np.where(np.isnan(d), fill, d)


def rdm_bootstrap(Z, idx, metric, fill, duplicates):
    """RDM of the resampled rows Z[idx].  keep: a pair of copies of one word
    has distance exactly 0.0 (fill if that word's self-distance is
    undefined); exclude: such pairs are dropped."""
    Xb = Z[idx]
    d = rdm_raw(Xb, metric)
    I, J = triu_pairs(len(idx))
    same = idx[I] == idx[J]
    if duplicates == "exclude":
        d = d[~same]
    else:
        undefined = self_distance_undefined(Xb, metric)[I]
        d = np.where(same, np.where(undefined, np.nan, 0.0), d)
    return np.where(np.isnan(d), fill, d)


def spearman(x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.spearmanr(x, y)
    return float(res.statistic), float(res.pvalue)


def steiger(r_jk, r_jh, r_kh, n):
    """Steiger (1980) Z for two dependent correlations sharing variable j
    (cocor steiger1980).  p = 2 * (1 - Phi(|Z|)), literally (as the paper's
    published table; below ~1e-15 p is rounding noise of 1 - Phi)."""
    if any(math.isnan(v) for v in (r_jk, r_jh, r_kh)) or n <= 3:
        return math.nan, math.nan
    with np.errstate(all="ignore"):
        rm = (r_jk + r_jh) / 2
        psi = r_kh * (1 - 2 * rm ** 2) - 0.5 * rm ** 2 * (1 - 2 * rm ** 2 - r_kh ** 2)
        c = psi / (1 - rm ** 2) ** 2
        z = (np.arctanh(r_jk) - np.arctanh(r_jh)) * math.sqrt(n - 3) / np.sqrt(2 - 2 * c)
    z = float(z)
    if not math.isfinite(z):
        return math.nan, math.nan
    return z, float(2 * (1 - stats.norm.cdf(abs(z))))


# ---------------------------------------------------------------------------
# Analysis stages
# ---------------------------------------------------------------------------

def analyse_dimensions(ds):
    out, st = {}, {}
    pairs = model_pairs(ds.models)
    for d in ds.dims:
        rows = complete_rows(ds, [d])
        n = int(rows.size)
        h = ds.values[HUMAN][d][rows]
        col = {m: ds.values[m][d][rows] for m in ds.models}
        rho = {}
        out[d] = {}
        for m in ds.models:
            r, p = spearman(h, col[m])
            rho[m] = r
            out[d][m] = {"rho": r, "p": p, "n": n}
        st[d] = {}
        for a, b in pairs:
            r_ab, _ = spearman(col[a], col[b])
            z, p = steiger(rho[a], rho[b], r_ab, n)
            st[d][pair_key(a, b)] = {"z": z, "p": p}
    return out, st


def subset_data(ds):
    """For each subset whose dims are all present: complete rows and the
    z-scored and raw matrices of every source."""
    res = {}
    for name, dims in SUBSETS[ds.lang].items():
        if not all(d in ds.dims for d in dims):
            continue
        rows = complete_rows(ds, dims)
        raw = {s: raw_matrix(ds, s, dims, rows) for s in ds.sources()}
        z = {s: zscore_columns(raw[s]) for s in ds.sources()}
        res[name] = {"dims": dims, "rows": rows, "raw": raw, "z": z}
    return res


def analyse_rsa(ds, sub, metric, fill):
    out, obs = {}, {}
    for name, S in sub.items():
        n = int(S["rows"].size)
        h = rdm(S["z"][HUMAN], metric, fill)
        out[name], obs[name] = {}, {}
        for m in ds.models:
            r, p = spearman(h, rdm(S["z"][m], metric, fill))
            obs[name][m] = r
            out[name][m] = {"rho": r, "p": p, "n_words": n, "n_pairs": n * (n - 1) // 2}
    return out, obs


def generate_indices(n, iterations, seed):
    """numpy default_rng(seed), one generator per subset: iteration i is the
    i-th call rng.integers(0, n, size=n)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n, size=n).astype(np.int64) for _ in range(iterations)]


def analyse_bootstrap(ds, sub, obs, metric, fill, duplicates, indices, progress=False):
    """indices: {subset: [idx arrays]} (same length for every subset)."""
    pairs = model_pairs(ds.models)
    summary, samples = {}, {}
    for name, S in sub.items():
        Z = S["z"]
        iters = indices[name]
        rho_samples = {m: [] for m in ds.models}
        diff_samples = {pair_key(a, b): [] for a, b in pairs}
        for it, idx in enumerate(iters):
            t0 = time.perf_counter()
            seen = {}
            for a, b in pairs:
                # The paper's way: the three RDMs are rebuilt for every pair.
                h = rdm_bootstrap(Z[HUMAN], idx, metric, fill, duplicates)
                ra, _ = spearman(h, rdm_bootstrap(Z[a], idx, metric, fill, duplicates))
                rb, _ = spearman(h, rdm_bootstrap(Z[b], idx, metric, fill, duplicates))
                for m, r in ((a, ra), (b, rb)):
                    if m in seen:
                        same = (seen[m] == r) or (math.isnan(seen[m]) and math.isnan(r))
                        assert same, "bootstrap rho of one model differs between pairs"
                    seen[m] = r
                diff_samples[pair_key(a, b)].append(ra - rb)
            for m in ds.models:
                if m not in seen:  # only when there is a single model
                    h = rdm_bootstrap(Z[HUMAN], idx, metric, fill, duplicates)
                    seen[m], _ = spearman(h, rdm_bootstrap(Z[m], idx, metric, fill, duplicates))
                rho_samples[m].append(seen[m])
            if progress:
                print(f"  bootstrap {name} {it + 1}/{len(iters)} {time.perf_counter() - t0:.1f}s",
                      file=sys.stderr)
        summary[name] = {}
        for a, b in pairs:
            key = pair_key(a, b)
            diffs = np.array(diff_samples[key], dtype=np.float64)
            diff = obs[name][a] - obs[name][b]
            lo, hi = np.percentile(diffs, [2.5, 97.5])
            p = float(np.mean(np.abs(diffs - np.mean(diffs)) >= abs(diff)))
            summary[name][key] = {"diff": diff, "ci": [float(lo), float(hi)], "p": p}
        for m in ds.models:
            v = np.array(rho_samples[m], dtype=np.float64)
            lo, hi = np.percentile(v, [2.5, 97.5])
            summary[name][m] = {"mean": float(np.mean(v)), "ci": [float(lo), float(hi)]}
        samples[name] = {m: [float(x) for x in rho_samples[m]] for m in ds.models}
    return summary, samples


def euclid_rows(A, B):
    s = np.zeros(A.shape[0])
    for k in range(A.shape[1]):
        diff = A[:, k] - B[:, k]
        s = s + diff * diff
    return np.sqrt(s)


def analyse_wordwise(ds, sub):
    pairs = model_pairs(ds.models)
    ww, tt, im = {}, {}, {}
    for name, S in sub.items():
        H = S["raw"][HUMAN]
        n = int(S["rows"].size)
        sim = {}
        ww[name] = {}
        for m in ds.models:
            dist = euclid_rows(S["raw"][m], H)
            sim[m] = 1.0 / (1.0 + dist)
            ww[name][m] = {"mean_distance": float(np.mean(dist)) if n else math.nan,
                           "mean_similarity": float(np.mean(sim[m])) if n else math.nan,
                           "n_words": n}
        tt[name], im[name] = {}, {}
        for a, b in pairs:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with np.errstate(all="ignore"):
                    res = stats.ttest_rel(sim[a], sim[b])
            tt[name][pair_key(a, b)] = {"t": float(res.statistic), "p": float(res.pvalue),
                                        "df": int(res.df) if not math.isnan(res.df) else None}
            im[name][pair_key(a, b)] = spearman(sim[a], sim[b])[0]
    return ww, tt, im


# ---------------------------------------------------------------------------
# Checks, output, CLI
# ---------------------------------------------------------------------------

def check_against_scipy(sub, metric, tol=1e-12):
    """Assert the explicit distances agree with scipy.spatial.distance.pdist."""
    from scipy.spatial.distance import pdist
    worst = 0.0
    for S in sub.values():
        for Z in S["z"].values():
            if Z.shape[0] < 2:
                continue
            mine = rdm_raw(Z, metric)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = pdist(Z, metric)
            nan_m, nan_r = np.isnan(mine), np.isnan(ref)
            assert np.array_equal(nan_m, nan_r), "NaN pattern differs from scipy pdist"
            if (~nan_m).any():
                dev = float(np.max(np.abs(mine[~nan_m] - ref[~nan_m])))
                worst = max(worst, dev)
                assert dev <= tol, f"distance differs from scipy pdist by {dev}"
    return worst


def jsonable(x):
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return None if (math.isnan(x) or math.isinf(x)) else x
    return x


def load_indices(path, sub):
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    out = {}
    counts = set()
    for name, S in sub.items():
        if name not in raw:
            raise SystemExit(f"{path}: no indices for subset '{name}'")
        n = int(S["rows"].size)
        lists = []
        for it, lst in enumerate(raw[name]):
            idx = np.asarray(lst, dtype=np.int64)
            if idx.ndim != 1 or idx.size != n:
                raise SystemExit(f"{path}: subset '{name}' iteration {it} has {idx.size} "
                                 f"indices, but the subset has {n} complete rows")
            if n and (idx.min() < 0 or idx.max() >= n):
                raise SystemExit(f"{path}: subset '{name}' iteration {it}: index out of range")
            lists.append(idx)
        out[name] = lists
        counts.add(len(lists))
    if len(counts) > 1:
        raise SystemExit(f"{path}: subsets have different iteration counts {sorted(counts)}")
    return out


def run(args):
    timings = {}
    t_all = time.perf_counter()
    t = time.perf_counter()
    if args.ratings:
        ds = read_long(args.ratings)
    else:
        ds = read_paper_wide(args.paper_wide, args.lang)
    timings["parse"] = time.perf_counter() - t

    t = time.perf_counter()
    dims, steig = analyse_dimensions(ds)
    timings["dimensions"] = time.perf_counter() - t

    t = time.perf_counter()
    sub = subset_data(ds)
    timings["standardise"] = time.perf_counter() - t

    if args.check_scipy:
        worst = check_against_scipy(sub, args.metric)
        print(f"check: explicit {args.metric} distances agree with scipy pdist "
              f"(max abs diff {worst:.3g})", file=sys.stderr)

    t = time.perf_counter()
    rsa, obs = analyse_rsa(ds, sub, args.metric, args.fill)
    timings["rsa"] = time.perf_counter() - t

    result = {
        "lang": ds.lang,
        "n_words": len(ds.words),
        "metric": args.metric,
        "fill": args.fill,
        "duplicates": args.duplicates,
        "models": ds.models,
        "rsa": rsa,
    }

    if not args.no_bootstrap:
        if args.bootstrap_indices:
            indices = load_indices(args.bootstrap_indices, sub)
        else:
            indices = {name: generate_indices(int(S["rows"].size), args.bootstrap, args.seed)
                       for name, S in sub.items()}
        iterations = len(next(iter(indices.values()))) if indices else 0
        t = time.perf_counter()
        summary, samples = analyse_bootstrap(ds, sub, obs, args.metric, args.fill,
                                             args.duplicates, indices, progress=args.progress)
        timings["bootstrap"] = time.perf_counter() - t
        result["bootstrap"] = summary
        result["bootstrap_iterations"] = iterations
        result["bootstrap_samples"] = samples
        if args.write_indices:
            with open(args.write_indices, "w", encoding="utf-8") as fh:
                fh.write(format_indices({k: [v.tolist() for v in vs] for k, vs in indices.items()}))

    result["dimensions"] = dims
    result["steiger"] = steig

    t = time.perf_counter()
    ww, tt, im = analyse_wordwise(ds, sub)
    timings["wordwise"] = time.perf_counter() - t
    result["wordwise"] = ww
    result["wordwise_ttest"] = tt
    result["wordwise_intermodel"] = im

    timings["total"] = time.perf_counter() - t_all
    if args.timings:
        result["timings"] = timings
        print("timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()),
              file=sys.stderr)

    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(jsonable(result), fh, indent=1, allow_nan=False)
        fh.write("\n")
    return result


def format_indices(indices):
    """Compact JSON: one iteration per line."""
    parts = []
    for name, lists in indices.items():
        inner = ",\n  ".join(json.dumps([int(v) for v in lst], separators=(",", ":")) for lst in lists)
        parts.append(f" {json.dumps(name)}: [\n  {inner}\n ]")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description="smft reference evaluator (NumPy/SciPy)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--ratings", help="long CSV: word,dimension,model,rating")
    src.add_argument("--paper-wide", help="the paper's wide CSV (eval_*_1572_with_predictions.csv)")
    ap.add_argument("--lang", choices=["en", "nl"], help="language of --paper-wide")
    ap.add_argument("--metric", choices=["cosine", "euclidean", "correlation"], default="cosine")
    ap.add_argument("--fill", type=float, default=2.0, help="value for undefined distances")
    boot = ap.add_mutually_exclusive_group()
    boot.add_argument("--bootstrap", type=int, default=200, help="iterations (default 200)")
    boot.add_argument("--bootstrap-indices", help="JSON {subset: [[idx...], ...]}")
    boot.add_argument("--no-bootstrap", action="store_true")
    ap.add_argument("--seed", type=int, default=0, help="seed for --bootstrap (default 0)")
    ap.add_argument("--duplicates", choices=["keep", "exclude"], default="keep")
    ap.add_argument("--out", required=True)
    ap.add_argument("--timings", action="store_true", help="add per-stage timings")
    ap.add_argument("--check-scipy", action="store_true",
                    help="assert explicit distances == scipy pdist to 1e-12")
    ap.add_argument("--write-indices", help="also write the bootstrap indices used to this file")
    ap.add_argument("--progress", action="store_true", help="bootstrap progress on stderr")
    args = ap.parse_args(argv)
    if args.paper_wide and not args.lang:
        ap.error("--paper-wide needs --lang en|nl")
    if args.ratings and args.lang:
        ap.error("--lang is only for --paper-wide (the long CSV's language is inferred)")
    run(args)


if __name__ == "__main__":
    main()
