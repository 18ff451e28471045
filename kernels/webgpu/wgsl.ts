/**
 * WGSL sources of smft's evaluator kernels, generated from a few compile-time constants. Pure
 * functions (no GPU needed), so shader text and the index arithmetic they share with the host
 * code are testable anywhere.
 *
 * Conventions: f32 data, u32 indices; condensed upper-triangle (SciPy pdist) order, pair
 * (i, j), i < j, of n items at  i·(2n − i − 1)/2 + (j − i − 1). The product i·(2n − i − 1) is
 * formed with the even factor halved first, so it stays below 2^32 for n < 92 682 (every
 * condensed index must fit a u32 anyway).
 */

/** Threads per workgroup of the 1-D kernels (scan, rank, reduce). */
export const WG = 256;
/** Elements per thread in the scan kernels; a scan block is WG·ITEMS elements. */
export const ITEMS = 4;
export const SCAN_BLOCK = WG * ITEMS;
/** Workgroup shape of the 2-D pair kernels: x over columns, y over rows. */
export const PAIR_WG_X = 64;
export const PAIR_WG_Y = 4;

/** Largest n whose condensed indices all fit a u32 (n(n−1)/2 < 2^32). */
export const MAX_N_U32 = 92682;

/** Host mirror of the WGSL condIndex(): condensed index of pair (i, j), i < j. */
export function condIndex(i: number, j: number, n: number): number {
  return (i * (2 * n - i - 1)) / 2 + (j - i - 1);
}

/** The same computation done with u32 wrap-around arithmetic, as the shader does it. */
export function condIndexU32(i: number, j: number, n: number): number {
  const a = i >>> 0;
  const b = (2 * n - i - 1) >>> 0;
  const t = (a & 1) === 0 ? Math.imul(a >>> 1, b) >>> 0 : Math.imul(a, b >>> 1) >>> 0;
  return (t + (j - i - 1)) >>> 0;
}

const COND_INDEX = /* wgsl */ `
fn condIndex(i: u32, j: u32, n: u32) -> u32 {
  let a = i;
  let b = 2u * n - i - 1u;
  var t: u32;
  if ((a & 1u) == 0u) { t = (a >> 1u) * b; } else { t = a * (b >> 1u); }
  return t + (j - i - 1u);
}
`;

export type DistanceKind = 'euclidean' | 'half_sq_euclidean';

/**
 * Pairwise distances of the rows [rowStart, rowEnd) against all later rows, written at
 * condensed index − base. `half_sq_euclidean` (½‖a − b‖²) is the cosine distance of unit rows,
 * which the host prepares (centred first for correlation): unlike 1 − a·b it does not cancel
 * for near-identical rows.
 */
export function distanceShader(d: number, kind: DistanceKind): string {
  if (!Number.isInteger(d) || d < 1) throw new Error(`distanceShader: bad dimension ${d}`);
  const finish = kind === 'euclidean' ? 'sqrt(s)' : '0.5 * s';
  return /* wgsl */ `
const D: u32 = ${d}u;
struct Params { n: u32, rowStart: u32, rowEnd: u32, base: u32, fill: f32, p0: u32, p1: u32, p2: u32 };
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> degenerate: array<u32>;
@group(0) @binding(2) var<storage, read_write> outD: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;
${COND_INDEX}
@compute @workgroup_size(${PAIR_WG_X}, ${PAIR_WG_Y})
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = P.rowStart + g.y;
  let j = i + 1u + g.x;
  if (i >= P.rowEnd || j >= P.n) { return; }
  let k = condIndex(i, j, P.n) - P.base;
  if (degenerate[i] != 0u || degenerate[j] != 0u) { outD[k] = P.fill; return; }
  let ai = i * D;
  let aj = j * D;
  var s = 0.0;
  for (var t = 0u; t < D; t = t + 1u) {
    let q = X[ai + t] - X[aj + t];
    s = s + q * q;
  }
  outD[k] = ${finish};
}
`;
}

/**
 * Bootstrap gather: for each resample b (z), the condensed RDM of the resampled words for each
 * of R RDMs. Pairs of two copies of one word take that word's self-distance (0, or the fill for
 * a degenerate vector), or NaN under the 'exclude' convention.
 */
export function gatherShader(): string {
  return /* wgsl */ `
struct Params { n: u32, N: u32, R: u32, m: u32, Mp: u32, exclude: u32, nanBits: u32, p1: u32 };
@group(0) @binding(0) var<storage, read> rdms: array<f32>;
@group(0) @binding(1) var<storage, read> selfD: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> outG: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;
${COND_INDEX}
@compute @workgroup_size(${PAIR_WG_X}, ${PAIR_WG_Y})
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let a = g.y;
  let c = a + 1u + g.x;
  let b = g.z;
  if (c >= P.N) { return; }
  let p = idx[b * P.N + a];
  let q = idx[b * P.N + c];
  let k = condIndex(a, c, P.N);
  for (var r = 0u; r < P.R; r = r + 1u) {
    var v: f32;
    if (p == q) {
      // NaN from a uniform: a constant NaN expression is rejected by WGSL.
      if (P.exclude != 0u) { v = bitcast<f32>(P.nanBits); } else { v = selfD[r * P.n + p]; }
    } else {
      v = rdms[r * P.m + condIndex(min(p, q), max(p, q), P.n)];
    }
    outG[(b * P.R + r) * P.Mp + k] = v;
  }
}
`;
}

