/** Unbounded and special inputs fail with one clear line instead of eating memory or hanging. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmftError } from '../../src/util/errors.js';
import { readText } from '../../src/data/csv.js';
import { readJsonFile } from '../../src/util/json.js';
import { SafetensorsFile } from '../../src/lm/safetensors.js';
import { checkpointBaseModel } from '../../src/cli/commands/train-lora.js';

const fails = (fn: () => unknown, re: RegExp): void => {
  assert.throws(fn, (e: Error) => e instanceof SmftError && re.test(e.message) && !e.message.includes('\n'), String(re));
};

test('devices, FIFOs, folders and files past the string limit: one SmftError naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smft-input-'));
  try {
    const fifo = join(dir, 'pipe.csv');
    execFileSync('mkfifo', [fifo]);
    const huge = join(dir, 'huge.csv');
    writeFileSync(huge, 'word,dimension,model,rating\n');
    truncateSync(huge, 2 ** 29 + 1); // sparse: no disk used, and not read
    fails(() => readText('/dev/zero'), /^\/dev\/zero: is a device: smft reads text files from regular files only$/);
    fails(() => readText(fifo), /pipe\.csv: is a FIFO \(named pipe\): smft reads text files from regular files only$/);
    fails(() => readJsonFile(fifo), /pipe\.csv: is a FIFO/);
    fails(() => SafetensorsFile.open(fifo), /pipe\.csv: is a FIFO \(named pipe\): smft reads safetensors from regular files only$/);
    fails(() => readText(huge), /huge\.csv: file is too large \(512\.0 MiB; smft reads text files up to 512\.0 MiB\)$/);
    fails(() => readText(dir), /is a folder, expected a file$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a bare adapter's base_model_name_or_path: a hub id or an absolute folder, nothing relative", () => {
  const dir = mkdtempSync(join(tmpdir(), 'smft-input-'));
  try {
    const cfg = {
      peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['q_proj'], bias: 'none', fan_in_fan_out: false,
    };
    writeFileSync(join(dir, 'adapter_model.safetensors'), readFileSync(join(import.meta.dirname, '..', 'fixtures', 'models', 'safetensors', 'dtypes.safetensors')));
    for (const [base, ok] of [['Qwen/Qwen2.5-0.5B-Instruct', true], ['/models/qwen', true], ['../../models/tiny', false], ['a/..', false], ['models/../../x', false]] as const) {
      writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...cfg, base_model_name_or_path: base }));
      if (ok) assert.equal(checkpointBaseModel(dir), base);
      else fails(() => checkpointBaseModel(dir), /base_model_name_or_path ".*" is neither a Hugging Face hub id nor an absolute folder; pass --model$/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
