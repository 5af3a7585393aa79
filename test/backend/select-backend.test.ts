import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, NATIVE_PACKAGES } from '../../src/backend/select-backend.js';

/** Whether a native tfjs package is installed here (it is not a dependency). */
function nativeInstalled(): boolean {
  return NATIVE_PACKAGES.some((name) => {
    try {
      import.meta.resolve(name);
      return true;
    } catch {
      return false;
    }
  });
}

function capture(): { lines: string[]; log: (line: string) => void } {
  const lines: string[] = [];
  return { lines, log: (line) => lines.push(line) };
}

describe('initBackend', () => {
  it('starts cpu and prints the choice once', async () => {
    const out = capture();
    const info = await initBackend('cpu', { log: out.log });
    assert.deepEqual(info, { name: 'cpu', gpu: false, threads: 1, detail: 'plain JavaScript, 1 thread' });
    assert.equal(tf.getBackend(), 'cpu');
    assert.equal(await initBackend('cpu', { log: out.log }), info);
    assert.deepEqual(out.lines, ['backend: cpu (plain JavaScript, 1 thread)']);
  });

  it('starts wasm (XNNPACK, single-threaded in Node) and switches back and forth', async () => {
    const out = capture();
    const info = await initBackend('wasm', { log: out.log });
    assert.equal(tf.getBackend(), 'wasm');
    assert.deepEqual([info.name, info.gpu, info.threads], ['wasm', false, 1]);
    assert.match(info.detail, /^XNNPACK(, SIMD)?, 1 thread: tfjs-backend-wasm is single-threaded in Node$/);
    assert.notEqual(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined, 'the project registers the conv filter gradient on wasm');
    await initBackend('cpu', { log: out.log });
    assert.equal(tf.getBackend(), 'cpu');
    assert.equal(out.lines.length, 2);
  });

  it('auto picks tensorflow when tfjs-node is installed, else wasm', async () => {
    const info = await initBackend('auto', { log: () => {} });
    assert.equal(info.name, nativeInstalled() ? 'tensorflow' : 'wasm');
    assert.equal(tf.getBackend(), info.name);
  });

  it('refuses tensorflow with an install hint when no native package is installed', { skip: nativeInstalled() && 'a native package is installed' }, async () => {
    await assert.rejects(initBackend('tensorflow', { log: () => {} }), {
      name: 'UsageError',
      message: `Backend tensorflow needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node (npm install @tensorflow/tfjs-node-gpu@${tf.version_core}); none loaded: @tensorflow/tfjs-node-gpu: not installed; @tensorflow/tfjs-node: not installed`,
    });
  });
});
