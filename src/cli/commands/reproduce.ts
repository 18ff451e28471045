import { resolve, join } from 'node:path';
import type { Command } from 'commander';
import { projectRoot, resolveDataDir } from '../../data/datadir.js';
import { loadStudyConfig } from '../../pipeline/config.js';
import { reproduce } from '../../pipeline/reproduce.js';
import { buildDemoModel } from '../../pipeline/demo-model.js';
import type { EvaluationResults } from '../../eval/results.js';
import type { StageResult } from '../../pipeline/stage.js';
import { formatTable } from '../../util/table.js';
import { formatDuration } from '../../util/duration.js';
import { defaultOutput, prepareOutput, safeName } from '../../util/output.js';
import { action } from '../run.js';

/** Summary table: RSA per subset and mean dimension-wise ρ, one row per model. */
export function summaryTable(lang: string, r: EvaluationResults): string {
  const subsets = Object.keys(r.rsa);
  const dims = Object.keys(r.dimensions);
  const rows = r.models.map((m) => [
    m,
    ...subsets.map((s) => r.rsa[s][m]?.rho.toFixed(3) ?? ''),
    (dims.reduce((s, d) => s + r.dimensions[d][m].rho, 0) / dims.length).toFixed(3),
  ]);
  return formatTable([[lang.toUpperCase(), ...subsets.map((s) => `RSA ${s}`), 'mean dim ρ'], ...rows]);
}

/** Stage table: each stage, whether it ran or came from the cache, and its time. */
export function stageTable(stages: StageResult[]): string {
  const total = stages.reduce((s, x) => s + x.seconds, 0);
  return formatTable([
    ['stage', 'status', 'time'],
    ...stages.map((s) => [s.name, s.skipped ? 'cached' : 'ran', s.skipped ? '' : formatDuration(s.seconds)]),
    ['total', '', formatDuration(total)],
  ]);
}

async function runStudy(configFile: string, f: { runDir?: string; dataDir?: string }): Promise<void> {
  const cfg = loadStudyConfig(resolve(configFile), projectRoot());
  const dataDir = resolveDataDir(f.dataDir);
  const runDir = prepareOutput({ path: f.runDir ?? defaultOutput(safeName(cfg.name)), kind: 'study', resume: true, option: '--run-dir', inputs: [configFile, dataDir, cfg.model] }).path;
  const r = await reproduce(cfg, { runDir, dataDir });
  const ran = r.stages.filter((s) => !s.skipped).length;
  process.stdout.write(`\n${cfg.name}: ${r.stages.length} stages (${ran} ran, ${r.stages.length - ran} cached) in ${runDir}\n\n${stageTable(r.stages)}\n`);
  for (const [lang, res] of Object.entries(r.results)) {
    process.stdout.write(`\n${summaryTable(lang, res!)}\n`);
    if (res!.layers?.all) {
      const best = res!.layers.all.filter((l) => Number.isFinite(l.rho)).sort((a, b) => b.rho - a.rho)[0];
      if (best) process.stdout.write(`hidden states of the base model: best layer ${best.layer} (${best.pooling}) RSA all = ${best.rho.toFixed(3)}\n`);
    }
    process.stdout.write(`report: ${r.reports[lang as 'en' | 'nl']}\n`);
  }
}

export function registerReproduce(program: Command): void {
  program
    .command('reproduce')
    .description('the whole study, stage by stage with caching: data → Base ratings → en_ft/nl_ft/qa_ft → ratings → evaluation → report')
    .requiredOption('--config <file>', 'study configuration (configs/paper.json, configs/demo.json)')
    .option('--run-dir <dir>', 'where stages are cached (default runs/<name>)')
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .action(action((f: { config: string; runDir?: string; dataDir?: string }) => runStudy(f.config, f)));

  program
    .command('demo-model')
    .description("write the demo's language model: a hand-built 1-layer Llama whose embeddings are GloVe vectors, with a word-level tokenizer over the norm and prompt words (Hugging Face folder)")
    .requiredOption('-o, --out <dir>', 'model folder to write (config.json, tokenizer.json, tokenizer_config.json, model.safetensors)')
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .action(action(async (f: { out: string; dataDir?: string }) => {
      const info = await buildDemoModel({ out: resolve(f.out), dataDir: resolveDataDir(f.dataDir) });
      process.stdout.write(`wrote ${info.dir}: ${info.vocabSize} tokens (${info.knownTokens} with a GloVe vector), hidden size ${2 * info.scales.wordDim + 8}\n`);
    }));

  program
    .command('demo')
    .description('offline demo on CPU (a few minutes): the generated demo model (a hand-built Llama with GloVe embeddings, synthetic) through every stage, GloVe head, and the paper\'s published predictions')
    .option('--run-dir <dir>', 'where stages are cached', 'runs/demo')
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .action(action((f: { runDir: string; dataDir?: string }) => runStudy(join(projectRoot(), 'configs', 'demo.json'), f)));
}
