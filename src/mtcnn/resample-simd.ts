import type { RgbImage } from '../image/rgb-image.js';
import { addConst, body, countedLoop, i32, lazyKernels, locals, op, simdModule, v, v128, type WasmMemory } from '../util/wasm-writer.js';
import { areaWindows } from './resample.js';

/**
 * The P-Net pyramid's area resampling (src/mtcnn/resample.ts: a summed-area table, then every
 * level's windows from 4 look-ups, divided twice and normalized) in WebAssembly SIMD, one pixel's
 * three channels per instruction. About a fifth of MTCNN's time per frame went to it in plain
 * JavaScript.
 *
 * Bit for bit the same float32 values: the window sums are exact integers (below 2^24, checked
 * before: else the plain path, which re-sums in the reference's order), exact as float32;
 * `f32x4.div` and `f32x4.sub` round correctly, as `Math.fround` of the same double operation does
 * (division and subtraction of float32 values computed in double and rounded once give the
 * correctly rounded float32); the product by 2^-7 is exact. Tested against the plain path.
 *
 * Kernels (pointers are byte offsets into the module's own memory):
 * - `integral(src, table, width, height)`: rows 1..height of the summed-area table of an RGB image
 *   (row 0, zeros, is the caller's), Int32 entries, 3 per column, width + 1 columns. Each
 *   column's store writes a fourth value into the next entry, overwritten next: `table` needs 16
 *   bytes of room after it, `src` 4 after the image.
 * - `level(table, out, outWidth, outHeight, above, below, kh, first, end, kw)`: one level: `above`,
 *   `below` (Int32, per output row: byte address of the table rows y0 and y1), `kh` (Float32, per
 *   output row: y1 - y0), `first`, `end` (Int32, per output column: byte offsets of the columns x0
 *   and x1 in a row), `kw` (Float32, x1 - x0). Writes outWidth x outHeight x 3 float32 values,
 *   channels last, and 4 bytes more (room needed).
 */

export interface AreaKernels {
  readonly memory: WasmMemory;
  integral(src: number, table: number, width: number, height: number): void;
  level(table: number, out: number, outWidth: number, outHeight: number, above: number, below: number, kh: number, first: number, end: number, kw: number): void;
}

/** The summed-area table of one row after another: running column sums per channel, plus the row above. */
function integralBody(): number[] {
  const params = ['src', 'table', 'width', 'height'];
  const declared = ['y', 'x', 's', 't', 'strideBytes', 'zero', 'running'];
  const l = locals([...params, ...declared]);
  const code = [
    ...op.get(l.width!),
    ...op.const(1),
    ...op.add,
    ...op.const(12),
    ...op.mul,
    ...op.set(l.strideBytes!),
    ...op.const(0),
    ...v.i32x4Splat,
    ...op.set(l.zero!),
    ...op.get(l.src!),
    ...op.set(l.s!),
    ...op.get(l.table!),
    ...op.get(l.strideBytes!),
    ...op.add,
    ...op.set(l.t!),
    ...countedLoop(l.y!, l.height!, [
      // Column 0 of the row is zeros; t moves on to column 1.
      ...op.get(l.t!),
      ...op.get(l.zero!),
      ...v.store,
      ...addConst(l.t!, 12),
      ...op.get(l.zero!),
      ...op.set(l.running!),
      ...countedLoop(l.x!, l.width!, [
        // running += the pixel's three bytes (and the next byte, in lane 3: never read)
        ...op.get(l.running!),
        ...op.get(l.s!),
        ...v.load32Zero,
        ...v.i16x8ExtendLowI8x16U,
        ...v.i32x4ExtendLowI16x8U,
        ...v.i32x4Add,
        ...op.set(l.running!),
        // table[t] = table[t - stride] + running
        ...op.get(l.t!),
        ...op.get(l.t!),
        ...op.get(l.strideBytes!),
        ...op.sub,
        ...v.load(),
        ...op.get(l.running!),
        ...v.i32x4Add,
        ...v.store,
        ...addConst(l.s!, 3),
        ...addConst(l.t!, 12),
      ]),
    ]),
    ...op.end,
  ];
  return body(declared.map((n) => (n === 'zero' || n === 'running' ? v128 : i32)), code);
}

