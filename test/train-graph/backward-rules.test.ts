/**
 * Each backward rule of the training step on its own, against a direct tfjs
 * gradient: a one-op graph, a cotangent fed at its output, the gradient at its
 * input (and of its weights) from the `exact` way down, versus tf.grad of
 * sum(op(x) * cotangent). Then the loss, the update and the renormalisation.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { inferGraphShapes } from '../../src/graph/graph-shapes.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import { GRAPH_INPUT, type GraphOp, type GraphWeights, type ModelGraph } from '../../src/graph/model-graph.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { disposeParams, paramsFromTensors } from '../../src/model/params.js';
import { convertFromTorch, convertToTorch, parameterLayouts } from '../../src/model/torch-layout.js';
import type { DownContext } from '../../src/onnx/deconv-down-rules.js';
import { encodeOnnxModel, type OnnxTensor } from '../../src/onnx/onnx-codec.js';
import { ONNX_DATA_TYPE } from '../../src/onnx/onnx-schema.js';
import { channelWindowMatrix, lowerGraphNodes, nodesNeededFor, switchesName } from '../../src/onnx/lower-graph-nodes.js';
import { BUILT_IR_VERSION, BUILT_OPSET } from '../../src/onnx/onnx-model.js';
import { makeNode, tensorValueInfo } from '../../src/onnx/onnx-values.js';
import { propagateDown } from '../../src/onnx/propagate-down.js';
import { buildTrainStepGraph, nextVelocityName, nextWeightName, trainableWeights, velocityInputName } from '../../src/train-graph/build-train-step-graph.js';
import { LABELS_INPUT, LOSS_OUTPUT, LOSS_SCALE_INPUT, lossNodes } from '../../src/train-graph/loss-and-update.js';
import { emitParamGradients, gradientName } from '../../src/train-graph/param-gradients.js';
import { renormalizeConvFilters } from '../../src/train/filter-renorm.js';
import { applySgdUpdate } from '../../src/train/sgd-momentum.js';
import { computeCrossEntropy } from '../../src/train/train-step.js';
import { useBackend } from '../deconv/backends.js';
import { evaluateGraph, relativeError, seededFloats } from '../import/graph-reference.js';

const F = ONNX_DATA_TYPE.FLOAT;

/** A one-op graph: input [C, S, S] -> op `x`, with its weights' shapes. */
function oneOp(channels: number, sizePx: number, op: GraphOp, weightShapes: Record<string, number[]> = {}, flatten = false): ModelGraph {
  const nodes = flatten ? [{ name: 'flat', op: { op: 'flatten' } as GraphOp, inputs: [GRAPH_INPUT] }, { name: 'x', op, inputs: ['flat'] }] : [{ name: 'x', op, inputs: [GRAPH_INPUT] }];
  return { name: `one-${op.op}`, input: { channels, sizePx }, nodes, logits: 'x', probs: null, layers: [], weightShapes };
}

interface Vjp { input: Float32Array; params: Map<string, Float32Array> }

