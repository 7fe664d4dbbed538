import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeNpyInt16, encodeNpyInt16 } from '../../src/landmarks/npy.js';
import { scratchDir } from '../helpers/cli.js';
import { parityDir, sharedTest } from '../helpers/shared.js';

const LANDMARKS = Int16Array.from([92, 100, 125, 100, 124, 129, 90, 149, 114, 147]);

test('a (5, 2) int16 array is written as NumPy 1.24 writes it', () => {
  const bytes = encodeNpyInt16(LANDMARKS, [5, 2]);
  assert.equal(bytes.length, 128 + 20);
  assert.deepEqual(Array.from(bytes.subarray(0, 10)), [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]);
  const header = Buffer.from(bytes.subarray(10, 128)).toString('latin1');
  const dict = "{'descr': '<i2', 'fortran_order': False, 'shape': (5, 2), }";
  assert.equal(header, `${dict}${' '.repeat(118 - dict.length - 1)}\n`);
  assert.deepEqual(Array.from(bytes.subarray(128, 132)), [92, 0, 100, 0]);
  assert.deepEqual(Array.from(encodeNpyInt16(Int16Array.from([-2, 300]), [1, 2]).subarray(128)), [0xfe, 0xff, 0x2c, 0x01]);
});

test('headers of other shapes end on a multiple of 64 bytes and keep NumPy growth room', () => {
  for (const shape of [[0, 2], [1, 1], [12345, 2], [10 ** 15, 0], [0, 10 ** 15]] as Array<[number, number]>) {
    const values = new Int16Array(shape[0] * shape[1]);
    const bytes = encodeNpyInt16(values, shape);
    const headerLength = bytes[8]! + 256 * bytes[9]!;
    assert.equal((10 + headerLength) % 64, 0, `shape (${shape})`);
    assert.equal(bytes[10 + headerLength - 1], 0x0a, 'the header ends with a newline');
    const text = Buffer.from(bytes.subarray(10, 10 + headerLength)).toString('latin1');
    const dict = `{'descr': '<i2', 'fortran_order': False, 'shape': (${shape[0]}, ${shape[1]}), }`;
    assert.ok(text.startsWith(dict + ' '.repeat(21 - String(shape[0]).length)), `shape (${shape}): ${JSON.stringify(text)}`);
    assert.deepEqual(decodeNpyInt16(bytes).shape, shape);
  }
});

test('round trip and refusals', () => {
  const decoded = decodeNpyInt16(encodeNpyInt16(LANDMARKS, [5, 2]));
  assert.deepEqual(decoded.shape, [5, 2]);
  assert.deepEqual(decoded.values, LANDMARKS);
  assert.throws(() => encodeNpyInt16(LANDMARKS, [5, 3]), /Expected 15 values/);
  assert.throws(() => decodeNpyInt16(new Uint8Array(20)), /magic/);
  const bytes = encodeNpyInt16(LANDMARKS, [5, 2]);
  assert.throws(() => decodeNpyInt16(bytes.subarray(0, bytes.length - 1)), /Expected 20 data bytes/);
  const float = bytes.slice();
  float.set(Buffer.from("'<f4'", 'latin1'), 20);
  assert.throws(() => decodeNpyInt16(float), /dtype '<i2'/);
});

for (const dataset of ['dataset_a', 'dataset_b']) {
  const landmarksDir = join(parityDir, dataset, 'expected', 'landmarks');
  sharedTest(`${dataset}: every reference .npy re-encodes byte for byte`, landmarksDir, (t) => {
    let files = 0;
    for (const video of readdirSync(landmarksDir)) {
      for (const name of readdirSync(join(landmarksDir, video)).filter((n) => n.endsWith('.npy'))) {
        const bytes = new Uint8Array(readFileSync(join(landmarksDir, video, name)));
        const { shape, values } = decodeNpyInt16(bytes);
        assert.deepEqual(shape, [5, 2], `${video}/${name}`);
        assert.deepEqual(encodeNpyInt16(values, shape), bytes, `${video}/${name}`);
        files++;
      }
    }
    t.diagnostic(`${files} files`);
    assert.ok(files > 0);
  });
}

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

test('NumPy reads what we write (optional: needs python3 with numpy)', { skip: hasNumpy ? false : 'python3 with numpy is absent' }, () => {
  const path = join(scratchDir('npy'), 'landmarks.npy');
  const values = Int16Array.from([-32768, 32767, 0, -1, 1, 300, -300, 12, 7, 5]);
  writeFileSync(path, encodeNpyInt16(values, [5, 2]));
  const script = 'import json, sys, numpy as np\na = np.load(sys.argv[1])\nprint(json.dumps([str(a.dtype), list(a.shape), a.tolist(), bool(a.flags.c_contiguous)]))';
  const [dtype, shape, rows, cContiguous] = JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' })) as [string, number[], number[][], boolean];
  assert.equal(dtype, 'int16');
  assert.deepEqual(shape, [5, 2]);
  assert.deepEqual(rows.flat(), Array.from(values));
  assert.equal(cContiguous, true);
});
