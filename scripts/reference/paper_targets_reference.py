#!/usr/bin/env python3
"""Golden outputs for the paper's fine-tuning targets, built in Python as the authors did.

1. str(round(x, 2)) for tricky values -> test/fixtures/paper/round2.json.
2. With --data-dir: the en_ft, nl_ft and qa_ft fine-tuning JSONL files built independently of
   smft, as WordsGPT's create_finetuning_dataset.py writes them (prompt file text with the word
   filled in, assistant = str(round(mean, 2)), json.dumps(..., ensure_ascii=False), one line per
   example), on the paper's split (numpy RandomState(42) permutations as scikit-learn's
   train_test_split draws them), one block per prompt file in smft's dimension order, words in
   split order; QA items with options rendered one per line as "A. text" (smft's rendering).
   Their line counts and SHA-256 go to test/fixtures/paper/finetune.json (no data copied).

The authors' create_finetuning_dataset.py (WordsGPT) writes the assistant answer as
str(round(mean, 2)). Python rounds the exact binary value of the float half to even and prints
the shortest repr; this script records that for values where JavaScript's toFixed would differ
(ties such as 0.125, binary artefacts such as 2.675 and 1.005, 4.999 -> "5.0") and for the kinds
of values the norms hold (3-decimal Lancaster means, Dutch means k/n and their 16-digit texts).

round2.json: {"x": [...], "text": [...]} (x written with repr, so JSON.parse gives the same
doubles). Deterministic. Usage:
  python3 scripts/reference/paper_targets_reference.py [--data-dir ../shared/data]
"""
import argparse
import csv
import hashlib
import json
import math
import os
import random

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', '..', 'test', 'fixtures', 'paper', 'round2.json')
OUT_FT = os.path.join(HERE, '..', '..', 'test', 'fixtures', 'paper', 'finetune.json')
EN = [('Auditory', 'auditory'), ('Gustatory', 'gustatory'), ('Haptic', 'haptic'), ('Interoceptive', 'interoceptive'),
      ('Olfactory', 'olfactory'), ('Visual', 'visual'), ('Foot_leg', 'foot'), ('Hand_arm', 'hand'), ('Head', 'head'),
      ('Mouth', 'mouth'), ('Torso', 'torso')]
NL = ['Horen', 'Proeven', 'Voelen', 'Sensaties', 'Ruiken', 'Zien']


def tts(n, test_size, seed):
    n_test = math.ceil(test_size * n)
    perm = np.random.RandomState(seed).permutation(n)
    return perm[n_test:], perm[:n_test]


def read(path):
    with open(path, 'r', encoding='utf-8') as f:
        return f.read()


def jsonl(records):
    text = ''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in records)
    return {'lines': len(records), 'sha256': hashlib.sha256(text.encode('utf-8')).hexdigest()}


def finetune(data_dir):
    with open(os.path.join(data_dir, 'lancaster_x_dutch_translation_pairs_SUBSET_7861.csv'), encoding='utf-8', newline='') as f:
        rows = list(csv.DictReader(f))
    half, _ = tts(len(rows), 0.5, 42)
    tr, _ = tts(len(half), 0.4, 42)
    train = [rows[i] for i in half[tr]]
    prompts = os.path.join(data_dir, 'paper', 'prompts')

    def msgs(user, answer):
        return {'messages': [{'role': 'user', 'content': user}, {'role': 'assistant', 'content': answer}]}

    def fill(template, entry):  # WordsGPT format_template_partial
        import re
        return re.sub(r'{(\w+)}', lambda m: str(entry[m.group(1).lower()]) if m.group(1).lower() in entry else m.group(0), template)

    en = [msgs(fill(read(os.path.join(prompts, f'{stem}_prompt.txt')), {'word': r['Word']}), str(round(float(r[f'{col}.mean']), 2)))
          for col, stem in EN for r in train]
    nl = [msgs(fill(read(os.path.join(prompts, f'{col}_prompt.txt')), {'woord': r['Woord']}), str(round(float(r[col]), 2)))
          for col in NL for r in train]
    with open(os.path.join(data_dir, 'paper', 'qa_train_840.json'), encoding='utf-8') as f:
        items = json.load(f)
    mcq = read(os.path.join(prompts, 'prompt_mcq_en.txt'))
    qa = [msgs(mcq.replace('{index}', str(it['index'])).replace('{question}', it['question'])
               .replace('{options}', '\n'.join(f'{l}. {it["options"][l]}' for l in 'ABCD')), it['correct_option']) for it in items]
    return {'en_ft': jsonl(en), 'nl_ft': jsonl(nl), 'qa_ft': jsonl(qa)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data-dir', help='also build the fine-tuning files from the paper data here')
    a = ap.parse_args()
    xs = [0.0, 5.0, 0.5, 2.0, 1.33, 0.125, 0.375, 0.625, 0.875, 2.675, 1.005, 1.015, 1.025, 4.999, 4.995, 4.994999999999999,
          0.005, 0.015, 0.045, 1.115, 2.345, 3.14159, 0.9409999999999999, 1.833333333333333, 0.1666666666666667,
          0.6666666666666666, 1e-9, 0.0049999999999999, 0.0050000000000001, 2.5, 3.9999999999999996]
    xs += [k / 1000 for k in range(0, 5001) if k % 10 == 5 or k % 7 == 0]
    for d in range(3, 31):
        xs += [k / d for k in range(0, 5 * d + 1)]
        xs += [float(f'{k / d:.15g}') for k in range(0, 5 * d + 1)]
    rng = random.Random(1234)
    xs += [rng.uniform(0, 5) for _ in range(300)]
    xs += [round(rng.uniform(0, 5), 3) + rng.choice([-1, 1]) * 1e-16 for _ in range(100)]
    seen, uniq = set(), []
    for x in xs:
        if x not in seen and 0 <= x <= 5:
            seen.add(x)
            uniq.append(x)
    text = [str(round(x, 2)) for x in uniq]
    assert str(round(0.125, 2)) == '0.12' and str(round(2.675, 2)) == '2.67' and str(round(1.005, 2)) == '1.0'
    assert str(round(4.999, 2)) == '5.0' and str(round(2.0, 2)) == '2.0'
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        f.write('{"x":[' + ','.join(repr(x) for x in uniq) + '],"text":' + json.dumps(text, separators=(',', ':')) + '}\n')
    print(f'wrote {OUT}: {len(uniq)} values')
    if a.data_dir:
        ft = finetune(a.data_dir)
        with open(OUT_FT, 'w', encoding='utf-8') as f:
            json.dump(ft, f, ensure_ascii=False, indent=1)
            f.write('\n')
        print(f'wrote {OUT_FT}: ' + ', '.join(f'{k} {v["lines"]} lines' for k, v in ft.items()))


if __name__ == '__main__':
    main()
