import { sha256File } from '../util/hash.js';
import { smftVersion } from '../util/version.js';
import type { Provenance } from './results.js';

export { smftVersion };

/** Provenance block of a results file: versions, command, seed, input files and their hashes. */
export async function provenance(opts: { seed: number; dataFiles: string[]; predictions: string[]; extra?: Record<string, unknown> }): Promise<Provenance> {
  const hashAll = (files: string[]) => Promise.all(files.map(async (path) => ({ path, sha256: await sha256File(path) })));
  return {
    smft_version: smftVersion(),
    created: new Date().toISOString(),
    command: ['smft', ...process.argv.slice(2)].join(' '),
    seed: opts.seed,
    node: process.version,
    data_files: await hashAll(opts.dataFiles),
    predictions: await hashAll(opts.predictions),
    ...opts.extra,
  };
}
