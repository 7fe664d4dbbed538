import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pythonFloatRepr } from '../../src/util/python-float.js';

// Expected strings are what CPython 3.11 prints for repr(x).
const cases: Array<[number, string]> = [
  [142.3013916015625, '142.3013916015625'],
  [738, '738.0'],
  [-3, '-3.0'],
  [0, '0.0'],
  [-0, '-0.0'],
  [0.5, '0.5'],
  [0.0001, '0.0001'],
  [0.00005, '5e-05'],
  [-3.0517578125e-5, '-3.0517578125e-05'],
  [1e16, '1e+16'],
  [1234567890123456.0, '1234567890123456.0'],
  [1.5e300, '1.5e+300'],
  [Math.fround(0.1), '0.10000000149011612'],
];

test('pythonFloatRepr matches CPython repr', () => {
  for (const [value, expected] of cases) assert.equal(pythonFloatRepr(value), expected, `repr(${value})`);
});
