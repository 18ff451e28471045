/**
 * LoRA configuration (Hu et al. 2021, as implemented by Hugging Face PEFT) and its mapping to
 * PEFT's adapter_config.json, so adapters trained here load in Python's `peft` and back.
 *
 * An adapted linear layer computes y' = x·Wᵀ + b + s · (dropout(x)·Aᵀ)·Bᵀ with A [r, in],
 * B [out, r] and s = alpha / r (alpha / √r with rsLoRA). A starts as PEFT's
 * kaiming_uniform_(a = √5), i.e. U(−1/√in, 1/√in), B as zeros, so training starts exactly at
 * the base model.
 */
import { SmftError } from '../../util/errors.js';
import type { LmConfig } from '../../lm/config.js';

/** The linear layers of a Llama / Qwen2 / Mistral decoder layer that can carry an adapter. */
export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

const TARGET_PATH: Record<LoraTarget, string> = {
  q_proj: 'self_attn.q_proj', k_proj: 'self_attn.k_proj', v_proj: 'self_attn.v_proj', o_proj: 'self_attn.o_proj',
  gate_proj: 'mlp.gate_proj', up_proj: 'mlp.up_proj', down_proj: 'mlp.down_proj',
};

export interface LoraConfig {
  /** Rank r of the update B·A. */
  r: number;
  /** Scaling numerator: s = alpha / r (alpha / √r with useRslora). */
  alpha: number;
  /** Dropout probability on the adapter's input (training only; PEFT's lora_dropout). */
  dropout: number;
  /** Which linear layers of each decoder layer get an adapter. */
  targetModules: LoraTarget[];
  /** Decoder layer indices to adapt; null = all (PEFT's layers_to_transform). */
  layers: number[] | null;
  /** rsLoRA scaling alpha / √r (PEFT's use_rslora). */
  useRslora: boolean;
}

export const LORA_DEFAULTS: LoraConfig = {
  r: 16, alpha: 32, dropout: 0.05, targetModules: [...LORA_TARGETS], layers: null, useRslora: false,
};

/** The factor s multiplying B·A. */
export function loraScale(c: Pick<LoraConfig, 'r' | 'alpha' | 'useRslora'>): number {
  return c.useRslora ? c.alpha / Math.sqrt(c.r) : c.alpha / c.r;
}

/** Fill defaults and validate; every problem is one SmftError naming the field. */
export function resolveLoraConfig(partial: Partial<LoraConfig> = {}, where = 'lora'): LoraConfig {
  const known = new Set(Object.keys(LORA_DEFAULTS));
  for (const k of Object.keys(partial)) if (!known.has(k)) throw new SmftError(`unknown LoRA setting '${k}' (known: ${[...known].join(', ')})`, where);
  const c: LoraConfig = { ...LORA_DEFAULTS, ...partial };
  const bad = (msg: string): never => { throw new SmftError(`invalid LoRA setting: ${msg}`, where); };
  if (!(Number.isInteger(c.r) && c.r >= 1)) bad(`r=${c.r} (need an integer ≥ 1)`);
  if (!(typeof c.alpha === 'number' && Number.isFinite(c.alpha) && c.alpha > 0)) bad(`alpha=${c.alpha} (need a number > 0)`);
  if (!(typeof c.dropout === 'number' && c.dropout >= 0 && c.dropout < 1)) bad(`dropout=${c.dropout} (need 0 ≤ p < 1)`);
  if (!Array.isArray(c.targetModules) || c.targetModules.length === 0) bad('targetModules must list at least one of ' + LORA_TARGETS.join(', '));
  for (const t of c.targetModules) if (!(LORA_TARGETS as readonly string[]).includes(t)) bad(`target module '${t}' (known: ${LORA_TARGETS.join(', ')})`);
  if (new Set(c.targetModules).size !== c.targetModules.length) bad('targetModules lists a module twice');
  if (c.layers !== null) {
    if (!Array.isArray(c.layers) || c.layers.length === 0) bad('layers must be null (all) or a non-empty list of layer indices');
    for (const l of c.layers) if (!(Number.isInteger(l) && l >= 0)) bad(`layer index ${l}`);
    if (new Set(c.layers).size !== c.layers.length) bad('layers lists a layer twice');
  }
  if (typeof c.useRslora !== 'boolean') bad(`useRslora=${String(c.useRslora)}`);
  // Canonical order, so that configs compare equal however they were written.
  return {
    ...c,
    targetModules: LORA_TARGETS.filter((t) => c.targetModules.includes(t)),
    layers: c.layers === null ? null : [...c.layers].sort((a, b) => a - b),
  };
}

