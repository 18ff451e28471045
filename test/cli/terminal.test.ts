/**
 * The terminal a user sees, through real processes: log lines for people on a terminal (run on a
 * pseudo-terminal with util-linux `script`), JSON lines on a pipe or with --log-format json; a
 * progress bar never shares a line with a log line or the error line (the pty output replayed on
 * a small terminal model); no TF.js banner, Dawn/Vulkan warning or WebGPU fallback warning unless
 * a GPU backend was asked for; the first line of a failing command is its error line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, runCli } from './helpers.js';
import { testDataDir } from '../helpers/data.js';
import { tempDir } from '../helpers/tmp.js';
import { gpuDeviceVisible } from '../../kernels/webgpu/device.js';

const MODEL = join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2');
const tmp = tempDir('terminal');
const words = join(tmp, 'words.txt');
writeFileSync(words, 'thunder\nvelvet\n');
const rateArgs = (out: string): string[] => ['rate', '--backend', 'onnx', '--model', MODEL, '--eval-set', words, '--lang', 'en', '-o', join(tmp, out)];

/** Noise that must not reach a user who asked for no GPU backend. */
const NOISE = [/looks like you are running TensorFlow\.js/, /^Warning:/m, /WebGPU/i, /Vulkan/i];

/**
 * Replay what a program wrote to a terminal (text, CR, LF, ESC 7/8, CSI G/K/m/?h/?l: what pino-pretty
 * and cli-progress write) and return the screen's lines, trailing spaces removed. LF only moves
 * down: the pty has already turned each '\n' the program wrote into CR LF.
 */
function screen(raw: string): string[] {
  const lines: string[][] = [[]];
  let row = 0, col = 0, saved = { row: 0, col: 0 };
  const line = (): string[] => (lines[row] ??= []);
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '\r') col = 0;
    else if (c === '\n') { row++; line(); }
    else if (c === '\x1b' && raw[i + 1] === '7') { saved = { row, col }; i++; }
    else if (c === '\x1b' && raw[i + 1] === '8') { ({ row, col } = saved); i++; }
    else if (c === '\x1b' && raw[i + 1] === '[') {
      const m = /^\[([?\d;]*)([@-~])/.exec(raw.slice(i + 1));
      assert.ok(m, `unknown escape at ${JSON.stringify(raw.slice(i, i + 12))}`);
      i += m[0].length;
      const n = m[1] === '' ? 0 : Number(m[1]);
      if (m[2] === 'G') col = Math.max(0, n - 1);
      else if (m[2] === 'K' && n === 2) lines[row] = [];
      else if (m[2] === 'K') line().length = Math.min(line().length, col);
      else assert.ok('mhl'.includes(m[2]), `unexpected CSI ${m[0]}`);
    } else {
      const l = line();
      while (l.length < col) l.push(' ');
      l[col++] = c;
    }
  }
  return lines.map((l) => l.join('').trimEnd());
}

/** Run a command on a pseudo-terminal; stdout and stderr both arrive as the terminal's output. */
function onTty(argv: string[], env: Record<string, string> = {}): { code: number | null; out: string } {
  const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
  const r = spawnSync('script', ['-qec', argv.map(quote).join(' '), '/dev/null'], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000,
    env: { ...process.env, SMFT_LOG_LEVEL: 'info', SMFT_DATA_DIR: testDataDir(), ...env },
  });
  assert.ok(!r.error, `script (util-linux) could not run: ${r.error?.message}`);
  return { code: r.status, out: r.stdout };
}

const isBar = (l: string): boolean => /[█░]/.test(l);

