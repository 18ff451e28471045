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
import { Arena, instantiate } from '../../../kernels/cpu/wasm.js';

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

/** The keys and threshold of a mask: what both implementations below compute from. */
function maskParams(seed: number, p: number): { k1: number; k2: number; threshold: number; keep: number } {
  if (!(p > 0 && p < 1)) throw new Error(`dropoutMask: p = ${p} must be in (0, 1)`);
  return { k1: lowbias32(seed ^ 0x2545f491), k2: lowbias32(seed + 0x6a09e667), threshold: Math.round(p * 2 ** 32), keep: Math.fround(1 / (1 - p)) };
}

/** Elements [from, count) of a mask, one by one (the definition; the SIMD kernel computes the same). */
export function dropoutMaskScalar(seed: number, count: number, p: number, out: Float32Array = new Float32Array(count), from = 0): Float32Array {
  const { k1, k2, threshold, keep } = maskParams(seed, p);
  for (let j = from; j < count; j++) {
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

interface DropoutKernel {
  fill(out: number, count: number, k1: number, k2: number, threshold: number, keep: number): void;
}

let simd: { arena: Arena; at: number; capacity: number; kernel: DropoutKernel } | null = null;

/**
 * Inverted-dropout mask of `count` elements (row-major [N, in]) with drop probability `p`:
 * each element 0 or 1/(1 − p) (float32). Written into `out` when given. Computed four
 * elements at a time by kernels/wasm/dropout.wasm (a step's masks are ~10⁸ elements for a
 * 0.5B model), the same values as dropoutMaskScalar.
 */
export function dropoutMask(seed: number, count: number, p: number, out: Float32Array = new Float32Array(count)): Float32Array {
  const { k1, k2, threshold, keep } = maskParams(seed, p);
  const vec = count - (count % 4);
  if (vec > 0) {
    if (!simd || simd.capacity < vec) {
      const arena = new Arena(vec * 4 + 2048);
      simd = { arena, at: arena.alloc(vec * 4), capacity: vec, kernel: instantiate<DropoutKernel>('dropout', arena) };
    }
    simd.kernel.fill(simd.at, vec, k1 >>> 0, k2 >>> 0, threshold >>> 0, keep);
    out.set(new Float32Array(simd.arena.memory.buffer, simd.at, vec));
  }
  return vec < count ? dropoutMaskScalar(seed, count, p, out, vec) : out;
}
