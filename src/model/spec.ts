/**
 * Architecture description as plain data. Every number that shapes the
 * network (kernel, stride, explicit padding, ceil mode, normalization
 * constants) lives here, so geometry (output sizes, receptive fields) and the
 * checkpoint metadata are derived from one source.
 */

/** Padding per side in pixels: [top, bottom, left, right]. */
export type Padding4 = [number, number, number, number];

export interface ConvLayerSpec {
  kind: 'conv';
  /** conv1 .. conv5 */
  name: string;
  filters: number;
  kernelPx: number;
  stride: number;
  padding: Padding4;
  /** Always followed by ReLU in ZFNet/AlexNet; the rectified output is the tap `name`. */
  relu: true;
}

export interface MaxPoolLayerSpec {
  kind: 'maxpool';
  /** pool1, pool2, pool5 */
  name: string;
  windowPx: number;
  stride: number;
  padding: Padding4;
  /**
   * Ceil-mode output size (PyTorch `ceil_mode=True`): the last window may run
   * past the bottom/right edge; the missing cells never win the max.
   */
  ceilMode: boolean;
}

export interface LrnLayerSpec {
  kind: 'lrn';
  /** norm1, norm2 */
  name: string;
  /** Window across channels (depth radius = (size - 1) / 2). */
  size: number;
  k: number;
  alpha: number;
  beta: number;
  /** Human-readable formula, recorded in checkpoints so the alpha convention is explicit. */
  formula: string;
}

export interface DenseLayerSpec {
  kind: 'dense';
  /** fc6, fc7, fc8 */
  name: string;
  units: number;
  relu: boolean;
  /** Dropout rate applied after the activation during training (0 = none). */
  dropout: number;
}

export type LayerSpec = ConvLayerSpec | MaxPoolLayerSpec | LrnLayerSpec | DenseLayerSpec;

export interface ModelConfig {
  /** Registered architecture name, e.g. `zfnet`, `alexnet`, `zfnet-small`. */
  name: string;
  /** Square input side in pixels (224 for the paper). */
  inputSizePx: number;
  inputChannels: number;
  numClasses: number;
  /** Class identifiers (e.g. WordNet ids) in logit order, when known. */
  classIds: string[] | null;
  /** Layers in forward order; the last dense layer produces the logits. */
  layers: LayerSpec[];
}

/** Names a forward pass can return. */
export const TAP_NAMES = [
  'conv1', 'conv2', 'conv3', 'conv4', 'conv5',
  'pool1', 'pool2', 'pool5',
  'norm1', 'norm2',
  'fc6', 'fc7', 'logits', 'probs',
] as const;
export type TapName = (typeof TAP_NAMES)[number];

export const LRN_FORMULA = 'b = a / (k + alpha * sum_{window of size channels} a^2)^beta (alpha not divided by size)';
