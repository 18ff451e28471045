/**
 * One engine, many concurrent requests: a queue that gathers the next-token requests arriving
 * within a few milliseconds (and those that arrive while a forward pass runs) into one batch,
 * right-padded, and runs one forward pass at a time — every engine call goes through it.
 */
import type { LmEngine } from '../lm/engine.js';

interface Pending {
  ids: number[];
  resolve: (logits: Float32Array) => void;
  reject: (e: unknown) => void;
}

export interface ForwardQueueOptions {
  /** Sequences per forward pass (default 16). */
  maxBatch?: number;
  /** How long the first request of a batch waits for others (default 5 ms). */
  windowMs?: number;
  /** Token id for padding (never attended to). */
  padId: number;
}

export class ForwardQueue {
  /** Forward passes run and sequences in them (for logs and tests). */
  readonly stats = { forwards: 0, sequences: 0, largestBatch: 0 };
  private readonly pending: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private draining = false;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly maxBatch: number;
  private readonly windowMs: number;
  readonly padId: number;

  constructor(readonly engine: LmEngine, opts: ForwardQueueOptions) {
    this.padId = opts.padId;
    this.maxBatch = Math.max(1, opts.maxBatch ?? 16);
    this.windowMs = Math.max(0, opts.windowMs ?? 5);
  }

  /** Full-vocabulary logits after the last token of `ids`. */
  nextLogits(ids: number[]): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.pending.push({ ids, resolve, reject });
      if (!this.draining && !this.timer) this.timer = setTimeout(() => { this.timer = null; void this.drain(); }, this.windowMs);
    });
  }

  /** Run `fn` on the engine when no forward pass is running (one engine call at a time). */
  exclusive<T>(fn: (engine: LmEngine) => Promise<T>): Promise<T> {
    const run = this.chain.then(() => fn(this.engine));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0, this.maxBatch);
        try {
          const logits = await this.exclusive((e) => this.forward(e, batch.map((p) => p.ids)));
          const v = this.engine.config.vocabSize;
          batch.forEach((p, i) => p.resolve(logits.slice(i * v, (i + 1) * v)));
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private forward(engine: LmEngine, seqs: number[][]): Promise<Float32Array> {
    const t = Math.max(...seqs.map((s) => s.length));
    this.stats.forwards++;
    this.stats.sequences += seqs.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, seqs.length);
    return engine.selectedLogits({
      ids: seqs.map((s) => [...s, ...new Array<number>(t - s.length).fill(this.padId)]),
      attentionMask: seqs.map((s) => Array.from({ length: t }, (_, j) => (j < s.length ? 1 : 0))),
      positionIds: seqs.map(() => Array.from({ length: t }, (_, j) => j)),
      logitsAt: seqs.map((s) => s.length - 1),
    });
  }
}