/** One level: per output pixel, the window sums of its three channels from four table entries, then (sum / kh / kw - 127.5) * 2^-7. */
function levelBody(): number[] {
  const params = ['table', 'out', 'outWidth', 'outHeight', 'above', 'below', 'kh', 'first', 'end', 'kw'];
  const declared = ['i', 'j', 'o', 'A', 'B', 'a', 'b', 'KH', 'offset', 'scale'];
  const l = locals([...params, ...declared]);
  const at = (array: number, index: number) => [...op.get(array), ...op.get(index), ...op.const(4), ...op.mul, ...op.add];
  const entry = (row: number, column: number) => [...op.get(row), ...op.get(column), ...op.add, ...v.load()];
  const code = [
    ...op.f32const(127.5),
    ...v.f32x4Splat,
    ...op.set(l.offset!),
    ...op.f32const(0.0078125),
    ...v.f32x4Splat,
    ...op.set(l.scale!),
    ...op.get(l.out!),
    ...op.set(l.o!),
    ...countedLoop(l.i!, l.outHeight!, [
      ...at(l.above!, l.i!),
      ...op.load,
      ...op.set(l.A!),
      ...at(l.below!, l.i!),
      ...op.load,
      ...op.set(l.B!),
      ...at(l.kh!, l.i!),
      ...v.load32Splat,
      ...op.set(l.KH!),
      ...countedLoop(l.j!, l.outWidth!, [
        ...at(l.first!, l.j!),
        ...op.load,
        ...op.set(l.a!),
        ...at(l.end!, l.j!),
        ...op.load,
        ...op.set(l.b!),
        // out[o] = (float(T[B+b] - T[A+b] - T[B+a] + T[A+a]) / kh / kw - 127.5) * 2^-7, for r, g, b (and a lane never read)
        ...op.get(l.o!),
        ...entry(l.B!, l.b!),
        ...entry(l.A!, l.b!),
        ...v.i32x4Sub,
        ...entry(l.B!, l.a!),
        ...v.i32x4Sub,
        ...entry(l.A!, l.a!),
        ...v.i32x4Add,
        ...v.f32x4ConvertI32x4S,
        ...op.get(l.KH!),
        ...v.f32x4Div,
        ...at(l.kw!, l.j!),
        ...v.load32Splat,
        ...v.f32x4Div,
        ...op.get(l.offset!),
        ...v.f32x4Sub,
        ...op.get(l.scale!),
        ...v.f32x4Mul,
        ...v.store,
        ...addConst(l.o!, 12),
      ]),
    ]),
    ...op.end,
  ];
  return body(declared.map((n) => (n === 'KH' || n === 'offset' || n === 'scale' ? v128 : i32)), code);
}

/** The module's bytes: memory (exported, 1 page to start), `integral` and `level`. */
export function areaModuleBytes(): Uint8Array {
  return simdModule([
    { name: 'integral', params: 4, body: integralBody() },
    { name: 'level', params: 10, body: levelBody() },
  ]);
}

/** The kernels, compiled once per thread; null where WebAssembly SIMD is not available. */
export const areaKernels = lazyKernels<AreaKernels>(areaModuleBytes);

/** Largest integer below which float32 sums of integers are exact (as in resample.ts). */
const exactFloat32Integer = 16777216;

const align = (bytes: number) => (bytes + 15) & ~15;

/**
 * Every pyramid level of `frame`, normalized, written channels-last to `outputs[l]` from
 * `offsets[l]`: what resampleArea with the frame's integralImage and `normalize` writes, level by
 * level. False (nothing written) where this path does not apply: no WebAssembly SIMD, a frame
 * whose sums do not fit Int32, or a level whose windows could sum past 2^24.
 */
export function pyramidInputsSimd(
  frame: RgbImage,
  levels: readonly { readonly width: number; readonly height: number }[],
  outputs: readonly Float32Array[],
  offsets: readonly number[],
): boolean {
  const simd = areaKernels();
  const { width, height, data } = frame;
  if (simd === null || width * height * 255 > 0x7fffffff) return false;
  const windows = levels.map((level) => ({ rows: areaWindows(height, level.height), cols: areaWindows(width, level.width) }));
  const widest = (w: { start: Int32Array; end: Int32Array }) => w.start.reduce((most, start, i) => Math.max(most, w.end[i]! - start), 0);
  if (windows.some(({ rows, cols }) => widest(rows) * widest(cols) * 255 > exactFloat32Integer)) return false;

  const strideBytes = (width + 1) * 12;
  const src = 0;
  const table = align(src + data.length + 4);
  const scratch = align(table + (height + 1) * strideBytes + 16);
  const scratchBytes = Math.max(...levels.map((level) => 4 * (3 * level.height + 3 * level.width) + 12 * level.width * level.height + 16));
  const needed = scratch + align(scratchBytes);
  const { memory } = simd;
  if (memory.buffer.byteLength < needed) {
    // At most about 130 MB (a frame whose sums fit Int32 has at most 8.4 million pixels); where even
    // that cannot be had, the plain path allocates its own table.
    try {
      memory.grow(Math.ceil((needed - memory.buffer.byteLength) / 65536));
    } catch {
      return false;
    }
  }
  const buffer = memory.buffer;
  new Uint8Array(buffer, src, data.length).set(data);
  new Int32Array(buffer, table, strideBytes / 4).fill(0);
  simd.integral(src, table, width, height);

  for (const [l, level] of levels.entries()) {
    const { rows, cols } = windows[l]!;
    const above = scratch;
    const below = above + 4 * level.height;
    const kh = below + 4 * level.height;
    const first = kh + 4 * level.height;
    const end = first + 4 * level.width;
    const kw = end + 4 * level.width;
    const out = kw + 4 * level.width;
    const aboveRows = new Int32Array(buffer, above, level.height);
    const belowRows = new Int32Array(buffer, below, level.height);
    const heights = new Float32Array(buffer, kh, level.height);
    for (let i = 0; i < level.height; i++) {
      aboveRows[i] = table + rows.start[i]! * strideBytes;
      belowRows[i] = table + rows.end[i]! * strideBytes;
      heights[i] = rows.end[i]! - rows.start[i]!;
    }
    const firstColumns = new Int32Array(buffer, first, level.width);
    const endColumns = new Int32Array(buffer, end, level.width);
    const widths = new Float32Array(buffer, kw, level.width);
    for (let j = 0; j < level.width; j++) {
      firstColumns[j] = cols.start[j]! * 12;
      endColumns[j] = cols.end[j]! * 12;
      widths[j] = cols.end[j]! - cols.start[j]!;
    }
    simd.level(table, out, level.width, level.height, above, below, kh, first, end, kw);
    outputs[l]!.set(new Float32Array(buffer, out, level.width * level.height * 3), offsets[l]!);
  }
  return true;
}
