import { addConst, body, countedLoop, i32, lazyKernels, locals, op, simdModule, v, v128, type WasmMemory } from '../util/wasm-writer.js';

/**
 * WebAssembly SIMD kernels for the two passes of Pillow's resize (pillow-resize.ts), with the same
 * integer arithmetic: 32-bit sums of 8-bit pixels times 22-bit fixed-point weights, shifted and
 * clipped to 8 bits, four sums per instruction. Pillow's own C code sums in 32-bit ints too, so the
 * results are Pillow's bit for bit (tested against the plain path and Pillow's vectors). A 1080p
 * frame halves in about a third of the plain JavaScript's time (bench/detect-costs.ts), and stage 1
 * resizes every frame.
 *
 * The module is a few hundred bytes, written here instruction by instruction rather than shipped as
 * a binary or built by a toolchain: nothing to install, and the code below is its only source.
 * Where WebAssembly SIMD does not validate (it does in every Node >= 16.4), `simdKernels()` is
 * null and pillow-resize.ts keeps to plain JavaScript. The instruction writer is src/util/wasm-writer.ts.
 *
 * Kernels (pointers are byte offsets into the module's own memory):
 * - `halving(src, dst, rows, srcStride, dstStride, pixels, w0, w1, w2, w3)`: the interior of a
 *   2:1 horizontal reduction of RGB rows: output pixel i of a row reads the 8 input pixels from
 *   2i on (from `src` of that row), weights w0 w1 w2 w3 w3 w2 w1 w0. Four output pixels (12 bytes)
 *   at a time; the last four overlap the previous ones when `pixels` is not a multiple of 4
 *   (the same values are written again). It stores 16 bytes per 12: the 4 bytes past each row's
 *   run are overwritten by the caller's edge pixels or the next row, and `dst` needs 4 bytes of
 *   room after the last row. `pixels` must be at least 4. Reads up to 64 bytes past a row's last
 *   input pixel (ignored lanes): `src` needs that room after its last row.
 * - `vertical(src, dst, bytes, stride, weights, taps)`: one output row of the vertical pass:
 *   dst[x] = clip8(sum over i < taps of src[x + i*stride] * weights[i]), 16 bytes at a time, the last
 *   16 overlapping when `bytes` is not a multiple of 16. `bytes` must be at least 16; `weights` is an
 *   Int32 array in the module's memory.
 */

export type { WasmMemory };

export interface SimdKernels {
  readonly memory: WasmMemory;
  halving(src: number, dst: number, rows: number, srcStride: number, dstStride: number, pixels: number, w0: number, w1: number, w2: number, w3: number): void;
  vertical(src: number, dst: number, bytes: number, stride: number, weights: number, taps: number): void;
}

const precisionBits = 22;
const half = 1 << (precisionBits - 1);

/** The three 32-bit sums (acc0..2) shifted, narrowed with saturation (clip8) and stored as 16 bytes at `address`. */
function storeClipped(address: number[], acc: readonly number[], third: number): number[] {
  return [
    ...address,
    ...op.get(acc[0]!),
    ...op.const(precisionBits),
    ...v.i32x4ShrS,
    ...op.get(acc[1]!),
    ...op.const(precisionBits),
    ...v.i32x4ShrS,
    ...v.i16x8NarrowI32x4S,
    ...op.get(acc[2]!),
    ...op.const(precisionBits),
    ...v.i32x4ShrS,
    ...op.get(third),
    ...op.const(precisionBits),
    ...v.i32x4ShrS,
    ...v.i16x8NarrowI32x4S,
    ...v.i8x16NarrowI16x8U,
    ...v.store,
  ];
}

/**
 * halving: for each row, for each group of 4 output pixels at pixel p (the last group at
 * pixels - 4), input bytes b = src + 6p; tap k's 12 bytes (4 pixels x RGB) are at b + 3k + lanes,
 * taken from two 16-byte loads by one shuffle; taps k and 7-k share a weight, so their pixels are
 * added first (16-bit lanes, at most 510).
 */
