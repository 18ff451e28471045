// `npm test`: node's test runner over test/*.test.ts and test/*/*.test.ts, one file at a time, with
// TMPDIR (os.tmpdir() of the tests and of every process they start) and SMFT_CACHE_DIR (the GloVe
// cache, built once per run) in a fresh folder of this run. Afterwards the run fails if the tests
// left anything in that temp folder: a test cleans up what it writes (test/helpers/tmp.ts). The
// folder is removed in any case. Test files given as arguments run instead of all of them; other
// arguments go to `node --test` (e.g. --test-name-pattern=…).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const testDir = join(root, 'test');
const isTest = (f) => f.endsWith('.test.ts');
const args = process.argv.slice(2);
const all = [
  ...readdirSync(testDir).filter(isTest).sort().map((f) => join(testDir, f)),
  ...readdirSync(testDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()
    .flatMap((d) => readdirSync(join(testDir, d)).filter(isTest).sort().map((f) => join(testDir, d, f))),
].map((f) => relative(root, f));
const files = args.some(isTest) ? args.filter(isTest) : all;

// What libraries keep in the temp folder, not the tests: tsx's compile cache, and the session
// file and empty debug log of ONNX Runtime's telemetry SDK (1DS: .ses, mat-debug-<pid>.log);
// and this script's own cache folder.
const OWN = (name) => /^tsx-\d+$/.test(name) || name === '.ses' || /^mat-debug-\d+\.log$/.test(name) || name === 'smft-cache';

const runTmp = mkdtempSync(join(tmpdir(), 'smft-test-run-'));
mkdirSync(join(runTmp, 'smft-cache'));
let status = 1;
try {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...args.filter((a) => !isTest(a)), ...files], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TMPDIR: runTmp, SMFT_CACHE_DIR: join(runTmp, 'smft-cache') },
  });
  status = r.status ?? 1;
  const left = readdirSync(runTmp).filter((n) => !OWN(n));
  if (left.length) {
    process.stderr.write(`run-tests: the tests left ${left.length} item(s) in the temp folder (a test must remove what it writes; see test/helpers/tmp.ts): ${left.sort().join(', ')}\n`);
    if (status === 0) status = 1;
  }
} finally {
  rmSync(runTmp, { recursive: true, force: true });
}
process.exit(status);
