/**
 * Head checkpoints: a folder with
 *   head.safetensors  every array of the head (parameters and standardisation buffers), F32,
 *                     with __metadata__ {format, kind, arch} to cross-check head.json
 *   head.json         HeadCheckpointConfig (feature source, dims, dimension ids, hyper-parameters,
 *                     seed, step, metrics, provenance)
 *   metrics.jsonl     one JSON line per epoch
 * Written atomically as a whole (temp folder, then rename): a crash mid-write leaves the previous
 * checkpoint as it was. Loading checks everything and fails with a one-line SmftError.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SmftError } from '../util/errors.js';
import { writeDirAtomic } from '../util/atomic.js';
import { encodeSafetensors, readSafetensors, tensorToFloat32 } from '../features/safetensors.js';
import { Head, bufferShapes, paramShapes, validateArch, type HeadArch, type HeadKind, type WeightMap } from './head.js';
import type { EpochMetrics } from './loop.js';

export const HEAD_WEIGHTS = 'head.safetensors';
export const HEAD_CONFIG = 'head.json';
export const HEAD_METRICS = 'metrics.jsonl';

export interface HeadCheckpointConfig {
  format: 'smft-head';
  version: 1;
  kind: HeadKind;
  arch: HeadArch;
  /** Feature source the head was trained on (FeatureMatrix.source). */
  featureSource: string;
  featureDim: number;
  /** Regression: dimension ids in output order. QA: option letters. */
  dimensions: string[];
  /** Every training setting, as used. */
  hyper: Record<string, unknown>;
  seed: number;
  /** Optimizer updates and epoch of the weights in this checkpoint. */
  step: number;
  epoch: number;
  trainRows: number;
  valRows: number;
  /** Metrics of the checkpointed epoch (plus run totals in the final checkpoint). */
  metrics: Record<string, unknown>;
  provenance: Record<string, unknown>;
  createdAt: string;
}

/** Write a head checkpoint folder atomically. */
export async function saveHeadCheckpoint(dir: string, head: Head, config: HeadCheckpointConfig, metrics: readonly EpochMetrics[]): Promise<void> {
  const weights = head.weights();
  const tensors = Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
  const st = encodeSafetensors(tensors, { format: 'smft-head', kind: head.arch.kind, arch: JSON.stringify(head.arch) });
  const json = JSON.stringify(config, null, 2) + '\n';
  const jsonl = metrics.map((m) => JSON.stringify(m)).join('\n') + (metrics.length ? '\n' : '');
  await writeDirAtomic(dir, (tmp) => {
    writeFileSync(join(tmp, HEAD_WEIGHTS), st);
    writeFileSync(join(tmp, HEAD_CONFIG), json);
    writeFileSync(join(tmp, HEAD_METRICS), jsonl);
  }, { kind: 'head' });
}

export interface HeadExpectations {
  kind?: HeadKind;
  /** Feature size of the features the head will be applied to. */
  featureDim?: number;
  /** Exact feature source required (omit to accept any). */
  featureSource?: string;
  /** Dimension ids required, in order. */
  dimensions?: readonly string[];
}

export interface LoadedHead {
  head: Head;
  config: HeadCheckpointConfig;
  metrics: EpochMetrics[];
  dir: string;
}

function isArch(a: unknown): a is HeadArch {
  const x = a as HeadArch;
  return typeof x === 'object' && x !== null && typeof x.kind === 'string' && typeof x.inputDim === 'number'
    && typeof x.outputDim === 'number' && typeof x.hidden === 'number' && typeof x.activation === 'string' && typeof x.dropout === 'number';
}

