/**
 * Display names and colours shared by every figure and table of the report.
 *
 * A model id has one colour wherever it appears (every figure, every report, both languages),
 * decided by its name alone, never by its position in a list:
 * - `human` and the paper's four conditions have fixed colours (Okabe–Ito: base grey, en_ft blue,
 *   nl_ft orange, qa_ft bluish green);
 * - an id that ends in `_<condition>` (e.g. `gpt4o_en_ft`, the paper's published predictions in
 *   `smft reproduce`) is that condition from another model: the condition's hue, darker or
 *   lighter (chosen by a hash of the prefix; `gpt4o`: darker);
 * - any other id gets a colour of a colour-blind-safe palette (Paul Tol's "muted" without the
 *   tones close to the fixed ones, plus Okabe–Ito vermillion) by a hash (FNV-1a) of its name.
 * Two hashed ids of one report that land on the same colour would be indistinguishable: then the
 * one that sorts later takes the next free colour of the palette (the only case in which a colour
 * depends on the other models of the report).
 */

const MODEL_LABELS: Record<string, string> = {
  human: 'Human', base: 'Base', en_ft: 'En_FT', nl_ft: 'Nl_FT', qa_ft: 'QA_FT',
};

/** The paper's conditions and the human norms: fixed colours. */
export const FIXED_COLORS: Readonly<Record<string, string>> = {
  human: '#222222', base: '#8c8c8c', en_ft: '#0072b2', nl_ft: '#e69f00', qa_ft: '#009e73',
};

/** Colours of ids that are neither a condition nor an alias of one, indexed by a hash of the id. */
export const HASH_PALETTE: readonly string[] = [
  '#cc6677', '#332288', '#ddcc77', '#88ccee', '#882255', '#999933', '#aa4499', '#d55e00',
];

const CONDITIONS = ['base', 'en_ft', 'nl_ft', 'qa_ft'] as const;

const DIM_LABELS: Record<string, string> = {
  auditory: 'Auditory', gustatory: 'Gustatory', haptic: 'Haptic', interoceptive: 'Interoceptive',
  olfactory: 'Olfactory', visual: 'Visual', foot_leg: 'Foot/leg', hand_arm: 'Hand/arm', head: 'Head',
  mouth: 'Mouth', torso: 'Torso',
  horen: 'Horen', proeven: 'Proeven', voelen: 'Voelen', sensaties: 'Sensaties', ruiken: 'Ruiken', zien: 'Zien',
};

const SUBSET_LABELS: Record<string, string> = { motor: 'Motor', sensory: 'Sensory', all: 'All' };

/** 'en_ft' → 'En_FT' (the paper's spelling); other ids are shown as they are. */
export function modelLabel(id: string): string {
  return MODEL_LABELS[id] ?? id;
}

export function dimensionLabel(id: string): string {
  return DIM_LABELS[id] ?? id;
}

export function subsetLabel(id: string): string {
  return SUBSET_LABELS[id] ?? id;
}

/** 32-bit FNV-1a hash of a string's UTF-16 code units. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** `gpt4o_en_ft` → { prefix: 'gpt4o', condition: 'en_ft' }; undefined for other ids. */
export function conditionAlias(id: string): { prefix: string; condition: string } | undefined {
  for (const c of CONDITIONS) {
    if (id.length > c.length + 1 && id.endsWith(c) && /[_-]/.test(id[id.length - c.length - 1])) {
      return { prefix: id.slice(0, id.length - c.length - 1), condition: c };
    }
  }
  return undefined;
}

function mix(hex: string, toward: number, amount: number): string {
  const v = parseInt(hex.slice(1), 16);
  const ch = [v >> 16, (v >> 8) & 255, v & 255].map((c) => Math.round(c + (toward - c) * amount));
  return `#${ch.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

/** The colour of a model id by its name alone (see the module comment). */
export function modelColor(id: string): string {
  const fixed = FIXED_COLORS[id];
  if (fixed) return fixed;
  const alias = conditionAlias(id);
  if (alias) {
    const base = FIXED_COLORS[alias.condition];
    return fnv1a(alias.prefix) % 2 === 1 ? mix(base, 0, 0.3) : mix(base, 255, 0.35);
  }
  return HASH_PALETTE[fnv1a(id) % HASH_PALETTE.length];
}

/**
 * Colours of the ids of one report: `modelColor`, except that of two hashed ids with the same
 * colour, the one that sorts later takes the next palette colour no other id of the report uses.
 */
export function reportColors(ids: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  const all = [...new Set(ids)].sort();
  for (const id of all) out.set(id, modelColor(id));
  const taken = new Set<string>();
  for (const id of all) {
    let c = out.get(id)!;
    const hashed = !FIXED_COLORS[id] && !conditionAlias(id);
    if (hashed && taken.has(c)) {
      const start = HASH_PALETTE.indexOf(c);
      for (let k = 1; k < HASH_PALETTE.length; k++) {
        const next = HASH_PALETTE[(start + k) % HASH_PALETTE.length];
        if (!taken.has(next)) { c = next; break; }
      }
      out.set(id, c);
    }
    taken.add(c);
  }
  return out;
}

/** Per-model metadata of results.json (`model_info`). */
export interface ModelInfo { synthetic?: string }

/** Labels and colours of the models of one report. */
export interface ModelStyle {
  /** Display label: 'En_FT', or 'En_FT (synthetic)' for a synthetic model. */
  label(id: string): string;
  color(id: string): string;
  /** The description of a synthetic model, undefined for a real one. */
  synthetic(id: string): string | undefined;
  /** Vega-Lite colour scale of `ids` (domain: labels, in this order). */
  scale(ids: readonly string[]): { domain: string[]; range: string[] };
  /** 'A vs B' with display labels. */
  pair(key: string): string;
}

export function modelStyle(models: readonly string[], info: Readonly<Record<string, ModelInfo>> = {}): ModelStyle {
  const colors = reportColors(['human', ...models]);
  const synthetic = (id: string) => {
    const s = info[id]?.synthetic;
    return typeof s === 'string' && s !== '' ? s : undefined;
  };
  const label = (id: string) => (synthetic(id) ? `${modelLabel(id)} (synthetic)` : modelLabel(id));
  const color = (id: string) => colors.get(id) ?? modelColor(id);
  return {
    label, color, synthetic,
    scale: (ids) => ({ domain: ids.map(label), range: ids.map(color) }),
    pair: (key) => {
      const p = splitPair(key);
      return p ? `${label(p[0])} vs ${label(p[1])}` : key;
    },
  };
}

/** 'A vs B' → [A, B], or undefined when the key is not of that form. */
export function splitPair(key: string): [string, string] | undefined {
  const m = /^(.+?) vs (.+)$/.exec(key);
  return m ? [m[1].trim(), m[2].trim()] : undefined;
}
