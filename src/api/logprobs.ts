/**
 * The first generated token's log-probabilities in the two answer shapes of OpenAI-compatible
 * servers, and the rating they give (the paper's Σ k·p(k), renormalised over the digits 0–5
 * present):
 * - chat completions: `choices[0].logprobs.content[0]` = { token, logprob, top_logprobs: [{ token, logprob }] };
 * - (legacy) completions: `choices[0].logprobs` = { tokens, token_logprobs, top_logprobs: [{ token: logprob }] }.
 * test/fixtures/api/ holds answers recorded from OpenAI's and vLLM's documentation.
 */
import { SmftError } from '../util/errors.js';
import type { Dimension } from '../data/dimensions.js';
import { digitProbabilities, expectedRating, type TokenLogprob } from '../data/predictions.js';
import type { RatingRow } from '../lm/rate.js';

export type ApiRoute = 'chat' | 'completions';

export interface FirstToken {
  /** The answer text (message content or completion text). */
  text: string;
  /** The chosen first token and the top alternatives, the chosen one included. */
  top: TokenLogprob[];
}

interface ChatBody { choices?: Array<{ message?: { content?: string | null }; logprobs?: { content?: Array<TokenLogprob & { top_logprobs?: TokenLogprob[] }> | null } | null }> }
interface CompletionBody { choices?: Array<{ text?: string; logprobs?: { tokens?: string[]; token_logprobs?: Array<number | null>; top_logprobs?: Array<Record<string, number> | null> | null } | null }> }

/** The first token's logprobs of an answer; one SmftError (naming `where`) when the answer has none. */
export function firstTokenLogprobs(body: unknown, route: ApiRoute, where: string): FirstToken {
  const fail = (what: string): never => { throw new SmftError(`the answer has no ${what}; does the server return logprobs?`, where, 'no-logprobs'); };
  if (route === 'chat') {
    const choice = (body as ChatBody)?.choices?.[0] ?? fail('choices[0]');
    const content = choice.logprobs?.content;
    if (!Array.isArray(content)) fail('choices[0].logprobs.content');
    const first = content![0];
    const top: TokenLogprob[] = first ? [...(first.top_logprobs ?? [])] : [];
    if (first && !top.some((t) => t.token === first.token)) top.push({ token: first.token, logprob: first.logprob });
    return { text: choice.message?.content ?? '', top: top.filter(valid) };
  }
  const choice = (body as CompletionBody)?.choices?.[0] ?? fail('choices[0]');
  const lp = choice.logprobs ?? fail('choices[0].logprobs');
  const top: TokenLogprob[] = Object.entries(lp.top_logprobs?.[0] ?? {}).map(([token, logprob]) => ({ token, logprob }));
  const token = lp.tokens?.[0];
  const logprob = lp.token_logprobs?.[0];
  if (token !== undefined && typeof logprob === 'number' && !top.some((t) => t.token === token)) top.push({ token, logprob });
  return { text: choice.text ?? '', top: top.filter(valid) };
}

const valid = (t: TokenLogprob): boolean => typeof t?.token === 'string' && typeof t.logprob === 'number' && !Number.isNaN(t.logprob);

/** A rating row from the first token's logprobs; how many of the six digits were among them. */
export function ratingFromLogprobs(word: string, dimension: Dimension, top: readonly TokenLogprob[]): { row: RatingRow; present: number } {
  const { p, present } = digitProbabilities(top);
  let argmax = NaN;
  if (present) {
    argmax = 0;
    for (let k = 1; k < 6; k++) if (p[k] > p[argmax]) argmax = k;
  }
  return { row: { word, dimension, rating: expectedRating(top), argmax, p0: p[0], p1: p[1], p2: p[2], p3: p[3], p4: p[4], p5: p[5] }, present };
}
