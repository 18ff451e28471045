/**
 * Nothing lost: every writing command's `-o` through the real command line (child processes,
 * real files in a temporary folder). What smft did not create is never replaced — the working
 * folder, an input, a user's file or folder, a device —, `--force` replaces only an smft output
 * of the same kind, an unwritable `-o` fails before any computation, a second writer of one
 * output is refused, leftovers of interrupted writes are cleaned by the next run, and outputs
 * get the user's umask. Each refusal is one line `smft: error: <path>: …` with exit code 2.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PAPER_FILES } from '../../src/data/sources.js';
import { testDataDir } from '../helpers/data.js';
import { BIN, ROOT, runCli, type CliResult } from './helpers.js';

let tmp = '';
let work = '';
let model = '';
const EVAL_EN = join(testDataDir(), PAPER_FILES.evalEn);

/** Every file and folder under `dir` with its content: what a refused command must leave as it was. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      out[r] = lstatSync(p).isDirectory() ? '<dir>' : readFileSync(p).toString('base64');
      if (lstatSync(p).isDirectory()) walk(p, r);
    }
  };
  walk(dir, '');
  return out;
}

/** `smft …` run in the work folder (a generous time limit: CI machines can be loaded). */
const smft = (args: string[], opts: Parameters<typeof runCli>[1] = {}): Promise<CliResult> => runCli(args, { cwd: work, timeoutMs: 300_000, ...opts });

/** One error line `smft: error: …` matching `problem`, exit code 2, nothing on stdout. */
function refused(r: CliResult, problem: RegExp, what: string): void {
  assert.equal(r.code, 2, `${what}: exit code ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: stderr is not one line:\n${r.stderr}`);
  assert.match(lines[0], /^smft: error: /, what);
  assert.doesNotMatch(lines[0], /internal error/, what);
  assert.match(lines[0], problem, `${what}: ${lines[0]}`);
  assert.equal(r.stdout, '', `${what}: stdout`);
}

const marker = (dir: string): { kind: string; created: string; files?: string[] } => JSON.parse(readFileSync(join(dir, '.smft-output.json'), 'utf8'));

