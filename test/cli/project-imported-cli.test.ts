import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { buildTorchvisionGraph } from '../../src/import/torchvision-architectures.js';
import { encodeOnnxModel } from '../../src/onnx/onnx-codec.js';
import { buildClassifierGraph } from '../../src/onnx/build-classifier-graph.js';
import { importTorchvisionStateDict } from '../../src/import/torchvision-import.js';
import { writeStateDict } from '../import/torchvision-fixtures.js';
import { runCli } from './run-cli.js';

let dir = '';
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zfnet-project-model-'));
  const w = 80;
  const pixels = Buffer.alloc(w * w * 3);
  for (let i = 0; i < w * w; i++) pixels.set([(i * 7) % 256, (i % w) * 3, Math.floor(i / w) * 3], i * 3);
  await sharp(pixels, { raw: { width: w, height: w, channels: 3 } }).png().toFile(join(dir, 'image.png'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('run-pipeline project --model (an imported model)', () => {
  it('projects a named layer of an imported ResNet-18-shaped ONNX file with each method, recording the method', () => {
    // A narrow ResNet-18 written as ONNX by the project's own builder, then imported like a user's file.
    const small = buildTorchvisionGraph('resnet18', { widthDivisor: 16, inputSizePx: 64, numClasses: 3 });
    const { graph, weights } = importTorchvisionStateDict(writeStateDict(small, { seed: 2 }), { source: 'x', architecture: 'resnet18', widthDivisor: 16, inputSizePx: 64 });
    const onnx = buildClassifierGraph(graph, weights, { outputs: ['logits'], lrn: 'pool' });
    // the builder's NHWC 'pixels' input is what tf2onnx writes too
    writeFileSync(join(dir, 'r18.onnx'), encodeOnnxModel(onnx));
    const db = join(dir, 'store.db');
    const imported = runCli(['import', join(dir, 'r18.onnx'), '--name', 'r18', '--preset', 'torchvision', '--db', db, '--out', join(dir, 'models')]);
    assert.equal(imported.status, 0, imported.stderr);
    assert.match(imported.stdout, /^12  layer2\.0 +conv +relu +8x8x8 +8 +67 +58 +8$/m);
    const activations: string[] = [];
    for (const method of ['deconvnet', 'guided', 'gradient']) {
      const result = runCli(['project', '--model', 'r18', '--image', join(dir, 'image.png'), '--layer', 'layer2.0', '--unit', '3', '--method', method, '--db', db, '--out', join(dir, 'out')]);
      assert.equal(result.status, 0, result.stderr);
      const m = /^project r18: layer2\.0 unit 3 at (\d+),(\d+) = (\S+) \(\w+\)$/m.exec(result.stdout);
      assert.ok(m !== null, result.stdout);
      activations.push(m[3]!);
      const json = result.stdout.split('\n').map((l) => l.trim()).find((l) => l.endsWith('.json'))!;
      const summary = JSON.parse(readFileSync(json, 'utf8')) as { method: string; node: string; activation: number };
      assert.equal(summary.method, method);
      assert.ok(summary.activation > 0);
      assert.ok(existsSync(json.replace(/\.json$/, '-projection.png')));
    }
    assert.equal(new Set(activations).size, 1, 'the examined activation does not depend on the method');
    const bad = runCli(['project', '--model', 'r18', '--image', join(dir, 'image.png'), '--layer', 'layer9', '--unit', '0', '--db', db]);
    assert.match(bad.stderr, /^run-pipeline: Expected one of the layers conv1, maxpool, layer1\.0\.conv1, .* of r18 but received layer9$/m);
    const method = runCli(['project', '--model', 'r18', '--image', join(dir, 'image.png'), '--layer', 'layer2.0', '--unit', '0', '--method', 'saliency', '--db', db]);
    assert.equal(method.stderr.trim(), 'run-pipeline: Expected one of deconvnet, guided, gradient for method but received "saliency"');
  });
});
