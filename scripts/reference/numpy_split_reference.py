#!/usr/bin/env python3
"""Golden outputs for smft's NumPy-compatible RNG and the paper's train/eval split.

Writes test/fixtures/split/golden.json with
  * raw MT19937 outputs of numpy.random.RandomState(seed) (legacy integer seeding), across
    the 624-word regeneration boundaries;
  * RandomState(seed).permutation(n) for several n and seeds;
  * scikit-learn's train_test_split(range(n), test_size=t, random_state=seed) index sets,
    reproduced here from sklearn's source (sklearn is not installed): ShuffleSplit draws
    perm = check_random_state(seed).permutation(n); n_test = ceil(t * n) for a float t;
    n_train = n - n_test; test = perm[:n_test]; train = perm[n_test:n_test + n_train];
    train_test_split returns _safe_indexing(a, train), _safe_indexing(a, test);
  * the paper's split (the authors' sampling notebook): two train_test_split calls with
    random_state=42 on the 7 861 English-Dutch pairs (test_size 0.5, keep train; then
    test_size 0.4) as 0-based row indices into that file.

With --data-dir it also checks, independently of smft, that the 1 572 eval pairs equal the
pairs of paper/eval_en_1572_with_predictions.csv as a set.

Usage: python3 scripts/reference/numpy_split_reference.py [--data-dir ../shared/data]
Needs numpy only (tested with numpy 2.4.6). Deterministic: a second run writes the same bytes.
"""
import argparse
import csv
import json
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', '..', 'test', 'fixtures', 'split', 'golden.json')
PAIRS = 'lancaster_x_dutch_translation_pairs_SUBSET_7861.csv'
EVAL_EN = os.path.join('paper', 'eval_en_1572_with_predictions.csv')


def train_test_split_indices(n, test_size, random_state):
    """sklearn.model_selection.train_test_split(np.arange(n), test_size=..., random_state=...)."""
    if not 0 < test_size < 1:
        raise ValueError('float test_size must be in (0, 1)')
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    if n_train == 0:
        raise ValueError('empty train set')
    perm = np.random.RandomState(random_state).permutation(n)
    return perm[n_test:n_test + n_train], perm[:n_test]


def paper_split(n=7861, seed=42):
    half, _ = train_test_split_indices(n, 0.5, seed)
    tr, te = train_test_split_indices(len(half), 0.4, seed)
    return half, half[tr], half[te]


def check_eval(data_dir, eval_idx):
    with open(os.path.join(data_dir, PAIRS), encoding='utf-8', newline='') as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(data_dir, EVAL_EN), encoding='utf-8', newline='') as f:
        ev = list(csv.DictReader(f))
    key = lambda r: (r['Word'].strip().lower(), r['Woord'].strip().lower())
    drawn = {key(rows[i]) for i in eval_idx}
    paper = {key(r) for r in ev}
    assert len(rows) == 7861, len(rows)
    assert drawn == paper, (len(drawn), len(paper), len(drawn & paper))
    print(f'eval pairs equal the paper eval file as a set ({len(paper)} pairs)')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data-dir', help='folder with the 7861-pair file and paper/ (optional check)')
    ap.add_argument('--out', default=OUT)
    a = ap.parse_args()

    raw = []
    for seed in [0, 1, 42, 5489, 2**31, 2**32 - 1]:
        bg = np.random.RandomState(seed)._bit_generator
        out = [int(x) for x in bg.random_raw(1300)]
        raw.append({'seed': seed, 'first': out[:8], 'around624': out[620:630], 'around1248': out[1244:1252]})

    perms = []
    for n, seeds in [(0, [0]), (1, [0]), (2, [0, 1]), (3, [42]), (10, [0, 42, 2**32 - 1]), (17, [12345]),
                     (100, [0, 42]), (257, [42, 2**32 - 1]), (1000, [12345]), (4097, [42])]:
        for seed in seeds:
            perms.append({'n': n, 'seed': seed, 'perm': [int(x) for x in np.random.RandomState(seed).permutation(n)]})

    splits = []
    for n, t, seed in [(10, 0.25, 0), (11, 0.5, 42), (100, 0.33, 7), (5, 0.1, 3), (7, 0.7, 1), (30, 0.1, 5), (100, 0.07, 2)]:
        tr, te = train_test_split_indices(n, t, seed)
        splits.append({'n': n, 'test_size': t, 'seed': seed, 'train': [int(x) for x in tr], 'test': [int(x) for x in te]})

    half, tr, te = paper_split()
    assert (len(half), len(tr), len(te)) == (3930, 2358, 1572)
    assert not set(tr) & set(te)
    if a.data_dir:
        check_eval(a.data_dir, te)

    golden = {
        'generator': 'scripts/reference/numpy_split_reference.py',
        'numpy': np.__version__,
        'raw': raw,
        'permutations': perms,
        'train_test_split': splits,
        'paper': {'file': PAIRS, 'n': 7861, 'seed': 42, 'test_sizes': [0.5, 0.4],
                  'half': [int(x) for x in half], 'train': [int(x) for x in tr], 'eval': [int(x) for x in te]},
    }
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, 'w') as f:
        json.dump(golden, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {a.out}')


if __name__ == '__main__':
    main()
