import { resolve } from 'node:path';
import type { Command } from 'commander';
import { buildReport } from '../../report/index.js';
import { action } from '../run.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('figures (SVG + PNG) and report.html from an evaluation folder')
    .argument('<results-dir>', 'folder written by smft evaluate')
    .option('--word <word>', 'word of the radar chart', 'SHOUTER')
    .option('-o, --out <dir>', 'report folder (default: RESULTS_DIR/report)')
    .action(action(async (dir: string, f: { word: string; out?: string }) => {
      const r = await buildReport(resolve(dir), { word: f.word, outDir: f.out ? resolve(f.out) : undefined });
      process.stdout.write(`${r.html}\n`);
    }));
}
