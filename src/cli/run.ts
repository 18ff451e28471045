import { InvalidArgumentError } from 'commander';
import { SmftError } from '../util/errors.js';
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
      const err = e as Error;
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

/** Parse an integer option, with a clear error. */
export function intOption(name: string, min = 0): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer ≥ ${min}`);
    return n;
  };
}

export function numberOption(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
    return n;
  };
}

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
