import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rotateClockwise } from '../../src/image/rotate.js';
import type { RgbImage } from '../../src/image/rgb-image.js';

/** A 3x2 image whose pixel (row r, column c) is [10r + c, 100 + 10r + c, 200]. */
const image: RgbImage = {
  width: 3,
  height: 2,
  data: new Uint8Array([0, 100, 200, 1, 101, 200, 2, 102, 200, 10, 110, 200, 11, 111, 200, 12, 112, 200]),
};

/** The first channel of each pixel, row by row. */
function layout(rotated: RgbImage): number[][] {
  const rows: number[][] = [];
  for (let r = 0; r < rotated.height; r++) {
    rows.push(Array.from({ length: rotated.width }, (_, c) => rotated.data[(r * rotated.width + c) * 3]!));
  }
  return rows;
}

test('quarter turns move pixels as cv::rotate does, keeping each pixel’s channels together', () => {
  assert.deepEqual(layout(image), [
    [0, 1, 2],
    [10, 11, 12],
  ]);
  // ROTATE_90_CLOCKWISE: the bottom-left pixel goes to the top-left.
  assert.deepEqual(layout(rotateClockwise(image, 90)), [
    [10, 0],
    [11, 1],
    [12, 2],
  ]);
  assert.deepEqual(layout(rotateClockwise(image, 180)), [
    [12, 11, 10],
    [2, 1, 0],
  ]);
  // ROTATE_90_COUNTERCLOCKWISE: the top-right pixel goes to the top-left.
  assert.deepEqual(layout(rotateClockwise(image, 270)), [
    [2, 12],
    [1, 11],
    [0, 10],
  ]);
  const turned = rotateClockwise(image, 90);
  assert.deepEqual([...turned.data.subarray(0, 3)], [10, 110, 200]);
  assert.equal(rotateClockwise(image, 0), image);
});

test('four quarter turns, or a turn and its inverse, give the image back', () => {
  const data = new Uint8Array(5 * 4 * 3).map((_, i) => (i * 47) % 256);
  const start = { width: 5, height: 4, data };
  let turned: RgbImage = start;
  for (let i = 0; i < 4; i++) turned = rotateClockwise(turned, 90);
  assert.deepEqual(turned, start);
  assert.deepEqual(rotateClockwise(rotateClockwise(start, 90), 270), start);
  assert.deepEqual(rotateClockwise(rotateClockwise(start, 180), 180), start);
});
