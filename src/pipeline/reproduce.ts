import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { loadNorms, promptWords } from '../data/norms.js';
import { loadPredictions } from '../data/predictions.js';
import { PAPER_FILES } from '../data/sources.js';
import type { Lang } from '../data/dimensions.js';
import { evaluate } from '../eval/evaluate.js';
import { provenance } from '../eval/provenance.js';
import { layerwiseRsa } from '../eval/representations.js';
import type { EvaluationResults } from '../eval/results.js';
import { layersCsv, writeEvaluation } from '../eval/write.js';
import { initBackend } from '../lm/backend.js';
import { onnxForInference } from '../lm/runtime-choice.js';
import { embedWords, saveEmbeddings, loadEmbeddings } from '../lm/embed.js';
import { loadModel, type LoadedModel } from '../lm/load.js';
import { PredictionsWriter, ratingsModelInfo } from '../lm/predictions.js';
import { loadTemplates } from '../lm/prompts.js';
import { rateWords } from '../lm/rate.js';
import { buildReport } from '../report/index.js';
import { rateWithHead, trainGloveHead } from '../train/recipes.js';
import { headRatingIdentity, headRatingRows } from '../train/predict.js';
import { localRatingIdentity, modelIdentity, templatesIdentity } from '../lm/identity.js';
import { resolveModelDir } from '../lm/hub.js';
import { contentSha256 } from '../util/filehash.js';
import { adapterChecksum } from '../train/lora/peft.js';
import { inferenceModel } from '../train/lora/inference.js';
import { loadRecipe, runRecipe } from '../train/lora/recipes.js';
import { log } from '../util/log.js';
import { readJsonFile } from '../util/json.js';
import { assertReplaceable, markOutput } from '../util/marker.js';
import { cleanStaleTemps } from '../util/temp.js';
import { runStage, type StageResult } from './stage.js';
import { DEMO_MODEL_ID, demoModelStage } from './demo-model.js';
import type { StudyConfig } from './config.js';

export interface ReproduceResult { runDir: string; stages: StageResult[]; results: Partial<Record<Lang, EvaluationResults>>; reports: Partial<Record<Lang, string>> }

/**
 * Identity of the data directory's inputs for the stage hashes: the content hash of every file
 * (by path relative to the folder), so an edited norms file reruns what reads it. Large files
 * are hashed once and recognised by size, mtime and inode afterwards (util/filehash.ts).
 */
async function dataIdentity(dataDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      const s = statSync(p);
      if (s.isDirectory()) await walk(p);
      else if (s.isFile()) out[relative(dataDir, p)] = await contentSha256(p);
    }
  };
  if (existsSync(dataDir)) await walk(dataDir);
  return out;
}

/**
 * The whole study: data → Base ratings (EN, NL) → en_ft / nl_ft / qa_ft LoRA training →
 * ratings of each condition → (GloVe head) → hidden states → evaluation (EN 11, NL 6 dims) →
 * report. Every stage is cached under `runDir` by a hash of its inputs: a rerun skips finished
 * stages and an interrupted run resumes (ratings resume word by word).
 */
