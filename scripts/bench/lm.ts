/**
 * Forward-pass throughput of smft's LLM engines (TF.js backends, and ONNX Runtime: `onnx`) on a random-weight model with the shape of
 * Qwen2.5-0.5B (hidden 896, 24 layers, 14 heads, 2 KV heads, intermediate 4864, vocab 151936),
 * per backend, with and without shared-prefix caching, and the estimated wall time of a full
 * Base rating run (1572 words × 11 dimensions).
 *
 *   npm run bench:lm -- [--backends onnx,wasm,cpu,onnx-webgpu,webgpu] [--batch 16] [--tokens 80]
 *        [--suffix 20] [--layers 24] [--reps 2] [--workers 2]
 *
 * --tokens is the length of a rating prompt, --suffix the part after the shared prefix
 * (word + rest of the template + chat-template tail), both in Qwen tokens. --workers N also
 * measures the cached rating workload in N worker threads at once (what rateWordsParallel
 * does; each holds its own weights; TF.js backends only). For `onnx` it also times a forward
 * pass with logits at every position over the whole vocabulary, the workload of a plain
 * `model(input_ids)` call in PyTorch, for a like-for-like comparison.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { log } from '../../src/util/log.js';
import { initBackend } from '../../src/lm/backend.js';
import { arg, qwen05Shape } from './common.js';
import { randomModel } from '../../src/lm/random.js';
import { checkFits } from '../../src/lm/load.js';
import { tfEngine, type KvPrefix, type LmEngine } from '../../src/lm/engine.js';
import { OnnxCausalLM } from '../../src/lm/onnx/session.js';

log.level = process.env.SMFT_LOG_LEVEL ?? 'warn';

const backends = arg('backends', 'onnx,wasm,cpu').split(',');
const batch = Number(arg('batch', '16'));
const tokens = Number(arg('tokens', '80'));
const suffix = Number(arg('suffix', '20'));
const reps = Number(arg('reps', '2'));
const numLayers = Number(arg('layers', '24'));
const nWorkers = Number(arg('workers', '1'));
const WORDS = 1572;
const DIMS = 11;
const PROMPTS = WORDS * DIMS;
const DIGITS = [15, 16, 17, 18, 19, 20];
const PYTORCH_TOKS = 170;
/** Uncached rating-forward tokens/s per backend measured in this run (full batch only). */
const rates = new Map<string, number>();

const cfg = qwen05Shape(numLayers);

const ids = (b: number, t: number, off = 0): number[][] =>
  Array.from({ length: b }, (_, r) => Array.from({ length: t }, (_, j) => (1000 + r * 131 + (j + off) * 7919) % cfg.vocabSize));

async function time(fn: () => Promise<unknown>, n: number): Promise<number> {
  await fn(); // warm-up (kernel setup, XNNPACK weight packing, ONNX session creation)
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (performance.now() - t0) / n / 1000;
}

const lastDigits = (engine: LmEngine, b: number, t: number, prefix?: KvPrefix): Promise<Float32Array> => {
  const p = prefix?.length ?? 0;
  return engine.selectedLogits({
    ids: ids(b, t, p),
    attentionMask: Array.from({ length: b }, () => new Array(p + t).fill(1)),
    positionIds: Array.from({ length: b }, () => Array.from({ length: t }, (_, j) => p + j)),
    logitsAt: new Array(b).fill(t - 1),
    tokenIds: DIGITS,
  }, prefix);
};

/** Worker thread: time the cached suffix batches and report prompts/s. */
async function workerMain(): Promise<void> {
  const { backend } = workerData as { backend: string };
  await initBackend(backend as 'wasm');
  const engine = tfEngine(randomModel(cfg, 2));
  const prefix = await engine.prefill(ids(1, tokens - suffix)[0]);
  const s = await time(() => lastDigits(engine, batch, suffix, prefix), reps);
  parentPort!.postMessage(batch / s);
}

async function inWorkers(backend: string, n: number): Promise<number> {
  const here = import.meta.url;
  const code = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(here)}); });`;
  const rates = await Promise.all(Array.from({ length: n }, () => new Promise<number>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { backend }, argv: process.argv.slice(2) });
    w.on('message', (r: number) => { resolve(r); void w.terminate(); });
    w.on('error', reject);
  })));
  return rates.reduce((a, r) => a + r, 0);
}

const fmtTime = (s: number): string => (s < 90 ? `${s.toFixed(0)} s` : s < 5400 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(2)} h`);

