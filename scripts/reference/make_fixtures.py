#!/usr/bin/env python3
"""Write the small hand-made evaluation fixtures to test/fixtures/eval/ and
their golden outputs (computed with smft_reference.py).

    python3 scripts/reference/make_fixtures.py            # fixtures + goldens
    python3 scripts/reference/make_fixtures.py --paper    # also the paper goldens

Everything is deterministic (fixed numpy seeds); re-running rewrites the same
bytes.  The paper goldens read /work/shared/data/paper/*.csv (or --paper-dir)
and never copy those files.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import smft_reference as ref  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(REPO, "test", "fixtures", "eval")
ITERATIONS = 7

EN = ref.EN_DIMS
MOTOR = ref.SUBSETS["en"]["motor"]
NL = ref.NL_DIMS

WORDS_EN = ["apple", "bark", "bell", "blanket", "bread", "candle", "chalk", "cheese",
            "cough", "drum", "fence", "glove", "grass", "hammer", "honey", "itch",
            "jump", "kick", "lemon", "mud", "nod", "onion", "pepper", "rain",
            "rope", "shout", "silk", "smoke", "soap", "spoon", "stone", "sugar",
            "thunder", "towel", "wave", "whistle", "wind", "wool", "yawn", "zipper"]
WORDS_NL = ["appel", "bel", "brood", "deken", "drop", "fluit", "gras", "hamer",
            "honing", "jeuk", "kaars", "kaas", "modder", "peper", "regen", "rook",
            "schreeuw", "stoel", "suiker", "zeep"]


# ---------------------------------------------------------------------------
# Writing helpers
# ---------------------------------------------------------------------------

def fmt(v):
    """Rating as text: empty for NaN, integers without a decimal point."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    v = float(v)
    if v == int(v):
        return str(int(v))
    return repr(round(v, 6))


