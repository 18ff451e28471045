import { spearman } from '../../kernels/cpu/correlate.js';
import { correlationP } from './correlation.js';
import { completeRows, submatrix } from './complete.js';
import { modelPairs } from './pairs.js';
import { steiger1980 } from './steiger.js';
import { HUMAN, modelsOf, type RatingTable } from './table.js';
import type { DimEntry, SteigerEntry } from './results.js';

/**
 * Per dimension: Spearman ρ of each model with the human means on the rows complete for that
 * dimension across all sources, and Steiger's test for every model pair (the third correlation
 * is the model–model Spearman).
 */
export function dimensionwise(t: RatingTable): {
  dimensions: Record<string, Record<string, DimEntry>>;
  steiger: Record<string, Record<string, SteigerEntry>>;
} {
  const models = modelsOf(t);
  const dimensions: Record<string, Record<string, DimEntry>> = {};
  const steiger: Record<string, Record<string, SteigerEntry>> = {};
  for (const dim of t.dimensions) {
    const rows = completeRows(t, [dim]);
    const n = rows.length;
    const col = (s: string): Float64Array => submatrix(t, s, rows, [dim]);
    const human = col(HUMAN);
    const cols = new Map(models.map((m) => [m, col(m)]));
    const rhoH = new Map<string, number>();
    dimensions[dim] = {};
    for (const m of models) {
      const rho = spearman(human, cols.get(m)!);
      rhoH.set(m, rho);
      dimensions[dim][m] = { rho, p: correlationP(rho, n), n };
    }
    steiger[dim] = {};
    for (const { a, b, key } of modelPairs(models)) {
      const rab = spearman(cols.get(a)!, cols.get(b)!);
      steiger[dim][key] = steiger1980(rhoH.get(a)!, rhoH.get(b)!, rab, n);
    }
  }
  return { dimensions, steiger };
}
