/**
 * A deterministic shuffle: the same seed gives the same order on every machine and Node version.
 *
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 32-bit; passes PractRand),
 * its 128-bit state seeded as a = low 32 bits of the seed, b = high 32 bits (of the seed as a 64-bit
 * two's-complement integer, so negative seeds work), c = 0x9e3779b9, d = 1, then 15 outputs discarded
 * to mix the state. Shuffle: Fisher-Yates from the last element down, the index j in 0..i drawn
 * without modulo bias by rejection sampling.
 */

/** A generator of uniform 32-bit unsigned integers. */
export type Uint32Source = () => number;

export function sfc32(seed: number): Uint32Source {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const wide = BigInt.asUintN(64, BigInt(seed));
  let a = Number(wide & 0xffffffffn);
  let b = Number(wide >> 32n);
  let c = 0x9e3779b9;
  let d = 1;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 15; i += 1) next();
  return next;
}

/** A uniform integer in 0..n-1 (1 <= n <= 2^32), without modulo bias. */
export function uniformBelow(n: number, source: Uint32Source): number {
  const limit = 2 ** 32 - (2 ** 32 % n);
  for (;;) {
    const value = source();
    if (value < limit) return value % n;
  }
}

/** Anything indexable that can be shuffled in place: an array or a typed array. */
interface Shufflable<T> {
  readonly length: number;
  [index: number]: T;
}

/** Shuffles `items` in place with the Fisher-Yates of seededShuffle, and returns it. */
export function shuffleInPlace<T, A extends Shufflable<T>>(items: A, seed: number): A {
  const source = sfc32(seed);
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = uniformBelow(i + 1, source);
    const held = items[i]!;
    items[i] = items[j]!;
    items[j] = held;
  }
  return items;
}

/** A shuffled copy of `items`: a Fisher-Yates shuffle driven by sfc32(seed). */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  return shuffleInPlace<T, T[]>([...items], seed);
}
