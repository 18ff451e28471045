/**
 * custom_ids of the OpenAI Batch API requests that `smft export --format openai-batch` writes:
 * `smft:<dimension>:<word>`, so that the outputs of a batch map back to word and dimension by
 * themselves (with or without `smft evaluate --batch-input`), whatever the output file is called
 * and in whatever order its lines come. The paper's own requests used `Finetuning_task_<row>`
 * with one file per dimension; those are read by file name and row (src/data/predictions.ts).
 */
import { basename, extname } from 'node:path';
import { canonicalDimension, type Dimension } from './dimensions.js';
import { columnRole } from './columns.js';

const PREFIX = 'smft:';

export function batchCustomId(dimension: Dimension, word: string): string {
  return `${PREFIX}${dimension}:${word}`;
}

/** Dimension and word of an smft custom_id, or null for any other id. */
export function parseBatchCustomId(id: unknown): { dimension: Dimension; word: string } | null {
  if (typeof id !== 'string' || !id.startsWith(PREFIX)) return null;
  const rest = id.slice(PREFIX.length);
  const colon = rest.indexOf(':');
  const dimension = colon > 0 ? canonicalDimension(rest.slice(0, colon)) : undefined;
  const word = rest.slice(colon + 1);
  return dimension && word.trim() !== '' ? { dimension, word } : null;
}

/**
 * The model id of a batch output file with smft custom_ids: `<model>` of a `<dimension>_<model>…`
 * name (the paper's naming), else the file name without extension and a trailing `_output` /
 * `_results…` (OpenAI's `batch_<id>_output.jsonl` → `batch_<id>`), in lower case.
 */
export function batchOutputModel(file: string): string {
  const stem = batchFileStem(file);
  const role = columnRole(stem);
  return role.kind === 'model' ? role.model : stem.toLowerCase();
}

/** A batch file's name without extension and without the `_test_results…` / `_results…` / `_output…` tail. */
export function batchFileStem(file: string): string {
  return basename(file, extname(file)).replace(/_test_results.*$/i, '').replace(/_(results|output).*$/i, '');
}
