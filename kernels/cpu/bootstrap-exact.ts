import { pairCount, rowOffset } from './rdm.js';
import { positionOf, type PreparedRdm } from './prepared.js';

export type DuplicateConvention = 'keep' | 'exclude';

/**
 * One resample's RSA in plain float64, one resample at a time: the readable form of what the
 * SIMD kernel (kernels/cpu/bootstrap.ts) computes four at a time in integers. Used where those
 * integers could overflow (a word drawn very many times) and as its cross-check in tests.
 *
 * The resample is given by counts c: pair (i, j) of distinct words has weight c[i]·c[j]; each
 * self-distance value s collects the C(c[i], 2) copy pairs of the words whose self-distance is
 * s ('keep'; none under 'exclude'). Ranks are the weighted average ranks along the sorted order.
 */
export function exactRho(human: PreparedRdm, models: PreparedRdm[], c: ArrayLike<number>, convention: DuplicateConvention): Float64Array {
  const n = human.n;
  let total = 0, copies = 0;
  for (let i = 0; i < n; i++) { total += c[i]; copies += (c[i] * (c[i] - 1)) / 2; }
  const m = ((total * (total - 1)) / 2 - (convention === 'exclude' ? copies : 0) + 1) / 2;
  const h = weightedRanks(human, c, convention);
  const position = positionOf(human);
  const diagonal = (self: PreparedRdm, rank: Float64Array, i: number) => rank[self.selfIndex[i]] - m;
  let xx = 0;
  for (let k = 0; k < h.rank.length; k++) xx += weightOf(human.pairs[k], c) * (h.rank[k] - m) ** 2;
  if (convention === 'keep') for (let i = 0; i < n; i++) xx += ((c[i] * (c[i] - 1)) / 2) * diagonal(human, h.self, i) ** 2;
  return Float64Array.from(models, (model) => {
    const r = weightedRanks(model, c, convention);
    let xy = 0, yy = 0;
    for (let k = 0; k < r.rank.length; k++) {
      const v = model.pairs[k], i = v & 0xffff, j = v >>> 16;
      const w = c[i] * c[j];
      if (w === 0) continue;
      const y = r.rank[k] - m;
      xy += w * (h.rank[position[rowOffset(i, n) + j - i - 1]] - m) * y;
      yy += w * y * y;
    }
    if (convention === 'keep') {
      for (let i = 0; i < n; i++) {
        const w = (c[i] * (c[i] - 1)) / 2, y = diagonal(model, r.self, i);
        xy += w * diagonal(human, h.self, i) * y;
        yy += w * y * y;
      }
    }
    return xx === 0 || yy === 0 ? NaN : Math.max(-1, Math.min(1, xy / Math.sqrt(xx * yy)));
  });
}

function weightOf(packed: number, c: ArrayLike<number>): number {
  return c[packed & 0xffff] * c[packed >>> 16];
}

/** Weighted average ranks of each sorted position and of each self-distance value's copies. */
function weightedRanks(p: PreparedRdm, c: ArrayLike<number>, convention: DuplicateConvention): { rank: Float64Array; self: Float64Array } {
  const P = pairCount(p.n);
  const selfWeight = new Float64Array(p.selfValues.length);
  if (convention === 'keep') for (let i = 0; i < p.n; i++) selfWeight[p.selfIndex[i]] += (c[i] * (c[i] - 1)) / 2;
  const rank = new Float64Array(P), self = new Float64Array(p.selfValues.length);
  const { start, end, self: sv } = p.events;
  let cum = 0, k = 0;
  for (let e = 0; e <= start.length; e++) {
    for (const stop = e < start.length ? start[e] : P; k < stop; k++) {
      const w = weightOf(p.pairs[k], c);
      rank[k] = cum + (w + 1) / 2;
      cum += w;
    }
    if (e === start.length) break;
    let W = sv[e] >= 0 ? selfWeight[sv[e]] : 0;
    for (let q = k; q < end[e]; q++) W += weightOf(p.pairs[q], c);
    const r = cum + (W + 1) / 2;
    rank.fill(r, k, end[e]);
    if (sv[e] >= 0) self[sv[e]] = r;
    cum += W;
    k = end[e];
  }
  return { rank, self };
}
