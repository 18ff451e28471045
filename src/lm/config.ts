import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';

/** Llama-3 frequency-dependent RoPE scaling (transformers' `_compute_llama3_parameters`). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

/** Validated architecture of a supported decoder-only causal LM. */
export interface LmConfig {
  modelType: 'llama' | 'qwen2' | 'mistral';
  architecture: string;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** Bias on q/k/v projections (always for qwen2; `attention_bias` for llama). */
  qkvBias: boolean;
  /** Bias on o_proj (llama `attention_bias`). */
  oBias: boolean;
  /** Bias on the MLP projections (llama `mlp_bias`). */
  mlpBias: boolean;
  /** Mistral-style sliding window; sequences longer than this are refused. */
  slidingWindow: number | null;
  bosTokenId: number | null;
  eosTokenIds: number[];
}

const ARCHITECTURES: Record<string, LmConfig['modelType']> = {
  LlamaForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  MistralForCausalLM: 'mistral',
};

/** Fields read (honoured) or known to be irrelevant for inference/fine-tuning in float32. */
const KNOWN_FIELDS = new Set([
  'architectures', 'model_type', 'vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers',
  'num_attention_heads', 'num_key_value_heads', 'head_dim', 'rms_norm_eps', 'rope_theta', 'rope_scaling',
  'rope_parameters', 'max_position_embeddings', 'tie_word_embeddings', 'attention_bias', 'mlp_bias',
  'hidden_act', 'sliding_window', 'use_sliding_window', 'max_window_layers', 'layer_types', 'bos_token_id',
  'eos_token_id', 'pad_token_id', 'torch_dtype', 'dtype', 'transformers_version', 'use_cache',
  'initializer_range', 'attention_dropout', 'pretraining_tp', 'partial_rotary_factor', '_name_or_path',
  'quantization_config', 'return_dict', 'output_hidden_states', 'output_attentions', 'use_return_dict',
  'is_decoder', 'tokenizer_class', 'task_specific_params', 'id2label', 'label2id', 'problem_type',
  'unsloth_version', 'auto_map', 'model_name', 'use_mrope', 'resid_pdrop', 'embd_pdrop', 'mlp_dropout',
  'smft_synthetic',
]);

type Json = Record<string, unknown>;

/** Read and validate `<dir>/config.json`. */
export function readConfig(dir: string): LmConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new SmftError('config.json not found (is this a Hugging Face model folder?)', dir);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new SmftError(`invalid JSON (${(e as Error).message.split('\n')[0]})`, path);
  }
  return parseConfig(json, path);
}

/**
 * Validate a parsed config.json. Everything the forward pass needs is honoured; anything that
 * would change the computation and is not implemented is refused with an error naming the field.
 */
