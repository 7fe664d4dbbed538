import assert from 'node:assert/strict';
import { test } from 'node:test';
import { levelSize, pnetOutputSide, pyramidLevels, pyramidScales } from '../../src/mtcnn/pyramid.js';

test('960x540 half frame: the 10 levels of docs/mtcnn.md §3', () => {
  const levels = pyramidLevels(960, 540, 20, 0.709);
  assert.deepEqual(
    levels.map((l) => `${l.height}x${l.width}`),
    ['325x577', '230x409', '163x290', '116x206', '82x146', '59x104', '42x74', '30x52', '21x37', '15x27'],
  );
});

test('1920x1080: 12 levels from 649x1153 to 15x27', () => {
  const levels = pyramidLevels(1920, 1080, 20, 0.709);
  assert.equal(levels.length, 12);
  assert.deepEqual([levels[0]!.height, levels[0]!.width], [649, 1153]);
  assert.deepEqual([levels[11]!.height, levels[11]!.width], [15, 27]);
});

test('scales come from repeated multiplication in double precision (as the golden traces record them)', () => {
  const scales = pyramidScales(157, 216, 20, 0.709);
  // parity/mtcnn trace of crop_realvideoa_0_0: 0.6, 0.42539999999999994, 0.30160859999999995, ...
  assert.deepEqual(scales.slice(0, 4), [0.6, 0.42539999999999994, 0.30160859999999995, 0.21384049739999994]);
  assert.equal(scales[5], 0.10749355507352937);
  assert.notEqual(scales[5], 0.6 * 0.709 ** 5, 'not m * factor**k');
  // The loop stops once the short side times the scale drops below 12.
  assert.ok(157 * scales.at(-1)! >= 12 && 157 * scales.at(-1)! * 0.709 < 12);
});

test('level size is int(side*scale + 1): an exact integer still gets +1', () => {
  assert.deepEqual(levelSize(100, 50, 0.5), { width: 51, height: 26 });
  assert.deepEqual(levelSize(216, 157, 0.6), { width: 130, height: 95 });
});

test('min face size and factor change the pyramid', () => {
  assert.equal(pyramidScales(960, 540, 40, 0.709)[0], 0.3);
  assert.ok(pyramidScales(960, 540, 20, 0.5).length < pyramidScales(960, 540, 20, 0.709).length);
  assert.deepEqual(pyramidScales(10, 10, 20, 0.709), [], 'too small for a 12 px window');
});

test('P-Net output side: ceil((side-2)/2) - 4', () => {
  // crop_realvideoa_0_0 trace: 130x95 -> 60x43, 92x67 -> 41x29, 24x17 -> 7x4.
  assert.deepEqual([130, 95, 92, 67, 24, 17].map(pnetOutputSide), [60, 43, 41, 29, 7, 4]);
});
