/**
 * NumPy's legacy `numpy.random.RandomState`, bit for bit, as far as smft needs it: the
 * MT19937 generator seeded by an integer (`mt19937_seed`, Matsumoto & Nishimura's
 * init_genrand), `random_interval` (masked rejection sampling of [0, max]) and `permutation`
 * (`shuffle` of an arange: Fisher–Yates from the end, as mtrand.pyx `_shuffle_raw`).
 * scikit-learn's `train_test_split(random_state=seed)` draws its split from exactly this, so
 * the paper's split (src/data/splits.ts) is reproduced from it. Checked against NumPy by
 * scripts/reference/numpy_split_reference.py → test/fixtures/split/golden.json.
 */
import { SmftError } from './errors.js';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER = 0x80000000;
const LOWER = 0x7fffffff;

/** The Mersenne Twister MT19937 with NumPy's legacy integer seeding. */
export class MT19937 {
  private readonly key = new Uint32Array(N);
  private pos = N;

  /** `numpy.random.RandomState(seed)` for an integer seed in [0, 2^32 − 1]. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new SmftError(`seed must be an integer between 0 and 2**32 - 1 (got ${seed})`);
    let s = seed >>> 0;
    for (let i = 0; i < N; i++) {
      this.key[i] = s;
      // s = 1812433253 · (s ^ (s >> 30)) + i + 1 (mod 2^32)
      s = (Math.imul(1812433253, (s ^ (s >>> 30)) >>> 0) + i + 1) >>> 0;
    }
  }

  private generate(): void {
    const k = this.key;
    let i = 0;
    for (; i < N - M; i++) {
      const y = (k[i] & UPPER) | (k[i + 1] & LOWER);
      k[i] = k[i + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; i < N - 1; i++) {
      const y = (k[i] & UPPER) | (k[i + 1] & LOWER);
      k[i] = k[i + (M - N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (k[N - 1] & UPPER) | (k[0] & LOWER);
    k[N - 1] = k[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.pos = 0;
  }

  /** Next tempered 32-bit output (NumPy's `next_uint32` / `random_raw` for MT19937). */
  nextUint32(): number {
    if (this.pos === N) this.generate();
    let y = this.key[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

/** `numpy.random.RandomState(seed)`: the legacy generator's shuffle and permutation. */
export class RandomState {
  readonly bitGenerator: MT19937;

  constructor(seed: number) {
    this.bitGenerator = new MT19937(seed);
  }

  /**
   * A uniform integer in [0, max] (NumPy's `random_interval`): draw 32-bit values masked to
   * the smallest all-ones mask ≥ max until one is ≤ max. max < 2^32 here (array indices).
   */
  randomInterval(max: number): number {
    if (!Number.isInteger(max) || max < 0 || max > 0xffffffff) throw new SmftError(`random_interval: max must be an integer in [0, 2**32 - 1] (got ${max})`);
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const v = (this.bitGenerator.nextUint32() & mask) >>> 0;
      if (v <= max) return v;
    }
  }

  /** Shuffle in place as `RandomState.shuffle` does for a 1-d array. */
  shuffle<T>(x: T[] | Int32Array | Uint32Array | Float64Array): void {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.randomInterval(i);
      const t = x[j];
      x[j] = x[i];
      x[i] = t;
    }
  }

  /** `RandomState.permutation(n)`: a shuffled 0 … n − 1. */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new SmftError(`permutation: n must be a non-negative integer (got ${n})`);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    this.shuffle(p);
    return p;
  }
}
