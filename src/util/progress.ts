import { log } from './log.js';

/**
 * Progress of a long loop as periodic log lines: done/total, rate and ETA, at most every
 * `intervalMs` (and once at the end).
 */
export class Progress {
  private done = 0;
  private readonly start = Date.now();
  private last = 0;
  constructor(private readonly label: string, private readonly total: number, private readonly unit = 'items', private readonly intervalMs = 2000) {}

  tick(k = 1): void {
    this.done += k;
    const now = Date.now();
    if (this.done >= this.total || now - this.last >= this.intervalMs) {
      this.last = now;
      const secs = (now - this.start) / 1000;
      const rate = secs > 0 ? this.done / secs : 0;
      const eta = rate > 0 ? (this.total - this.done) / rate : NaN;
      log.info(
        { task: this.label, done: this.done, total: this.total, rate: Number(rate.toFixed(2)), eta_s: Number.isFinite(eta) ? Number(eta.toFixed(1)) : null },
        `${this.label}: ${this.done}/${this.total} ${this.unit} (${rate.toFixed(1)}/s, ETA ${Number.isFinite(eta) ? eta.toFixed(0) + ' s' : '?'})`,
      );
    }
  }
}
