import { resolve } from 'node:path';
import type { Command } from 'commander';
import { resolveDataDir } from '../../data/datadir.js';
import type { Dimension, Lang } from '../../data/dimensions.js';
import { loadNorms, promptWords } from '../../data/norms.js';
import { readText } from '../../data/csv.js';
import { SmftError } from '../../util/errors.js';
import { log } from '../../util/log.js';
import type { BackendName } from '../../lm/backend.js';
import { loadModel } from '../../lm/load.js';
import { chooseInferenceRuntime, INFERENCE_BACKENDS, type InferenceBackend } from '../../lm/runtime-choice.js';
import { inferenceModel } from '../../train/lora/inference.js';
import { loadTemplates } from '../../lm/prompts.js';
import { PredictionsWriter } from '../../lm/predictions.js';
import { rateWords, type RatingRow } from '../../lm/rate.js';
import { rateWordsParallel } from '../../lm/parallel.js';
import { embedWords, saveEmbeddings } from '../../lm/embed.js';
import { rateWithHead } from '../../train/recipes.js';
import { headRatingIdentity, headRatingRows } from '../../train/predict.js';
import { localRatingIdentity } from '../../lm/identity.js';
import { adapterChecksum } from '../../train/lora/peft.js';
import { checkpointBaseModel } from './train-lora.js';
import { action, choiceOption, intOption, BACKEND_HELP } from '../run.js';
import { evalSetFile } from './evaluate.js';


/** The words to rate: the paper's eval set, a norms/eval file, or a plain word list (.txt). */
export async function wordList(evalSet: string, lang: Lang, dataDir: string): Promise<string[]> {
  if (evalSet.endsWith('.txt')) {
    const file = resolve(evalSet);
    const lines = readText(file).split(/\r?\n/);
    while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
    lines.forEach((l, i) => { if (l.trim() === '') throw new SmftError('empty line in the word list', `${file}:${i + 1}`); });
    return lines.map((l) => l.trim());
  }
  return promptWords(await loadNorms(evalSetFile(evalSet, lang, dataDir), lang));
}

interface RateFlags {
  model?: string; checkpoint?: string; head?: string; evalSet: string; lang: Lang; out: string; prompts?: string;
  modelId?: string; backend: InferenceBackend; batchSize: number; prefixCache: boolean; workers: number; dataDir?: string; limit?: number;
}

