import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { resolveDataDir } from '../../data/datadir.js';
import type { Lang } from '../../data/dimensions.js';
import { loadNorms } from '../../data/norms.js';
import { loadPredictions, readBatchInputWords, smftBatchLang, NEEDS_EVAL_WORDS, NEEDS_NORMS } from '../../data/predictions.js';
import { PAPER_FILES } from '../../data/sources.js';
import { evaluate } from '../../eval/evaluate.js';
import { provenance } from '../../eval/provenance.js';
import { layersCsv, toJson, writeEvaluation } from '../../eval/write.js';
import { layerwiseRsa, type LayerRsa } from '../../eval/representations.js';
import { loadEmbeddings } from '../../lm/embed.js';
import { ratingsModelInfo } from '../../lm/predictions.js';
import { writeDirAtomic } from '../../util/atomic.js';
import { writeFileSync } from 'node:fs';
import { SmftError } from '../../util/errors.js';
import { log } from '../../util/log.js';
import { formatTable } from '../../util/table.js';
import { readJsonFile } from '../../util/json.js';
import { prepareOutput } from '../../util/output.js';
import { BAD_INDICES, checkBootstrapIndices } from '../../eval/bootstrap.js';
import { action, bootstrapOption, checkThreads, choiceOption, collect, FORCE_HELP, numberOption, OVERSUBSCRIBE_HELP, seedOption, threadsOption } from '../run.js';
import { METRICS, type Metric } from '../../../kernels/cpu/rdm.js';

interface EvaluateFlags {
  predictions?: string[];
  representations?: string;
  lang?: Lang;
  metric: Metric;
  fill: number;
  bootstrap: number;
  seed: number;
  duplicates: 'keep' | 'exclude';
  threads?: number;
  norms?: string;
  evalSet: string;
  dataDir?: string;
  bootstrapIndices?: string;
  batchInput?: string[];
  device: 'cpu' | 'webgpu';
  out: string;
  force?: boolean;
  oversubscribe?: boolean;
}

/** The evaluation set file: 'paper' (the paper's 1572 words) or a path. */
export function evalSetFile(evalSet: string, lang: Lang, dataDir: string): string {
  if (evalSet !== 'paper') return resolve(evalSet);
  const f = join(dataDir, lang === 'nl' ? PAPER_FILES.evalNl : PAPER_FILES.evalEn);
  if (!existsSync(f)) throw new SmftError(`the paper's evaluation set is not in the data directory: expected ${f} (set --data-dir or SMFT_DATA_DIR)`);
  return f;
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description('RSA, dimension-wise correlations, bootstrap and word-wise analysis of model ratings against human norms')
    .option('-p, --predictions <file>', 'predictions: wide CSV, long CSV (word,dimension,model,rating) or OpenAI batch .jsonl; repeat to merge', collect)
    .option('--representations <file>', 'hidden states from smft embed (.safetensors): layer-wise RSA against the human RDM')
    .requiredOption('-o, --out <dir>', 'output folder (results.json + CSV tables), written atomically')
    .option('--force', FORCE_HELP('evaluation folder'))
    .option('--lang <lang>', 'en or nl (default: inferred from the dimensions)', choiceOption('lang', ['en', 'nl'] as const))
    .option('--metric <metric>', 'RDM distance', choiceOption('metric', METRICS), 'cosine')
    .option('--fill <value>', 'distance for undefined pairs (zero vectors)', numberOption('fill'), 2.0)
    .option('--bootstrap <n>', 'bootstrap iterations over words (0 = none, at most 100000)', bootstrapOption(), 200)
    .option('--seed <n>', 'seed of the bootstrap resampling (0 … 4294967295)', seedOption(), 1)
    .option('--duplicates <mode>', 'copies of a word in a resample: keep (paper) or exclude (rsatoolbox)', choiceOption('duplicates', ['keep', 'exclude'] as const), 'keep')
    .option('--bootstrap-indices <file>', 'JSON {subset: [[row indices], …]} of explicit resamples')
    .option('--threads <n>', 'worker threads (default: all cores)', threadsOption('threads'))
    .option('--oversubscribe', OVERSUBSCRIBE_HELP)
    .option('--device <device>', 'bootstrap on cpu kernels or webgpu (Dawn; needs a GPU adapter)', choiceOption('device', ['cpu', 'webgpu'] as const), 'cpu')
    .option('--norms <file>', 'human norms when the predictions carry none (Lancaster/Dutch CSV, TSV or XLSX)')
    .option('--eval-set <set>', "evaluation words: 'paper' or a file (maps OpenAI batch rows to words; default norms)", 'paper')
    .option('--batch-input <file>', "OpenAI batch input .jsonl (maps custom_id to the word in its prompt; smft export's custom_ids name word and dimension themselves); repeatable", collect)
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .action(action(async (f: EvaluateFlags) => {
      if (!f.predictions && !f.representations) throw new SmftError('give --predictions FILE and/or --representations FILE');
      checkThreads('--threads', f.threads, f.oversubscribe);
      const dataDir = resolveDataDir(f.dataDir);
      const out = prepareOutput({
        path: f.out, kind: 'evaluation', force: f.force,
        inputs: [...(f.predictions ?? []), f.representations, f.norms, f.bootstrapIndices, ...(f.batchInput ?? []), f.evalSet !== 'paper' ? f.evalSet : dataDir],
      }).path;
      if (!f.predictions) return evaluateRepresentations(f, dataDir, out);
      const files = f.predictions.map((p) => resolve(p));
      const batchWords = f.batchInput ? readBatchInputWords(f.batchInput.map((p) => resolve(p))) : undefined;
      // Batch outputs with smft's custom_ids name their words; the paper's need the eval set's order.
      const needsEvalSet = !batchWords && files.some((p) => p.endsWith('.jsonl') && !smftBatchLang(p));
      let lang = f.lang;
      let evalWords: string[] | undefined;
      const dataFiles: string[] = [];
      let table;
      try {
        table = loadPredictions(files, { lang, batchWords });
      } catch (e) {
        // Predictions without human ratings, or batch files: bring in the norms / eval set.
        if (!(e instanceof SmftError) || (e.code !== NEEDS_NORMS && e.code !== NEEDS_EVAL_WORDS)) throw e;
        lang ??= files.map(smftBatchLang).find((l) => l !== undefined) ?? (files.some((p) => /(horen|proeven|voelen|sensaties|ruiken|zien)_/i.test(p)) ? 'nl' : 'en');
        const evalFile = evalSetFile(f.evalSet, lang, dataDir);
        const normsFile = f.norms ? resolve(f.norms) : evalFile;
        const norms = await loadNorms(normsFile, lang);
        dataFiles.push(normsFile);
        if (needsEvalSet) {
          evalWords = (await loadNorms(evalFile, lang)).words;
          if (!dataFiles.includes(evalFile)) dataFiles.push(evalFile);
        }
        table = loadPredictions(files, { lang, norms, evalWords, batchWords });
      }
      const indicesFile = f.bootstrapIndices ? resolve(f.bootstrapIndices) : undefined;
      const indices = indicesFile ? checkBootstrapIndices(readJsonFile<unknown>(indicesFile), indicesFile) : undefined;
      log.info({ words: table.words.length, models: table.sources.slice(1), dimensions: table.dimensions.length, lang: table.lang }, 'evaluating');
      let ev;
      try {
        ev = await evaluate(table, { metric: f.metric, fill: f.fill, bootstrap: f.bootstrap, seed: f.seed, duplicates: f.duplicates, threads: f.threads, indices, device: f.device });
      } catch (e) {
        if (e instanceof SmftError && e.code === BAD_INDICES) throw new SmftError(e.message.replace(/^bootstrap indices: /, ''), indicesFile);
        throw e;
      }
      const info = ratingsModelInfo(files, ev.results.models);
      if (Object.keys(info).length) ev.results.model_info = info;
      const prov = await provenance({ seed: f.seed, dataFiles, predictions: files });
      const extra: Record<string, string> = {};
      if (f.representations) {
        const layers = await representationLayers(f, dataDir, table.lang);
        ev.results.layers = layers;
        extra['layers.csv'] = layersCsv(layers);
      }
      await writeEvaluation(out, ev, prov, extra);
      printSummary(ev.results);
      log.info({ out }, 'results written');
    }));
}

