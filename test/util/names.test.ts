/** Names that come from data are data: the one helper every reader uses, and its users. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SmftError } from '../../src/util/errors.js';
import { bareName, isBareName, pathInside } from '../../src/util/names.js';
import { WeightSource } from '../../src/lm/safetensors.js';
import { loadStudyConfig } from '../../src/pipeline/config.js';
import { fixture } from '../lm/helpers.js';

test('bare names and paths inside a folder: absolute paths, "..", separators, drive letters and control characters are refused', () => {
  for (const ok of ['model.safetensors', 'a b.json', 'step-3', '.hidden', 'über.txt']) assert.equal(bareName(ok, 'name'), ok);
  for (const bad of ['', '.', '..', 'a/b', 'a\\b', '/etc/passwd', 'C:evil', 'x\u0000y', 'x'.repeat(256), 3, null]) {
    assert.equal(isBareName(bad), false, String(bad));
    assert.throws(() => bareName(bad, 'shard name', 'index.json'), (e: Error) => e instanceof SmftError && /^index\.json: shard name .* expected a plain file name$/.test(e.message) && !e.message.includes('\n'), String(bad));
  }
  const dir = '/models/m';
  assert.equal(pathInside(dir, 'model-00001.safetensors', 'shard'), '/models/m/model-00001.safetensors');
  assert.equal(pathInside(dir, 'sub/x.safetensors', 'shard'), '/models/m/sub/x.safetensors');
  for (const bad of ['../x', 'a/../../x', '/abs', 'a//b', 'a\\..\\b', '', './x', 'C:/x']) {
    assert.throws(() => pathInside(dir, bad, 'shard'), (e: Error) => e instanceof SmftError && /expected a path inside \/models\/m$/.test(e.message), bad);
  }
});

test('a local index whose shard name leaves the model folder is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smft-names-'));
  try {
    cpSync(fixture('tiny-qwen2-sharded'), dir, { recursive: true });
    const p = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(readFileSync(p, 'utf8'));
    const k = Object.keys(index.weight_map)[0];
    index.weight_map[k] = '../../../../../../etc/hosts';
    writeFileSync(p, JSON.stringify(index));
    assert.throws(() => WeightSource.open(dir), (e: Error) => e instanceof SmftError && /model\.safetensors\.index\.json: shard name in model\.safetensors\.index\.json "\.\.\/.*" has a segment that is '\.\.'/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a study config: its name and condition ids become folders, so they must be bare names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smft-names-'));
  const root = resolve(import.meta.dirname, '..', '..');
  try {
    const cfg = (extra: Record<string, unknown>): string => {
      const f = join(dir, 'study.json');
      writeFileSync(f, JSON.stringify({ name: 'ok', model: 'test/fixtures/models/tiny-qwen2', ...extra }));
      return f;
    };
    assert.equal(loadStudyConfig(cfg({}), root).name, 'ok');
    const refuse = (extra: Record<string, unknown>, re: RegExp): void => {
      assert.throws(() => loadStudyConfig(cfg(extra), root), (e: Error) => e instanceof SmftError && re.test(e.message) && e.message.startsWith(join(dir, 'study.json')), JSON.stringify(extra));
    };
    refuse({ name: '../../outside' }, /"name" "\.\.\/\.\.\/outside" contains a path separator/);
    refuse({ name: '..' }, /"name" "\.\." is '\.\.'/);
    refuse({ conditions: { '../x': 'en_ft' } }, /condition id "\.\.\/x" contains a path separator/);
    refuse({ conditions: { base: 'en_ft' } }, /condition id "base" is reserved/);
    refuse({ conditions: ['en_ft'] }, /"conditions" must be an object/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
