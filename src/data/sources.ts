/**
 * Official sources of the norms, for `smft data fetch`. The Lancaster hash is the one OSF
 * records for the file; the Dutch workbook's hash is pinned on first download (data/SOURCES.lock.json).
 */
export interface DataSource {
  id: string;
  description: string;
  url: string;
  file: string;
  sha256?: string;
  citation: string;
}

export const SOURCES: DataSource[] = [
  {
    id: 'lancaster',
    description: 'Lancaster Sensorimotor Norms, 39 707 words (CC BY 4.0)',
    url: 'https://osf.io/download/48wsc/',
    file: 'Lancaster_sensorimotor_norms_for_39707_words.csv',
    sha256: '445d363fb1f9f3e50b86d88e2f46cdc9a22b5dd8a713ce4e7be2a773d57f43c5',
    citation: 'Lynott, Connell, Brysbaert, Brand & Carney (2020), Behavior Research Methods 52, 1271–1291. https://osf.io/7emr6/',
  },
  {
    id: 'dutch',
    description: 'Dutch sensory modality norms, 24 036 words (sheet SensoryRatings)',
    url: 'https://osf.io/download/wzfpd/',
    file: 'SpeedBrysbaert_Norms.xlsx',
    citation: 'Speed & Brysbaert (2022), Behavior Research Methods 54, 1306–1318. https://osf.io/ubvy2/',
  },
];

/**
 * The 7 861 English–Dutch pairs (Lancaster × Dutch norms, matched through DeepL translations)
 * from which the paper's authors drew their train/eval split (src/data/splits.ts paperSplit).
 */
export const PAIRS_FILE = 'lancaster_x_dutch_translation_pairs_SUBSET_7861.csv';

/** Files of the paper's own materials that smft reads from `<data dir>/paper/`. */
export const PAPER_FILES = {
  evalEn: 'paper/eval_en_1572_with_predictions.csv',
  evalNl: 'paper/eval_nl_1572_with_predictions.csv',
  trainPool: 'paper/train_pool_5436.csv',
  testPool: 'paper/test_pool_3625.csv',
  qaTrain: 'paper/qa_train_840.json',
  qaTest: 'paper/qa_test_560.json',
  prompts: 'paper/prompts',
} as const;

export const PAPER_REPOSITORY = 'https://github.com/Minghua5/Sensorimotor-Representation-in-LLMs';
