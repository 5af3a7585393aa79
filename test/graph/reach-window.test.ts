import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inferGraphShapes, windowOutputPx } from '../../src/graph/graph-shapes.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import { findLayer, type GraphNode, type ModelGraph } from '../../src/graph/model-graph.js';
import { countWindowMacs, maskedLevels, placeWindows, planReachWindows, windowValidity } from '../../src/graph/reach-window.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { computeGeometry, receptiveFieldBox } from '../../src/model/geometry.js';

const CONV_LAYERS = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'];

function plansOf(model: string, mode: 'reach' | 'full') {
  const config = buildModelConfig(model);
  const graph = lowerModelConfig(config);
  const shapes = inferGraphShapes(graph);
  return { config, graph, plans: CONV_LAYERS.map((l) => planReachWindows(graph, shapes, findLayer(graph, l).node, mode)) };
}

test('reach windows: the pixel window of every conv cell is its unclipped receptive field (zfnet, alexnet, small, tiny)', () => {
  for (const model of ['zfnet', 'alexnet', 'zfnet-small', 'alexnet-tiny']) {
    const { config, plans } = plansOf(model, 'reach');
    const geometry = computeGeometry(config);
    plans.forEach((plan, i) => {
      const g = geometry.find((x) => x.name === CONV_LAYERS[i])!;
      const [h, w] = g.outputShape as [number, number, number];
      assert.deepEqual(plan.levels[0]!.sizePx, [g.receptiveFieldPx, g.receptiveFieldPx], `${model} ${g.name}`);
      for (const [y, x] of [[0, 0], [h - 1, w - 1], [Math.floor(h / 2), 1], [0, w - 1]] as const) {
        const origin = placeWindows(plan, y, x)[0]!;
        assert.deepEqual(origin, [g.offsetPx! + y * g.jumpPx!, g.offsetPx! + x * g.jumpPx!], `${model} ${g.name} ${y},${x}`);
        const box = receptiveFieldBox(g, y, x, config.inputSizePx);
        const valid = windowValidity(origin, plan.levels[0]!.sizePx, plan.levels[0]!.gridPx);
        assert.equal(valid.reduce((a, b) => a + b, 0), box.heightPx * box.widthPx, `${model} ${g.name} ${y},${x}: valid cells = clipped box`);
      }
    });
  }
});

test('reach windows: zfnet sizes per level (conv5: 139 px, conv1 map 67, pool2 input 15, one cell on top)', () => {
  const { plans } = plansOf('zfnet', 'reach');
  const conv5 = plans[4]!;
  const size = (node: string) => conv5.levels.find((l) => l.node === node)!.sizePx[0];
  assert.deepEqual([size('input'), size('conv1.relu'), size('pool1'), size('conv2.relu'), size('pool2'), size('conv4.relu'), size('conv5.relu')], [139, 67, 33, 15, 7, 3, 1]);
  assert.deepEqual(plans[1]!.levels.map((l) => l.sizePx[0]), [27, 11, 11, 5, 5, 1, 1]);
});

test('reach windows are aligned to every stride grid: a valid window op over a level gives exactly the level above', () => {
  for (const mode of ['reach', 'full'] as const) {
    for (const model of ['zfnet', 'alexnet', 'zfnet-tiny']) {
      for (const plan of plansOf(model, mode).plans) {
        plan.path.forEach((node, i) => {
          const op = node.op;
          if (op.op !== 'conv' && op.op !== 'maxpool') return assert.deepEqual(plan.levels[i + 1]!.sizePx, plan.levels[i]!.sizePx);
          const k = op.op === 'conv' ? op.kernel : op.window;
          const out = [0, 1].map((a) => windowOutputPx(plan.levels[i]!.sizePx[a]!, k[a]!, op.stride[a]!, 0, 0, false));
          assert.deepEqual(out, plan.levels[i + 1]!.sizePx, `${model} ${mode} ${node.name}`);
          const origins = placeWindows(plan, 0, 0);
          assert.deepEqual(origins[i], [origins[i + 1]![0] * op.stride[0] - op.padding[0], origins[i + 1]![1] * op.stride[1] - op.padding[2]]);
        });
      }
    }
  }
});

test('full windows cover the padded frame: zfnet conv2 needs 227 px (pad 1 each side, one ceil-mode cell) and pool1 ceil-mode cell 110', () => {
  const { plans } = plansOf('zfnet', 'full');
  const conv2 = plans[1]!;
  const origins = placeWindows(conv2, 7, 3);
  assert.deepEqual(conv2.levels[0]!.sizePx, [227, 227]);
  assert.deepEqual(origins[0], [-1, -1]);
  assert.deepEqual(conv2.levels[1]!.sizePx, [111, 111]); // conv1 map 110 + the ceil-mode cell
  assert.deepEqual(conv2.levels.at(-1)!.sizePx, [26, 26]);
});

test('window validity marks the cells on the grid, row-major', () => {
  assert.deepEqual(Array.from(windowValidity([-1, 2], [3, 3], [4, 4])), [0, 0, 0, 1, 1, 0, 1, 1, 0]);
  assert.deepEqual(Array.from(windowValidity([5, 0], [2, 2], [4, 4])), [0, 0, 0, 0]);
});

test('masked levels are the inputs of conv and pool nodes; reach windows cut the conv work', () => {
  const reach = plansOf('zfnet', 'reach').plans;
  const full = plansOf('zfnet', 'full').plans;
  assert.deepEqual(reach[1]!.path.filter((_, i) => maskedLevels(reach[1]!).includes(i)).map((n) => n.name), ['conv1', 'pool1', 'conv2']);
  const ratio = countWindowMacs(full[1]!) / countWindowMacs(reach[1]!);
  assert.ok(ratio > 50, `conv2: full frame / reach = ${ratio}`);
  assert.ok(countWindowMacs(full[4]!) / countWindowMacs(reach[4]!) > 2, 'conv5');
});

test('bad cells and graphs the windows cannot follow are named', () => {
  const { plans, graph } = plansOf('zfnet-tiny', 'reach');
  assert.throws(() => placeWindows(plans[1]!, 6, 0), { message: 'Expected a cell inside the 6x6 grid of conv2.relu but received 6,0' });
  const shapes = inferGraphShapes(graph);
  assert.throws(() => planReachWindows(graph, shapes, 'fc6', 'reach'), { message: 'Deconvnet windows need [C, H, W] maps but flatten has shape [16]' });
  const blur: GraphNode = { name: 'blur', op: { op: 'avgpool', window: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0], ceilMode: false, countIncludePad: false }, inputs: ['conv1.relu'] };
  const pooled: ModelGraph = { ...graph, nodes: [...graph.nodes, blur] };
  assert.throws(() => planReachWindows(pooled, new Map([...shapes, ['blur', [8, 15, 15]]]), 'blur', 'reach'), { message: 'Deconvnet windows need a chain of conv, maxpool, relu, leaky-relu, lrn, dropout, identity, batchnorm nodes but node blur is avgpool' });
  const branching: ModelGraph = { ...graph, nodes: [...graph.nodes, { name: 'join', op: { op: 'add' }, inputs: ['conv1.relu', 'conv1.relu'] }] };
  assert.throws(() => planReachWindows(branching, new Map([...shapes, ['join', shapes.get('conv1.relu')!]]), 'join', 'reach'), { message: 'Deconvnet windows need a chain of single-input nodes but node join reads 2 inputs' });
});
