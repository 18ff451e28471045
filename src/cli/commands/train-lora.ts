import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CausalLM } from '../../lm/model.js';
import { SmftError } from '../../util/errors.js';
import { applyCheckpoint as attach } from '../../train/lora/apply.js';
import { resolveCheckpointDir } from '../../train/lora/checkpoint.js';
import { readAdapterFiles } from '../../train/lora/peft.js';
import { mergeLora } from '../../train/lora/merge.js';
import { trainLoraRecipe as runLoraRecipe } from '../../train/lora/recipes.js';
import { action } from '../run.js';

/** `smft train` for LoRA recipes: prints the run folder and the final adapter. */
export async function trainLoraRecipe(opts: { recipe: string; model?: string; out: string; dataDir: string; seed?: number; steps?: number; resume: boolean }): Promise<void> {
  const r = await runLoraRecipe(opts);
  process.stdout.write(`${r.runDir}\nfinal adapter: ${r.finalDir}${r.test ? `\nQA test accuracy ${(100 * r.test.accuracy).toFixed(1)}% (base ${(100 * (r.test.baseAccuracy ?? NaN)).toFixed(1)}%)` : ''}\n`);
}

/**
 * Apply a LoRA checkpoint (adapter, step or run folder) to `model` (attached as hooks); without
 * a model, only report the base model the adapter was trained on.
 */
export async function applyCheckpoint(path: string, model?: CausalLM): Promise<{ baseModel: string; dir: string }> {
  const dir = resolveCheckpointDir(path);
  const files = readAdapterFiles(dir);
  if (!model) {
    if (!files.baseName) throw new SmftError('the adapter does not name its base model (adapter_config.json base_model_name_or_path); pass --model', dir);
    return { baseModel: files.baseName, dir };
  }
  attach(model, dir);
  return { baseModel: files.baseName ?? '', dir };
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('bake a LoRA checkpoint into the base weights and write a Hugging Face model folder')
    .requiredOption('--model <path|id>', 'base model folder or hub id')
    .requiredOption('--checkpoint <dir>', 'adapter, step or run folder from smft train')
    .requiredOption('-o, --out <dir>', 'output model folder (written atomically)')
    .action(action(async (f: { model: string; checkpoint: string; out: string }) => {
      const r = await mergeLora({ base: f.model, adapter: resolve(f.checkpoint), out: resolve(f.out) });
      process.stdout.write(`${r.out}\n`);
    }));
}
