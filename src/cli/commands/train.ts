import { basename, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { resolveDataDir } from '../../data/datadir.js';
import { initBackend, type BackendName } from '../../lm/backend.js';
import { ENGINE_CHOICES, TRAIN_DEVICES, initTrainingBackend, type EngineChoice, type TrainDevice } from '../../train/lora/engine.js';
import { trainGloveHead, trainGloveQaHead } from '../../train/recipes.js';
import { SmftError } from '../../util/errors.js';
import { defaultOutput, prepareOutput, safeName } from '../../util/output.js';
import { action, choiceOption, collect, intOption, seedOption } from '../run.js';
import { trainLoraRecipe } from './train-lora.js';

interface TrainFlags {
  recipe: string; model?: string; out?: string; dataDir?: string; backend: BackendName; seed?: number; resume?: boolean; force?: boolean; steps?: number;
  targets?: 'smft' | 'paper'; set?: string[]; engine: EngineChoice; device: TrainDevice;
}

const HEADS = ['glove-head', 'glove-qa'];

const BACKENDS = ['auto', 'cpu', 'wasm', 'webgpu', 'tensorflow'] as const;

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('fine-tune: LoRA recipes on an LLM (en_ft, nl_ft, qa_ft, or a recipe .json) or heads on frozen features (glove-head, glove-qa)')
    .requiredOption('--recipe <name>', 'en_ft | nl_ft | qa_ft | glove-head | glove-qa | path to a recipe .json')
    .option('-o, --out <dir>', 'checkpoint folder (default runs/train/<recipe>)')
    .option('--model <path|id>', 'base model: local Hugging Face folder or hub id (LoRA recipes)')
    .option('--backend <name>', 'TF.js backend', choiceOption('backend', BACKENDS), 'auto')
    .option('--seed <n>', 'seed (overrides the recipe; 0 … 4294967295)', seedOption())
    .option('--steps <n>', 'run exactly n optimizer steps, over as many epochs as needed (as Hugging Face max_steps; overrides the recipe; LoRA)', intOption('steps', 1, 1e9))
    .option('--engine <name>', 'LoRA: what computes the gradients: onnx (ONNX Runtime, explicit backward graphs), tfjs (TF.js autodiff on --backend); auto: onnx where it runs', choiceOption('engine', ENGINE_CHOICES), 'auto')
    .option('--device <name>', 'ONNX Runtime execution provider of the onnx engine: cpu, webgpu, or cuda (onnxruntime-node with its CUDA files; untested)', choiceOption('device', TRAIN_DEVICES), 'cpu')
    .option('--resume', 'continue from the last checkpoint in --out, exactly')
    .option('--targets <kind>', "LoRA: smft (the recipe's objective, default) or paper (the paper's answer texts, full-vocabulary cross-entropy; rate with --read decimal)", choiceOption('targets', ['smft', 'paper'] as const))
    .option('--set <key=value>', 'LoRA: override a recipe setting, e.g. train.lr=1e-4 (repeatable)', collect)
    .option('--force', 'start over: replace an existing smft run or head checkpoint at --out (never anything else)')
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .action(action(async (f: TrainFlags) => {
      const dataDir = resolveDataDir(f.dataDir);
      const head = HEADS.includes(f.recipe);
      if (f.resume && f.force) throw new SmftError('give --resume (continue the run) or --force (start over), not both');
      if (f.resume && head) throw new SmftError(`--resume applies to LoRA recipes; '${f.recipe}' trains in one go`);
      const recipeFile = !head && f.recipe.endsWith('.json') && existsSync(f.recipe) ? f.recipe : undefined;
      const out = prepareOutput({
        path: f.out ?? defaultOutput('train', safeName(basename(f.recipe).replace(/\.json$/, ''))),
        kind: head ? 'head' : 'lora-run', force: f.force, resume: f.resume, inputs: [dataDir, recipeFile, f.model],
      }).path;
      if (head) await initBackend(f.backend);
      else await initTrainingBackend(f.backend, f.engine);
      if (f.recipe === 'glove-head') {
        const r = await trainGloveHead({ out, dataDir, config: f.seed !== undefined ? { seed: f.seed } : undefined });
        process.stdout.write(`${r.dir}  (${r.trainingWords} training words, ${r.seconds.toFixed(1)} s)\n`);
      } else if (f.recipe === 'glove-qa') {
        const r = await trainGloveQaHead({ out, dataDir, config: f.seed !== undefined ? { seed: f.seed } : undefined });
        process.stdout.write(`${r.dir}  (QA test accuracy ${(100 * r.test.accuracy).toFixed(1)}% of ${r.test.n}, ${r.seconds.toFixed(1)} s)\n`);
      } else {
        const set = [...(f.targets ? [`targets=${f.targets}`] : []), ...(f.set ?? [])];
        await trainLoraRecipe({ recipe: f.recipe, model: f.model, out, dataDir, seed: f.seed, steps: f.steps, resume: !!f.resume, set, engine: f.engine, device: f.device });
      }
    }));
}
