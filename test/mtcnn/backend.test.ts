import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend, wasmBinaryPaths } from '../../src/tfjs/backend.js';
import { DfdcError } from '../../src/util/errors.js';

test('the wasm binaries are found in the installed package', () => {
  const paths = wasmBinaryPaths();
  assert.equal(Object.keys(paths).length, 3);
  for (const path of Object.values(paths)) assert.ok(existsSync(path), path);
});

test('wasm and cpu backends start and compute the same conv', async () => {
  const run = () =>
    tf.tidy(() => Array.from(tf.conv2d(tf.reshape(tf.range(0, 2 * 5 * 5 * 3), [2, 5, 5, 3]) as tf.Tensor4D, tf.ones([3, 3, 3, 2]) as tf.Tensor4D, 1, 'valid').dataSync()));
  await useBackend('wasm');
  assert.equal(tf.getBackend(), 'wasm');
  const wasm = run();
  await useBackend('cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.deepEqual(run(), wasm);
  await useBackend('wasm');
});

test('the tensorflow backend, when tfjs-node is not installed, says so and how to fix it', async (t) => {
  let installed = true;
  try {
    await import(['@tensorflow', 'tfjs-node'].join('/'));
  } catch {
    installed = false;
  }
  if (installed) {
    t.skip('@tensorflow/tfjs-node is installed here');
    return;
  }
  await assert.rejects(useBackend('tensorflow'), (error: unknown) => {
    assert.ok(error instanceof DfdcError);
    assert.match(error.message, /neither is installed/);
    assert.match(error.message, /npm install @tensorflow\/tfjs-node/);
    assert.match(error.message, /--backend auto \(the default: the native engine, else wasm\)/);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
  // The active backend is unchanged.
  await useBackend('wasm');
  assert.equal(tf.getBackend(), 'wasm');
});
