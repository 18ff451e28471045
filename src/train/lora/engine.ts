/**
 * The seam between the LoRA trainer and what computes gradients. The trainer (trainer.ts) and
 * its stepper (stepper.ts) own everything that is not the model: data order, accumulation,
 * clipping, AdamW, schedule, validation, checkpoints. An engine gives, for one micro-batch, the
 * loss and the gradient of every LoRA matrix, and scores rows for validation:
 *
 *  - 'tfjs': TF.js autodiff of the objective's `lossSum` on the model the adapters are attached
 *    to (any TF.js backend; gradient checkpointing as CausalLM implements it). The reference.
 *  - 'onnx': the same model and loss as explicit forward and backward graphs on ONNX Runtime
 *    (onnx/engine.ts), on its CPU or WebGPU execution provider.
 */
import * as tf from '@tensorflow/tfjs';
import { log } from '../../util/log.js';
import { ortAvailable } from '../../lm/onnx/runtime.js';
import { initBackend, type BackendName } from '../../lm/backend.js';
import { chooseInferenceRuntime } from '../../lm/runtime-choice.js';
import type { CausalLM } from '../../lm/model.js';
import type { LoraAdapters } from './adapter.js';
import type { RowScorer, TrainObjective } from './objective.js';
import type { LoraTrainConfig } from './train-config.js';

export interface MicroGradients {
  /** Σ of the micro-batch's losses / terms (scalar). */
  loss: tf.Scalar;
  /** d loss / d each of adapters.variables(), same order and shapes. */
  grads: tf.Tensor[];
}

export interface LoraEngine {
  /** Where it computes, for logs and summaries (e.g. 'tfjs-wasm', 'onnxruntime-cpu'). */
  readonly name: string;
  /**
   * Loss and gradients of (Σ losses of `micro`) / `terms` with dropout on, its masks drawn from
   * `dropoutSeed` (the same masks on every engine). The caller disposes the tensors.
   */
  gradients(micro: Int32Array, terms: number, dropoutSeed: number): Promise<MicroGradients>;
  /** The forward pass validation scores rows with (dropout off); undefined: the objective's default (TF.js). */
  readonly scorer?: RowScorer;
  dispose(): Promise<void>;
}

/** TF.js autodiff of `objective.lossSum` through the adapters' hooks on the model. */
export class TfjsEngine implements LoraEngine {
  readonly name = `tfjs-${tf.getBackend()}`;
  private readonly vars: tf.Variable[];

  private readonly gradientCheckpointing: boolean;

  /** `gradientCheckpointing` 'auto' is on (see LoraTrainConfig). */
  constructor(private readonly adapters: LoraAdapters, private readonly objective: TrainObjective, gradientCheckpointing: boolean | 'auto') {
    this.vars = adapters.variables();
    this.gradientCheckpointing = gradientCheckpointing !== false;
  }

  async gradients(micro: Int32Array, terms: number, dropoutSeed: number): Promise<MicroGradients> {
    const model = this.adapters.model;
    const checkpointBefore = model?.gradientCheckpointing;
    if (model) model.gradientCheckpointing = this.gradientCheckpointing;
    this.adapters.training = true;
    this.adapters.dropoutSeed = dropoutSeed;
    try {
      const { value, grads } = tf.variableGrads(() => tf.div(this.objective.lossSum(micro), terms) as tf.Scalar, this.vars);
      return { loss: value, grads: this.vars.map((v) => grads[v.name] ?? tf.zerosLike(v)) };
    } finally {
      this.adapters.training = false;
      if (model) model.gradientCheckpointing = checkpointBefore!;
    }
  }

  async dispose(): Promise<void> {
    // Nothing of its own.
  }
}

/**
 * ONNX Runtime execution provider of the 'onnx' engine: 'cpu', 'webgpu' (tested on lavapipe),
 * 'cuda' (needs onnxruntime-node installed with its CUDA files, as the Docker image does;
 * untested in this project).
 */
export type TrainDevice = 'cpu' | 'webgpu' | 'cuda';
export const TRAIN_DEVICES: readonly TrainDevice[] = ['cpu', 'webgpu', 'cuda'];

/** Which engine computes the gradients: 'auto' (ONNX Runtime where it runs), 'onnx' or 'tfjs'. */
export type EngineChoice = 'auto' | 'onnx' | 'tfjs';
export const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'onnx', 'tfjs'];

export interface EngineRequest {
  choice: EngineChoice;
  device: TrainDevice;
  model: CausalLM;
  /** Attached to `model`. */
  adapters: LoraAdapters;
  objective: TrainObjective;
  cfg: Pick<LoraTrainConfig, 'gradientCheckpointing'>;
  label: string;
  /** ONNX Runtime intra-op threads (default: one per physical core). */
  threads?: number;
}

/**
 * The engine for a run, with a log line saying which and why. 'auto' is ONNX Runtime when it
 * loads, TF.js computes on the CPU (cpu or wasm backend; a GPU TF.js backend keeps training
 * in TF.js unless 'onnx' is asked for) and the objective describes its loss as a batch; else
 * TF.js. 'onnx' with an objective that has no batch description falls back to TF.js with a
 * warning; 'onnx' where ONNX Runtime does not load is an error.
 */
export async function createLoraEngine(req: EngineRequest): Promise<LoraEngine> {
  const tfjs = (why: string, warn = false): LoraEngine => {
    const e = new TfjsEngine(req.adapters, req.objective, req.cfg.gradientCheckpointing);
    (warn ? log.warn : log.info).call(log, { label: req.label, engine: e.name, why }, `${req.label}: training on ${e.name} (${why})`);
    return e;
  };
  if (req.choice === 'tfjs') return tfjs('--engine tfjs');
  if (!req.objective.batch) return tfjs(`the ONNX Runtime engine cannot train the '${req.objective.kind}' objective: it has no batch description`, req.choice === 'onnx');
  if (req.choice === 'auto') {
    const backend = tf.getBackend();
    if (backend !== 'cpu' && backend !== 'wasm') return tfjs(`TF.js runs on ${backend}; --engine onnx trains on ONNX Runtime instead`);
    if (!(await ortAvailable())) return tfjs('ONNX Runtime does not load here');
  }
  const { OnnxLoraEngine } = await import('./onnx/engine.js');
  const e = await OnnxLoraEngine.create(req.model, req.adapters, req.objective, { device: req.device, gradientCheckpointing: req.cfg.gradientCheckpointing, threads: req.threads });
  log.info({ label: req.label, engine: e.name, gradientCheckpointing: req.cfg.gradientCheckpointing }, `${req.label}: training on ${e.name} (explicit forward and backward graphs)`);
  return e;
}

/**
 * Start the TF.js backend for LoRA training with `engine`. TF.js holds the weights, adapters and
 * optimizer either way; with the ONNX Runtime engine its 'cpu' backend shares the weights with
 * ONNX Runtime without a copy. 'auto' backend: with --engine tfjs as initBackend('auto'); else a
 * TF.js GPU backend when one starts (TF.js then trains on it, see createLoraEngine), otherwise
 * 'cpu' when ONNX Runtime loads.
 */
export async function initTrainingBackend(backend: BackendName, engine: EngineChoice): Promise<string> {
  if (engine === 'tfjs' || backend !== 'auto') return initBackend(backend);
  if (engine === 'onnx') return initBackend('cpu');
  return (await chooseInferenceRuntime('auto')).tfBackend;
}
