import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { resolveDataDir } from '../../data/datadir.js';
import { loadPredictions } from '../../data/predictions.js';
import { PAPER_FILES } from '../../data/sources.js';
import { evaluate } from '../../eval/evaluate.js';
import { provenance } from '../../eval/provenance.js';
import { writeEvaluation } from '../../eval/write.js';
import { action, intOption } from '../run.js';
import { printSummary } from './evaluate.js';
import { existsSync } from 'node:fs';
import { SmftError } from '../../util/errors.js';

/** The offline demo: the paper's analysis on its published GPT-4o-mini predictions (EN + NL). */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description("offline demo on the embedded default: evaluate the paper's published predictions (English and Dutch)")
    .option('-o, --out <dir>', 'output folder', 'out/demo')
    .option('--bootstrap <n>', 'bootstrap iterations', intOption('bootstrap'), 200)
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .action(action(async (f: { out: string; bootstrap: number; dataDir?: string }) => {
      const dataDir = resolveDataDir(f.dataDir);
      for (const [lang, file] of [['en', PAPER_FILES.evalEn], ['nl', PAPER_FILES.evalNl]] as const) {
        const path = join(dataDir, file);
        if (!existsSync(path)) throw new SmftError(`demo data not found: ${path} (set SMFT_DATA_DIR to the folder with paper/)`);
        const ev = await evaluate(loadPredictions([path]), { bootstrap: f.bootstrap, seed: 1 });
        await writeEvaluation(resolve(f.out, `paper-${lang}`), ev, await provenance({ seed: 1, dataFiles: [], predictions: [path] }));
        process.stdout.write(`\n${lang === 'en' ? 'English (11 Lancaster dimensions)' : 'Dutch (6 sensory dimensions)'} — ${resolve(f.out, `paper-${lang}`)}\n`);
        printSummary(ev.results);
      }
    }));
}
