/** smft's LLM engine: load Hugging Face causal LMs in TF.js, elicit ratings, extract representations. */
export { initBackend, type BackendName } from './backend.js';
export { loadModel, type LoadOptions, type LoadedModel } from './load.js';
export { resolveModelDir, defaultCacheDir, type ResolveOptions } from './hub.js';
export { readConfig, parseConfig, type LmConfig } from './config.js';
export { CausalLM, disposeCache, type ForwardOptions, type ForwardOutput, type PastKeyValues, type LayerKV, type LinearAdapter } from './model.js';
export { LmTokenizer, type ChatMessage } from './tokenizer.js';
export { SafetensorsFile, WeightSource, readSafetensors, writeSafetensors, type F32Tensor } from './safetensors.js';
export { loadTemplates, defaultTemplatesDir, fillTemplate, PLACEHOLDERS, type PromptTemplate } from './prompts.js';
export { rateWords, PromptBuilder, digitTokenIds, ratingFromLogits, checkWords, type RatingRow, type RateOptions, type RateStats } from './rate.js';
export { PredictionsWriter, PREDICTION_COLUMNS } from './predictions.js';
export { embedWords, saveEmbeddings, loadEmbeddings, DEFAULT_EMBED_PROMPTS, type EmbedOptions, type WordEmbeddings } from './embed.js';
export { rateWordsParallel, type ParallelRateOptions } from './parallel.js';
export { randomModel } from './random.js';
export { wordSpan } from './embed.js';
export { checkFits } from './load.js';
