#!/usr/bin/env python3
"""Golden answer texts for the paper's fine-tuning targets: str(round(x, 2)) in Python.

The authors' create_finetuning_dataset.py (WordsGPT) writes the assistant answer as
str(round(mean, 2)). Python rounds the exact binary value of the float half to even and prints
the shortest repr; this script records that for values where JavaScript's toFixed would differ
(ties such as 0.125, binary artefacts such as 2.675 and 1.005, 4.999 -> "5.0") and for the kinds
of values the norms hold (3-decimal Lancaster means, Dutch means k/n and their 16-digit texts).

Writes test/fixtures/paper/round2.json: {"x": [...], "text": [...]} (x written with repr, so
JSON.parse gives the same doubles). Deterministic. Usage: python3 scripts/reference/python_round_reference.py
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', '..', 'test', 'fixtures', 'paper', 'round2.json')


def main():
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


if __name__ == '__main__':
    main()
