import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

process.env.SMFT_LOG_LEVEL ??= 'silent';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'report');

export const EN_FIGURES = [
  'rsa_bars', 'rdm_all', 'bootstrap_density_motor', 'bootstrap_density_sensory', 'bootstrap_density_all',
  'dimension_rho', 'human_ratings', 'wordwise_distance', 'wordwise_intermodel', 'wordwise_scatter_all', 'radar_shouter',
];
export const NL_FIGURES = [
  'rsa_bars', 'rdm_sensory', 'bootstrap_density_sensory', 'dimension_rho', 'human_ratings',
  'wordwise_distance', 'wordwise_intermodel', 'wordwise_scatter_sensory',
];

/** A fresh copy of a committed fixture folder ('en' or 'nl') in a temp dir; remove with cleanup(). */
export function fixtureCopy(lang: 'en' | 'nl'): { dir: string; root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'smft-report-'));
  const dir = join(root, `eval-${lang}`);
  cpSync(join(FIXTURES, lang), dir, { recursive: true });
  return { dir, root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** The figures that need data beside the evaluation (hidden states, training runs, trajectories). */
export const CURVE_FIGURES = ['layer_rsa', 'training_curves', 'alignment_trajectory'];

/**
 * Hand-made inputs of the curve figures, in `root`: results.json of `dir` gains a layer-wise RSA
 * curve (`layers`, as evaluate --representations writes it) and, when `synthetic` is given,
 * `model_info` marking those models synthetic; two LoRA runs (metrics.jsonl, summary.json as
 * smft train writes them) and an alignment trajectory (trajectory.csv as smft trajectory writes
 * it). Returns buildReport's `training` and `trajectories` options.
 */
export function addRunData(dir: string, root: string, synthetic: string[] = []): { training: Record<string, string>; trajectories: Record<string, string> } {
  const file = join(dir, 'results.json');
  const r = JSON.parse(readFileSync(file, 'utf8'));
  r.layers = {};
  for (const [k, s] of ['motor', 'sensory', 'all'].entries()) {
    r.layers[s] = [];
    for (const pooling of ['last', 'mean']) {
      for (let layer = 0; layer <= 6; layer++) {
        // Rises to a peak in the middle layers, as hidden-state alignment curves do.
        const rho = pooling === 'last' && layer === 0 ? null : 0.1 + 0.05 * k + 0.3 * Math.sin((Math.PI * layer) / 7) * (pooling === 'mean' ? 1 : 0.8);
        r.layers[s].push({ layer, pooling, rho });
      }
    }
  }
  if (synthetic.length) r.model_info = Object.fromEntries(synthetic.map((m) => [m, { synthetic: 'random-weight test model' }]));
  writeFileSync(file, JSON.stringify(r, null, 2));

  const run = (name: string, val: (step: number) => Record<string, number>) => {
    const d = join(root, 'runs', name);
    mkdirSync(d, { recursive: true });
    const lines = [];
    for (let step = 1; step <= 20; step++) {
      const lr = step <= 2 ? 0.0002 * (step - 1) / 2 : 0.0001 * (1 + Math.cos((Math.PI * (step - 2)) / 18));
      lines.push(JSON.stringify({ step, epoch: step <= 10 ? 0 : 1, loss: 2.5 * Math.exp(-step / 8) + 0.4, lr, gradNorm: 3, examples: 8, tokens: 700, tokensPerSec: 900, elapsedSec: step, ...(step % 5 === 0 ? val(step) : {}) }));
    }
    writeFileSync(join(d, 'metrics.jsonl'), lines.join('\n') + '\n');
    const v0 = val(0);
    writeFileSync(join(d, 'summary.json'), JSON.stringify({ steps: 20, initialVal: Object.fromEntries(Object.entries(v0).map(([k, v]) => [k[3].toLowerCase() + k.slice(4), v])) }));
    return d;
  };
  const enFt = run('en_ft', (s) => ({ valLoss: 2.6 * Math.exp(-s / 9) + 0.5, valR: 0.2 + 0.5 * (1 - Math.exp(-s / 6)) }));
  const qaFt = run('qa_ft', (s) => ({ valLoss: 1.6 * Math.exp(-s / 12) + 0.7, valAccuracy: 0.55 + 0.2 * (1 - Math.exp(-s / 7)) }));
  const traj = join(root, 'trajectory', 'en_ft');
  mkdirSync(traj, { recursive: true });
  const rows = [0, 5, 10, 15, 20].map((s) => {
    const f = 1 - Math.exp(-s / 6);
    return [s, 0.11 + 0.45 * f, 0.17 + 0.5 * f, 0.19 + 0.5 * f, 0.32 + 0.42 * f].map((x) => String(x)).join(',');
  });
  writeFileSync(join(traj, 'trajectory.csv'), ['step,rsa_motor,rsa_sensory,rsa_all,mean_dimension_rho', ...rows].join('\n') + '\n');
  return { training: { en_ft: enFt, qa_ft: qaFt }, trajectories: { en_ft: traj } };
}

/** Legend entries of a rendered SVG: label → colour of its symbol. */
export function legendColors(svg: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /role-legend-symbol"[^>]*><path [^>]*?(?:fill|stroke)="(#[0-9a-fA-F]{6})"[^>]*\/><\/g><g class="mark-text role-legend-label"[^>]*><text[^>]*>([^<]*)<\/text>/g;
  for (const m of svg.matchAll(re)) out.set(m[2], m[1].toLowerCase());
  return out;
}
