/**
 * The table of named architectures. Full-size `zfnet` and `alexnet` follow
 * zfnet-paper.md; the `-small` and `-tiny` variants are the same code scaled
 * down (input size, filter counts, fc width, class count) for the demo and tests.
 */
import { invalidParameterError } from '../errors.js';
import { LRN_FORMULA, type LayerSpec, type ModelConfig } from './spec.js';

export interface ArchitectureScale {
  inputSizePx: number;
  /** Filters of conv1..conv5. */
  convFilters: [number, number, number, number, number];
  /** Units of fc6 and fc7. */
  fcUnits: number;
  numClasses: number;
}

const LRN = { size: 5, k: 2, alpha: 1e-4, beta: 0.75, formula: LRN_FORMULA };

function conv(name: string, filters: number, kernelPx: number, stride: number, pad: number): LayerSpec {
  return { kind: 'conv', name, filters, kernelPx, stride, padding: [pad, pad, pad, pad], relu: true };
}

function pool(name: string, ceilMode: boolean): LayerSpec {
  return { kind: 'maxpool', name, windowPx: 3, stride: 2, padding: [0, 0, 0, 0], ceilMode };
}

function classifier(scale: ArchitectureScale): LayerSpec[] {
  return [
    { kind: 'dense', name: 'fc6', units: scale.fcUnits, relu: true, dropout: 0.5 },
    { kind: 'dense', name: 'fc7', units: scale.fcUnits, relu: true, dropout: 0.5 },
    { kind: 'dense', name: 'fc8', units: scale.numClasses, relu: false, dropout: 0 },
  ];
}

/** ZFNet (paper Fig. 3): 7x7/2 conv1 with pad 1, ceil-mode pools 1 and 2, dense layers 3-5. */
export function buildZfnetConfig(name: string, scale: ArchitectureScale): ModelConfig {
  const [f1, f2, f3, f4, f5] = scale.convFilters;
  return {
    name,
    inputSizePx: scale.inputSizePx,
    inputChannels: 3,
    numClasses: scale.numClasses,
    classIds: null,
    layers: [
      conv('conv1', f1, 7, 2, 1), pool('pool1', true), { kind: 'lrn', name: 'norm1', ...LRN },
      conv('conv2', f2, 5, 2, 0), pool('pool2', true), { kind: 'lrn', name: 'norm2', ...LRN },
      conv('conv3', f3, 3, 1, 1), conv('conv4', f4, 3, 1, 1), conv('conv5', f5, 3, 1, 1),
      pool('pool5', false),
      ...classifier(scale),
    ],
  };
}

/**
 * The paper's single-tower AlexNet replication: 11x11/4 conv1, 5x5 conv2.
 * Project choice: conv1 pad 2 and conv2 pad 2 (as in Caffe's single-tower
 * AlexNet), so a 224 input gives 55x55 after conv1 and 6x6 after pool5.
 */
export function buildAlexnetConfig(name: string, scale: ArchitectureScale): ModelConfig {
  const [f1, f2, f3, f4, f5] = scale.convFilters;
  return {
    name,
    inputSizePx: scale.inputSizePx,
    inputChannels: 3,
    numClasses: scale.numClasses,
    classIds: null,
    layers: [
      conv('conv1', f1, 11, 4, 2), pool('pool1', false), { kind: 'lrn', name: 'norm1', ...LRN },
      conv('conv2', f2, 5, 1, 2), pool('pool2', false), { kind: 'lrn', name: 'norm2', ...LRN },
      conv('conv3', f3, 3, 1, 1), conv('conv4', f4, 3, 1, 1), conv('conv5', f5, 3, 1, 1),
      pool('pool5', false),
      ...classifier(scale),
    ],
  };
}

const FULL: ArchitectureScale = { inputSizePx: 224, convFilters: [96, 256, 384, 384, 256], fcUnits: 4096, numClasses: 1000 };
const SMALL: ArchitectureScale = { inputSizePx: 112, convFilters: [32, 64, 96, 96, 64], fcUnits: 256, numClasses: 10 };
const TINY: ArchitectureScale = { inputSizePx: 64, convFilters: [8, 16, 16, 16, 16], fcUnits: 32, numClasses: 4 };

export interface ArchitectureEntry {
  description: string;
  family: 'zfnet' | 'alexnet';
  scale: ArchitectureScale;
}

/** Command-line model names. `--num-classes` may override the class count of any of them. */
export const ARCHITECTURES: Readonly<Record<string, ArchitectureEntry>> = Object.freeze({
  zfnet: { description: 'ZFNet as in the paper (224 px, 96/256/384/384/256, fc 4096)', family: 'zfnet', scale: FULL },
  alexnet: { description: "the paper's single-tower AlexNet (11x11/4 conv1)", family: 'alexnet', scale: FULL },
  'zfnet-small': { description: 'ZFNet scaled down for the demo (112 px, 32/64/96/96/64, fc 256)', family: 'zfnet', scale: SMALL },
  'alexnet-small': { description: 'AlexNet scaled like zfnet-small', family: 'alexnet', scale: SMALL },
  'zfnet-tiny': { description: 'ZFNet for tests (64 px, 8/16/16/16/16, fc 32)', family: 'zfnet', scale: TINY },
  'alexnet-tiny': { description: 'AlexNet for tests, scaled like zfnet-tiny', family: 'alexnet', scale: TINY },
});

export const ARCHITECTURE_NAMES = Object.freeze(Object.keys(ARCHITECTURES));

export interface ModelOverrides {
  numClasses?: number;
  classIds?: string[] | null;
  inputSizePx?: number;
}

/**
 * Builds the config of a named architecture.
 * @throws RangeError naming the value when the name is not in the table.
 */
export function buildModelConfig(name: string, overrides: ModelOverrides = {}): ModelConfig {
  const entry = ARCHITECTURES[name];
  if (entry === undefined) {
    throw invalidParameterError('model', `one of ${ARCHITECTURE_NAMES.join(', ')}`, name);
  }
  const numClasses = overrides.classIds?.length ?? overrides.numClasses ?? entry.scale.numClasses;
  const scale = { ...entry.scale, numClasses, inputSizePx: overrides.inputSizePx ?? entry.scale.inputSizePx };
  const config = entry.family === 'zfnet' ? buildZfnetConfig(name, scale) : buildAlexnetConfig(name, scale);
  config.classIds = overrides.classIds ?? null;
  return config;
}