/** The exact way down from a cotangent at `x`: the gradient at the image (NCHW) and of each weight. */
async function runVjp(graph: ModelGraph, weights: GraphWeights, nhwc: Float32Array, rows: number, cotangent: Float32Array, mask?: Float32Array): Promise<Vjp> {
  const shapes = inferGraphShapes(graph);
  const dropoutMaskOf = mask === undefined ? undefined : () => 'mask';
  const lowered = lowerGraphNodes(graph, weights, ['x'], { lrn: 'pool', switches: true, ...(dropoutMaskOf === undefined ? {} : { dropoutMaskOf }) });
  const constants = new Map<string, OnnxTensor>();
  const constant = (name: string, tensor: OnnxTensor): string => { if (!constants.has(name)) constants.set(name, { ...tensor, name }); return name; };
  const ctx: DownContext = { graph, weights, method: 'exact', shapes, nodes: [], constant, switchesOf: (node) => switchesName(node.name), ...(dropoutMaskOf === undefined ? {} : { dropoutMaskOf }) };
  const signalAt = propagateDown(ctx, { path: nodesNeededFor(graph, ['x']), start: new Map([['x', 'cotangent']]), onNode: (node, g) => emitParamGradients(node, g, { shapes, nodes: ctx.nodes, constant }) });
  ctx.nodes.push(makeNode('Identity', 'input-gradient', [signalAt(GRAPH_INPUT)!], ['input-gradient']));
  const weightNames = Object.keys(graph.weightShapes);
  const { sizePx: s, channels } = graph.input;
  const model = {
    irVersion: BUILT_IR_VERSION, opsetImport: [{ domain: '', version: BUILT_OPSET }],
    graph: {
      name: 'vjp', node: [...lowered.nodes, ...ctx.nodes], initializer: [...lowered.initializers, ...constants.values()],
      input: [tensorValueInfo('pixels', F, ['N', s, s, channels]), tensorValueInfo('cotangent', F, ['N', ...shapes.get('x')!]), ...(mask === undefined ? [] : [tensorValueInfo('mask', F, ['N', ...shapes.get('x')!])])],
      output: [tensorValueInfo('input-gradient', F, ['N', channels, s, s]), ...weightNames.map((w) => tensorValueInfo(gradientName(w), F, graph.weightShapes[w]!))],
    },
  };
  const session = await ort.InferenceSession.create(encodeOnnxModel(model));
  try {
    const outShape = [rows, ...shapes.get('x')!];
    const feeds: Record<string, ort.Tensor> = { pixels: new ort.Tensor('float32', nhwc, [rows, s, s, channels]), cotangent: new ort.Tensor('float32', cotangent, outShape) };
    if (mask !== undefined) feeds['mask'] = new ort.Tensor('float32', mask, outShape);
    const out = await session.run(feeds);
    return { input: out['input-gradient']!.data as Float32Array, params: new Map(weightNames.map((w) => [w, out[gradientName(w)]!.data as Float32Array])) };
  } finally {
    await session.release();
  }
}

/** tf.grad of sum(op(x) * cotangent) w.r.t. the image (NCHW) through the direct evaluation (test/import/graph-reference.ts). */
function referenceInputGradient(graph: ModelGraph, weights: GraphWeights, nhwc: Float32Array, rows: number, cotangent: Float32Array, mask?: Float32Array): Float32Array {
  const { sizePx: s, channels } = graph.input;
  const shape = [rows, ...inferGraphShapes(graph).get('x')!];
  return tf.tidy(() => {
    const x = tf.transpose(tf.tensor4d(nhwc, [rows, s, s, channels]), [0, 3, 1, 2]);
    const cot = tf.tensor(cotangent, shape);
    const m = mask === undefined ? null : tf.tensor(mask, shape);
    return tf.grad((input: tf.Tensor) => {
      const y = evaluateGraph(graph, weights, input).get('x')!;
      return tf.sum(tf.mul(m === null ? y : tf.mul(y, m), cot));
    })(x).dataSync() as Float32Array;
  });
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string, tolerance = 1e-5): void {
  assert.ok(expected.some((v) => v !== 0), `${what}: the reference is all zero`);
  const error = relativeError(actual, expected);
  assert.ok(error < tolerance, `${what}: relative error ${error}`);
}

/** Values quantized to a few levels, so pooling windows hold tied maxima. */
function quantized(count: number, seed: number): Float32Array {
  return seededFloats(count, seed, 3).map((v) => Math.round(v));
}

