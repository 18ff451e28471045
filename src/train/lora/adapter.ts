/**
 * LoRA adapters as TF.js variables, attached to a CausalLM through its linear-layer hook
 * (CausalLM.setAdapter). Only the A and B matrices are variables, so only they are trained;
 * the base weights are plain tensors the optimizer never sees.
 *
 * Layout and init follow PEFT exactly: A [r, in] ~ U(−1/√in, 1/√in) (kaiming_uniform_ with
 * a = √5), B [out, r] = 0, y' = y + s · (dropout(x)·Aᵀ)·Bᵀ. Dropout is inverted dropout with a
 * seed per call (set by the trainer per micro-batch), independent per adapted layer, so a run
 * is reproducible and an exact resume is possible.
 */
import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import type { CausalLM, LinearAdapter } from '../../lm/model.js';
import type { F32Tensor } from '../../lm/safetensors.js';
import { readAll, type OptimParam } from '../adamw.js';
import { loraModuleNames, loraScale, peftTensorName, type LoraConfig } from './config.js';
import { dropoutMask, moduleDropoutSeed } from './dropout.js';

export interface LoraModule {
  /** HF name of the linear layer (`model.layers.0.self_attn.q_proj`). */
  name: string;
  inFeatures: number;
  outFeatures: number;
  /** [r, in] */
  a: tf.Variable<tf.Rank.R2>;
  /** [out, r] */
  b: tf.Variable<tf.Rank.R2>;
}

export class LoraAdapters {
  readonly scale: number;
  /** Dropout active (training) or not (evaluation, rating). */
  training = false;
  /** Seed of the dropout masks of the next forward pass (each layer derives its own). */
  dropoutSeed = 0;
  private attachedTo: CausalLM | null = null;
  private frozenHooked: string[] = [];

  private constructor(readonly config: LoraConfig, readonly modules: LoraModule[]) {
    this.scale = loraScale(config);
  }

  /** Fresh adapters for `model`: A seeded (PEFT's kaiming-uniform bound 1/√in), B = 0. */
  static init(model: CausalLM, config: LoraConfig, seed: number): LoraAdapters {
    const rng = new Rng((seed ^ 0x5eed10a4) >>> 0);
    const modules = loraModuleNames(model.config, config).map((name) => {
      const [inF, outF] = model.linearWeights(name).kernel.shape;
      const bound = 1 / Math.sqrt(inF);
      const a = new Float32Array(config.r * inF);
      for (let i = 0; i < a.length; i++) a[i] = (rng.next() * 2 - 1) * bound;
      return makeModule(name, inF, outF, a, new Float32Array(outF * config.r), config.r);
    });
    return new LoraAdapters(config, modules);
  }

  /**
   * Adapters from PEFT-named tensors (`base_model.model.<module>.lora_A.weight` [r, in] and
   * `…lora_B.weight` [out, r]). Missing tensors, extra LoRA tensors, or shapes that do not fit
   * the model are one SmftError.
   */
  static fromTensors(model: CausalLM, config: LoraConfig, tensors: Map<string, F32Tensor>, where = 'adapter'): LoraAdapters {
    const names = loraModuleNames(model.config, config);
    const expected = new Set<string>();
    const modules: LoraModule[] = [];
    try {
      for (const name of names) {
        const [inF, outF] = model.linearWeights(name).kernel.shape;
        const an = peftTensorName(name, 'A');
        const bn = peftTensorName(name, 'B');
        expected.add(an).add(bn);
        const a = tensors.get(an);
        const b = tensors.get(bn);
        if (!a || !b) throw new SmftError(`adapter weights lack '${!a ? an : bn}' (the config targets ${config.targetModules.join(', ')} on ${config.layers ? `layers ${config.layers.join(', ')}` : 'all layers'})`, where);
        if (a.shape.join(',') !== `${config.r},${inF}`) {
          throw new SmftError(`'${an}' has shape [${a.shape}], the model needs [${config.r}, ${inF}] (adapter made for another base model or rank?)`, where);
        }
        if (b.shape.join(',') !== `${outF},${config.r}`) {
          throw new SmftError(`'${bn}' has shape [${b.shape}], the model needs [${outF}, ${config.r}] (adapter made for another base model or rank?)`, where);
        }
        for (const t of [a, b]) {
          for (let i = 0; i < t.data.length; i++) {
            if (!Number.isFinite(t.data[i])) throw new SmftError(`adapter weights contain NaN/Inf (${t === a ? an : bn})`, where);
          }
        }
        modules.push(makeModule(name, inF, outF, a.data, b.data, config.r));
      }
    } catch (e) {
      for (const m of modules) { m.a.dispose(); m.b.dispose(); }
      throw e;
    }
    const extra = [...tensors.keys()].filter((k) => !expected.has(k));
    if (extra.length) {
      for (const m of modules) { m.a.dispose(); m.b.dispose(); }
      throw new SmftError(`adapter weights hold ${extra.length} tensor(s) the config does not describe (e.g. '${extra[0]}')`, where);
    }
    return new LoraAdapters(config, modules);
  }

