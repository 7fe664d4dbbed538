import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { computeAxisWeights, halfSize, pillowResize, resizeByScale, scaledSize } from '../../src/image/pillow-resize.js';
import { simdKernels } from '../../src/image/resize-simd.js';
import { readRgbImage } from '../../src/image/png.js';
import type { RgbImage } from '../../src/image/rgb-image.js';
import { packageRoot } from '../../src/util/package-root.js';
import { decodeVideo } from '../../src/video/decode.js';
import { parityDir, sharedTest } from '../helpers/shared.js';

interface Vector {
  name: string;
  width: number;
  height: number;
  outWidth: number;
  outHeight: number;
  input: string;
  expected: string;
}

const vectors = JSON.parse(readFileSync(join(packageRoot, 'test', 'image', 'pillow-vectors.json'), 'utf8')) as {
  pillow: string;
  cases: Vector[];
};

/** Index and values of the first differing byte, for a readable failure. */
function firstDifference(actual: Uint8Array, expected: Uint8Array): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) return `byte ${i} (pixel ${Math.floor(i / 3)}, channel ${i % 3}): ${actual[i]} != ${expected[i]}`;
  }
  return undefined;
}

for (const simd of [true, false]) {
  test(`pillowResize equals Pillow ${vectors.pillow} on synthetic images at odd sizes, up and down (${simd ? 'SIMD kernels' : 'plain JavaScript'})`, () => {
    assert.ok(vectors.cases.length >= 10);
    for (const v of vectors.cases) {
      const input: RgbImage = { width: v.width, height: v.height, data: new Uint8Array(Buffer.from(v.input, 'base64')) };
      const expected = new Uint8Array(Buffer.from(v.expected, 'base64'));
      const out = pillowResize(input, v.outWidth, v.outHeight, { simd });
      assert.equal(out.width, v.outWidth, v.name);
      assert.equal(out.height, v.outHeight, v.name);
      assert.equal(firstDifference(out.data, expected), undefined, v.name);
    }
  });
}

test('the WebAssembly SIMD kernels load on this Node (else every resize takes the plain path)', () => {
  assert.notEqual(simdKernels(), null);
});

/** A deterministic pseudo-random byte sequence (a 32-bit LCG), so a failure can be reproduced. */
function noise(length: number, seed: number): Uint8Array {
  let state = seed >>> 0;
  return new Uint8Array(length).map(() => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state >>> 24;
  });
}

test('the SIMD kernels give the plain path\'s bytes at every size tried, with the extremes that saturate', () => {
  let seed = 7;
  const sizes: [number, number][] = [];
  for (let width = 1; width <= 70; width += 3) for (const height of [1, 2, 5, 9, 17]) sizes.push([width, height]);
  sizes.push([1920, 9], [1279, 7], [641, 33], [6, 700]);
  for (const [width, height] of sizes) {
    seed += 1;
    const random = noise(width * height * 3, seed);
    // Black and white stripes drive the sums to both ends (clipped at 0 and 255).
    const stripes = random.map((value, i) => ((i / 3) % 2 < 1 ? 255 : 0) ^ (value & 1));
    for (const data of [random, stripes]) {
      const image = { width, height, data };
      const targets: [number, number][] = [
        [Math.max(1, width >> 1), Math.max(1, height >> 1)],
        [Math.max(1, Math.floor(width * 0.33)), Math.max(1, Math.floor(height * 0.33))],
        [width * 2 + 1, height + 3],
        [width, Math.max(1, height >> 1)],
        [Math.max(1, width >> 1), height],
      ];
      for (const [w, h] of targets) {
        const simd = pillowResize(image, w, h, { simd: true });
        const plain = pillowResize(image, w, h, { simd: false });
        assert.equal(firstDifference(simd.data, plain.data), undefined, `${width}x${height} -> ${w}x${h}`);
      }
    }
  }
});

