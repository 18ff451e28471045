import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { readJsonFile } from '../util/json.js';
import { SmftError } from '../util/errors.js';
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
  if (!cfg.languages.every((l) => l === 'en' || l === 'nl')) throw new SmftError('"languages" must list en and/or nl', file);
  if (!INFERENCE_CHOICES.includes(cfg.inference)) throw new SmftError(`"inference" must be one of ${INFERENCE_CHOICES.join(', ')}, got ${JSON.stringify(cfg.inference)}`, file);
  // A relative model path is taken relative to the config file, then to the project root.
  if (!isAbsolute(cfg.model) && (cfg.model.startsWith('.') || cfg.model.includes('/'))) {
    for (const base of [dirname(file), root]) {
      const p = resolve(base, cfg.model);
      if (existsSync(p)) { cfg.model = p; break; }
    }
  }
  return cfg;
}
