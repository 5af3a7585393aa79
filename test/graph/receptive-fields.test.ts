import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeGraph, formatGraphReport } from '../../src/graph/describe-graph.js';
import { lowerModelConfig } from '../../src/graph/lower-model-config.js';
import { GRAPH_INPUT, findLayer, type GraphOp, type ModelGraph } from '../../src/graph/model-graph.js';
import { computeReceptiveFields, receptiveFieldBoxAt } from '../../src/graph/receptive-fields.js';
import { buildTorchvisionGraph } from '../../src/import/torchvision-architectures.js';
import { buildModelConfig } from '../../src/model/architectures.js';
import { computeGeometry } from '../../src/model/geometry.js';

const conv3 = (stride = 1): GraphOp => ({ op: 'conv', weight: 'w', bias: null, outChannels: 2, kernel: [3, 3], stride: [stride, stride], padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1 });
const conv1 = (stride: number): GraphOp => ({ op: 'conv', weight: 'w', bias: null, outChannels: 2, kernel: [1, 1], stride: [stride, stride], padding: [0, 0, 0, 0], dilation: [1, 1], groups: 1 });

/** stem -> residual block (two 3x3 convs, first of stride `stride`; shortcut identity or a 1x1 of that stride). */
function residualGraph(stride: number): ModelGraph {
  const shortcut = stride === 1 ? 'stem' : 'down';
  const nodes = [
    { name: 'stem', op: conv3(), inputs: [GRAPH_INPUT] },
    { name: 'a', op: conv3(stride), inputs: ['stem'] },
    { name: 'a.relu', op: { op: 'relu' } as GraphOp, inputs: ['a'] },
    { name: 'b', op: conv3(), inputs: ['a.relu'] },
    ...(stride === 1 ? [] : [{ name: 'down', op: conv1(stride), inputs: ['stem'] }]),
    { name: 'block.add', op: { op: 'add' } as GraphOp, inputs: ['b', shortcut] },
    { name: 'block.relu', op: { op: 'relu' } as GraphOp, inputs: ['block.add'] },
  ];
  return { name: 'res', input: { channels: 2, sizePx: 16 }, nodes, logits: 'block.relu', probs: null, layers: [], weightShapes: { w: [2, 2, 3, 3] } };
}

describe('receptive fields of a graph', () => {
  it("equal the project's layer geometry on lowered zfnet and alexnet", () => {
    for (const name of ['zfnet', 'alexnet', 'zfnet-tiny']) {
      const config = buildModelConfig(name);
      const graph = lowerModelConfig(config);
      const fields = computeReceptiveFields(graph);
      for (const g of computeGeometry(config)) {
        if (g.receptiveFieldPx === null) continue;
        const field = fields.get(findLayer(graph, g.name).node)!;
        assert.deepEqual(field, { receptiveFieldPx: [g.receptiveFieldPx, g.receptiveFieldPx], jumpPx: [g.jumpPx, g.jumpPx], offsetPx: [g.offsetPx, g.offsetPx] }, `${name} ${g.name}`);
      }
    }
  });

  it('take the largest path through a residual block', () => {
    // identity shortcut: the stem's 3 px field vs the main branch's 3 + 2 + 2 = 7 px
    assert.deepEqual(computeReceptiveFields(residualGraph(1)).get('block.relu'), { receptiveFieldPx: [7, 7], jumpPx: [1, 1], offsetPx: [-3, -3] });
    // strided: main 3 + 2*1 + 2*2 = 9 px from -1 - 1 - 2 = -4; the 1x1 shortcut sees 3 px from -1: the union is the main branch
    assert.deepEqual(computeReceptiveFields(residualGraph(2)).get('block.relu'), { receptiveFieldPx: [9, 9], jumpPx: [2, 2], offsetPx: [-4, -4] });
    assert.deepEqual(computeReceptiveFields(residualGraph(2)).get('down'), { receptiveFieldPx: [3, 3], jumpPx: [2, 2], offsetPx: [-1, -1] });
  });

  it('give ResNet-18 its 435 px field and clip it at the border', () => {
    const graph = buildTorchvisionGraph('resnet18');
    const field = computeReceptiveFields(graph).get(findLayer(graph, 'layer4.1').node)!;
    assert.deepEqual(field.receptiveFieldPx, [435, 435]);
    assert.deepEqual([field.jumpPx, field.offsetPx], [[32, 32], [-217, -217]]);
    assert.deepEqual(receptiveFieldBoxAt(field, 0, 6, 224), { top: 0, left: 0, heightPx: 435 - 217, widthPx: 224 });
    const conv1 = computeReceptiveFields(graph).get(findLayer(graph, 'conv1').node)!;
    assert.deepEqual(receptiveFieldBoxAt(conv1, 0, 111, 224), { top: 0, left: 219, heightPx: 4, widthPx: 5 });
    assert.equal(computeReceptiveFields(graph).get('fc'), null);
  });

  it('info lists every analysable layer with units and field', () => {
    const report = describeGraph(buildTorchvisionGraph('alexnet'));
    assert.equal(report.parameters, 61_100_840);
    const conv5 = report.layers.find((l) => l.name === 'features.10')!;
    assert.deepEqual([conv5.number, conv5.units, conv5.receptiveFieldPx, conv5.clippedFieldPx, conv5.jumpPx, conv5.outputShape], [7, 256, [163, 163], [163, 163], [16, 16], [256, 13, 13]]);
    const text = formatGraphReport(report);
    assert.match(text, /^ #  layer +kind +op +output +units +RF px +in img +jump  aliases$/m);
    assert.match(text, /^ 7  features\.10 +conv +relu +256x13x13 +256 +163 +163 +16 +conv5$/m);
    assert.match(text, /^11  classifier\.6 +logits +dense +1000 +1000 +- +- +- +logits$/m);
  });
});