async function main(): Promise<void> {
  const p = tokens - suffix;
  console.log(`model: random Qwen2.5-0.5B shape (${numLayers} layers); rating workload ${WORDS} words × ${DIMS} dims = ${PROMPTS} prompts of ${tokens} tokens (${p} shared prefix + ${suffix} suffix)`);
  for (const backend of backends) {
    const onnx = backend === 'onnx' || backend === 'onnx-webgpu';
    try {
      await initBackend(onnx ? 'cpu' : (backend as 'wasm'));
      checkFits(cfg, tf.getBackend());
    } catch (e) {
      console.log(`${backend}: ${(e as Error).message}`);
      continue;
    }
    const t0 = performance.now();
    const model = randomModel(cfg, 1);
    const engine = onnx ? await OnnxCausalLM.fromModel(model, { device: backend === 'onnx' ? 'cpu' : 'webgpu' }) : tfEngine(model);
    const buildS = (performance.now() - t0) / 1000;
    // TF.js cpu is ~20× slower than wasm: measure one short row there and report tokens/s.
    const small = backend === 'cpu';
    const b = small ? 1 : batch;
    const t = small ? Math.min(tokens, 16) : tokens;
    const s1 = await time(() => lastDigits(engine, b, t), small ? 1 : reps);
    const tokS = (b * t) / s1;
    if (!small) rates.set(backend, tokS);
    let prefix: KvPrefix | null = null;
    const prefixS = await time(async () => {
      prefix?.dispose();
      prefix = await engine.prefill(ids(1, p)[0]);
    }, 1);
    const s2 = await time(() => lastDigits(engine, b, suffix, prefix!), small ? 1 : reps);
    (prefix as KvPrefix | null)?.dispose();
    const promptsPerS = b / s2;
    const naive = (PROMPTS * tokens) / tokS;
    const withCache = DIMS * prefixS + PROMPTS / promptsPerS;
    const cachedTokens = PROMPTS * suffix + DIMS * p;
    const where = onnx
      ? `${([...model.params.values()].reduce((a, x) => a + x.size, 0) * 4 / 2 ** 30).toFixed(2)} GiB of weights shared with ONNX Runtime`
      : `${(tf.memory().numBytes / 2 ** 30).toFixed(2)} GiB in the backend`;
    console.log(
      `${backend.padEnd(5)} (${engine.runtime}) weights built in ${fmtTime(buildS)}, ${where} (+${((cfg.vocabSize * cfg.hiddenSize * 4) / 2 ** 30).toFixed(2)} GiB embeddings on the host)\n` +
      `      uncached  batch ${b}×${t}: ${s1.toFixed(2)} s/forward = ${tokS.toFixed(1)} tokens/s → full Base run ≈ ${fmtTime(naive)}\n` +
      `      cached    prefix ${p} tokens: ${prefixS.toFixed(2)} s once per dimension; batch ${b}×${suffix} suffix tokens: ${s2.toFixed(2)} s ` +
      `= ${((b * suffix) / s2).toFixed(1)} suffix tokens/s, ${((b * tokens) / s2).toFixed(1)} prompt tokens/s effective → full Base run ≈ ${fmtTime(withCache)}\n` +
      `      forward tokens with caching ${cachedTokens.toLocaleString('en')} instead of ${(PROMPTS * tokens).toLocaleString('en')} (−${(100 * (1 - cachedTokens / (PROMPTS * tokens))).toFixed(0)}%)`,
    );
    if (engine instanceof OnnxCausalLM) {
      const sFull = await time(() => engine.forward(ids(b, t)), 1);
      console.log(`      all-position logits (${b}×${t} × ${cfg.vocabSize} vocabulary, as PyTorch's model(input_ids)): ${sFull.toFixed(2)} s/forward = ${((b * t) / sFull).toFixed(1)} tokens/s`);
      await engine.dispose();
    }
    model.dispose();
    if (nWorkers > 1 && !onnx) {
      const rate = await inWorkers(backend, nWorkers);
      console.log(`      ${nWorkers} worker threads, cached batch ${batch}×${suffix}: ${rate.toFixed(2)} prompts/s together (${(rate * tokens).toFixed(1)} prompt tokens/s effective) → full Base run ≈ ${fmtTime(PROMPTS / rate)}`);
    }
  }
  console.log(`reference: plain PyTorch fp32 on this 2-core CPU ≈ ${PYTORCH_TOKS} tokens/s at batch 16 × 80 (quoted in the issue; PyTorch is not installed here)`);
  const onnxRate = rates.get('onnx');
  for (const [backend, r] of rates) if (backend !== 'onnx' && onnxRate) console.log(`ratio onnx / ${backend} (uncached rating forward, this run): ${(onnxRate / r).toFixed(2)}×`);
  // The quoted PyTorch figure is for the full shape at batch 16 × 80 only.
  if (numLayers === 24 && batch === 16 && tokens === 80) {
    for (const [backend, r] of rates) console.log(`ratio ${backend} / PyTorch (quoted ${PYTORCH_TOKS} tokens/s): ${(r / PYTORCH_TOKS).toFixed(2)}×`);
  }
}

if (!isMainThread) {
  await workerMain();
} else {
  await main();
}
