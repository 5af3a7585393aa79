/**
 * torchvision's classification architectures as graphs with torchvision's
 * module names, so a `model.state_dict()` saved as safetensors feeds them
 * tensor for tensor: `features.3.weight`, `layer3.1.conv2.weight`,
 * `layer2.0.downsample.1.running_var`. Structures follow torchvision 0.13+
 * (models/alexnet.py, vgg.py, resnet.py: ResNet v1.5, the stride on the 3x3
 * conv of a bottleneck). Node names are the module names; functional steps
 * get names of their own (`flatten`, `layer1.0.add`; a ReLU module called
 * twice in a block is `relu` then `relu_1`, as torch.onnx names it).
 *
 * `widthDivisor` narrows every conv and fc width (tests build the same
 * structures small); `numClasses` sizes the last Linear.
 */
import { invalidParameterError } from '../errors.js';
import { describeGraphLayers } from '../graph/graph-layers.js';
import type { ModelGraph } from '../graph/model-graph.js';
import {
  addAdaptiveAvgPool, addBatchNorm, addConv, addDropout, addFlatten, addLinear, addMaxPool, addRelu, addResidual, addSoftmax,
  createModuleBuilder, type Cursor, type ModuleGraphBuilder,
} from './torchvision-builder.js';

export interface TorchvisionOptions {
  numClasses?: number;
  inputSizePx?: number;
  /** Divides every conv and fc width (default 1: torchvision's sizes). */
  widthDivisor?: number;
}

interface Resolved { numClasses: number; inputSizePx: number; width: (c: number) => number }

function classifierHead(b: ModuleGraphBuilder, o: Resolved, dropoutFirst: boolean): void {
  addFlatten(b, 'flatten');
  const hidden = o.width(4096);
  if (dropoutFirst) { // alexnet: Dropout, Linear, ReLU, Dropout, Linear, ReLU, Linear
    addDropout(b, 'classifier.0'); addLinear(b, 'classifier.1', hidden); addRelu(b, 'classifier.2');
    addDropout(b, 'classifier.3'); addLinear(b, 'classifier.4', hidden); addRelu(b, 'classifier.5');
  } else { // vgg: Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear
    addLinear(b, 'classifier.0', hidden); addRelu(b, 'classifier.1'); addDropout(b, 'classifier.2');
    addLinear(b, 'classifier.3', hidden); addRelu(b, 'classifier.4'); addDropout(b, 'classifier.5');
  }
  addLinear(b, 'classifier.6', o.numClasses);
}

function buildAlexnet(b: ModuleGraphBuilder, o: Resolved): void {
  const w = [64, 192, 384, 256, 256].map(o.width) as [number, number, number, number, number];
  addConv(b, 'features.0', w[0], 11, 4, 2, true); addRelu(b, 'features.1'); addMaxPool(b, 'features.2', 3, 2, 0);
  addConv(b, 'features.3', w[1], 5, 1, 2, true); addRelu(b, 'features.4'); addMaxPool(b, 'features.5', 3, 2, 0);
  addConv(b, 'features.6', w[2], 3, 1, 1, true); addRelu(b, 'features.7');
  addConv(b, 'features.8', w[3], 3, 1, 1, true); addRelu(b, 'features.9');
  addConv(b, 'features.10', w[4], 3, 1, 1, true); addRelu(b, 'features.11'); addMaxPool(b, 'features.12', 3, 2, 0);
  addAdaptiveAvgPool(b, 'avgpool', 6, 'alexnet');
  classifierHead(b, o, true);
}

/** torchvision's VGG configurations: conv widths, 'M' = MaxPool2d(2, 2). */
const VGG_CONFIGS: Readonly<Record<'A' | 'D', ReadonlyArray<number | 'M'>>> = Object.freeze({
  A: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  D: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
});

function buildVgg(config: 'A' | 'D', batchNorm: boolean, name: string): (b: ModuleGraphBuilder, o: Resolved) => void {
  return (b, o) => {
    let index = 0;
    for (const item of VGG_CONFIGS[config]) {
      if (item === 'M') {
        addMaxPool(b, `features.${index++}`, 2, 2, 0);
        continue;
      }
      addConv(b, `features.${index++}`, o.width(item), 3, 1, 1, true);
      if (batchNorm) addBatchNorm(b, `features.${index++}`);
      addRelu(b, `features.${index++}`);
    }
    addAdaptiveAvgPool(b, 'avgpool', 7, name);
    classifierHead(b, o, false);
  };
}

