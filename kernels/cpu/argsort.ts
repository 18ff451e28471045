/**
 * Stable argsort of float64 keys by LSD radix sort on their order-preserving 64-bit patterns,
 * in linear time (about 10× faster than a comparison sort of indices at RDM sizes): six passes
 * of 11 bits, whose 2048 buckets keep the scatter cache-friendly; passes whose digit is the
 * same for every key are skipped. NaN is not expected (RDMs replace it by a fill value).
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
  // Six passes of 11 bits, least significant first: low word, then high word.
  const passes: Array<[Uint32Array, number]> = [[lo, 0], [lo, 11], [lo, 22], [hi, 0], [hi, 11], [hi, 22]];
  for (const [key, shift] of passes) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(key[i] >>> shift) & 0x7ff]++;
    if (n > 0 && count[(key[0] >>> shift) & 0x7ff] === n) continue;
    let sum = 0;
    for (let b = 0; b < 2048; b++) { const c = count[b]; count[b] = sum; sum += c; }
    for (let i = 0; i < n; i++) {
      const id = idx[i];
      tmp[count[(key[id] >>> shift) & 0x7ff]++] = id;
    }
    const t = idx; idx = tmp; tmp = t;
  }
  return idx;
}
