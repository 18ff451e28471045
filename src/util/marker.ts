/**
 * What smft made: every output folder carries a marker file `.smft-output.json`
 *
 *   { "format": "smft-output", "version": 1, "kind": "evaluation", "smft": "0.1.0",
 *     "command": "smft evaluate -p p.csv -o results", "created": "2026-…Z",
 *     "files": ["bootstrap.csv", …, "results.json"] }
 *
 * `files` lists every path the writer put in a folder written as a whole (writeDirAtomic);
 * folders that grow over a run (a LoRA run, a study's stage cache, a trajectory) have no list
 * and a pattern of the names smft writes in them instead. Single-file outputs are recognised by
 * their content: a ratings CSV by its header, an embeddings file by its safetensors metadata.
 *
 * `inspectOutput` says what is at a path; `assertReplaceable` is the rule every writer obeys
 * before replacing anything: only an smft output of the same kind, holding nothing smft did
 * not write, is ever replaced.
 */
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readSync, writeFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { SmftError } from './errors.js';
import { isSmftInternal } from './temp.js';
import { smftVersion } from './version.js';

export const MARKER = '.smft-output.json';

export interface OutputMarker {
  format: 'smft-output';
  version: 1;
  kind: OutputKind;
  smft: string;
  command: string;
  created: string;
  /** Folders written as a whole: every file and folder in it (relative, '/'-separated). */
  files?: string[];
}

interface KindSpec {
  /** What it is, for messages: 'an evaluation folder'. */
  what: string;
  type: 'dir' | 'file';
  /** Folders that grow over a run: may the top-level entry `name` be there? */
  entries?: (dir: string, name: string) => boolean;
  /** Recognise an output of this kind by its content (files; folders of earlier smft versions). */
  recognise?: (path: string) => boolean;
}

