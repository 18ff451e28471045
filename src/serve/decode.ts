/**
 * Greedy decoding with OpenAI's logprobs: at each step the full-vocabulary logits after the
 * sequence (through the batching queue), `logit_bias` added, log-softmax in float64, the most
 * probable token chosen, and the chosen token's and the top-k tokens' logprobs reported — all
 * after the bias, as OpenAI reports them. Each step runs the whole sequence again (no KV cache
 * per request): cheap for the short answers of rating, quadratic for long generations.
 */
import type { LmTokenizer } from '../lm/tokenizer.js';
import type { ForwardQueue } from './queue.js';

export interface DecodeParams {
  /** Tokens to generate at most (≥ 1). */
  maxTokens: number;
  /** Alternatives to report per position (0–20). */
  topLogprobs: number;
  /** token id → additive bias. */
  logitBias: Map<number, number>;
  /** Stop strings: the text ends before the first one. */
  stop: string[];
  /** End-of-sequence ids (the model's eos tokens). */
  eosIds: readonly number[];
}

export interface TokenChoice { id: number; text: string; logprob: number }

export interface DecodedToken extends TokenChoice {
  /** The top alternatives, most probable first (the chosen one among them when it is in the top k). */
  top: TokenChoice[];
}

export interface Decoded {
  /** Generated tokens, an end-of-sequence token included (its text is not in `text`). */
  tokens: DecodedToken[];
  text: string;
  finishReason: 'stop' | 'length';
}

/** log-softmax of `logits` + bias, in float64. */
export function biasedLogSoftmax(logits: Float32Array, bias: Map<number, number>): Float64Array {
  const x = Float64Array.from(logits);
  for (const [id, b] of bias) x[id] += b;
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  let z = 0;
  for (const v of x) z += Math.exp(v - max);
  const logZ = max + Math.log(z);
  for (let i = 0; i < x.length; i++) x[i] -= logZ;
  return x;
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topK(x: ArrayLike<number>, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (best.length === k && x[i] <= x[best[k - 1]]) continue;
    let j = best.length < k ? best.length : k - 1;
    while (j > 0 && x[best[j - 1]] < x[i]) j--;
    best.splice(j, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}

export async function greedyDecode(queue: ForwardQueue, tokenizer: LmTokenizer, prompt: number[], p: DecodeParams): Promise<Decoded> {
  const tokens: DecodedToken[] = [];
  const generated: number[] = [];
  const piece = (id: number): string => tokenizer.decode([id]);
  for (let step = 0; step < p.maxTokens; step++) {
    const logp = biasedLogSoftmax(await queue.nextLogits([...prompt, ...generated]), p.logitBias);
    const [id] = topK(logp, 1);
    const top = p.topLogprobs > 0 ? topK(logp, p.topLogprobs).map((t) => ({ id: t, text: piece(t), logprob: logp[t] })) : [];
    tokens.push({ id, text: piece(id), logprob: logp[id], top });
    if (p.eosIds.includes(id)) return { tokens, text: tokenizer.decode(generated, { skipSpecialTokens: true }), finishReason: 'stop' };
    generated.push(id);
    const text = tokenizer.decode(generated, { skipSpecialTokens: true });
    const cut = Math.min(...p.stop.map((s) => text.indexOf(s)).filter((i) => i >= 0));
    if (Number.isFinite(cut)) return { tokens, text: text.slice(0, cut), finishReason: 'stop' };
  }
  return { tokens, text: tokenizer.decode(generated, { skipSpecialTokens: true }), finishReason: 'length' };
}
