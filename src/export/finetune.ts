/**
 * Fine-tuning files for engines outside smft (`smft export --format openai-ft | sft-jsonl`): a
 * recipe's training examples exactly as the paper built them (src/train/paper-examples.ts).
 *
 *  - openai-ft: OpenAI chat fine-tuning JSONL, one `{"messages": [user, assistant]}` per line, no
 *    system message, written as Python's `json.dumps(..., ensure_ascii=False)` writes it (the
 *    authors' WordsGPT create_finetuning_dataset.py), so a line is byte-identical to theirs.
 *  - sft-jsonl: the same examples as conversational prompt/completion records
 *    (`{"prompt": [user], "completion": [assistant]}`) that TRL's `trl sft` and
 *    `datasets.load_dataset` read; TRL then trains on the completion tokens only, as smft's
 *    "targets": "paper" objective does.
 *
 * The output folder holds train.jsonl, validation.jsonl when asked (the words / items smft's
 * trainer would hold out for this recipe: its train.valFraction and seed, grouped by word) and
 * export.json (what was exported, counts, SHA-256 of the files).
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SmftError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import { writeDirAtomic } from '../util/atomic.js';
import { resolveDataDir } from '../data/datadir.js';
import { smftVersion } from '../eval/provenance.js';
import type { PaperExample } from '../train/paper-examples.js';
import { applyOverrides, loadRecipe, recipePaperExamples, type RatingRecipeData, type Recipe, type RecipeOverrides } from '../train/lora/recipes.js';
import { resolveTrainConfig } from '../train/lora/train-config.js';
import { splitByGroup } from '../train/lora/trainer.js';
import { WORD_SPLIT_DESCRIPTION } from '../train/paper-data.js';

export const FINETUNE_FORMATS = ['openai-ft', 'sft-jsonl'] as const;
export type FinetuneFormat = (typeof FINETUNE_FORMATS)[number];

/** JSON text as Python's json.dumps(value, ensure_ascii=False) writes it (", " and ": " separators). */
export function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

/** One line of the file for `format`. */
export function finetuneRecord(e: PaperExample, format: FinetuneFormat): string {
  const [user, assistant] = e.messages;
  if (format === 'openai-ft') return pythonJson({ messages: [{ role: user.role, content: user.content }, { role: assistant.role, content: assistant.content }] });
  return pythonJson({ prompt: [{ role: user.role, content: user.content }], completion: [{ role: assistant.role, content: assistant.content }] });
}

export interface FinetuneExportOptions {
  /** Recipe name (configs/recipes) or file, e.g. en_ft, nl_ft, qa_ft. */
  recipe: string | Recipe;
  format: FinetuneFormat;
  /** Output folder (written atomically). */
  out: string;
  /** Also write validation.jsonl (the recipe's train.valFraction of words / items). */
  validation?: boolean;
  overrides?: RecipeOverrides;
  dataDir?: string;
}

export interface FinetuneExport {
  dir: string;
  files: string[];
  counts: { train: number; validation: number };
  manifest: Record<string, unknown>;
}

/** Write a recipe's fine-tuning examples as `format` (see the module comment). */
export async function exportFinetune(opts: FinetuneExportOptions): Promise<FinetuneExport> {
  if (!(FINETUNE_FORMATS as readonly string[]).includes(opts.format)) throw new SmftError(`unknown fine-tuning format '${opts.format}' (known: ${FINETUNE_FORMATS.join(', ')})`);
  const base = typeof opts.recipe === 'string' ? loadRecipe(opts.recipe) : opts.recipe;
  const recipe = applyOverrides(base, opts.overrides);
  const dataDir = resolveDataDir(opts.dataDir);
  const examples = await recipePaperExamples(recipe, dataDir);
  const cfg = resolveTrainConfig(recipe.train ?? {});
  let trainIdx: Int32Array = Int32Array.from(examples, (_, i) => i);
  let valIdx: Int32Array = new Int32Array(0);
  if (opts.validation) {
    if (!(cfg.valFraction > 0)) throw new SmftError(`recipe '${recipe.name}' holds out no validation examples (train.valFraction = ${cfg.valFraction}); set one with --set train.valFraction=0.1`);
    ({ train: trainIdx, val: valIdx } = splitByGroup({ size: examples.length, group: (i) => examples[i].group }, cfg.valFraction, cfg.seed));
  }
  const text = (idx: Int32Array): string => Array.from(idx, (i) => finetuneRecord(examples[i], opts.format) + '\n').join('');
  const files: Record<string, string> = { 'train.jsonl': text(trainIdx) };
  if (opts.validation) files['validation.jsonl'] = text(valIdx);
  const words = recipe.task === 'rating' ? (recipe.data as RatingRecipeData).words : undefined;
  const manifest: Record<string, unknown> = {
    format: opts.format, recipe: recipe.name, task: recipe.task, smft_version: smftVersion(), dataDir,
    description: opts.format === 'openai-ft'
      ? 'OpenAI chat fine-tuning JSONL: {"messages": [user, assistant]} per line, no system message (the paper\'s fine-tuning files)'
      : 'conversational prompt/completion JSONL for TRL (trl sft) and datasets.load_dataset',
    examples: examples.length,
    counts: { train: trainIdx.length, validation: valIdx.length },
    ...(words ? { words: WORD_SPLIT_DESCRIPTION[words === 'pool-train' ? 'pool' : 'paper'] } : {}),
    ...(opts.validation ? { validation: { valFraction: cfg.valFraction, seed: cfg.seed, groupedBy: recipe.task === 'rating' ? 'word' : 'item' } } : {}),
    files: Object.fromEntries(Object.entries(files).map(([f, t]) => [f, { sha256: sha256(t), lines: t ? t.split('\n').length - 1 : 0 }])),
  };
  const dir = resolve(opts.out);
  await writeDirAtomic(dir, (tmp) => {
    for (const [f, t] of Object.entries(files)) writeFileSync(join(tmp, f), t);
    writeFileSync(join(tmp, 'export.json'), JSON.stringify(manifest, null, 2) + '\n');
  }, { kind: 'finetune-export' });
  return { dir, files: [...Object.keys(files), 'export.json'].map((f) => join(dir, f)), counts: { train: trainIdx.length, validation: valIdx.length }, manifest };
}
