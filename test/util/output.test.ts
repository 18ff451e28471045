/**
 * The output guard's parts in process (fast): option parsing, the lock, stage folders of a study,
 * recognition of outputs of earlier smft versions, and prepareOutput's path rules. The same
 * rules through the command line are in test/cli/outputs.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { intOption, numberOption, seedOption } from '../../src/cli/run.js';
import { checkBootstrapIndices } from '../../src/eval/bootstrap.js';
import { runStage } from '../../src/pipeline/stage.js';
import { SmftError } from '../../src/util/errors.js';
import { acquireLock, lockPath } from '../../src/util/lock.js';
import { inspectOutput } from '../../src/util/marker.js';
import { prepareOutput, writeDirAtomic } from '../../src/util/output.js';

let tmp = '';
before(() => { tmp = mkdtempSync(join(tmpdir(), 'smft-output-unit-')); });
after(() => { rmSync(tmp, { recursive: true, force: true }); });

const rejects = (parse: (v: string) => number, v: string): void => {
  assert.throws(() => parse(v), InvalidArgumentError, `'${v}' should be refused`);
};

describe('numeric options', () => {
  test('integers: decimal digits only, within bounds', () => {
    const p = intOption('n', 0, 1000);
    for (const [v, n] of [['0', 0], ['7', 7], ['1000', 1000], ['+5', 5], ['007', 7]] as const) assert.equal(p(v), n);
    for (const v of ['0x10', '0b11', '0o7', '1e3', '1.0', '1.5', '', ' ', ' 5', '5 ', '-1', '1001', 'Infinity', 'NaN', '٣', '1_000']) rejects(p, v);
    assert.throws(() => intOption('n')('9007199254740993'), InvalidArgumentError, 'beyond 2^53 is refused, not rounded');
  });

  test('numbers: decimal notation, finite, within bounds', () => {
    const p = numberOption('x', 0, 10);
    for (const [v, n] of [['2', 2], ['2.5', 2.5], ['.5', 0.5], ['1e-3', 0.001], ['10', 10]] as const) assert.equal(p(v), n);
    for (const v of ['0x1', '0b1', '', ' 1', 'Infinity', '-1', '11', '1e400', '1,5']) rejects(p, v);
  });

  test('seeds: the 32-bit range of the generator', () => {
    const p = seedOption();
    assert.equal(p('0'), 0);
    assert.equal(p('4294967295'), 4294967295);
    for (const v of ['4294967296', '-1', '1.5', '0x1']) rejects(p, v);
  });
});

test('explicit bootstrap resamples: the shape is checked when read, naming the file', () => {
  const ok = { all: [[0, 1, 1], [2, 0, 1]] };
  assert.deepEqual(checkBootstrapIndices(ok, 'i.json'), ok);
  for (const [bad, re] of [[[[0]], /must be a JSON object/], [{ all: [] }, /'all' must be a non-empty array/], [{ all: [[0, -1]] }, /'all', resample 0: expected an array of row indices/], [{ all: [[0.5]] }, /resample 0/]] as const) {
    assert.throws(() => checkBootstrapIndices(bad, 'i.json'), (e: Error) => e instanceof SmftError && e.message.startsWith('i.json: ') && re.test(e.message));
  }
});

describe('the lock of an output', () => {
  test('a live owner refuses a second writer; a dead owner\'s lock is taken over', () => {
    const out = join(tmp, 'locked-out');
    const release = acquireLock(out);
    const owner = JSON.parse(readFileSync(lockPath(out), 'utf8'));
    assert.equal(owner.pid, process.pid);
    assert.throws(() => acquireLock(out), (e: Error) => e instanceof SmftError && /another smft process is writing this output \(pid \d+/.test(e.message));
    release();
    assert.equal(existsSync(lockPath(out)), false);

    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(lockPath(out), JSON.stringify({ ...owner, pid: dead }));
    const again = acquireLock(out);
    assert.equal(JSON.parse(readFileSync(lockPath(out), 'utf8')).pid, process.pid);
    again();
  });
});

describe('stage folders of a study', () => {
  test('a truncated stage.json means "not done": the stage runs again, no crash', async () => {
    const run = join(tmp, 'study');
    let runs = 0;
    const work = async (dir: string) => { runs++; writeFileSync(join(dir, 'out.txt'), 'x'); };
    await runStage(run, 'rate-base-en', { a: 1 }, work);
    assert.equal((await runStage(run, 'rate-base-en', { a: 1 }, work)).skipped, true);
    writeFileSync(join(run, 'rate-base-en', 'stage.json'), '{"key": "ab');
    const r = await runStage(run, 'rate-base-en', { a: 1 }, work);
    assert.equal(r.skipped, false);
    assert.equal(runs, 2);
    assert.equal(JSON.parse(readFileSync(join(run, 'rate-base-en', 'stage.json'), 'utf8')).key, r.key);
  });

  test('a folder at a stage\'s place that smft did not make is never removed', async () => {
    const run = join(tmp, 'study2');
    mkdirSync(join(run, 'evaluate-en'), { recursive: true });
    writeFileSync(join(run, 'evaluate-en', 'mine.txt'), 'keep me');
    await assert.rejects(runStage(run, 'evaluate-en', {}, async () => {}), (e: Error) => e instanceof SmftError && /evaluate-en: is not a stage folder of smft/.test(e.message));
    assert.equal(readFileSync(join(run, 'evaluate-en', 'mine.txt'), 'utf8'), 'keep me');
    mkdirSync(join(run, 'train-en_ft.partial'));
    writeFileSync(join(run, 'train-en_ft.partial', 'mine.txt'), 'keep me too');
    await assert.rejects(runStage(run, 'train-en_ft', {}, async () => {}), (e: Error) => e instanceof SmftError && /train-en_ft\.partial: is not a stage folder of smft/.test(e.message));
    assert.equal(readFileSync(join(run, 'train-en_ft.partial', 'mine.txt'), 'utf8'), 'keep me too');
  });
});

describe('what counts as an smft output', () => {
  test('an evaluation folder of an earlier smft (no marker) is recognised by its files, and only when it holds nothing else', () => {
    const dir = join(tmp, 'legacy-eval');
    mkdirSync(dir);
    writeFileSync(join(dir, 'results.json'), JSON.stringify({ provenance: { smft_version: '0.0.9' } }));
    writeFileSync(join(dir, 'rsa.csv'), 'subset,model,rho\n');
    assert.deepEqual(inspectOutput(dir, 'evaluation'), { state: 'ours', kind: 'evaluation' });
    assert.equal(inspectOutput(dir, 'report').state, 'not-smft');
    writeFileSync(join(dir, 'thesis.docx'), 'x');
    assert.equal(inspectOutput(dir, 'evaluation').state, 'not-smft');
  });

  test('writeDirAtomic replaces its own output, and refuses another kind and a user\'s file inside', async () => {
    const dir = join(tmp, 'atomic');
    await writeDirAtomic(dir, (t) => writeFileSync(join(t, 'a.txt'), '1'), { kind: 'split' });
    await writeDirAtomic(dir, (t) => writeFileSync(join(t, 'a.txt'), '2'), { kind: 'split' });
    assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), '2');
    await assert.rejects(writeDirAtomic(dir, () => {}, { kind: 'report' }), (e: Error) => e instanceof SmftError && /is a split folder of smft, not a report folder; not replaced/.test(e.message));
    writeFileSync(join(dir, 'user.txt'), 'mine');
    await assert.rejects(writeDirAtomic(dir, () => {}, { kind: 'split' }), (e: Error) => e instanceof SmftError && /holds 'user\.txt', which smft did not write/.test(e.message));
    assert.equal(readFileSync(join(dir, 'user.txt'), 'utf8'), 'mine');
  });

  test('prepareOutput: an output holding an input, a symbolic link, and a fresh path', () => {
    const inputs = join(tmp, 'inputs');
    mkdirSync(join(inputs, 'ratings'), { recursive: true });
    writeFileSync(join(inputs, 'ratings', 'p.csv'), 'x');
    assert.throws(() => prepareOutput({ path: inputs, kind: 'evaluation', force: true, inputs: [join(inputs, 'ratings', 'p.csv')] }), (e: Error) => /holds .*p\.csv, an input of this command/.test(e.message));
    symlinkSync(inputs, join(tmp, 'link'));
    assert.throws(() => prepareOutput({ path: join(tmp, 'link'), kind: 'evaluation', force: true }), (e: Error) => /is a symbolic link/.test(e.message));
    const fresh = prepareOutput({ path: join(tmp, 'new', 'deeper', 'out'), kind: 'evaluation' });
    assert.equal(fresh.existing, 'absent');
    assert.ok(existsSync(lockPath(fresh.path)));
    fresh.release();
    assert.equal(existsSync(lockPath(fresh.path)), false);
  });
});