  /** The model the adapters are attached to (null when detached). */
  get model(): CausalLM | null {
    return this.attachedTo;
  }

  /** Trainable variables in a fixed order: A then B of each module, in model order. */
  variables(): tf.Variable[] {
    return this.modules.flatMap((m) => [m.a, m.b]);
  }

  /** The variables for AdamW, named by their PEFT tensor names, all with weight decay (as HF Trainer does for LoRA). */
  optimParams(): OptimParam[] {
    return this.modules.flatMap((m) => [
      { name: peftTensorName(m.name, 'A'), variable: m.a, decay: true },
      { name: peftTensorName(m.name, 'B'), variable: m.b, decay: true },
    ]);
  }

  /** Number of trainable values. */
  get numParams(): number {
    return this.modules.reduce((a, m) => a + m.a.size + m.b.size, 0);
  }

  /**
   * Hook every adapted layer of `model` (replaces adapters already attached there). With
   * `frozenGradHooks`, the other linear layers get a gradient-only hook too (same output), so
   * their backward pass also avoids the slow transposed matmul on the wasm backend (training).
   */
  attach(model: CausalLM, opts: { frozenGradHooks?: boolean } = {}): void {
    if (this.attachedTo && this.attachedTo !== model) throw new Error('LoraAdapters are attached to another model');
    this.modules.forEach((m, i) => model.setAdapter(m.name, this.hook(m, i, model.linearWeights(m.name).kernel), [m.a, m.b]));
    this.frozenHooked = [];
    if (opts.frozenGradHooks) {
      const mine = new Set(this.modules.map((m) => m.name));
      for (const name of model.linearNames()) {
        if (mine.has(name)) continue;
        model.setAdapter(name, frozenHook(model.linearWeights(name).kernel));
        this.frozenHooked.push(name);
      }
    }
    this.attachedTo = model;
  }

