import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

export function readJson<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export interface Tolerance { abs: number; rel: number }

/**
 * Compare `actual` with the golden `expected` recursively: every key of the golden must exist
 * in actual; numbers within abs + rel·|expected| (null = NaN in JSON). Keys listed in `loose`
 * (e.g. 'p') get their own tolerance.
 */
export function assertMatchesGolden(actual: unknown, expected: unknown, tol: Tolerance, loose: Record<string, Tolerance> = {}, path = '$'): void {
  if (expected === null) {
    assert.ok(actual === null || (typeof actual === 'number' && Number.isNaN(actual)), `${path}: expected null/NaN, got ${actual}`);
    return;
  }
  if (typeof expected === 'number') {
    assert.equal(typeof actual, 'number', `${path}: expected a number, got ${JSON.stringify(actual)}`);
    const key = path.split('.').pop()!.replace(/\[\d+\]$/, '');
    const t = loose[key] ?? tol;
    const a = actual as number;
    assert.ok(Math.abs(a - expected) <= t.abs + t.rel * Math.abs(expected), `${path}: ${a} vs golden ${expected} (diff ${Math.abs(a - expected)})`);
    return;
  }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual) || ArrayBuffer.isView(actual), `${path}: expected an array`);
    const arr = Array.from(actual as ArrayLike<unknown>);
    assert.equal(arr.length, expected.length, `${path}: length`);
    expected.forEach((e, i) => assertMatchesGolden(arr[i], e, tol, loose, `${path}[${i}]`));
    return;
  }
  if (typeof expected === 'object') {
    assert.ok(actual && typeof actual === 'object', `${path}: expected an object`);
    for (const [k, v] of Object.entries(expected as Record<string, unknown>)) {
      assert.ok(k in (actual as Record<string, unknown>), `${path}: missing key '${k}'`);
      assertMatchesGolden((actual as Record<string, unknown>)[k], v, tol, loose, `${path}.${k}`);
    }
    return;
  }
  assert.deepEqual(actual, expected, path);
}
