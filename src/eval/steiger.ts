import { normalTwoSided } from './distributions.js';

/**
 * Steiger (1980) test of two dependent correlations sharing one variable (R cocor's
 * `cocor.dep.groups.overlap`, result `steiger1980`): r_jk = ρ(human, A), r_jh = ρ(human, B),
 * r_kh = ρ(A, B), n observations.
 */
export function steiger1980(rjk: number, rjh: number, rkh: number, n: number): { z: number; p: number } {
  const zjk = Math.atanh(rjk);
  const zjh = Math.atanh(rjh);
  const rbar = (rjk + rjh) / 2;
  const r2 = rbar * rbar;
  const psi = rkh * (1 - 2 * r2) - 0.5 * r2 * (1 - 2 * r2 - rkh * rkh);
  const c = psi / ((1 - r2) * (1 - r2));
  const z = ((zjk - zjh) * Math.sqrt(n - 3)) / Math.sqrt(2 - 2 * c);
  return { z, p: normalTwoSided(z) };
}