function halvingBody(): number[] {
  const params = ['src', 'dst', 'rows', 'srcStride', 'dstStride', 'pixels', 'w0', 'w1', 'w2', 'w3'];
  const declared = ['row', 'p', 'last', 's', 'd', 'b', 'W0', 'W1', 'W2', 'W3', 'half', 'acc0', 'acc1', 'acc2', 'lo', 'hi', 'tk', 'tj'];
  const l = locals([...params, ...declared]);
  const lanes = [0, 1, 2, 6, 7, 8, 12, 13, 14, 18, 19, 20, 0, 0, 0, 0];
  const gather = (offset: number) => [...op.get(l.b!), ...v.load(offset), ...op.get(l.b!), ...v.load(offset + 16), ...v.shuffle(lanes)];
  const weights = [l.W0!, l.W1!, l.W2!, l.W3!];
  const pair = (k: number): number[] => [
    ...gather(3 * k),
    ...op.set(l.tk!),
    ...gather(3 * (7 - k)),
    ...op.set(l.tj!),
    ...op.get(l.tk!),
    ...v.i16x8ExtendLowI8x16U,
    ...op.get(l.tj!),
    ...v.i16x8ExtendLowI8x16U,
    ...v.i16x8Add,
    ...op.set(l.lo!),
    ...op.get(l.tk!),
    ...v.i16x8ExtendHighI8x16U,
    ...op.get(l.tj!),
    ...v.i16x8ExtendHighI8x16U,
    ...v.i16x8Add,
    ...op.set(l.hi!),
    ...[
      [l.acc0!, l.lo!, v.i32x4ExtendLowI16x8U],
      [l.acc1!, l.lo!, v.i32x4ExtendHighI16x8U],
      [l.acc2!, l.hi!, v.i32x4ExtendLowI16x8U],
    ].flatMap(([acc, from, extend]) => [
      ...op.get(acc as number),
      ...op.get(from as number),
      ...(extend as number[]),
      ...op.get(weights[k]!),
      ...v.i32x4Mul,
      ...v.i32x4Add,
      ...op.set(acc as number),
    ]),
  ];
  const code = [
    ...[0, 1, 2, 3].flatMap((k) => [...op.get(l[`w${k}`]!), ...v.i32x4Splat, ...op.set(weights[k]!)]),
    ...op.const(half),
    ...v.i32x4Splat,
    ...op.set(l.half!),
    ...op.get(l.pixels!),
    ...op.const(4),
    ...op.sub,
    ...op.set(l.last!),
    ...countedLoop(l.row!, l.rows!, [
      ...op.get(l.src!),
      ...op.get(l.row!),
      ...op.get(l.srcStride!),
      ...op.mul,
      ...op.add,
      ...op.set(l.s!),
      ...op.get(l.dst!),
      ...op.get(l.row!),
      ...op.get(l.dstStride!),
      ...op.mul,
      ...op.add,
      ...op.set(l.d!),
      ...op.const(0),
      ...op.set(l.p!),
      ...op.block,
      ...op.loop,
      // group loop: p = min(p, last) (select: last if p > last); compute; stop after p == last; p += 4
      ...op.get(l.last!),
      ...op.get(l.p!),
      ...op.get(l.p!),
      ...op.get(l.last!),
      ...op.gtS,
      ...op.select,
      ...op.set(l.p!),
      ...op.get(l.s!),
      ...op.get(l.p!),
      ...op.const(6),
      ...op.mul,
      ...op.add,
      ...op.set(l.b!),
      ...op.get(l.half!),
      ...op.tee(l.acc0!),
      ...op.tee(l.acc1!),
      ...op.set(l.acc2!),
      ...pair(0),
      ...pair(1),
      ...pair(2),
      ...pair(3),
      ...storeClipped([...op.get(l.d!), ...op.get(l.p!), ...op.const(3), ...op.mul, ...op.add], [l.acc0!, l.acc1!, l.acc2!], l.acc2!),
      ...op.get(l.p!),
      ...op.get(l.last!),
      ...op.geS,
      ...op.brIf(1),
      ...addConst(l.p!, 4),
      ...op.br(0),
      ...op.end,
      ...op.end,
    ]),
    ...op.end,
  ];
  const localTypes = declared.map((n) => (/^(W\d|half|acc\d|lo|hi|tk|tj)$/.test(n) ? v128 : i32));
  return body(localTypes, code);
}

