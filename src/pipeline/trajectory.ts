import { join } from 'node:path';
import type { Lang } from '../data/dimensions.js';
import type { Norms } from '../data/norms.js';
import { loadPredictions } from '../data/predictions.js';
import { evaluate } from '../eval/evaluate.js';
import type { LoadedModel } from '../lm/load.js';
import { PredictionsWriter } from '../lm/predictions.js';
import { loadTemplates } from '../lm/prompts.js';
import { rateWords } from '../lm/rate.js';
import { runCheckpoints } from '../train/lora/apply.js';
import { inferenceModel } from '../train/lora/inference.js';
import type { OnnxDevice } from '../lm/runtime-choice.js';
import { SmftError } from '../util/errors.js';
import { localRatingIdentity } from '../lm/identity.js';
import { adapterChecksum } from '../train/lora/peft.js';

export interface TrajectoryPoint { step: number; checkpoint: string; rsa: Record<string, number>; meanDimensionRho: number }

/**
 * The alignment trajectory of a training run: for the base model (step 0) and each saved
 * checkpoint, rate the words, and compute RSA per subset and the mean dimension-wise ρ against
 * the humans. Ratings go to `<outDir>/step-<k>.csv` (resumable).
 */
export async function alignmentTrajectory(
  lm: LoadedModel, runDir: string, norms: Norms, words: string[], lang: Lang, outDir: string, opts: { batchSize?: number; prompts?: string; onnx?: OnnxDevice | false } = {},
): Promise<TrajectoryPoint[]> {
  const steps = runCheckpoints(runDir);
  if (!steps.length) throw new SmftError('no checkpoints (step-<k> folders) in the run', runDir);
  const templates = loadTemplates(opts.prompts, lang);
  const points: TrajectoryPoint[] = [];
  for (const { step, dir } of [{ step: 0, dir: '' }, ...steps]) {
    const im = await inferenceModel(lm.model, { onnx: opts.onnx ?? false, checkpoint: dir || undefined });
    try {
      const file = join(outDir, `step-${step}.csv`);
      const identity = await localRatingIdentity(lm, { adapter: im.dir ? adapterChecksum(im.dir) : null, templates, lang });
      const writer = new PredictionsWriter(file, 'model', identity);
      await rateWords(im.engine, lm.tokenizer, { words, templates, lang, batchSize: opts.batchSize ?? 16, progress: false, modelName: lm.dir, skip: (w, d) => writer.has(w, d), onRows: (r) => writer.append(r) });
      const ev = await evaluate(loadPredictions([file], { lang, norms }), { bootstrap: 0 });
      const r = ev.results;
      const dims = Object.keys(r.dimensions);
      points.push({
        step, checkpoint: dir || '(base)',
        rsa: Object.fromEntries(Object.entries(r.rsa).map(([s, m]) => [s, m.model.rho])),
        meanDimensionRho: dims.reduce((s, d) => s + r.dimensions[d].model.rho, 0) / dims.length,
      });
    } finally {
      await im.release();
    }
  }
  return points;
}
