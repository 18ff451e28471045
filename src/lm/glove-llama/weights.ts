/**
 * Weights of the GloVe demo model: a one-layer Llama decoder set by hand, in which every number
 * has a stated job. It is a real Llama (RMSNorm, RoPE attention, SwiGLU MLP, tied embeddings), so
 * smft loads, rates, embeds and LoRA-trains it like any checkpoint.
 *
 * Residual stream (hidden 2k + 8, k = 48 word dimensions by default):
 *   [0, k)      G     the token's GloVe 6B-100d vector (unit length, projected on k principal axes,
 *                     ./projection.ts; a seeded random vector for words GloVe lacks; 0 for
 *                     punctuation and digits); at the last position the word head writes the
 *                     asked word's vector here
 *   [k, 2k)     M     written by the modality head: the mean vector of the template's modality words
 *   2k   CONST = 1    (queries; the MLP's offset)
 *   2k+1 WORD         word salience (vocab.ts)         2k+2 MODALITY   modality salience
 *   2k+3 MEAN         the rating direction: digit d has (d − 2.5)·μ; the MLP writes β·(M·G − τ)
 *   2k+4 PREC         1 for words; digit d has −ν·(d − 2.5)², so the digit logits are a discretised
 *                     Gaussian around 2.5 + MEAN
 *   2k+5 ANSWER       1 for the answer cue ":", a large value for digits: after "Answer:" the model
 *                     predicts a digit
 * Attention (2 heads × k): head 0 attends from every position to the most salient norm word
 * before it and copies its G into G; head 1 attends to the modality words and copies their mean
 * G into M. Both use only the lowest RoPE frequency pair (index k/2 − 1), which rotates by ~1e-3 rad
 * over a prompt, so the attention is position-free. MLP (2k + 8 units): k unit pairs compute the
 * products M_i·G_i exactly (silu(z)·y + silu(−z)·(−y) = z·y) and sum them into MEAN: the base
 * model rates a word by the GloVe similarity of the word and the asked modality, a weak but real
 * signal. LoRA can change which directions of G and M meet (v_proj, o_proj, up/gate/down_proj):
 * that is what fine-tuning on the norms has to learn.
 */
import type { GloveVectors } from '../../features/glove.js';
import type { F32Tensor } from '../safetensors.js';
import { principalAxes, project, unitVector } from './projection.js';
import { Rng } from '../../util/rng.js';
import { sha256 } from '../../util/hash.js';
import type { Vocab } from './vocab.js';

export const HEADS = 2;
/** GloVe's dimension, and how many principal axes the model keeps (see ./projection.ts). */
export const GLOVE_DIM = 100;
export const DEFAULT_WORD_DIM = 48;

/** Where each part of the residual stream lives, for word vectors of `k` dimensions. */
export function layout(k: number) {
  if (!Number.isInteger(k) || k < 2 || k % 2 !== 0 || k > GLOVE_DIM) throw new Error(`glove-llama: word dimension ${k} must be even and ≤ ${GLOVE_DIM}`);
  const c = 2 * k;
  return {
    k, hidden: c + 8, intermediate: c + 8, headDim: k,
    G: 0, M: k, CONST: c, WORD: c + 1, MODALITY: c + 2, MEAN: c + 3, PREC: c + 4, ANSWER: c + 5,
  };
}
export type Layout = ReturnType<typeof layout>;

/** The hand-set constants (see the module comment). */
export interface GloveLlamaScales {
  /** Number of principal axes of the word vectors (hidden size = 2·wordDim + 8). */
  wordDim: number;
  /** Attention logit given to a fully salient token (softmax temperature of both heads). */
  attention: number;
  /** MEAN written per unit of M·G similarity, and the similarity that maps to MEAN 0. */
  beta: number;
  tau: number;
  /** Digit logits: (k − 2.5)·mu·MEAN − nu·(k − 2.5)², before the final norm's scale. */
  mu: number;
  nu: number;
  /** ANSWER value of the digit tokens. */
  answer: number;
}

