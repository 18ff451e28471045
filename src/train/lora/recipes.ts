/**
 * LoRA recipes: JSON files in configs/recipes/ describing one of the paper's fine-tuning
 * conditions (en_ft, nl_ft, qa_ft, and *_tiny variants for tests and demos), and runRecipe, the
 * library function behind `smft train --recipe NAME --model M --out DIR [--resume]`.
 *
 * A recipe:
 *   { "name", "description"?, "task": "rating" | "qa",
 *     "data":      rating: { "lang": "en"|"nl", "words": "paper-train"|"pool-train", "dimensions"?: [...],
 *                            "maxWords"?: n, "templates"?: "paper" | "default" | folder }
 *                  qa:     { "train": file, "test"?: file, "template": file, "maxItems"?: n,
 *                            "maxTestItems"?: n }            (files relative to the data dir)
 *     "prompt"?:   { "chat"?: "auto"|"always"|"never", "systemPrompt"?, "answerPrefix"? },
 *     "targets"?:  "smft" (default) | "paper" (the paper's answer texts, full-vocabulary cross-entropy),
 *     "objective"?: { "loss"?: "ce-interp"|"ce-gaussian"|"ce-rounded"|"mse", "sigma"?, "normalize"? },
 *     "lora"?:     LoraConfig fields,  "train"?: LoraTrainConfig fields }
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve, isAbsolute } from 'node:path';
import { SmftError } from '../../util/errors.js';
import { log } from '../../util/log.js';
import { Rng } from '../../util/rng.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { projectRoot, resolveDataDir } from '../../data/datadir.js';
import { canonicalDimension, dimensionsFor, type Dimension, type Lang } from '../../data/dimensions.js';
import { promptWord } from '../../data/norms.js';
import { loadModel, type LoadedModel } from '../../lm/load.js';
import type { BackendName } from '../../lm/backend.js';
import { loadTemplates, type PromptTemplate } from '../../lm/prompts.js';
import type { PromptOptions } from '../../lm/rate.js';
import { paperWordSets, type NormSet } from '../paper-data.js';
import { paperQaExamples, paperRatingExamples, type PaperExample } from '../paper-examples.js';
import { PaperTextObjective } from './objectives/paper-text.js';
import { RatingObjective, RATING_LOSSES, type RatingExample, type RatingLoss } from './objectives/rating.js';
import { QaObjective, readMcqTemplate, readQaItems } from './objectives/qa.js';
import { resolveTrainConfig, type LoraTrainConfig } from './train-config.js';
import { trainLora, type TrainLoraResult } from './trainer.js';
import { resolveLoraConfig, type LoraConfig } from './config.js';
import type { TrainObjective } from './objective.js';
import { isEngine } from '../../lm/engine.js';
import { inferenceModel } from './inference.js';
import { engineRowScorer } from './batch-loss.js';
import type { OnnxDevice } from '../../lm/runtime-choice.js';
import type { EngineChoice, TrainDevice } from './engine.js';

export interface RatingRecipeData {
  lang: Lang;
  /**
   * 'paper-train': the paper's 2 358 training words (src/data/splits.ts paperSplit, the authors'
   * own split); 'pool-train': the larger pool alternative (poolSplit, 4 022 English words).
   */
  words: 'paper-train' | 'pool-train';
  /** Subset of the language's dimensions (default all: 11 English, 6 Dutch). */
  dimensions?: string[];
  /** Use only this many words (a seeded sample), for quick runs. */
  maxWords?: number;
  /** 'paper' (<data>/paper/prompts, default), 'default' (smft's own), or a folder. */
  templates?: string;
}

export interface QaRecipeData {
  /** JSON items (relative to the data dir), e.g. paper/qa_train_840.json. */
  train: string;
  /** Items for test accuracy after training, e.g. paper/qa_test_560.json. */
  test?: string;
  /** MCQ template file, e.g. paper/prompts/prompt_mcq_en.txt. */
  template: string;
  maxItems?: number;
  maxTestItems?: number;
}

