/** Display names and colours shared by every figure and table of the report. */

const MODEL_LABELS: Record<string, string> = {
  human: 'Human', base: 'Base', en_ft: 'En_FT', nl_ft: 'Nl_FT', qa_ft: 'QA_FT',
};

/** Fixed colours for the paper's sources, so a model has the same colour in every figure. */
const FIXED_COLORS: Record<string, string> = {
  human: '#333333', base: '#8c8c8c', en_ft: '#1f77b4', nl_ft: '#ff7f0e', qa_ft: '#2ca02c',
};
const EXTRA_COLORS = ['#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];

const DIM_LABELS: Record<string, string> = {
  auditory: 'Auditory', gustatory: 'Gustatory', haptic: 'Haptic', interoceptive: 'Interoceptive',
  olfactory: 'Olfactory', visual: 'Visual', foot_leg: 'Foot/leg', hand_arm: 'Hand/arm', head: 'Head',
  mouth: 'Mouth', torso: 'Torso',
  horen: 'Horen', proeven: 'Proeven', voelen: 'Voelen', sensaties: 'Sensaties', ruiken: 'Ruiken', zien: 'Zien',
};

const SUBSET_LABELS: Record<string, string> = { motor: 'Motor', sensory: 'Sensory', all: 'All' };

/** 'en_ft' → 'En_FT' (the paper's spelling); unknown ids are shown as they are. */
export function modelLabel(id: string): string {
  return MODEL_LABELS[id] ?? id;
}

export function dimensionLabel(id: string): string {
  return DIM_LABELS[id] ?? id;
}

export function subsetLabel(id: string): string {
  return SUBSET_LABELS[id] ?? id;
}

/** Colour scale (domain = display labels, range = colours) for `sources` in the given order. */
export function colorScale(sources: readonly string[]): { domain: string[]; range: string[] } {
  let extra = 0;
  const range = sources.map((s) => FIXED_COLORS[s] ?? EXTRA_COLORS[extra++ % EXTRA_COLORS.length]);
  return { domain: sources.map(modelLabel), range };
}

/** 'A vs B' → [A, B], or undefined when the key is not of that form. */
export function splitPair(key: string): [string, string] | undefined {
  const m = /^(.+?) vs (.+)$/.exec(key);
  return m ? [m[1].trim(), m[2].trim()] : undefined;
}

export function pairLabel(key: string): string {
  const p = splitPair(key);
  return p ? `${modelLabel(p[0])} vs ${modelLabel(p[1])}` : key;
}
