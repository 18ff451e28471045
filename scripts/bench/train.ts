/**
 * LoRA training-step throughput and memory of smft's engines on a random-weight model with the
 * shape of Qwen2.5-0.5B (hidden 896, 14 heads, 2 KV heads, intermediate 4864, vocab 151936),
 * against a plain-PyTorch LoRA step of the same shape timed in the same run
 * (scripts/bench/torch_lora_step.py): one optimizer update (forward + backward through all
 * layers + clipping + AdamW, the trainer's own LoraStepper) on a batch of rating-like prompts,
 * LoRA r = 16 (alpha 32, dropout 0.05) on all seven linear layers of every decoder layer.
 *
 *   npm run bench:train -- [--engines onnx,tfjs] [--layers 2,4,24] [--json] [--batch 8]
 *        [--tokens 80] [--r 16] [--dropout 0.05] [--reps 2] [--threads N] [--device cpu|webgpu]
 *        [--backend wasm] [--checkpoint auto|on|off] [--torch on|off] [--torch-device cpu|cuda]
 *        [--torch-impl handwritten|peft] [--python /usr/bin/python3]
 *
 * Engines: `onnx` (explicit backward graphs on ONNX Runtime, execution provider --device; TF.js
 * cpu holds the weights), `tfjs` (TF.js autodiff on --backend, default wasm). Each measurement
 * runs in a child process of its own (its own peak RSS). With --json every measurement is one
 * JSON line (engine, runtime, device, layers, batch, tokens, seconds_per_step, tokens_per_s,
 * cpu_seconds_per_step, forward_seconds, peak_rss_bytes, …); then, per depth, the ratio to
 * PyTorch of the same run, and per engine the estimated time of one En_FT epoch (from the
 * 24-layer step when measured, else extrapolated from the two deepest measured, marked
 * "measured": false). cpu_seconds_per_step (process CPU time) says how much work a step was;
 * on a busy machine it is steadier than wall time, which is what the ratios use.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { log } from '../../src/util/log.js';
import { initBackend, type BackendName } from '../../src/lm/backend.js';
import { arg, qwen05Shape } from './common.js';
import { randomModel } from '../../src/lm/random.js';
import {
  LoraAdapters, LoraStepper, createLoraEngine, resolveLoraConfig, lastTokenRows, TfBatchLoss, tfRowScorer,
  type ObjectiveBatch, type TrainObjective, type LoraTrainConfig,
} from '../../src/train/lora/index.js';
import type { TrainDevice } from '../../src/train/lora/engine.js';

log.level = process.env.SMFT_LOG_LEVEL ?? 'warn';

const engines = arg('engines', 'onnx,tfjs').split(',');
const depths = arg('layers', '2,4').split(',').map(Number);
const json = process.argv.includes('--json');
const batch = Number(arg('batch', '8'));
const tokens = Number(arg('tokens', '80'));
const rank = Number(arg('r', '16'));
const dropout = Number(arg('dropout', '0.05'));
const reps = Number(arg('reps', '2'));
const threads = Number(arg('threads', String(availableParallelism())));
const device = arg('device', 'cpu') as TrainDevice;
const tfBackend = arg('backend', 'wasm') as BackendName;
const checkpoint = arg('checkpoint', 'auto');
const torch = arg('torch', 'on') === 'on';
const torchDevice = arg('torch-device', 'cpu');
const torchImpl = arg('torch-impl', 'handwritten');
const torchName = torchImpl === 'peft' ? 'pytorch-peft' : 'pytorch';
const python = arg('python', existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const FULL = 24;
const DIGITS = [15, 16, 17, 18, 19, 20];
// One En_FT epoch: the paper's 2358 English training words × 11 dimensions, less the 5 % validation split (configs/recipes/en_ft.json).
const EN_FT_PROMPTS = Math.round(2358 * 11 * 0.95);

/** Fixed random prompts with a soft target over six "digit" tokens at the last token: the rating objective's shape. */
class BenchObjective implements TrainObjective {
  readonly kind = 'bench';
  private readonly ids: number[][];
  private readonly tfLoss: TfBatchLoss;
  constructor(model: ReturnType<typeof randomModel>, n: number, t: number) {
    this.ids = Array.from({ length: n }, (_, r) => Array.from({ length: t }, (_, j) => (1000 + r * 131 + j * 7919) % model.config.vocabSize));
    this.tfLoss = new TfBatchLoss(model);
  }
  get size(): number { return this.ids.length; }
  group(i: number): string { return String(i); }
  tokens(i: number): number { return this.ids[i].length; }
  batch(idx: Int32Array): ObjectiveBatch {
    const targets = new Float32Array(idx.length * 6);
    idx.forEach((_, r) => { targets[r * 6 + 2] = 0.6; targets[r * 6 + 3] = 0.4; });
    return { ...lastTokenRows(Array.from(idx, (i) => this.ids[i]), 0, DIGITS), loss: { kind: 'cross-entropy', targets, normalize: 'tokens' } };
  }
  lossSum(idx: Int32Array): ReturnType<TfBatchLoss['lossSum']> { return this.tfLoss.lossSum(this.batch(idx)); }
  async evaluate(): Promise<{ loss: number }> { return { loss: 0 }; }
  describe(): Record<string, unknown> { return { kind: this.kind }; }
  dispose(): void { this.tfLoss.dispose(); }
}

