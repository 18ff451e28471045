import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runStage } from '../src/pipeline/stage.js';
import { tempDir } from './helpers/tmp.js';

test('stages are cached by the hash of their inputs, and an interrupted stage resumes its partial work', async () => {
  const run = tempDir('stage');
  let calls = 0;
  const work = async (dir: string) => { calls++; writeFileSync(join(dir, 'out.txt'), 'x'); };
  const a = await runStage(run, 'rate', { model: 'm', words: 3 }, work);
  assert.equal(a.skipped, false);
  assert.equal(readFileSync(join(a.dir, 'out.txt'), 'utf8'), 'x');
  const b = await runStage(run, 'rate', { model: 'm', words: 3 }, work);
  assert.equal(b.skipped, true);
  assert.equal(calls, 1);
  const c = await runStage(run, 'rate', { model: 'm', words: 4 }, work);
  assert.equal(c.skipped, false);
  assert.equal(calls, 2);
  // A stage that fails leaves its partial folder; the retry sees what was written before.
  await assert.rejects(runStage(run, 'train', { s: 1 }, async (dir) => { writeFileSync(join(dir, 'step-1'), '1'); throw new Error('killed'); }));
  assert.ok(!existsSync(join(run, 'train')));
  let sawPartial = false;
  await runStage(run, 'train', { s: 1 }, async (dir) => { sawPartial = existsSync(join(dir, 'step-1')); });
  assert.ok(sawPartial);
  // …but not when the inputs changed in between.
  await assert.rejects(runStage(run, 'x', { v: 1 }, async (dir) => { writeFileSync(join(dir, 'old'), '1'); throw new Error('killed'); }));
  await runStage(run, 'x', { v: 2 }, async (dir) => { assert.ok(!existsSync(join(dir, 'old'))); });
});
