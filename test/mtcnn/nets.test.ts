import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { ceilModePoolPadding, maxPoolCeil, MtcnnNets, sameIsCeilMode } from '../../src/mtcnn/nets.js';
import { loadMtcnnWeights } from '../../src/mtcnn/weights.js';
import { useBackend } from '../../src/tfjs/backend.js';

before(() => useBackend('wasm'));

test('ceil-mode output sizes of the three nets (docs/mtcnn.md §5)', () => {
  const out = (n: number, k: number, s: number) => (n + ceilModePoolPadding(n, k, s) - k) / s + 1;
  assert.deepEqual([out(22, 3, 2), out(9, 3, 2), out(46, 3, 2), out(21, 3, 2), out(8, 2, 2), out(323, 2, 2)], [11, 4, 23, 10, 4, 162]);
  // TF's 'same' is ceil mode for 2x2/2 and for 22 -> 11, but not for 9 -> 4 or 21 -> 10.
  assert.deepEqual([sameIsCeilMode(323, 2, 2), sameIsCeilMode(22, 3, 2), sameIsCeilMode(9, 3, 2), sameIsCeilMode(21, 3, 2)], [true, true, false, false]);
});

/** PyTorch's ceil-mode max pooling written out on a [h, w] single-channel array. */
function naivePool(values: number[], h: number, w: number, k: number, s: number): number[] {
  const oh = Math.ceil((h - k) / s) + 1;
  const ow = Math.ceil((w - k) / s) + 1;
  const out: number[] = [];
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      let m = -Infinity;
      for (let y = i * s; y < Math.min(i * s + k, h); y++) for (let x = j * s; x < Math.min(j * s + k, w); x++) m = Math.max(m, values[y * w + x]!);
      out.push(m);
    }
  }
  return out;
}

test('maxPoolCeil: the last partial window takes the max of the pixels that exist (negative values too)', () => {
  for (const [h, w, k, s] of [
    [9, 9, 3, 2],
    [21, 7, 3, 2],
    [5, 6, 2, 2],
    [22, 22, 3, 2],
  ] as const) {
    const values = Array.from({ length: h * w }, (_, i) => -1 - ((i * 37) % 11));
    const pooled = tf.tidy(() => maxPoolCeil(tf.tensor4d(values, [1, h, w, 1]), k, s).dataSync());
    assert.deepEqual(Array.from(pooled), naivePool(values, h, w, k, s), `${h}x${w} pool ${k}/${s}`);
  }
});

test('net output shapes, and no tensors left behind', () => {
  const nets = new MtcnnNets(loadMtcnnWeights());
  const before = tf.memory().numTensors;
  const shapes = tf.tidy(() => [
    nets.pnet(tf.zeros([2, 130, 95, 3])).shape,
    nets.rnet(tf.zeros([3, 24, 24, 3])).shape,
    nets.onet(tf.zeros([4, 48, 48, 3])).shape,
  ]);
  assert.deepEqual(shapes, [
    [2, 60, 43, 6],
    [3, 6],
    [4, 16],
  ]);
  assert.equal(tf.memory().numTensors, before);
  nets.dispose();
});