/** HF names (`model.layers.3.self_attn.q_proj`) of the adapted linear layers, in model order. */
export function loraModuleNames(cfg: Pick<LmConfig, 'numLayers'>, lora: LoraConfig): string[] {
  if (lora.layers) {
    const over = lora.layers.filter((l) => l >= cfg.numLayers);
    if (over.length) throw new SmftError(`LoRA layers [${over.join(', ')}] do not exist: the model has ${cfg.numLayers} layers (0–${cfg.numLayers - 1})`);
  }
  const layers = lora.layers ?? Array.from({ length: cfg.numLayers }, (_, i) => i);
  const out: string[] = [];
  for (const i of layers) for (const t of LORA_TARGETS) if (lora.targetModules.includes(t)) out.push(`model.layers.${i}.${TARGET_PATH[t]}`);
  return out;
}

/** PEFT's state-dict prefix for a causal LM (PeftModelForCausalLM → LoraModel → *ForCausalLM). */
export const PEFT_PREFIX = 'base_model.model.';

export function peftTensorName(module: string, which: 'A' | 'B'): string {
  return `${PEFT_PREFIX}${module}.lora_${which}.weight`;
}

/** PEFT's adapter_config.json for a LoRA adapter on a causal LM. */
export interface PeftAdapterConfig {
  peft_type: 'LORA';
  task_type: 'CAUSAL_LM';
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[];
  layers_to_transform: number[] | null;
  use_rslora: boolean;
  base_model_name_or_path: string | null;
  [field: string]: unknown;
}

/** The adapter_config.json PEFT writes (fields of peft ≥ 0.10 that have been stable since). */
export function toPeftConfig(c: LoraConfig, baseModel: string | null): PeftAdapterConfig {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: c.layers,
    loftq_config: {},
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: c.r,
    rank_pattern: {},
    revision: null,
    target_modules: [...c.targetModules],
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: c.useRslora,
  };
}

/**
 * Read a PEFT adapter_config.json (ours or one written by Python's peft). Only what smft can
 * apply is accepted: plain LoRA (no DoRA, no per-module rank/alpha patterns, no bias training,
 * no modules_to_save) on the supported linear layers.
 */
export function fromPeftConfig(json: unknown, where: string): LoraConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SmftError('adapter config is not a JSON object', where);
  const j = json as Record<string, unknown>;
  const fail = (msg: string): never => { throw new SmftError(msg, where); };
  if (j.peft_type !== 'LORA') fail(`not a LoRA adapter (peft_type ${JSON.stringify(j.peft_type)})`);
  if (j.task_type !== undefined && j.task_type !== null && j.task_type !== 'CAUSAL_LM') fail(`task_type ${JSON.stringify(j.task_type)} is not supported (need CAUSAL_LM)`);
  if (j.use_dora === true) fail('DoRA adapters (use_dora: true) are not supported');
  if (j.fan_in_fan_out === true) fail('fan_in_fan_out adapters are not supported');
  for (const f of ['rank_pattern', 'alpha_pattern'] as const) {
    const v = j[f];
    if (v && typeof v === 'object' && Object.keys(v).length) fail(`per-module ${f} is not supported`);
  }
  if (j.bias !== undefined && j.bias !== 'none') fail(`bias ${JSON.stringify(j.bias)} is not supported (need "none")`);
  if (Array.isArray(j.modules_to_save) && j.modules_to_save.length) fail('modules_to_save is not supported');
  let targets = j.target_modules;
  if (typeof targets === 'string') fail(`target_modules given as a regular expression (${targets}) is not supported; list module names`);
  if (!Array.isArray(targets)) fail('target_modules is missing');
  targets = (targets as unknown[]).map((t) => String(t).split('.').pop());
  let layers: number[] | null = null;
  const lt = j.layers_to_transform;
  if (typeof lt === 'number') layers = [lt];
  else if (Array.isArray(lt)) layers = lt as number[];
  else if (lt !== null && lt !== undefined) fail(`layers_to_transform ${JSON.stringify(lt)}`);
  return resolveLoraConfig({
    r: j.r as number,
    alpha: (j.lora_alpha ?? 8) as number,
    dropout: (j.lora_dropout ?? 0) as number,
    targetModules: targets as LoraTarget[],
    layers,
    useRslora: j.use_rslora === true,
  }, where);
}
