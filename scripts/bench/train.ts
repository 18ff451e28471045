/**
 * LoRA training-step throughput and memory of smft's trainer on a random-weight model with the
 * shape of Qwen2.5-0.5B (hidden 896, 14 heads, 2 KV heads, intermediate 4864, vocab 151936),
 * per backend: one optimizer update (forward + backward through all layers + AdamW) of a batch
 * of rating-like prompts, LoRA r=16 on all seven linear layers of every decoder layer, with and
 * without gradient checkpointing.
 *
 *   node --import tsx scripts/bench/train.ts [--backends wasm,cpu] [--batch 8] [--tokens 80]
 *        [--r 16] [--layers 2,4] [--cpu-layers 1,2] [--reps 2] [--checkpoint on,off]
 *
 * Each measurement runs in a child process of its own, so its memory figures are its own:
 * the peak of tf.memory().numBytes during a step (live tensors, weights included; a kept copy
 * of a tensor counts again), the wasm heap (it only grows, so its size is the peak the heap
 * needed; at most 4 GB) and the process's peak RSS (which also holds the host copies of the
 * embedding table). Full 24-layer steps take about a minute on a CPU, so by default each
 * backend is measured at a few depths and the 24-layer step is extrapolated linearly (a
 * decoder layer costs the same at every depth); put 24 in --layers to measure it directly.
 */
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { log } from '../../src/util/log.js';
import { initBackend } from '../../src/lm/backend.js';
import { arg, qwen05Shape } from './common.js';
import { randomModel } from '../../src/lm/random.js';
import type { CausalLM } from '../../src/lm/model.js';
import { LoraAdapters, LoraStepper, resolveLoraConfig, lastTokenRows, TfBatchLoss, type ObjectiveBatch, type TrainObjective } from '../../src/train/lora/index.js';

log.level = process.env.SMFT_LOG_LEVEL ?? 'warn';

const backends = arg('backends', 'wasm,cpu').split(',');
const batch = Number(arg('batch', '8'));
const tokens = Number(arg('tokens', '80'));
const rank = Number(arg('r', '16'));
const reps = Number(arg('reps', '2'));
const modes = arg('checkpoint', 'on,off').split(',').map((m) => m === 'on');
const depths = (b: string): number[] => arg(b === 'cpu' ? 'cpu-layers' : 'layers', b === 'cpu' ? '1,2' : '2,4').split(',').map(Number);
const FULL = 24;
const DIGITS = [15, 16, 17, 18, 19, 20];


