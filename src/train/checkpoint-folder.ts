/**
 * The checkpoint folder of a training run, out/runs/<run>/checkpoints/:
 *
 *   epoch-0003.safetensors              weights after epoch 3 (+ training state)
 *   epoch-0003.optimizer.safetensors    momentum buffers at the same point
 *   partial-epoch-0004-step-000017.*    an interrupted epoch 4 after 17 steps (Ctrl-C)
 *
 * A pair counts only when both files exist; the optimizer file is written
 * first, so a crash between the two leaves a pair that resume ignores. A run
 * killed hard resumes from its newest complete pair.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { readCheckpointFile, saveCheckpointTensors, type SaveCheckpointResult, type TrainingState } from '../checkpoint/checkpoint-file.js';
import type { MeanImage } from '../data/mean-image.js';
import type { ModelConfig } from '../model/spec.js';
import type { LrScheduleState } from './lr-schedule.js';
import type { MetricSums } from './topk-metrics.js';
import { loadOptimizerState, optimizerPathFor, saveOptimizerState, type TrainingPosition } from './optimizer-state-file.js';
import type { TrainTensors } from './trainer.js';

/** What a training checkpoint carries beside the weights (JSON in `zfnet.training`). */
export interface TrainCheckpointState extends TrainingState {
  kind: 'train';
  runId: string;
  /** Epochs completed. */
  epoch: number;
  /** Steps completed in epoch `epoch + 1` (0 at an epoch boundary). */
  step: number;
  /** Images of epoch `epoch + 1`'s sequence consumed, skipped ones included. */
  position: number;
  seed: number;
  lrSchedule: LrScheduleState;
  /** Sums of the interrupted epoch so far; null at a boundary. */
  partial: { sums: MetricSums; trainMs: number; wallMs: number } | null;
  /** The finished epoch's row (also in the store), so a resume can restore a row lost to a crash. */
  epochRecord: Record<string, unknown> | null;
}

export interface CheckpointRef {
  path: string;
  position: TrainingPosition;
  /** A mid-epoch (interrupted) checkpoint. */
  partial: boolean;
}

/** `epoch-0003.safetensors`. */
export function epochCheckpointName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, '0')}.safetensors`;
}

/** `partial-epoch-0004-step-000017.safetensors` for `epochsDone` = 3. */
export function partialCheckpointName(epochsDone: number, step: number): string {
  return `partial-epoch-${String(epochsDone + 1).padStart(4, '0')}-step-${String(step).padStart(6, '0')}.safetensors`;
}

/** Parses a checkpoint file name into its position; null for other files. */
export function parseCheckpointName(name: string): (TrainingPosition & { partial: boolean }) | null {
  const whole = /^epoch-(\d{4,})\.safetensors$/.exec(name);
  if (whole !== null) return { epoch: Number(whole[1]), step: 0, partial: false };
  const partial = /^partial-epoch-(\d{4,})-step-(\d{6,})\.safetensors$/.exec(name);
  if (partial !== null) return { epoch: Number(partial[1]) - 1, step: Number(partial[2]), partial: true };
  return null;
}

/** Complete checkpoint pairs in a folder, oldest position first. */
export function listCheckpoints(dir: string): CheckpointRef[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => ({ name, position: parseCheckpointName(name) }))
    .filter((e): e is { name: string; position: TrainingPosition & { partial: boolean } } => e.position !== null)
    .filter((e) => existsSync(optimizerPathFor(join(dir, e.name))))
    .sort((a, b) => a.position.epoch - b.position.epoch || Number(a.position.partial) - Number(b.position.partial) || a.position.step - b.position.step)
    .map((e) => ({ path: join(dir, e.name), position: { epoch: e.position.epoch, step: e.position.step }, partial: e.position.partial }));
}

/** Saves weights (with the mean image they are trained with) and momentum at one position (optimizer file first). Returns the weights file's result. */
export function saveTrainCheckpoint(path: string, config: ModelConfig, tensors: TrainTensors, state: TrainCheckpointState, mean: MeanImage | null = null): SaveCheckpointResult {
  saveOptimizerState(optimizerPathFor(path), config, tensors.velocities, { epoch: state.epoch, step: state.step });
  return saveCheckpointTensors(path, { config, tensors: tensors.weights, trainingState: state, mean });
}

/** Deletes a checkpoint and its optimizer file. */
export function deleteCheckpointPair(path: string): void {
  rmSync(optimizerPathFor(path), { force: true });
  rmSync(path, { force: true });
}

export interface LoadedTrainCheckpoint {
  config: ModelConfig;
  /** Weights and momentum buffers, PyTorch layout. */
  tensors: TrainTensors;
  state: TrainCheckpointState;
  /** The mean image the checkpoint carries (null: a fresh start, or a checkpoint from before means travelled with it). */
  mean: MeanImage | null;
}

/**
 * Loads a training checkpoint pair of run `runId` (PyTorch layout, no engine needed).
 * @throws UsageError naming the file when it is not a training checkpoint of this run or its optimizer file does not match.
 */
export function loadTrainCheckpoint(path: string, runId: string): LoadedTrainCheckpoint {
  const loaded = readCheckpointFile(path);
  const state = loaded.trainingState as TrainCheckpointState | null;
  if (state?.kind !== 'train' || state.runId !== runId) throw new UsageError(`Checkpoint ${path} is not a training checkpoint of run ${runId}`);
  const velocities = loadOptimizerState(optimizerPathFor(path), loaded.config, { epoch: state.epoch, step: state.step });
  const weights = new Map([...loaded.tensors].map(([name, tensor]) => [name, tensor.data]));
  return { config: loaded.config, tensors: { weights, velocities }, state, mean: loaded.mean };
}