/** BasicBlock (expansion 1) or Bottleneck (expansion 4) `prefix`, with a downsample branch when the shape changes. */
function residualBlock(b: ModuleGraphBuilder, prefix: string, planes: number, stride: number, bottleneck: boolean): void {
  const input = b.at;
  const outChannels = bottleneck ? planes * 4 : planes;
  if (bottleneck) {
    addConv(b, `${prefix}.conv1`, planes, 1, 1, 0, false); addBatchNorm(b, `${prefix}.bn1`); addRelu(b, `${prefix}.relu`);
    addConv(b, `${prefix}.conv2`, planes, 3, stride, 1, false); addBatchNorm(b, `${prefix}.bn2`); addRelu(b, `${prefix}.relu_1`);
    addConv(b, `${prefix}.conv3`, outChannels, 1, 1, 0, false);
    addBatchNorm(b, `${prefix}.bn3`);
  } else {
    addConv(b, `${prefix}.conv1`, planes, 3, stride, 1, false); addBatchNorm(b, `${prefix}.bn1`); addRelu(b, `${prefix}.relu`);
    addConv(b, `${prefix}.conv2`, planes, 3, 1, 1, false);
    addBatchNorm(b, `${prefix}.bn2`);
  }
  const main: Cursor = b.at;
  let shortcut = input;
  if (stride !== 1 || input.channels !== outChannels) {
    addConv(b, `${prefix}.downsample.0`, outChannels, 1, stride, 0, false, input);
    shortcut = addBatchNorm(b, `${prefix}.downsample.1`);
  }
  addResidual(b, `${prefix}.add`, main, shortcut);
  addRelu(b, bottleneck ? `${prefix}.relu_2` : `${prefix}.relu_1`);
}

function buildResnet(blocks: [number, number, number, number], bottleneck: boolean): (b: ModuleGraphBuilder, o: Resolved) => void {
  return (b, o) => {
    addConv(b, 'conv1', o.width(64), 7, 2, 3, false); addBatchNorm(b, 'bn1'); addRelu(b, 'relu'); addMaxPool(b, 'maxpool', 3, 2, 1);
    blocks.forEach((count, stage) => {
      for (let i = 0; i < count; i++) residualBlock(b, `layer${stage + 1}.${i}`, o.width(64 * 2 ** stage), i === 0 && stage > 0 ? 2 : 1, bottleneck);
    });
    addAdaptiveAvgPool(b, 'avgpool', 1, 'resnet');
    addFlatten(b, 'flatten');
    addLinear(b, 'fc', o.numClasses);
  };
}

export interface TorchvisionEntry {
  description: string;
  /** The state_dict tensor whose first dimension is the class count. */
  classifierWeight: string;
  build: (b: ModuleGraphBuilder, o: Resolved) => void;
}

/** The torchvision architectures an imported state_dict may name. */
export const TORCHVISION_ARCHITECTURES: Readonly<Record<string, TorchvisionEntry>> = Object.freeze({
  alexnet: { description: "torchvision's AlexNet (64/192/384/256/256, fc 4096)", classifierWeight: 'classifier.6.weight', build: buildAlexnet },
  vgg11: { description: 'VGG 11 (configuration A)', classifierWeight: 'classifier.6.weight', build: buildVgg('A', false, 'vgg11') },
  vgg16: { description: 'VGG 16 (configuration D)', classifierWeight: 'classifier.6.weight', build: buildVgg('D', false, 'vgg16') },
  vgg16_bn: { description: 'VGG 16 with batch normalisation', classifierWeight: 'classifier.6.weight', build: buildVgg('D', true, 'vgg16_bn') },
  resnet18: { description: 'ResNet-18 (BasicBlock 2/2/2/2)', classifierWeight: 'fc.weight', build: buildResnet([2, 2, 2, 2], false) },
  resnet50: { description: 'ResNet-50 (Bottleneck 3/4/6/3, v1.5)', classifierWeight: 'fc.weight', build: buildResnet([3, 4, 6, 3], true) },
});

export const TORCHVISION_NAMES = Object.freeze(Object.keys(TORCHVISION_ARCHITECTURES));

/**
 * The graph of a torchvision architecture, with every state_dict tensor's shape in weightShapes.
 * @throws RangeError listing the names for an unknown architecture; UsageError when the
 *   input size does not fit the adaptive pool (see addAdaptiveAvgPool).
 */
export function buildTorchvisionGraph(architecture: string, options: TorchvisionOptions = {}): ModelGraph {
  const entry = TORCHVISION_ARCHITECTURES[architecture];
  if (entry === undefined) throw invalidParameterError('architecture', `one of ${TORCHVISION_NAMES.join(', ')}`, architecture);
  const divisor = options.widthDivisor ?? 1;
  const resolved: Resolved = {
    numClasses: options.numClasses ?? 1000,
    inputSizePx: options.inputSizePx ?? 224,
    width: (c) => Math.max(1, Math.round(c / divisor)),
  };
  const b = createModuleBuilder(3, resolved.inputSizePx);
  entry.build(b, resolved);
  const logits = b.at.node;
  addSoftmax(b, 'probs');
  return {
    name: architecture, input: { channels: 3, sizePx: resolved.inputSizePx }, nodes: b.nodes, logits, probs: 'probs',
    layers: describeGraphLayers(b.nodes, logits, 'probs'), weightShapes: b.weightShapes,
  };
}