const jsonOf = (file: string): Record<string, unknown> | undefined => {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/** A folder of an earlier smft version: a signature file, and nothing but the names it writes. */
const legacyDir = (names: RegExp, signature: (dir: string) => boolean) => (dir: string): boolean => {
  try {
    return signature(dir) && readdirSync(dir).every((n) => names.test(n) || isSmftInternal(n));
  } catch {
    return false;
  }
};

const isDir = (p: string): boolean => { try { return lstatSync(p).isDirectory(); } catch { return false; } };

/** The first `n` bytes of a file. */
function head(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    return b.subarray(0, readSync(fd, b, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** `__metadata__.format` of a safetensors file, or undefined. */
function safetensorsFormat(file: string): string | undefined {
  try {
    const len = Number(head(file, 8).readBigUInt64LE(0));
    if (!(len > 0 && len < 100_000_000)) return undefined;
    const h = JSON.parse(head(file, 8 + len).subarray(8).toString('utf8')) as { __metadata__?: { format?: string } };
    return h.__metadata__?.format;
  } catch {
    return undefined;
  }
}

const RATINGS_HEADER = 'word,dimension,model,rating,argmax,p0,p1,p2,p3,p4,p5';

/** A stage folder of a study (finished, or in progress). */
const isStageDir = (dir: string): boolean => ['stage.json', '.smft-stage-key', '.key', MARKER].some((f) => existsSync(join(dir, f)));

export const OUTPUT_KINDS = {
  evaluation: {
    what: 'an evaluation folder', type: 'dir',
    recognise: legacyDir(/^(results\.json|ratings\.csv|rsa\.csv|dimensions\.csv|steiger\.csv|wordwise(_summary|_tests)?\.csv|bootstrap(_pairs)?\.csv|layers\.csv|report)$/,
      (d) => { const r = jsonOf(join(d, 'results.json')); return !!r && (typeof (r.provenance as { smft_version?: unknown } | undefined)?.smft_version === 'string'); }),
  },
  report: {
    what: 'a report folder', type: 'dir',
    recognise: legacyDir(/^(report\.html|figures)$/, (d) => existsSync(join(d, 'report.html')) && (!isDir(join(d, 'figures')) || readdirSync(join(d, 'figures')).every((f) => /\.(svg|png)$/.test(f)))),
  },
  split: {
    what: 'a split folder', type: 'dir',
    recognise: legacyDir(/^(train\.csv|eval\.csv|split\.json)$/, (d) => ['paper', 'pairs', 'norms'].includes(String(jsonOf(join(d, 'split.json'))?.kind))),
  },
  head: {
    what: 'a head checkpoint', type: 'dir',
    recognise: legacyDir(/^(head\.safetensors|head\.json|metrics\.jsonl)$/, (d) => jsonOf(join(d, 'head.json'))?.format === 'smft-head'),
  },
  'merged-model': { what: 'a merged model folder', type: 'dir' },
  adapter: { what: 'a LoRA adapter folder', type: 'dir' },
  'checkpoint-step': {
    what: 'a training checkpoint', type: 'dir',
    recognise: legacyDir(/^(adapter_config\.json|adapter_model\.safetensors|optimizer\.safetensors|trainer_state\.json|metrics\.jsonl)$/, (d) => jsonOf(join(d, 'trainer_state.json'))?.format === 'smft-lora-train'),
  },
  'lora-run': {
    what: 'a LoRA run folder', type: 'dir',
    // `.step-<k>.tmp-XXXXXX`: temp folders of earlier smft versions (removed when checkpoints are pruned).
    entries: (_d, n) => /^(step-\d+|latest|best|run\.json|metrics\.jsonl|summary\.json|qa_test\.json|\.step-\d+\.tmp-\w+)$/.test(n),
    recognise: (d) => jsonOf(join(d, 'run.json'))?.format === 'smft-lora-run',
  },
  trajectory: {
    what: 'a trajectory folder', type: 'dir',
    entries: (_d, n) => /^(step-\d+\.csv(\.meta\.json)?|trajectory\.csv)$/.test(n),
  },
  study: {
    what: 'a study run folder', type: 'dir',
    entries: (d, n) => isStageDir(join(d, n)),
    recognise: (d) => { const e = readdirSync(d).filter((n) => !isSmftInternal(n)); return e.length > 0 && e.every((n) => isStageDir(join(d, n))); },
  },
  'hub-model': { what: 'a downloaded model folder', type: 'dir' },
  folder: { what: 'an smft output folder', type: 'dir' },
  ratings: {
    what: 'a ratings file', type: 'file',
    recognise: (f) => { try { return head(f, RATINGS_HEADER.length + 2).toString('utf8').replace(/^\uFEFF/, '').split(/\r?\n/)[0] === RATINGS_HEADER; } catch { return false; } },
  },
  embeddings: { what: 'an embeddings file', type: 'file', recognise: (f) => safetensorsFormat(f) === 'smft-embeddings/1' },
  'finetune-export': { what: 'a fine-tuning export folder', type: 'dir' },
  'batch-requests': {
    what: 'a batch requests file', type: 'file',
    // smft export --format openai-batch: JSONL whose first request has an smft custom_id.
    recognise: (f) => { try { return /^\{"custom_id":"smft:/.test(head(f, 64).toString('utf8')); } catch { return false; } },
  },
} satisfies Record<string, KindSpec>;

export type OutputKind = keyof typeof OUTPUT_KINDS;

export const kindSpec = (kind: OutputKind): KindSpec => OUTPUT_KINDS[kind];

/** The marker of a folder, if it has a valid one. */
export function readMarker(dir: string): OutputMarker | undefined {
  const m = jsonOf(join(dir, MARKER));
  return m && m.format === 'smft-output' && typeof m.kind === 'string' && m.kind in OUTPUT_KINDS ? (m as unknown as OutputMarker) : undefined;
}

/** Every file and folder under `dir`, relative, '/'-separated (smft's internal names left out). */
export function listTree(dir: string, limit = 100_000): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const n of readdirSync(d).sort()) {
      if (isSmftInternal(n)) continue;
      const r = rel ? `${rel}/${n}` : n;
      out.push(r);
      if (out.length > limit) throw new SmftError(`more than ${limit} entries; not an output smft wrote`, dir);
      if (lstatSync(join(d, n)).isDirectory()) walk(join(d, n), r);
    }
  };
  walk(dir, '');
  return out;
}

/** Write the marker of a folder (folders written as a whole list their `files`). */
export function writeMarker(dir: string, kind: OutputKind, files?: string[]): void {
  const m: OutputMarker = {
    format: 'smft-output', version: 1, kind, smft: smftVersion(), command: ['smft', ...process.argv.slice(2)].join(' '), created: new Date().toISOString(),
    ...(files ? { files } : {}),
  };
  writeFileSync(join(dir, MARKER), JSON.stringify(m, null, 2) + '\n');
}

/** Mark a folder that grows over a run (a LoRA run, a study, a trajectory) as smft's, once. */
export function markOutput(dir: string, kind: OutputKind): void {
  if (!readMarker(dir)) writeMarker(dir, kind);
}

export type Existing =
  | { state: 'absent' }
  | { state: 'empty' }
  | { state: 'ours'; kind: OutputKind }
  | { state: 'other-kind'; kind: OutputKind }
  | { state: 'foreign-entries'; entries: string[] }
  | { state: 'not-smft'; detail: string }
  | { state: 'special'; detail: string };

function statOf(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** Entries of an smft folder that smft did not write (nested smft outputs count as smft's). */
function foreignEntries(dir: string, kind: OutputKind, marker: OutputMarker | undefined): string[] {
  const spec = kindSpec(kind);
  if (spec.entries) return readdirSync(dir).filter((n) => !isSmftInternal(n) && !spec.entries!(dir, n));
  if (!marker?.files) return [];
  const known = new Set(marker.files);
  const foreign: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const n of readdirSync(d)) {
      if (isSmftInternal(n)) continue;
      const r = rel ? `${rel}/${n}` : n;
      const p = join(d, n);
      const isFolder = lstatSync(p).isDirectory();
      if (!known.has(r)) {
        if (!(isFolder && readMarker(p))) foreign.push(r);
        continue;
      }
      if (isFolder) walk(p, r);
    }
  };
  walk(dir, '');
  return foreign;
}

/** What is at `path`, seen as an output of `kind`. */
export function inspectOutput(path: string, kind: OutputKind): Existing {
  const st = statOf(path);
  if (!st) return { state: 'absent' };
  const spec = kindSpec(kind);
  if (st.isSymbolicLink()) return { state: 'special', detail: 'a symbolic link (give the path it points to)' };
  if (!st.isDirectory() && !st.isFile()) return { state: 'special', detail: 'a device or special file' };
  if (spec.type === 'file') {
    if (st.isDirectory()) return { state: 'not-smft', detail: `a folder, not ${spec.what}` };
    if (st.size === 0) return { state: 'empty' };
    return spec.recognise?.(path) ? { state: 'ours', kind } : { state: 'not-smft', detail: `a file smft did not write (not ${spec.what})` };
  }
  if (!st.isDirectory()) return { state: 'not-smft', detail: `a file, not ${spec.what}` };
  const entries = readdirSync(path).filter((n) => !isSmftInternal(n) || n === MARKER);
  if (entries.length === 0) return { state: 'empty' };
  const marker = readMarker(path);
  if (marker && marker.kind !== kind) return { state: 'other-kind', kind: marker.kind };
  if (!marker && !spec.recognise?.(path)) return { state: 'not-smft', detail: `a folder smft did not make (no ${MARKER})` };
  const foreign = foreignEntries(path, kind, marker);
  return foreign.length ? { state: 'foreign-entries', entries: foreign } : { state: 'ours', kind };
}

/** One line about an existing path that must not be replaced. */
export function describeExisting(e: Existing, kind: OutputKind): string {
  switch (e.state) {
    case 'other-kind': return `is ${kindSpec(e.kind).what} of smft, not ${kindSpec(kind).what}`;
    case 'foreign-entries': return `holds ${e.entries.slice(0, 3).map((x) => `'${x}'`).join(', ')}${e.entries.length > 3 ? ` and ${e.entries.length - 3} more` : ''}, which smft did not write`;
    case 'not-smft': case 'special': return `exists and is ${e.detail}`;
    default: return `exists (${kindSpec(kind).what} of smft)`;
  }
}

/**
 * The rule of every writer that replaces an output: only nothing, an empty folder/file, or an
 * smft output of the same kind holding nothing smft did not write. Throws SmftError otherwise.
 */
export function assertReplaceable(path: string, kind: OutputKind): Existing {
  const e = inspectOutput(path, kind);
  if (e.state === 'absent' || e.state === 'empty' || e.state === 'ours') return e;
  throw new SmftError(`${describeExisting(e, kind)}; not replaced`, path);
}
