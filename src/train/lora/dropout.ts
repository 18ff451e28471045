/**
 * LoRA dropout masks, drawn on the host from a seed so that every engine applies exactly the
 * same masks: TF.js uploads them as tensors, the ONNX Runtime graphs take them as inputs.
 *
 * A forward pass has one seed (the trainer draws it per micro-batch from its checkpointed
 * dropout Rng); adapted module i derives its own (moduleDropoutSeed), and element j of its
 * [N, in] mask is a counter-based hash of (seed, j): two rounds of Wellons' lowbias32 mixer
 * keyed by the seed, so any element can be computed independently of the others (no
 * sequential generator state). The element is kept with probability 1 − p (the 32-bit hash at
 * or above ⌊p·2³²⌉) and scaled by 1/(1 − p) (inverted dropout, as torch.nn.Dropout).
 */

/** The seed of adapted module `index`'s mask in a forward pass with seed `passSeed`. */
export function moduleDropoutSeed(passSeed: number, index: number): number {
  return (Math.imul(passSeed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}

function lowbias32(v: number): number {
  let x = v | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x;
}

/**
 * Inverted-dropout mask of `count` elements (row-major [N, in]) with drop probability `p`:
 * each element 0 or 1/(1 − p) (float32). Written into `out` when given.
 */
export function dropoutMask(seed: number, count: number, p: number, out = new Float32Array(count)): Float32Array {
  if (!(p > 0 && p < 1)) throw new Error(`dropoutMask: p = ${p} must be in (0, 1)`);
  const k1 = lowbias32(seed ^ 0x2545f491);
  const k2 = lowbias32(seed + 0x6a09e667);
  const threshold = Math.round(p * 2 ** 32);
  const keep = Math.fround(1 / (1 - p));
  for (let j = 0; j < count; j++) {
    let x = (j ^ k1) | 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x7feb352d);
    x ^= x >>> 15;
    x = Math.imul(x, 0x846ca68b);
    x ^= x >>> 16;
    x ^= k2;
    x = Math.imul(x, 0x7feb352d);
    x ^= x >>> 15;
    out[j] = x >>> 0 >= threshold ? keep : 0;
  }
  return out;
}
