import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, readFileSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from './helpers.js';
import { SmftError } from '../../src/util/errors.js';
import { loadModel } from '../../src/lm/load.js';
import { parseConfig } from '../../src/lm/config.js';
import { SafetensorsFile } from '../../src/lm/safetensors.js';

/** Copy a fixture to a temp folder, let `mutate` break it, and return the error loadModel throws. */
async function loadBroken(name: string, mutate: (dir: string) => void): Promise<SmftError> {
  const dir = mkdtempSync(join(tmpdir(), 'smft-bad-'));
  try {
    cpSync(fixture(name), dir, { recursive: true });
    mutate(dir);
    try {
      const lm = await loadModel(dir, { tokenizer: false });
      lm.model.dispose();
    } catch (e) {
      assert.ok(e instanceof SmftError, `expected SmftError, got ${(e as Error).stack}`);
      assert.ok(!e.message.includes('\n'), `error is not one line: ${e.message}`);
      return e;
    }
    assert.fail('loadModel accepted a broken model');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const editConfig = (dir: string, edit: (c: Record<string, unknown>) => void): void => {
  const p = join(dir, 'config.json');
  const c = JSON.parse(readFileSync(p, 'utf8'));
  edit(c);
  writeFileSync(p, JSON.stringify(c));
};

test('truncated safetensors', async () => {
  const e = await loadBroken('tiny-qwen2', (d) => {
    const p = join(d, 'model.safetensors');
    truncateSync(p, statSync(p).size - 100);
  });
  assert.match(e.message, /truncated safetensors file: tensor '.+' ends at data byte/);
});

test('truncated inside the header', async () => {
  const e = await loadBroken('tiny-qwen2', (d) => truncateSync(join(d, 'model.safetensors'), 200));
  assert.match(e.message, /truncated safetensors file: header needs \d+ bytes/);
});

test('wrong header: not a safetensors file', async () => {
  const e = await loadBroken('tiny-qwen2', (d) => writeFileSync(join(d, 'model.safetensors'), 'PK\x03\x04 this is a zip, not safetensors'));
  assert.match(e.message, /bad safetensors header/);
});

test('wrong header: invalid JSON', async () => {
  const e = await loadBroken('tiny-qwen2', (d) => {
    const p = join(d, 'model.safetensors');
    const buf = readFileSync(p);
    buf[9] = 0x7b; buf[10] = 0x7b; // "{{"
    writeFileSync(p, buf);
  });
  assert.match(e.message, /bad safetensors header: not JSON/);
});

test('shape mismatch with config', async () => {
  const e = await loadBroken('tiny-qwen2', (d) => editConfig(d, (c) => { c.intermediate_size = 72; }));
  assert.match(e.message, /tensor 'model\.layers\.0\.mlp\.(gate|up|down)_proj\.weight' has shape \[.*\] but config\.json implies/);
});

test('dtype / byte-size mismatch in the header', async () => {
  const e = await loadBroken('tiny-qwen2', (d) => {
    const p = join(d, 'model.safetensors');
    const buf = readFileSync(p);
    const n = Number(buf.readBigUInt64LE(0));
    const h = buf.subarray(8, 8 + n).toString('utf8').replace('"dtype":"F32","shape":[32]', '"dtype":"F16","shape":[32]');
    buf.write(h.padEnd(n, ' '), 8, 'utf8');
    writeFileSync(p, buf);
  });
  assert.match(e.message, /has 128 data bytes but dtype F16 × shape \[32\] needs 64/);
});

test('unsupported tensor dtype', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smft-bad-'));
  try {
    const header = Buffer.from(JSON.stringify({ x: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } }));
    const p = join(dir, 'm.safetensors');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(p, Buffer.concat([len, header, Buffer.alloc(8)]));
    const f = SafetensorsFile.open(p);
    assert.throws(() => f.read('x'), (e: Error) => e instanceof SmftError && /dtype I32; supported: F32, F16, BF16/.test(e.message));
    f.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unsupported architecture', async () => {
  const e = await loadBroken('tiny-llama', (d) => editConfig(d, (c) => { c.architectures = ['GPT2LMHeadModel']; c.model_type = 'gpt2'; }));
  assert.match(e.message, /unsupported architectures: 'GPT2LMHeadModel'/);
});

test('tie mismatch: untied config without lm_head', async () => {
  const e = await loadBroken('tiny-qwen2', (d) => editConfig(d, (c) => { c.tie_word_embeddings = false; }));
  assert.match(e.message, /lm_head\.weight is missing .*tie mismatch/);
});

test('missing config.json', async () => {
  const e = await loadBroken('tiny-qwen2', (d) => rmSync(join(d, 'config.json')));
  assert.match(e.message, /config\.json not found/);
});

test('missing weights', async () => {
  const e = await loadBroken('tiny-qwen2', (d) => rmSync(join(d, 'model.safetensors')));
  assert.match(e.message, /no model\.safetensors/);
});

test('missing shard', async () => {
  const e = await loadBroken('tiny-qwen2-sharded', (d) => rmSync(join(d, 'model-00002-of-00002.safetensors')));
  assert.match(e.message, /shard 'model-00002-of-00002\.safetensors' listed in model\.safetensors\.index\.json is missing/);
});

test('corrupt tokenizer.json', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smft-bad-'));
  try {
    cpSync(fixture('tiny-qwen2'), dir, { recursive: true });
    writeFileSync(join(dir, 'tokenizer.json'), '{"version": ');
    await assert.rejects(loadModel(dir), (e: Error) => e instanceof SmftError && /tokenizer\.json: invalid JSON/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config refusals name the field', () => {
  const base = JSON.parse(readFileSync(join(fixture('tiny-qwen2'), 'config.json'), 'utf8'));
  const refuse = (edit: Record<string, unknown>, re: RegExp): void => {
    assert.throws(() => parseConfig({ ...base, ...edit }), (e: Error) => e instanceof SmftError && re.test(e.message), JSON.stringify(edit));
  };
  refuse({ use_sliding_window: true }, /unsupported use_sliding_window/);
  refuse({ rope_scaling: { rope_type: 'yarn', factor: 4 } }, /unsupported rope_scaling: type 'yarn'/);
  refuse({ hidden_act: 'gelu' }, /unsupported hidden_act/);
  refuse({ model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'] }, /unsupported architectures: 'Qwen3ForCausalLM'/);
  refuse({ layer_types: ['full_attention', 'sliding_attention'] }, /unsupported layer_types/);
  refuse({ num_key_value_heads: 3 }, /unsupported num_key_value_heads/);
  refuse({ quantization_config: { quant_method: 'gptq' } }, /unsupported quantization_config/);
  refuse({ hidden_size: 0 }, /hidden_size must be a positive integer/);
  // Fields outside their domain are refused when read, not met as NaN in a forward pass.
  refuse({ rms_norm_eps: -1 }, /rms_norm_eps must be a positive number \(got -1\)/);
  refuse({ rms_norm_eps: 0 }, /rms_norm_eps must be a positive number/);
  refuse({ rms_norm_eps: 3 }, /rms_norm_eps = 3 is out of range/);
  refuse({ rope_theta: 0 }, /rope_theta must be a positive number \(got 0\)/);
  refuse({ rope_theta: -10000 }, /rope_theta must be a positive number/);
  refuse({ num_hidden_layers: 1e9 }, /num_hidden_layers = 1000000000 is out of range \(at most 1024\)/);
  refuse({ vocab_size: 2 ** 40 }, /vocab_size = \d+ is out of range/);
  refuse({ num_hidden_layers: 2.5 }, /num_hidden_layers must be a positive integer/);
  refuse({ rope_scaling: { rope_type: 'llama3', factor: -8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } }, /factor must be a positive number/);
  refuse({ smft_synthetic: '' }, /smft_synthetic must be a non-empty description/);
  assert.equal(parseConfig(base).synthetic, base.smft_synthetic);
  assert.match(base.smft_synthetic, /random weights/);
  // Mistral without a window is a Llama; with one it is accepted as a length limit.
  const m = parseConfig({ ...base, model_type: 'mistral', architectures: ['MistralForCausalLM'], sliding_window: 4096 });
  assert.equal(m.slidingWindow, 4096);
  assert.equal(m.qkvBias, false);
  // transformers v5 style rope_parameters
  const v5 = parseConfig({ ...base, rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 5000 } });
  assert.equal(v5.ropeTheta, 5000);
});
