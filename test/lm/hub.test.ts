import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from './helpers.js';
import { SmftError } from '../../src/util/errors.js';
import { resolveModelDir } from '../../src/lm/hub.js';

test('a hub id is found in the cache folder', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'smft-hub-'));
  try {
    mkdirSync(join(cache, 'tiny-org'), { recursive: true });
    cpSync(fixture('tiny-qwen2'), join(cache, 'tiny-org', 'tiny-qwen2'), { recursive: true });
    const dir = await resolveModelDir('tiny-org/tiny-qwen2', { cacheDir: cache, endpoint: 'http://127.0.0.1:9' });
    assert.equal(dir, join(cache, 'tiny-org', 'tiny-qwen2'));
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('offline, a missing hub model fails with one clear line and leaves nothing behind', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'smft-hub-'));
  try {
    for (const opts of [{ endpoint: 'http://127.0.0.1:9' }, { offline: true }]) {
      await assert.rejects(resolveModelDir('Qwen/Qwen2.5-0.5B-Instruct', { cacheDir: cache, ...opts }), (e: Error) => {
        assert.ok(e instanceof SmftError);
        assert.ok(!e.message.includes('\n'));
        assert.match(e.message, /Qwen\/Qwen2\.5-0\.5B-Instruct.*download the model folder .* and pass its path/);
        return true;
      });
    }
    assert.equal(existsSync(join(cache, 'Qwen', 'Qwen2.5-0.5B-Instruct')), false);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a path that is neither a folder nor a hub id', async () => {
  await assert.rejects(resolveModelDir('no/such/model/here'), /neither an existing folder nor a Hugging Face hub id/);
});
