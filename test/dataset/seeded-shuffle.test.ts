import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededShuffle, sfc32, uniformBelow } from '../../src/dataset/seeded-shuffle.js';

test('sfc32 matches an independent implementation of the published algorithm', () => {
  // Values from a separate Python implementation of sfc32 (PractRand's: tmp = a + b + counter++;
  // a = b ^ (b >> 9); b = c + (c << 3); c = rotl(c, 21) + tmp) with this module's seeding.
  const expected: Record<number, number[]> = {
    777: [2040754340, 3512923771, 2079085140, 123575595],
    0: [3300212312, 1743954244, 207519241, 3716241083],
    [-1]: [2378084626, 2430036845, 2939583250, 3162307632],
    [2 ** 40 + 5]: [2118367875, 2006029010, 2950708159, 553230494],
  };
  for (const [seed, values] of Object.entries(expected)) {
    const next = sfc32(Number(seed));
    assert.deepEqual([next(), next(), next(), next()], values, `seed ${seed}`);
  }
  assert.throws(() => sfc32(1.5), RangeError);
});

test('uniformBelow stays in range and covers it', () => {
  const next = sfc32(1);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i += 1) {
    const value = uniformBelow(7, next);
    assert.ok(Number.isInteger(value) && value >= 0 && value < 7);
    seen.add(value);
  }
  assert.equal(seen.size, 7);
  assert.equal(uniformBelow(1, next), 0);
});

test('seededShuffle: a permutation, the same for the same seed, different for another', () => {
  const items = Array.from({ length: 100 }, (_, i) => i);
  const a = seededShuffle(items, 777);
  assert.deepEqual([...a].sort((x, y) => x - y), items);
  assert.deepEqual(seededShuffle(items, 777), a);
  assert.notDeepEqual(seededShuffle(items, 778), a);
  assert.notDeepEqual(a, items);
  assert.deepEqual(items, Array.from({ length: 100 }, (_, i) => i), 'input untouched');
  assert.deepEqual(seededShuffle([], 1), []);
});
