/**
 * The onnx engine's training step in the thread that holds it: the graphs of
 * src/train-graph/build-train-step-graph.ts in onnxruntime sessions, and the
 * weights and momentum buffers they carry from step to step (PyTorch layout,
 * fed in and read back each step). A batch no larger than the micro-batch
 * runs as one `step` graph; a larger one as `gradients` graphs over its
 * slices, summed here, then one `update` graph. IO: loads onnxruntime.
 */
import * as ort from 'onnxruntime-node';
import { lowerModelConfig } from '../graph/lower-model-config.js';
import type { ModelConfig } from '../model/spec.js';
import { encodeOnnxModel } from '../onnx/onnx-format.js';
import { createOnnxSession, type OnnxSessionOptions } from '../onnx/onnx-session.js';
import {
  buildTrainStepGraph, dropoutMasks, gradientName, maskInputName, nextVelocityName, nextWeightName, trainableWeights, velocityInputName, type TrainGraphKind,
  LABELS_INPUT, LEARNING_RATE_INPUT, LOGITS_OUTPUT, LOSS_OUTPUT, LOSS_SCALE_INPUT, MOMENTUM_INPUT, WEIGHT_DECAY_INPUT,
} from '../train-graph/train-graphs.js';
import { PIXELS_INPUT } from '../onnx/forward-graphs.js';
import { listDropoutLayers, sliceDropoutMasks } from './dropout-masks.js';
import { addInto, type TrainStepSettings, type TrainTensors } from './trainer.js';
import type { StepInput, StepResult } from './train-step.js';
import { rankLabels } from './topk-metrics.js';

export interface OnnxTrainSessionOptions extends OnnxSessionOptions {
  config: ModelConfig;
  /** RMS cap of conv filters after each update (0: off). */
  filterRadius: number;
  /** Whether the recipe has weight decay (the term is left out of the graph otherwise). */
  weightDecay: boolean;
  microBatchSize: number;
}

export interface OnnxTrainSession {
  step(batch: StepInput, settings: TrainStepSettings): Promise<StepResult>;
  /** The current weights and momentum buffers (the arrays themselves: copy before handing them on). */
  readonly tensors: TrainTensors;
  release(): Promise<void>;
}

const scalar = (value: number): ort.Tensor => new ort.Tensor('float32', Float32Array.of(value), []);

/**
 * Starts the sessions the micro-batch size needs and takes over `tensors` (PyTorch layout).
 * @throws UsageError naming the execution provider when it fails to load; RangeError when a tensor is missing or misshapen.
 */
