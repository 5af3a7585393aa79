/**
 * Where a training run starts: fresh weights (the recipe's init, or a
 * checkpoint's weights with --from) and zero momentum, or the newest
 * checkpoint pair of the run when it is resumed. PyTorch layout throughout,
 * so any engine can take them.
 */
import { readCheckpointFile } from '../../src/checkpoint/checkpoint-file.js';
import { UsageError } from '../../src/errors.js';
import { drawInitWeights } from '../../src/model/init-weights.js';
import type { ModelConfig } from '../../src/model/spec.js';
import { listCheckpoints, loadTrainCheckpoint, type LoadedTrainCheckpoint, type TrainCheckpointState } from '../../src/train/checkpoint-folder.js';
import { scaleInitWeights } from '../../src/train/init-scale.js';
import { createLrScheduleState } from '../../src/train/lr-schedule.js';
import type { TrainTensors } from '../../src/train/trainer.js';
import type { TrainRecipe } from './train-recipe.js';

/** Fresh weights (the recipe's init) and zero momentum, PyTorch layout. */
function initTensors(recipe: TrainRecipe, config: ModelConfig): TrainTensors {
  const weights = drawInitWeights(config, recipe.seed);
  if (recipe.init === 'scaled') scaleInitWeights(config, weights);
  return { weights, velocities: new Map([...weights].map(([name, values]) => [name, new Float32Array(values.length)])) };
}

/**
 * The recipe's init with a checkpoint's weights laid over it (--from): every
 * tensor whose shape matches is the checkpoint's; the classifier is kept only
 * when the checkpoint's classes are the dataset's (same keys, same order),
 * otherwise it keeps its fresh init, and the log says so.
 * @throws UsageError when the checkpoint is another architecture or cannot be read.
 */
function laySourceWeights(recipe: TrainRecipe, config: ModelConfig, tensors: TrainTensors, log: (line: string) => void): void {
  const source = readCheckpointFile(recipe.from!.path);
  if (source.config.name !== config.name || source.config.inputSizePx !== config.inputSizePx) {
    throw new UsageError(`Checkpoint ${recipe.from!.path} holds ${source.config.name} at ${source.config.inputSizePx} px; --from needs ${config.name} at ${config.inputSizePx} px (give --model ${source.config.name})`);
  }
  const sameClasses = JSON.stringify(source.config.classIds) === JSON.stringify(config.classIds) && source.config.numClasses === config.numClasses;
  const fresh: string[] = [];
  for (const [name, values] of tensors.weights) {
    const loaded = source.tensors.get(name)?.data;
    const classifier = name.startsWith(`${config.layers.at(-1)!.name}.`);
    if (loaded !== undefined && loaded.length === values.length && (!classifier || sameClasses)) values.set(loaded);
    else fresh.push(name);
  }
  const listed = (ids: string[] | null): string => (ids === null ? '' : ` (${ids.slice(0, 4).join(', ')}${ids.length > 4 ? ', ...' : ''})`);
  const why = sameClasses ? '' : `: the checkpoint has ${source.config.numClasses} classes${listed(source.config.classIds)}, the dataset ${config.numClasses}${listed(config.classIds)}`;
  log(`train: starting from ${recipe.from!.path} (fresh momentum)${fresh.length === 0 ? '' : `; ${fresh.join(' and ')} re-initialised with the ${recipe.init} init${why}`}`);
}

/** Fresh parameters and momentum (from --from's weights when given), or the newest checkpoint pair of a resumed run. */
export function loadStartingPoint(recipe: TrainRecipe, config: ModelConfig, runId: string, checkpointDir: string, log: (line: string) => void): LoadedTrainCheckpoint {
  const newest = listCheckpoints(checkpointDir).at(-1);
  if (newest !== undefined) {
    const loaded = loadTrainCheckpoint(newest.path, runId);
    log(`train: resuming ${runId} from ${newest.path} (epoch ${loaded.state.epoch} done, ${loaded.state.step} steps into the next)`);
    return loaded;
  }
  const lrOptions = { kind: recipe.lrSchedule, initialLr: recipe.learningRate, patience: recipe.patience, stepEpochs: recipe.stepEpochs, factor: recipe.lrFactor };
  const state: TrainCheckpointState = {
    kind: 'train', runId, epoch: 0, step: 0, position: 0, seed: recipe.seed,
    lrSchedule: createLrScheduleState(lrOptions), partial: null, epochRecord: null,
  };
  const tensors = initTensors(recipe, config);
  if (recipe.from != null) laySourceWeights(recipe, config, tensors, log);
  return { config, tensors, state, mean: null };
}

