import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildReport } from '../../report/index.js';
import { prepareOutput } from '../../util/output.js';
import { action, FORCE_HELP } from '../run.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('figures (SVG + PNG) and report.html from an evaluation folder')
    .argument('<results-dir>', 'folder written by smft evaluate')
    .option('--word <word>', 'word of the radar chart', 'SHOUTER')
    .option('-o, --out <dir>', 'report folder (default: RESULTS_DIR/report)')
    .option('--force', FORCE_HELP('report folder'))
    .action(action(async (dir: string, f: { word: string; out?: string; force?: boolean }) => {
      const out = prepareOutput({ path: f.out ?? join(resolve(dir), 'report'), kind: 'report', force: f.force, inputs: [dir] }).path;
      const r = await buildReport(resolve(dir), { word: f.word, outDir: out });
      process.stdout.write(`${r.html}\n`);
    }));
}
