import { spearman } from '../../kernels/cpu/correlate.js';
import { tTwoSided } from './distributions.js';

export interface Correlation { rho: number; p: number; n: number }

/**
 * p-value of a correlation coefficient r over n observations, as SciPy's spearmanr/pearsonr:
 * t = r·√((n−2)/(1−r²)) on n−2 degrees of freedom, two-sided.
 */
export function correlationP(r: number, n: number): number {
  if (Number.isNaN(r) || n < 3) return NaN;
  if (Math.abs(r) >= 1) return 0;
  const df = n - 2;
  const t = r * Math.sqrt(df / ((1 - r) * (1 + r)));
  return tTwoSided(t, df);
}

/** Spearman ρ (average ranks for ties) with its two-sided p. */
export function spearmanTest(x: Float64Array, y: Float64Array): Correlation {
  const rho = spearman(x, y);
  return { rho, p: correlationP(rho, x.length), n: x.length };
}
