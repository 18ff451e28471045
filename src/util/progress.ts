import cliProgress from 'cli-progress';
import { log, setStatusLine, releaseStatusLine, type StatusLine } from './log.js';
import { formatDuration } from './duration.js';

/** A byte count for people: 1.2 GB, 340.5 MB, 12.0 kB. */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

/**
 * Progress for long loops: a cli-progress bar on an interactive terminal (when info lines are
 * shown), otherwise a pino line every `intervalMs` with the rate and ETA. The bar is the log's
 * status line: log lines written while it runs appear above it, never on its line. The ETA comes
 * from the mean rate since the start (steadier than cli-progress's windowed estimate) and is
 * formatted by formatDuration. With `unit: 'bytes'` counts are shown as kB/MB/GB (downloads).
 */
export class Progress {
  private done = 0;
  private readonly t0 = Date.now();
  private last = Date.now();
  private readonly bar: cliProgress.SingleBar | null;
  private readonly intervalMs: number;
  private readonly fmt: (n: number) => string;
  private status: StatusLine | null = null;

  constructor(
    private readonly what: string,
    private readonly total: number,
    { bar = process.stderr.isTTY === true && log.isLevelEnabled('info'), intervalMs = 5_000, unit = 'items' }: { bar?: boolean; intervalMs?: number; unit?: 'items' | 'bytes' } = {},
  ) {
    this.intervalMs = intervalMs;
    this.fmt = unit === 'bytes' ? formatBytes : (n) => String(n);
    this.bar = bar && total > 0
      ? new cliProgress.SingleBar({
        format: `${what} [{bar}] {shown}/{all} {rate}/s ETA {eta}`,
        stream: process.stderr,
        hideCursor: true,
        // Every timer tick draws the line, so a redraw after a log line always happens.
        forceRedraw: true,
      }, cliProgress.Presets.shades_classic)
      : null;
    if (this.bar) {
      const bar = this.bar;
      this.bar.start(total, 0, { rate: '0.0', eta: '?', shown: this.fmt(0), all: this.fmt(total) });
      this.status = {
        clear: () => process.stderr.write('\r\x1b[2K'),
        // ESC 7 saves the cursor on the bar's new line: the bar's stop() restores to it.
        redraw: () => { process.stderr.write('\x1b7'); bar.render(); },
        stop: () => this.stop(),
      };
      setStatusLine(this.status);
    }
  }

  tick(n = 1): void {
    this.done += n;
    const now = Date.now();
    const rate = this.done / Math.max(1e-3, (now - this.t0) / 1000);
    const eta = rate > 0 ? (this.total - this.done) / rate : NaN;
    const rateText = this.fmt === formatBytes ? formatBytes(Math.round(rate)) : rate.toFixed(1);
    if (this.bar) {
      this.bar.update(this.done, { rate: rateText, eta: formatDuration(eta), shown: this.fmt(this.done), all: this.fmt(this.total) });
      if (this.done >= this.total) this.stop();
    } else if (now - this.last >= this.intervalMs || this.done === this.total) {
      this.last = now;
      log.info({ task: this.what, done: this.done, total: this.total, per_s: Number(rate.toFixed(2)), eta_s: Number.isFinite(eta) ? Math.round(eta) : null },
        `${this.what}: ${this.fmt(this.done)}/${this.fmt(this.total)} (${rateText}/s, ETA ${formatDuration(eta)})`);
      if (this.done === this.total) this.stop();
    }
  }

  private stopped = false;

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.bar) {
      if (this.status) releaseStatusLine(this.status);
      this.bar.stop();
    }
  }
}