interface Measure {
  engine: string;
  runtime: string;
  device: string;
  layers: number;
  batch: number;
  tokens: number;
  seconds_per_step: number;
  tokens_per_s: number;
  cpu_seconds_per_step: number;
  forward_seconds?: number;
  peak_rss_bytes: number;
  lora_params?: number;
  gradient_checkpointing?: string;
  threads?: number;
  reps?: number;
  measured: boolean;
  [k: string]: unknown;
}

/** One engine at one depth, in this (child) process. */
async function measure(engine: string, layers: number): Promise<Measure> {
  await initBackend(engine === 'onnx' ? 'cpu' : tfBackend);
  const model = randomModel(qwen05Shape(layers), 1);
  const lora = LoraAdapters.init(model, resolveLoraConfig({ r: rank, alpha: 2 * rank, dropout }), 1);
  lora.attach(model, { frozenGradHooks: true }); // as the trainer does
  const obj = new BenchObjective(model, batch, tokens);
  const gc = (checkpoint === 'auto' ? 'auto' : checkpoint === 'on') as LoraTrainConfig['gradientCheckpointing'];
  const cfg = { batchSize: batch, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, gradientCheckpointing: gc };
  const e = await createLoraEngine({ choice: engine === 'onnx' ? 'onnx' : 'tfjs', device, model, adapters: lora, objective: obj, cfg, label: 'bench', threads });
  const stepper = new LoraStepper(lora, obj, cfg, e);
  const idx = Int32Array.from({ length: batch }, (_, i) => i);
  let seed = 1;
  try {
    await stepper.step(idx, 1e-4, () => seed++); // warm-up: sessions, kernels, buffers
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) await stepper.step(idx, 1e-4, () => seed++);
    const step = (performance.now() - t0) / reps / 1000;
    const cu = process.cpuUsage(c0);
    const scorer = e.scorer ?? tfRowScorer(model, new TfBatchLoss(model));
    await scorer.scoreRows(obj.batch(idx));
    const f0 = performance.now();
    await scorer.scoreRows(obj.batch(idx));
    const fwd = (performance.now() - f0) / 1000;
    return {
      engine, runtime: e.name, device: engine === 'onnx' ? device : tfBackend, layers, batch, tokens: batch * tokens,
      seconds_per_step: step, tokens_per_s: (batch * tokens) / step, cpu_seconds_per_step: (cu.user + cu.system) / 1e6 / reps, forward_seconds: fwd,
      peak_rss_bytes: process.resourceUsage().maxRSS * 1024, lora_params: lora.numParams, gradient_checkpointing: checkpoint, threads, reps, measured: true,
    };
  } finally {
    stepper.dispose();
    await e.dispose();
    obj.dispose();
    lora.dispose();
    model.dispose();
  }
}

/** One measurement in a child process (fresh heap, own peak RSS); its JSON on the last line. */
function inChild(engine: string, layers: number): Measure {
  const args = [...process.execArgv, process.argv[1], ...process.argv.slice(2), '--child', `${engine}:${layers}`];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status === 0 && last.startsWith('{')) return JSON.parse(last) as Measure;
  const why = (r.stderr || r.stdout).split('\n').map((l) => l.trim()).filter((l) => l && !/tfjs-node|====|Hi, looks like/.test(l));
  throw new Error(why.find((l) => /error|abort|oom|memory/i.test(l)) ?? why.pop() ?? `exit ${r.status ?? r.signal}`);
}