/** vertical: 16 output bytes at a time; per tap, the 16 input bytes widened to four 32-bit lanes each and multiplied by the tap's weight. */
function verticalBody(): number[] {
  const params = ['src', 'dst', 'bytes', 'stride', 'weights', 'taps'];
  const declared = ['x', 'last', 'i', 'q', 'half', 'W', 'pixels', 'lo', 'hi', 'acc0', 'acc1', 'acc2', 'acc3'];
  const l = locals([...params, ...declared]);
  const accumulate = (acc: number, from: number, extend: number[]) => [
    ...op.get(acc),
    ...op.get(from),
    ...extend,
    ...op.get(l.W!),
    ...v.i32x4Mul,
    ...v.i32x4Add,
    ...op.set(acc),
  ];
  const code = [
    ...op.const(half),
    ...v.i32x4Splat,
    ...op.set(l.half!),
    ...op.get(l.bytes!),
    ...op.const(16),
    ...op.sub,
    ...op.set(l.last!),
    ...op.const(0),
    ...op.set(l.x!),
    ...op.block,
    ...op.loop,
    ...op.get(l.last!),
    ...op.get(l.x!),
    ...op.get(l.x!),
    ...op.get(l.last!),
    ...op.gtS,
    ...op.select,
    ...op.set(l.x!),
    ...op.get(l.half!),
    ...op.tee(l.acc0!),
    ...op.tee(l.acc1!),
    ...op.tee(l.acc2!),
    ...op.set(l.acc3!),
    ...op.get(l.src!),
    ...op.get(l.x!),
    ...op.add,
    ...op.set(l.q!),
    ...countedLoop(l.i!, l.taps!, [
      ...op.get(l.weights!),
      ...op.get(l.i!),
      ...op.const(4),
      ...op.mul,
      ...op.add,
      ...op.load,
      ...v.i32x4Splat,
      ...op.set(l.W!),
      ...op.get(l.q!),
      ...v.load(),
      ...op.set(l.pixels!),
      ...op.get(l.pixels!),
      ...v.i16x8ExtendLowI8x16U,
      ...op.set(l.lo!),
      ...op.get(l.pixels!),
      ...v.i16x8ExtendHighI8x16U,
      ...op.set(l.hi!),
      ...accumulate(l.acc0!, l.lo!, v.i32x4ExtendLowI16x8U),
      ...accumulate(l.acc1!, l.lo!, v.i32x4ExtendHighI16x8U),
      ...accumulate(l.acc2!, l.hi!, v.i32x4ExtendLowI16x8U),
      ...accumulate(l.acc3!, l.hi!, v.i32x4ExtendHighI16x8U),
      ...op.get(l.q!),
      ...op.get(l.stride!),
      ...op.add,
      ...op.set(l.q!),
    ]),
    ...storeClipped([...op.get(l.dst!), ...op.get(l.x!), ...op.add], [l.acc0!, l.acc1!, l.acc2!], l.acc3!),
    ...op.get(l.x!),
    ...op.get(l.last!),
    ...op.geS,
    ...op.brIf(1),
    ...addConst(l.x!, 16),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.end,
  ];
  const localTypes = declared.map((n) => (/^(half|W|pixels|lo|hi|acc\d)$/.test(n) ? v128 : i32));
  return body(localTypes, code);
}

/** The module's bytes: memory (exported, 1 page to start), `halving` and `vertical`. */
export function resizeModuleBytes(): Uint8Array {
  return simdModule([
    { name: 'halving', params: 10, body: halvingBody() },
    { name: 'vertical', params: 6, body: verticalBody() },
  ]);
}

/** The kernels, compiled once per thread; null where WebAssembly SIMD is not available. */
export const simdKernels = lazyKernels<SimdKernels>(resizeModuleBytes);
