import { type SortedVector, sortVector } from './ranks.js';
import { pairCount, rowOffset } from './rdm.js';

/**
 * An RDM prepared once for bootstrap resampling (kernels/cpu/bootstrap.ts): its pairs in
 * sorted order of distance, and the places where a walk along that order must leave its fast
 * path — tie groups and the insertion points of the words' self-distances (copies of a word
 * drawn twice are at distance 0, or at the fill value for a degenerate vector).
 * All arrays can live in SharedArrayBuffers, so worker threads read them without copies.
 */
export interface PreparedRdm {
  n: number;
  /** Word pairs in sorted order of distance, packed i | j << 16 (i < j < n ≤ 65 536). */
  pairs: Uint32Array;
  /** Sorted position of each pair, indexed like the condensed RDM (the human RDM needs it). */
  position?: Uint32Array;
  /** Walk events in sorted order: [start, end) positions and the self-distance index, or −1. */
  events: WalkEvents;
  /** Per word: index into selfValues of its distance to its own copy. */
  selfIndex: Uint32Array;
  /** The distinct self-distances, ascending. */
  selfValues: Float64Array;
}

export interface WalkEvents { start: Uint32Array; end: Uint32Array; self: Int32Array }

/** Largest n whose word indices pack into 16 bits. */
export const MAX_WORDS = 65536;

type Alloc = <T extends Uint32Array | Int32Array>(Ctor: new (b: ArrayBufferLike) => T, len: number) => T;

function allocator(shared: boolean): Alloc {
  return (Ctor, len) => new Ctor(shared ? new SharedArrayBuffer(4 * len) : new ArrayBuffer(4 * len));
}

/**
 * Prepare an RDM for resampling. `presorted` reuses a sort already done; `shared` puts the
 * arrays in SharedArrayBuffers; `withPosition` keeps the inverse order (the human RDM's).
 */
export function prepareRdm(
  rdm: Float64Array, n: number, selfDistance: Float64Array, presorted?: SortedVector, shared = false, withPosition = true,
): PreparedRdm {
  const P = pairCount(n);
  if (rdm.length !== P) throw new Error('prepareRdm: RDM length does not match n');
  if (n > MAX_WORDS) throw new Error(`prepareRdm: ${n} words; the bootstrap kernel handles at most ${MAX_WORDS}`);
  if (selfDistance.length !== n) throw new Error('prepareRdm: one self-distance per word expected');
  const { order, sorted, groupStart } = presorted ?? sortVector(rdm);
  const alloc = allocator(shared);
  const condensed = new Uint32Array(P);
  let o = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) condensed[o++] = i | (j << 16);
  const pairs = alloc(Uint32Array, P);
  for (let k = 0; k < P; k++) pairs[k] = condensed[order[k]];
  const position = withPosition ? alloc(Uint32Array, P) : undefined;
  if (position) for (let k = 0; k < P; k++) position[order[k]] = k;
  const selfValues = Float64Array.from(new Set(selfDistance)).sort();
  const selfIndex = Uint32Array.from(selfDistance, (v) => selfValues.indexOf(v));
  return { n, pairs, position, events: walkEvents(sorted, groupStart, selfValues, alloc), selfIndex, selfValues };
}

/**
 * Tie groups of two or more equal distances, merged with the insertion point of each
 * self-distance value (the first sorted position ≥ the value, with the run of distances equal
 * to it: the copies share that run's rank).
 */
function walkEvents(sorted: Float64Array, groupStart: Uint32Array, selfValues: Float64Array, alloc: Alloc): WalkEvents {
  const P = sorted.length;
  const events: Array<{ start: number; end: number; self: number }> = [];
  for (let g = 0; g + 1 < groupStart.length; g++) {
    if (groupStart[g + 1] - groupStart[g] > 1) events.push({ start: groupStart[g], end: groupStart[g + 1], self: -1 });
  }
  const byStart = new Map(events.map((e) => [e.start, e]));
  selfValues.forEach((v, s) => {
    let lo = 0, hi = P;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (sorted[mid] < v) lo = mid + 1; else hi = mid; }
    let end = lo;
    while (end < P && sorted[end] === v) end++;
    const existing = end > lo ? byStart.get(lo) : undefined;
    if (existing) existing.self = s;
    else events.push({ start: lo, end, self: s });
  });
  events.sort((a, b) => a.start - b.start || a.end - b.end);
  const start = alloc(Uint32Array, events.length), end = alloc(Uint32Array, events.length), self = alloc(Int32Array, events.length);
  events.forEach((e, t) => { start[t] = e.start; end[t] = e.end; self[t] = e.self; });
  return { start, end, self };
}

/**
 * A model RDM's pairs regrouped by the human sorted position they map to, in buckets of
 * 2^bits human positions: a bucket's human ranks fit in cache while its pairs are read.
 * slot[k] = place of the model's sorted position k in that layout; humanPos[t] = the human
 * position of place t; bucketStart[b] = first place of bucket b (bucketStart[B] = P).
 */
export interface BucketLayout { bits: number; slot: Uint32Array; humanPos: Uint32Array; bucketStart: Uint32Array }

/** 2^13 human positions × 16 bytes (four resamples of i32) = 128 KiB per bucket. */
export const BUCKET_BITS = 13;

export function bucketLayout(human: PreparedRdm, model: PreparedRdm, shared = false): BucketLayout {
  const n = human.n, P = pairCount(n), bits = BUCKET_BITS;
  const alloc = allocator(shared);
  const pos = positionOf(human), pairs = model.pairs;
  const hp = new Uint32Array(P);
  for (let k = 0; k < P; k++) {
    const v = pairs[k], i = v & 0xffff, j = v >>> 16;
    hp[k] = pos[rowOffset(i, n) + j - i - 1];
  }
  const buckets = Math.max(1, Math.ceil(P / 2 ** bits));
  const bucketStart = alloc(Uint32Array, buckets + 1);
  for (let k = 0; k < P; k++) bucketStart[(hp[k] >>> bits) + 1]++;
  for (let b = 0; b < buckets; b++) bucketStart[b + 1] += bucketStart[b];
  const slot = alloc(Uint32Array, P), humanPos = alloc(Uint32Array, P);
  const fill = bucketStart.slice(0, buckets);
  for (let k = 0; k < P; k++) {
    const t = fill[hp[k] >>> bits]++;
    slot[k] = t;
    humanPos[t] = hp[k];
  }
  return { bits, slot, humanPos, bucketStart };
}

/** The human RDM's sorted position of each pair (prepared with withPosition). */
export function positionOf(human: PreparedRdm): Uint32Array {
  if (!human.position) throw new Error('the human RDM was prepared without sorted positions');
  return human.position;
}
