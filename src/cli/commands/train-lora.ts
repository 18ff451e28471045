import { basename, isAbsolute, join, resolve } from 'node:path';
import { isHubId } from '../../util/names.js';
import { mkdirSync } from 'node:fs';
import Papa from 'papaparse';
import { resolveDataDir } from '../../data/datadir.js';
import type { Lang } from '../../data/dimensions.js';
import { loadNorms, promptWords } from '../../data/norms.js';
import * as tf from '@tensorflow/tfjs';
import { chooseInferenceRuntime, onnxForInference, INFERENCE_BACKENDS, type InferenceBackend } from '../../lm/runtime-choice.js';
import type { EngineChoice, TrainDevice } from '../../train/lora/engine.js';
import { loadModel } from '../../lm/load.js';
import { alignmentTrajectory } from '../../pipeline/trajectory.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { evalSetFile } from './evaluate.js';
import type { Command } from 'commander';
import { SmftError } from '../../util/errors.js';
import { resolveCheckpointDir } from '../../train/lora/checkpoint.js';
import { readAdapterFiles } from '../../train/lora/peft.js';
import { mergeLora } from '../../train/lora/merge.js';
import { trainLoraRecipe as runLoraRecipe } from '../../train/lora/recipes.js';
import { formatTable } from '../../util/table.js';
import { defaultOutput, markOutput, prepareOutput, safeName } from '../../util/output.js';
import { action, choiceOption, intOption, BACKEND_HELP, FORCE_HELP } from '../run.js';

/** `smft train` for LoRA recipes: prints the run folder and the final adapter. */
export async function trainLoraRecipe(opts: {
  recipe: string; model?: string; out: string; dataDir: string; seed?: number; steps?: number; resume: boolean; set?: string[]; engine?: EngineChoice; device?: TrainDevice;
}): Promise<void> {
  // QA test accuracy after training: on ONNX Runtime when TF.js trains on the CPU.
  const r = await runLoraRecipe({ ...opts, inference: await onnxForInference('auto', tf.getBackend()) });
  process.stdout.write(`${r.runDir}\nfinal adapter: ${r.finalDir}${r.test ? `\nQA test accuracy ${(100 * r.test.accuracy).toFixed(1)}% (base ${(100 * (r.test.baseAccuracy ?? NaN)).toFixed(1)}%)` : ''}\n`);
}

/** The base model a LoRA checkpoint (adapter, step or run folder) names (for rate --checkpoint without --model). */
export function checkpointBaseModel(path: string): string {
  const dir = resolveCheckpointDir(path);
  const files = readAdapterFiles(dir);
  const name = files.baseName;
  if (!name) throw new SmftError('the adapter does not name its base model (adapter_config.json base_model_name_or_path); pass --model', dir);
  // A name from the checkpoint's data: a hub id (downloaded into the cache) or an absolute folder, nothing relative.
  if (!isHubId(name) && !isAbsolute(name)) {
    throw new SmftError(`adapter_config.json base_model_name_or_path ${JSON.stringify(name).slice(0, 80)} is neither a Hugging Face hub id nor an absolute folder; pass --model`, dir);
  }
  return name;
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('bake a LoRA checkpoint into the base weights and write a Hugging Face model folder')
    .requiredOption('--model <path|id>', 'base model folder or hub id')
    .requiredOption('--checkpoint <dir>', 'adapter, step or run folder from smft train')
    .requiredOption('-o, --out <dir>', 'output model folder (written atomically)')
    .option('--force', FORCE_HELP('merged model folder'))
    .action(action(async (f: { model: string; checkpoint: string; out: string; force?: boolean }) => {
      const out = prepareOutput({ path: f.out, kind: 'merged-model', force: f.force, inputs: [f.model, f.checkpoint] }).path;
      const r = await mergeLora({ base: f.model, adapter: resolve(f.checkpoint), out });
      process.stdout.write(`${r.out}\n`);
    }));
}

export function registerTrajectory(program: Command): void {
  program
    .command('trajectory')
    .description('alignment trajectory of a LoRA run: RSA and dimension-wise ρ of the base model and every saved checkpoint')
    .requiredOption('--model <path|id>', 'base model of the run')
    .requiredOption('--run <dir>', 'run folder from smft train')
    .option('-o, --out <dir>', 'output folder: trajectory.csv and the ratings of each step (resumed when it exists; default runs/trajectory/<run folder name>)')
    .option('--force', 'start over: replace an existing smft trajectory folder (never anything else)')
    .option('--lang <lang>', 'en or nl', choiceOption('lang', ['en', 'nl'] as const), 'en')
    .option('--eval-set <set>', "words: 'paper' or a norms/eval CSV", 'paper')
    .option('--limit <n>', 'rate only the first n words', intOption('limit', 1))
    .option('--backend <name>', BACKEND_HELP, choiceOption('backend', INFERENCE_BACKENDS), 'auto')
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .action(action(async (f: { model: string; run: string; out?: string; force?: boolean; lang: Lang; evalSet: string; limit?: number; backend: InferenceBackend; dataDir?: string }) => {
      const dataDir = resolveDataDir(f.dataDir);
      const out = prepareOutput({
        path: f.out ?? defaultOutput('trajectory', safeName(basename(resolve(f.run)))), kind: 'trajectory', resume: !f.force, force: f.force,
        inputs: [f.model, f.run, f.evalSet === 'paper' ? dataDir : f.evalSet],
      }).path;
      const norms = await loadNorms(evalSetFile(f.evalSet, f.lang, dataDir), f.lang);
      let words = promptWords(norms);
      if (f.limit) words = words.slice(0, f.limit);
      const runtime = await chooseInferenceRuntime(f.backend);
      const lm = await loadModel(f.model);
      mkdirSync(out, { recursive: true });
      markOutput(out, 'trajectory');
      const points = await alignmentTrajectory(lm, resolve(f.run), norms, words, f.lang, out, { onnx: runtime.onnx });
      const subsets = Object.keys(points[0].rsa);
      const rows = points.map((p) => [p.step, ...subsets.map((s) => p.rsa[s]), p.meanDimensionRho]);
      writeFileAtomic(join(out, 'trajectory.csv'), Papa.unparse({ fields: ['step', ...subsets.map((s) => `rsa_${s}`), 'mean_dimension_rho'], data: rows }, { newline: '\n' }) + '\n');
      process.stdout.write(formatTable([['step', ...subsets.map((s) => `RSA ${s}`), 'mean dim ρ'], ...rows.map((r) => [r[0], ...r.slice(1).map((v) => Number(v).toFixed(3))])]) + '\n');
    }));
}
