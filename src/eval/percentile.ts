/** q-th percentile (0–100) with linear interpolation between order statistics (NumPy's default). */
export function percentile(values: ArrayLike<number>, q: number): number {
  const x = Float64Array.from(values).sort();
  const n = x.length;
  if (n === 0) return NaN;
  const h = ((n - 1) * q) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  const t = h - lo;
  return t >= 0.5 ? x[hi] - (x[hi] - x[lo]) * (1 - t) : x[lo] + (x[hi] - x[lo]) * t;
}

export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}
