/**
 * Bootstrap walks of RSA, in WebAssembly SIMD (AssemblyScript; built to kernels/wasm/bootstrap.wasm
 * by `npm run build:wasm`). See kernels/cpu/bootstrap.ts for the method and the memory layout.
 *
 * Four resamples run side by side in the four i32 lanes of a v128. All ranks are kept doubled
 * (2·rank = 2·cumulative weight + weight + 1) so they are exact integers; the caller guarantees
 * that every doubled rank and every weight × doubled centred rank fits in an i32. Sums of
 * squares and products are accumulated in f64, two lanes per f64x2 register.
 *
 * Pointers are byte offsets in the imported memory; counts are i32x4 per word, pairs are
 * packed u32 (i | j << 16) in sorted order, events (tie groups and self-distance insertion
 * points) are [start, end) sorted positions with the self-distance index or −1.
 */

@inline function weightAt(C: usize, ij: usize, k: u32): v128 {
  const v = load<u32>(ij + (<usize>k << 2));
  return i32x4.mul(v128.load(C + (<usize>(v & 0xffff) << 4)), v128.load(C + (<usize>(v >>> 16) << 4)));
}

@inline function lo(v: v128): v128 { return f64x2.convert_low_i32x4_s(v); }
@inline function hi(v: v128): v128 { return f64x2.convert_low_i32x4_s(i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)); }

/** Four f64 lane sums: lanes 0–1 and lanes 2–3. */
@inline function storeSums(out: usize, s0: v128, s1: v128): void {
  v128.store(out, s0);
  v128.store(out, s1, 16);
}

/** Doubled rank of an item of weight w after cumulative weight cum: 2·cum + w + 1. */
@inline function rank2(cum: v128, w: v128): v128 {
  return i32x4.add(i32x4.add(i32x4.add(cum, cum), w), i32x4.splat(1));
}

/** acc + x·y in f64 (x, y: f64x2). */
@inline function fma(acc: v128, x: v128, y: v128): v128 { return f64x2.add(acc, f64x2.mul(x, y)); }

/** Pair weights of the sorted positions [k, end) (a tie group). */
@inline function groupWeight(C: usize, ij: usize, k: u32, end: u32): v128 {
  let o = i32x4.splat(0);
  for (let q = k; q < end; q++) o = i32x4.add(o, weightAt(C, ij, q));
  return o;
}

/** A group's weight with the copy pairs of its self-distance value sv (−1: none). */
@inline function withSelf(o: v128, sv: i32, selfW: usize): v128 {
  return sv >= 0 ? i32x4.add(o, v128.load(selfW + (<usize>sv << 4))) : o;
}

/**
 * Human walk: doubled ranks of every sorted position into H (i32x4 each), doubled ranks of
 * the self-distance groups into selfR, and Σ w·(2r − 2m)² per lane into out (4 × f64).
 */
export function humanWalk(
  C: usize, ij: usize, P: u32, evStart: usize, evEnd: usize, evSelf: usize, E: u32,
  selfW: usize, selfR: usize, H: usize, M2p: usize, out: usize,
): void {
  const M2 = v128.load(M2p);
  let cum = i32x4.splat(0);
  // Two accumulators per lane pair (even and odd positions), so the adds overlap.
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0), b0 = f64x2.splat(0), b1 = f64x2.splat(0);
  let k: u32 = 0;
  for (let e: u32 = 0; e <= E; e++) {
    const stop = e < E ? load<u32>(evStart + (<usize>e << 2)) : P;
    for (; k < stop; k++) {
      const w = weightAt(C, ij, k);
      const r = rank2(cum, w);
      v128.store(H + (<usize>k << 4), r);
      cum = i32x4.add(cum, w);
      const d = i32x4.sub(r, M2);
      const dl = lo(d), dh = hi(d);
      if (k & 1) { b0 = fma(b0, lo(w), f64x2.mul(dl, dl)); b1 = fma(b1, hi(w), f64x2.mul(dh, dh)); }
      else { a0 = fma(a0, lo(w), f64x2.mul(dl, dl)); a1 = fma(a1, hi(w), f64x2.mul(dh, dh)); }
    }
    if (e == E) break;
    // A tie group (and/or the copy pairs of a self-distance value): one shared rank.
    const end = load<u32>(evEnd + (<usize>e << 2));
    const sv = load<i32>(evSelf + (<usize>e << 2));
    const o = groupWeight(C, ij, k, end);
    const W = withSelf(o, sv, selfW);
    const r = rank2(cum, W);
    if (sv >= 0) v128.store(selfR + (<usize>sv << 4), r);
    for (let q = k; q < end; q++) v128.store(H + (<usize>q << 4), r);
    const d = i32x4.sub(r, M2);
    const dl = lo(d), dh = hi(d);
    a0 = fma(a0, lo(o), f64x2.mul(dl, dl));
    a1 = fma(a1, hi(o), f64x2.mul(dh, dh));
    cum = i32x4.add(cum, W);
    k = end;
  }
  storeSums(out, f64x2.add(a0, b0), f64x2.add(a1, b1));
}

