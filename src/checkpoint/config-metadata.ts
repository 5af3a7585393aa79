/**
 * The `zfnet.config` metadata of a checkpoint: the ModelConfig plus the
 * numbers a reader elsewhere (PyTorch) needs without this code: each layer's
 * effective padding (ceil mode included) and output shape, the input
 * convention and the weight layout. Pure.
 */
import { UsageError } from '../errors.js';
import { ARCHITECTURE_NAMES, ARCHITECTURES, buildModelConfig } from '../model/architectures.js';
import { computeGeometry } from '../model/geometry.js';
import type { LayerSpec, ModelConfig } from '../model/spec.js';

export const CONFIG_FORMAT_VERSION = 1;

/** Written next to the layers so the file explains itself. */
export const LAYOUT_NOTES = Object.freeze({
  input: 'float32 RGB on the 0..255 scale minus the per-pixel mean image; tfjs NHWC [N, S, S, 3], PyTorch NCHW [N, 3, S, S]',
  conv: 'weight [out, in, kh, kw] (PyTorch Conv2d), cross-correlation, then bias and ReLU',
  linear: 'weight [out, in] (PyTorch Linear); fc6 input = torch.flatten of NCHW pool5, i.e. (c, h, w) order',
  padding: '[top, bottom, left, right] in pixels; effectivePadding adds the extra bottom/right of ceil-mode pooling',
  maxpool: 'ceil-mode padding cells never win the max (PyTorch MaxPool2d(ceil_mode=True))',
});

/** The JSON object stored under `zfnet.config`. */
export function describeConfig(config: ModelConfig): Record<string, unknown> {
  const geometry = computeGeometry(config);
  return {
    formatVersion: CONFIG_FORMAT_VERSION,
    name: config.name,
    inputSizePx: config.inputSizePx,
    inputChannels: config.inputChannels,
    numClasses: config.numClasses,
    classIds: config.classIds,
    layers: config.layers.map((layer, i) => ({
      ...layer,
      effectivePadding: geometry[i]!.effectivePadding,
      outputShape: geometry[i]!.outputShape,
    })),
    notes: LAYOUT_NOTES,
  };
}

/**
 * Rebuilds the ModelConfig of `zfnet.config` and checks that its layers are
 * exactly those of the named architecture (at the stored input size and
 * classes; the dropout rates are the checkpoint's own), so the weights are
 * never run through a different network.
 * @throws UsageError naming the file when the metadata is missing, malformed,
 *   names an unknown architecture or disagrees with it.
 */
export function parseConfigMetadata(json: string | undefined, path: string): ModelConfig {
  if (json === undefined) throw new UsageError(`Checkpoint ${path} has no zfnet.config metadata: it was not written by run-pipeline`);
  let stored: Record<string, unknown>;
  try {
    stored = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw new UsageError(`Checkpoint ${path} has a malformed zfnet.config: not JSON`);
  }
  const name = stored?.['name'];
  if (typeof name !== 'string' || ARCHITECTURES[name] === undefined) {
    throw new UsageError(`Checkpoint ${path} has unknown architecture ${JSON.stringify(name)}; known: ${ARCHITECTURE_NAMES.join(', ')}`);
  }
  const config = rebuildConfig(stored, name, path);
  const storedLayers = Array.isArray(stored['layers']) ? (stored['layers'] as Record<string, unknown>[]) : [];
  if (storedLayers.length !== config.layers.length) {
    throw new UsageError(`Checkpoint ${path} has ${storedLayers.length} layers in zfnet.config but ${name} has ${config.layers.length}`);
  }
  config.layers.forEach((layer, i) => checkLayer(layer, storedLayers[i]!, path));
  return config;
}

/**
 * The dropout rate a dense layer was trained with: a training choice
 * (`train --dropout`), not part of the architecture, so any rate in [0, 1)
 * is the checkpoint's own and is kept.
 */
function takeDropout(layer: LayerSpec & { kind: 'dense' }, stored: Record<string, unknown>, path: string): void {
  const rate = stored?.['dropout'];
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) {
    throw new UsageError(`Checkpoint ${path}: layer ${layer.name} has dropout ${JSON.stringify(rate)} in zfnet.config; expected a rate in [0, 1)`);
  }
  layer.dropout = rate;
}

function rebuildConfig(stored: Record<string, unknown>, name: string, path: string): ModelConfig {
  const { inputSizePx, numClasses, classIds } = stored;
  const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  const idsOk = classIds === null || (Array.isArray(classIds) && classIds.every((id) => typeof id === 'string') && classIds.length === numClasses);
  if (!isCount(inputSizePx) || !isCount(numClasses) || !idsOk) {
    throw new UsageError(`Checkpoint ${path} has a malformed zfnet.config: inputSizePx, numClasses and classIds must be positive integers and null or one id per class`);
  }
  try {
    const config = buildModelConfig(name, { inputSizePx, numClasses, classIds: classIds as string[] | null });
    computeGeometry(config);
    return config;
  } catch (error) {
    throw new UsageError(`Checkpoint ${path} has an unusable zfnet.config: ${(error as Error).message}`);
  }
}

function checkLayer(expected: LayerSpec, stored: Record<string, unknown>, path: string): void {
  if (expected.kind === 'dense') takeDropout(expected, stored, path);
  for (const [field, value] of Object.entries(expected)) {
    if (JSON.stringify(stored?.[field]) !== JSON.stringify(value)) {
      throw new UsageError(`Checkpoint ${path}: layer ${expected.name} has ${field} ${JSON.stringify(stored?.[field])} in zfnet.config but the ${field} of this code's architecture is ${JSON.stringify(value)}`);
    }
  }
}