/** Read and verify a head checkpoint folder. */
export function loadHeadCheckpoint(dir: string, expect: HeadExpectations = {}): LoadedHead {
  const cfgPath = join(dir, HEAD_CONFIG);
  const wPath = join(dir, HEAD_WEIGHTS);
  if (!existsSync(dir)) throw new SmftError('no such head checkpoint folder', dir);
  if (!existsSync(cfgPath)) throw new SmftError(`not a head checkpoint (no ${HEAD_CONFIG})`, dir);
  if (!existsSync(wPath)) throw new SmftError(`incomplete head checkpoint (no ${HEAD_WEIGHTS})`, dir);
  let config: HeadCheckpointConfig;
  try {
    config = JSON.parse(readFileSync(cfgPath, 'utf8')) as HeadCheckpointConfig;
  } catch (e) {
    throw new SmftError(`corrupt head config (${(e as Error).message})`, cfgPath);
  }
  if (config?.format !== 'smft-head') throw new SmftError(`not a head config (format ${JSON.stringify(config?.format)})`, cfgPath);
  if (config.version !== 1) throw new SmftError(`unsupported head checkpoint version ${config.version}`, cfgPath);
  if (!isArch(config.arch)) throw new SmftError('head config has no valid "arch"', cfgPath);
  try { validateArch(config.arch); } catch (e) { throw new SmftError((e as Error).message, cfgPath); }
  const arch = config.arch;
  if (config.kind !== arch.kind || config.featureDim !== arch.inputDim) {
    throw new SmftError(`head config is inconsistent (kind ${config.kind}/${arch.kind}, featureDim ${config.featureDim}/${arch.inputDim})`, cfgPath);
  }
  if (!Array.isArray(config.dimensions) || (arch.kind === 'regression' && config.dimensions.length !== arch.outputDim)) {
    throw new SmftError(`head config lists ${config.dimensions?.length} dimensions for ${arch.outputDim} outputs`, cfgPath);
  }

  const f = readSafetensors(wPath);
  if (f.metadata.format !== 'smft-head') throw new SmftError(`not head weights (format ${JSON.stringify(f.metadata.format)})`, wPath);
  if (f.metadata.arch !== undefined && f.metadata.arch !== JSON.stringify(arch)) {
    throw new SmftError(`${HEAD_WEIGHTS} was saved for architecture ${f.metadata.arch}, but ${HEAD_CONFIG} says ${JSON.stringify(arch)}`, dir);
  }
  const want = { ...paramShapes(arch), ...bufferShapes(arch) };
  const weights: WeightMap = {};
  for (const [name, shape] of Object.entries(want)) {
    const t = f.tensors.find((x) => x.name === name);
    if (!t) throw new SmftError(`head weights lack tensor '${name}'`, wPath);
    if (t.dtype !== 'F32') throw new SmftError(`head tensor '${name}' is ${t.dtype}, expected F32`, wPath);
    if (t.shape.join(',') !== shape.join(',')) {
      throw new SmftError(`head tensor '${name}' has shape [${t.shape}], the config needs [${shape}]`, wPath);
    }
    weights[name] = { shape, data: tensorToFloat32(f, t) };
  }
  let head: Head;
  try {
    head = Head.fromWeights(arch, weights);
  } catch (e) {
    throw new SmftError((e as Error).message, wPath);
  }

  const problems: string[] = [];
  if (expect.kind && expect.kind !== arch.kind) problems.push(`it is a ${arch.kind} head, a ${expect.kind} head is needed`);
  if (expect.featureDim !== undefined && expect.featureDim !== arch.inputDim) {
    problems.push(`it takes ${arch.inputDim}-d features (${config.featureSource}), the features given are ${expect.featureDim}-d`);
  }
  if (expect.featureSource !== undefined && expect.featureSource !== config.featureSource) {
    problems.push(`it was trained on features '${config.featureSource}', not '${expect.featureSource}'`);
  }
  if (expect.dimensions && expect.dimensions.join(',') !== config.dimensions.join(',')) {
    problems.push(`it predicts [${config.dimensions.join(', ')}], expected [${expect.dimensions.join(', ')}]`);
  }
  if (problems.length) {
    head.dispose();
    throw new SmftError(`head checkpoint does not fit: ${problems.join('; ')}`, dir);
  }

  let metrics: EpochMetrics[] = [];
  const mPath = join(dir, HEAD_METRICS);
  if (existsSync(mPath)) {
    try {
      metrics = readFileSync(mPath, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as EpochMetrics);
    } catch (e) {
      head.dispose();
      throw new SmftError(`corrupt metrics file (${(e as Error).message})`, mPath);
    }
  }
  return { head, config, metrics, dir };
}
