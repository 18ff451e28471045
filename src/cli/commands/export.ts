import type { Command } from 'commander';
import { SmftError } from '../../util/errors.js';
import { exportFinetune, FINETUNE_FORMATS, type FinetuneFormat } from '../../export/finetune.js';
import { action, choiceOption, collect } from '../run.js';

const FORMATS = [...FINETUNE_FORMATS] as const;

interface ExportFlags {
  format: FinetuneFormat;
  recipe?: string;
  validation?: boolean;
  set?: string[];
  dataDir?: string;
  out: string;
}

/**
 * `smft export`: files for engines outside smft. A small switch over formats; each format's
 * library code lives in src/export/.
 */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description("files for engines outside smft: the paper's fine-tuning data as OpenAI chat fine-tuning JSONL (openai-ft) or TRL prompt/completion JSONL (sft-jsonl)")
    .requiredOption('--format <format>', `what to write: ${FORMATS.join(', ')}`, choiceOption('format', FORMATS))
    .option('--recipe <name|file>', 'openai-ft / sft-jsonl: the recipe whose training examples to write (en_ft, nl_ft, qa_ft, or a recipe file)')
    .option('--validation', 'openai-ft / sft-jsonl: also write validation.jsonl (the words / items the recipe holds out: train.valFraction, train.seed)')
    .option('--set <key=value>', 'override a recipe setting, e.g. data.maxWords=100 or train.valFraction=0.1 (repeatable)', collect)
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .requiredOption('-o, --out <dir>', 'output folder (written atomically)')
    .action(action(async (f: ExportFlags) => {
      switch (f.format) {
        case 'openai-ft':
        case 'sft-jsonl': {
          if (!f.recipe) throw new SmftError(`--format ${f.format} needs --recipe (en_ft, nl_ft, qa_ft, or a recipe file)`);
          const r = await exportFinetune({ recipe: f.recipe, format: f.format, out: f.out, validation: f.validation, overrides: f.set, dataDir: f.dataDir });
          process.stdout.write(`${r.counts.train} training${f.validation ? ` and ${r.counts.validation} validation` : ''} examples (${r.manifest.recipe}, ${f.format})\n`);
          for (const file of r.files) process.stdout.write(`${file}\n`);
          return;
        }
      }
    }));
}