export interface Recipe {
  name: string;
  description?: string;
  task: 'rating' | 'qa';
  data: RatingRecipeData | QaRecipeData;
  prompt?: Pick<PromptOptions, 'chat' | 'systemPrompt' | 'answerPrefix'>;
  /**
   * 'smft' (default): smft's objectives (rating: a distribution over the digit tokens; QA: the
   * four letters). 'paper': the paper's answer texts ("1.33"; "A") with full-vocabulary
   * next-token cross-entropy (src/train/lora/objectives/paper-text.ts); `objective` is unused.
   */
  targets?: 'smft' | 'paper';
  objective?: { loss?: RatingLoss; sigma?: number; normalize?: 'digits' | 'vocab' };
  lora?: Partial<LoraConfig>;
  train?: Partial<LoraTrainConfig>;
}

const TOP_KEYS = ['name', 'description', 'task', 'data', 'prompt', 'targets', 'objective', 'lora', 'train'];
const RATING_DATA_KEYS = ['lang', 'words', 'dimensions', 'maxWords', 'templates'];
const QA_DATA_KEYS = ['train', 'test', 'template', 'maxItems', 'maxTestItems'];
const PROMPT_KEYS = ['chat', 'systemPrompt', 'answerPrefix'];
const OBJECTIVE_KEYS = ['loss', 'sigma', 'normalize'];

/** Folder of the shipped recipes. */
export function recipesDir(): string {
  return join(projectRoot(), 'configs', 'recipes');
}