  /**
   * y' = y + s·(dropout(x)·Aᵀ)·Bᵀ as one op with a hand-written gradient. The base output y is
   * taken from the model but is not an input of the op, so TF.js never back-propagates through
   * the model's own x·W (whose input gradient, dy·Wᵀ, runs on wasm's slow transposed-matmul
   * path); the op returns that gradient itself, on wasm as (W·dyᵀ)ᵀ, whose large product takes
   * XNNPACK's fast path. Dropout: inverted, the mask drawn on the host from a seed per layer and
   * call (dropout.ts), the same masks the ONNX Runtime engine applies.
   */
  private hook(m: LoraModule, i: number, kernel: tf.Tensor2D): LinearAdapter {
    return (x, y) => {
      const p = this.training ? this.config.dropout : 0;
      const seed = moduleDropoutSeed(this.dropoutSeed, i);
      const s = this.scale;
      // The dropout mask is drawn again from its seed in the backward pass instead of being
      // kept: saving it (and x·mask) would hold two more [N, in] tensors per layer until then.
      const dropMask = (shape: [number, number]): tf.Tensor2D => tf.tensor2d(dropoutMask(seed, shape[0] * shape[1], p), shape);
      const op = tf.customGrad((xx, a, b, save) => {
        const x2 = xx as tf.Tensor2D;
        const xd = p > 0 ? (tf.mul(x2, dropMask(x2.shape)) as tf.Tensor2D) : x2;
        const low = tf.matMul(xd, tf.transpose(a as tf.Tensor2D)); // [N, r]
        const up = tf.matMul(low, tf.transpose(b as tf.Tensor2D)); // [N, out]
        (save as tf.GradSaveFunc)([x2, low]);
        return {
          value: tf.add(y, s === 1 ? up : tf.mul(up, s)) as tf.Tensor2D,
          // In a tidy: TF.js runs gradient functions outside one, so their temporaries (mask,
          // products) would otherwise live until the whole backward pass ends.
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
            const [sx, slow] = saved as tf.Tensor2D[];
            const mask = p > 0 ? dropMask(sx.shape) : null;
            const sxd = mask ? tf.mul(sx, mask) : sx;
            const g = (s === 1 ? dy : tf.mul(dy, s)) as tf.Tensor2D; // [N, out]
            const dB = tf.matMul(tf.transpose(g), slow); // [out, r]
            const dlow = tf.matMul(g, b as tf.Tensor2D); // [N, r]
            const dA = tf.matMul(tf.transpose(dlow), sxd); // [r, in]
            let dxd: tf.Tensor = tf.matMul(dlow, a as tf.Tensor2D); // [N, in]
            if (mask) dxd = tf.mul(dxd, mask);
            return [tf.add(baseInputGrad(kernel, dy as tf.Tensor2D), dxd), dA, dB];
          }),
        };
      });
      return op(x, m.a, m.b) as tf.Tensor2D;
    };
  }

  /** Remove the hooks (the model computes the base function again). */
  detach(): void {
    if (!this.attachedTo) return;
    for (const m of this.modules) this.attachedTo.setAdapter(m.name, undefined);
    for (const n of this.frozenHooked) this.attachedTo.setAdapter(n, undefined);
    this.frozenHooked = [];
    this.attachedTo = null;
  }

  /**
   * PEFT-named host copies of A and B, read asynchronously (a backend such as webgpu in Node
   * cannot read synchronously): a snapshot of the weights when called.
   */
  async toTensors(): Promise<Record<string, F32Tensor>> {
    const data = await readAll(this.variables());
    const out: Record<string, F32Tensor> = {};
    this.modules.forEach((m, i) => {
      out[peftTensorName(m.name, 'A')] = { shape: [...m.a.shape], data: data[2 * i] };
      out[peftTensorName(m.name, 'B')] = { shape: [...m.b.shape], data: data[2 * i + 1] };
    });
    return out;
  }

  /** Overwrite the weights from PEFT-named tensors (same modules and shapes). */
  assign(tensors: Record<string, F32Tensor> | Map<string, F32Tensor>): void {
    const get = (k: string): F32Tensor | undefined => (tensors instanceof Map ? tensors.get(k) : tensors[k]);
    for (const m of this.modules) {
      for (const [which, v] of [['A', m.a], ['B', m.b]] as const) {
        const t = get(peftTensorName(m.name, which));
        if (!t || t.data.length !== v.size) throw new SmftError(`adapter tensor ${peftTensorName(m.name, which)} is missing or has the wrong size`);
        tf.tidy(() => v.assign(tf.tensor2d(t.data, v.shape as [number, number])));
      }
    }
  }

  /**
   * Bake the adapters into `model`'s kernels (W' = W + s·B·A, kernel layout [in, out]:
   * K' = K + s·Aᵀ·Bᵀ), detaching them: the model then computes the adapted function at base
   * speed. The base weights of `model` are replaced (not reversible).
   */
  mergeInto(model: CausalLM): void {
    this.detach();
    for (const m of this.modules) {
      const key = `${m.name}.weight`;
      const old = model.params.get(key)!;
      model.params.set(key, this.mergedKernel(model, m));
      old.dispose();
    }
  }

  /**
   * The merged kernels K + s·Aᵀ·Bᵀ of every adapted layer as new host arrays, by parameter
   * name; `model` is not changed (e.g. to run the adapted model on ONNX Runtime).
   */
  mergedKernels(model: CausalLM): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const m of this.modules) {
      const merged = this.mergedKernel(model, m);
      out.set(`${m.name}.weight`, Float32Array.from(merged.dataSync()));
      merged.dispose();
    }
    return out;
  }

  private mergedKernel(model: CausalLM, m: LoraModule): tf.Tensor {
    const key = `${m.name}.weight`;
    const kernel = model.params.get(key);
    if (!kernel) throw new Error(`no parameter ${key}`);
    return tf.tidy(() => tf.add(kernel, tf.mul(tf.matMul(m.a, m.b, true, true), this.scale)));
  }

  dispose(): void {
    this.detach();
    for (const m of this.modules) { m.a.dispose(); m.b.dispose(); }
  }
}

/**
 * dy·Wᵀ for a kernel K = Wᵀ [in, out]: on wasm as (K·dyᵀ)ᵀ (XNNPACK only takes untransposed
 * 2-D products; matMul(dy, K, false, true) falls back to a loop ~9× slower), elsewhere directly.
 */
function baseInputGrad(kernel: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
  if (tf.getBackend() === 'wasm') return tf.transpose(tf.matMul(kernel, tf.transpose(dy))) as tf.Tensor2D;
  return tf.matMul(dy, kernel, false, true);
}

/** Output unchanged; input gradient through baseInputGrad (for linear layers without LoRA). */
function frozenHook(kernel: tf.Tensor2D): LinearAdapter {
  return (x, y) => {
    const op = tf.customGrad((xx) => {
      void xx;
      return { value: tf.clone(y), gradFunc: (dy: tf.Tensor) => [tf.tidy(() => baseInputGrad(kernel, dy as tf.Tensor2D))] };
    });
    return op(x) as tf.Tensor2D;
  };
}

let counter = 0;
function makeModule(name: string, inF: number, outF: number, a: Float32Array, b: Float32Array, r: number): LoraModule {
  const id = `lora_${++counter}_${name}`;
  const variable = (data: Float32Array, shape: [number, number], n: string): tf.Variable<tf.Rank.R2> => {
    const t = tf.tensor2d(data, shape);
    const v = tf.variable(t, true, n) as tf.Variable<tf.Rank.R2>;
    t.dispose();
    return v;
  };
  return { name, inFeatures: inF, outFeatures: outF, a: variable(a, [r, inF], `${id}.A`), b: variable(b, [outF, r], `${id}.B`) };
}
