/**
 * LoRA fine-tuning of smft's TF.js LLMs: adapters in PEFT's format, the rating and QA
 * objectives, the trainer with exact-resume checkpoints, merging, and the paper's recipes.
 */
export { LORA_TARGETS, LORA_DEFAULTS, resolveLoraConfig, loraScale, loraModuleNames, peftTensorName, toPeftConfig, fromPeftConfig, type LoraConfig, type LoraTarget, type PeftAdapterConfig } from './config.js';
export { LoraAdapters, type LoraModule } from './adapter.js';
export { baseInfoFromModel, baseInfoFromTensors, checkBase, configHash, type BaseModelInfo } from './base.js';
export { saveAdapter, loadAdapter, readAdapterFiles, isAdapterDir, ADAPTER_CONFIG, ADAPTER_WEIGHTS, type AdapterFiles, type LoadAdapterOptions } from './peft.js';
export {
  saveTrainingCheckpoint, loadTrainingCheckpoint, readTrainerState, resolveCheckpointDir, listCheckpoints, readPointer, pruneCheckpoints,
  LATEST, BEST, TRAINER_STATE, OPTIMIZER_WEIGHTS, METRICS_FILE, type StepMetrics, type TrainerState, type LoadedTrainingCheckpoint,
} from './checkpoint.js';
export { padBatch, lastTokenRows, pearson, type TrainObjective, type ObjectiveBatch, type BatchLoss, type RowsRequest, type RowScores, type RowScorer } from './objective.js';
export { TfBatchLoss, tfRowScorer, engineRowScorer, hostRowLosses, outputRowsKernel } from './batch-loss.js';
export { TfjsEngine, createLoraEngine, initTrainingBackend, ENGINE_CHOICES, TRAIN_DEVICES, type LoraEngine, type EngineChoice, type TrainDevice, type MicroGradients } from './engine.js';
export { OnnxLoraEngine, type OnnxEngineOptions } from './onnx/engine.js';
export { mergeLora, mergeInto, type MergeOptions, type MergeResult } from './merge.js';
export { applyCheckpoint, runCheckpoints, type ApplyCheckpointOptions, type AppliedCheckpoint } from './apply.js';
export { inferenceModel, type InferenceModel } from './inference.js';
export { loadRecipe, validateRecipe, applyOverrides, runRecipe, trainLoraRecipe, recipeObjective, recipePaperExamples, recipeRatingData, recipesDir, type Recipe, type RecipeResult, type RunRecipeOptions, type RecipeOverrides, type RatingRecipeData, type QaRecipeData } from './recipes.js';
export { trainLora, splitByGroup, type TrainLoraOptions, type TrainLoraResult } from './trainer.js';
export { resolveTrainConfig, LORA_TRAIN_DEFAULTS, type LoraTrainConfig } from './train-config.js';
export { LoraStepper } from './stepper.js';
export { RatingObjective, ratingTarget, RATING_LOSSES, type RatingExample, type RatingLoss, type RatingObjectiveOptions } from './objectives/rating.js';
export { QaObjective, renderMcq, readMcqTemplate, letterTokenIds, type QaObjectiveOptions } from './objectives/qa.js';
export { PaperTextObjective, encodeChatExample } from './objectives/paper-text.js';
export { paperRatingExamples, paperQaExamples, pythonRound2, rawPromptText, type PaperExample, type PaperMessage, type PaperRatingWords } from '../paper-examples.js';
