import { writeSync } from 'node:fs';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { prettyFactory } from 'pino-pretty';

/**
 * The project's logger (pino). Logs go to stderr so that stdout stays free for results.
 *
 * - Level: SMFT_LOG_LEVEL (fatal, error, warn, info, debug, trace, silent; default info); the CLI's
 *   `--verbose` (debug) and `--quiet` (warn) override it. Tests set it to 'silent'.
 * - Format: human-readable lines (`[12:03:41] INFO: model loaded  arch=… params=…`) when stderr
 *   is a terminal, one JSON object per line otherwise (pipes, files, CI), as pino writes them;
 *   SMFT_LOG_FORMAT or the CLI's `--log-format` (auto, pretty, json) choose explicitly.
 * - A progress bar (src/util/progress.ts) registers itself as the status line: a log line clears
 *   the bar, is written, and the bar is drawn again below it, so the two never share a line.
 */
export type LogFormat = 'pretty' | 'json';
export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
const LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** 'pretty' or 'json' for a requested format ('auto' or undefined: pretty on a terminal). */
export function resolveLogFormat(requested: string | undefined, isTTY: boolean): LogFormat {
  if (requested === 'pretty' || requested === 'json') return requested;
  return isTTY ? 'pretty' : 'json';
}

/** Something drawn on the terminal's last line that log lines must not share (a progress bar). */
export interface StatusLine {
  clear(): void;
  redraw(): void;
  stop(): void;
}
let status: StatusLine | null = null;

/** Register the status line that log writes clear and redraw (the latest one wins). */
export function setStatusLine(s: StatusLine): void {
  status = s;
}

/** Drop a status line registered with setStatusLine (no-op when another one replaced it). */
export function releaseStatusLine(s: StatusLine): void {
  if (status === s) status = null;
}

/** Write text to stderr on a line of its own: the status line is cleared first and drawn again after. */
export function writeStderr(text: string): void {
  status?.clear();
  writeAll(text);
  status?.redraw();
}

/** Write a line that ends the run (the CLI's error line): the status line is stopped, not redrawn. */
export function writeFinalLine(text: string): void {
  const s = status;
  status = null;
  s?.stop();
  writeAll(text);
}

function writeAll(text: string): void {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length;) {
    try {
      off += writeSync(2, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

let format: LogFormat = resolveLogFormat(process.env.SMFT_LOG_FORMAT, process.stderr.isTTY === true);
let pretty: ((line: string) => string) | null = null;

function colours(): boolean {
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  return process.stderr.isTTY === true && !process.env.NO_COLOR;
}

/** Fields shown after the message on a pretty line: primitives not already in the message. */
function fieldsText(o: Record<string, unknown>, msg: string, verbose: boolean): string {
  const words = new Set(msg.split(/[\s,;:()[\]=/]+/));
  const out: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (k === 'level' || k === 'time' || k === 'msg' || k === 'name' || k === 'err' || v === undefined) continue;
    let s: string;
    if (v === null || typeof v !== 'object') s = String(v);
    else if (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) s = v.join(',');
    else if (verbose) s = JSON.stringify(v);
    else continue;
    if (!verbose && words.has(s)) continue;
    out.push(`${k}=${s.length > 60 && !verbose ? `${s.slice(0, 59)}…` : s}`);
  }
  return out.join(' ');
}

function prettifier(): (line: string) => string {
  const colorize = colours();
  const dim = (s: string): string => (colorize ? `\x1b[2m${s}\x1b[22m` : s);
  return prettyFactory({
    colorize,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'name',
    hideObject: true,
    messageFormat: (o, key) => {
      const msg = String(o[key] ?? '');
      const fields = fieldsText(o, msg, log.isLevelEnabled('debug'));
      return fields ? `${msg}  ${dim(fields)}` : msg;
    },
  });
}

const destination = {
  write(line: string): void {
    if (format === 'json') {
      writeStderr(line);
      return;
    }
    pretty ??= prettifier();
    writeStderr(pretty(line));
  },
};

function levelFromEnv(): LevelWithSilent {
  const v = process.env.SMFT_LOG_LEVEL;
  if (v === undefined || v === '') return 'info';
  if ((LEVELS as readonly string[]).includes(v)) return v as LevelWithSilent;
  writeAll(`smft: warning: SMFT_LOG_LEVEL=${v} is not a level (${LEVELS.join(', ')}); using info\n`);
  return 'info';
}

export const log: Logger = pino({ name: 'smft', level: levelFromEnv(), base: undefined }, destination);

/**
 * Apply the CLI's logging options: `verbose` (debug) or `quiet` (warn) over SMFT_LOG_LEVEL, and
 * the format ('auto' as SMFT_LOG_FORMAT, else pretty on a terminal, JSON lines otherwise).
 */
export function configureLogging(o: { verbose?: boolean; quiet?: boolean; format?: string }): void {
  if (o.verbose) log.level = 'debug';
  else if (o.quiet && log.levelVal < pino.levels.values.warn) log.level = 'warn';
  const requested = o.format && o.format !== 'auto' ? o.format : process.env.SMFT_LOG_FORMAT;
  format = resolveLogFormat(requested, process.stderr.isTTY === true);
  pretty = null;
  // Worker threads (their stderr is no terminal) and child processes log in the same format.
  process.env.SMFT_LOG_FORMAT = format;
}
