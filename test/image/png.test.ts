import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { readPngSize, readRgbImage, writeGrayPng, writeRgbPng } from '../../src/image/png.js';
import { scratchDir } from '../helpers/cli.js';
import { randomBytes } from '../helpers/seeded-random.js';
import { decodeImage } from '../helpers/compare-images.js';

const dir = scratchDir('png');

test('an RGB crop round-trips exactly and is written as 8-bit RGB without alpha', async () => {
  const image = { width: 37, height: 23, data: randomBytes(37 * 23 * 3, 1) };
  const path = join(dir, 'crops', 'video', '0_0.png');
  await writeRgbPng(path, image);
  const meta = await sharp(path).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.channels, 3);
  assert.equal(meta.hasAlpha, false);
  assert.equal(meta.depth, 'uchar');
  assert.equal(meta.isPalette ?? false, false);
  const back = await readRgbImage(path);
  assert.equal(back.width, 37);
  assert.equal(back.height, 23);
  assert.ok(Buffer.from(back.data).equals(Buffer.from(image.data)));
  assert.deepEqual(await readPngSize(path), { width: 37, height: 23 });
});

test('a gray mask is written with one channel and reads back as three equal channels', async () => {
  // Every gray level, twice.
  const levels = new Uint8Array(512).map((_, i) => i % 256);
  const gray = { width: 32, height: 16, data: levels };
  const path = join(dir, 'diffs', 'fake', '0_0_diff.png');
  await writeGrayPng(path, gray);
  const meta = await sharp(path).metadata();
  assert.equal(meta.channels, 1);
  assert.equal(meta.depth, 'uchar');
  const raw = await decodeImage(path);
  assert.equal(raw.channels, 1);
  assert.ok(raw.data.equals(Buffer.from(gray.data)));
  const rgb = await readRgbImage(path);
  for (let p = 0; p < gray.data.length; p++) {
    assert.deepEqual([...rgb.data.subarray(p * 3, p * 3 + 3)], [gray.data[p], gray.data[p], gray.data[p]]);
  }
});

test('readRgbImage drops an alpha channel', async () => {
  const rgba = randomBytes(5 * 4 * 4, 3);
  const path = join(dir, 'rgba.png');
  await sharp(rgba, { raw: { width: 5, height: 4, channels: 4 } }).png().toFile(path);
  const rgb = await readRgbImage(path);
  assert.equal(rgb.data.length, 5 * 4 * 3);
  for (let p = 0; p < 20; p++) assert.deepEqual([...rgb.data.subarray(p * 3, p * 3 + 3)], [...rgba.subarray(p * 4, p * 4 + 3)]);
});

test('a rewrite replaces the file whole; a failed write leaves neither the file nor a temporary', async () => {
  const path = join(dir, 'again.png');
  await writeRgbPng(path, { width: 2, height: 1, data: new Uint8Array([1, 2, 3, 4, 5, 6]) });
  await writeRgbPng(path, { width: 1, height: 1, data: new Uint8Array([9, 8, 7]) });
  assert.deepEqual([...(await readRgbImage(path)).data], [9, 8, 7]);

  // The final name is taken by a folder: the rename fails after sharp wrote the temporary file.
  const failDir = join(dir, 'fail');
  await mkdir(join(failDir, 'x.png'), { recursive: true });
  await assert.rejects(writeRgbPng(join(failDir, 'x.png'), { width: 1, height: 1, data: new Uint8Array(3) }));
  assert.deepEqual(await readdir(failDir), ['x.png']);
  // A wrong buffer length is refused before anything is written.
  await assert.rejects(writeRgbPng(join(failDir, 'short.png'), { width: 2, height: 2, data: new Uint8Array(5) }), /expected 2x2x3/);
  assert.deepEqual(await readdir(failDir), ['x.png']);
});

test('readPngSize reads the header only and refuses a file that is not a PNG', async () => {
  const path = join(dir, 'size.png');
  await writeRgbPng(path, { width: 300, height: 217, data: randomBytes(300 * 217 * 3, 4) });
  assert.deepEqual(await readPngSize(path), { width: 300, height: 217 });
  const fake = join(dir, 'fake.png');
  await writeFile(fake, 'not a png at all, but long enough');
  await assert.rejects(readPngSize(fake), /not a PNG/);
});