/*
 * Bootstrap Spearman without materialising resampled RDMs (the CPU kernel's method, on the GPU).
 * Items e of an RDM: the m original pairs, then n self-pairs (a word with a copy of itself). A
 * resample with counts c gives pair (p, q) the weight c_p·c_q and self-item p the weight
 * C(c_p, 2) ('keep') or 0 ('exclude'). Each RDM's items are sorted once on the host; per
 * resample the GPU (1) sums weights per scan block, (2) scans the block sums, (3) writes the
 * inclusive prefix sums of weights in sorted order, (4) gives every item its tie group's
 * centred average rank (lo + hi − W)/2 and scatters it to item order, (5) reduces
 * Σw·x·y, Σw·x², Σw·y² between the human (RDM 0) and each model per workgroup. The host adds
 * the partial sums in f64: ρ = Σwxy / √(Σwx²·Σwy²).
 */
const SPEARMAN_PARAMS = /* wgsl */ `
struct Params { n: u32, E: u32, m: u32, R: u32, nBlocks: u32, keep: u32, nRed: u32, partBase: u32 };
@group(0) @binding(0) var<uniform> P: Params;
`;

/** In-place inclusive scan of the workgroup array `sh` (Hillis–Steele), thread `li`. */
const WORKGROUP_INCLUSIVE_SCAN = /* wgsl */ `
  for (var off = 1u; off < ${WG}u; off = off << 1u) {
    var t = 0u;
    if (li >= off) { t = sh[li - off]; }
    workgroupBarrier();
    sh[li] = sh[li] + t;
    workgroupBarrier();
  }`;

/** Tree reduction of the workgroup arrays `arrays` into element 0, thread `li`. */
function workgroupSum(arrays: string[]): string {
  return /* wgsl */ `
  workgroupBarrier();
  for (var off = ${WG / 2}u; off > 0u; off = off >> 1u) {
    if (li < off) {
${arrays.map((a) => `      ${a}[li] = ${a}[li] + ${a}[li + off];`).join('\n')}
    }
    workgroupBarrier();
  }`;
}

/** Ids of a thread of the block-scan kernels: block, RDM, resample, and its first item. */
const SCAN_THREAD_IDS = /* wgsl */ `
  let blk = wg.x;
  let r = wg.y;
  let b = wg.z;
  let cbase = b * P.n;
  let sbase = r * P.E;`;

const SPEARMAN_COMMON = /* wgsl */ `${SPEARMAN_PARAMS}
fn weightOf(e: u32, cbase: u32) -> u32 {
  if (e < P.m) {
    let pq = itemPQ[e];
    return counts[cbase + (pq & 0xffffu)] * counts[cbase + (pq >> 16u)];
  }
  let c = counts[cbase + (e - P.m)];
  if (P.keep != 0u && c > 1u) { return (c * (c - 1u)) / 2u; }
  return 0u;
}
`;

export function spearmanBlockSumShader(): string {
  return /* wgsl */ `
@group(0) @binding(1) var<storage, read> itemPQ: array<u32>;
@group(0) @binding(2) var<storage, read> counts: array<u32>;
@group(0) @binding(3) var<storage, read> sortedItem: array<u32>;
@group(0) @binding(4) var<storage, read_write> blockSums: array<u32>;
${SPEARMAN_COMMON}
var<workgroup> sh: array<u32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {${SCAN_THREAD_IDS}
  let start = blk * ${SCAN_BLOCK}u + li * ${ITEMS}u;
  var s = 0u;
  for (var k = 0u; k < ${ITEMS}u; k = k + 1u) {
    let t = start + k;
    if (t < P.E) { s = s + weightOf(sortedItem[sbase + t], cbase); }
  }
  sh[li] = s;${workgroupSum(['sh'])}
  if (li == 0u) { blockSums[(b * P.R + r) * P.nBlocks + blk] = sh[0]; }
}
`;
}

export function spearmanScanBlocksShader(): string {
  return /* wgsl */ `
@group(0) @binding(1) var<storage, read_write> blockSums: array<u32>;
${SPEARMAN_PARAMS}
var<workgroup> sh: array<u32, ${WG}>;
var<workgroup> carry: u32;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let base = (wg.z * P.R + wg.y) * P.nBlocks;
  if (li == 0u) { carry = 0u; }
  workgroupBarrier();
  for (var c0 = 0u; c0 < P.nBlocks; c0 = c0 + ${WG}u) {
    let i = c0 + li;
    var v = 0u;
    if (i < P.nBlocks) { v = blockSums[base + i]; }
    sh[li] = v;
    workgroupBarrier();${WORKGROUP_INCLUSIVE_SCAN}
    let incl = sh[li];
    let cr = carry;
    if (i < P.nBlocks) { blockSums[base + i] = cr + incl - v; }
    workgroupBarrier();
    if (li == ${WG - 1}u) { carry = cr + incl; }
    workgroupBarrier();
  }
}
`;
}

