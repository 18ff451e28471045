/**
 * The word-level vocabulary of the GloVe demo model and its Hugging Face tokenizer files.
 *
 * Text is cut into words exactly as the tokenizer.json does it (whitespace split, then a regex
 * that isolates words — letters and digits with inner hyphens or apostrophes — and single
 * punctuation marks); each piece is one token, or <unk>. Every token carries two salience
 * features the model's attention reads (see ./weights.ts):
 *   word      1 for the norm words (the words smft rates), 0.5 when such a word also occurs in a
 *             prompt, 0 otherwise: the "which word is asked about" head attends to the maximum.
 *   modality  for the words that tell a set of rating templates apart ("hearing", "tasting",
 *             "foot", …), 1 for a word in one template of the set, less the more templates share
 *             it: the "what is asked" head attends to the most distinctive ones.
 */

/** The tokenizer's word pattern (Oniguruma and JavaScript alike). */
export const WORD_PATTERN = "[\\p{L}\\p{N}]+(?:['’\\-][\\p{L}\\p{N}]+)*|[^\\s\\p{L}\\p{N}]";
const WORD_RE = new RegExp(WORD_PATTERN, 'gu');

export const SPECIAL_TOKENS = { unk: '<unk>', bos: '<s>', eos: '</s>', pad: '<pad>' } as const;

/** The tokens of a text, as the tokenizer cuts it. */
export function wordPieces(text: string): string[] {
  return text.split(/\s+/).flatMap((w) => w.match(WORD_RE) ?? []);
}

export interface VocabInputs {
  /** Words rated by smft (as they appear in the prompts: English lower-case, Dutch as in the norms). */
  normWords: readonly string[];
  /** Rating template sets (each a list of template texts, one per dimension). */
  templateSets: readonly (readonly string[])[];
  /** Other prompt texts: embedding prompts, answer cues, multiple-choice items. */
  texts: readonly string[];
  /**
   * Tokens that take another word's vector: a Dutch norm word → its English translation (a
   * bilingual embedding space, as multilingual models have). The caller leaves out words that
   * are also English words; words of the prompts keep their own vector.
   */
  aliases?: ReadonlyMap<string, string>;
}

export interface Vocab {
  tokens: string[];
  index: Map<string, number>;
  /** Attention salience of each token for the word head and the modality head. */
  word: Float32Array;
  modality: Float32Array;
  /** Token → the word whose vector it takes (see VocabInputs.aliases). */
  alias: Map<string, string>;
  ids: { unk: number; bos: number; eos: number; pad: number };
}

/**
 * Build the vocabulary: special tokens, digits 0–9, prompt words (sorted), then the norm words'
 * pieces (sorted). Deterministic for the same inputs.
 */
export function buildVocab(inputs: VocabInputs): Vocab {
  const templateTexts = inputs.templateSets.flat();
  const promptTokens = new Set([...templateTexts, ...inputs.texts].flatMap(wordPieces));
  const normTokens = new Set(inputs.normWords.flatMap(wordPieces));
  const specials = [SPECIAL_TOKENS.unk, SPECIAL_TOKENS.bos, SPECIAL_TOKENS.eos, SPECIAL_TOKENS.pad];
  const digits = Array.from({ length: 10 }, (_, i) => String(i));
  const tokens = [...specials, ...digits];
  const seen = new Set(tokens);
  for (const t of [...[...promptTokens].sort(), ...[...normTokens].sort()]) {
    if (!seen.has(t)) { seen.add(t); tokens.push(t); }
  }
  const index = new Map(tokens.map((t, i) => [t, i]));

  // Modality words: spelled with letters, in some but not all templates of a set; the fewer
  // templates a word is in, the more salient (1 in one template, → 0 towards all of them).
  const modalityOf = new Map<string, number>();
  for (const set of inputs.templateSets) {
    const per = set.map((t) => new Set(wordPieces(t)));
    const count = new Map<string, number>();
    for (const s of per) for (const t of s) count.set(t, (count.get(t) ?? 0) + 1);
    for (const [t, c] of count) {
      if (!/\p{L}/u.test(t) || c === per.length) continue;
      modalityOf.set(t, Math.max(modalityOf.get(t) ?? 0, 1 - (c - 1) / (per.length - 1)));
    }
  }
  const templateTokens = new Set(templateTexts.flatMap(wordPieces));
  const word = new Float32Array(tokens.length);
  const modality = new Float32Array(tokens.length);
  tokens.forEach((t, i) => {
    if (normTokens.has(t)) word[i] = templateTokens.has(t) ? 0.5 : 1;
    modality[i] = modalityOf.get(t) ?? 0;
  });
  const alias = new Map<string, string>();
  for (const [t, w] of inputs.aliases ?? []) if (index.has(t) && !promptTokens.has(t)) alias.set(t, w);
  const id = (t: string) => index.get(t)!;
  return { tokens, index, word, modality, alias, ids: { unk: id(SPECIAL_TOKENS.unk), bos: id(SPECIAL_TOKENS.bos), eos: id(SPECIAL_TOKENS.eos), pad: id(SPECIAL_TOKENS.pad) } };
}

/**
 * tokenizer.json (a WordLevel model, the HF tokenizers format) and tokenizer_config.json: BOS
 * added in front like Llama's, no chat template (prompts are plain text plus an answer cue).
 */
export function tokenizerFiles(vocab: Vocab): { tokenizer: object; config: object } {
  const special = (content: string) => ({ id: vocab.index.get(content)!, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const { unk, bos, eos, pad } = SPECIAL_TOKENS;
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [unk, bos, eos, pad].map(special),
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Split', pattern: { Regex: WORD_PATTERN }, behavior: 'Isolated', invert: false }],
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [bos]: { id: bos, ids: [vocab.ids.bos], tokens: [bos] } },
    },
    decoder: null,
    model: { type: 'WordLevel', vocab: Object.fromEntries(vocab.tokens.map((t, i) => [t, i])), unk_token: unk },
  };
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: bos, eos_token: eos, unk_token: unk, pad_token: pad,
    add_bos_token: true, add_eos_token: false, clean_up_tokenization_spaces: false, model_max_length: 512,
  };
  return { tokenizer, config };
}
