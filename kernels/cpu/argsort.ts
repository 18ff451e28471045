/**
 * Stable argsort of float64 keys by LSD radix sort, in linear time (about 10× faster than a
 * comparison sort of indices at RDM sizes). The high 32 bits of each order-preserving key
 * (sign, exponent, 20 mantissa bits) are sorted in three 11-bit passes, whose 2048 buckets keep
 * the scatter cache-friendly; runs of equal high bits — short except for exactly equal values
 * — are then finished by the low bits with an insertion sort, which keeps the result exact
 * and stable. NaN is not expected (RDMs replace it by a fill value before sorting).
 */
export function argsortFloat64(values: Float64Array): Uint32Array {
  const n = values.length;
  const bits = new Uint32Array(values.buffer, values.byteOffset, n * 2);
  // Order-preserving unsigned keys: flip all bits of negatives, the sign bit of positives.
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let h = bits[2 * i + 1];
    const l = bits[2 * i];
    if (h === 0x80000000 && l === 0) h = 0; // −0 sorts as +0 (they are equal)
    if (h & 0x80000000) { hi[i] = ~h >>> 0; lo[i] = ~l >>> 0; } else { hi[i] = (h | 0x80000000) >>> 0; lo[i] = l; }
  }
  let idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  let tmp = new Uint32Array(n);
  const count = new Uint32Array(2048);
  for (const shift of [0, 11, 22]) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(hi[i] >>> shift) & 0x7ff]++;
    if (n > 0 && count[(hi[0] >>> shift) & 0x7ff] === n) continue;
    let sum = 0;
    for (let b = 0; b < 2048; b++) { const c = count[b]; count[b] = sum; sum += c; }
    for (let i = 0; i < n; i++) {
      const id = idx[i];
      tmp[count[(hi[id] >>> shift) & 0x7ff]++] = id;
    }
    const t = idx; idx = tmp; tmp = t;
  }
  // Finish runs of equal high words by the low word (stable insertion sort).
  let a = 0;
  while (a < n) {
    const h = hi[idx[a]];
    let b = a + 1;
    while (b < n && hi[idx[b]] === h) b++;
    if (b - a > 1) {
      for (let i = a + 1; i < b; i++) {
        const id = idx[i];
        const key = lo[id];
        let j = i - 1;
        while (j >= a && lo[idx[j]] > key) { idx[j + 1] = idx[j]; j--; }
        idx[j + 1] = id;
      }
    }
    a = b;
  }
  return idx;
}
