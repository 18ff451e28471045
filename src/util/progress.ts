import cliProgress from 'cli-progress';
import { log } from './log.js';

/**
 * Progress for long loops: a cli-progress bar on an interactive terminal, otherwise a pino
 * line every `intervalMs` with the rate and ETA.
 */
export class Progress {
  private done = 0;
  private readonly t0 = Date.now();
  private last = Date.now();
  private readonly bar: cliProgress.SingleBar | null;
  private readonly intervalMs: number;

  constructor(
    private readonly what: string,
    private readonly total: number,
    { bar = process.stderr.isTTY === true && process.env.SMFT_LOG_LEVEL !== 'silent', intervalMs = 5_000 }: { bar?: boolean; intervalMs?: number } = {},
  ) {
    this.intervalMs = intervalMs;
    this.bar = bar && total > 0
      ? new cliProgress.SingleBar({ format: `${what} [{bar}] {value}/{total} {rate}/s ETA {eta_formatted}`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
      : null;
    this.bar?.start(total, 0, { rate: '0.0' });
  }

  tick(n = 1): void {
    this.done += n;
    const now = Date.now();
    const rate = this.done / Math.max(1e-3, (now - this.t0) / 1000);
    if (this.bar) {
      this.bar.update(this.done, { rate: rate.toFixed(1) });
      if (this.done >= this.total) this.stop();
    } else if (now - this.last >= this.intervalMs || this.done === this.total) {
      this.last = now;
      const eta = rate > 0 ? Math.round((this.total - this.done) / rate) : null;
      log.info({ task: this.what, done: this.done, total: this.total, per_s: Number(rate.toFixed(2)), eta_s: eta }, `${this.what}: ${this.done}/${this.total} (${rate.toFixed(1)}/s, ETA ${eta ?? '?'} s)`);
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