export function parseConfig(json: unknown, where = 'config.json'): LmConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SmftError('config is not a JSON object', where);
  const c = json as Json;
  const fail = (field: string, msg: string): never => {
    throw new SmftError(`unsupported ${field}: ${msg}`, where);
  };

  const archs = c.architectures;
  let architecture: string | undefined;
  if (archs !== undefined) {
    if (!Array.isArray(archs) || archs.length !== 1 || typeof archs[0] !== 'string') fail('architectures', JSON.stringify(archs));
    architecture = (archs as string[])[0];
    if (!(architecture in ARCHITECTURES)) {
      fail('architectures', `'${architecture}' (supported: ${Object.keys(ARCHITECTURES).join(', ')})`);
    }
  }
  const modelType = c.model_type;
  if (typeof modelType !== 'string' || !Object.values(ARCHITECTURES).includes(modelType as LmConfig['modelType'])) {
    fail('model_type', `'${String(modelType)}' (supported: llama, qwen2, mistral)`);
  }
  const mt = modelType as LmConfig['modelType'];
  if (architecture !== undefined && ARCHITECTURES[architecture] !== mt) {
    fail('architectures', `'${architecture}' does not match model_type '${mt}'`);
  }

  const int = (field: string, dflt?: number): number => {
    const v = c[field] ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new SmftError(`${field} must be a positive integer (got ${JSON.stringify(c[field])})`, where);
    }
    return v;
  };
  const num = (field: string, dflt?: number, obj: Json = c): number => {
    const v = obj[field] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new SmftError(`${field} must be a number (got ${JSON.stringify(obj[field])})`, where);
    return v;
  };

  const hiddenSize = int('hidden_size');
  const numHeads = int('num_attention_heads');
  const numKvHeads = int('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) fail('num_key_value_heads', `${numKvHeads} does not divide num_attention_heads ${numHeads}`);
  const headDim = c.head_dim == null ? hiddenSize / numHeads : int('head_dim');
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) fail('head_dim', `${headDim} (must be an even integer)`);

  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') fail('hidden_act', `'${String(act)}' (only silu)`);
  if (c.partial_rotary_factor != null && c.partial_rotary_factor !== 1) fail('partial_rotary_factor', String(c.partial_rotary_factor));
  if (c.quantization_config != null) fail('quantization_config', 'quantized checkpoints are not supported; use a bf16/f16/f32 model');
  if (c.use_mrope) fail('use_mrope', 'multimodal rope');

  // RoPE: legacy rope_theta/rope_scaling, or transformers v5 rope_parameters.
  const rp = (c.rope_parameters ?? null) as Json | null;
  const ropeTheta = num('rope_theta', (rp?.rope_theta as number | undefined) ?? 10000);
  const rsRaw = (c.rope_scaling ?? rp ?? null) as Json | null;
  let ropeScaling: Llama3RopeScaling | null = null;
  if (rsRaw !== null) {
    if (typeof rsRaw !== 'object') fail('rope_scaling', JSON.stringify(rsRaw));
    const kind = rsRaw.rope_type ?? rsRaw.type ?? 'default';
    if (kind === 'llama3') {
      ropeScaling = {
        type: 'llama3',
        factor: num('factor', undefined, rsRaw),
        lowFreqFactor: num('low_freq_factor', undefined, rsRaw),
        highFreqFactor: num('high_freq_factor', undefined, rsRaw),
        originalMaxPositionEmbeddings: num('original_max_position_embeddings', undefined, rsRaw),
      };
      if (ropeScaling.highFreqFactor === ropeScaling.lowFreqFactor) fail('rope_scaling', 'high_freq_factor equals low_freq_factor');
    } else if (kind !== 'default') {
      fail('rope_scaling', `type '${String(kind)}' (supported: llama3, default)`);
    }
    if (rsRaw.attention_factor != null && rsRaw.attention_factor !== 1) fail('rope_scaling.attention_factor', String(rsRaw.attention_factor));
  }

  // Sliding-window attention: honoured only as a length limit for full-attention-equivalent use.
  let slidingWindow: number | null = null;
  if (Array.isArray(c.layer_types) && c.layer_types.some((t) => t !== 'full_attention')) {
    fail('layer_types', 'sliding-window attention layers');
  }
  if (mt === 'qwen2') {
    if (c.use_sliding_window === true) fail('use_sliding_window', 'sliding-window attention (use_sliding_window: true)');
  } else if (mt === 'mistral' && c.sliding_window != null) {
    slidingWindow = int('sliding_window');
  } else if (mt === 'llama' && c.sliding_window != null) {
    fail('sliding_window', 'llama with a sliding window');
  }

  const tie = c.tie_word_embeddings ?? false; // LlamaConfig, Qwen2Config and MistralConfig default to untied
  if (typeof tie !== 'boolean') fail('tie_word_embeddings', JSON.stringify(tie));
  const attnBias = c.attention_bias ?? false;
  const mlpBias = c.mlp_bias ?? false;
  if (typeof attnBias !== 'boolean') fail('attention_bias', JSON.stringify(attnBias));
  if (typeof mlpBias !== 'boolean') fail('mlp_bias', JSON.stringify(mlpBias));
  if (mt !== 'llama' && (attnBias || mlpBias)) fail(attnBias ? 'attention_bias' : 'mlp_bias', `true for model_type ${mt}`);

  const unknown = Object.keys(c).filter((k) => !KNOWN_FIELDS.has(k));
  if (unknown.length) log.warn({ fields: unknown, config: where }, 'config.json fields not used by smft');

  const eos = c.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.filter((x): x is number => typeof x === 'number') : typeof eos === 'number' ? [eos] : [];

  return {
    modelType: mt,
    architecture: architecture ?? Object.keys(ARCHITECTURES).find((k) => ARCHITECTURES[k] === mt)!,
    vocabSize: int('vocab_size'),
    hiddenSize,
    intermediateSize: int('intermediate_size'),
    numLayers: int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: num('rms_norm_eps', 1e-6),
    ropeTheta,
    ropeScaling,
    maxPositionEmbeddings: int('max_position_embeddings', 2048),
    tieWordEmbeddings: tie as boolean,
    qkvBias: mt === 'qwen2' || (attnBias as boolean),
    oBias: attnBias as boolean,
    mlpBias: mlpBias as boolean,
    slidingWindow,
    bosTokenId: typeof c.bos_token_id === 'number' ? c.bos_token_id : null,
    eosTokenIds,
  };
}

/** HF tensor names and shapes the config implies (linear weights in HF [out, in] layout). */
export function expectedTensors(cfg: LmConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const { hiddenSize: h, intermediateSize: inter, vocabSize: v, numHeads: nh, numKvHeads: nkv, headDim: hd } = cfg;
  m.set('model.embed_tokens.weight', [v, h]);
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}.`;
    m.set(p + 'input_layernorm.weight', [h]);
    m.set(p + 'post_attention_layernorm.weight', [h]);
    m.set(p + 'self_attn.q_proj.weight', [nh * hd, h]);
    m.set(p + 'self_attn.k_proj.weight', [nkv * hd, h]);
    m.set(p + 'self_attn.v_proj.weight', [nkv * hd, h]);
    m.set(p + 'self_attn.o_proj.weight', [h, nh * hd]);
    if (cfg.qkvBias) {
      m.set(p + 'self_attn.q_proj.bias', [nh * hd]);
      m.set(p + 'self_attn.k_proj.bias', [nkv * hd]);
      m.set(p + 'self_attn.v_proj.bias', [nkv * hd]);
    }
    if (cfg.oBias) m.set(p + 'self_attn.o_proj.bias', [h]);
    m.set(p + 'mlp.gate_proj.weight', [inter, h]);
    m.set(p + 'mlp.up_proj.weight', [inter, h]);
    m.set(p + 'mlp.down_proj.weight', [h, inter]);
    if (cfg.mlpBias) {
      m.set(p + 'mlp.gate_proj.bias', [inter]);
      m.set(p + 'mlp.up_proj.bias', [inter]);
      m.set(p + 'mlp.down_proj.bias', [h]);
    }
  }
  m.set('model.norm.weight', [h]);
  if (!cfg.tieWordEmbeddings) m.set('lm_head.weight', [v, h]);
  return m;
}
