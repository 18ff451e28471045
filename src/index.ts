/**
 * smft as a library. The data flow: data (norms, predictions, splits) → lm (models, ratings,
 * hidden states) → train (heads, LoRA) → eval (RSA, statistics; hot loops in kernels/) →
 * report (figures, HTML). The CLI in src/cli is a thin layer over these functions.
 */
export * from './data/dimensions.js';
export { loadNorms, normsFromTable, type Norms } from './data/norms.js';
export { loadPredictions, expectedRating, digitProbabilities, type LoadPredictionsOptions, type TokenLogprob } from './data/predictions.js';
export { batchCustomId, parseBatchCustomId, batchOutputModel } from './data/batch-ids.js';
export { readCsv } from './data/csv.js';
export { resolveDataDir } from './data/datadir.js';
export { fetchData } from './data/fetch.js';
export { SOURCES, PAPER_FILES, PAIRS_FILE } from './data/sources.js';
export { paperSplit, poolSplit, customSplit, customPairSplit, trainTestSplit, checkLeakage, PAPER_SPLIT, type PaperSplit, type PoolSplit, type TrainTestIndices } from './data/splits.js';
export { MT19937, RandomState } from './util/mt19937.js';

export { type RatingTable, HUMAN, modelsOf, column } from './eval/table.js';
export { evaluate, type EvaluateOptions, type Evaluation } from './eval/evaluate.js';
export type { EvaluationResults } from './eval/results.js';
export { writeEvaluation, toJson } from './eval/write.js';
export { zscoreColumns, condensedRdm, type Metric } from './eval/rdm.js';
export { subsetRsa, subsetRdm, summarise } from './eval/rsa.js';
export { bootstrapRsa, resampleCounts } from './eval/bootstrap.js';
export { binnedRsa } from './eval/rsa-large.js';
export { dimensionwise } from './eval/dimensionwise.js';
export { wordwise, pairedT } from './eval/wordwise.js';
export { steiger1980 } from './eval/steiger.js';
export { spearmanTest, correlationP } from './eval/correlation.js';
export { modelPairs } from './eval/pairs.js';
export { spearman, pearson } from '../kernels/cpu/correlate.js';
export { averageRanks } from '../kernels/cpu/ranks.js';

export { buildReport } from './report/index.js';
export { SmftError } from './util/errors.js';
