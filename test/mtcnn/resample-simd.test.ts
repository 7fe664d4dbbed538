import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RgbImage } from '../../src/image/rgb-image.js';
import { pyramidLevels } from '../../src/mtcnn/pyramid.js';
import { integralImage, resampleArea } from '../../src/mtcnn/resample.js';
import { areaKernels, pyramidInputsSimd } from '../../src/mtcnn/resample-simd.js';
import { randomBytes } from '../helpers/seeded-random.js';

/**
 * The pyramid's area resampling in WebAssembly SIMD against the plain path (resample.ts, itself
 * tested against the reference's arithmetic): the same float32 bits for every value of every level.
 */

const image = (width: number, height: number, seed: number, fill?: number): RgbImage => ({
  width,
  height,
  data: fill === undefined ? randomBytes(width * height * 3, seed) : new Uint8Array(width * height * 3).fill(fill),
});

/** Every level by the plain path and by the SIMD path, into arrays with a margin before and after. */
function bothPaths(frame: RgbImage, levels: readonly { width: number; height: number }[]): { plain: Float32Array[]; simd: Float32Array[]; taken: boolean } {
  const margin = 7;
  const plain = levels.map((level) => new Float32Array(level.width * level.height * 3 + 2 * margin).fill(-9));
  const simd = plain.map((array) => new Float32Array(array.length).fill(-9));
  const integral = integralImage(frame);
  for (const [l, level] of levels.entries()) {
    resampleArea(frame, { x: 0, y: 0, width: frame.width, height: frame.height }, level.width, level.height, plain[l]!, margin, { normalize: true, integral });
  }
  const taken = pyramidInputsSimd(frame, levels, simd, levels.map(() => margin));
  return { plain, simd, taken };
}

const bits = (values: Float32Array) => new Uint32Array(values.buffer, values.byteOffset, values.length);

test('WebAssembly SIMD is there (Node >= 16.4), so the pyramid takes the SIMD path', () => {
  assert.notEqual(areaKernels(), null);
});

test('SIMD pyramid levels equal the plain path bit for bit, on random frames of many sizes', () => {
  const cases: [number, number][] = [[960, 540], [540, 960], [641, 359], [101, 57], [37, 21], [12, 12], [13, 200], [1, 1], [3, 1]];
  for (const [k, [width, height]] of cases.entries()) {
    const frame = image(width, height, 100 + k);
    // One window of the whole frame only where its sums stay below 2^24 (else the plain path, below).
    const whole = width * height <= 60000 ? [{ width: 1, height: 1 }] : [];
    const levels = [...pyramidLevels(width, height, 20, 0.709), ...whole, { width: Math.max(1, width >> 1), height }, { width, height }];
    const { plain, simd, taken } = bothPaths(frame, levels);
    assert.ok(taken, `${width}x${height}: not taken`);
    for (const [l, level] of levels.entries()) {
      assert.deepEqual(bits(simd[l]!), bits(plain[l]!), `${width}x${height} to ${level.width}x${level.height}`);
    }
  }
});

test('white and black frames (the largest and smallest sums) equal the plain path', () => {
  for (const fill of [0, 255]) {
    const frame = image(320, 180, 0, fill);
    const levels = [...pyramidLevels(320, 180, 20, 0.709), { width: 3, height: 2 }];
    const { plain, simd, taken } = bothPaths(frame, levels);
    assert.ok(taken);
    for (const l of levels.keys()) assert.deepEqual(bits(simd[l]!), bits(plain[l]!));
  }
});

test('a level whose windows could sum past 2^24 is left to the plain path, which re-sums in float32', () => {
  // 300x300 to 1x1: one window of 90,000 pixels, up to 22.95 million per channel.
  const { simd, taken } = bothPaths(image(300, 300, 7), [{ width: 1, height: 1 }]);
  assert.equal(taken, false);
  assert.ok(simd[0]!.every((value) => value === -9), 'nothing written');
});
