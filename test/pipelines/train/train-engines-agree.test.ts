/**
 * The engines train the same run: dropout masks and crops are drawn by the
 * project's RNG from (seed, epoch, step) outside the engine, so `train` on
 * tfjs and on onnx from the same seed ends an epoch with the same weights up
 * to float rounding, and other masks (another dropout rate, same seed) do not.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readCheckpointFile } from '../../../src/checkpoint/checkpoint-file.js';
import { optimizerPathFor } from '../../../src/train/optimizer-state-file.js';
import { runCli } from '../../cli/run-cli.js';
import { makeTempDir, writeFolderTree } from '../../data/fixtures.js';

let tmp: ReturnType<typeof makeTempDir>;
let data: string;

before(async () => {
  tmp = makeTempDir('zfnet-train-engines-');
  data = join(tmp.dir, 'data');
  await writeFolderTree(data, { train: { a: 3, b: 3, c: 3, d: 3 } });
});
after(() => tmp.cleanup());

/** One epoch of zfnet-tiny, seed 7, with dropout on both dense layers; returns the weights and the momentum buffers. */
function trainOnce(name: string, backend: string, dropout: string): { weights: Map<string, Float32Array>; momentum: Map<string, Float32Array> } {
  const out = join(tmp.dir, name);
  const result = runCli(['train', '--model', 'zfnet-tiny', '--data', data, '--db', join(tmp.dir, `${name}.db`), '--out', out, '--backend', backend,
    '--epochs', '1', '--batch-size', '4', '--dropout', dropout, '--val-split', 'none', '--seed', '7']);
  assert.equal(result.status, 0, result.stderr);
  const runId = /run (train-\S+) finished/.exec(result.stdout)?.[1];
  assert.ok(runId !== undefined, result.stdout);
  const path = join(out, 'runs', runId, 'checkpoints', 'epoch-0001.safetensors');
  const read = (file: string): Map<string, Float32Array> => new Map([...readCheckpointFile(file).tensors].map(([tensorName, t]) => [tensorName, t.data as Float32Array]));
  return { weights: read(path), momentum: read(optimizerPathFor(path)) };
}

/** ||a - b|| / ||b||. */
function relativeDifference(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < b.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += b[i]! ** 2;
  }
  return Math.sqrt(diff / norm);
}

test('tfjs and onnx train the same epoch from one seed (same masks, crops and order); other masks train another', () => {
  const tfjs = trainOnce('tfjs', 'cpu', '0.5');
  const onnx = trainOnce('onnx', 'onnx', '0.5');
  const otherMasks = trainOnce('other-masks', 'onnx', '0.4');
  const weights = [...tfjs.weights.keys()].filter((name) => name.endsWith('.weight'));
  assert.ok(weights.includes('fc6.weight') && weights.includes('fc7.weight'), weights.join(', '));
  const differences: string[] = [];
  for (const name of weights) {
    const engines = relativeDifference(onnx.weights.get(name)!, tfjs.weights.get(name)!);
    assert.ok(engines <= 1e-4, `${name}: onnx and tfjs differ by ${engines.toExponential(2)} (relative L2)`);
    // The momentum buffer is the epoch's sum of decayed gradients: where the masks show most.
    const momentum = relativeDifference(onnx.momentum.get(name)!, tfjs.momentum.get(name)!);
    assert.ok(momentum <= 1e-3, `${name} momentum: onnx and tfjs differ by ${momentum.toExponential(2)} (relative L2)`);
    differences.push(`${name} ${momentum.toExponential(1)}`);
  }
  // Same init, crops and order under other masks (another rate): the momentum buffers far apart, so the check above sees the masks.
  for (const name of ['fc6.weight', 'fc7.weight']) {
    const masked = relativeDifference(otherMasks.momentum.get(name)!, onnx.momentum.get(name)!);
    assert.ok(masked > 0.1, `other masks left the momentum of ${name} within ${masked.toExponential(2)} of the rate-0.5 run's (engines: ${differences.join(', ')})`);
  }
});
