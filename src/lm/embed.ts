import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import type { Lang } from '../data/dimensions.js';
import type { CausalLM } from './model.js';
import { isEngine, tfEngine, type LmEngine } from './engine.js';
import type { LmTokenizer } from './tokenizer.js';
import { PLACEHOLDERS, fillTemplate } from './prompts.js';
import { PromptBuilder, checkFinite, checkWords, commonPrefix } from './rate.js';
import { Progress } from '../util/progress.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { assertReplaceable } from '../util/marker.js';

/** Fixed prompts for word representations (the word is followed by text, so "last" ≠ word). */
export const DEFAULT_EMBED_PROMPTS: Record<Lang, string> = {
  en: 'Think of the meaning of the word "{Word}".',
  nl: 'Denk aan de betekenis van het woord "{Woord}".',
};

export interface EmbedOptions {
  words: string[];
  lang?: Lang;
  /** Template with {Word} / {Woord}; default DEFAULT_EMBED_PROMPTS[lang]. */
  prompt?: string;
  /** Wrap the prompt in the chat template: 'never' (default), 'auto' or 'always'. */
  chat?: 'auto' | 'always' | 'never';
  batchSize?: number;
  progress?: boolean;
  /** The model (folder or name) for error messages. */
  modelName?: string;
}

/** Per-layer word representations, row-major [layers, words, hidden]. */
export interface WordEmbeddings {
  words: string[];
  /** numLayers + 1: 0 = embeddings, i = output of layer i, the last after the final norm. */
  layers: number;
  hidden: number;
  /** Hidden state at the last prompt token. */
  last: Float32Array;
  /** Mean hidden state over the word's own tokens. */
  mean: Float32Array;
  prompt: string;
}

/** Token ids of a prompt and the [start, end) token span covering the word. */
export function wordSpan(builder: PromptBuilder, prompt: string, word: string): { ids: number[]; start: number; end: number } {
  const sentinel = '\u2063SMFTWORD\u2063';
  const rendered = builder.text(fillTemplate(prompt, sentinel));
  const before = rendered.slice(0, rendered.indexOf(sentinel));
  const ids = builder.encode(rendered.split(sentinel).join(word));
  const start = Math.min(commonPrefix(builder.encode(before), ids), ids.length - 1);
  const upto = builder.encode(before + word);
  const common = commonPrefix(upto, ids);
  const end = Math.min(ids.length, Math.max(start + 1, common === upto.length ? common : common + 1));
  return { ids, start, end };
}

/**
 * Hidden states of every layer for each word, read at the last prompt token and averaged over
 * the word's tokens, from one fixed prompt per word.
 */
export async function embedWords(lm: CausalLM | LmEngine, tokenizer: LmTokenizer, opts: EmbedOptions): Promise<WordEmbeddings> {
  const model = isEngine(lm) ? lm : tfEngine(lm);
  const words = checkWords(opts.words);
  const prompt = opts.prompt ?? DEFAULT_EMBED_PROMPTS[opts.lang ?? 'en'];
  if (!PLACEHOLDERS.some((p) => prompt.includes(p))) throw new SmftError(`embedding prompt has no word placeholder (${PLACEHOLDERS.join(' or ')})`);
  const builder = new PromptBuilder(tokenizer, { chat: opts.chat ?? 'never', answerPrefix: '' });
  const batchSize = opts.batchSize ?? 16;
  const layers = model.config.numLayers + 1;
  const h = model.config.hiddenSize;
  const n = words.length;
  const last = new Float32Array(layers * n * h);
  const mean = new Float32Array(layers * n * h);
  const pad = tokenizer.padTokenId < model.config.vocabSize ? tokenizer.padTokenId : 0;
  const progress = opts.progress === false ? null : new Progress('embed', n);
  log.info({ words: n, layers, hidden: h, prompt }, 'extracting word representations');
  try {
    for (let s = 0; s < n; s += batchSize) {
      const batch = words.slice(s, s + batchSize).map((w) => wordSpan(builder, prompt, w));
      const tmax = Math.max(...batch.map((b) => b.ids.length));
      const ids = batch.map((b) => [...b.ids, ...new Array<number>(tmax - b.ids.length).fill(pad)]);
      const mask = batch.map((b) => [...b.ids.map(() => 1), ...new Array<number>(tmax - b.ids.length).fill(0)]);
      const states = await model.hiddenStates(ids, mask);
      for (const [l, d] of states.entries()) {
        batch.forEach((b, r) => {
          const o = (l * n + s + r) * h;
          const row = (t: number): Float32Array => d.subarray((r * tmax + t) * h, (r * tmax + t + 1) * h);
          last.set(row(b.ids.length - 1), o);
          for (let t = b.start; t < b.end; t++) {
            const x = row(t);
            for (let j = 0; j < h; j++) mean[o + j] += x[j] / (b.end - b.start);
          }
        });
      }
      for (let l = 0; l < layers; l++) {
        const from = (l * n + s) * h, to = (l * n + s + batch.length) * h;
        checkFinite(last.subarray(from, to), opts.modelName, () => words.slice(s, s + batchSize));
        checkFinite(mean.subarray(from, to), opts.modelName, () => words.slice(s, s + batchSize));
      }
      progress?.tick(batch.length);
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    progress?.stop();
  }
  return { words, layers, hidden: h, last, mean, prompt };
}

/**
 * Save as safetensors: `last` and `mean`, float32 [layers, words, hidden]; the words (JSON
 * array), model, prompt and layer convention in the header metadata.
 */
export function saveEmbeddings(path: string, e: WordEmbeddings, model: string): void {
  assertReplaceable(path, 'embeddings');
  const shape = [e.layers, e.words.length, e.hidden];
  writeSafetensors(path, { last: { shape, data: e.last }, mean: { shape, data: e.mean } }, {
    format: 'smft-embeddings/1',
    words: JSON.stringify(e.words),
    model,
    prompt: e.prompt,
    layers: 'index 0 = token embeddings, i = output of decoder layer i, last = after the final norm',
  });
}

export function loadEmbeddings(path: string): WordEmbeddings & { model: string } {
  const { tensors, metadata } = readSafetensors(path);
  const last = tensors.get('last');
  const mean = tensors.get('mean');
  if (metadata.format !== 'smft-embeddings/1' || !last || !mean || !metadata.words) {
    throw new SmftError('not a smft embeddings file (expected tensors last/mean and words metadata)', path);
  }
  const words = JSON.parse(metadata.words) as string[];
  const [layers, n, hidden] = last.shape;
  if (n !== words.length) throw new SmftError(`embeddings have ${n} rows but ${words.length} words`, path);
  return { words, layers, hidden, last: last.data, mean: mean.data, prompt: metadata.prompt ?? '', model: metadata.model ?? '' };
}
