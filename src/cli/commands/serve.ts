import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { SmftError } from '../../util/errors.js';
import { log } from '../../util/log.js';
import { loadModel } from '../../lm/load.js';
import { isEngine, tfEngine } from '../../lm/engine.js';
import { chooseInferenceRuntime, INFERENCE_BACKENDS, type InferenceBackend } from '../../lm/runtime-choice.js';
import { inferenceModel } from '../../train/lora/inference.js';
import { startServer } from '../../serve/server.js';
import { checkpointBaseModel } from './train-lora.js';
import { action, choiceOption, intOption, BACKEND_HELP } from '../run.js';

interface ServeFlags {
  model?: string; checkpoint?: string; host: string; port: number; backend: InferenceBackend;
  apiKeyEnv?: string; servedModelName?: string; maxBatch: number; batchWindowMs: number;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('an OpenAI-compatible server over the model (chat/completions with logprobs, /tokenize, hidden states); prints "listening on http://HOST:PORT" first')
    .option('--model <path|id>', 'Hugging Face model folder or hub id')
    .option('--checkpoint <dir>', 'LoRA checkpoint to serve (merged into the weights on ONNX Runtime; its base model unless --model)')
    .option('--host <host>', 'address to bind (loopback by default; 0.0.0.0 serves the network — set a key)', '127.0.0.1')
    .option('--port <n>', 'port (0 picks a free one)', intOption('port', 0), 8000)
    .option('--backend <name>', BACKEND_HELP, choiceOption('backend', INFERENCE_BACKENDS), 'onnx')
    .option('--api-key-env <name>', 'environment variable holding a key that every request must send as "Authorization: Bearer <key>"')
    .option('--served-model-name <name>', 'the model id clients ask for (default: the model or checkpoint folder name, or the hub id)')
    .option('--max-batch <n>', 'sequences per forward pass when requests arrive together', intOption('max-batch', 1), 16)
    .option('--batch-window-ms <ms>', 'how long a forward pass waits for more requests', intOption('batch-window-ms', 0), 5)
    .action(action(async (f: ServeFlags) => {
      if (!f.model && !f.checkpoint) throw new SmftError('give --model (and optionally --checkpoint)');
      let apiKey: string | undefined;
      if (f.apiKeyEnv) {
        apiKey = process.env[f.apiKeyEnv];
        if (!apiKey) throw new SmftError(`--api-key-env ${f.apiKeyEnv}: that environment variable is empty or unset`);
      }
      const runtime = await chooseInferenceRuntime(f.backend);
      const checkpoint = f.checkpoint ? resolve(f.checkpoint) : undefined;
      const lm = await loadModel(checkpoint && !f.model ? checkpointBaseModel(checkpoint) : f.model!);
      const im = await inferenceModel(lm.model, { onnx: runtime.onnx, checkpoint, modelName: lm.name });
      const engine = isEngine(im.engine) ? im.engine : tfEngine(im.engine);
      const modelName = f.servedModelName ?? (checkpoint ? basename(im.dir ?? checkpoint) : lm.name);
      const server = await startServer({ engine, tokenizer: lm.tokenizer, modelName, host: f.host, port: f.port, apiKey, maxBatch: f.maxBatch, batchWindowMs: f.batchWindowMs });
      process.stdout.write(`listening on ${server.url}\n`);
      log.info({ url: `${server.url}/v1`, model: modelName, runtime: engine.runtime, auth: !!apiKey }, 'serving');
      if (!apiKey && !isLoopback(server.host)) log.warn({ host: server.host }, 'serving beyond this machine without a key (--api-key-env)');
      await new Promise<void>((done) => {
        const stop = (): void => { void server.close().then(() => im.release()).then(done); };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    }));
}

const isLoopback = (host: string): boolean => host === '::1' || host.startsWith('127.') || host === 'localhost';
