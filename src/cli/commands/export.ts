import { resolve } from 'node:path';
import type { Command } from 'commander';
import { resolveDataDir } from '../../data/datadir.js';
import type { Lang } from '../../data/dimensions.js';
import { loadNorms } from '../../data/norms.js';
import { loadTemplates } from '../../lm/prompts.js';
import { checkWords } from '../../lm/rate.js';
import { MAX_BATCH_REQUESTS, openaiBatchRequests, PAPER_BATCH_MODEL } from '../../export/openai-batch.js';
import { exportFinetune, FINETUNE_FORMATS, type FinetuneFormat } from '../../export/finetune.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { prepareOutput } from '../../util/output.js';
import { SmftError } from '../../util/errors.js';
import { log } from '../../util/log.js';
import { action, choiceOption, collect, intOption, FORCE_HELP } from '../run.js';
import { evalSetFile } from './evaluate.js';
import { wordList } from './rate.js';
import { digitIdsOption } from './rate-api.js';

const FORMATS = ['openai-batch', ...FINETUNE_FORMATS] as const;
type ExportFormat = (typeof FORMATS)[number];

/** Every format's flags; a format reads the ones it needs. */
export interface ExportFlags {
  format: ExportFormat;
  out: string;
  lang: Lang;
  evalSet: string;
  prompts?: string;
  model: string;
  topLogprobs: number;
  maxTokens?: number;
  digitTokenIds?: number[];
  lowercase?: boolean;
  limit?: number;
  recipe?: string;
  validation?: boolean;
  set?: string[];
  dataDir?: string;
  force?: boolean;
}

/**
 * `smft export`: requests and training files for engines outside smft. openai-batch: OpenAI
 * Batch API rating requests in the paper's shape (one file, src/export/openai-batch.ts);
 * openai-ft / sft-jsonl: the paper's fine-tuning examples of a recipe (a folder,
 * src/export/finetune.ts).
 */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description("requests and training files for engines outside smft: openai-batch (OpenAI Batch API rating requests in the paper's shape), openai-ft (OpenAI chat fine-tuning JSONL), sft-jsonl (TRL prompt/completion JSONL)")
    .requiredOption('--format <name>', FORMATS.join(' | '), choiceOption('format', FORMATS))
    .requiredOption('-o, --out <path>', 'openai-batch: output file; openai-ft / sft-jsonl: output folder (written atomically)')
    .option('--lang <lang>', 'openai-batch: en (11 Lancaster dimensions) or nl (6 Dutch dimensions)', choiceOption('lang', ['en', 'nl'] as const), 'en')
    .option('--eval-set <set>', "openai-batch: words: 'paper' (1572 eval words), a norms/eval CSV, or a .txt word list", 'paper')
    .option('--prompts <dir>', "openai-batch: prompt templates (default: smft's own; the paper's: $SMFT_DATA_DIR/paper/prompts)")
    .option('--model <name>', 'openai-batch: the model of every request', PAPER_BATCH_MODEL)
    .option('--top-logprobs <n>', 'openai-batch: top logprobs per answer (the paper: 5; OpenAI allows up to 20)', intOption('top-logprobs', 0), 5)
    .option('--max-tokens <n>', 'openai-batch: max_tokens of each request (the paper set none)', intOption('max-tokens', 1))
    .option('--digit-token-ids <ids>', "openai-batch: an equal logit_bias on the tokens of 0…5: 'openai' (gpt-4o, gpt-4, …: 15–20) or six ids", digitIdsOption)
    .option('--lowercase', 'openai-batch: English words in lower case as smft rate prompts them (default: as the norms spell them, upper case, as the paper did)')
    .option('--limit <n>', 'openai-batch: only the first n words', intOption('limit', 1))
    .option('--recipe <name|file>', 'openai-ft / sft-jsonl: the recipe whose training examples to write (en_ft, nl_ft, qa_ft, or a recipe file)')
    .option('--validation', 'openai-ft / sft-jsonl: also write validation.jsonl (the words / items the recipe holds out: train.valFraction, train.seed)')
    .option('--set <key=value>', 'openai-ft / sft-jsonl: override a recipe setting, e.g. data.maxWords=100 or train.valFraction=0.1 (repeatable)', collect)
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .option('--force', FORCE_HELP('export'))
    .action(action(async (f: ExportFlags) => {
      const batch = f.format === 'openai-batch';
      if (!batch && !f.recipe) throw new SmftError(`--format ${f.format} needs --recipe (en_ft, nl_ft, qa_ft, or a recipe file)`);
      const inputs = [f.prompts, f.evalSet === 'paper' ? undefined : f.evalSet, f.recipe?.endsWith('.json') ? f.recipe : undefined, resolveDataDir(f.dataDir)];
      const out = prepareOutput({ path: f.out, kind: batch ? 'batch-requests' : 'finetune-export', force: f.force, inputs }).path;
      if (batch) {
        writeFileAtomic(out, await exportOpenaiBatch(f));
        process.stdout.write(`${out}\n`);
        return;
      }
      const r = await exportFinetune({ recipe: f.recipe!, format: f.format as FinetuneFormat, out, validation: f.validation, overrides: f.set, dataDir: f.dataDir });
      process.stdout.write(`${r.counts.train} training${f.validation ? ` and ${r.counts.validation} validation` : ''} examples (${r.manifest.recipe}, ${f.format})\n`);
      for (const file of r.files) process.stdout.write(`${file}\n`);
    }));
}

async function exportOpenaiBatch(f: ExportFlags): Promise<string> {
  const dataDir = resolveDataDir(f.dataDir);
  // The norms spell English words in upper case, as the paper's prompts have them; a .txt list is taken as it is.
  let words = f.evalSet.endsWith('.txt') || f.lowercase
    ? await wordList(f.evalSet, f.lang, dataDir)
    : checkWords((await loadNorms(evalSetFile(f.evalSet, f.lang, dataDir), f.lang)).words);
  if (f.limit) words = words.slice(0, f.limit);
  if (f.digitTokenIds && f.topLogprobs < 6) throw new SmftError('--digit-token-ids needs --top-logprobs 6 or more to see all six digits');
  const templates = loadTemplates(f.prompts ? resolve(f.prompts) : undefined, f.lang);
  const requests = openaiBatchRequests({ words, templates, model: f.model, topLogprobs: f.topLogprobs, maxTokens: f.maxTokens, digitIds: f.digitTokenIds });
  if (requests.length > MAX_BATCH_REQUESTS) log.warn({ requests: requests.length, limit: MAX_BATCH_REQUESTS }, 'more requests than one OpenAI batch takes: split the file');
  const long = requests.filter((r) => r.custom_id.length > 64).length;
  if (long) log.warn({ requests: long }, 'custom_ids over 64 characters (long words): some OpenAI-compatible batch services refuse them');
  log.info({ requests: requests.length, words: words.length, dimensions: templates.size, model: f.model }, 'OpenAI batch requests');
  return requests.map((r) => JSON.stringify(r)).join('\n') + '\n';
}
