import { test } from 'node:test';
import { join } from 'node:path';
import { loadPredictions } from '../../src/data/predictions.js';
import { evaluate, type EvaluateOptions } from '../../src/eval/evaluate.js';
import { assertMatchesGolden, readJson } from '../helpers/golden.js';

/**
 * The evaluator against golden values of the independent NumPy/SciPy implementation
 * (scripts/reference/smft_reference.py; regenerate with scripts/reference/make_fixtures.py).
 */
const dir = join(import.meta.dirname, '..', 'fixtures', 'eval');
const TOL = { abs: 1e-9, rel: 0 };
// p-values span hundreds of orders of magnitude: relative tolerance, and scipy's 0.0 for underflow.
const LOOSE = { p: { abs: 1e-12, rel: 1e-6 } };

async function compare(name: string, golden: string, opts: EvaluateOptions, threads: number): Promise<void> {
  const table = loadPredictions([join(dir, `${name}.csv`)]);
  const indices = readJson<Record<string, number[][]>>(join(dir, `${name}.indices.json`));
  const ev = await evaluate(table, { ...opts, indices, threads });
  const samples = Object.fromEntries(Object.entries(ev.samples).map(([s, m]) => [s, Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Array.from(v)]))]));
  assertMatchesGolden({ ...ev.results, bootstrap_samples: samples }, readJson(join(dir, golden)), TOL, LOOSE);
}

const cases: Array<[string, string, EvaluateOptions]> = [
  ['ties', 'ties.golden.json', {}],
  ['ties', 'ties.euclidean.golden.json', { metric: 'euclidean' }],
  ['ties', 'ties.correlation.golden.json', { metric: 'correlation' }],
  ['ties', 'ties.exclude.golden.json', { duplicates: 'exclude' }],
  ['nan', 'nan.golden.json', {}],
  ['zero_vectors', 'zero_vectors.golden.json', {}],
  ['zero_vectors', 'zero_vectors.fill0.golden.json', { fill: 0 }],
  ['zero_vectors', 'zero_vectors.correlation.golden.json', { metric: 'correlation' }],
  ['duplicates', 'duplicates.golden.json', {}],
  ['duplicates', 'duplicates.exclude.golden.json', { duplicates: 'exclude' }],
  ['nl', 'nl.golden.json', {}],
];

for (const [name, golden, opts] of cases) {
  test(`evaluate matches the NumPy reference: ${golden}`, () => compare(name, golden, opts, 1));
}

test('bootstrap on worker threads gives the same values as inline', () => compare('ties', 'ties.golden.json', {}, 2));
