import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { SmftError, fsError, isFsError } from '../util/errors.js';
import { BOOTSTRAP_MAX, SEED_MAX, THREADS_MAX } from '../util/limits.js';
import { log, writeFinalLine } from '../util/log.js';

/**
 * Run a command action: a user error (SmftError, or a bad option) prints one line
 * `smft: error: …` to stderr and exits 2; anything else exits 1 with the message (and the
 * stack when SMFT_DEBUG is set).
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      const err = isFsError(e) ? fsError(e) : (e as Error);
      if (err instanceof SmftError) {
        writeFinalLine(`smft: error: ${err.message}\n`);
        process.exitCode = 2;
      } else {
        writeFinalLine(`smft: internal error: ${err.message}\n`);
        if (process.env.SMFT_DEBUG) writeFinalLine(`${err.stack}\n`);
        log.debug({ err }, 'internal error');
        process.exitCode = 1;
      }
    }
  };
}

/** A whole number in decimal digits: no hex/binary/octal literals, exponents, spaces or empty string. */
const DECIMAL_INT = /^[+-]?\d+$/;
/** A decimal number (an exponent is fine: 1e-3); no hex/binary/octal, Infinity, NaN or empty string. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Parse an integer option strictly: decimal digits, within [min, max]. */
export function intOption(name: string, min = 0, max = Number.MAX_SAFE_INTEGER, why = ''): (v: string) => number {
  return (v: string) => {
    const n = DECIMAL_INT.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}${why}`;
      throw new InvalidArgumentError(`must be a whole number ${range}, in decimal digits`);
    }
    return n;
  };
}

/** Parse a number option strictly: a decimal number (1.5, 2e-3), finite, within [min, max]. */
export function numberOption(name: string, min = -Number.MAX_VALUE, max = Number.MAX_VALUE): (v: string) => number {
  return (v: string) => {
    const n = DECIMAL.test(v.trim()) && v.trim() === v ? Number(v) : NaN;
    if (!Number.isFinite(n)) throw new InvalidArgumentError('must be a decimal number');
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}`);
    return n;
  };
}

/** A seed: a whole number in the range of the 32-bit generator (src/util/rng.ts), used and recorded as given. */
export const seedOption = (name = 'seed'): ((v: string) => number) => intOption(name, 0, SEED_MAX, ' (the seed range of the 32-bit generator)');

/** Bootstrap iterations: 0 (none) to BOOTSTRAP_MAX. */
export const bootstrapOption = (): ((v: string) => number) => intOption('bootstrap', 0, BOOTSTRAP_MAX);

/** Threads/workers: at least 1; more than the machine's cores only with --oversubscribe (checked in the action). */
export const threadsOption = (name: string): ((v: string) => number) => intOption(name, 1, THREADS_MAX);

/** Refuse more threads than cores unless the user asked for it (--oversubscribe). */
export function checkThreads(flag: string, n: number | undefined, oversubscribe: boolean | undefined): void {
  const cores = availableParallelism();
  if (n !== undefined && n > cores && !oversubscribe) throw new SmftError(`${flag} ${n} is more than this machine's ${cores} cores; add --oversubscribe to use more anyway`);
}

export const OVERSUBSCRIBE_HELP = 'allow more threads/workers than the machine has cores';
export const FORCE_HELP = (what: string): string => `replace an existing ${what} made by smft (never anything else)`;

export function choiceOption<T extends string>(name: string, choices: readonly T[]): (v: string) => T {
  return (v: string) => {
    if (!(choices as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${choices.join(', ')}`);
    return v as T;
  };
}

export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** Help of --backend for commands that only run the model (rate, embed, trajectory). */
export const BACKEND_HELP = 'onnx (ONNX Runtime, CPU), onnx-webgpu (ONNX Runtime on WebGPU) or a TF.js backend (cpu, wasm, webgpu, tensorflow); auto: a TF.js GPU backend if one starts, else onnx';
