/**
 * The model's word vectors: GloVe vectors at unit length, projected on the top principal axes
 * of the vocabulary's vectors (uncentred, so dot products — cosine similarities — are kept as
 * well as k dimensions allow). 48 of 100 dimensions keep 78 % of the variance and, in a NumPy
 * check during development, the same linear readout of the norms (RSA on the eval words of a
 * ridge fit on the training words: 0.48 from 48 axes and from all 100); the model is ~4×
 * cheaper to fine-tune than at full width.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { GloveVectors } from '../../features/glove.js';

/** Unit-length GloVe vector of a token (its parts' mean for hyphenated words), or undefined. */
export function unitVector(glove: GloveVectors, token: string): Float32Array | undefined {
  if (!/\p{L}/u.test(token)) return undefined;
  const v = glove.lookup(token)?.vector;
  if (!v) return undefined;
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  return n > 0 ? Float32Array.from(v, (x) => x / n) : undefined;
}

/**
 * The top-k eigenvectors of Σ v vᵀ over `vectors` (each of length `dim`), as a row-major
 * [k, dim] basis; each axis's sign makes its largest component positive (deterministic).
 */
export function principalAxes(vectors: readonly Float32Array[], dim: number, k: number): Float64Array {
  if (k > dim) throw new Error(`principalAxes: k=${k} > dim=${dim}`);
  const gram = new Float64Array(dim * dim);
  for (const v of vectors) {
    for (let i = 0; i < dim; i++) {
      const vi = v[i];
      if (vi === 0) continue;
      for (let j = i; j < dim; j++) gram[i * dim + j] += vi * v[j];
    }
  }
  const m = new Matrix(dim, dim);
  for (let i = 0; i < dim; i++) for (let j = i; j < dim; j++) { m.set(i, j, gram[i * dim + j]); m.set(j, i, gram[i * dim + j]); }
  const evd = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  const order = values.map((_, i) => i).sort((a, b) => values[b] - values[a] || a - b);
  const vecs = evd.eigenvectorMatrix;
  const basis = new Float64Array(k * dim);
  for (let r = 0; r < k; r++) {
    const c = order[r];
    let big = 0;
    for (let i = 0; i < dim; i++) if (Math.abs(vecs.get(i, c)) > Math.abs(big)) big = vecs.get(i, c);
    const sign = big < 0 ? -1 : 1;
    for (let i = 0; i < dim; i++) basis[r * dim + i] = sign * vecs.get(i, c);
  }
  return basis;
}

/** Project a vector on a [k, dim] basis. */
export function project(basis: Float64Array, dim: number, v: Float32Array): Float32Array {
  const k = basis.length / dim;
  const out = new Float32Array(k);
  for (let r = 0; r < k; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += basis[r * dim + i] * v[i];
    out[r] = s;
  }
  return out;
}
