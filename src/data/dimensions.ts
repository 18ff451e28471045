/** Canonical dimension ids, used in files, JSON and the CLI. */
export const EN_PERCEPTUAL = ['auditory', 'gustatory', 'haptic', 'interoceptive', 'olfactory', 'visual'] as const;
export const EN_MOTOR = ['foot_leg', 'hand_arm', 'head', 'mouth', 'torso'] as const;
export const EN_DIMENSIONS = [...EN_PERCEPTUAL, ...EN_MOTOR] as const;
export const NL_DIMENSIONS = ['horen', 'proeven', 'voelen', 'sensaties', 'ruiken', 'zien'] as const;

export type EnDimension = (typeof EN_DIMENSIONS)[number];
export type NlDimension = (typeof NL_DIMENSIONS)[number];
export type Dimension = EnDimension | NlDimension;
export type Lang = 'en' | 'nl';

/** Dutch dimension → the Lancaster dimension it corresponds to. */
export const NL_TO_EN: Record<NlDimension, EnDimension> = {
  horen: 'auditory', proeven: 'gustatory', voelen: 'haptic', sensaties: 'interoceptive', ruiken: 'olfactory', zien: 'visual',
};

/** Column-name stem used by the official files (Lancaster `<Stem>.mean`, Dutch `<Stem>`). */
export const OFFICIAL_STEM: Record<Dimension, string> = {
  auditory: 'Auditory', gustatory: 'Gustatory', haptic: 'Haptic', interoceptive: 'Interoceptive', olfactory: 'Olfactory',
  visual: 'Visual', foot_leg: 'Foot_leg', hand_arm: 'Hand_arm', head: 'Head', mouth: 'Mouth', torso: 'Torso',
  horen: 'Horen', proeven: 'Proeven', voelen: 'Voelen', sensaties: 'Sensaties', ruiken: 'Ruiken', zien: 'Zien',
};

/** Aliases seen in the paper's files and elsewhere (lower-case) → canonical id. */
const ALIASES: Record<string, Dimension> = {
  foot: 'foot_leg', leg: 'foot_leg', footleg: 'foot_leg', 'foot-leg': 'foot_leg',
  hand: 'hand_arm', arm: 'hand_arm', handarm: 'hand_arm', 'hand-arm': 'hand_arm',
};

/** Canonical id for a dimension name in any accepted spelling, or undefined. */
export function canonicalDimension(name: string): Dimension | undefined {
  const k = name.trim().toLowerCase();
  if ((EN_DIMENSIONS as readonly string[]).includes(k) || (NL_DIMENSIONS as readonly string[]).includes(k)) return k as Dimension;
  return ALIASES[k];
}

/** The language of a dimension id. */
export function dimensionLang(d: Dimension): Lang {
  return (EN_DIMENSIONS as readonly string[]).includes(d) ? 'en' : 'nl';
}

export function dimensionsFor(lang: Lang): readonly Dimension[] {
  return lang === 'en' ? EN_DIMENSIONS : NL_DIMENSIONS;
}

/** RSA subsets: motor (5), sensory (6), all (11) for English; sensory (6) for Dutch. */
export type Subset = 'motor' | 'sensory' | 'all';
export function subsetsFor(lang: Lang): Record<string, readonly Dimension[]> {
  return lang === 'en'
    ? { motor: EN_MOTOR, sensory: EN_PERCEPTUAL, all: EN_DIMENSIONS }
    : { sensory: NL_DIMENSIONS };
}
