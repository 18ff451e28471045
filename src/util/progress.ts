import cliProgress from 'cli-progress';
import { log } from './log.js';

/** A byte count for people: 1.2 GB, 340.5 MB, 12.0 kB. */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

/**
 * Progress for long loops: a cli-progress bar on an interactive terminal, otherwise a pino
 * line every `intervalMs` with the rate and ETA. With `unit: 'bytes'` counts are shown as
 * kB/MB/GB (downloads).
 */
export class Progress {
  private done = 0;
  private readonly t0 = Date.now();
  private last = Date.now();
  private readonly bar: cliProgress.SingleBar | null;
  private readonly intervalMs: number;
  private readonly fmt: (n: number) => string;

  constructor(
    private readonly what: string,
    private readonly total: number,
    { bar = process.stderr.isTTY === true && process.env.SMFT_LOG_LEVEL !== 'silent', intervalMs = 5_000, unit = 'items' }: { bar?: boolean; intervalMs?: number; unit?: 'items' | 'bytes' } = {},
  ) {
    this.intervalMs = intervalMs;
    this.fmt = unit === 'bytes' ? formatBytes : (n) => String(n);
    this.bar = bar && total > 0
      ? new cliProgress.SingleBar({ format: `${what} [{bar}] {shown}/{all} {rate}/s ETA {eta_formatted}`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
      : null;
    this.bar?.start(total, 0, { rate: '0.0', shown: this.fmt(0), all: this.fmt(total) });
  }

  tick(n = 1): void {
    this.done += n;
    const now = Date.now();
    const rate = this.done / Math.max(1e-3, (now - this.t0) / 1000);
    const rateText = this.fmt === formatBytes ? formatBytes(Math.round(rate)) : rate.toFixed(1);
    if (this.bar) {
      this.bar.update(this.done, { rate: rateText, shown: this.fmt(this.done), all: this.fmt(this.total) });
      if (this.done >= this.total) this.stop();
    } else if (now - this.last >= this.intervalMs || this.done === this.total) {
      this.last = now;
      const eta = rate > 0 ? Math.round((this.total - this.done) / rate) : null;
      log.info({ task: this.what, done: this.done, total: this.total, per_s: Number(rate.toFixed(2)), eta_s: eta }, `${this.what}: ${this.fmt(this.done)}/${this.fmt(this.total)} (${rateText}/s, ETA ${eta ?? '?'} s)`);
      if (this.done === this.total) this.stop();
    }
  }

  private stopped = false;

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.bar?.stop();
  }
}
