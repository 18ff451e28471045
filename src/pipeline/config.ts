import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { readJsonFile } from '../util/json.js';
import { SmftError } from '../util/errors.js';
import { BOOTSTRAP_MAX, SEED_MAX } from '../util/limits.js';
import { bareName } from '../util/names.js';
import type { Lang } from '../data/dimensions.js';
import type { BackendName } from '../lm/backend.js';
import { INFERENCE_CHOICES, type InferenceChoice } from '../lm/runtime-choice.js';

/** A study configuration for `smft reproduce` (configs/paper.json, configs/demo.json). */
export interface StudyConfig {
  name: string;
  /**
   * Base LLM: Hugging Face folder (relative to the config file or the project), hub id, or
   * 'smft:glove-llama', the demo's model generated into the run (src/pipeline/demo-model.ts).
   */
  model: string;
  backend: BackendName;
  /** Runtime for rating and hidden states: 'auto' (ONNX Runtime when TF.js runs on the CPU), 'onnx', 'onnx-webgpu' or 'tfjs'. */
  inference: InferenceChoice;
  languages: Lang[];
  /** Fine-tuned conditions: condition id → recipe name or path (configs/recipes). */
  conditions: Record<string, string>;
  /** `prompts`: a template folder, 'paper' (<data dir>/paper/prompts), or null for smft's own. */
  rate: { evalSet: string; batchSize: number; limit?: number; prompts?: string | null };
  /** Hidden states of the base model and each condition for layer-wise RSA (English). */
  embed: boolean;
  /** Also train the GloVe regression head on the training words (English). */
  glove: boolean;
  /** Evaluate beside the paper's published GPT-4o-mini predictions (as gpt4o_*). */
  published: boolean;
  evaluate: { bootstrap: number; seed: number; metric: 'cosine' | 'euclidean' | 'correlation' };
  report: { word: string };
}

const DEFAULTS: Omit<StudyConfig, 'name' | 'model'> = {
  backend: 'auto', inference: 'auto', languages: ['en', 'nl'], conditions: { en_ft: 'en_ft', nl_ft: 'nl_ft', qa_ft: 'qa_ft' },
  rate: { evalSet: 'paper', batchSize: 16 }, embed: true, glove: true, published: true,
  evaluate: { bootstrap: 200, seed: 1, metric: 'cosine' }, report: { word: 'SHOUTER' },
};

export function loadStudyConfig(file: string, root: string): StudyConfig {
  const raw = readJsonFile<Partial<StudyConfig>>(file);
  if (!raw || typeof raw !== 'object') throw new SmftError('a study config is a JSON object', file);
  for (const k of ['name', 'model'] as const) if (typeof raw[k] !== 'string' || !raw[k]) throw new SmftError(`missing "${k}"`, file);
  const known = new Set([...Object.keys(DEFAULTS), 'name', 'model', 'description']);
  const unknown = Object.keys(raw).filter((k) => !known.has(k));
  if (unknown.length) throw new SmftError(`unknown field(s) ${unknown.join(', ')}`, file);
  const cfg = { ...DEFAULTS, ...raw, rate: { ...DEFAULTS.rate, ...raw.rate }, evaluate: { ...DEFAULTS.evaluate, ...raw.evaluate }, report: { ...DEFAULTS.report, ...raw.report } } as StudyConfig;
  // The name and the condition ids become folder names (runs/<name>/train-<id>): bare names only.
  bareName(cfg.name, '"name"', file);
  if (!cfg.conditions || typeof cfg.conditions !== 'object' || Array.isArray(cfg.conditions)) throw new SmftError('"conditions" must be an object {condition id: recipe}', file);
  for (const [id, recipe] of Object.entries(cfg.conditions)) {
    bareName(id, 'condition id', file);
    if (id === 'base') throw new SmftError('condition id "base" is reserved for the base model', file);
    if (typeof recipe !== 'string' || !recipe) throw new SmftError(`condition "${id}": the recipe must be a name or a path`, file);
  }
  if (!cfg.languages.every((l) => l === 'en' || l === 'nl')) throw new SmftError('"languages" must list en and/or nl', file);
  if (!INFERENCE_CHOICES.includes(cfg.inference)) throw new SmftError(`"inference" must be one of ${INFERENCE_CHOICES.join(', ')}, got ${JSON.stringify(cfg.inference)}`, file);
  const whole = (v: unknown, field: string, min: number, max: number): void => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new SmftError(`"${field}" must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`, file);
  };
  whole(cfg.evaluate.bootstrap, 'evaluate.bootstrap', 0, BOOTSTRAP_MAX);
  whole(cfg.evaluate.seed, 'evaluate.seed', 0, SEED_MAX);
  whole(cfg.rate.batchSize, 'rate.batchSize', 1, 4096);
  if (cfg.rate.limit !== undefined) whole(cfg.rate.limit, 'rate.limit', 1, Number.MAX_SAFE_INTEGER);
  // A relative model path is taken relative to the config file, then to the project root.
  if (!isAbsolute(cfg.model) && (cfg.model.startsWith('.') || cfg.model.includes('/'))) {
    for (const base of [dirname(file), root]) {
      const p = resolve(base, cfg.model);
      if (existsSync(p)) { cfg.model = p; break; }
    }
  }
  return cfg;
}
