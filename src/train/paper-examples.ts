/**
 * The paper's fine-tuning examples, built in one place for training (`"targets": "paper"`
 * recipes, src/train/lora/objectives/paper-text.ts) and export (`smft export --format openai-ft |
 * sft-jsonl`, src/export/finetune.ts). As the authors built them (WordsGPT
 * `create_finetuning_dataset.py`, ../shared/METHOD.md last section):
 *
 *  - rating: one chat example per (word, prompt): user = the prompt file's text with `{Word}` /
 *    `{Woord}` replaced by the word as the norms spell it (English upper-case), nothing trimmed;
 *    assistant = the human mean as Python's `str(round(mean, 2))` prints it ("1.33", "2.0",
 *    "0.5"). No system message. Examples come one block per prompt (dimension), words in order.
 *  - QA: user = the MCQ prompt with {index}, {question}, {options} filled in (options one per line
 *    as "A. text", smft's rendering: the authors' is not published); assistant = the correct
 *    option's upper-case letter.
 */
import { readFileSync } from 'node:fs';
import { SmftError } from '../util/errors.js';
import type { Dimension } from '../data/dimensions.js';
import { fillTemplate, type PromptTemplate } from '../lm/prompts.js';
import { renderMcq } from './lora/objectives/qa.js';
import type { QaItem } from './qa.js';

export interface PaperMessage {
  role: 'user' | 'assistant';
  content: string;
}

/** One fine-tuning example: exactly the user and the assistant message. */
export interface PaperExample {
  messages: [PaperMessage & { role: 'user' }, PaperMessage & { role: 'assistant' }];
  /** Examples of one group stay on one side of a validation split (the word, or the QA item). */
  group: string;
  /** Where the example came from (not exported). */
  source: { word: string; dimension: Dimension; mean: number } | { item: number; answer: string };
}

/**
 * Python's `str(round(x, 2))` for a float: x's exact binary value rounded to 2 decimals, half to
 * even on exact ties (0.125 → "0.12", 2.675 → "2.67" since 2.675 is 2.67499… in binary, 1.005 →
 * "1.0"), printed as the shortest repr ("2.0", "0.5", "1.33"). JavaScript's toFixed differs.
 */
export function pythonRound2(x: number): string {
  if (!Number.isFinite(x)) throw new SmftError(`cannot round ${x} to 2 decimals`);
  if (Math.abs(x) >= 1e15) throw new SmftError(`${x} is too large for a rating`);
  const q = roundHalfEvenScaled(x, 100n);
  const neg = q < 0n || (q === 0n && (x < 0 || Object.is(x, -0)));
  const a = q < 0n ? -q : q;
  const int = a / 100n;
  let frac = (a % 100n).toString().padStart(2, '0').replace(/0+$/, '');
  if (frac === '') frac = '0';
  return `${neg ? '-' : ''}${int}.${frac}`;
}

/** round-half-even(x · scale) computed on x's exact binary value (x = m · 2^e). */
function roundHalfEvenScaled(x: number, scale: bigint): bigint {
  if (x === 0) return 0n;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0), lo = view.getUint32(4);
  const sign = hi >>> 31 ? -1n : 1n;
  const expBits = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (expBits === 0) exp = -1074; // subnormal
  else { mant |= 1n << 52n; exp = expBits - 1075; }
  let n = mant * scale;
  if (exp >= 0) return sign * (n << BigInt(exp));
  const d = 1n << BigInt(-exp);
  const q = n / d;
  const r2 = (n - q * d) * 2n;
  n = r2 > d || (r2 === d && (q & 1n) === 1n) ? q + 1n : q;
  return sign * n;
}

/** The exact text of a paper prompt file (BOM removed, nothing trimmed). */
export function rawPromptText(t: PromptTemplate): string {
  return readFileSync(t.source, 'utf8').replace(/^\uFEFF/, '');
}

export interface PaperRatingWords {
  /** Words as the norms spell them. */
  words: readonly string[];
  /** The dimensions of `values`' columns. */
  dimensions: readonly Dimension[];
  /** Row-major words × dimensions human means (NaN = missing: no example). */
  values: ArrayLike<number>;
}

/**
 * Rating examples: one block per template (in the map's order), in each the words in order;
 * words with a missing mean for that dimension get no example. `templates` are loaded with
 * loadTemplates (the paper's files: `paper/prompts`); their exact file text is used.
 */
export function paperRatingExamples(set: PaperRatingWords, templates: ReadonlyMap<Dimension, PromptTemplate>, wordRows?: readonly number[]): PaperExample[] {
  const nd = set.dimensions.length;
  const rows = wordRows ?? set.words.map((_, i) => i);
  const out: PaperExample[] = [];
  for (const [dim, t] of templates) {
    const col = set.dimensions.indexOf(dim);
    if (col < 0) throw new SmftError(`the words have no '${dim}' ratings for template ${t.source}`);
    const text = rawPromptText(t);
    for (const i of rows) {
      const word = set.words[i];
      const mean = set.values[i * nd + col];
      if (Number.isNaN(mean)) continue;
      if (!(mean >= 0 && mean <= 5)) throw new SmftError(`'${word}' has ${dim} mean ${mean}, outside 0–5`);
      out.push({
        messages: [{ role: 'user', content: fillTemplate(text, word) }, { role: 'assistant', content: pythonRound2(mean) }],
        group: word.toLowerCase(),
        source: { word, dimension: dim, mean },
      });
    }
  }
  return out;
}

/** QA examples: user = the MCQ template (exact file text) filled with the item; assistant = its letter. */
export function paperQaExamples(items: readonly QaItem[], templateText: string): PaperExample[] {
  return items.map((it) => ({
    messages: [{ role: 'user', content: renderMcq(templateText, it) }, { role: 'assistant', content: it.correct_option }],
    group: `item:${it.index}`,
    source: { item: it.index, answer: it.correct_option },
  }));
}
