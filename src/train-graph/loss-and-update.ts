/**
 * The two ends of a training step as ONNX nodes: the softmax cross-entropy
 * loss with its gradient at the logits, and the project's SGD update (the
 * form of src/train/sgd-momentum.ts, then the paper's filter RMS
 * renormalisation of src/train/filter-renorm.ts). Pure.
 *
 *   loss     = -scale * sum_n log softmax(logits_n)[label_n]   (scale = 1 / batch size)
 *   dlogits  = scale * (softmax(logits) - onehot(label))
 *   v'       = momentum * v - lr * (g + weightDecay * w);  w' = w + v'
 *   conv w'' = w' * (radius / rms) per filter whose RMS exceeds radius (radius 0: off)
 * The loss is built from LogSoftmax (CUDA has no SoftmaxCrossEntropyLoss).
 */
import { float32Tensor, int64Tensor, makeNode, type OnnxNode, type OnnxTensor } from '../onnx/onnx-format.js';

export const LABELS_INPUT = 'labels';
export const LOSS_SCALE_INPUT = 'loss-scale';
export const LEARNING_RATE_INPUT = 'lr';
export const MOMENTUM_INPUT = 'momentum';
export const WEIGHT_DECAY_INPUT = 'weight-decay';
export const LOSS_OUTPUT = 'loss';
export const LOGITS_OUTPUT = 'logits';

type Constant = (name: string, tensor: OnnxTensor) => string;

/**
 * Loss nodes over `logits` [N, C]: outputs LOSS_OUTPUT (scalar) and LOGITS_OUTPUT,
 * and returns the gradient value at the logits.
 */
export function lossNodes(logits: string, classes: number, constant: Constant): { nodes: OnnxNode[]; dlogits: string } {
  const depth = constant('loss/depth', int64Tensor('loss/depth', [], [classes]));
  const offOn = constant('loss/off-on', float32Tensor('loss/off-on', [2], Float32Array.of(0, 1)));
  return {
    dlogits: 'loss/dlogits',
    nodes: [
      makeNode('Identity', LOGITS_OUTPUT, [logits], [LOGITS_OUTPUT]),
      makeNode('LogSoftmax', 'loss/log-softmax', [logits], ['loss/logp'], { axis: { int: -1 } }),
      makeNode('OneHot', 'loss/onehot', [LABELS_INPUT, depth, offOn], ['loss/onehot'], { axis: { int: -1 } }),
      makeNode('Mul', 'loss/picked', ['loss/logp', 'loss/onehot'], ['loss/picked']),
      makeNode('ReduceSum', 'loss/sum', ['loss/picked'], ['loss/sum'], { keepdims: { int: 0 } }),
      makeNode('Mul', 'loss/scaled', ['loss/sum', LOSS_SCALE_INPUT], ['loss/scaled']),
      makeNode('Neg', LOSS_OUTPUT, ['loss/scaled'], [LOSS_OUTPUT]),
      makeNode('Exp', 'loss/softmax', ['loss/logp'], ['loss/softmax']),
      makeNode('Sub', 'loss/residual', ['loss/softmax', 'loss/onehot'], ['loss/residual']),
      makeNode('Mul', 'loss/dlogits', ['loss/residual', LOSS_SCALE_INPUT], ['loss/dlogits']),
    ],
  };
}

export interface UpdateValues {
  /** Parameter name (`conv1.weight`). */
  name: string;
  weight: string;
  velocity: string;
  gradient: string;
  nextWeight: string;
  nextVelocity: string;
  /** Renormalise this conv weight's filters to at most this RMS (0 or undefined: no). */
  filterRadius?: number;
}

/** The SGD-momentum update of one parameter, with the filter renormalisation of a conv weight. */
export function updateNodes(values: UpdateValues, weightDecay: boolean, constant: Constant): OnnxNode[] {
  const n = (step: string): string => `${values.name}/update/${step}`;
  const step = weightDecay ? n('decayed') : values.gradient;
  const nodes: OnnxNode[] = [];
  if (weightDecay) {
    nodes.push(makeNode('Mul', n('decay'), [values.weight, WEIGHT_DECAY_INPUT], [n('decay')]), makeNode('Add', n('decayed'), [values.gradient, n('decay')], [n('decayed')]));
  }
  const radius = values.filterRadius ?? 0;
  const updated = radius > 0 ? n('updated') : values.nextWeight;
  nodes.push(
    makeNode('Mul', n('carry'), [values.velocity, MOMENTUM_INPUT], [n('carry')]),
    makeNode('Mul', n('push'), [step, LEARNING_RATE_INPUT], [n('push')]),
    makeNode('Sub', n('velocity'), [n('carry'), n('push')], [values.nextVelocity]),
    makeNode('Add', n('weight'), [values.weight, values.nextVelocity], [updated]),
  );
  if (radius > 0) nodes.push(...renormNodes(n('renorm'), updated, values.nextWeight, radius, constant));
  return nodes;
}

/** Filters [O, I, kh, kw] whose RMS exceeds `radius` scaled down to it; the others unchanged. */
function renormNodes(prefix: string, weight: string, output: string, radius: number, constant: Constant): OnnxNode[] {
  const n = (step: string): string => `${prefix}/${step}`;
  const cap = constant(`renorm/radius-${radius}`, float32Tensor(`renorm/radius-${radius}`, [], Float32Array.of(radius)));
  const one = constant('renorm/one', float32Tensor('renorm/one', [], Float32Array.of(1)));
  return [
    makeNode('Mul', n('square'), [weight, weight], [n('square')]),
    makeNode('ReduceMean', n('mean'), [n('square')], [n('mean')], { axes: { ints: [1, 2, 3] }, keepdims: { int: 1 } }), // axes an attribute up to opset 17
    makeNode('Sqrt', n('rms'), [n('mean')], [n('rms')]), // [O, 1, 1, 1]
    makeNode('Greater', n('over'), [n('rms'), cap], [n('over')]),
    makeNode('Div', n('ratio'), [cap, n('rms')], [n('ratio')]),
    makeNode('Where', n('scale'), [n('over'), n('ratio'), one], [n('scale')]),
    makeNode('Mul', n('scaled'), [weight, n('scale')], [output]),
  ];
}