export async function reproduce(cfg: StudyConfig, opts: { runDir: string; dataDir: string }): Promise<ReproduceResult> {
  const runDir = resolve(opts.runDir);
  // The run folder holds nothing but smft's stages; interrupted stage swaps are undone first.
  assertReplaceable(runDir, 'study');
  mkdirSync(runDir, { recursive: true });
  markOutput(runDir, 'study');
  cleanStaleTemps(runDir);
  const stages: StageResult[] = [];
  const data = await dataIdentity(opts.dataDir);
  const evalFile = (lang: Lang) => join(opts.dataDir, lang === 'en' ? PAPER_FILES.evalEn : PAPER_FILES.evalNl);
  const words = new Map<Lang, string[]>();
  for (const lang of cfg.languages) {
    const norms = await loadNorms(cfg.rate.evalSet === 'paper' ? evalFile(lang) : resolve(cfg.rate.evalSet), lang);
    let w = promptWords(norms);
    if (cfg.rate.limit) w = w.slice(0, cfg.rate.limit);
    words.set(lang, w);
  }
  const onnx = await onnxForInference(cfg.inference, await initBackend(cfg.backend));
  // The demo's model is generated into the run (src/pipeline/demo-model.ts), then loaded like any other.
  const generated = cfg.model === DEMO_MODEL_ID ? await demoModelStage(runDir, opts.dataDir, data) : undefined;
  if (generated) stages.push(generated.stage);
  let lm: LoadedModel | undefined;
  const model = async () => (lm ??= await loadModel(generated?.dir ?? cfg.model, { backend: cfg.backend }));
  // Stages are keyed on the model's content (config, tokenizer, weights), not on its path.
  const modelKey = { model: await modelIdentity(generated?.dir ?? await resolveModelDir(cfg.model)) };
  const templatesDir = cfg.rate.prompts === 'paper' ? join(opts.dataDir, PAPER_FILES.prompts) : cfg.rate.prompts ? resolve(cfg.rate.prompts) : undefined;

  // Fine-tuning: one LoRA run per condition.
  const trained = new Map<string, StageResult>();
  for (const [cond, recipe] of Object.entries(cfg.conditions)) {
    // The recipe's content, not only its name, is part of the key: an edited recipe retrains.
    const s = await runStage(runDir, `train-${cond}`, { modelKey, recipe, content: loadRecipe(recipe), data }, async (dir) => {
      await runRecipe(recipe, { model: await model(), out: dir, dataDir: opts.dataDir, resume: true, inference: onnx });
    });
    stages.push(s);
    trained.set(cond, s);
  }

  // Ratings of the base model and each condition, per language.
  const predictionFiles = new Map<Lang, string[]>();
  for (const lang of cfg.languages) {
    const files: string[] = [];
    for (const cond of ['base', ...Object.keys(cfg.conditions)]) {
      const ck = trained.get(cond);
      const templates = templatesIdentity(loadTemplates(templatesDir, lang));
      const s = await runStage(runDir, `rate-${cond}-${lang}`, { modelKey, ck: ck?.key, rate: { batchSize: cfg.rate.batchSize }, templates, words: words.get(lang), lang }, async (dir) => {
        const loaded = await model();
        const im = await inferenceModel(loaded.model, { onnx, checkpoint: ck?.dir });
        try {
          const templates = loadTemplates(templatesDir, lang);
          const identity = await localRatingIdentity(loaded, { adapter: im.dir ? adapterChecksum(im.dir) : null, templates, lang });
          const writer = new PredictionsWriter(join(dir, 'predictions.csv'), cond, identity);
          await rateWords(im.engine, loaded.tokenizer, {
            words: words.get(lang)!, templates, lang, modelName: loaded.dir,
            batchSize: cfg.rate.batchSize, skip: (w, d) => writer.has(w, d), onRows: (rows) => writer.append(rows),
          });
        } finally {
          await im.release();
        }
      });
      stages.push(s);
      files.push(join(s.dir, 'predictions.csv'));
    }
    predictionFiles.set(lang, files);
  }

  // The GloVe regression head (English only): the frozen-feature baseline.
  if (cfg.glove && cfg.languages.includes('en')) {
    const s = await runStage(runDir, 'glove-head', { data, words: words.get('en') }, async (dir) => {
      await trainGloveHead({ out: join(dir, 'head'), dataDir: opts.dataDir });
      const r = await rateWithHead({ head: join(dir, 'head'), words: words.get('en')! });
      const writer = new PredictionsWriter(join(dir, 'predictions.csv'), 'glove_head', headRatingIdentity(join(dir, 'head'), r.config));
      writer.append(headRatingRows(r));
    });
    stages.push(s);
    predictionFiles.get('en')!.push(join(s.dir, 'predictions.csv'));
  }

  // Hidden states of the base model (English prompts) for the layer-wise alignment curve.
  let embedFile: string | undefined;
  if (cfg.embed && cfg.languages.includes('en')) {
    const s = await runStage(runDir, 'embed-base-en', { modelKey, words: words.get('en') }, async (dir) => {
      const loaded = await model();
      const im = await inferenceModel(loaded.model, { onnx });
      try {
        saveEmbeddings(join(dir, 'hidden.safetensors'), await embedWords(im.engine, loaded.tokenizer, { words: words.get('en')!, lang: 'en', batchSize: cfg.rate.batchSize, modelName: loaded.dir }), loaded.name);
      } finally {
        await im.release();
      }
    });
    stages.push(s);
    embedFile = join(s.dir, 'hidden.safetensors');
  }
  lm?.model.dispose();

  // Evaluation and report per language.
  const results: ReproduceResult['results'] = {};
  const reports: ReproduceResult['reports'] = {};
  for (const lang of cfg.languages) {
    const inputs = [...predictionFiles.get(lang)!];
    const upstream = stages.filter((s) => s.name.endsWith(`-${lang}`) || s.name === 'glove-head' || s.name === 'embed-base-en').map((s) => s.key);
    const s = await runStage(runDir, `evaluate-${lang}`, { upstream, evaluate: cfg.evaluate, published: cfg.published, data }, async (dir) => {
      const norms = await loadNorms(evalFile(lang), lang);
      const files = [...inputs];
      const table = loadPredictions(files, { lang, norms });
      // The paper's table is keyed by the English word; its rows line up with the norms' words.
      if (cfg.published) mergePublished(table, loadPredictions([evalFile(lang)], { lang }), norms.words);
      const ev = await evaluate(table, { bootstrap: cfg.evaluate.bootstrap, seed: cfg.evaluate.seed, metric: cfg.evaluate.metric });
      const info = ratingsModelInfo(files, ev.results.models);
      if (Object.keys(info).length) ev.results.model_info = info;
      const extra: Record<string, string> = {};
      if (lang === 'en' && embedFile) {
        const e = loadEmbeddings(embedFile);
        ev.results.layers = layerwiseRsa({ words: e.words, layers: e.layers, hidden: e.hidden, pooled: { last: e.last, mean: e.mean } }, norms, lang, { metric: cfg.evaluate.metric });
        extra['layers.csv'] = layersCsv(ev.results.layers);
      }
      const prov = await provenance({ seed: cfg.evaluate.seed, dataFiles: [evalFile(lang)], predictions: files, extra: { study: cfg } });
      await writeEvaluation(join(dir, 'evaluation'), ev, prov, extra);
      // The radar word is English; left to the report's default when it was not rated.
      const word = lang === 'en' && table.words.some((w) => w.toLowerCase() === cfg.report.word.toLowerCase()) ? cfg.report.word : undefined;
      // Training curves of the LoRA runs (each run folder is its train-<condition> stage).
      await buildReport(join(dir, 'evaluation'), { word, training: Object.fromEntries([...trained].map(([cond, t]) => [cond, t.dir])) });
    });
    stages.push(s);
    const evDir = join(s.dir, 'evaluation');
    results[lang] = readJsonFile<EvaluationResults>(join(evDir, 'results.json'));
    reports[lang] = join(evDir, 'report', 'report.html');
  }
  log.info({ runDir, ran: stages.filter((s) => !s.skipped).length, cached: stages.filter((s) => s.skipped).length }, 'study finished');
  return { runDir, stages, results, reports };
}

/** Add the paper's GPT-4o-mini models to a table (same words, matched case-insensitively) as gpt4o_<model>. */
function mergePublished(table: import('../eval/table.js').RatingTable, paper: import('../eval/table.js').RatingTable, rowWords: string[]): void {
  if (rowWords.length !== paper.words.length) throw new Error('mergePublished: the eval file and its predictions differ in length');
  const index = new Map(rowWords.map((w, i) => [w.toLowerCase(), i]));
  const pd = paper.dimensions.length;
  for (const m of paper.sources.filter((s) => s !== 'human')) {
    const src = paper.values.get(m)!;
    const v = new Float64Array(table.words.length * table.dimensions.length).fill(NaN);
    table.words.forEach((w, i) => {
      const r = index.get(w.toLowerCase());
      if (r === undefined) return;
      table.dimensions.forEach((d, j) => { const k = paper.dimensions.indexOf(d); if (k >= 0) v[i * table.dimensions.length + j] = src[r * pd + k]; });
    });
    table.values.set(`gpt4o_${m}`, v);
    table.sources.push(`gpt4o_${m}`);
  }
}
