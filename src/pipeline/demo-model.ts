/**
 * The demo's language model: the GloVe Llama of src/lm/glove-llama, its vocabulary gathered from
 * the study's data folder — the norm words smft trains on and rates (both languages, the paper's
 * training and eval words), the paper's prompts and smft's own, the embedding prompts, the answer
 * cues and the multiple-choice items of QA_FT. Deterministic: the same data and GloVe vectors
 * give the same bytes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PAPER_FILES } from '../data/sources.js';
import type { Lang } from '../data/dimensions.js';
import { loadGlove, type GloveVectors } from '../features/glove.js';
import { DEFAULT_EMBED_PROMPTS } from '../lm/embed.js';
import { writeGloveLlama, type GloveLlamaInfo } from '../lm/glove-llama/index.js';
import type { VocabInputs } from '../lm/glove-llama/vocab.js';
import { loadTemplates } from '../lm/prompts.js';
import { readMcqTemplate, readQaItems, renderMcq } from '../train/qa-objective.js';
import { paperWordSets } from '../train/paper-data.js';
import { log } from '../util/log.js';

const LANGS: Lang[] = ['en', 'nl'];

/** The vocabulary inputs of the demo model from a data folder. */
export async function demoVocabInputs(dataDir: string): Promise<VocabInputs> {
  const normWords: string[] = [];
  for (const lang of LANGS) {
    // The same word sets the recipes train on and the study rates (src/train/paper-data.ts).
    const sets = await paperWordSets(dataDir, lang);
    for (const w of [...sets.train.words, ...sets.eval.words]) normWords.push(lang === 'en' ? w.toLowerCase() : w);
  }
  const templateSets: string[][] = [];
  for (const lang of LANGS) {
    templateSets.push([...loadTemplates(join(dataDir, PAPER_FILES.prompts), lang).values()].map((t) => t.text));
    templateSets.push([...loadTemplates(undefined, lang).values()].map((t) => t.text));
  }
  const texts: string[] = [...Object.values(DEFAULT_EMBED_PROMPTS), 'Answer:', 'Antwoord:'];
  const mcq = join(dataDir, PAPER_FILES.prompts, 'prompt_mcq_en.txt');
  if (existsSync(mcq)) {
    const template = readMcqTemplate(mcq);
    for (const f of [PAPER_FILES.qaTrain, PAPER_FILES.qaTest]) {
      if (existsSync(join(dataDir, f))) for (const it of readQaItems(join(dataDir, f))) texts.push(renderMcq(template, it));
    }
  }
  return { normWords, templateSets, texts };
}

/** Build the demo model folder `out` from the data folder (GloVe from the cache or the npm package). */
export async function buildDemoModel(opts: { out: string; dataDir: string; glove?: GloveVectors; cacheDir?: string }): Promise<GloveLlamaInfo> {
  const t0 = Date.now();
  const inputs = await demoVocabInputs(opts.dataDir);
  const glove = opts.glove ?? loadGlove({ cacheDir: opts.cacheDir });
  const info = await writeGloveLlama(opts.out, inputs, glove);
  log.info({ dir: info.dir, vocab: info.vocabSize, gloveTokens: info.knownTokens, ms: Date.now() - t0 }, 'demo model written (GloVe Llama)');
  return info;
}