export const DEFAULT_SCALES: GloveLlamaScales = { wordDim: DEFAULT_WORD_DIM, attention: 40, beta: 4, tau: 0.4, mu: 0.133, nu: 0.067, answer: 3 };

/** The model's config.json. */
export function gloveLlamaConfig(vocab: Vocab, scales: GloveLlamaScales, synthetic: string): Record<string, unknown> {
  const L = layout(scales.wordDim);
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: vocab.tokens.length,
    hidden_size: L.hidden,
    intermediate_size: L.intermediate,
    num_hidden_layers: 1,
    num_attention_heads: HEADS,
    num_key_value_heads: HEADS,
    head_dim: L.headDim,
    hidden_act: 'silu',
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    rope_scaling: null,
    max_position_embeddings: 512,
    tie_word_embeddings: true,
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: vocab.ids.bos,
    eos_token_id: vocab.ids.eos,
    pad_token_id: vocab.ids.pad,
    torch_dtype: 'float32',
    smft_synthetic: synthetic,
  };
}

/**
 * The token embeddings [vocab, hidden] (also the output layer: tied), and the mean squared
 * norm of the word vectors of the norm words (for the scales of the RMS norms).
 */
export function embeddings(vocab: Vocab, glove: GloveVectors, s: GloveLlamaScales): { data: Float32Array; known: number; wordNormSq: number } {
  const L = layout(s.wordDim);
  const units = vocab.tokens.map((t) => unitVector(glove, vocab.alias.get(t) ?? t));
  const basis = principalAxes(units.filter((u): u is Float32Array => u !== undefined), GLOVE_DIM, L.k);
  const V = vocab.tokens.length;
  const e = new Float32Array(V * L.hidden);
  let known = 0;
  let normSq = 0;
  let normWords = 0;
  const projected = units.map((u) => (u ? project(basis, GLOVE_DIM, u) : undefined));
  projected.forEach((g, i) => {
    if (g && vocab.word[i] > 0) { normSq += g.reduce((a, x) => a + x * x, 0); normWords++; }
  });
  const typicalNorm = Math.sqrt(normWords ? normSq / normWords : 1);
  vocab.tokens.forEach((t, i) => {
    const row = e.subarray(i * L.hidden, (i + 1) * L.hidden);
    const g = projected[i];
    if (g) {
      row.set(g, L.G);
      known++;
    } else if (/\p{L}/u.test(t)) {
      // A word GloVe lacks (wink's vectors have no single letters: the QA answers A–D) gets a
      // random vector of the typical length, seeded by the token: it is known, but means nothing.
      row.set(randomVector(t, L.k, typicalNorm), L.G);
    }
    row[L.CONST] = 1;
    row[L.WORD] = vocab.word[i];
    row[L.MODALITY] = vocab.modality[i];
    if (/^[0-9]$/.test(t)) {
      const k = Number(t) - 2.5;
      row[L.MEAN] = s.mu * k;
      row[L.PREC] = -s.nu * k * k;
      row[L.ANSWER] = s.answer;
    } else {
      row[L.PREC] = 1;
      if (t === ':') row[L.ANSWER] = 1;
    }
  });
  return { data: e, known, wordNormSq: typicalNorm * typicalNorm };
}

/** A random vector of length `norm`, seeded by a token's text. */
function randomVector(token: string, k: number, norm: number): Float32Array {
  const rng = new Rng(parseInt(sha256(token).slice(0, 8), 16));
  const v = Float32Array.from({ length: k }, () => rng.normal());
  const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => (x / n) * norm);
}

/** A [rows, cols] matrix (HF [out, in] layout) with a setter. */
function matrix(rows: number, cols: number): { t: F32Tensor; set: (r: number, c: number, v: number) => void } {
  const data = new Float32Array(rows * cols);
  return { t: { shape: [rows, cols], data }, set: (r, c, v) => { data[r * cols + c] = v; } };
}

