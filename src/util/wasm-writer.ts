/**
 * A minimal WebAssembly binary writer, for the few SIMD kernels dfdc writes instruction by
 * instruction (src/image/resize-simd.ts, src/mtcnn/resample-simd.ts) rather than ship as binaries or
 * build with a toolchain: nothing to install, and the kernels' TypeScript is their only source.
 * Opcodes are those of the WebAssembly core and SIMD specifications.
 */

/** The module's memory (WebAssembly.Memory: this project's TypeScript libs have no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  /** Adds `pages` of 64 KiB; the old `buffer` is detached. */
  grow(pages: number): number;
}

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

/** The exports of a module, or null where WebAssembly (SIMD) does not validate it. */
function instantiateSimd(bytes: Uint8Array): Record<string, unknown> | null {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasm === undefined || !wasm.validate(bytes)) return null;
  return new wasm.Instance(new wasm.Module(bytes)).exports;
}

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, payload: number[]): number[] => [id, ...uleb(payload.length), ...payload];
const name = (text: string): number[] => vec([...Buffer.from(text, 'utf8')].map((byte) => [byte]));

export const i32 = 0x7f;
export const v128 = 0x7b;

/** Core instructions. */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  tee: (local: number) => [0x22, ...uleb(local)],
  const: (value: number) => [0x41, ...sleb(value)],
  /** An f32 constant (its bits, little-endian). */
  f32const: (value: number) => [0x43, ...new Uint8Array(Float32Array.of(value).buffer)],
  load: [0x28, 2, 0],
  geS: [0x4e],
  gtS: [0x4a],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  select: [0x1b],
};

/** SIMD instructions (0xfd prefix), by their opcodes in the WebAssembly SIMD specification. */
const simd = (code: number, ...immediates: number[]) => [0xfd, ...uleb(code), ...immediates];
export const v = {
  load: (offset = 0) => simd(0x00, 0, ...uleb(offset)),
  /** Four bytes into lane 0 of an i32x4, the other lanes zero. */
  load32Zero: simd(0x5c, 0, 0),
  /** Four bytes into every 32-bit lane. */
  load32Splat: simd(0x09, 0, 0),
  store: simd(0x0b, 0, 0),
  shuffle: (lanes: readonly number[]) => simd(0x0d, ...lanes),
  i32x4Splat: simd(0x11),
  f32x4Splat: simd(0x13),
  i8x16NarrowI16x8U: simd(0x66),
  i16x8NarrowI32x4S: simd(0x85),
  i16x8ExtendLowI8x16U: simd(0x89),
  i16x8ExtendHighI8x16U: simd(0x8a),
  i16x8Add: simd(0x8e),
  i32x4ExtendLowI16x8U: simd(0xa9),
  i32x4ExtendHighI16x8U: simd(0xaa),
  i32x4ShrS: simd(0xac),
  i32x4Add: simd(0xae),
  i32x4Sub: simd(0xb1),
  i32x4Mul: simd(0xb5),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  f32x4ConvertI32x4S: simd(0xfa),
};

/** `local += value` for an i32 local. */
export function addConst(local: number, value: number): number[] {
  return [...op.get(local), ...op.const(value), ...op.add, ...op.set(local)];
}

/** `for (counter = 0; counter < limit; counter++) body`, `counter` and `limit` i32 locals. */
export function countedLoop(counter: number, limit: number, loopBody: number[]): number[] {
  return [
    ...op.const(0),
    ...op.set(counter),
    ...op.block,
    ...op.loop,
    ...op.get(counter),
    ...op.get(limit),
    ...op.geS,
    ...op.brIf(1),
    ...loopBody,
    ...addConst(counter, 1),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
}

/** Local indices: parameters first, then the declared locals in order. */
export function locals(names: readonly string[]): Record<string, number> {
  return Object.fromEntries(names.map((n, i) => [n, i]));
}

/** A function body: its locals (run-length encoded by type) and code. */
export function body(localTypes: number[], code: number[]): number[] {
  const groups: number[][] = [];
  for (const type of localTypes) {
    const lastGroup = groups[groups.length - 1];
    if (lastGroup && lastGroup[1] === type) lastGroup[0]! += 1;
    else groups.push([1, type]);
  }
  const content = [...vec(groups.map(([count, type]) => [...uleb(count!), type!])), ...code];
  return [...uleb(content.length), ...content];
}

/** A function type of `params` i32 parameters and no result. */
const i32FuncType = (params: number): number[] => [0x60, ...vec(Array.from({ length: params }, () => [i32])), ...vec([])];

/** A kernel of a module: its exported name, its number of i32 parameters (no result), its body(). */
export interface KernelFunction {
  readonly name: string;
  readonly params: number;
  readonly body: number[];
}

/** A module's bytes: its memory (exported as `memory`, 1 page to start) and `functions`, exported by name. */
export function simdModule(functions: readonly KernelFunction[]): Uint8Array {
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(functions.map((f) => i32FuncType(f.params)))),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, 1]])),
    ...section(7, vec([[...name('memory'), 0x02, 0], ...functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])])),
    ...section(10, [...uleb(functions.length), ...functions.flatMap((f) => f.body)]),
  ]);
}

/** The module of `bytes()` instantiated on first call, once per thread; null where WebAssembly SIMD is not available. */
export function lazyKernels<T>(bytes: () => Uint8Array): () => T | null {
  let kernels: T | null | undefined;
  return () => {
    if (kernels === undefined) kernels = instantiateSimd(bytes()) as T | null;
    return kernels;
  };
}
