import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyStageOneRegression,
  bbreg,
  cellBox,
  cropRegion,
  generateBoundingBox,
  landmarksFromBox,
  logitDifferenceCutoff,
  pad,
  rerec,
  softmaxClass1,
  softmaxClass1LastDim,
} from '../../src/mtcnn/boxes.js';

const f = Math.fround;

test('cell boxes divide in float32 by fround(scale): 258 of x = 0..1999 differ from float64 at 0.6', () => {
  // (2*4+1)/0.6 is 15 in float64 but 14.999999 in float32.
  assert.deepEqual(cellBox(4, 0, 0.6), [14, 1, 33, 20]);
  let differ = 0;
  for (let x = 0; x < 2000; x++) if (cellBox(x, 0, 0.6)[0] !== Math.floor((2 * x + 1) / 0.6)) differ++;
  assert.equal(differ, 258);
  // x2 uses 2x + 12 (cell size 12, stride 2).
  assert.deepEqual(cellBox(0, 0, 1), [1, 1, 12, 12]);
});

test('softmax class 1 in float32 (both of torch\'s formulas agree to an ulp)', () => {
  assert.equal(softmaxClass1(0, 0), 0.5);
  assert.equal(softmaxClass1(-40, 40), 1, 'saturates at 1.0 in float32');
  const p = softmaxClass1(0.3, 1.7);
  assert.equal(p, f(p));
  assert.ok(Math.abs(p - 1 / (1 + Math.exp(0.3 - 1.7))) < 1e-7);
  assert.ok(Math.abs(softmaxClass1LastDim(0.3, 1.7) - p) <= 6e-8);
});

/** A P-Net output map [batch, h, w, 6] with the given class-1 probabilities (logit 0 = 0). */
function pnetMap(probabilities: number[], regOf: (cell: number) => number[]): Float32Array {
  const out = new Float32Array(probabilities.length * 6);
  probabilities.forEach((p, cell) => {
    out[cell * 6 + 1] = p <= 0 ? -100 : p >= 1 ? 100 : Math.log(p / (1 - p));
    out.set(regOf(cell), cell * 6 + 2);
  });
  return out;
}

test('generateBoundingBox: prob >= fround(threshold), rows in (image, y, x) order, regression as is', () => {
  // 2 images of 2x3 cells.
  const probs = [0.1, 0.95, 0.2, 0.7, 0.1, 0.9, /* image 1 */ 0.99, 0.1, 0.1, 0.1, 0.1, 0.8];
  const map = pnetMap(probs, (cell) => [cell / 100, -cell / 100, 0.5, 0.25]);
  const c = generateBoundingBox(map, 2, 2, 3, 0.5, 0.6, 10);
  assert.deepEqual(Array.from(c.image), [10, 10, 10, 11, 11]);
  assert.deepEqual(
    Array.from(c.boxes),
    [
      [1, 0],
      [0, 1],
      [2, 1],
      [0, 0],
      [2, 1],
    ].flatMap(([x, y]) => cellBox(x!, y!, 0.5)),
  );
  assert.deepEqual(Array.from(c.reg.subarray(0, 4)), [f(0.01), f(-0.01), 0.5, 0.25]);
  for (let k = 0; k < 5; k++) assert.ok(Math.abs(c.scores[k]! - [0.95, 0.7, 0.9, 0.99, 0.8][k]!) < 1e-6);
});

test('generateBoundingBox compares with >= against the float32 threshold', () => {
  // Find a float32 logit whose float32 probability is exactly fround(0.65) (< 0.65 as a double).
  const target = f(0.65);
  let lo = 0;
  let hi = 2;
  for (let i = 0; i < 200; i++) {
    const mid = f((lo + hi) / 2);
    if (softmaxClass1(0, mid) < target) lo = mid;
    else hi = mid;
  }
  const logit = hi;
  const p = softmaxClass1(0, logit);
  assert.equal(p, target);
  const map = new Float32Array([0, logit, 0, 0, 0, 0]);
  assert.equal(generateBoundingBox(map, 1, 1, 1, 1, 0.65).scores.length, 1, 'kept although p < 0.65 in float64');
  assert.equal(generateBoundingBox(map, 1, 1, 1, 1, 0.6500001).scores.length, 0);
});

test('the logit pre-filter never skips a cell that can reach the threshold', () => {
  for (const t of [1e-4, 0.3, 0.6, 0.65, 0.85, 0.95, 0.9999]) {
    const cutoff = logitDifferenceCutoff(f(t));
    assert.ok(softmaxClass1(0, cutoff) < f(t) - 5e-5, `t = ${t}`);
    assert.ok(softmaxClass1(-20, cutoff - 20) < f(t) - 5e-5, `t = ${t}, shifted logits`);
  }
  assert.equal(logitDifferenceCutoff(0), -Infinity);
  assert.equal(logitDifferenceCutoff(f(0.99999)), -Infinity);
});

test('stage-1 regression uses w = x2 - x1 (no +1), bbreg uses w = x2 - x1 + 1', () => {
  const box = Float32Array.from([10, 20, 30, 60]);
  const reg = Float32Array.from([0.1, 0.1, -0.1, 0.5]);
  assert.deepEqual(Array.from(applyStageOneRegression(box, reg)), [12, 24, 28, 80]);
  assert.deepEqual(Array.from(bbreg(box, reg)), [f(10 + f(0.1 * 21)), f(20 + f(0.1 * 41)), f(30 - f(0.1 * 21)), f(60 + 0.5 * 41)]);
});

test('rerec squares around the centre with side max(w, h), no +1', () => {
  assert.deepEqual(Array.from(rerec(Float32Array.from([10, 20, 30, 60]))), [0, 20, 40, 60]);
  assert.deepEqual(Array.from(rerec(Float32Array.from([0, 0, 9, 3]))), [0, -3, 9, 6]);
  const odd = Array.from(rerec(Float32Array.from([0.5, 1.25, 7.75, 3.5])));
  assert.equal(odd[2]! - odd[0]!, odd[3]! - odd[1]!);
});

test('pad truncates toward zero (not floor), clips to [1, w] / [1, h]; the crop starts one pixel before', () => {
  const padded = pad(Float32Array.from([-0.7, 1.9, 99.9, 50.2, 3.7, -5.5, 12.2, 8.9]), 90, 40);
  assert.deepEqual(padded, [
    { x: 1, y: 1, ex: 90, ey: 40 },
    { x: 3, y: 1, ex: 12, ey: 8 },
  ]);
  // img[y-1:ey, x-1:ex] = rows 0..7, columns 2..11.
  assert.deepEqual(cropRegion(padded[1]!), { x: 2, y: 0, width: 10, height: 8 });
  // Fully outside (right of the image): the reference would skip the crop.
  assert.equal(cropRegion(pad(Float32Array.from([95, 5, 120, 30]), 90, 40)[0]!), null);
});

test('landmarks: (x2-x1+1)*p + x1 - 1, 5 x then 5 y', () => {
  const box = Float32Array.from([10, 20, 29, 59]); // w = 20, h = 40
  const points = Float32Array.from([0, 0.5, 1, 0.25, 0.75, 0, 0.5, 1, 0.25, 0.75]);
  assert.deepEqual(landmarksFromBox(box, points), [
    [9, 19],
    [19, 39],
    [29, 59],
    [14, 29],
    [24, 49],
  ]);
});