/**
 * All tensors of the model, by Hugging Face name. The RMS norms' scales are computed from the
 * norms of typical residual vectors, so that the stated logits hold: a salient word's key
 * (CONST, WORD, PREC and a word vector), the answer cue's query (CONST, PREC, ANSWER: |x| = √3),
 * the last position after attention (those plus the copied word and modality vectors).
 */
export function gloveLlamaTensors(vocab: Vocab, glove: GloveVectors, s: GloveLlamaScales = DEFAULT_SCALES): { tensors: Record<string, F32Tensor>; knownTokens: number } {
  const L = layout(s.wordDim);
  const { data: embed, known, wordNormSq } = embeddings(vocab, glove, s);
  const ones = (n: number): F32Tensor => ({ shape: [n], data: new Float32Array(n).fill(1) });
  const p = 'model.layers.0.';
  const rms = Math.sqrt(L.hidden);
  const scaleQuery = rms / Math.sqrt(3);
  const scaleKey = rms / Math.sqrt(3 + wordNormSq);
  const scaleMlp = rms / Math.sqrt(3 + 1.5 * wordNormSq);
  const lowest = L.headDim / 2 - 1; // the slowest RoPE pair: (headDim/2 − 1, headDim − 1)

  // Attention: q·k/√hd = attention · salience; values copy G (gain 1 through norm, v and o).
  const qk = Math.sqrt((s.attention * Math.sqrt(L.headDim)) / (scaleQuery * scaleKey));
  const vo = Math.sqrt(1 / scaleKey);
  const q = matrix(HEADS * L.headDim, L.hidden);
  const k = matrix(HEADS * L.headDim, L.hidden);
  const v = matrix(HEADS * L.headDim, L.hidden);
  const o = matrix(L.hidden, HEADS * L.headDim);
  const salience = [L.WORD, L.MODALITY];
  const target = [L.G, L.M];
  for (let h = 0; h < HEADS; h++) {
    q.set(h * L.headDim + lowest, L.CONST, qk);
    k.set(h * L.headDim + lowest, salience[h], qk);
    for (let j = 0; j < L.k; j++) {
      v.set(h * L.headDim + j, L.G + j, vo);
      o.set(target[h] + j, h * L.headDim + j, vo);
    }
  }

  // MLP: unit pairs (2i, 2i+1) give M_i·G_i; the next pair gives −τ·CONST²; all summed into MEAN.
  const gate = matrix(L.intermediate, L.hidden);
  const up = matrix(L.intermediate, L.hidden);
  const down = matrix(L.hidden, L.intermediate);
  const d = s.beta / (scaleMlp * scaleMlp);
  for (let i = 0; i < L.k; i++) {
    gate.set(2 * i, L.M + i, 1); up.set(2 * i, L.G + i, 1);
    gate.set(2 * i + 1, L.M + i, -1); up.set(2 * i + 1, L.G + i, -1);
    down.set(L.MEAN, 2 * i, d); down.set(L.MEAN, 2 * i + 1, d);
  }
  const u = 2 * L.k;
  gate.set(u, L.CONST, 1); up.set(u, L.CONST, -s.tau);
  gate.set(u + 1, L.CONST, -1); up.set(u + 1, L.CONST, s.tau);
  down.set(L.MEAN, u, d); down.set(L.MEAN, u + 1, d);

  return {
    knownTokens: known,
    tensors: {
      'model.embed_tokens.weight': { shape: [vocab.tokens.length, L.hidden], data: embed },
      [p + 'input_layernorm.weight']: ones(L.hidden),
      [p + 'post_attention_layernorm.weight']: ones(L.hidden),
      [p + 'self_attn.q_proj.weight']: q.t,
      [p + 'self_attn.k_proj.weight']: k.t,
      [p + 'self_attn.v_proj.weight']: v.t,
      [p + 'self_attn.o_proj.weight']: o.t,
      [p + 'mlp.gate_proj.weight']: gate.t,
      [p + 'mlp.up_proj.weight']: up.t,
      [p + 'mlp.down_proj.weight']: down.t,
      'model.norm.weight': ones(L.hidden),
    },
  };
}