export function spearmanLocalScanShader(): string {
  return /* wgsl */ `
@group(0) @binding(1) var<storage, read> itemPQ: array<u32>;
@group(0) @binding(2) var<storage, read> counts: array<u32>;
@group(0) @binding(3) var<storage, read> sortedItem: array<u32>;
@group(0) @binding(4) var<storage, read> blockOffsets: array<u32>;
@group(0) @binding(5) var<storage, read_write> prefix: array<u32>;
${SPEARMAN_COMMON}
var<workgroup> sh: array<u32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {${SCAN_THREAD_IDS}
  let obase = (b * P.R + r) * P.E;
  let start = blk * ${SCAN_BLOCK}u + li * ${ITEMS}u;
  var w: array<u32, ${ITEMS}>;
  var s = 0u;
  for (var k = 0u; k < ${ITEMS}u; k = k + 1u) {
    let t = start + k;
    var x = 0u;
    if (t < P.E) { x = weightOf(sortedItem[sbase + t], cbase); }
    w[k] = x;
    s = s + x;
  }
  sh[li] = s;
  workgroupBarrier();${WORKGROUP_INCLUSIVE_SCAN}
  var run = blockOffsets[(b * P.R + r) * P.nBlocks + blk] + sh[li] - s;
  for (var k = 0u; k < ${ITEMS}u; k = k + 1u) {
    let t = start + k;
    run = run + w[k];
    if (t < P.E) { prefix[obase + t] = run; }
  }
}
`;
}

export function spearmanRankShader(): string {
  return /* wgsl */ `
@group(0) @binding(1) var<storage, read> sortedItem: array<u32>;
@group(0) @binding(2) var<storage, read> groupStart: array<u32>;
@group(0) @binding(3) var<storage, read> groupEnd: array<u32>;
@group(0) @binding(4) var<storage, read> prefix: array<u32>;
@group(0) @binding(5) var<storage, read_write> rankOut: array<f32>;
${SPEARMAN_PARAMS}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let r = g.y;
  let b = g.z;
  let sbase = r * P.E;
  let obase = (b * P.R + r) * P.E;
  let W = prefix[obase + P.E - 1u];
  let stride = nw.x * ${WG}u;
  for (var t = g.x; t < P.E; t = t + stride) {
    let gs = groupStart[sbase + t];
    let ge = groupEnd[sbase + t];
    var lo = 0u;
    if (gs > 0u) { lo = prefix[obase + gs - 1u]; }
    let hi = prefix[obase + ge];
    // Centred average rank of the tie group: (lo + 1 + hi)/2 − (W + 1)/2, exact in i32.
    let x = i32(lo) - i32(W - hi);
    rankOut[obase + sortedItem[sbase + t]] = f32(x) * 0.5;
  }
}
`;
}

export function spearmanReduceShader(): string {
  return /* wgsl */ `
@group(0) @binding(1) var<storage, read> itemPQ: array<u32>;
@group(0) @binding(2) var<storage, read> counts: array<u32>;
@group(0) @binding(3) var<storage, read> ranks: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;
${SPEARMAN_COMMON}
var<workgroup> sxy: array<f32, ${WG}>;
var<workgroup> sxx: array<f32, ${WG}>;
var<workgroup> syy: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let r = wg.y + 1u;
  let b = wg.z;
  let cbase = b * P.n;
  let hbase = (b * P.R) * P.E;
  let mbase = (b * P.R + r) * P.E;
  var axy = 0.0;
  var axx = 0.0;
  var ayy = 0.0;
  let stride = P.nRed * ${WG}u;
  for (var e = wg.x * ${WG}u + li; e < P.E; e = e + stride) {
    let w = weightOf(e, cbase);
    if (w != 0u) {
      let fw = f32(w);
      let x = ranks[hbase + e];
      let y = ranks[mbase + e];
      axy = axy + fw * x * y;
      axx = axx + fw * x * x;
      ayy = ayy + fw * y * y;
    }
  }
  sxy[li] = axy;
  sxx[li] = axx;
  syy[li] = ayy;${workgroupSum(['sxy', 'sxx', 'syy'])}
  if (li == 0u) {
    let o = (((P.partBase + b) * (P.R - 1u) + wg.y) * P.nRed + wg.x) * 3u;
    partials[o] = sxy[0];
    partials[o + 1u] = sxx[0];
    partials[o + 2u] = syy[0];
  }
}
`;
}

/** Row ranges [start, end) whose condensed pairs number at most maxPairs each (≥ 1 row each). */
export function planRowChunks(n: number, maxPairs: number): Array<[number, number]> {
  const chunks: Array<[number, number]> = [];
  let i = 0;
  while (i < n - 1) {
    let j = i;
    let pairs = 0;
    while (j < n - 1 && (j === i || pairs + (n - 1 - j) <= maxPairs)) {
      pairs += n - 1 - j;
      j++;
    }
    chunks.push([i, j]);
    i = j;
  }
  return chunks;
}
