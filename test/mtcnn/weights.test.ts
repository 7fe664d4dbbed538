import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mtcnnWeightFiles, mtcnnWeightsDir } from '../../src/mtcnn/weight-files.js';
import { denseRowsWhcToHwc, loadMtcnnWeights, swapKernelSpatialAxes, weight } from '../../src/mtcnn/weights.js';
import { DfdcError } from '../../src/util/errors.js';
import { scratchDir } from '../helpers/cli.js';

/** The raw file, independently of the loader: name -> { shape, values } in manifest order. */
function rawTensors(): Map<string, { shape: number[]; values: Float32Array }> {
  const manifest = JSON.parse(readFileSync(join(mtcnnWeightsDir, mtcnnWeightFiles.manifest.name), 'utf8')) as {
    weights: { name: string; shape: number[] }[];
  }[];
  const shard = readFileSync(join(mtcnnWeightsDir, mtcnnWeightFiles.shard.name));
  const view = new DataView(shard.buffer, shard.byteOffset, shard.byteLength);
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  let byte = 0;
  for (const entry of manifest.flatMap((g) => g.weights)) {
    const size = entry.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++, byte += 4) values[i] = view.getFloat32(byte, true);
    out.set(entry.name, { shape: entry.shape, values });
  }
  return out;
}

test('the committed weight files match their pinned sha256 and SHA256SUMS', () => {
  const sums = readFileSync(join(mtcnnWeightsDir, 'SHA256SUMS'), 'utf8');
  for (const file of Object.values(mtcnnWeightFiles)) {
    const actual = createHash('sha256').update(readFileSync(join(mtcnnWeightsDir, file.name))).digest('hex');
    assert.equal(actual, file.sha256, file.name);
    assert.ok(sums.includes(`${file.sha256}  ${file.name}`), `SHA256SUMS lists ${file.name}`);
  }
  assert.match(readFileSync(join(mtcnnWeightsDir, 'LICENSE'), 'utf8'), /MIT License[\s\S]*Vincent Mühler/);
});

test('all 50 tensors load with the reference shapes (kernels with kh/kw swapped)', () => {
  const weights = loadMtcnnWeights();
  assert.equal(weights.size, 50);
  const expected: Record<string, number[]> = {
    'pnet/conv1/weights': [3, 3, 3, 10],
    'pnet/conv4_2/weights': [1, 1, 32, 4],
    'rnet/conv3/weights': [2, 2, 48, 64],
    'rnet/fc1/weights': [576, 128],
    'onet/conv4/weights': [2, 2, 64, 128],
    'onet/fc1/weights': [1152, 256],
    'onet/fc2_3/weights': [256, 10],
    'onet/prelu5_alpha': [256],
  };
  for (const [name, shape] of Object.entries(expected)) assert.deepEqual([...weight(weights, name).shape], shape, name);
});

test('per-tensor checksums are unchanged by the layout mapping (same numbers, moved)', () => {
  const weights = loadMtcnnWeights();
  const raw = rawTensors();
  for (const [name, { values }] of raw) {
    const loaded = weight(weights, name).values;
    assert.equal(loaded.length, values.length, name);
    const sorted = (a: Float32Array) => Float32Array.from(a).sort();
    assert.deepEqual(sorted(loaded), sorted(values), name);
  }
  // Pinned sums (float64, computed with numpy from the file) catch a different or mis-decoded shard.
  const sum = (name: string) => raw.get(name)!.values.reduce((a, b) => a + b, 0);
  assert.equal(sum('pnet/conv1/weights').toFixed(6), '2.348767');
  assert.equal(sum('onet/fc2_3/weights').toFixed(6), '-0.837648');
});

test('conv kernels: loaded[a][b] is the file kernel at [b][a]', () => {
  const weights = loadMtcnnWeights();
  const raw = rawTensors();
  for (const name of ['pnet/conv2/weights', 'rnet/conv3/weights', 'onet/conv1/weights']) {
    const [kh, kw, cin, cout] = raw.get(name)!.shape as [number, number, number, number];
    const file = raw.get(name)!.values;
    const loaded = weight(weights, name).values;
    for (const [a, b, i, o] of [
      [0, 1, 0, 0],
      [1, 0, cin - 1, cout - 1],
      [kh - 1, 0, 1, 2],
    ] as const) {
      assert.equal(loaded[((a * kh + b) * cin + i) * cout + o], file[((b * kw + a) * cin + i) * cout + o], `${name} [${a},${b},${i},${o}]`);
    }
  }
});

test('first dense layers: loaded row (y*3+x)*C+c is the file row (x*3+y)*C+c', () => {
  const weights = loadMtcnnWeights();
  const raw = rawTensors();
  for (const [name, channels] of [
    ['rnet/fc1/weights', 64],
    ['onet/fc1/weights', 128],
  ] as const) {
    const [, cols] = raw.get(name)!.shape as [number, number];
    const file = raw.get(name)!.values;
    const loaded = weight(weights, name).values;
    for (const [x, y, c] of [
      [0, 1, 0],
      [2, 0, 5],
      [1, 2, channels - 1],
    ] as const) {
      const to = ((y * 3 + x) * channels + c) * cols;
      const from = ((x * 3 + y) * channels + c) * cols;
      assert.deepEqual(loaded.subarray(to, to + cols), file.subarray(from, from + cols), `${name} x${x} y${y} c${c}`);
    }
  }
  // The other dense layers are used as stored.
  assert.deepEqual(weight(weights, 'rnet/fc2_2/weights').values, raw.get('rnet/fc2_2/weights')!.values);
});

test('layout helpers on hand-made arrays', () => {
  // [kh=2, kw=3, 1, 1] with values = 10*a + b.
  const kernel = Float32Array.from([0, 1, 2, 10, 11, 12]);
  const swapped = swapKernelSpatialAxes(kernel, [2, 3, 1, 1]);
  assert.deepEqual(swapped.shape, [3, 2, 1, 1]);
  assert.deepEqual(Array.from(swapped.values), [0, 10, 1, 11, 2, 12]);
  // side 2, 1 channel, 1 column: rows in (W,H) order x0y0, x0y1, x1y0, x1y1 -> (H,W): x0y0, x1y0, x0y1, x1y1.
  assert.deepEqual(Array.from(denseRowsWhcToHwc(Float32Array.from([0, 1, 10, 11]), [4, 1], 2, 1)), [0, 10, 1, 11]);
});

test('a corrupted weight file is refused with a one-line DfdcError', () => {
  const dir = scratchDir('mtcnn-weights');
  cpSync(mtcnnWeightsDir, dir, { recursive: true });
  const shard = readFileSync(join(dir, mtcnnWeightFiles.shard.name));
  shard[1000] = shard[1000]! ^ 1;
  writeFileSync(join(dir, mtcnnWeightFiles.shard.name), shard);
  assert.throws(() => loadMtcnnWeights(dir), (error: unknown) => error instanceof DfdcError && /corrupt.*sha256/.test(error.message));
  rmSync(join(dir, mtcnnWeightFiles.manifest.name));
  assert.throws(() => loadMtcnnWeights(dir), (error: unknown) => error instanceof DfdcError && /cannot read/.test(error.message));
});
