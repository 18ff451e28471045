/**
 * The demo's language model: the GloVe Llama of src/lm/glove-llama, its vocabulary gathered from
 * the study's data folder — the norm words smft trains on and rates (both languages, the paper's
 * training and eval pairs), the paper's prompts and smft's own, the embedding prompts, the answer
 * cues and the multiple-choice items of QA_FT. GloVe is English: a Dutch word takes the vector
 * of its English partner in the pairs. Deterministic: the same data and GloVe vectors give the
 * same bytes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PAPER_FILES } from '../data/sources.js';
import { promptWord } from '../data/norms.js';
import { paperSplit } from '../data/splits.js';
import type { Lang } from '../data/dimensions.js';
import { loadGlove, winkSource, type GloveVectors } from '../features/glove.js';
import { DEFAULT_EMBED_PROMPTS } from '../lm/embed.js';
import { GLOVE_LLAMA_VERSION, writeGloveLlama, type GloveLlamaInfo } from '../lm/glove-llama/index.js';
import type { VocabInputs } from '../lm/glove-llama/vocab.js';
import { loadTemplates } from '../lm/prompts.js';
import { readMcqTemplate, readQaItems, renderMcq } from '../train/lora/objectives/qa.js';
import { log } from '../util/log.js';
import { runStage, type StageResult } from './stage.js';

const LANGS: Lang[] = ['en', 'nl'];

/** The vocabulary inputs of the demo model from a data folder. */
export async function demoVocabInputs(dataDir: string): Promise<VocabInputs> {
  // The pairs the recipes train on and the study rates (the paper's split, src/data/splits.ts).
  const split = await paperSplit(dataDir);
  const rows = [...split.train.rows, ...split.eval.rows];
  const en = new Set(rows.map((r) => promptWord(r.en, 'en')));
  const nl = new Set(rows.map((r) => promptWord(r.nl, 'nl')));
  const normWords = [...en, ...nl];
  // A Dutch word takes its English translation's vector, unless it is spelled like an English word.
  const aliases = new Map<string, string>();
  for (const r of rows) {
    const w = promptWord(r.nl, 'nl');
    if (!en.has(w) && !aliases.has(w)) aliases.set(w, promptWord(r.en, 'en'));
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
  return { normWords, templateSets, texts, aliases };
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

/** The study config's `"model"` value that stands for the generated demo model. */
export const DEMO_MODEL_ID = 'smft:glove-llama';

/**
 * The demo model as a cached pipeline stage `model` of a run (rebuilt when the data, the GloVe
 * package or the construction changes); returns the stage and the model folder.
 */
export async function demoModelStage(
  runDir: string, dataDir: string, data: Record<string, string>, opts: { glove?: GloveVectors; cacheDir?: string } = {},
): Promise<{ stage: StageResult; dir: string }> {
  const src = winkSource();
  const stage = await runStage(runDir, 'model', { model: DEMO_MODEL_ID, version: GLOVE_LLAMA_VERSION, glove: src ? `${src.version}:${src.bytes}` : 'cache', data }, async (dir) => {
    await buildDemoModel({ out: join(dir, 'glove-llama'), dataDir, ...opts });
  });
  return { stage, dir: join(stage.dir, 'glove-llama') };
}
