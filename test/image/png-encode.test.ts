import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { crc32, encodePng, filterUp, tableCrc32 } from '../../src/image/png-encode.js';
import { randomBytes } from '../helpers/seeded-random.js';

test('CRC-32 as PNG uses it: the IEND chunk\'s known value, and the table agrees with zlib\'s', () => {
  assert.equal(crc32(Buffer.from('IEND', 'latin1')), 0xae426082);
  assert.equal(tableCrc32(Buffer.from('IEND', 'latin1')), 0xae426082);
  const data = randomBytes(10_000, 7);
  assert.equal(tableCrc32(data), crc32(data));
  assert.equal(tableCrc32(new Uint8Array(0)), 0);
});

/** The Up filter byte by byte, as the PNG specification writes it. */
function plainFilterUp(data: Uint8Array, rowBytes: number, rows: number): Uint8Array {
  const out = new Uint8Array((rowBytes + 1) * rows);
  for (let y = 0; y < rows; y++) {
    out[y * (rowBytes + 1)] = 2;
    for (let i = 0; i < rowBytes; i++) out[y * (rowBytes + 1) + 1 + i] = data[y * rowBytes + i]! - (y > 0 ? data[(y - 1) * rowBytes + i]! : 0);
  }
  return out;
}

test('the Up filter: a type byte per row, the first row as is, each later byte minus the one above (mod 256)', () => {
  const data = Uint8Array.of(10, 200, 3, 5, 0, 255);
  assert.deepEqual([...filterUp(data, 3, 2)], [2, 10, 200, 3, 2, 5 - 10 + 256, 0 - 200 + 256, 255 - 3]);
  // Four bytes at a time must borrow nothing across bytes: every pair of byte values, rows of every width mod 4.
  const pairs = new Uint8Array(2 * 65536);
  for (let v = 0; v < 65536; v++) [pairs[v], pairs[65536 + v]] = [v >> 8, v & 255];
  assert.ok(Buffer.from(filterUp(pairs, 65536, 2)).equals(Buffer.from(plainFilterUp(pairs, 65536, 2))));
  for (const rowBytes of [1, 2, 3, 5, 6, 7, 9, 993]) {
    const image = randomBytes(rowBytes * 5, rowBytes);
    assert.ok(Buffer.from(filterUp(image, rowBytes, 5)).equals(Buffer.from(plainFilterUp(image, rowBytes, 5))), `rows of ${rowBytes} bytes`);
  }
});

test('encoded PNGs decode (sharp, libvips) to the same pixels: RGB and gray, odd sizes, one pixel, flat and noisy', async () => {
  const cases: [number, number, 1 | 3, Uint8Array][] = [
    [1, 1, 3, Uint8Array.of(1, 2, 3)],
    [1, 1, 1, Uint8Array.of(77)],
    [37, 23, 3, randomBytes(37 * 23 * 3, 1)],
    [33, 17, 1, randomBytes(33 * 17, 2)],
    [300, 300, 3, new Uint8Array(300 * 300 * 3).fill(128)],
  ];
  for (const [width, height, channels, data] of cases) {
    const png = await encodePng(data, width, height, channels);
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.format, meta.channels, meta.depth, meta.hasAlpha], ['png', channels, 'uchar', false]);
    const { data: pixels, info } = await sharp(png)
      .toColourspace(channels === 1 ? 'b-w' : 'srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [width, height, channels]);
    assert.ok(pixels.equals(Buffer.from(data)), `${width}x${height}x${channels}`);
    // The zlib stream inflates, and holds one filter byte per row.
    const idat = png.subarray(png.indexOf('IDAT', 0, 'latin1') + 4, png.lastIndexOf('IEND', undefined, 'latin1') - 8);
    assert.equal(zlib.inflateSync(idat).length, (width * channels + 1) * height);
  }
});

test('encodePng refuses data of another size than width x height x channels', async () => {
  await assert.rejects(encodePng(new Uint8Array(5), 2, 1, 3), RangeError);
  await assert.rejects(encodePng(new Uint8Array(0), 0, 0, 1), RangeError);
});
