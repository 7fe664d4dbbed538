/**
 * mulberry32: a tiny seeded generator of numbers in [0, 1), for synthetic data that must be the
 * same on every run (fixture noise, random test regions, a benchmark's data set), so that a
 * failure can be reproduced from its seed.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` seeded random bytes: noise that compression cannot hide a wrong byte in. */
export function randomBytes(length: number, seed: number): Uint8Array {
  const next = seededRandom(seed);
  return Uint8Array.from({ length }, () => Math.floor(next() * 256));
}
