import { cpSync, mkdtempSync, rmSync } from 'node:fs';
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
export function fixtureCopy(lang: 'en' | 'nl'): { dir: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'smft-report-'));
  const dir = join(root, `eval-${lang}`);
  cpSync(join(FIXTURES, lang), dir, { recursive: true });
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
