import { resolve } from 'node:path';
import type { Command } from 'commander';
import { resolveDataDir } from '../../data/datadir.js';
import { initBackend, type BackendName } from '../../lm/backend.js';
import { ENGINE_CHOICES, TRAIN_DEVICES, initTrainingBackend, type EngineChoice, type TrainDevice } from '../../train/lora/engine.js';
import { trainGloveHead, trainGloveQaHead } from '../../train/recipes.js';
import { action, choiceOption, intOption } from '../run.js';
import { trainLoraRecipe } from './train-lora.js';

interface TrainFlags {
  recipe: string; model?: string; out: string; dataDir?: string; backend: BackendName; seed?: number; resume?: boolean; steps?: number;
  engine: EngineChoice; device: TrainDevice;
}

const BACKENDS = ['auto', 'cpu', 'wasm', 'webgpu', 'tensorflow'] as const;

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('fine-tune: LoRA recipes on an LLM (en_ft, nl_ft, qa_ft, or a recipe .json) or heads on frozen features (glove-head, glove-qa)')
    .requiredOption('--recipe <name>', 'en_ft | nl_ft | qa_ft | glove-head | glove-qa | path to a recipe .json')
    .requiredOption('-o, --out <dir>', 'checkpoint folder (e.g. checkpoints/en_ft)')
    .option('--model <path|id>', 'base model: local Hugging Face folder or hub id (LoRA recipes)')
    .option('--backend <name>', 'TF.js backend', choiceOption('backend', BACKENDS), 'auto')
    .option('--seed <n>', 'seed (overrides the recipe)', intOption('seed'))
    .option('--steps <n>', 'training steps (overrides the recipe; LoRA)', intOption('steps', 1))
    .option('--engine <name>', 'LoRA: what computes the gradients: onnx (ONNX Runtime, explicit backward graphs), tfjs (TF.js autodiff on --backend); auto: onnx where it runs', choiceOption('engine', ENGINE_CHOICES), 'auto')
    .option('--device <name>', 'ONNX Runtime execution provider of the onnx engine: cpu, webgpu, or cuda (onnxruntime-node with its CUDA files; untested)', choiceOption('device', TRAIN_DEVICES), 'cpu')
    .option('--resume', 'continue from the last checkpoint in --out, exactly')
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .action(action(async (f: TrainFlags) => {
      const dataDir = resolveDataDir(f.dataDir);
      const out = resolve(f.out);
      const head = f.recipe === 'glove-head' || f.recipe === 'glove-qa';
      if (head) await initBackend(f.backend);
      else await initTrainingBackend(f.backend, f.engine);
      if (f.recipe === 'glove-head') {
        const r = await trainGloveHead({ out, dataDir, config: f.seed !== undefined ? { seed: f.seed } : undefined });
        process.stdout.write(`${r.dir}  (${r.trainingWords} training words, ${r.seconds.toFixed(1)} s)\n`);
      } else if (f.recipe === 'glove-qa') {
        const r = await trainGloveQaHead({ out, dataDir, config: f.seed !== undefined ? { seed: f.seed } : undefined });
        process.stdout.write(`${r.dir}  (QA test accuracy ${(100 * r.test.accuracy).toFixed(1)}% of ${r.test.n}, ${r.seconds.toFixed(1)} s)\n`);
      } else {
        await trainLoraRecipe({ recipe: f.recipe, model: f.model, out, dataDir, seed: f.seed, steps: f.steps, resume: !!f.resume, engine: f.engine, device: f.device });
      }
    }));
}
