import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchedNms, batchedNumpyMinNms, numpyMinNms, offsetBoxesByImage, stableDescendingOrder, torchvisionNms } from '../../src/mtcnn/nms.js';
import { numpyArgsort } from '../../src/mtcnn/numpy-argsort.js';

const boxes = (...rows: number[][]) => Float32Array.from(rows.flat());

test('torchvision nms: IoU with no +1, suppress only when IoU > threshold', () => {
  // IoU of these two is exactly 0.5 (50 / 100): kept at 0.5, suppressed at 0.49.
  const b = boxes([0, 0, 10, 10], [0, 0, 10, 5]);
  assert.deepEqual(torchvisionNms(b, [0.9, 0.8], 0.5), [0, 1]);
  assert.deepEqual(torchvisionNms(b, [0.9, 0.8], 0.49), [0]);
  // With +1 areas the IoU would be 66/121 = 0.545 > 0.5; without it, the adjacent box does not touch.
  assert.deepEqual(torchvisionNms(boxes([0, 0, 10, 10], [10, 0, 20, 10]), [0.5, 0.6], 0.01), [1, 0]);
});

test('torchvision nms: highest score first, equal scores in input order (stable)', () => {
  const b = boxes([0, 0, 10, 10], [100, 0, 110, 10], [200, 0, 210, 10], [1, 1, 11, 11]);
  assert.deepEqual(torchvisionNms(b, [0.5, 1, 1, 1], 0.5), [1, 2, 3]);
  assert.deepEqual(stableDescendingOrder([1, 2, 1, 2, 1]), [1, 3, 0, 2, 4]);
});

test('batched nms keeps images apart (offset trick) and matches per-image nms', () => {
  const b = boxes([0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [1, 1, 11, 11]);
  assert.deepEqual(batchedNms(b, [0.9, 0.8, 0.7, 0.95], [0, 0, 1, 1], 0.5), [3, 0]);
  const shifted = offsetBoxesByImage(b, [0, 0, 1, 1]);
  assert.deepEqual(Array.from(shifted.subarray(8)), [12, 12, 22, 22, 13, 13, 23, 23]);
  assert.deepEqual(batchedNms(new Float32Array(0), [], [], 0.5), []);
});

test('batched nms above 1,000 boxes loops per image and gives the same boxes', () => {
  const rows: number[][] = [];
  const scores: number[] = [];
  const images: number[] = [];
  for (let i = 0; i < 1200; i++) {
    const image = i % 3;
    const x = (i * 7) % 400;
    const y = Math.floor(i / 57) * 9;
    rows.push([x, y, x + 12 + (i % 5), y + 12]);
    scores.push(Math.fround(((i * 7919) % 1000) / 1000));
    images.push(image);
  }
  const keep = batchedNms(boxes(...rows), scores, images, 0.5);
  const perImage: number[] = [];
  for (const image of [0, 1, 2]) {
    const members = images.flatMap((im, i) => (im === image ? [i] : []));
    const sub = torchvisionNms(boxes(...members.map((i) => rows[i]!)), members.map((i) => scores[i]!), 0.5);
    perImage.push(...sub.map((k) => members[k]!));
  }
  assert.deepEqual([...keep].sort((a, b) => a - b), perImage.sort((a, b) => a - b));
  for (let k = 1; k < keep.length; k++) assert.ok(scores[keep[k - 1]!]! >= scores[keep[k]!]!, 'highest score first');
});

test("numpy 'Min' nms: +1 areas, overlap over the smaller area, keep when <= threshold", () => {
  // A small box inside a big one: IoU is small but inter/min(area) = 1, so it goes.
  assert.deepEqual(numpyMinNms(boxes([0, 0, 99, 99], [10, 10, 19, 19]), [0.9, 0.95], 0.7), [1]);
  // Overlap exactly 0.7 with +1 areas (7 of 10 columns, the same 10 rows): kept.
  assert.deepEqual(numpyMinNms(boxes([0, 0, 9, 9], [3, 0, 12, 9]), [0.9, 0.8], 0.7), [0, 1]);
  assert.deepEqual(numpyMinNms(boxes([0, 0, 9, 9], [2, 0, 11, 9]), [0.9, 0.8], 0.7), [0]);
});

test("numpy 'Min' nms visits boxes in np.argsort order: equal scores go last index first (n <= 16)", () => {
  // Three equal scores, disjoint boxes: argsort keeps input order, the loop takes from the end.
  const b = boxes([0, 0, 9, 9], [100, 0, 109, 9], [200, 0, 209, 9]);
  assert.deepEqual(numpyMinNms(b, [1, 1, 1], 0.7), [2, 1, 0]);
  // Two equal-score boxes that overlap: the later index wins.
  assert.deepEqual(numpyMinNms(boxes([0, 0, 9, 9], [1, 0, 10, 9]), [1, 1], 0.7), [1]);
  assert.deepEqual(batchedNumpyMinNms(boxes([0, 0, 9, 9], [1, 0, 10, 9]), [1, 1], [0, 1], 0.7), [1, 0]);
});

test('numpyArgsort reproduces numpy 1.24 np.argsort (introsort) on ties', () => {
  // Expected orders computed with numpy 1.24.4 (float32 arrays).
  const cases: [number[], number[]][] = [
    [
      [1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1],
      [1, 4, 20, 8, 9, 23, 14, 0, 22, 21, 19, 18, 17, 16, 15, 12, 11, 10, 7, 6, 5, 3, 2, 13, 24],
    ],
    [
      [3, 1, 2, 1, 3, 3, 2, 1, 1, 2, 3, 1, 2, 3, 1, 2],
      [1, 3, 7, 8, 11, 14, 2, 6, 9, 12, 15, 0, 4, 5, 10, 13],
    ],
    [
      [3, 1, 2, 1, 3, 3, 2, 1, 1, 2, 3, 1, 2, 3, 1, 2, 3],
      [8, 1, 3, 14, 7, 11, 2, 6, 15, 9, 12, 13, 0, 5, 4, 10, 16],
    ],
    [
      [0.9998999834060669, 1, 1, 0.5, 1, 0.9999999403953552, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.699999988079071],
      [3, 20, 0, 5, 1, 18, 17, 16, 15, 14, 13, 12, 11, 19, 9, 8, 7, 6, 4, 2, 10],
    ],
  ];
  for (const [values, expected] of cases) assert.deepEqual(Array.from(numpyArgsort(Float32Array.from(values))), expected);
  // Whatever the ties, the result sorts.
  const values = Float32Array.from({ length: 3000 }, (_, i) => (i * 7919) % 13);
  const order = numpyArgsort(values);
  for (let k = 1; k < order.length; k++) assert.ok(values[order[k - 1]!]! <= values[order[k]!]!);
  assert.equal(new Set(order).size, 3000);
});