/** Fixed random prompts with a soft target over six "digit" tokens: the rating objective's shape. */
class BenchObjective implements TrainObjective {
  readonly kind = 'bench';
  private readonly ids: number[][];
  private readonly tfLoss: TfBatchLoss;
  constructor(model: CausalLM, n: number, t: number) {
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
  lossSum(idx: Int32Array): tf.Scalar { return this.tfLoss.lossSum(this.batch(idx)); }
  async evaluate(): Promise<{ loss: number }> { return { loss: 0 }; }
  describe(): Record<string, unknown> { return { kind: this.kind }; }
  dispose(): void { this.tfLoss.dispose(); }
}

interface Measure {
  backend: string;
  layers: number;
  checkpoint: boolean;
  stepS: number;
  fwdS: number;
  loraParams: number;
  /** Peak of tf.memory().numBytes during the measured steps. */
  peakBytes: number;
  /** tf.memory().numBytes after the steps (weights, adapters, optimizer state). */
  endBytes: number;
  /** wasm heap size (its high-water mark), wasm only. */
  heapBytes?: number;
  /** Peak resident set size of the process. */
  maxRssBytes: number;
}

/** Follows tf.memory().numBytes at every tensor allocation and keeps its maximum. */
function trackPeakBytes(): () => number {
  const engine = tf.engine() as unknown as { state: { numBytes: number }; trackTensor: (...a: unknown[]) => void };
  const track = engine.trackTensor.bind(engine);
  let peak = engine.state.numBytes;
  engine.trackTensor = (...a: unknown[]): void => {
    track(...a);
    if (engine.state.numBytes > peak) peak = engine.state.numBytes;
  };
  return () => peak;
}

async function measure(backend: string, layers: number, checkpoint: boolean): Promise<Measure> {
  await initBackend(backend as 'wasm');
  const peak = trackPeakBytes();
  const model = randomModel(qwen05Shape(layers), 1);
  const lora = LoraAdapters.init(model, resolveLoraConfig({ r: rank, alpha: 2 * rank, dropout: 0.05 }), 1);
  lora.attach(model, { frozenGradHooks: true }); // as the trainer does
  const obj = new BenchObjective(model, batch, tokens);
  const stepper = new LoraStepper(lora, obj, { batchSize: batch, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, gradientCheckpointing: checkpoint });
  const idx = Int32Array.from({ length: batch }, (_, i) => i);
  let seed = 1;
  try {
    const step = async (): Promise<void> => { await stepper.step(idx, 1e-4, () => seed++); };
    const fwd = async (): Promise<void> => { const l = obj.lossSum(idx); await l.data(); l.dispose(); };
    const time = async (fn: () => Promise<void>, n: number): Promise<number> => {
      await fn(); // warm-up: kernel setup, XNNPACK packing
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await fn();
      return (performance.now() - t0) / n / 1000;
    };
    const n = backend === 'cpu' ? 1 : reps;
    const stepS = await time(step, n);
    const peakBytes = peak();
    const fwdS = await time(fwd, n);
    const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm;
    return {
      backend, layers, checkpoint, stepS, fwdS, loraParams: lora.numParams, peakBytes, endBytes: tf.memory().numBytes,
      heapBytes: wasm?.HEAPU8.buffer.byteLength, maxRssBytes: process.resourceUsage().maxRSS * 1024,
    };
  } finally {
    stepper.dispose();
    obj.dispose();
    lora.dispose();
    model.dispose();
  }
}

const fmtTime = (s: number): string => (s < 90 ? `${s.toFixed(1)} s` : s < 5400 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`);
const gib = (b: number | undefined): string => (b === undefined ? '–' : `${(b / 2 ** 30).toFixed(2)} GiB`);

/** One measurement in a child process (fresh heap, own peak RSS); its JSON on the last line. */
function measureInChild(backend: string, layers: number, checkpoint: boolean): Measure {
  const args = [...process.execArgv, process.argv[1], ...process.argv.slice(2), '--child', `${backend}:${layers}:${checkpoint ? 'on' : 'off'}`];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status === 0 && last.startsWith('{')) return JSON.parse(last) as Measure;
  const why = (r.stderr || r.stdout).split('\n').map((l) => l.trim()).filter((l) => l && !/tfjs-node|====|Hi, looks like/.test(l));
  throw new Error(why.find((l) => /error|abort|oom|memory/i.test(l)) ?? why.pop() ?? `exit ${r.status ?? r.signal}`);
}

async function main(): Promise<void> {
  const child = arg('child', '');
  if (child) {
    const [backend, layers, ck] = child.split(':');
    console.log(JSON.stringify(await measure(backend, Number(layers), ck === 'on')));
    return;
  }
  const tok = batch * tokens;
  console.log(`LoRA r=${rank} (alpha ${2 * rank}, dropout 0.05) on q/k/v/o/gate/up/down of every layer; random Qwen2.5-0.5B shape; `
    + `one update = forward + backward + AdamW on a batch of ${batch} × ${tokens} tokens (${tok} tokens)`);
  for (const backend of backends) {
    for (const checkpoint of modes) {
      const tag = `${backend.padEnd(5)} ${checkpoint ? 'checkpointed' : 'plain       '}`;
      const ms: Measure[] = [];
      for (const layers of depths(backend)) {
        try {
          const m = measureInChild(backend, layers, checkpoint);
          ms.push(m);
          console.log(`${tag} ${String(layers).padStart(2)} layers: ${m.stepS.toFixed(2)} s/step = ${(tok / m.stepS).toFixed(0)} tokens/s `
            + `(forward alone ${m.fwdS.toFixed(2)} s, step/forward ${(m.stepS / m.fwdS).toFixed(1)}×; ${(m.loraParams / 1e6).toFixed(2)}M LoRA params); `
            + `memory: tf peak ${gib(m.peakBytes)}, after ${gib(m.endBytes)}, wasm heap ${gib(m.heapBytes)}, peak RSS ${gib(m.maxRssBytes)}`);
        } catch (e) {
          console.log(`${tag} ${String(layers).padStart(2)} layers: failed: ${(e as Error).message.split('\n')[0]}`);
        }
      }
      const full = ms.find((m) => m.layers === FULL);
      let stepFull: number | undefined = full?.stepS;
      if (!full && ms.length >= 2) {
        const [a, b] = [ms[0], ms[ms.length - 1]];
        const perLayer = (b.stepS - a.stepS) / (b.layers - a.layers);
        const perLayerBytes = (b.peakBytes - a.peakBytes) / (b.layers - a.layers);
        stepFull = b.stepS + perLayer * (FULL - b.layers);
        console.log(`${tag} 24 layers (extrapolated, ${perLayer.toFixed(2)} s and ${gib(perLayerBytes)} tf peak per layer): ${stepFull.toFixed(1)} s/step = ${(tok / stepFull).toFixed(1)} tokens/s, `
          + `tf peak ≈ ${gib(b.peakBytes + perLayerBytes * (FULL - b.layers))}`);
      }
      if (stepFull) {
        // en_ft: ~4022 words × 11 dims, 95 % for training.
        const prompts = Math.round(4022 * 11 * 0.95);
        const steps = Math.ceil(prompts / batch);
        console.log(`${tag} → one En_FT epoch (${prompts} prompts of ~${tokens} tokens, ${steps} micro-batches of ${batch}) ≈ ${fmtTime(steps * stepFull)}`);
      }
    }
  }
}

await main();