/** A recipe by name (configs/recipes/<name>.json) or path; validated. */
export function loadRecipe(nameOrPath: string): Recipe {
  let path = nameOrPath;
  if (!existsSync(path) || !path.endsWith('.json')) {
    const shipped = join(recipesDir(), `${nameOrPath}.json`);
    if (existsSync(shipped)) path = shipped;
    else if (!existsSync(path)) throw new SmftError(`no recipe '${nameOrPath}' (not a file, and not one of configs/recipes/*.json)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new SmftError(`recipe is not valid JSON (${(e as Error).message.split('\n')[0]})`, path);
  }
  return validateRecipe(json, path);
}

function checkKeys(obj: unknown, known: string[], what: string, where: string): Record<string, unknown> {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new SmftError(`${what} must be a JSON object`, where);
  for (const k of Object.keys(obj)) if (!known.includes(k)) throw new SmftError(`unknown ${what} field '${k}' (known: ${known.join(', ')})`, where);
  return obj as Record<string, unknown>;
}

/** Check a recipe's structure (field names, task, data); settings are checked when resolved. */
export function validateRecipe(json: unknown, where = 'recipe'): Recipe {
  const r = checkKeys(json, TOP_KEYS, 'recipe', where);
  if (typeof r.name !== 'string' || !r.name) throw new SmftError('recipe needs a "name"', where);
  if (r.task !== 'rating' && r.task !== 'qa') throw new SmftError(`recipe "task" must be "rating" or "qa" (got ${JSON.stringify(r.task)})`, where);
  const d = checkKeys(r.data, r.task === 'rating' ? RATING_DATA_KEYS : QA_DATA_KEYS, 'data', where);
  if (r.task === 'rating') {
    if (d.lang !== 'en' && d.lang !== 'nl') throw new SmftError(`data.lang must be "en" or "nl" (got ${JSON.stringify(d.lang)})`, where);
    if (d.words !== 'paper-train' && d.words !== 'pool-train') throw new SmftError(`data.words must be "paper-train" or "pool-train" (got ${JSON.stringify(d.words)})`, where);
    if (d.dimensions !== undefined) {
      if (!Array.isArray(d.dimensions) || d.dimensions.length === 0) throw new SmftError('data.dimensions must be a non-empty list', where);
      for (const x of d.dimensions) {
        const c = canonicalDimension(String(x));
        if (!c || !dimensionsFor(d.lang).includes(c)) throw new SmftError(`data.dimensions: '${String(x)}' is not a ${d.lang === 'en' ? 'Lancaster' : 'Dutch'} dimension`, where);
      }
    }
    if (d.maxWords !== undefined && !(Number.isInteger(d.maxWords) && (d.maxWords as number) >= 2)) throw new SmftError(`data.maxWords=${String(d.maxWords)} (need an integer ≥ 2)`, where);
  } else {
    for (const k of ['train', 'template'] as const) if (typeof d[k] !== 'string') throw new SmftError(`data.${k} must be a file path`, where);
    for (const k of ['maxItems', 'maxTestItems'] as const) {
      if (d[k] !== undefined && !(Number.isInteger(d[k]) && (d[k] as number) >= 1)) throw new SmftError(`data.${k}=${String(d[k])} (need an integer ≥ 1)`, where);
    }
  }
  if (r.prompt !== undefined) checkKeys(r.prompt, PROMPT_KEYS, 'prompt', where);
  if (r.targets !== undefined && r.targets !== 'smft' && r.targets !== 'paper') throw new SmftError(`recipe "targets" must be "smft" or "paper" (got ${JSON.stringify(r.targets)})`, where);
  if (r.objective !== undefined) {
    const o = checkKeys(r.objective, OBJECTIVE_KEYS, 'objective', where);
    if (o.loss !== undefined && !(RATING_LOSSES as readonly string[]).includes(o.loss as string)) {
      throw new SmftError(`objective.loss '${String(o.loss)}' (known: ${RATING_LOSSES.join(', ')})`, where);
    }
    if (r.task === 'qa' && Object.keys(o).length) throw new SmftError('objective settings apply to rating recipes only', where);
  }
  // Settings are validated now, before any model is loaded.
  resolveLoraConfig(checkKeys(r.lora ?? {}, Object.keys(r.lora ?? {}), 'lora', where) as Partial<LoraConfig>, where);
  resolveTrainConfig(checkKeys(r.train ?? {}, Object.keys(r.train ?? {}), 'train', where) as Partial<LoraTrainConfig>, where);
  return r as unknown as Recipe;
}

/** A deep partial recipe, or "path.to.key=value" strings (value parsed as JSON when it parses). */
export type RecipeOverrides = Record<string, unknown> | string[];

export function applyOverrides(recipe: Recipe, overrides: RecipeOverrides | undefined): Recipe {
  if (!overrides) return recipe;
  const out = JSON.parse(JSON.stringify(recipe)) as Record<string, unknown>;
  const set = (path: string[], value: unknown): void => {
    let o = out;
    for (const k of path.slice(0, -1)) {
      if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
      o = o[k] as Record<string, unknown>;
    }
    if (value === undefined) delete o[path[path.length - 1]];
    else o[path[path.length - 1]] = value;
  };
  if (Array.isArray(overrides)) {
    for (const s of overrides) {
      const eq = s.indexOf('=');
      if (eq <= 0) throw new SmftError(`override '${s}' is not of the form key.path=value`);
      const raw = s.slice(eq + 1);
      let value: unknown = raw;
      try { value = JSON.parse(raw); } catch { /* a plain string */ }
      set(s.slice(0, eq).split('.'), value);
    }
  } else {
    const walk = (o: Record<string, unknown>, path: string[]): void => {
      for (const [k, v] of Object.entries(o)) {
        if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, [...path, k]);
        else set([...path, k], v);
      }
    };
    walk(overrides, []);
  }
  return validateRecipe(out, `recipe '${recipe.name}' with overrides`);
}

function dataPath(dataDir: string, p: string): string {
  return isAbsolute(p) ? p : join(dataDir, p);
}

/** The words, dimensions and templates a rating recipe trains on (maxWords: a seeded sample). */
export async function recipeRatingData(recipe: Recipe, dataDir: string): Promise<{ set: NormSet; rows: number[]; dims: Dimension[]; templates: Map<Dimension, PromptTemplate>; templatesDir?: string }> {
  const d = recipe.data as RatingRecipeData;
  const seed = recipe.train?.seed ?? 42;
  const sets = await paperWordSets(dataDir, d.lang, d.words === 'pool-train' ? 'pool' : 'paper');
  const dims = (d.dimensions?.map((x) => canonicalDimension(x)!) ?? [...sets.train.dimensions]) as Dimension[];
  let rows = sets.train.words.map((_, i) => i);
  if (d.maxWords !== undefined && d.maxWords < rows.length) {
    const rng = new Rng((seed ^ 0x77) >>> 0);
    for (let i = rows.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    rows = rows.slice(0, d.maxWords).sort((a, b) => a - b);
  }
  const templatesDir = d.templates === undefined || d.templates === 'paper' ? join(dataDir, 'paper', 'prompts') : d.templates === 'default' ? undefined : resolve(d.templates);
  const all = loadTemplates(templatesDir, d.lang);
  const templates = new Map([...all].filter(([k]) => dims.includes(k)));
  return { set: sets.train, rows, dims, templates, templatesDir };
}

/**
 * The recipe's training examples as the paper built them (src/train/paper-examples.ts): rating
 * recipes one chat example per (word, dimension) with the mean as 2-decimal text; QA recipes one
 * per item with the letter. Used by `"targets": "paper"` training and by `smft export`.
 */
export async function recipePaperExamples(recipe: Recipe, dataDir: string): Promise<PaperExample[]> {
  if (recipe.task === 'rating') {
    const r = await recipeRatingData(recipe, dataDir);
    return paperRatingExamples(r.set, r.templates, r.rows);
  }
  const d = recipe.data as QaRecipeData;
  let items = readQaItems(dataPath(dataDir, d.train));
  if (d.maxItems !== undefined) items = items.slice(0, d.maxItems);
  const template = dataPath(dataDir, d.template);
  readMcqTemplate(template); // checks it
  return paperQaExamples(items, readFileSync(template, 'utf8').replace(/^\uFEFF/, ''));
}

/** Build the recipe's objective for a loaded model. */
export async function recipeObjective(recipe: Recipe, lm: LoadedModel, dataDir: string): Promise<TrainObjective & { dispose(): void }> {
  if (recipe.targets === 'paper') {
    const examples = await recipePaperExamples(recipe, dataDir);
    log.info({ recipe: recipe.name, targets: 'paper', examples: examples.length }, "the paper's fine-tuning examples (answer text, full-vocabulary cross-entropy)");
    return new PaperTextObjective(lm.model, lm.tokenizer, examples, { ...recipe.prompt, lang: recipe.task === 'rating' ? (recipe.data as RatingRecipeData).lang : 'en' });
  }
  if (recipe.task === 'rating') {
    const d = recipe.data as RatingRecipeData;
    const { set, rows, dims, templates, templatesDir } = await recipeRatingData(recipe, dataDir);
    const col = dims.map((x) => set.dimensions.indexOf(x));
    const nd = set.dimensions.length;
    const examples: RatingExample[] = [];
    let missing = 0;
    for (const i of rows) {
      dims.forEach((dim, k) => {
        const v = set.values[i * nd + col[k]];
        if (Number.isNaN(v)) { missing++; return; }
        // Prompted as smft rates it (English in lower case), not as the norm file spells it.
        examples.push({ word: promptWord(set.words[i], d.lang), dimension: dim, mean: Math.min(5, Math.max(0, v)) });
      });
    }
    log.info({ recipe: recipe.name, words: rows.length, dimensions: dims.length, examples: examples.length, missing, templates: templatesDir ?? 'smft default' }, 'rating examples');
    return new RatingObjective(lm.model, lm.tokenizer, examples, { ...recipe.prompt, lang: d.lang, templates, ...recipe.objective });
  }
  const d = recipe.data as QaRecipeData;
  let items = readQaItems(dataPath(dataDir, d.train));
  if (d.maxItems !== undefined) items = items.slice(0, d.maxItems);
  return new QaObjective(lm.model, lm.tokenizer, items, { ...recipe.prompt, lang: 'en', template: readMcqTemplate(dataPath(dataDir, d.template)) });
}

export interface RunRecipeOptions {
  /** Base model: folder / hub id, or an already loaded model (not disposed). */
  model: string | LoadedModel;
  /** Run folder, e.g. checkpoints/en_ft. */
  out: string;
  resume?: boolean;
  overrides?: RecipeOverrides;
  /** Default: SMFT_DATA_DIR or ./data. */
  dataDir?: string;
  /** Backend to initialise when loading the model by path. */
  backend?: BackendName;
  stopAfterStep?: number;
  signal?: AbortSignal;
  /**
   * Where QA test accuracy is measured after training: ONNX Runtime ('cpu' or 'webgpu', the
   * adapter merged into copies of the kernels) or, by default (false), the TF.js model.
   */
  inference?: OnnxDevice | false;
  /** What computes the gradients (trainLora's engine; default 'auto'). */
  engine?: EngineChoice;
  /** ONNX Runtime execution provider of the 'onnx' engine (default 'cpu'). */
  device?: TrainDevice;
}

export interface RecipeResult {
  recipe: Recipe;
  runDir: string;
  /** Adapter folder with the final weights (best validation step, else the last). */
  finalDir: string;
  train: Omit<TrainLoraResult, 'adapters'>;
  /** QA recipes with test items: accuracy of the final weights (and of the base model). */
  test?: { n: number; accuracy: number; loss: number; baseAccuracy?: number };
}

/**
 * Run a recipe: load the model (unless given), build the objective, train (or resume), and for
 * QA recipes score the test items. The adapters are detached and freed at the end; use
 * applyCheckpoint(model, result.finalDir) to rate with them.
 */
export async function runRecipe(recipeOrName: string | Recipe, opts: RunRecipeOptions): Promise<RecipeResult> {
  const base = typeof recipeOrName === 'string' ? loadRecipe(recipeOrName) : validateRecipe(recipeOrName);
  const recipe = applyOverrides(base, opts.overrides);
  const dataDir = resolveDataDir(opts.dataDir);
  const owned = typeof opts.model === 'string';
  const lm = typeof opts.model === 'string' ? await loadModel(opts.model, { backend: opts.backend }) : opts.model;
  const objective = await recipeObjective(recipe, lm, dataDir);
  let testObjective: QaObjective | undefined;
  try {
    const result = await trainLora({
      model: lm.model, modelName: lm.name, modelSource: lm.name.includes('/') && !existsSync(lm.name) ? lm.name : resolve(lm.dir), objective, lora: recipe.lora, train: recipe.train, out: opts.out, resume: opts.resume,
      runInfo: { recipe: recipe.name }, stopAfterStep: opts.stopAfterStep, signal: opts.signal, label: recipe.name, engine: opts.engine, device: opts.device,
    });
    const { adapters, ...train } = result;
    let test: RecipeResult['test'];
    try {
      const d = recipe.data as QaRecipeData;
      if (recipe.task === 'qa' && d.test && !result.interrupted) {
        let items = readQaItems(dataPath(dataDir, d.test));
        if (d.maxTestItems !== undefined) items = items.slice(0, d.maxTestItems);
        testObjective = new QaObjective(lm.model, lm.tokenizer, items, { ...recipe.prompt, lang: 'en', template: readMcqTemplate(dataPath(dataDir, d.template)) });
        const all = Int32Array.from({ length: items.length }, (_, i) => i);
        const bs = recipe.train?.evalBatchSize ?? 16;
        // The tuned model (adapter attached, or merged for ONNX Runtime), then the base model.
        adapters.detach();
        const onTest = async (tuned: boolean): Promise<Record<string, number>> => {
          const im = await inferenceModel(lm.model, { onnx: opts.inference ?? false, adapters: tuned ? adapters : undefined });
          try {
            return await testObjective!.evaluate(all, bs, isEngine(im.engine) ? engineRowScorer(im.engine) : undefined);
          } finally {
            await im.release();
          }
        };
        const after = await onTest(true);
        const before = await onTest(false);
        test = { n: items.length, accuracy: after.accuracy, loss: after.loss, baseAccuracy: before.accuracy };
        writeFileAtomic(join(result.runDir, 'qa_test.json'), JSON.stringify({ ...test, items: d.test, checkpoint: result.finalDir }, null, 2) + '\n');
        log.info({ recipe: recipe.name, ...test }, `${recipe.name}: QA test accuracy ${(100 * after.accuracy).toFixed(1)}% (base ${(100 * before.accuracy).toFixed(1)}%) on ${items.length} items`);
      }
    } finally {
      adapters.dispose();
    }
    return { recipe, runDir: result.runDir, finalDir: result.finalDir, train, test };
  } finally {
    objective.dispose();
    testObjective?.dispose();
    if (owned) lm.model.dispose();
  }
}

/**
 * Convenience for the CLI: `smft train --recipe NAME --model M --out DIR [--seed N] [--steps N]
 * [--resume] [--set key=value …]`.
 */
export async function trainLoraRecipe(opts: {
  recipe: string; model?: string; out: string; dataDir?: string; seed?: number; steps?: number; resume?: boolean; set?: string[]; signal?: AbortSignal;
  inference?: OnnxDevice | false; engine?: EngineChoice; device?: TrainDevice;
}): Promise<RecipeResult> {
  if (!opts.model) throw new SmftError(`recipe '${opts.recipe}' fine-tunes an LLM: give the base model with --model PATH|HUB_ID`);
  const overrides: string[] = [...(opts.set ?? [])];
  if (opts.seed !== undefined) overrides.push(`train.seed=${opts.seed}`);
  if (opts.steps !== undefined) overrides.push(`train.maxSteps=${opts.steps}`);
  return runRecipe(opts.recipe, {
    model: opts.model, out: opts.out, dataDir: opts.dataDir, resume: opts.resume, overrides, signal: opts.signal, inference: opts.inference, engine: opts.engine, device: opts.device,
  });
}
