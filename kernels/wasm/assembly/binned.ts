/**
 * Binned RSA pass, in WebAssembly SIMD (AssemblyScript; built to kernels/wasm/binned.wasm by
 * `npm run build:wasm`). See kernels/cpu/rsa-binned.ts for the method: each source's distances
 * are binned into B equal-frequency bins, and the joint (human bin, model bin) counts give
 * Spearman ρ of the binned variables.
 *
 * Vectors are stored transposed (dimension-major, f64, `stride` ≥ n + 5 columns, zero padded)
 * and prepared for the metric: unit vectors (cosine, correlation: the distance is 1 − dot) or
 * raw rows (euclidean: √Σ(a − b)²). Four rows i are paired with two rows j per step (the f64x2
 * lanes), so each loaded column serves eight pairs. The bin of value v: grid cell
 * g = ⌊(v − lo)·scale⌋ (clamped to [0, G]) gives the smallest possible bin, then edges are
 * stepped while edge ≤ v (the edges end with +∞).
 */

/** Per-source descriptor (48 bytes): pointers and the grid's origin and scale. */
const X_ = 0, DEG = 4, EDGES = 8, GRID_ = 16, TABLE = 20, LO = 24, SCALE = 32;

@inline function binOf(v: f64, s: usize, G: i32): u32 {
  const g = max<i32>(0, min<i32>(G, <i32>Math.floor((v - load<f64>(s + LO)) * load<f64>(s + SCALE))));
  const edges = <usize>load<u32>(s + EDGES);
  // Two steps without branches, then the rare longer runs.
  let bin = <u32>load<u16>(<usize>load<u32>(s + GRID_) + (<usize>g << 1));
  bin += <u32>(load<f64>(edges + (<usize>bin << 3)) <= v);
  bin += <u32>(load<f64>(edges + (<usize>bin << 3)) <= v);
  while (load<f64>(edges + (<usize>bin << 3)) <= v) bin++;
  return bin;
}

/**
 * One pair's value, binned: humans store bin·B in hb, models store the table cell hb + bin in
 * ix (skipped pairs: the spare cell B·B). The counting happens in a separate loop over ix:
 * increments whose addresses come out of the long binning chain stall on memory ordering.
 */
@inline function visit(v: f64, i: u32, j: u32, n: u32, rows: u32, i0: u32, s: usize, human: bool, euclid: bool, fill: f64, G: i32, B: u32, h: usize, ix: usize): void {
  if (j <= i || j >= n || i - i0 >= rows) {
    if (!human) store<u32>(ix, B * B);
    return;
  }
  const deg = <usize>load<u32>(s + DEG);
  const x = !euclid && (load<u8>(deg + i) != 0 || load<u8>(deg + j) != 0) ? fill : euclid ? Math.sqrt(v) : 1 - v;
  const bin = binOf(x, s, G);
  if (human) store<u32>(h, bin * B);
  else store<u32>(ix, load<u32>(h) + bin);
}

/**
 * Rows [i0, i0 + rows) (rows ≤ 4) against the rows j in [j0, j1): for source 0 (humans) the
 * bins go to hb (4 × J entries, bin·B, column j − j0); for each model source, the cells hb + bin go
 * to ix (8 per step of two columns) and are then counted into its table (B·B + 1 cells). j0 > i0; pairs with j ≤ i are skipped.
 */
export function countTile(src: usize, S: u32, i0: u32, rows: u32, j0: u32, j1: u32, n: u32, d: u32, stride: u32, euclid: bool, fill: f64, G: i32, B: u32, hb: usize, J: u32, ix: usize): void {
  for (let s: u32 = 0; s < S; s++) {
    const desc = src + <usize>s * 48;
    const X = <usize>load<u32>(desc + X_);
    const human = s == 0;
    for (let j = j0; j < j1; j += 2) {
      let a0 = f64x2.splat(0), a1 = f64x2.splat(0), a2 = f64x2.splat(0), a3 = f64x2.splat(0);
      for (let k: u32 = 0; k < d; k++) {
        const row = X + ((<usize>k * stride) << 3);
        const col = v128.load(row + (<usize>j << 3));
        const xi = row + (<usize>i0 << 3);
        if (euclid) {
          const t0 = f64x2.sub(f64x2.splat(load<f64>(xi)), col), t1 = f64x2.sub(f64x2.splat(load<f64>(xi, 8)), col);
          const t2 = f64x2.sub(f64x2.splat(load<f64>(xi, 16)), col), t3 = f64x2.sub(f64x2.splat(load<f64>(xi, 24)), col);
          a0 = f64x2.add(a0, f64x2.mul(t0, t0)); a1 = f64x2.add(a1, f64x2.mul(t1, t1));
          a2 = f64x2.add(a2, f64x2.mul(t2, t2)); a3 = f64x2.add(a3, f64x2.mul(t3, t3));
        } else {
          a0 = f64x2.add(a0, f64x2.mul(f64x2.splat(load<f64>(xi)), col));
          a1 = f64x2.add(a1, f64x2.mul(f64x2.splat(load<f64>(xi, 8)), col));
          a2 = f64x2.add(a2, f64x2.mul(f64x2.splat(load<f64>(xi, 16)), col));
          a3 = f64x2.add(a3, f64x2.mul(f64x2.splat(load<f64>(xi, 24)), col));
        }
      }
      const h = hb + (<usize>(j - j0) << 2), J4 = <usize>J << 2, x = ix + (<usize>(j - j0) << 4);
      visit(f64x2.extract_lane(a0, 0), i0, j, n, rows, i0, desc, human, euclid, fill, G, B, h, x);
      visit(f64x2.extract_lane(a0, 1), i0, j + 1, n, rows, i0, desc, human, euclid, fill, G, B, h + 4, x + 4);
      visit(f64x2.extract_lane(a1, 0), i0 + 1, j, n, rows, i0, desc, human, euclid, fill, G, B, h + J4, x + 8);
      visit(f64x2.extract_lane(a1, 1), i0 + 1, j + 1, n, rows, i0, desc, human, euclid, fill, G, B, h + J4 + 4, x + 12);
      visit(f64x2.extract_lane(a2, 0), i0 + 2, j, n, rows, i0, desc, human, euclid, fill, G, B, h + 2 * J4, x + 16);
      visit(f64x2.extract_lane(a2, 1), i0 + 2, j + 1, n, rows, i0, desc, human, euclid, fill, G, B, h + 2 * J4 + 4, x + 20);
      visit(f64x2.extract_lane(a3, 0), i0 + 3, j, n, rows, i0, desc, human, euclid, fill, G, B, h + 3 * J4, x + 24);
      visit(f64x2.extract_lane(a3, 1), i0 + 3, j + 1, n, rows, i0, desc, human, euclid, fill, G, B, h + 3 * J4 + 4, x + 28);
    }
    if (!human) {
      const table = <usize>load<u32>(desc + TABLE);
      const end = ix + (<usize>(j1 - j0 + 1) >> 1 << 5);
      for (let p = ix; p < end; p += 4) {
        const t = table + (<usize>load<u32>(p) << 2);
        store<u32>(t, load<u32>(t) + 1);
      }
    }
  }
}