def write_long(path, rows):
    """rows: list of (word, dimension, model, rating)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["word", "dimension", "model", "rating"])
    for word, dim, model, rating in rows:
        w.writerow([word, dim, model, fmt(rating)])
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())


def rows_model_major(words, dims, table):
    """table[source] -> array words x dims.  Order: source, word, dimension."""
    out = []
    for src, M in table.items():
        for i, w in enumerate(words):
            for k, d in enumerate(dims):
                out.append((w, d, src, M[i, k]))
    return out


def rows_word_major(words, dims, table):
    """Order: word, dimension, source (so model first appearance follows the
    table's key order)."""
    out = []
    for i, w in enumerate(words):
        for k, d in enumerate(dims):
            for src, M in table.items():
                out.append((w, d, src, M[i, k]))
    return out


def indices_for(path_csv, seed, repeats):
    """7 iterations per subset from default_rng(seed); iteration 0 is replaced
    by a hand-made vector with many deliberate repeats (`repeats` lists
    positions that must occur at least twice)."""
    ds = ref.read_long(path_csv)
    out = {}
    for name, dims in ref.SUBSETS[ds.lang].items():
        n = int(ref.complete_rows(ds, dims).size)
        lists = [v.tolist() for v in ref.generate_indices(n, ITERATIONS, seed)]
        first = []
        for p in repeats:
            if p < n:
                first += [p, p, p] if not first else [p, p]
        k = 0
        while len(first) < n:
            first.append(k % n)
            k += 3
        lists[0] = first[:n]
        out[name] = lists
    return out


def write_indices(path, indices):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(ref.format_indices(indices))


def run_reference(args, out):
    cmd = [sys.executable, os.path.join(HERE, "smft_reference.py"), *args, "--check-scipy",
           "--out", out]
    subprocess.run(cmd, check=True)
    print("wrote", os.path.relpath(out, REPO))


# ---------------------------------------------------------------------------
# Fixture data
# ---------------------------------------------------------------------------

def latent_profiles(rng, n, d):
    """Plausible 0-5 'human' profiles: a few strong dims per word."""
    base = rng.uniform(0, 1.5, size=(n, d))
    strong = rng.random((n, d)) < 0.3
    base[strong] += rng.uniform(1.5, 3.5, size=strong.sum())
    return np.clip(base, 0, 5)


def model_from(rng, human, noise, bias=0.0):
    """Integer 0-5 answers, like parsed LLM replies."""
    m = human + bias + rng.normal(0, noise, size=human.shape)
    return np.clip(np.rint(m), 0, 5)


def make_ties():
    rng = np.random.default_rng(101)
    words = WORDS_EN[:24]
    h = latent_profiles(rng, len(words), len(EN))
    human = np.round(h * 2) / 2  # half-point steps: ties in the human ratings too
    table = {
        "human": human,
        "base": model_from(rng, h, 1.6, 0.5),
        "en_ft": model_from(rng, h, 0.5),
        "nl_ft": model_from(rng, h, 0.9),
        "qa_ft": model_from(rng, h, 1.3, -0.3),
    }
    return words, EN, table, rows_model_major


def make_nan():
    rng = np.random.default_rng(202)
    words = WORDS_EN[:30]
    h = latent_profiles(rng, len(words), len(EN))
    human = np.round(h, 2)
    table = {
        "human": human,
        # model ids listed in this order of first appearance (word-major rows)
        "llama_x": model_from(rng, h, 1.0),
        "base": model_from(rng, h, 1.5, 0.4),
        "en_ft": model_from(rng, h, 0.6),
    }
    nan = np.nan
    E = {d: k for k, d in enumerate(EN)}
    table["human"][3, E["visual"]] = nan
    table["human"][12, E["mouth"]] = nan
    table["base"][5, E["foot_leg"]] = nan
    table["base"][5, E["head"]] = nan
    table["base"][21, E["gustatory"]] = nan
    for d in MOTOR:
        table["llama_x"][7, E[d]] = nan
    table["en_ft"][10, E["auditory"]] = nan
    table["en_ft"][3, E["visual"]] = nan  # same cell as human: counted once
    table["en_ft"][26, E["torso"]] = nan
    return words, EN, table, rows_word_major


def exact_mean_column(rng, n, mean, specials, spread=2):
    """Integer column with exact mean `mean`; rows in `specials` equal the mean."""
    col = np.full(n, float(mean))
    free = [i for i in range(n) if i not in specials]
    rng.shuffle(free)
    if len(free) % 2:
        free = free[1:]  # that row keeps the mean
    for a, b in zip(free[0::2], free[1::2]):
        delta = float(rng.integers(0, spread + 1))
        col[a], col[b] = mean + delta, mean - delta
    return col


def make_zero_vectors():
    rng = np.random.default_rng(303)
    words = WORDS_EN[:16]
    n = len(words)
    means = {d: (2 if k % 2 else 3) for k, d in enumerate(EN)}
    table = {}
    # human: word 0 equals the column mean on every dim -> zero vector in all subsets
    table["human"] = np.column_stack([exact_mean_column(rng, n, means[d], {0}) for d in EN])
    # en_ft: word 1 equals the mean on the motor dims -> zero vector in 'motor' only;
    #        word 0 too on all dims (two zero vectors in one source and a shared one)
    table["en_ft"] = np.column_stack([
        exact_mean_column(rng, n, means[d], {0, 1} if d in MOTOR else {0}) for d in EN])
    # base: constant torso column (z-scored to all zeros), word 2 at the mean of the
    #       other motor dims -> zero vector in 'motor'
    cols = []
    for d in EN:
        if d == "torso":
            cols.append(np.full(n, 3.0))
        else:
            cols.append(exact_mean_column(rng, n, means[d], {2} if d in MOTOR else set()))
    table["base"] = np.column_stack(cols)
    # qa_ft: ordinary
    table["qa_ft"] = np.column_stack([exact_mean_column(rng, n, means[d], set()) for d in EN])
    return words, EN, table, rows_model_major


def make_duplicates():
    rng = np.random.default_rng(404)
    words = WORDS_EN[:20]
    h = latent_profiles(rng, len(words), len(EN))
    human = np.round(h, 1)
    table = {
        "human": human,
        "base": model_from(rng, h, 1.4, 0.3),
        "en_ft": model_from(rng, h, 0.6),
    }
    # words 0 and 1 identical in human and en_ft
    table["human"][1] = table["human"][0]
    table["en_ft"][1] = table["en_ft"][0]
    # words 2 and 3 identical in base only
    table["base"][3] = table["base"][2]
    # word 4 copies word 0's motor profile in human (identical within 'motor' only)
    M = [EN.index(d) for d in MOTOR]
    table["human"][4, M] = table["human"][0, M]
    return words, EN, table, rows_model_major


def make_nl():
    rng = np.random.default_rng(505)
    words = WORDS_NL
    h = latent_profiles(rng, len(words), len(NL))
    human = np.round(h, 2)
    table = {
        "human": human,
        "base": model_from(rng, h, 1.5, 0.5),
        "en_ft": model_from(rng, h, 0.8),
        "nl_ft": model_from(rng, h, 0.6),
    }
    table["base"][6, NL.index("ruiken")] = np.nan
    return words, NL, table, rows_model_major


FIXTURES = {
    # name: (builder, bootstrap seed, positions repeated in iteration 0)
    "ties": (make_ties, 11, [0, 5, 9]),
    "nan": (make_nan, 12, [1, 2, 4]),
    "zero_vectors": (make_zero_vectors, 13, [0, 1, 2]),
    "duplicates": (make_duplicates, 14, [0, 1, 2, 3, 4]),
    "nl": (make_nl, 15, [0, 3, 6]),
}

EXTRA_GOLDENS = [
    # (fixture, suffix, extra CLI args)
    ("ties", "euclidean", ["--metric", "euclidean"]),
    ("ties", "correlation", ["--metric", "correlation"]),
    ("ties", "exclude", ["--duplicates", "exclude"]),
    ("duplicates", "exclude", ["--duplicates", "exclude"]),
    ("zero_vectors", "fill0", ["--fill", "0.0"]),
    ("zero_vectors", "correlation", ["--metric", "correlation"]),
]


def make_all():
    os.makedirs(OUT, exist_ok=True)
    for name, (builder, seed, repeats) in FIXTURES.items():
        words, dims, table, order = builder()
        csv_path = os.path.join(OUT, f"{name}.csv")
        write_long(csv_path, order(words, dims, table))
        print("wrote", os.path.relpath(csv_path, REPO))
        idx_path = os.path.join(OUT, f"{name}.indices.json")
        write_indices(idx_path, indices_for(csv_path, seed, repeats))
        print("wrote", os.path.relpath(idx_path, REPO))
        run_reference(["--ratings", csv_path, "--bootstrap-indices", idx_path],
                      os.path.join(OUT, f"{name}.golden.json"))
    for name, suffix, extra in EXTRA_GOLDENS:
        csv_path = os.path.join(OUT, f"{name}.csv")
        idx_path = os.path.join(OUT, f"{name}.indices.json")
        run_reference(["--ratings", csv_path, "--bootstrap-indices", idx_path, *extra],
                      os.path.join(OUT, f"{name}.{suffix}.golden.json"))
    sanity_checks()


def sanity_checks():
    """Check that the fixtures really contain the hard cases they are for."""
    ds = ref.read_long(os.path.join(OUT, "zero_vectors.csv"))
    sub = ref.subset_data(ds)
    z = sub["motor"]["z"]
    assert not z["human"][0].any() and not z["en_ft"][1].any() and not z["base"][2].any()
    assert not sub["all"]["z"]["human"][0].any()
    assert not z["base"][:, MOTOR.index("torso")].any()  # constant column
    ds = ref.read_long(os.path.join(OUT, "nan.csv"))
    assert ds.models == ["llama_x", "base", "en_ft"], ds.models
    counts = {d: int(ref.complete_rows(ds, [d]).size) for d in ds.dims}
    subs = {s: int(ref.complete_rows(ds, dims).size) for s, dims in ref.SUBSETS["en"].items()}
    assert len(set(counts.values())) > 1 and len(set(subs.values())) > 1, (counts, subs)
    ds = ref.read_long(os.path.join(OUT, "duplicates.csv"))
    h = ref.rdm(ref.subset_data(ds)["all"]["z"]["human"], "cosine", 2.0)
    assert (h == 0).any()
    # explicit distances vs scipy on every fixture and metric
    for name in FIXTURES:
        ds = ref.read_long(os.path.join(OUT, f"{name}.csv"))
        sub = ref.subset_data(ds)
        for metric in ("cosine", "euclidean", "correlation"):
            ref.check_against_scipy(sub, metric)
    size = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"checks passed; {OUT} holds {size / 1024:.0f} KiB")


def make_paper(paper_dir):
    for lang in ("en", "nl"):
        src = os.path.join(paper_dir, f"eval_{lang}_1572_with_predictions.csv")
        ds = ref.read_paper_wide(src, lang)
        idx = {}
        for name, dims in ref.SUBSETS[lang].items():
            n = int(ref.complete_rows(ds, dims).size)
            idx[name] = [v.tolist() for v in ref.generate_indices(n, 3, 7)]
        idx_path = os.path.join(OUT, f"paper_{lang}.indices.json")
        write_indices(idx_path, idx)
        print("wrote", os.path.relpath(idx_path, REPO))
        run_reference(["--paper-wide", src, "--lang", lang, "--bootstrap-indices", idx_path],
                      os.path.join(OUT, f"paper_{lang}.golden.json"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paper", action="store_true", help="also write the paper goldens")
    ap.add_argument("--paper-only", action="store_true", help="only the paper goldens")
    ap.add_argument("--paper-dir", default="/work/shared/data/paper")
    args = ap.parse_args()
    if not args.paper_only:
        make_all()
    if args.paper or args.paper_only:
        make_paper(args.paper_dir)


if __name__ == "__main__":
    main()
