import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Rect, RgbImage } from '../../src/image/rgb-image.js';
import { areaWindows, integralImage, normalizePixel, resampleArea } from '../../src/mtcnn/resample.js';

const f = Math.fround;

/** A seeded image so failures reproduce. */
function randomImage(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { width, height, data };
}

/** The reference written out naively: float32 sum, rows outer, columns inner, then / kh / kw. */
function naiveArea(image: RgbImage, region: Rect, outWidth: number, outHeight: number): Float32Array {
  const out = new Float32Array(outWidth * outHeight * 3);
  for (let i = 0; i < outHeight; i++) {
    const y0 = Math.floor((i * region.height) / outHeight);
    const y1 = Math.ceil(((i + 1) * region.height) / outHeight);
    for (let j = 0; j < outWidth; j++) {
      const x0 = Math.floor((j * region.width) / outWidth);
      const x1 = Math.ceil(((j + 1) * region.width) / outWidth);
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) sum = f(sum + image.data[((region.y + y) * image.width + region.x + x) * 3 + c]!);
        }
        out[(i * outWidth + j) * 3 + c] = f(f(sum / (y1 - y0)) / (x1 - x0));
      }
    }
  }
  return out;
}

test('area windows: floor(i*in/out) .. ceil((i+1)*in/out), overlapping when not divisible', () => {
  const w = areaWindows(5, 3);
  assert.deepEqual(Array.from(w.start), [0, 1, 3]);
  assert.deepEqual(Array.from(w.end), [2, 4, 5]);
  const up = areaWindows(2, 5); // upsampling: 1-2 px windows
  assert.deepEqual(Array.from(up.start), [0, 0, 0, 1, 1]);
  assert.deepEqual(Array.from(up.end), [1, 1, 2, 2, 2]);
});

test('resampleArea equals the naive float32 reference, with and without the summed-area table', () => {
  const image = randomImage(97, 61, 7);
  const integral = integralImage(image);
  assert.ok(integral instanceof Int32Array);
  const integral64 = integralImage(image, new Float64Array(integral.length));
  assert.ok(integral64 instanceof Float64Array);
  assert.deepEqual(Array.from(integral64), Array.from(integral));
  const cases: [Rect, number, number][] = [
    [{ x: 0, y: 0, width: 97, height: 61 }, 58, 37], // a pyramid level (0.6)
    [{ x: 0, y: 0, width: 97, height: 61 }, 11, 7],
    [{ x: 5, y: 3, width: 40, height: 41 }, 24, 24], // an R-Net crop, non-square stretched
    [{ x: 60, y: 20, width: 17, height: 9 }, 48, 48], // upsampling an O-Net crop
    [{ x: 96, y: 60, width: 1, height: 1 }, 24, 24],
  ];
  for (const [region, w, h] of cases) {
    const expected = naiveArea(image, region, w, h);
    const direct = new Float32Array(w * h * 3);
    resampleArea(image, region, w, h, direct, 0, { normalize: false });
    assert.deepEqual(direct, expected, `direct ${JSON.stringify(region)} -> ${w}x${h}`);
    for (const table of [integral, integral64]) {
      const viaTable = new Float32Array(w * h * 3 + 5);
      resampleArea(image, region, w, h, viaTable, 5, { normalize: false, integral: table });
      assert.deepEqual(viaTable.subarray(5), expected, `table ${JSON.stringify(region)} -> ${w}x${h}`);
    }
  }
});

test('two float32 divisions sum/kh/kw, not sum/(kh*kw)', () => {
  // A 3x3 window whose sum/3/3 and sum/9 round differently in float32.
  let sum = 1;
  while (f(f(sum / 3) / 3) === f(sum / 9)) sum++;
  const pixels = new Uint8Array(27);
  let rest = sum;
  for (let p = 0; p < 9; p++) {
    pixels[p * 3] = Math.min(255, rest);
    rest -= pixels[p * 3]!;
  }
  const image = { width: 3, height: 3, data: pixels };
  const out = new Float32Array(3);
  resampleArea(image, { x: 0, y: 0, width: 3, height: 3 }, 1, 1, out, 0, { normalize: false });
  assert.equal(out[0], f(f(sum / 3) / 3));
  assert.notEqual(out[0], f(sum / 9));
});

test('windows whose total exceeds 2^24 are summed in float32 order (where integer sums would differ)', () => {
  const size = 300; // 90,000 pixels of 255 = 22,950,000 > 2^24
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = 255 - (i % 7);
  const image = { width: size, height: size, data };
  const region = { x: 0, y: 0, width: size, height: size };
  const expected = naiveArea(image, region, 1, 1);
  for (const integral of [undefined, integralImage(image), integralImage(image, new Float64Array((size + 1) * (size + 1) * 3))]) {
    const out = new Float32Array(3);
    resampleArea(image, region, 1, 1, out, 0, { normalize: false, ...(integral ? { integral } : {}) });
    assert.deepEqual(out, expected);
  }
  let exact = 0;
  for (let p = 0; p < size * size; p++) exact += data[p * 3]!;
  assert.notEqual(f(f(exact / size) / size), expected[0], 'the float32 order matters here');
});

test('normalization (v - 127.5) * 0.0078125 in float32, applied after resampling', () => {
  assert.equal(normalizePixel(0), -0.99609375);
  assert.equal(normalizePixel(255), 0.99609375);
  assert.equal(normalizePixel(127.5), 0);
  const v = f(100.1234567);
  assert.equal(normalizePixel(v), f(f(v - 127.5) * 0.0078125));
  const image = randomImage(10, 10, 3);
  const raw = new Float32Array(4 * 4 * 3);
  const normalized = new Float32Array(4 * 4 * 3);
  resampleArea(image, { x: 0, y: 0, width: 10, height: 10 }, 4, 4, raw, 0, { normalize: false });
  resampleArea(image, { x: 0, y: 0, width: 10, height: 10 }, 4, 4, normalized, 0, { normalize: true });
  assert.deepEqual(normalized, raw.map(normalizePixel));
});

test('a region outside the image is refused', () => {
  const image = randomImage(10, 10, 1);
  assert.throws(() => resampleArea(image, { x: 5, y: 0, width: 6, height: 2 }, 2, 2, new Float32Array(12), 0, { normalize: false }), RangeError);
});
