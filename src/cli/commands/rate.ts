import { basename, resolve } from 'node:path';
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
import { rateWordsDecimal, RATING_READS, type RatingRead } from '../../lm/decimal.js';
import { embedWords, saveEmbeddings } from '../../lm/embed.js';
import { rateWithHead } from '../../train/recipes.js';
import { headRatingIdentity, headRatingRows } from '../../train/predict.js';
import { localRatingIdentity } from '../../lm/identity.js';
import { adapterChecksum } from '../../train/lora/peft.js';
import { checkpointBaseModel } from './train-lora.js';
import { defaultOutput, prepareOutput, safeName } from '../../util/output.js';
import { action, checkThreads, choiceOption, intOption, numberOption, threadsOption, BACKEND_HELP, FORCE_HELP, OVERSUBSCRIBE_HELP } from '../run.js';
import { evalSetFile } from './evaluate.js';
import { digitIdsOption, rateThroughApi, type ApiRateFlags } from './rate-api.js';


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

interface RateFlags extends Partial<Omit<ApiRateFlags, 'out' | 'prompts' | 'lang' | 'modelId'>> {
  model?: string; checkpoint?: string; head?: string; evalSet: string; lang: Lang; out?: string; prompts?: string;
  modelId?: string; backend: InferenceBackend; batchSize: number; prefixCache: boolean; workers: number; dataDir?: string; limit?: number;
  read: RatingRead; force?: boolean; oversubscribe?: boolean;
}

/** Inputs of rate/embed that are files or folders here (hub ids are not). */
function localInputs(f: { model?: string; checkpoint?: string; head?: string; evalSet: string; prompts?: string }, dataDir: string): string[] {
  return [f.model, f.checkpoint, f.head, f.prompts, f.evalSet === 'paper' ? dataDir : f.evalSet].filter((p): p is string => !!p);
}