test('the fixed-point weights of each output pixel sum to about 2^22 and stay inside the input', () => {
  for (const [inSize, outSize] of [
    [1920, 960],
    [37, 13],
    [13, 40],
    [1080, 356],
    [5, 1],
  ] as const) {
    const axis = computeAxisWeights(inSize, outSize);
    for (let o = 0; o < outSize; o++) {
      let sum = 0;
      for (let k = 0; k < axis.count[o]!; k++) sum += axis.weights[o * axis.ksize + k]!;
      assert.ok(Math.abs(sum - 2 ** 22) <= axis.ksize, `${inSize}->${outSize} pixel ${o}: sum ${sum}`);
      assert.ok(axis.first[o]! >= 0 && axis.first[o]! + axis.count[o]! <= inSize);
    }
  }
});

test('the interior of an exact 2:1 reduction is one run of identical symmetric 8-tap weights', () => {
  assert.deepEqual(computeAxisWeights(1920, 960).halvingRun, { start: 2, end: 957 });
  assert.deepEqual(computeAxisWeights(64, 32).halvingRun, { start: 2, end: 29 });
  // 1279 -> 639 is not exactly 2:1: its weights drift, so every output takes the plain path.
  assert.equal(computeAxisWeights(1279, 639).halvingRun, null);
  assert.equal(computeAxisWeights(13, 40).halvingRun, null);
});

test('an axis whose size does not change is copied, not resampled', () => {
  const data = new Uint8Array(7 * 5 * 3).map((_, i) => (i * 37) % 256);
  const image = { width: 7, height: 5, data };
  const same = pillowResize(image, 7, 5);
  assert.deepEqual(same.data, data);
  assert.notEqual(same.data, data, 'a copy, not the same buffer');
  // Only the height changes: every column is resampled on its own, so a picture whose rows are
  // all equal keeps them equal and keeps its values exactly.
  const rowsEqual = new Uint8Array(7 * 5 * 3).map((_, i) => (i % 21) * 12);
  const taller = pillowResize({ width: 7, height: 5, data: rowsEqual }, 7, 9);
  for (let r = 0; r < 9; r++) assert.deepEqual(taller.data.subarray(r * 21, r * 21 + 21), rowsEqual.subarray(0, 21));
});

test('scaledSize floors w*s and h*s; resizeByScale(0.5) is halfSize', () => {
  assert.deepEqual(scaledSize(1920, 1080, 0.5), { width: 960, height: 540 });
  assert.deepEqual(scaledSize(1279, 719, 0.5), { width: 639, height: 359 });
  assert.deepEqual(scaledSize(1920, 1080, 0.33), { width: 633, height: 356 });
  assert.deepEqual(scaledSize(250, 140, 2), { width: 500, height: 280 });
  const image = { width: 9, height: 7, data: new Uint8Array(9 * 7 * 3).map((_, i) => (i * 91) % 256) };
  assert.deepEqual(resizeByScale(image, 0.5), halfSize(image));
  assert.equal(halfSize(image).width, 4);
  assert.equal(halfSize(image).height, 3);
});

const realvideoa = join(parityDir, 'dataset_a', 'input', 'dfdc_train_part_0', 'realvideoa.mp4');
const halfFrames = join(parityDir, 'mtcnn', 'images');

sharedTest('half-size frames 0 and 50 of realvideoa equal the reference detector input byte for byte', realvideoa, async () => {
  const wanted = new Map<number, RgbImage>();
  const video = await decodeVideo(realvideoa, { every: 50 });
  for await (const frame of video.frames) {
    if (frame.index === 0 || frame.index === 50) wanted.set(frame.index, frame.image);
    if (frame.index >= 50) break;
  }
  for (const index of [0, 50]) {
    const frame = wanted.get(index);
    assert.ok(frame, `frame ${index} decoded`);
    const expected = await readRgbImage(join(halfFrames, `realvideoa_frame${index}_half.png`));
    const half = halfSize(frame);
    assert.equal(half.width, expected.width);
    assert.equal(half.height, expected.height);
    assert.equal(firstDifference(half.data, expected.data), undefined, `frame ${index}`);
    const plain = pillowResize(frame, half.width, half.height, { simd: false });
    assert.equal(firstDifference(plain.data, expected.data), undefined, `frame ${index}, plain JavaScript`);
  }
});
