/**
 * The GloVe demo model: a tiny Llama decoder whose word knowledge is GloVe 6B-100d, with a
 * word-level tokenizer, written as a Hugging Face folder (config.json, tokenizer.json,
 * tokenizer_config.json, model.safetensors). See ./weights.ts for what each weight does.
 */
import { join } from 'node:path';
import type { GloveVectors } from '../../features/glove.js';
import { writeDirAtomic, writeFileAtomic } from '../../util/atomic.js';
import { writeSafetensors } from '../safetensors.js';
import { buildVocab, tokenizerFiles, type VocabInputs } from './vocab.js';
import { DEFAULT_SCALES, gloveLlamaConfig, gloveLlamaTensors, type GloveLlamaScales } from './weights.js';

export { buildVocab, tokenizerFiles, wordPieces, WORD_PATTERN, type Vocab, type VocabInputs } from './vocab.js';
export { gloveLlamaTensors, gloveLlamaConfig, layout, DEFAULT_SCALES, type GloveLlamaScales } from './weights.js';

/** Bump when the construction changes (cached demo models are then rebuilt). */
export const GLOVE_LLAMA_VERSION = '1';

/** What config.json's `smft_synthetic` says about the model (contract 2: the report labels it). */
export const GLOVE_LLAMA_SYNTHETIC =
  'hand-built 1-layer Llama demo model (smft glove-llama v' + GLOVE_LLAMA_VERSION + '): GloVe 6B-100d word embeddings ' +
  '(Dutch words share their English translation\'s vector), attention that copies the asked word and the asked modality ' +
  'to the answer position, word-level tokenizer; not a trained language model';

export interface GloveLlamaInfo {
  dir: string;
  vocabSize: number;
  /** Tokens with a GloVe vector. */
  knownTokens: number;
  normWords: number;
  scales: GloveLlamaScales;
}

/** Write the model folder `out` (atomically) from its vocabulary inputs and GloVe vectors. */
export async function writeGloveLlama(out: string, inputs: VocabInputs, glove: GloveVectors, scales: GloveLlamaScales = DEFAULT_SCALES): Promise<GloveLlamaInfo> {
  const vocab = buildVocab(inputs);
  const { tensors, knownTokens } = gloveLlamaTensors(vocab, glove, scales);
  const tok = tokenizerFiles(vocab);
  const json = (x: unknown) => JSON.stringify(x, null, 2) + '\n';
  await writeDirAtomic(out, (dir) => {
    writeFileAtomic(join(dir, 'config.json'), json(gloveLlamaConfig(vocab, scales, GLOVE_LLAMA_SYNTHETIC)));
    writeFileAtomic(join(dir, 'generation_config.json'), json({ bos_token_id: vocab.ids.bos, eos_token_id: vocab.ids.eos, do_sample: false }));
    writeFileAtomic(join(dir, 'tokenizer.json'), JSON.stringify(tok.tokenizer));
    writeFileAtomic(join(dir, 'tokenizer_config.json'), json(tok.config));
    writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt', smft_synthetic: GLOVE_LLAMA_SYNTHETIC });
  });
  return { dir: out, vocabSize: vocab.tokens.length, knownTokens, normWords: inputs.normWords.length, scales };
}
