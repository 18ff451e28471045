import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readText } from '../data/csv.js';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { canonicalDimension, dimensionsFor, type Dimension, type Lang } from '../data/dimensions.js';

/** The word placeholders a template may use (English files use {Word}, the Dutch ones {Woord}). */
export const PLACEHOLDERS = ['{Word}', '{Woord}'] as const;
const PLACEHOLDER_RE = /\{Word\}|\{Woord\}/g;

export interface PromptTemplate {
  dimension: Dimension;
  /** Template text, trailing whitespace removed. */
  text: string;
  /** The file it came from. */
  source: string;
}

/** smft's own default templates: src/lm/templates/<lang>/<dimension>.txt. */
export function defaultTemplatesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Running from src/lm (tsx) or from dist/src/lm (compiled; the .txt files stay in src).
  for (const c of [join(here, 'templates'), resolve(here, '..', '..', '..', 'src', 'lm', 'templates')]) {
    if (existsSync(c)) return c;
  }
  throw new SmftError(`smft's default prompt templates are missing (looked in ${join(here, 'templates')})`);
}

/**
 * Load one template per dimension of `lang` from `dir` (default: smft's own). Files are
 * `<dimension>.txt` or `<Name>_prompt.txt` as in the paper (`auditory_prompt.txt`,
 * `foot_prompt.txt`, `Horen_prompt.txt`); when `dir` has a `<lang>/` subfolder that is used.
 * Files naming no dimension of `lang` are ignored. Every dimension must have exactly one file,
 * and every template must contain {Word} or {Woord}.
 */
export function loadTemplates(dir: string | undefined, lang: Lang): Map<Dimension, PromptTemplate> {
  let root = dir ?? defaultTemplatesDir();
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new SmftError('prompt template folder not found', root);
  if (existsSync(join(root, lang)) && statSync(join(root, lang)).isDirectory()) root = join(root, lang);
  const wanted = dimensionsFor(lang);
  const out = new Map<Dimension, PromptTemplate>();
  for (const f of readdirSync(root).sort()) {
    if (!f.toLowerCase().endsWith('.txt')) continue;
    const stem = f.slice(0, -4).replace(/_prompt$/i, '');
    const dim = canonicalDimension(stem);
    if (!dim || !wanted.includes(dim)) {
      log.debug({ file: join(root, f) }, 'not a template for this language; ignored');
      continue;
    }
    const path = join(root, f);
    const prev = out.get(dim);
    if (prev) throw new SmftError(`two templates for dimension '${dim}': ${prev.source} and ${path}`);
    const text = readText(path).trimEnd();
    if (!PLACEHOLDER_RE.test(text)) throw new SmftError(`template has no word placeholder (${PLACEHOLDERS.join(' or ')})`, path);
    PLACEHOLDER_RE.lastIndex = 0;
    out.set(dim, { dimension: dim, text, source: path });
  }
  const missing = wanted.filter((d) => !out.has(d));
  if (missing.length) throw new SmftError(`no prompt template for dimension(s) ${missing.join(', ')} (expected files like ${missing[0]}.txt)`, root);
  return new Map(wanted.map((d) => [d, out.get(d)!]));
}

/** The template with every placeholder replaced by `word`. */
export function fillTemplate(t: PromptTemplate | string, word: string): string {
  const text = typeof t === 'string' ? t : t.text;
  return text.replace(PLACEHOLDER_RE, () => word);
}
