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
export { padBatch, lastTokenHidden, OutputRows, pearson, type TrainObjective } from './objective.js';
export { mergeLora, mergeInto, type MergeOptions, type MergeResult } from './merge.js';
export { applyCheckpoint, runCheckpoints, type ApplyCheckpointOptions, type AppliedCheckpoint } from './apply.js';
export { inferenceModel, type InferenceModel } from './inference.js';
export { loadRecipe, validateRecipe, applyOverrides, runRecipe, trainLoraRecipe, recipeObjective, recipePaperExamples, recipeRatingData, recipesDir, type Recipe, type RecipeResult, type RunRecipeOptions, type RecipeOverrides, type RatingRecipeData, type QaRecipeData } from './recipes.js';
export { trainLora, resolveTrainConfig, splitByGroup, LoraStepper, LORA_TRAIN_DEFAULTS, type LoraTrainConfig, type TrainLoraOptions, type TrainLoraResult } from '../trainer.js';
export { RatingObjective, ratingTarget, RATING_LOSSES, type RatingExample, type RatingLoss, type RatingObjectiveOptions } from '../rating-objective.js';
export { PaperTextObjective, encodeChatExample } from './objectives/paper-text.js';
export { paperRatingExamples, paperQaExamples, pythonRound2, rawPromptText, type PaperExample, type PaperMessage, type PaperRatingWords } from '../paper-examples.js';
export { QaObjective, renderMcq, readMcqTemplate, letterTokenIds, type QaObjectiveOptions } from '../qa-objective.js';
