import { writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { resolveDataDir } from '../../data/datadir.js';
import { columnRole } from '../../data/columns.js';
import type { Lang } from '../../data/dimensions.js';
import { normsFromTable, readTable } from '../../data/norms.js';
import { customPairSplit, customSplit, normsToCsv, paperSplit, pairedToCsv, poolSplit, PAPER_SPLIT, type CustomSplitOptions } from '../../data/splits.js';
import { isPairedTable, pairedFromTable, type PairedRatings } from '../../data/translations.js';
import { writeDirAtomic } from '../../util/atomic.js';
import { SmftError } from '../../util/errors.js';
import { sha256File } from '../../util/hash.js';
import { toJson } from '../../eval/write.js';
import { defaultOutput, prepareOutput, safeName } from '../../util/output.js';
import { action, choiceOption, FORCE_HELP, intOption, numberOption, seedOption } from '../run.js';

interface SplitFlags {
  paper?: boolean;
  pool?: boolean;
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
 * `smft split`: the paper's train/eval split, the pool alternative, or a seeded split of any norms file, written as
 * train.csv + eval.csv + split.json into --out (atomically: all or nothing).
 */
export function registerSplit(program: Command): void {
  program
    .command('split')
    .description("train/eval split: the paper's own (2358 / 1572 pairs), the pool alternative, or a seeded split of a norms file; checked for leakage")
    .option('--paper', "the paper's split: 2358 training / 1572 eval pairs drawn from the 7861-pair file as the authors did (scikit-learn train_test_split, random_state 42, twice)")
    .option('--pool', "an alternative with more training pairs: eval = the paper's 1572 pairs, train = paper/train_pool_5436.csv minus every pair sharing a word with eval (4668 pairs)")
    .option('--norms <file>', 'split this norms file (Lancaster, Dutch, or English–Dutch pairs; CSV, TSV or XLSX)')
    .option('--lang <lang>', 'with --norms: which norms of the file to split, en or nl (default: pairs when the file has both, else the one it has)', choiceOption('lang', ['en', 'nl'] as const))
    .option('--eval-fraction <f>', 'with --norms: fraction of words for eval (default 0.2)', numberOption('eval-fraction'))
    .option('--eval-count <n>', 'with --norms: number of words for eval (instead of a fraction)', intOption('eval-count', 1))
    .option('--seed <n>', 'with --norms: seed of the shuffle (default 1; 0 … 4294967295)', seedOption())
    .option('--data-dir <dir>', 'data directory (default: SMFT_DATA_DIR or ./data)')
    .option('-o, --out <dir>', 'output folder: train.csv, eval.csv, split.json (default runs/split/paper, runs/split/pool or runs/split/<norms file name>)')
    .option('--force', FORCE_HELP('split folder'))
    .action(action(async (f: SplitFlags) => {
      if ([f.paper, f.pool, f.norms].filter(Boolean).length !== 1) throw new SmftError('give exactly one of --paper, --pool or --norms FILE');
      const dataDir = f.paper || f.pool ? resolveDataDir(f.dataDir) : undefined;
      const out = prepareOutput({
        path: f.out ?? defaultOutput('split', f.paper ? 'paper' : f.pool ? 'pool' : safeName(basename(f.norms!).replace(/\.[^.]+$/, ''))),
        kind: 'split', force: f.force, inputs: [f.norms, dataDir],
      }).path;
      if (dataDir) {
        for (const [flag, v] of [['--eval-fraction', f.evalFraction], ['--eval-count', f.evalCount], ['--seed', f.seed], ['--lang', f.lang]] as const) {
          if (v !== undefined) throw new SmftError(`${flag} applies to --norms only; the ${f.paper ? "paper's" : 'pool'} split is fixed`);
        }
        let train: PairedRatings, ev: PairedRatings, info: Record<string, unknown>, lines: string[];
        if (f.paper) {
          const s = await paperSplit(dataDir);
          const c = s.counts;
          train = s.train; ev = s.eval;
          info = {
            kind: 'paper', method: `scikit-learn train_test_split(test_size=${PAPER_SPLIT.testSizes[0]}, random_state=${PAPER_SPLIT.seed}), train half → train_test_split(test_size=${PAPER_SPLIT.testSizes[1]}, random_state=${PAPER_SPLIT.seed})`,
            files: await fileInfo([s.files.pairs, ...(s.files.evalFile ? [s.files.evalFile] : [])]), counts: c, indices: s.indices,
          };
          lines = [
            `pairs: ${c.pairs} in ${basename(s.files.pairs)}; half kept by the first split (test_size ${PAPER_SPLIT.testSizes[0]}, random_state ${PAPER_SPLIT.seed}): ${c.half}`,
            `train: ${c.train.rows} pairs (${c.train.uniqueEn} English, ${c.train.uniqueNl} Dutch words)`,
            `eval:  ${c.eval.rows} pairs (${c.eval.uniqueEn} English, ${c.eval.uniqueNl} Dutch words)${s.files.evalFile ? `, the pairs of ${basename(s.files.evalFile)} (same set, its order)` : ''}`,
          ];
        } else {
          const s = await poolSplit(dataDir);
          const c = s.counts;
          train = s.train; ev = s.eval;
          info = { kind: 'pool', files: await fileInfo([s.files.eval, s.files.trainPool]), counts: c };
          lines = [
            `eval:  ${c.eval.rows} pairs (${c.eval.uniqueEn} English, ${c.eval.uniqueNl} Dutch words) from ${basename(s.files.eval)}`,
            `pool:  ${c.pool.rows} pairs (${c.pool.uniqueEn} English, ${c.pool.uniqueNl} Dutch words) in ${basename(s.files.trainPool)}`,
            `removed: ${c.removed.rows} pool pairs sharing a word with eval (${c.removed.byEn} by English word, ${c.removed.byNl} by Dutch word; ${c.removed.sharedEn} English and ${c.removed.sharedNl} Dutch eval words are in the pool)`,
            `train: ${c.train.rows} pairs (${c.train.uniqueEn} English, ${c.train.uniqueNl} Dutch words); not the paper's training set (that is --paper)`,
          ];
        }
        await writeDirAtomic(out, (tmp) => {
          writeFileSync(join(tmp, 'train.csv'), pairedToCsv(train));
          writeFileSync(join(tmp, 'eval.csv'), pairedToCsv(ev));
          writeFileSync(join(tmp, 'split.json'), toJson(info));
        }, { kind: 'split' });
        for (const l of lines) say(l);
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