export function registerRate(program: Command): void {
  program
    .command('rate')
    .description('ratings of words on the sensorimotor dimensions from an LLM (next-token probabilities of 0–5), a LoRA checkpoint or a trained head')
    .option('--model <path|id>', 'Hugging Face model folder or hub id')
    .option('--checkpoint <dir>', 'LoRA checkpoint folder from smft train (its base model unless --model is given)')
    .option('--head <dir>', 'regression head checkpoint from smft train --recipe glove-head')
    .requiredOption('-o, --out <file>', 'long predictions CSV (appended; an interrupted run resumes)')
    .option('--eval-set <set>', "words: 'paper' (1572 eval words), a norms/eval CSV, or a .txt word list", 'paper')
    .option('--lang <lang>', 'en (11 Lancaster dimensions) or nl (6 Dutch dimensions)', choiceOption('lang', ['en', 'nl'] as const), 'en')
    .option('--prompts <dir>', "prompt templates (default: smft's own; e.g. the paper's data/paper/prompts)")
    .option('--model-id <name>', 'model column in the output (default: the model name)')
    .option('--backend <name>', BACKEND_HELP, choiceOption('backend', INFERENCE_BACKENDS), 'auto')
    .option('--batch-size <n>', 'prompts per forward pass', intOption('batch-size', 1), 16)
    .option('--no-prefix-cache', 'run every prompt in full (no shared-prefix KV cache)')
    .option('--workers <n>', 'TF.js backends: worker threads, each with its own copy of the model (onnx uses every core in one)', intOption('workers', 1), 1)
    .option('--limit <n>', 'rate only the first n words (smoke tests)', intOption('limit', 1))
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .action(action(async (f: RateFlags) => {
      const sources = [f.model && !f.checkpoint, f.checkpoint, f.head].filter(Boolean).length;
      if (sources !== 1) throw new SmftError('give exactly one of --model, --checkpoint (with optional --model) or --head');
      const dataDir = resolveDataDir(f.dataDir);
      let words = await wordList(f.evalSet, f.lang, dataDir);
      if (f.limit) words = words.slice(0, f.limit);
      const out = resolve(f.out);
      if (f.head) {
        const r = await rateWithHead({ head: resolve(f.head), words });
        const writer = new PredictionsWriter(out, f.modelId ?? 'head', headRatingIdentity(resolve(f.head), r.config));
        writer.append(headRatingRows(r).filter((row) => !writer.has(row.word, row.dimension)));
        process.stdout.write(`${out}\n`);
        return;
      }
      const runtime = await chooseInferenceRuntime(f.backend);
      const checkpoint = f.checkpoint ? resolve(f.checkpoint) : undefined;
      const lm = await loadModel(checkpoint && !f.model ? checkpointBaseModel(checkpoint) : f.model!);
      const templates = loadTemplates(f.prompts ? resolve(f.prompts) : undefined, f.lang);
      const modelId = f.modelId ?? lm.name;
      // What makes these ratings: recorded beside the CSV; a resume with anything else is refused.
      const open = async (adapterDir?: string) => new PredictionsWriter(out, modelId,
        await localRatingIdentity(lm, { adapter: adapterDir ? adapterChecksum(adapterDir) : null, templates, lang: f.lang }));
      const common = (writer: PredictionsWriter) => ({
        words, templates, lang: f.lang, batchSize: f.batchSize, prefixCache: f.prefixCache, modelName: lm.dir,
        skip: (w: string, d: Dimension) => writer.has(w, d), onRows: (rows: RatingRow[]) => writer.append(rows),
      });
      let stats;
      let writer: PredictionsWriter | undefined;
      try {
        if (!runtime.onnx && f.workers > 1 && !checkpoint) {
          writer = await open();
          ({ stats } = await rateWordsParallel({ ...common(writer), model: lm.dir, backend: runtime.tfBackend as BackendName, workers: f.workers }));
        } else {
          if (runtime.onnx && f.workers > 1) log.warn({ workers: f.workers }, 'ONNX Runtime uses every core in one process; --workers ignored');
          // On ONNX Runtime the adapter is merged into the weights (same ratings, base speed).
          const im = await inferenceModel(lm.model, { onnx: runtime.onnx, checkpoint, modelName: lm.name });
          try {
            writer = await open(im.dir);
            ({ stats } = await rateWords(im.engine, lm.tokenizer, common(writer)));
          } finally {
            await im.release();
          }
        }
      } catch (e) {
        writer?.discardIfEmpty();
        throw e;
      }
      log.info({ ...stats }, `rated ${stats.prompts} prompts; prefix caching saved ${stats.tokensSaved} of ${stats.fullTokens} forward tokens`);
      process.stdout.write(`${out}\n`);
    }));

  program
    .command('embed')
    .description("hidden states of each word, per layer (last prompt token and mean over the word's tokens), to .safetensors")
    .requiredOption('--model <path|id>', 'Hugging Face model folder or hub id')
    .option('--checkpoint <dir>', 'apply a LoRA checkpoint first')
    .requiredOption('-o, --out <file>', 'output .safetensors (tensors last/mean: layers × words × hidden)')
    .option('--eval-set <set>', "words: 'paper', a norms/eval CSV, or a .txt word list", 'paper')
    .option('--lang <lang>', 'en or nl', choiceOption('lang', ['en', 'nl'] as const), 'en')
    .option('--prompt <text>', 'prompt with {Word} (default: a neutral definition prompt)')
    .option('--backend <name>', BACKEND_HELP, choiceOption('backend', INFERENCE_BACKENDS), 'auto')
    .option('--batch-size <n>', 'prompts per forward pass', intOption('batch-size', 1), 16)
    .option('--limit <n>', 'only the first n words', intOption('limit', 1))
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .action(action(async (f: { model: string; checkpoint?: string; out: string; evalSet: string; lang: Lang; prompt?: string; backend: InferenceBackend; batchSize: number; limit?: number; dataDir?: string }) => {
      let words = await wordList(f.evalSet, f.lang, resolveDataDir(f.dataDir));
      if (f.limit) words = words.slice(0, f.limit);
      const runtime = await chooseInferenceRuntime(f.backend);
      const lm = await loadModel(f.model);
      const im = await inferenceModel(lm.model, { onnx: runtime.onnx, checkpoint: f.checkpoint ? resolve(f.checkpoint) : undefined, modelName: lm.name });
      try {
        const e = await embedWords(im.engine, lm.tokenizer, { words, lang: f.lang, prompt: f.prompt, batchSize: f.batchSize, modelName: lm.dir });
        saveEmbeddings(resolve(f.out), e, lm.name);
      } finally {
        await im.release();
      }
      process.stdout.write(`${resolve(f.out)}\n`);
    }));
}