/** A short table on stdout: RSA per subset and model, and the mean dimension-wise ρ. */
export function printSummary(r: import('../../eval/results.js').EvaluationResults): void {
  const models = r.models;
  const dims = Object.keys(r.dimensions);
  const meanRho = (m: string) => dims.reduce((s, d) => s + r.dimensions[d][m].rho, 0) / dims.length;
  process.stdout.write(formatTable([
    ['RSA ρ', ...models],
    ...Object.entries(r.rsa).map(([subset, byModel]) => [subset, ...models.map((m) => byModel[m]?.rho.toFixed(3) ?? '')]),
    ['mean dim ρ', ...models.map((m) => meanRho(m).toFixed(3))],
  ]) + '\n');
}

/** Layer-wise RSA of an embeddings file against the norms of its words. */
async function representationLayers(f: EvaluateFlags, dataDir: string, lang: Lang): Promise<Record<string, LayerRsa[]>> {
  const file = resolve(f.representations!);
  const e = loadEmbeddings(file);
  const norms = await loadNorms(f.norms ? resolve(f.norms) : evalSetFile(f.evalSet, lang, dataDir), lang);
  return layerwiseRsa({ words: e.words, layers: e.layers, hidden: e.hidden, pooled: { last: e.last, mean: e.mean }, model: e.model }, norms, lang, { metric: f.metric, fill: f.fill });
}

/** `smft evaluate --representations FILE` alone: results.json with the layer curve, layers.csv. */
async function evaluateRepresentations(f: EvaluateFlags, dataDir: string, out: string): Promise<void> {
  const lang = f.lang ?? 'en';
  const layers = await representationLayers(f, dataDir, lang);
  const prov = await provenance({ seed: f.seed, dataFiles: [], predictions: [resolve(f.representations!)] });
  await writeDirAtomic(out, (tmp) => {
    writeFileSync(`${tmp}/results.json`, toJson({ lang, metric: f.metric, layers, provenance: prov }));
    writeFileSync(`${tmp}/layers.csv`, layersCsv(layers));
  }, { kind: 'evaluation' });
  for (const [subset, rows] of Object.entries(layers)) {
    // (A NaN start would win every comparison: start from the first finite layer.)
    const best = rows.filter((r) => Number.isFinite(r.rho)).reduce<LayerRsa | undefined>((a, b) => (!a || b.rho > a.rho ? b : a), undefined);
    process.stdout.write(best ? `${subset}: best layer ${best.layer} (${best.pooling}) ρ = ${best.rho.toFixed(3)}\n` : `${subset}: no layer has a finite ρ\n`);
  }
}