export async function createOnnxTrainSession(options: OnnxTrainSessionOptions, tensors: TrainTensors): Promise<OnnxTrainSession> {
  const graph = lowerModelConfig(options.config);
  const weights = trainableWeights(graph);
  for (const { name, shape } of weights) {
    const size = shape.reduce((a, b) => a * b, 1);
    for (const [kind, map] of [['weights', tensors.weights], ['momentum buffers', tensors.velocities]] as const) {
      if (map.get(name)?.length !== size) throw new RangeError(`Training ${options.config.name} needs ${kind} ${name} of ${size} values but received ${map.get(name)?.length ?? 'none'}`);
    }
  }
  const layers = listDropoutLayers(options.config);
  const maskInputs = new Map(dropoutMasks(graph).map((mask) => [mask.node, mask.input]));
  const maskInputOf = (layer: string): string => {
    const input = maskInputs.get(`${layer}.dropout`);
    if (input === undefined) throw new RangeError(`The training graph of ${options.config.name} has no dropout node for ${layer}`);
    return input;
  };
  const sessions = new Map<TrainGraphKind, ort.InferenceSession>();
  const sessionOf = async (kind: TrainGraphKind): Promise<ort.InferenceSession> => {
    let session = sessions.get(kind);
    if (session === undefined) {
      const model = encodeOnnxModel(buildTrainStepGraph(graph, { kind, filterRadius: options.filterRadius, weightDecay: options.weightDecay }));
      session = await createOnnxSession(model, options, { description: `training ${kind} graph of ${options.config.name}` });
      sessions.set(kind, session);
    }
    return session;
  };

  const state = tensors;
  const weightFeeds = (): Record<string, ort.Tensor> => Object.fromEntries(weights.map(({ name, shape }) => [name, new ort.Tensor('float32', state.weights.get(name)!, shape)]));
  const updateFeeds = (settings: TrainStepSettings): Record<string, ort.Tensor> => ({
    ...Object.fromEntries(weights.map(({ name, shape }) => [velocityInputName(name), new ort.Tensor('float32', state.velocities.get(name)!, shape)])),
    [LEARNING_RATE_INPUT]: scalar(settings.learningRate),
    [MOMENTUM_INPUT]: scalar(settings.momentum),
    ...(options.weightDecay ? { [WEIGHT_DECAY_INPUT]: scalar(settings.weightDecay) } : {}),
  });
  const sliceFeeds = (batch: StepInput, settings: TrainStepSettings, from: number, to: number): Record<string, ort.Tensor> => {
    const [n, h, w, c] = batch.shape;
    const perImage = h * w * c;
    const masks = sliceDropoutMasks(settings.dropoutMasks, layers, from, to);
    return {
      [PIXELS_INPUT]: new ort.Tensor('float32', batch.pixels.subarray(from * perImage, to * perImage), [to - from, h, w, c]),
      [LABELS_INPUT]: new ort.Tensor('int64', BigInt64Array.from(batch.labels.slice(from, to), (v) => BigInt(v)), [to - from]),
      [LOSS_SCALE_INPUT]: scalar(1 / n),
      ...Object.fromEntries(layers.map((layer) => [maskInputOf(layer.name), new ort.Tensor('float32', masks.get(layer.name)!, [to - from, layer.units])])),
    };
  };
  const takeUpdate = (out: ort.InferenceSession.ReturnType): void => {
    for (const { name } of weights) {
      state.weights.set(name, out[nextWeightName(name)]!.data as Float32Array);
      state.velocities.set(name, out[nextVelocityName(name)]!.data as Float32Array);
    }
  };

  return {
    tensors: state,
    async step(batch, settings) {
      const n = batch.shape[0];
      if (n !== batch.labels.length) throw new RangeError(`Expected ${n} labels for a batch of ${n} images but received ${batch.labels.length}`);
      const micro = Math.max(1, Math.min(n, options.microBatchSize));
      const logits = new Float32Array(n * options.config.numClasses);
      let loss = 0;
      if (micro >= n) {
        const out = await (await sessionOf('step')).run({ ...sliceFeeds(batch, settings, 0, n), ...weightFeeds(), ...updateFeeds(settings) });
        loss = (out[LOSS_OUTPUT]!.data as Float32Array)[0]!;
        logits.set(out[LOGITS_OUTPUT]!.data as Float32Array);
        takeUpdate(out);
      } else {
        const summed = new Map<string, Float32Array>();
        for (let from = 0; from < n; from += micro) {
          const to = Math.min(n, from + micro);
          const out = await (await sessionOf('gradients')).run({ ...sliceFeeds(batch, settings, from, to), ...weightFeeds() });
          loss += (out[LOSS_OUTPUT]!.data as Float32Array)[0]!;
          logits.set(out[LOGITS_OUTPUT]!.data as Float32Array, from * options.config.numClasses);
          addInto(summed, new Map(weights.map(({ name }) => [gradientName(name), out[gradientName(name)]!.data as Float32Array])));
        }
        const gradients = Object.fromEntries(weights.map(({ name, shape }) => [gradientName(name), new ort.Tensor('float32', summed.get(gradientName(name))!, shape)]));
        takeUpdate(await (await sessionOf('update')).run({ ...weightFeeds(), ...updateFeeds(settings), ...gradients }));
      }
      return { loss, ranks: rankLabels(logits, options.config.numClasses, batch.labels) };
    },
    async release() {
      for (const session of sessions.values()) await session.release();
      sessions.clear();
    },
  };
}
