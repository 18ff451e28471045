import { writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { resolveDataDir } from '../../data/datadir.js';
import { columnRole } from '../../data/columns.js';
import type { Lang } from '../../data/dimensions.js';
import { normsFromTable, readTable } from '../../data/norms.js';
import { customPairSplit, customSplit, normsToCsv, paperSplit, pairedToCsv, type CustomSplitOptions } from '../../data/splits.js';
import { isPairedTable, pairedFromTable } from '../../data/translations.js';
import { writeDirAtomic } from '../../util/atomic.js';
import { SmftError } from '../../util/errors.js';
import { sha256File } from '../../util/hash.js';
import { toJson } from '../../eval/write.js';
import { defaultOutput, prepareOutput, safeName } from '../../util/output.js';
import { action, choiceOption, FORCE_HELP, intOption, numberOption, seedOption } from '../run.js';

interface SplitFlags {
  paper?: boolean;
  norms?: string;
  lang?: Lang;
  evalFraction?: number;
  evalCount?: number;
  seed?: number;
  dataDir?: string;
  out?: string;
  force?: boolean;
}

const say = (line: string): void => { process.stdout.write(line + '\n'); };

/**
 * `smft split`: the paper's train/eval split, or a seeded split of any norms file, written as
 * train.csv + eval.csv + split.json into --out (atomically: all or nothing).
 */
export function registerSplit(program: Command): void {
  program
    .command('split')
    .description("train/eval split: the paper's (eval = its 1572 words, train = its train pool minus every pair sharing a word with eval) or a seeded split of a norms file; checked for leakage")
    .option('--paper', "the paper's split (needs paper/ in the data directory)")
    .option('--norms <file>', 'split this norms file (Lancaster, Dutch, or English–Dutch pairs; CSV, TSV or XLSX)')
    .option('--lang <lang>', 'with --norms: which norms of the file to split, en or nl (default: pairs when the file has both, else the one it has)', choiceOption('lang', ['en', 'nl'] as const))
    .option('--eval-fraction <f>', 'with --norms: fraction of words for eval (default 0.2)', numberOption('eval-fraction'))
    .option('--eval-count <n>', 'with --norms: number of words for eval (instead of a fraction)', intOption('eval-count', 1))
    .option('--seed <n>', 'with --norms: seed of the shuffle (default 1; 0 … 4294967295)', seedOption())
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .option('-o, --out <dir>', 'output folder: train.csv, eval.csv, split.json (default runs/split/paper or runs/split/<norms file name>)')
    .option('--force', FORCE_HELP('split folder'))
    .action(action(async (f: SplitFlags) => {
      if (!!f.paper === !!f.norms) throw new SmftError('give exactly one of --paper or --norms FILE');
      const dataDir = f.paper ? resolveDataDir(f.dataDir) : undefined;
      const out = prepareOutput({
        path: f.out ?? defaultOutput('split', f.paper ? 'paper' : safeName(basename(f.norms!).replace(/\.[^.]+$/, ''))),
        kind: 'split', force: f.force, inputs: [f.norms, dataDir],
      }).path;
      if (f.paper) {
        for (const [flag, v] of [['--eval-fraction', f.evalFraction], ['--eval-count', f.evalCount], ['--seed', f.seed], ['--lang', f.lang]] as const) {
          if (v !== undefined) throw new SmftError(`${flag} applies to --norms only; the paper's split is fixed`);
        }
        const s = await paperSplit(dataDir!);
        const c = s.counts;
        const info = { kind: 'paper', files: await fileInfo([s.files.eval, s.files.trainPool]), counts: c };
        await writeDirAtomic(out, (tmp) => {
          writeFileSync(join(tmp, 'train.csv'), pairedToCsv(s.train));
          writeFileSync(join(tmp, 'eval.csv'), pairedToCsv(s.eval));
          writeFileSync(join(tmp, 'split.json'), toJson(info));
        }, { kind: 'split' });
        say(`eval:  ${c.eval.rows} pairs (${c.eval.uniqueEn} English, ${c.eval.uniqueNl} Dutch words) from ${basename(s.files.eval)}`);
        say(`pool:  ${c.pool.rows} pairs (${c.pool.uniqueEn} English, ${c.pool.uniqueNl} Dutch words) in ${basename(s.files.trainPool)}`);
        say(`removed: ${c.removed.rows} pool pairs sharing a word with eval (${c.removed.byEn} by English word, ${c.removed.byNl} by Dutch word; ${c.removed.sharedEn} English and ${c.removed.sharedNl} Dutch eval words are in the pool)`);
        say(`train: ${c.train.rows} pairs (${c.train.uniqueEn} English, ${c.train.uniqueNl} Dutch words); the paper reports ${c.paperReportedTrainConcepts} training concepts`);
        say(`no leakage; wrote ${join(out, 'train.csv')}, ${join(out, 'eval.csv')}, ${join(out, 'split.json')}`);
        return;
      }
      const file = resolve(f.norms!);
      if (f.evalCount !== undefined && f.evalFraction !== undefined) throw new SmftError('give either --eval-fraction or --eval-count, not both');
      const opts: CustomSplitOptions = { seed: f.seed ?? 1, ...(f.evalCount !== undefined ? { evalCount: f.evalCount } : { evalFraction: f.evalFraction ?? 0.2 }) };
      const table = await readTable(file);
      const files = await fileInfo([file]);
      if (!f.lang && isPairedTable(table)) {
        const s = customPairSplit(pairedFromTable(table), opts);
        const c = s.counts;
        await writeDirAtomic(out, (tmp) => {
          writeFileSync(join(tmp, 'train.csv'), pairedToCsv(s.train));
          writeFileSync(join(tmp, 'eval.csv'), pairedToCsv(s.eval));
          writeFileSync(join(tmp, 'split.json'), toJson({ kind: 'pairs', ...opts, files, counts: c }));
        }, { kind: 'split' });
        say(`${c.rows} English–Dutch pairs in ${c.groups} groups (pairs sharing a word stay together), seed ${s.seed}`);
        say(`train: ${c.train.rows} pairs (${c.train.uniqueEn} English, ${c.train.uniqueNl} Dutch words)`);
        say(`eval:  ${c.eval.rows} pairs (${c.eval.uniqueEn} English, ${c.eval.uniqueNl} Dutch words)`);
      } else {
        const lang = f.lang ?? inferLang(table.header, file);
        const s = customSplit(normsFromTable(table, lang), opts);
        await writeDirAtomic(out, (tmp) => {
          writeFileSync(join(tmp, 'train.csv'), normsToCsv(s.train));
          writeFileSync(join(tmp, 'eval.csv'), normsToCsv(s.eval));
          writeFileSync(join(tmp, 'split.json'), toJson({ kind: 'norms', lang, ...opts, files, counts: s.counts }));
        }, { kind: 'split' });
        say(`${s.counts.words} ${lang === 'en' ? 'English' : 'Dutch'} words, seed ${s.seed}`);
        say(`train: ${s.counts.train} words`);
        say(`eval:  ${s.counts.eval} words`);
      }
      say(`no leakage; wrote ${join(out, 'train.csv')}, ${join(out, 'eval.csv')}, ${join(out, 'split.json')}`);
    }));
}

function inferLang(header: string[], file: string): Lang {
  const roles = header.map(columnRole);
  if (roles.some((r) => r.kind === 'human' && r.lang === 'en') || header.some((h) => /^english_.*_mean$/i.test(h))) return 'en';
  if (roles.some((r) => r.kind === 'human' && r.lang === 'nl')) return 'nl';
  throw new SmftError("no Lancaster ('Auditory.mean' …) or Dutch ('Horen' …) norm columns found", file);
}

async function fileInfo(files: string[]): Promise<Array<{ path: string; sha256: string }>> {
  return Promise.all(files.map(async (path) => ({ path, sha256: await sha256File(path) })));
}
