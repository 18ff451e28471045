/**
 * A fresh machine: what `npm test` installs first (scripts/ci/system-deps.sh, its pretest step),
 * judged with stub dpkg-query/id on PATH and --dry-run; and the test runner's temp-folder guard
 * (scripts/ci/run-tests.mjs) on a test file that leaks and on one that used to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers.js';
import { testDataDir } from '../helpers/data.js';
import { tempDir } from '../helpers/tmp.js';

const SCRIPT = join(ROOT, 'scripts', 'ci', 'system-deps.sh');

/** Run system-deps.sh with stub commands (name → shell body) first on PATH. */
function systemDeps(stubs: Record<string, string>, args: string[] = []): { code: number | null; stdout: string; stderr: string } {
  const bin = tempDir('stubs');
  for (const [name, body] of Object.entries(stubs)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  delete env.SMFT_CHROMIUM;
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const dpkg = (...rows: string[]): string => rows.map((r) => `echo "${r}"`).join('\n');
const ALL = ['chromium ii  156.0-1', 'fonts-dejavu-core ii  2.37-6', 'libvulkan1 ii  1.3.239.0-1', 'mesa-vulkan-drivers ii  25.0.7-2~bpo12+1'];

test('system-deps: everything present → silent, exit 0, nothing installed', () => {
  const r = systemDeps({ 'dpkg-query': dpkg(...ALL), 'apt-get': 'echo apt-get "$@" >&2; exit 9' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout + r.stderr, '');
});

test('system-deps: a fresh machine lists Chromium and a new enough Mesa (Debian 12 has 22.3)', () => {
  const r = systemDeps({ 'dpkg-query': dpkg('fonts-dejavu-core ii  2.37-6', 'mesa-vulkan-drivers ii  22.3.6-1+deb12u1') }, ['--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'system-deps: would install chromium, mesa-vulkan-drivers ≥ 23 (have 22.3.6-1+deb12u1) with libvulkan1',
    'apt-get install -y chromium',
    'scripts/bundle/install-recipe.sh --software-vulkan',
  ]);
  // A package that is known but not installed ("un") counts as missing.
  const un = systemDeps({ 'dpkg-query': dpkg(...ALL.slice(0, 1), 'fonts-dejavu-core un  ', ...ALL.slice(2)) }, ['--dry-run']);
  assert.match(un.stdout, /^system-deps: would install fonts-dejavu-core$/m);
});

test('system-deps: not root and something missing → one line naming the command, exit 1', () => {
  const r = systemDeps({ 'dpkg-query': dpkg(...ALL.slice(1)), id: 'echo 1000' });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.stderr.trim().split('\n'), ['system-deps: the tests need chromium; install as root with: sudo bash scripts/ci/system-deps.sh']);
});

/** scripts/ci/run-tests.mjs on the given test files, with its own temp folder under a fresh one. */
function runTests(file: string): { code: number | null; out: string; left: string[] } {
  const outer = tempDir('runner');
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: outer, SMFT_DATA_DIR: testDataDir(), SMFT_LOG_LEVEL: 'silent' };
  delete env.NODE_TEST_CONTEXT; // a runner of its own, not a child reporting to this one
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'ci', 'run-tests.mjs'), file], { cwd: ROOT, encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, out: r.stdout + r.stderr, left: readdirSync(outer) };
}

test('npm test fails when a test file leaves something in the temp folder, and removes its temp folder', () => {
  const r = runTests('test/fixtures/leaky/leak.test.ts');
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /# pass 1/);
  assert.match(r.out, /run-tests: the tests left 1 item\(s\) in the temp folder .*: smft-leak-\w+/);
  assert.deepEqual(r.left, []);
});

test('a test file that used to leak (jsonl) now leaves the temp folder clean', () => {
  const r = runTests('test/data/jsonl.test.ts');
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /run-tests: the tests left/);
  assert.deepEqual(r.left, []);
});