export function registerRate(program: Command): void {
  program
    .command('rate')
    .description('ratings of words on the sensorimotor dimensions from an LLM (next-token probabilities of 0–5), a LoRA checkpoint or a trained head')
    .option('--model <path|id>', 'Hugging Face model folder or hub id')
    .option('--checkpoint <dir>', 'LoRA checkpoint folder from smft train (its base model unless --model is given)')
    .option('--head <dir>', 'regression head checkpoint from smft train --recipe glove-head')
    .option('-o, --out <file>', 'long predictions CSV (appended; an interrupted run resumes; default runs/ratings/<model id>-<lang>.csv)')
    .option('--force', 'start the ratings file over (replaces an smft ratings file; never anything else)')
    .option('--eval-set <set>', "words: 'paper' (1572 eval words), a norms/eval CSV, or a .txt word list", 'paper')
    .option('--lang <lang>', 'en (11 Lancaster dimensions) or nl (6 Dutch dimensions)', choiceOption('lang', ['en', 'nl'] as const), 'en')
    .option('--prompts <dir>', "prompt templates (default: smft's own; e.g. the paper's data/paper/prompts)")
    .option('--model-id <name>', 'model column in the output (default: the model name)')
    .option('--backend <name>', BACKEND_HELP, choiceOption('backend', INFERENCE_BACKENDS), 'auto')
    .option('--batch-size <n>', 'prompts per forward pass', intOption('batch-size', 1, 4096), 16)
    .option('--no-prefix-cache', 'run every prompt in full (no shared-prefix KV cache)')
    .option('--workers <n>', 'TF.js backends: worker threads, each with its own copy of the model (onnx uses every core in one)', threadsOption('workers'), 1)
    .option('--oversubscribe', OVERSUBSCRIBE_HELP)
    .option('--limit <n>', 'rate only the first n words (smoke tests)', intOption('limit', 1))
    .option('--read <how>', "digits: Σ k·p(k) over the next digit token; decimal / greedy: for models trained on the paper's decimal answers (\"targets\": \"paper\"), Σ p(d)·v(d) / v(argmax) with v(d) the greedy continuation after digit d read as a number", choiceOption('read', RATING_READS), 'digits')
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .option('--api <url>', 'rate through an OpenAI-compatible server instead: its API base, e.g. http://127.0.0.1:8000/v1 (vLLM, smft serve, https://api.openai.com/v1)')
    .option('--api-model <name>', "--api: the model to ask (default: the server's only model)")
    .option('--api-key-env <name>', '--api: environment variable holding the API key', 'OPENAI_API_KEY')
    .option('--api-completions', '--api: /v1/completions with the raw prompt and answer cue (base models) instead of /v1/chat/completions')
    .option('--concurrency <n>', '--api: requests in flight at once', intOption('concurrency', 1), 4)
    .option('--timeout <s>', '--api: seconds to wait for one answer', numberOption('timeout'), 60)
    .option('--retries <n>', '--api: retries of a request after 429, 5xx, a timeout or a lost connection (exponential backoff, Retry-After)', intOption('retries', 0), 5)
    .option('--top-logprobs <n>', '--api: top logprobs asked for (OpenAI allows up to 20)', intOption('top-logprobs', 1), 20)
    .option('--no-logit-bias', '--api: send no logit_bias on the digit tokens (ratings renormalise over the digits among the top logprobs)')
    .option('--digit-token-ids <ids>', "--api: token ids of 0,1,2,3,4,5 for the logit_bias, or 'openai' (default: OpenAI's for OpenAI models, else the server's /tokenize)", digitIdsOption)
    .action(action(async (f: RateFlags) => {
      if (f.read !== 'digits' && (f.head || f.api)) throw new SmftError('--read applies to language models rated in process, not to --head or --api');
      const sources = [f.model && !f.checkpoint, f.checkpoint, f.head, f.api].filter(Boolean).length;
      if (sources !== 1 || (f.api && f.model)) throw new SmftError('give exactly one of --model, --checkpoint (with optional --model), --head or --api');
      checkThreads('--workers', f.workers, f.oversubscribe);
      const dataDir = resolveDataDir(f.dataDir);
      const id = f.modelId ?? (f.head ? 'head' : f.api ? (f.apiModel ?? 'api') : f.checkpoint ? basename(resolve(f.checkpoint)) : f.model!);
      const out = prepareOutput({
        path: f.out ?? defaultOutput('ratings', `${safeName(id)}-${f.lang}.csv`), kind: 'ratings', resume: !f.force, force: f.force, inputs: localInputs(f, dataDir),
      }).path;
      let words = await wordList(f.evalSet, f.lang, dataDir);
      if (f.limit) words = words.slice(0, f.limit);
      if (f.api) return rateThroughApi({ ...f, out } as RateFlags & ApiRateFlags, words);
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
        { ...await localRatingIdentity(lm, { adapter: adapterDir ? adapterChecksum(adapterDir) : null, templates, lang: f.lang }), ...(f.read !== 'digits' ? { read: f.read } : {}) });
      const common = (writer: PredictionsWriter) => ({
        words, templates, lang: f.lang, batchSize: f.batchSize, prefixCache: f.prefixCache, modelName: lm.dir,
        skip: (w: string, d: Dimension) => writer.has(w, d), onRows: (rows: RatingRow[]) => writer.append(rows),
      });
      let stats;
      let writer: PredictionsWriter | undefined;
      try {
        if (f.read !== 'digits') {
          const im = await inferenceModel(lm.model, { onnx: runtime.onnx, checkpoint, modelName: lm.name });
          try {
            writer = await open(im.dir);
            ({ stats } = await rateWordsDecimal(im.engine, lm.tokenizer, { ...common(writer), read: f.read }));
          } finally {
            await im.release();
          }
        } else if (!runtime.onnx && f.workers > 1 && !checkpoint) {
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
    .option('-o, --out <file>', 'output .safetensors (tensors last/mean: layers × words × hidden; default runs/hidden/<model>-<lang>.safetensors)')
    .option('--force', FORCE_HELP('embeddings file'))
    .option('--eval-set <set>', "words: 'paper', a norms/eval CSV, or a .txt word list", 'paper')
    .option('--lang <lang>', 'en or nl', choiceOption('lang', ['en', 'nl'] as const), 'en')
    .option('--prompt <text>', 'prompt with {Word} (default: a neutral definition prompt)')
    .option('--backend <name>', BACKEND_HELP, choiceOption('backend', INFERENCE_BACKENDS), 'auto')
    .option('--batch-size <n>', 'prompts per forward pass', intOption('batch-size', 1, 4096), 16)
    .option('--limit <n>', 'only the first n words', intOption('limit', 1))
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .action(action(async (f: { model: string; checkpoint?: string; out?: string; force?: boolean; evalSet: string; lang: Lang; prompt?: string; backend: InferenceBackend; batchSize: number; limit?: number; dataDir?: string }) => {
      const dataDir = resolveDataDir(f.dataDir);
      const out = prepareOutput({
        path: f.out ?? defaultOutput('hidden', `${safeName(f.checkpoint ? basename(resolve(f.checkpoint)) : f.model)}-${f.lang}.safetensors`),
        kind: 'embeddings', force: f.force, inputs: localInputs(f, dataDir),
      }).path;
      let words = await wordList(f.evalSet, f.lang, dataDir);
      if (f.limit) words = words.slice(0, f.limit);
      const runtime = await chooseInferenceRuntime(f.backend);
      const lm = await loadModel(f.model);
      const im = await inferenceModel(lm.model, { onnx: runtime.onnx, checkpoint: f.checkpoint ? resolve(f.checkpoint) : undefined, modelName: lm.name });
      try {
        const e = await embedWords(im.engine, lm.tokenizer, { words, lang: f.lang, prompt: f.prompt, batchSize: f.batchSize, modelName: lm.dir });
        saveEmbeddings(out, e, lm.name);
      } finally {
        await im.release();
      }
      process.stdout.write(`${out}\n`);
    }));
}
