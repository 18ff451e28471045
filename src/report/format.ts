/**
 * Numbers as the report prints them. p-values follow one convention everywhere:
 * - analytic p (RSA, dimension-wise ρ, Steiger, t-tests): three decimals without the leading
 *   zero, and "< .001" below that (results.json holds 0 where the p underflows a double; it is
 *   never printed as 0);
 * - bootstrap p (a share of N resamples): three decimals, and "< 1/N" when no resample was as
 *   extreme (its resolution is 1/N); otherwise as an analytic p.
 */

export const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Fixed decimals, or '–' for a missing value. */
export function fixed(x: number | undefined, d = 3): string {
  return finite(x) ? x.toFixed(d) : '–';
}

/** Analytic p-value: '.042', '< .001'; '–' when missing. */
export function formatP(p: number | undefined): string {
  if (!finite(p)) return '–';
  if (p < 0.001) return '< .001';
  return p.toFixed(3).replace(/^0\./, '.');
}

/** Bootstrap p-value over `iterations` resamples: '< 1/200' when 0, else as formatP. */
export function formatBootstrapP(p: number | undefined, iterations: number | undefined): string {
  if (!finite(p)) return '–';
  if (p === 0) return `< 1/${finite(iterations) && iterations > 0 ? iterations : 'N'}`;
  return formatP(p);
}

/** '[0.123, 0.456]', or '–'. */
export function formatCi(c: readonly [number, number] | undefined, d = 3): string {
  return c && finite(c[0]) && finite(c[1]) ? `[${c[0].toFixed(d)}, ${c[1].toFixed(d)}]` : '–';
}

/** Does the interval exclude 0 (the paper's significance rule for bootstrap differences)? */
export function ciExcludesZero(c: readonly [number, number] | undefined): boolean {
  return !!c && finite(c[0]) && finite(c[1]) && (c[0] > 0 || c[1] < 0);
}

/** An integer with thousands separators, or '–'. */
export function formatInt(x: number | undefined): string {
  return finite(x) ? Math.round(x).toLocaleString('en-US') : '–';
}
