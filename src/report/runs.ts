/**
 * Inputs of the report beside the evaluation folder: LoRA training runs (their metrics.jsonl, one
 * line per optimizer step, and summary.json's validation of the base model) and alignment
 * trajectories (`smft trajectory`'s trajectory.csv: RSA per subset and mean dimension-wise ρ of
 * the base model, step 0, and of every saved checkpoint). Each is tied to a model id, which gives
 * its label and colour.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Papa from 'papaparse';
import type { StepMetrics } from '../train/lora/checkpoint.js';
import { SmftError } from '../util/errors.js';

/** checkpoint.ts's METRICS_FILE (not imported: that module loads TF.js, which the report does not need). */
const METRICS_FILE = 'metrics.jsonl';

export interface TrainingRun {
  model: string;
  dir: string;
  steps: StepMetrics[];
  /** Validation metrics of the base model, before the first update (summary.json), as val<Name>. */
  initialVal?: Record<string, number>;
}

export interface TrajectoryRow { step: number; values: Record<string, number> }
export interface Trajectory { model: string; file: string; rows: TrajectoryRow[] }

export const TRAJECTORY_FILE = 'trajectory.csv';

/** '[id=]path' → { id, path }; without an id, the folder's name (for a file, its folder's name). */
export function parseRunSpec(spec: string, kind: 'training' | 'trajectory'): { model: string; path: string } {
  const m = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(spec);
  const path = resolve(m ? m[2] : spec);
  if (m) return { model: m[1], path };
  const folder = existsSync(path) && statSync(path).isFile() ? dirname(path) : path;
  const model = basename(folder);
  if (!model) throw new SmftError(`cannot tell the model id of the ${kind} input; write it as ID=PATH`, path);
  return { model, path };
}

/** A LoRA run folder (from `smft train --recipe`): its metrics.jsonl and summary.json. */
export function readTrainingRun(model: string, dir: string): TrainingRun {
  const file = join(dir, METRICS_FILE);
  if (!existsSync(file)) throw new SmftError(`no ${METRICS_FILE} (is this a run folder of smft train --recipe?)`, dir);
  const steps: StepMetrics[] = [];
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try { v = JSON.parse(line); } catch (e) { throw new SmftError(`line ${i + 1} is not JSON (${(e as Error).message})`, file); }
    if (typeof v !== 'object' || v === null || typeof (v as StepMetrics).step !== 'number' || typeof (v as StepMetrics).loss !== 'number') {
      throw new SmftError(`line ${i + 1} has no numeric "step" and "loss"`, file);
    }
    steps.push(v as StepMetrics);
  });
  if (!steps.length) throw new SmftError('no steps recorded', file);
  let initialVal: Record<string, number> | undefined;
  const summary = join(dir, 'summary.json');
  if (existsSync(summary)) {
    try {
      const s = JSON.parse(readFileSync(summary, 'utf8')) as { initialVal?: Record<string, unknown> };
      if (s.initialVal && typeof s.initialVal === 'object') {
        initialVal = {};
        for (const [k, x] of Object.entries(s.initialVal)) if (typeof x === 'number') initialVal[`val${k[0].toUpperCase()}${k.slice(1)}`] = x;
      }
    } catch (e) {
      throw new SmftError(`not valid JSON: ${(e as Error).message}`, summary);
    }
  }
  return { model, dir, steps, initialVal };
}

/** trajectory.csv of `smft trajectory` (a file, or the folder holding it). */
export function readTrajectory(model: string, path: string): Trajectory {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, TRAJECTORY_FILE) : path;
  if (!existsSync(file)) throw new SmftError(`${TRAJECTORY_FILE} not found (write one with smft trajectory)`, file);
  const parsed = Papa.parse<Record<string, string>>(readFileSync(file, 'utf8'), { header: true, skipEmptyLines: true });
  const fields = parsed.meta.fields ?? [];
  if (!fields.includes('step')) throw new SmftError(`missing column step (header: ${fields.join(',')})`, file);
  const measures = fields.filter((f) => f !== 'step');
  if (!measures.length) throw new SmftError('no measure columns beside step', file);
  const rows = parsed.data.map((r, i) => {
    const step = Number(r.step);
    if (!Number.isFinite(step)) throw new SmftError(`row ${i + 2}: step ${JSON.stringify(r.step)} is not a number`, file);
    const values: Record<string, number> = {};
    for (const m of measures) {
      const t = (r[m] ?? '').trim();
      values[m] = t === '' ? NaN : Number(t);
    }
    return { step, values };
  });
  if (!rows.length) throw new SmftError('no rows', file);
  return { model, file, rows };
}