/** The pid of a process that has exited (for leftovers of a "killed" run). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  assert.equal(r.status, 0);
  return r.pid!;
}

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'smft-outputs-'));
  work = join(tmp, 'work');
  mkdirSync(work);
  // 60 words of the paper's English evaluation set, with its human and model columns.
  writeFileSync(join(work, 'p.csv'), readFileSync(EVAL_EN, 'utf8').split('\n').slice(0, 61).join('\n') + '\n');
  writeFileSync(join(work, 'notes.txt'), 'my notes\n');
  mkdirSync(join(work, 'mythesis'));
  writeFileSync(join(work, 'mythesis', 'chapter1.tex'), '\\chapter{One}\n');
  model = join(tmp, 'base-model');
  cpSync(join(ROOT, 'test', 'fixtures', 'models', 'tiny-llama'), model, { recursive: true });
});
after(() => { rmSync(tmp, { recursive: true, force: true }); });

describe('an output never destroys what smft did not create', { concurrency: 3 }, () => {
  const cases: Array<{ name: string; args: () => string[]; problem: RegExp }> = [
    { name: 'evaluate -o . (the working folder)', args: () => ['evaluate', '-p', 'p.csv', '-o', '.', '--bootstrap', '0', '--force'], problem: /work: is the working folder/ },
    { name: 'evaluate -o .. (holds the working folder)', args: () => ['evaluate', '-p', 'p.csv', '-o', '..', '--bootstrap', '0', '--force'], problem: /: holds the working folder/ },
    { name: 'evaluate -o notes.txt (an existing file)', args: () => ['evaluate', '-p', 'p.csv', '-o', 'notes.txt', '--bootstrap', '0', '--force'], problem: /notes\.txt: exists and is a file, not an evaluation folder/ },
    { name: 'evaluate -o p.csv (its input)', args: () => ['evaluate', '-p', 'p.csv', '-o', 'p.csv', '--bootstrap', '0', '--force'], problem: /p\.csv: is an input of this command/ },
    { name: 'evaluate -o mythesis/ (a folder smft did not make)', args: () => ['evaluate', '-p', 'p.csv', '-o', 'mythesis/', '--bootstrap', '0', '--force'], problem: /mythesis: exists and is a folder smft did not make \(no \.smft-output\.json\)/ },
    { name: "evaluate -o ''", args: () => ['evaluate', '-p', 'p.csv', '-o', '', '--bootstrap', '0'], problem: /^smft: error: -o: empty path/ },
    { name: 'evaluate -o /dev/null --force (a device)', args: () => ['evaluate', '-p', 'p.csv', '-o', '/dev/null', '--bootstrap', '0', '--force'], problem: /\/dev\/null: exists and is a device or special file; smft never writes over it, not even with --force/ },
    { name: 'merge -o <the base model folder>', args: () => ['merge', '--model', model, '--checkpoint', join(tmp, 'no-such-adapter'), '-o', model, '--force'], problem: /base-model: is an input of this command/ },
    { name: 'split -o mythesis', args: () => ['split', '--paper', '-o', 'mythesis', '--force'], problem: /mythesis: exists and is a folder smft did not make/ },
    { name: 'embed -o notes.txt', args: () => ['embed', '--model', model, '-o', 'notes.txt', '--force'], problem: /notes\.txt: exists and is a file smft did not write \(not an embeddings file\)/ },
    { name: 'rate -o notes.txt (not a ratings file: no silent append)', args: () => ['rate', '--head', join(tmp, 'no-head'), '-o', 'notes.txt'], problem: /notes\.txt: exists and is a file smft did not write \(not a ratings file\)/ },
    { name: 'train -o mythesis', args: () => ['train', '--recipe', 'glove-head', '-o', 'mythesis', '--force'], problem: /mythesis: exists and is a folder smft did not make/ },
    { name: 'reproduce --run-dir mythesis', args: () => ['reproduce', '--config', join(ROOT, 'configs', 'demo.json'), '--run-dir', 'mythesis'], problem: /mythesis: exists and is a folder smft did not make/ },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const before = [snapshot(work), snapshot(model)];
      refused(await smft(c.args()), c.problem, c.name);
      assert.deepEqual([snapshot(work), snapshot(model)], before, `${c.name}: files changed`);
    });
  }

  test('data fetch never replaces a norms file it cannot verify', async () => {
    const dataDir = join(tmp, 'data-fetch');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'Lancaster_sensorimotor_norms_for_39707_words.csv'), 'Word,my,own,edits\n');
    const before = snapshot(dataDir);
    refused(await smft(['data', 'fetch', 'lancaster', '--data-dir', dataDir]), /Lancaster_sensorimotor_norms_for_39707_words\.csv: exists but is not the official file .*smft does not replace it/, 'data fetch');
    assert.deepEqual(snapshot(dataDir), before);
  });
});

describe('--force replaces an smft output of the same kind, and only that', () => {
  test('evaluate, again with and without --force; report beside it; another kind is refused', async () => {
    const first = await smft(['evaluate', '-p', 'p.csv', '-o', 'res', '--bootstrap', '0']);
    assert.equal(first.code, 0, first.stderr);
    const m1 = marker(join(work, 'res'));
    assert.equal(m1.kind, 'evaluation');
    assert.ok(m1.files!.includes('results.json') && m1.files!.includes('rsa.csv'), JSON.stringify(m1.files));
    const results1 = readFileSync(join(work, 'res', 'results.json'), 'utf8');

    const [again, asReport] = await Promise.all([
      smft(['evaluate', '-p', 'p.csv', '-o', 'res', '--bootstrap', '0']),
      smft(['report', 'res', '-o', 'res', '--force']),
    ]);
    refused(again, /res: an evaluation folder of smft exists here; add --force to replace it/, 'evaluate again');
    refused(asReport, /res: is an input of this command/, 'report RESULTS -o RESULTS');
    assert.equal(readFileSync(join(work, 'res', 'results.json'), 'utf8'), results1);

    const forced = await smft(['evaluate', '-p', 'p.csv', '-o', 'res', '--bootstrap', '0', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(marker(join(work, 'res')).created, m1.created, 'the folder was written again');

    const report = await smft(['report', 'res', '--word', 'abandon']);
    assert.equal(report.code, 0, report.stderr);
    assert.equal(marker(join(work, 'res', 'report')).kind, 'report');
    // An evaluation onto the report folder: another kind, refused even with --force.
    refused(await smft(['evaluate', '-p', 'p.csv', '-o', 'res/report', '--bootstrap', '0', '--force']), /report: is a report folder of smft, not an evaluation folder/, 'another kind');
    // A file of the user's inside an smft folder: --force leaves the folder alone.
    writeFileSync(join(work, 'res', 'my-analysis.R'), 'summary(x)\n');
    const before = snapshot(join(work, 'res'));
    refused(await smft(['evaluate', '-p', 'p.csv', '-o', 'res', '--bootstrap', '0', '--force']), /res: holds 'my-analysis\.R', which smft did not write/, 'user file inside');
    assert.deepEqual(snapshot(join(work, 'res')), before);
  });
});

describe('atomic writes: leftovers, umask, locks, unwritable paths', { concurrency: 2 }, () => {
  test("the next run removes the temps of an interrupted write and puts back a folder it had moved aside; outputs get the user's umask", async () => {
    const dir = join(tmp, 'leftovers');
    mkdirSync(dir);
    const dead = deadPid();
    const tmpDir = join(dir, `.out.smft-tmp-${dead}-0000aaaa`);
    mkdirSync(tmpDir);
    writeFileSync(join(tmpDir, 'results.json'), '{"half": ');
    writeFileSync(join(dir, `.ratings.csv.smft-tmp-${dead}-0000dddd`), 'word,dim');
    const moved = join(dir, `.earlier.smft-old-${dead}-0000bbbb`);
    mkdirSync(moved);
    writeFileSync(join(moved, 'results.json'), '{"earlier": true}\n');
    const live = `.other.smft-tmp-${process.pid}-0000cccc`;
    mkdirSync(join(dir, live));
    // Under umask 027: folders 0750, files 0640 (a temp folder from mkdtemp would be 0700).
    const out = join(dir, 'out');
    const r = await new Promise<{ code: number | null; stderr: string }>((res) => {
      const child = spawn('sh', ['-c', `umask 027 && exec "${process.execPath}" "${BIN}" evaluate -p p.csv -o "${out}" --bootstrap 0`], {
        cwd: work, env: { ...process.env, SMFT_LOG_LEVEL: 'silent', SMFT_DATA_DIR: testDataDir() }, stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      child.on('close', (code) => res({ code, stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(dir).sort(), [live, 'earlier', 'out'].sort());
    assert.equal(readFileSync(join(dir, 'earlier', 'results.json'), 'utf8'), '{"earlier": true}\n');
    assert.equal((statSync(out).mode & 0o777).toString(8), '750');
    assert.equal((statSync(join(out, 'results.json')).mode & 0o777).toString(8), '640');
    assert.equal((statSync(join(out, '.smft-output.json')).mode & 0o777).toString(8), '640');
  });

  test('an unwritable -o fails before the computation, in one line', async () => {
    // /sys refuses new entries to everyone (EPERM for root, EACCES otherwise, EROFS in containers).
    const r = await smft(['evaluate', '-p', EVAL_EN, '-o', '/sys/smft-test-out', '--bootstrap', '100000'], { env: { SMFT_LOG_LEVEL: 'info' } });
    // At log level info the computation would announce itself ('evaluating') before any output.
    refused(r, /^smft: error: \/sys\/smft-test-out: cannot write there: \/sys: /, 'unwritable -o');
    assert.ok(r.ms < 180_000, `took ${r.ms} ms: 100000 bootstrap iterations take many minutes`);
    refused(await smft(['evaluate', '-p', 'p.csv', '-o', 'notes.txt/results', '--bootstrap', '0']), /notes\.txt\/results: cannot create it: .*notes\.txt is a file, not a folder/, 'a file as parent');
  });

  test('two processes never write one output: the second is refused; a dead owner\'s lock is taken over', async () => {
    const out = join(tmp, 'locked');
    const lock = join(tmp, '.locked.smft-lock');
    // A slow writer: a long bootstrap on one thread.
    const slow = spawn(process.execPath, [BIN, 'evaluate', '-p', EVAL_EN, '-o', out, '--bootstrap', '20000', '--threads', '1'], {
      cwd: work, env: { ...process.env, SMFT_LOG_LEVEL: 'silent', SMFT_DATA_DIR: testDataDir() }, stdio: 'ignore',
    });
    const exited = new Promise((res) => slow.on('close', res));
    try {
      for (let t = 0; !existsSync(lock); t++) {
        assert.ok(t < 3000, 'the first writer never took its lock');
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(JSON.parse(readFileSync(lock, 'utf8')).pid, slow.pid);
      refused(await smft(['evaluate', '-p', 'p.csv', '-o', out, '--bootstrap', '0', '--force']), new RegExp(`locked: another smft process is writing this output \\(pid ${slow.pid} since `), 'second writer');
    } finally {
      slow.kill('SIGKILL');
      await exited;
    }
    // Killed: its lock stays behind, and the next run takes it over.
    assert.ok(existsSync(lock));
    const next = await smft(['evaluate', '-p', 'p.csv', '-o', out, '--bootstrap', '0']);
    assert.equal(next.code, 0, next.stderr);
    assert.equal(marker(out).kind, 'evaluation');
    assert.equal(existsSync(lock), false, 'the lock is released at exit');
  });
});

describe('failures from inputs and options are one line naming the file', { concurrency: 3 }, () => {
  test('bad --bootstrap-indices: invalid JSON, wrong shape, indices that do not fit', async () => {
    const files = { truncated: '{"all": [[0, 1', misfit: '{"motor": [[0, 1, 2]], "sensory": [[0, 1, 2]], "all": [[0, 1, 2]]}' };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(tmp, `idx-${name}.json`), text);
    const rs = await Promise.all(Object.keys(files).map((name) => smft(['evaluate', '-p', 'p.csv', '-o', join(tmp, `idx-out-${name}`), '--bootstrap-indices', join(tmp, `idx-${name}.json`)])));
    refused(rs[0], /idx-truncated\.json: not valid JSON/, 'truncated');
    refused(rs[1], /idx-misfit\.json: resample 0 has 3 indices, the subset has 60 words$/, 'misfit');
    for (const name of Object.keys(files)) assert.equal(existsSync(join(tmp, `idx-out-${name}`)), false);
  });

  test('an input that exists but cannot be read', async () => {
    // /proc/self/mem is a file every user can open and no one can read from its start (EIO).
    refused(await smft(['evaluate', '-p', '/proc/self/mem', '-o', join(tmp, 'unreadable-out'), '--bootstrap', '0']), /^smft: error: \/proc\/self\/mem: cannot read it: /, 'unreadable');
    assert.equal(existsSync(join(tmp, 'unreadable-out')), false);
  });

  test('numeric options: decimal digits only, bounded, seeds in the generator\'s range', async () => {
    const bad: Array<[string[], RegExp]> = [
      [['--bootstrap', '0x10'], /'--bootstrap <n>' argument '0x10' is invalid\. must be a whole number from 0 to 100000/],
      [['--seed', ''], /'--seed <n>' argument '' is invalid\. must be a whole number from 0 to 4294967295/],
      [['--threads', '1000'], /--threads 1000 is more than this machine's \d+ cores; add --oversubscribe/],
    ];
    const rs = await Promise.all(bad.map(([args]) => smft(['evaluate', '-p', 'p.csv', '-o', join(tmp, 'opt-out'), ...args])));
    rs.forEach((r, i) => refused(r, bad[i][1], bad[i][0].join(' ')));
    assert.equal(existsSync(join(tmp, 'opt-out')), false);
  });
});