describe('backward rules of the training step, each against a direct tfjs gradient', () => {
  before(() => useBackend('cpu'));

  it('conv: input, weight and bias gradients for every stride, padding and kernel the architectures use (and a 1x1 stride 2, a 2x2 stride 2)', async () => {
    const cases: Array<[kernel: number, stride: number, pad: number, sizePx: number]> = [[3, 1, 1, 9], [5, 2, 0, 13], [7, 2, 1, 20], [3, 2, 1, 8], [11, 4, 2, 31], [1, 2, 0, 8], [2, 2, 0, 8], [5, 1, 2, 7]];
    for (const [k, stride, pad, s] of cases) {
      const [inC, outC, rows] = [3, 4, 2];
      const op: GraphOp = { op: 'conv', weight: 'w', bias: 'b', outChannels: outC, kernel: [k, k], stride: [stride, stride], padding: [pad, pad, pad, pad], dilation: [1, 1], groups: 1 };
      const graph = oneOp(inC, s, op, { w: [outC, inC, k, k], b: [outC] });
      const weights = new Map([['w', seededFloats(outC * inC * k * k, k * 10 + stride, 0.5)], ['b', seededFloats(outC, 3, 0.5)]]);
      const nhwc = seededFloats(rows * s * s * inC, s, 2);
      const outShape = inferGraphShapes(graph).get('x')!;
      const cot = seededFloats(rows * outShape.reduce((a, b) => a * b, 1), 17, 1);
      const actual = await runVjp(graph, weights, nhwc, rows, cot);
      const label = `conv ${k}x${k}/${stride} pad ${pad} on ${s}px`;
      assertClose(actual.input, referenceInputGradient(graph, weights, nhwc, rows, cot), `${label} input`);
      const [dw, db] = tf.tidy(() => {
        const x = tf.tensor4d(nhwc, [rows, s, s, inC]);
        const cotNhwc = tf.transpose(tf.tensor4d(cot, [rows, ...outShape] as [number, number, number, number]), [0, 2, 3, 1]);
        const f = (w: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.sum(tf.mul(tf.add(tf.conv2d(x, tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D, stride, [[0, 0], [pad, pad], [pad, pad], [0, 0]]), b), cotNhwc));
        const [gw, gb] = tf.grads(f)([tf.tensor4d(weights.get('w')!, [outC, inC, k, k]), tf.tensor1d(weights.get('b')!)]);
        return [gw!.dataSync() as Float32Array, gb!.dataSync() as Float32Array];
      });
      assertClose(actual.params.get('w')!, dw!, `${label} weight`);
      assertClose(actual.params.get('b')!, db!, `${label} bias`);
    }
  });

  it('dense: input, weight and bias gradients (after a flatten)', async () => {
    const rows = 3;
    const graph = oneOp(2, 3, { op: 'dense', weight: 'w', bias: 'b', outUnits: 5 }, { w: [5, 18], b: [5] }, true);
    const weights = new Map([['w', seededFloats(90, 1, 0.5)], ['b', seededFloats(5, 2, 0.5)]]);
    const nhwc = seededFloats(rows * 18, 3, 2);
    const cot = seededFloats(rows * 5, 4, 1);
    const actual = await runVjp(graph, weights, nhwc, rows, cot);
    assertClose(actual.input, referenceInputGradient(graph, weights, nhwc, rows, cot), 'dense input');
    const flat = tf.tidy(() => tf.reshape(tf.transpose(tf.tensor4d(nhwc, [rows, 3, 3, 2]), [0, 3, 1, 2]), [rows, 18]).dataSync() as Float32Array);
    const [dw, db] = tf.tidy(() => {
      const f = (w: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.sum(tf.mul(tf.add(tf.matMul(tf.tensor2d(flat, [rows, 18]), w, false, true), b), tf.tensor2d(cot, [rows, 5])));
      const [gw, gb] = tf.grads(f)([tf.tensor2d(weights.get('w')!, [5, 18]), tf.tensor1d(weights.get('b')!)]);
      return [gw!.dataSync() as Float32Array, gb!.dataSync() as Float32Array];
    });
    assertClose(actual.params.get('w')!, dw!, 'dense weight');
    assertClose(actual.params.get('b')!, db!, 'dense bias');
  });

  it('relu: the gradient where the input is positive', async () => {
    const graph = oneOp(3, 5, { op: 'relu' });
    const nhwc = quantized(2 * 75, 5);
    const cot = seededFloats(2 * 75, 6, 1);
    assertClose((await runVjp(graph, new Map(), nhwc, 2, cot)).input, referenceInputGradient(graph, new Map(), nhwc, 2, cot), 'relu');
  });

  it('max pool 3x3/2 in ceil mode with tied maxima: the first maximum in row-major order takes the gradient, winners shared by windows add', async () => {
    const graph = oneOp(2, 8, { op: 'maxpool', window: [3, 3], stride: [2, 2], padding: [0, 0, 0, 0], ceilMode: true });
    const nhwc = quantized(2 * 128, 7); // values -3..3: most windows hold ties
    const cot = seededFloats(2 * 2 * 16, 8, 1);
    assertClose((await runVjp(graph, new Map(), nhwc, 2, cot)).input, referenceInputGradient(graph, new Map(), nhwc, 2, cot), 'max pool with ties');
    // By hand: one channel, all ones on 5x5 -> 2x2 outputs; each window's first cell wins: (0,0), (0,2), (2,0), (2,2).
    const flat = oneOp(1, 5, { op: 'maxpool', window: [3, 3], stride: [2, 2], padding: [0, 0, 0, 0], ceilMode: false });
    const byHand = (await runVjp(flat, new Map(), new Float32Array(25).fill(1), 1, Float32Array.of(1, 2, 3, 4))).input;
    const expected = new Float32Array(25);
    [[0, 1], [2, 2], [10, 3], [12, 4]].forEach(([i, g]) => { expected[i!] = g!; });
    assert.deepEqual([...byHand], [...expected]);
    // A winner shared by all four windows (the centre) collects every gradient.
    const peak = new Float32Array(25).fill(0);
    peak[12] = 5;
    const shared = (await runVjp(flat, new Map(), peak, 1, Float32Array.of(1, 2, 3, 4))).input;
    assert.equal(shared[12], 10);
    assert.equal(shared.reduce((a, b) => a + b, 0), 10);
  });

  it("LRN: the exact derivative (the project's k, alpha, beta; and another set through Pow), the second term mattering", async () => {
    for (const [op, scale] of [[{ op: 'lrn', size: 5, k: 2, alpha: 1e-4, beta: 0.75 }, 300], [{ op: 'lrn', size: 3, k: 1, alpha: 0.05, beta: 0.5 }, 3]] as const) {
      const graph = oneOp(7, 4, op as GraphOp);
      const nhwc = seededFloats(2 * 7 * 16, 9, scale);
      const cot = seededFloats(2 * 7 * 16, 10, 1);
      const expected = referenceInputGradient(graph, new Map(), nhwc, 2, cot);
      const actual = (await runVjp(graph, new Map(), nhwc, 2, cot)).input;
      assertClose(actual, expected, `lrn size ${op.size} beta ${op.beta}`, 1e-4);
      // The first term alone (g * s^-beta) is measurably off: the test sees the cross-channel term.
      const firstTermOnly = tf.tidy(() => {
        const x = tf.transpose(tf.tensor4d(nhwc, [2, 4, 4, 7]), [0, 3, 1, 2]);
        const y = evaluateGraph(graph, new Map(), x).get('x')!;
        return tf.mul(tf.tensor(cot, y.shape), tf.div(y, x)).dataSync() as Float32Array;
      });
      assert.ok(relativeError(firstTermOnly, expected) > 1e-3, `lrn size ${op.size}: the cross term is negligible here (${relativeError(firstTermOnly, expected)})`);
    }
  });

  it('the transposed channel window of an even size mirrors the window', () => {
    const forward = channelWindowMatrix(5, 4, 1);
    const mirrored = channelWindowMatrix(5, 4, 1, true);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) assert.equal(mirrored[i * 5 + j], forward[j * 5 + i]);
    assert.deepEqual([...forward.slice(0, 5)], [1, 1, 1, 0, 0]); // channel 0: itself and the next two (one before is missing)
  });

  it('dropout: the gradient through the forward pass\'s mask', async () => {
    const graph = oneOp(2, 3, { op: 'dropout', rate: 0.5 });
    const nhwc = seededFloats(2 * 18, 11, 2);
    const mask = seededFloats(2 * 18, 12, 1).map((v) => (v < 0 ? 0 : 2));
    const cot = seededFloats(2 * 18, 13, 1);
    assertClose((await runVjp(graph, new Map(), nhwc, 2, cot, mask)).input, referenceInputGradient(graph, new Map(), nhwc, 2, cot, mask), 'dropout');
  });

  it('softmax cross-entropy: the loss and its gradient at the logits, scaled by 1 / batch size', async () => {
    const [rows, classes] = [4, 6];
    const constants: OnnxTensor[] = [];
    const loss = lossNodes('logits-in', classes, (name, tensor) => { constants.push({ ...tensor, name }); return name; });
    const model = {
      irVersion: BUILT_IR_VERSION, opsetImport: [{ domain: '', version: BUILT_OPSET }],
      graph: {
        name: 'loss', node: loss.nodes, initializer: constants,
        input: [tensorValueInfo('logits-in', F, ['N', classes]), tensorValueInfo(LABELS_INPUT, ONNX_DATA_TYPE.INT64, ['N']), tensorValueInfo(LOSS_SCALE_INPUT, F, [])],
        output: [tensorValueInfo(LOSS_OUTPUT, F, []), tensorValueInfo(loss.dlogits, F, ['N', classes])],
      },
    };
    const logits = seededFloats(rows * classes, 14, 4);
    const labels = [0, 5, 2, 2];
    const session = await ort.InferenceSession.create(encodeOnnxModel(model));
    const out = await session.run({ 'logits-in': new ort.Tensor('float32', logits, [rows, classes]), [LABELS_INPUT]: new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [rows]), [LOSS_SCALE_INPUT]: new ort.Tensor('float32', Float32Array.of(1 / 8), []) });
    await session.release();
    // A slice of 4 of a batch of 8: the loss and gradient are half the slice's mean.
    const [expectedLoss, expectedGrad] = tf.tidy(() => {
      const f = (z: tf.Tensor): tf.Scalar => tf.mul(computeCrossEntropy(z as tf.Tensor2D, tf.tensor1d(labels, 'int32')), 0.5) as tf.Scalar;
      const { value, grad } = tf.valueAndGrad(f)(tf.tensor2d(logits, [rows, classes]));
      return [value.dataSync()[0]!, grad.dataSync() as Float32Array];
    });
    assert.ok(Math.abs((out[LOSS_OUTPUT]!.data as Float32Array)[0]! - expectedLoss!) < 1e-5, 'loss');
    assertClose(out[loss.dlogits]!.data as Float32Array, expectedGrad as Float32Array, 'dlogits');
  });

  it('the update graph: SGD momentum with weight decay, then the filter renormalisation, equal the tfjs update (some filters above the radius, some below)', async () => {
    const config = buildModelConfig('zfnet-tiny');
    const graph = lowerModelConfig(config);
    const layouts = parameterLayouts(config);
    const radius = 0.05;
    const make = (seed: number, scale: number): Map<string, Float32Array> => new Map(layouts.map((l, i) => [l.name, seededFloats(l.torchShape.reduce((a, b) => a * b, 1), seed + i, scale)]));
    const [weights, velocities, grads] = [make(100, 0.12), make(200, 0.01), make(300, 0.5)];
    const hyper = { learningRate: 0.05, momentum: 0.9, weightDecay: 0.01 };
    const session = await ort.InferenceSession.create(encodeOnnxModel(buildTrainStepGraph(graph, { kind: 'update', filterRadius: radius, weightDecay: true })));
    const feeds: Record<string, ort.Tensor> = { lr: new ort.Tensor('float32', Float32Array.of(hyper.learningRate), []), momentum: new ort.Tensor('float32', Float32Array.of(hyper.momentum), []), 'weight-decay': new ort.Tensor('float32', Float32Array.of(hyper.weightDecay), []) };
    for (const { name, shape } of trainableWeights(graph)) {
      feeds[name] = new ort.Tensor('float32', weights.get(name)!, shape);
      feeds[velocityInputName(name)] = new ort.Tensor('float32', velocities.get(name)!, shape);
      feeds[gradientName(name)] = new ort.Tensor('float32', grads.get(name)!, shape);
    }
    const out = await session.run(feeds);
    await session.release();
    const tfjsOf = (map: Map<string, Float32Array>): Map<string, tf.Tensor> => new Map(layouts.map((l) => [l.name, tf.tensor(convertFromTorch(l, map.get(l.name)!), l.tfjsShape)]));
    const wT = tfjsOf(weights);
    const vT = tfjsOf(velocities);
    const gT = tfjsOf(grads);
    const params = paramsFromTensors(wT);
    const buffers = paramsFromTensors(vT, false);
    applySgdUpdate(params, buffers, gT, hyper);
    const conv1Before = params.get('conv1.weight')!.dataSync().slice();
    renormalizeConvFilters(config, params, radius);
    assert.ok(relativeError(params.get('conv1.weight')!.dataSync(), conv1Before) > 0, 'the example renormalises some conv1 filters');
    for (const layout of layouts) {
      assertClose(out[nextWeightName(layout.name)]!.data as Float32Array, convertToTorch(layout, params.get(layout.name)!.dataSync() as Float32Array), `${layout.name} weight`);
      assertClose(out[nextVelocityName(layout.name)]!.data as Float32Array, convertToTorch(layout, buffers.get(layout.name)!.dataSync() as Float32Array), `${layout.name} velocity`);
    }
    tf.dispose([...wT.values(), ...vT.values(), ...gT.values()]);
    disposeParams(params);
    disposeParams(buffers);
  });
});