/**
 * Model walk: for each sorted position k, w·(2r − 2m) (i32x4) stored at D[slot[k]] — the pair's
 * place in the human-bucketed layout — plus self-group ranks and Σ w·(2r − 2m)² per lane.
 */
export function modelWalk(
  C: usize, ij: usize, slot: usize, P: u32, evStart: usize, evEnd: usize, evSelf: usize, E: u32,
  selfW: usize, selfR: usize, D: usize, M2p: usize, out: usize,
): void {
  const M2 = v128.load(M2p);
  let cum = i32x4.splat(0);
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0), b0 = f64x2.splat(0), b1 = f64x2.splat(0);
  let k: u32 = 0;
  for (let e: u32 = 0; e <= E; e++) {
    const stop = e < E ? load<u32>(evStart + (<usize>e << 2)) : P;
    for (; k < stop; k++) {
      const w = weightAt(C, ij, k);
      const d = i32x4.sub(rank2(cum, w), M2);
      cum = i32x4.add(cum, w);
      const wd = i32x4.mul(w, d);
      v128.store(D + (<usize>load<u32>(slot + (<usize>k << 2)) << 4), wd);
      if (k & 1) { b0 = fma(b0, lo(wd), lo(d)); b1 = fma(b1, hi(wd), hi(d)); }
      else { a0 = fma(a0, lo(wd), lo(d)); a1 = fma(a1, hi(wd), hi(d)); }
    }
    if (e == E) break;
    const end = load<u32>(evEnd + (<usize>e << 2));
    const sv = load<i32>(evSelf + (<usize>e << 2));
    const o = groupWeight(C, ij, k, end);
    const W = withSelf(o, sv, selfW);
    const r = rank2(cum, W);
    if (sv >= 0) v128.store(selfR + (<usize>sv << 4), r);
    const d = i32x4.sub(r, M2);
    for (let q = k; q < end; q++) {
      v128.store(D + (<usize>load<u32>(slot + (<usize>q << 2)) << 4), i32x4.mul(weightAt(C, ij, q), d));
    }
    const dl = lo(d), dh = hi(d);
    a0 = fma(a0, lo(o), f64x2.mul(dl, dl));
    a1 = fma(a1, hi(o), f64x2.mul(dh, dh));
    cum = i32x4.add(cum, W);
    k = end;
  }
  storeSums(out, f64x2.add(a0, b0), f64x2.add(a1, b1));
}

/**
 * Σ D[t]·(H[hpos[t]] − 2m) per lane over the bucketed layout. Bucket b holds the pairs whose
 * human position lies in [b << bits, (b + 1) << bits); its slice of H is streamed in
 * sequentially first, so the random reads that follow hit the cache.
 */
export function correlate(
  D: usize, H: usize, hpos: usize, bucketStart: usize, buckets: u32, bits: u32, P: u32, M2p: usize, out: usize,
): void {
  const M2 = v128.load(M2p);
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0), b0 = f64x2.splat(0), b1 = f64x2.splat(0);
  let touch = i32x4.splat(0);
  for (let b: u32 = 0; b < buckets; b++) {
    const h0 = b << bits;
    let h1 = (b + 1) << bits;
    if (h1 > P) h1 = P;
    for (let h = h0; h < h1; h += 4) touch = v128.or(touch, v128.load(H + (<usize>h << 4)));
    const e1 = load<u32>(bucketStart + (<usize>(b + 1) << 2));
    let t = load<u32>(bucketStart + (<usize>b << 2));
    for (; t + 1 < e1; t += 2) {
      const x = v128.load(D + (<usize>t << 4));
      const y = i32x4.sub(v128.load(H + (<usize>load<u32>(hpos + (<usize>t << 2)) << 4)), M2);
      const u = v128.load(D + (<usize>(t + 1) << 4));
      const v = i32x4.sub(v128.load(H + (<usize>load<u32>(hpos + (<usize>(t + 1) << 2)) << 4)), M2);
      a0 = f64x2.add(a0, f64x2.mul(lo(x), lo(y)));
      a1 = f64x2.add(a1, f64x2.mul(hi(x), hi(y)));
      b0 = f64x2.add(b0, f64x2.mul(lo(u), lo(v)));
      b1 = f64x2.add(b1, f64x2.mul(hi(u), hi(v)));
    }
    if (t < e1) {
      const x = v128.load(D + (<usize>t << 4));
      const y = i32x4.sub(v128.load(H + (<usize>load<u32>(hpos + (<usize>t << 2)) << 4)), M2);
      a0 = f64x2.add(a0, f64x2.mul(lo(x), lo(y)));
      a1 = f64x2.add(a1, f64x2.mul(hi(x), hi(y)));
    }
  }
  storeSums(out, f64x2.add(a0, b0), f64x2.add(a1, b1));
  // Keep the streaming loads alive (their value is irrelevant).
  store<i32>(out + 32, i32x4.extract_lane(touch, 0));
}
