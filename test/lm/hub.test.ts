import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, mkdirSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from './helpers.js';
import { SmftError } from '../../src/util/errors.js';
import { resolveModelDir, DOWNLOAD_RECORD } from '../../src/lm/hub.js';
import { isHubId } from '../../src/util/names.js';
import { repoFromFolder, startHubServer } from '../helpers/hub-server.js';

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

// ---- Downloads, against a local stand-in for the hub (test/helpers/hub-server.ts) ----

const files = (dir: string): string[] => readdirSync(dir, { recursive: true }).map(String).sort();

/** A fresh cache folder, removed after `fn`. */
async function withCache(fn: (cache: string) => Promise<void>): Promise<void> {
  const cache = mkdtempSync(join(tmpdir(), 'smft-hub-'));
  try { await fn(cache); } finally { rmSync(cache, { recursive: true, force: true }); }
}

test('download: every file verified against the hash the hub announces; the folder appears complete; the cache serves the next call', async () => {
  const hub = await startHubServer([repoFromFolder('org/tiny', fixture('tiny-qwen2')), repoFromFolder('org/tiny-sharded', fixture('tiny-qwen2-sharded'))]);
  try {
    await withCache(async (cache) => {
      for (const [id, src] of [['org/tiny', 'tiny-qwen2'], ['org/tiny-sharded', 'tiny-qwen2-sharded']]) {
        const dir = await resolveModelDir(id, { cacheDir: cache, endpoint: hub.url });
        assert.equal(dir, join(cache, ...id.split('/')));
        for (const f of readdirSync(fixture(src)).filter((f) => f !== 'golden.json')) assert.ok(readFileSync(join(dir, f)).equals(readFileSync(join(fixture(src), f))), `${id}/${f}`);
        const record = JSON.parse(readFileSync(join(dir, DOWNLOAD_RECORD), 'utf8'));
        assert.equal(record.revision, 'c0ffee'.padEnd(40, '0'));
        assert.match(record.files[src === 'tiny-qwen2' ? 'model.safetensors' : 'model-00001-of-00002.safetensors'], /^sha256:[0-9a-f]{64}$/);
        assert.match(record.files['config.json'], /^git-sha1:[0-9a-f]{40}$/);
      }
      // Only the model folders: no temp folders left beside them.
      assert.deepEqual(readdirSync(join(cache, 'org')).sort(), ['tiny', 'tiny-sharded']);
      const before = hub.log.length;
      await resolveModelDir('org/tiny', { cacheDir: cache, endpoint: hub.url });
      assert.equal(hub.log.length, before, 'a cached model needs no request');
    });
  } finally {
    await hub.close();
  }
});

test('download: a connection cut mid-file is resumed with a Range request; HF_ENDPOINT names the hub', async () => {
  const repo = repoFromFolder('org/tiny', fixture('tiny-qwen2'));
  const size = repo.files.find((f) => f.path === 'model.safetensors')!.content.length;
  const hub = await startHubServer([repo], { cut: { path: 'model.safetensors', bytes: 20_000, times: 2 } });
  const saved = process.env.HF_ENDPOINT;
  process.env.HF_ENDPOINT = hub.url;
  try {
    await withCache(async (cache) => {
      const dir = await resolveModelDir('org/tiny', { cacheDir: cache });
      assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(join(fixture('tiny-qwen2'), 'model.safetensors'))));
      const ranges = hub.log.filter((r) => r.url.endsWith('/model.safetensors') && r.range !== 'bytes=0-0').map((r) => r.range);
      // The whole file first, then the rest from where each cut left off.
      assert.deepEqual(ranges, [undefined, `bytes=20000-${size - 1}`, `bytes=40000-${size - 1}`]);
    });
  } finally {
    if (saved === undefined) delete process.env.HF_ENDPOINT; else process.env.HF_ENDPOINT = saved;
    await hub.close();
  }
});

test('download: bytes that do not match the SHA-256, a shard name leaving the folder, a gated repo: one SmftError each, nothing in the cache', async () => {
  const good = repoFromFolder('org/tiny', fixture('tiny-qwen2'));
  const sharded = repoFromFolder('org/evil', fixture('tiny-qwen2-sharded'));
  const index = JSON.parse(sharded.files.find((f) => f.path === 'model.safetensors.index.json')!.content.toString());
  for (const k of Object.keys(index.weight_map)) if (index.weight_map[k] === 'model-00002-of-00002.safetensors') index.weight_map[k] = '../../../escaped.safetensors';
  const evil = repoFromFolder('org/evil', fixture('tiny-qwen2-sharded'), [{ path: 'model.safetensors.index.json', content: Buffer.from(JSON.stringify(index)), lfs: false }]);
  const hub = await startHubServer([good, evil, { ...repoFromFolder('org/gated', fixture('tiny-qwen2')), gated: true }], { corrupt: 'model.safetensors' });
  try {
    await withCache(async (cache) => {
      const fails = async (id: string, re: RegExp): Promise<void> => {
        await assert.rejects(resolveModelDir(id, { cacheDir: cache, endpoint: hub.url, retries: 0 }), (e: Error) => {
          assert.ok(e instanceof SmftError, e.stack);
          assert.ok(!e.message.includes('\n'));
          assert.match(e.message, re);
          return true;
        });
      };
      await fails('org/tiny', /org\/tiny\/model\.safetensors': its bytes do not match the SHA-256 the hub announces \([0-9a-f]{12}…, got [0-9a-f]{12}…\); nothing was kept/);
      await fails('org/evil', /shard name in org\/evil\/model\.safetensors\.index\.json "\.\.\/\.\.\/\.\.\/escaped\.safetensors" has a segment that is '\.\.'/);
      await fails('org/gated', /cannot download 'org\/gated' .*access denied \(gated or private model\? set HF_TOKEN\)/);
      await fails('org/missing', /no such model on the hub/);
      assert.deepEqual(files(cache).filter((f) => f !== 'org'), [], `left in the cache: ${files(cache)}`);
      assert.equal(existsSync(join(cache, '..', 'escaped.safetensors')), false);
    });
  } finally {
    await hub.close();
  }
});

test('hub ids are checked like the hub does: no "..", no leading dot, exactly one slash', async () => {
  for (const id of ['a/..', 'a/.x', '../x', 'a/b/c', 'a/b--c', 'a/b.']) {
    assert.equal(isHubId(id), false, id);
    await assert.rejects(resolveModelDir(id, { offline: true }), /neither an existing folder nor a Hugging Face hub id/);
  }
  for (const id of ['Qwen/Qwen2.5-0.5B-Instruct', 'meta-llama/Llama-3.2-1B', 'a/b', 'HuggingFaceTB/SmolLM2-135M-Instruct']) assert.equal(isHubId(id), true, id);
});
