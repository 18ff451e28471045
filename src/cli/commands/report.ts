import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildReport, DEFAULT_WORD } from '../../report/index.js';
import { parseRunSpec } from '../../report/runs.js';
import { SmftError } from '../../util/errors.js';
import { prepareOutput } from '../../util/output.js';
import { action, FORCE_HELP } from '../run.js';

const collect = (v: string, prev: string[]) => [...prev, v];

/** Repeated '[ID=]PATH' options → { id: path }; an id given twice is an error. */
function byModel(specs: string[], kind: 'training' | 'trajectory'): Record<string, string> | undefined {
  if (!specs.length) return undefined;
  const out: Record<string, string> = {};
  for (const s of specs) {
    const { model, path } = parseRunSpec(s, kind);
    if (out[model]) throw new SmftError(`--${kind}: model id '${model}' given twice (write ID=PATH)`);
    out[model] = path;
  }
  return out;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('figures (SVG + PNG) and report.html from an evaluation folder')
    .argument('<results-dir>', 'folder written by smft evaluate')
    .option('--word <word>', `word of the radar chart (default: ${DEFAULT_WORD}, when it was rated)`)
    .option('--training <[id=]dir>', 'LoRA run folder (smft train --recipe): training curves; id defaults to the folder name; repeatable', collect, [])
    .option('--trajectory <[id=]file>', 'trajectory.csv of smft trajectory (or its folder): alignment per checkpoint; repeatable', collect, [])
    .option('-o, --out <dir>', 'report folder (default: RESULTS_DIR/report)')
    .option('--force', FORCE_HELP('report folder'))
    .action(action(async (dir: string, f: { word?: string; out?: string; force?: boolean; training: string[]; trajectory: string[] }) => {
      const training = byModel(f.training, 'training'), trajectories = byModel(f.trajectory, 'trajectory');
      const out = prepareOutput({ path: f.out ?? join(resolve(dir), 'report'), kind: 'report', force: f.force, inputs: [dir, ...Object.values(training ?? {}), ...Object.values(trajectories ?? {})] }).path;
      const r = await buildReport(resolve(dir), { word: f.word, outDir: out, training, trajectories });
      process.stdout.write(`${r.html}\n`);
    }));
}
