import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FatalError } from '../util/errors.js';
import { mtcnnWeightFiles, mtcnnWeightsDir } from './weight-files.js';

/**
 * Reads the pinned MTCNN weights (models/mtcnn) into plain Float32Arrays in the layout the TF.js
 * networks need (docs/weights.md §7):
 * - conv kernels `[kh, kw, in, out]` with kh and kw swapped relative to the file, because the file's
 *   kernels are spatially transposed relative to facenet-pytorch's;
 * - the first dense layer of R-Net/O-Net with its rows permuted from the reference's (W, H, C) flatten
 *   order to TF's (H, W, C) order, so a plain reshape of the NHWC conv output feeds it.
 * Biases, PReLU alphas and the other dense layers are used as stored. No tensors here: this module is
 * pure data and runs anywhere (main thread or worker).
 */

export interface WeightTensor {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Every tensor by its manifest name (e.g. `pnet/conv1/weights`), already in the networks' layout. */
export type MtcnnWeights = ReadonlyMap<string, WeightTensor>;

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
}

/** The side of the square conv output the first dense layer of each net flattens (docs/mtcnn.md §5). */
const denseInputGrid: Record<string, { side: number; channels: number }> = {
  'rnet/fc1/weights': { side: 3, channels: 64 },
  'onet/fc1/weights': { side: 3, channels: 128 },
};

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function readPinned(dir: string, file: { name: string; sha256: string }): Buffer {
  const path = join(dir, file.name);
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (error) {
    throw new FatalError(`cannot read the MTCNN weights ${path} (${(error as Error).message}); the package is incomplete: reinstall dfdc`);
  }
  const actual = sha256(data);
  if (actual !== file.sha256) {
    throw new FatalError(`MTCNN weights ${path} are corrupt (sha256 ${actual}, expected ${file.sha256}); reinstall dfdc`);
  }
  return data;
}

/** `[kh, kw, in, out]` -> `[kw, kh, in, out]` (swap the two spatial axes). */
export function swapKernelSpatialAxes(values: Float32Array, shape: readonly number[]): { shape: number[]; values: Float32Array } {
  const [kh, kw, cin, cout] = shape as [number, number, number, number];
  const inner = cin * cout;
  const out = new Float32Array(values.length);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      out.set(values.subarray((a * kw + b) * inner, (a * kw + b + 1) * inner), (b * kh + a) * inner);
    }
  }
  return { shape: [kw, kh, cin, cout], values: out };
}

/**
 * Dense weights `[side*side*channels, out]` whose rows are in (W, H, C) order, row (x*side + y)*C + c,
 * reordered to (H, W, C) order, row (y*side + x)*C + c.
 */
export function denseRowsWhcToHwc(values: Float32Array, shape: readonly number[], side: number, channels: number): Float32Array {
  const [rows, cols] = shape as [number, number];
  if (rows !== side * side * channels) throw new Error(`dense layer has ${rows} rows, expected ${side}x${side}x${channels}`);
  const out = new Float32Array(values.length);
  for (let x = 0; x < side; x++) {
    for (let y = 0; y < side; y++) {
      for (let c = 0; c < channels; c++) {
        const from = ((x * side + y) * channels + c) * cols;
        const to = ((y * side + x) * channels + c) * cols;
        out.set(values.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}

/** Decodes a TF.js manifest + shard (after the hash check) into the networks' layout. */
export function decodeMtcnnWeights(manifestJson: string, shard: Uint8Array): MtcnnWeights {
  const groups = JSON.parse(manifestJson) as { weights: ManifestEntry[] }[];
  const entries = groups.flatMap((group) => group.weights);
  const floats = new Float32Array(shard.byteLength / 4);
  new Uint8Array(floats.buffer).set(shard);
  const tensors = new Map<string, WeightTensor>();
  let offset = 0;
  for (const entry of entries) {
    if (entry.dtype !== 'float32') throw new Error(`${entry.name}: unexpected dtype ${entry.dtype}`);
    const size = entry.shape.reduce((a, b) => a * b, 1);
    const values = floats.slice(offset, offset + size);
    offset += size;
    if (entry.shape.length === 4) {
      tensors.set(entry.name, swapKernelSpatialAxes(values, entry.shape));
    } else if (denseInputGrid[entry.name]) {
      const { side, channels } = denseInputGrid[entry.name]!;
      tensors.set(entry.name, { shape: entry.shape, values: denseRowsWhcToHwc(values, entry.shape, side, channels) });
    } else {
      tensors.set(entry.name, { shape: entry.shape, values });
    }
  }
  if (offset !== floats.length) throw new Error(`MTCNN shard holds ${floats.length} floats, manifest describes ${offset}`);
  return tensors;
}

let cached: MtcnnWeights | undefined;

/** The weights from models/mtcnn, hash-checked and decoded once per thread. */
export function loadMtcnnWeights(dir: string = mtcnnWeightsDir): MtcnnWeights {
  if (dir === mtcnnWeightsDir && cached) return cached;
  const manifest = readPinned(dir, mtcnnWeightFiles.manifest);
  const shard = readPinned(dir, mtcnnWeightFiles.shard);
  const weights = decodeMtcnnWeights(manifest.toString('utf8'), shard);
  if (dir === mtcnnWeightsDir) cached = weights;
  return weights;
}

/** A tensor by name, or a clear error naming it. */
export function weight(weights: MtcnnWeights, name: string): WeightTensor {
  const tensor = weights.get(name);
  if (!tensor) throw new Error(`MTCNN weights have no tensor ${name}`);
  return tensor;
}
