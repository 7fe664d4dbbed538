import assert from 'node:assert/strict';
import { test } from 'node:test';
import { castToInt16, roundHalfEven, roundToInt16 } from '../../src/landmarks/round-half-even.js';

test('roundHalfEven is np.around: ties go to the even integer', () => {
  const cases: Array<[number, number]> = [
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [3.5, 4],
    [-0.5, 0],
    [-1.5, -2],
    [-2.5, -2],
    [-3.5, -4],
    [2.4999999999999996, 2],
    [2.5000000000000004, 3],
    [0.49999999999999994, 0],
    [-2.5000000000000004, -3],
    [127.49, 127],
    [127.51, 128],
    [142.3013916015625, 142], // a float32 coordinate widened to float64
    [4503599627370497, 4503599627370497], // 2^52 + 1: already an integer
    [-7, -7],
  ];
  for (const [x, expected] of cases) assert.equal(roundHalfEven(x), expected, `x = ${x}`);
  assert.ok(Object.is(roundHalfEven(-0.4), 0), 'a zero result is +0');
  assert.ok(Number.isNaN(roundHalfEven(Number.NaN)));
});

test('castToInt16 keeps the low 16 bits like x86 NumPy astype(int16)', () => {
  const cases: Array<[number, number]> = [
    [0, 0],
    [32767, 32767],
    [32768, -32768],
    [40000, -25536],
    [65536, 0],
    [-32768, -32768],
    [-32769, 32767],
    [-1.9, -1],
    [1.9, 1],
    [2 ** 31, 0], // past int32: the hardware's 0x80000000, low bits 0
    [Number.NaN, 0],
  ];
  for (const [x, expected] of cases) assert.equal(castToInt16(x), expected, `x = ${x}`);
});

test('roundToInt16 rounds each coordinate half to even, then casts', () => {
  const points = [10.5, 11.5, -2.5, 99.49, 100.5, 32767.5, 0, 1, 2, 3];
  assert.deepEqual(Array.from(roundToInt16(points)), [10, 12, -2, 99, 100, -32768, 0, 1, 2, 3]);
  assert.ok(roundToInt16(points) instanceof Int16Array);
});