/** The PyTorch step of the same shape (torch_lora_step.py), or why it could not run. */
function torchStep(layers: number): Measure {
  const script = join(import.meta.dirname, 'torch_lora_step.py');
  const r = spawnSync(python, [script, '--layers', String(layers), '--batch', String(batch), '--tokens', String(tokens), '--r', String(rank),
    '--dropout', String(dropout), '--reps', String(reps), '--threads', String(threads), '--device', torchDevice, '--impl', torchImpl], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status === 0 && last.startsWith('{')) return { ...(JSON.parse(last) as Measure), runtime: `pytorch-${torchDevice}`, measured: true };
  throw new Error(`${python} ${script}: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').pop()}`);
}

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
const fmtTime = (s: number): string => (s < 90 ? `${s.toFixed(1)} s` : s < 5400 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`);

function emit(o: Record<string, unknown>, text: string): void {
  console.log(json ? JSON.stringify(o) : text);
}

/** The 24-layer step: measured, or extrapolated linearly from the two deepest measurements. */
function full(ms: Measure[]): Measure | undefined {
  const m = ms.find((x) => x.layers === FULL);
  if (m || ms.length < 2) return m;
  const [a, b] = [...ms].sort((x, y) => x.layers - y.layers).slice(-2);
  const at = (k: 'seconds_per_step' | 'cpu_seconds_per_step' | 'peak_rss_bytes'): number => b[k] + ((b[k] - a[k]) / (b.layers - a.layers)) * (FULL - b.layers);
  const s = at('seconds_per_step');
  return {
    ...b, layers: FULL, seconds_per_step: s, tokens_per_s: b.tokens / s, cpu_seconds_per_step: at('cpu_seconds_per_step'), peak_rss_bytes: at('peak_rss_bytes'),
    forward_seconds: undefined, lora_params: b.lora_params === undefined ? undefined : (b.lora_params / b.layers) * FULL, measured: false,
  };
}

async function main(): Promise<void> {
  const child = arg('child', '');
  if (child) {
    const [engine, layers] = child.split(':');
    console.log(JSON.stringify(await measure(engine, Number(layers))));
    return;
  }
  if (!json) {
    console.log(`LoRA r=${rank} (alpha ${2 * rank}, dropout ${dropout}) on q/k/v/o/gate/up/down of every layer; random Qwen2.5-0.5B shape; `
      + `one update = forward + backward + AdamW on ${batch} × ${tokens} tokens; ${threads} threads`);
  }
  const results = new Map<string, Measure[]>();
  const record = (m: Measure): void => {
    results.set(m.engine, [...(results.get(m.engine) ?? []), m]);
    emit(m, `${m.engine.padEnd(7)} ${m.runtime.padEnd(17)} ${String(m.layers).padStart(2)} layers: ${m.seconds_per_step.toFixed(2)} s/step = ${m.tokens_per_s.toFixed(1)} tokens/s `
      + `(CPU ${m.cpu_seconds_per_step.toFixed(2)} s${m.forward_seconds ? `, forward alone ${m.forward_seconds.toFixed(2)} s` : ''}), peak RSS ${gib(m.peak_rss_bytes)}`);
  };
  for (const layers of depths) {
    for (const engine of engines) {
      try {
        record(inChild(engine, layers));
      } catch (e) {
        emit({ engine, layers, error: (e as Error).message }, `${engine} ${layers} layers: failed: ${(e as Error).message}`);
      }
    }
    if (torch) {
      try {
        record(torchStep(layers));
      } catch (e) {
        emit({ engine: torchName, layers, error: (e as Error).message }, `pytorch ${layers} layers: failed: ${(e as Error).message}`);
      }
    }
  }
  const ref = results.get(torchName) ?? [];
  for (const engine of engines) {
    for (const m of results.get(engine) ?? []) {
      const t = ref.find((x) => x.layers === m.layers);
      if (!t) continue;
      const r = { comparison: `${engine}/${torchName}`, layers: m.layers, tokens_per_s_ratio: m.tokens_per_s / t.tokens_per_s, cpu_seconds_ratio: t.cpu_seconds_per_step / m.cpu_seconds_per_step };
      emit(r, `${engine} vs PyTorch, ${m.layers} layers: ${r.tokens_per_s_ratio.toFixed(2)}× the tokens/s (${r.cpu_seconds_ratio.toFixed(2)}× less CPU time per step)`);
    }
  }
  for (const engine of [...engines, ...(torch ? [torchName] : [])]) {
    const f = full(results.get(engine) ?? []);
    if (!f) continue;
    if (!f.measured) emit(f, `${engine} ${FULL} layers (extrapolated): ${f.seconds_per_step.toFixed(1)} s/step = ${f.tokens_per_s.toFixed(1)} tokens/s, peak RSS ≈ ${gib(f.peak_rss_bytes)}`);
    const steps = Math.ceil(EN_FT_PROMPTS / batch);
    const est = { estimate: 'en_ft_epoch', engine, runtime: f.runtime, measured: f.measured, prompts: EN_FT_PROMPTS, tokens_per_prompt: tokens, micro_batches: steps, seconds: steps * f.seconds_per_step };
    emit(est, `${engine}: one En_FT epoch (${EN_FT_PROMPTS} prompts of ~${tokens} tokens, ${steps} micro-batches of ${batch}) ≈ ${fmtTime(est.seconds)}${f.measured ? '' : ' (extrapolated)'}`);
  }
}

await main();
