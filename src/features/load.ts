/**
 * Feature files: word representations stored as safetensors or .npy, either one matrix
 * (words × hidden) or a stack of layers (layers × words × hidden).
 *
 * safetensors convention (what the LLM engine writes, and what {@link writeFeatureFile} writes):
 *   tensor  "hidden_states"  F32/F16/BF16 [layers, words, hidden] or [words, hidden]
 *   __metadata__.words   JSON array of the words, in row order (required)
 *   __metadata__.source  model / feature id (optional; default: file name)
 *   __metadata__.layers  JSON array of layer labels, one per layer (optional; e.g. [0, 6, 12])
 * .npy files carry no metadata: words come from `opts.words` or a sidecar file next to the array,
 * `<name>.words.json` (JSON array) or `<name>.words.txt` (one word a line).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { SmftError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { FeatureMatrix } from './matrix.js';
import { checkFeatureMatrix } from './matrix.js';
import { encodeSafetensors, readSafetensors, tensorToFloat32, type TensorInfo } from './safetensors.js';
import { readNpy } from './npy.js';

/** Tensor names tried, in order, when a safetensors file holds more than one tensor. */
export const FEATURE_TENSOR_NAMES = ['hidden_states', 'features', 'vectors', 'embeddings'] as const;

export interface FeatureStack {
  words: string[];
  layers: number;
  dim: number;
  /** Row-major layers × words × dim. */
  values: Float32Array;
  source: string;
  /** Label per layer ('0', '6', … from metadata.layers, else the index). */
  layerLabels: string[];
  /** The file's string metadata (safetensors) or {} (.npy). */
  metadata: Record<string, string>;
}

export interface ReadFeatureOptions {
  /** Tensor to read from a safetensors file (default: the only one, else hidden_states, features, …). */
  tensor?: string;
  /** Words in row order; overrides the file's (must have the right count). */
  words?: string[];
  /** Source id; overrides the file's. */
  source?: string;
}

function parseJsonStringArray(text: string, what: string, path: string): string[] {
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { throw new SmftError(`${what} is not valid JSON (${(e as Error).message})`, path); }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' || typeof x === 'number')) {
    throw new SmftError(`${what} must be a JSON array of strings`, path);
  }
  return v.map(String);
}

function sidecarWords(path: string): string[] | undefined {
  const stem = path.replace(/\.npy$/i, '');
  for (const p of [`${stem}.words.json`, `${path}.words.json`]) {
    if (existsSync(p)) return parseJsonStringArray(readFileSync(p, 'utf8'), 'words file', p);
  }
  for (const p of [`${stem}.words.txt`, `${path}.words.txt`]) {
    if (existsSync(p)) return readFileSync(p, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
  }
  return undefined;
}

function stackFrom(path: string, shape: number[], values: Float32Array, words: string[] | undefined, source: string,
  metadata: Record<string, string>): FeatureStack {
  if (shape.length !== 2 && shape.length !== 3) {
    throw new SmftError(`feature tensor must be words × hidden or layers × words × hidden, got shape [${shape}]`, path);
  }
  const [layers, nWords, dim] = shape.length === 2 ? [1, shape[0], shape[1]] : shape;
  if (!words) {
    throw new SmftError('no word list: expected __metadata__.words in a safetensors file, or a <name>.words.json / .words.txt file beside a .npy file', path);
  }
  if (words.length !== nWords) throw new SmftError(`word list has ${words.length} entries but the features have ${nWords} rows`, path);
  if (dim <= 0) throw new SmftError(`feature tensor has hidden size ${dim}`, path);
  let layerLabels = Array.from({ length: layers }, (_, i) => String(i));
  if (metadata.layers !== undefined) {
    const l = parseJsonStringArray(metadata.layers, '__metadata__.layers', path);
    if (l.length !== layers) throw new SmftError(`__metadata__.layers has ${l.length} labels for ${layers} layers`, path);
    layerLabels = l;
  }
  return { words, layers, dim, values, source, layerLabels, metadata };
}

/** Read every layer of a feature file. */
export function readFeatureFile(path: string, opts: ReadFeatureOptions = {}): FeatureStack {
  if (/\.npy$/i.test(path)) {
    const a = readNpy(path);
    return stackFrom(path, a.shape, a.data, opts.words ?? sidecarWords(path), opts.source ?? basename(path).replace(/\.npy$/i, ''), {});
  }
  const f = readSafetensors(path);
  let t: TensorInfo | undefined;
  if (opts.tensor) {
    t = f.tensors.find((x) => x.name === opts.tensor);
    if (!t) throw new SmftError(`no tensor '${opts.tensor}' (has: ${f.tensors.map((x) => x.name).join(', ') || 'none'})`, path);
  } else if (f.tensors.length === 1) {
    t = f.tensors[0];
  } else {
    for (const name of FEATURE_TENSOR_NAMES) { t = f.tensors.find((x) => x.name === name); if (t) break; }
    if (!t) {
      throw new SmftError(`several tensors (${f.tensors.map((x) => x.name).join(', ')}); name the one to use (expected one of ${FEATURE_TENSOR_NAMES.join(', ')})`, path);
    }
  }
  const words = opts.words ?? (f.metadata.words !== undefined ? parseJsonStringArray(f.metadata.words, '__metadata__.words', path) : sidecarWords(path));
  const source = opts.source ?? f.metadata.source ?? basename(path).replace(/\.safetensors$/i, '');
  return stackFrom(path, t.shape, tensorToFloat32(f, t), words, source, f.metadata);
}

/** One layer of a stack as a FeatureMatrix (negative = from the end; default the last). */
export function layerOf(s: FeatureStack, layer = -1): FeatureMatrix {
  const l = layer < 0 ? s.layers + layer : layer;
  if (!Number.isInteger(l) || l < 0 || l >= s.layers) throw new SmftError(`layer ${layer} out of range (the file has ${s.layers})`);
  const n = s.words.length * s.dim;
  const source = s.layers === 1 ? s.source : `${s.source}:layer${s.layerLabels[l]}`;
  return { words: s.words, dim: s.dim, values: s.values.subarray(l * n, (l + 1) * n), source };
}

/** Read one layer of a feature file as a FeatureMatrix (default: the last layer). */
export function loadFeatureMatrix(path: string, opts: ReadFeatureOptions & { layer?: number } = {}): FeatureMatrix {
  const m = layerOf(readFeatureFile(path, opts), opts.layer ?? -1);
  checkFeatureMatrix(m);
  return m;
}

/**
 * Write a feature matrix (or a layer stack) as safetensors in the convention above, atomically.
 * Extra metadata entries are kept (they must be strings).
 */
export function writeFeatureFile(path: string, m: FeatureMatrix | FeatureStack, extra: Record<string, string> = {}): void {
  const isStack = 'layers' in m;
  const shape = isStack ? [m.layers, m.words.length, m.dim] : [m.words.length, m.dim];
  const metadata: Record<string, string> = { ...extra, words: JSON.stringify(m.words), source: m.source };
  if (isStack) metadata.layers = JSON.stringify(m.layerLabels);
  writeFileAtomic(path, encodeSafetensors({ hidden_states: { shape, data: m.values } }, metadata));
}