test('progress bars and log lines never share a line; the bar stays below the lines logged while it runs', () => {
  const child = join(ROOT, 'test', 'fixtures', 'terminal', 'progress-child.ts');
  const r = onTty([process.execPath, '--import', 'tsx', child]);
  assert.equal(r.code, 0, r.out);
  const lines = screen(r.out).filter((l) => l !== '');
  const at = (re: RegExp): number => {
    const hits = lines.flatMap((l, i) => (re.test(l) ? [i] : []));
    assert.equal(hits.length, 1, `${re}: ${hits.length} lines in\n${lines.join('\n')}`);
    return hits[0];
  };
  const order = [
    at(/INFO: log line 1$/), at(/INFO: log line 5$/), at(/INFO: log line 9$/), at(/^work \[█+\] 12\/12 /),
    at(/WARN: after the first bar$/), at(/INFO: during the second bar$/), at(/^again \[█+\] 10\/10 /), at(/INFO: done$/),
  ];
  assert.deepEqual(order, [...order].sort((a, b) => a - b), lines.join('\n'));
  for (const l of lines) assert.ok(!(isBar(l) && /INFO|WARN/.test(l)), `bar and log on one line: ${l}`);
  // Human-readable lines, not JSON.
  assert.match(lines[order[0]], /^\[\d\d:\d\d:\d\d\] INFO: log line 1$/);
});

test('the error line of a failing command ends the bar and stands on its own last line', () => {
  const child = join(ROOT, 'test', 'fixtures', 'terminal', 'progress-child.ts');
  const r = onTty([process.execPath, '--import', 'tsx', child, 'fail']);
  assert.equal(r.code, 2, r.out);
  const lines = screen(r.out).filter((l) => l !== '');
  assert.equal(lines.at(-1), 'smft: error: something went wrong');
  assert.match(lines.at(-2)!, /^again \[[█░]+\] 5\/10 /);
});

test('smft rate --backend onnx: JSON lines on a pipe, no TF.js banner, no GPU probe', async () => {
  const r = await runCli(rateArgs('pipe.csv'), { env: { SMFT_LOG_LEVEL: 'info' }, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  for (const re of NOISE) assert.doesNotMatch(r.stderr, re);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.ok(lines.length >= 2, r.stderr);
  for (const l of lines) assert.equal((JSON.parse(l) as { name: string }).name, 'smft', l);
  assert.ok(lines.some((l) => JSON.parse(l).msg === 'model loaded'));
});

test('smft rate on a terminal: readable lines, and JSON lines with --log-format json', () => {
  const pretty = onTty([process.execPath, BIN, ...rateArgs('tty.csv')]);
  assert.equal(pretty.code, 0, pretty.out);
  for (const re of NOISE) assert.doesNotMatch(pretty.out, re);
  const shown = screen(pretty.out).filter(Boolean);
  assert.ok(shown.some((l) => /^\[\d\d:\d\d:\d\d\] INFO: model loaded {2}.*arch=Qwen2ForCausalLM/.test(l)), shown.join('\n'));
  assert.ok(!shown.some((l) => l.startsWith('{')), shown.join('\n'));

  const json = onTty([process.execPath, BIN, '--log-format', 'json', ...rateArgs('tty-json.csv')]);
  assert.equal(json.code, 0, json.out);
  const objects = screen(json.out).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string });
  assert.ok(objects.some((o) => o.msg === 'model loaded'), json.out);
  assert.ok(!screen(json.out).some((l) => /^\[\d\d:\d\d:\d\d\] INFO/.test(l)));
});

test('a failing command: its error line comes first on stderr (auto probes no GPU on a machine without one)', async () => {
  const env = { SMFT_LOG_LEVEL: 'info', SMFT_WEBGPU_ALLOW_SOFTWARE: '' };
  const r = await runCli(['rate', '--model', join(tmp, 'no-such-model'), '--eval-set', words, '-o', join(tmp, 'x.csv')], { env });
  assert.equal(r.code, 2);
  if (!gpuDeviceVisible({ ...process.env, ...env })) {
    assert.match(r.stderr.split('\n')[0], /^smft: error: model '.*no-such-model' is neither an existing folder nor a Hugging Face hub id/);
    for (const re of NOISE) assert.doesNotMatch(r.stderr, re);
  } else {
    assert.match(r.stderr, /^smft: error: /m); // a GPU host may log the backend it started first
  }
});
