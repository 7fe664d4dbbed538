import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RgbImage } from '../../src/image/rgb-image.js';
import { bgrToGray, diffMask, dissimilarity, saturateToUint8, truncateToUint8 } from '../../src/ssim/diff-mask.js';
import { ssimMap } from '../../src/ssim/ssim-map.js';
import { decodeImage } from '../helpers/compare-images.js';
import { parityDir, sharedTest } from '../helpers/shared.js';

test("truncateToUint8 is x86 NumPy's astype(uint8): truncate toward zero, keep the low 8 bits", () => {
  const cases: Array<[number, number]> = [
    [0, 0],
    [0.999, 0],
    [254.9999, 254],
    [255, 255],
    [255.99, 255],
    [256, 0],
    [256.02, 0],
    [280.5, 24],
    [300, 44],
    [306, 50],
    [510, 254],
    [511.9, 255],
    [-5.6621374255882984e-14, 0], // S one ulp above 1
    [-0.5, 0],
    [-0.999, 0],
    [-1, 255],
    [-1.5, 255],
    [-2.2, 254],
  ];
  for (const [v, expected] of cases) assert.equal(truncateToUint8(v), expected, `v = ${v}`);
});

test('saturateToUint8 clamps to 0..255 then truncates', () => {
  const cases: Array<[number, number]> = [
    [-1.5, 0],
    [-1e-14, 0],
    [0.7, 0],
    [254.9, 254],
    [255, 255],
    [256, 255],
    [510, 255],
  ];
  for (const [v, expected] of cases) assert.equal(saturateToUint8(v), expected, `v = ${v}`);
});

test('dissimilarity: (1 - S) * 255, wrapped by default, clamped when saturating', () => {
  assert.equal(dissimilarity(1), 0);
  assert.equal(dissimilarity(1 + 2 ** -52), 0);
  assert.equal(dissimilarity(0.999), 0);
  assert.equal(dissimilarity(0), 255);
  assert.equal(dissimilarity(-0.004), 0); // v = 256.02 wraps to 0: a black hole
  assert.equal(dissimilarity(-0.1), 24); // v = 280.5
  assert.equal(dissimilarity(-0.2), 50); // v = 306
  assert.equal(dissimilarity(-1), 254); // v = 510
  assert.equal(dissimilarity(-0.1, true), 255);
  assert.equal(dissimilarity(1 + 2 ** -52, true), 0);
  assert.equal(dissimilarity(0.5, true), 127);
});

test("bgrToGray is OpenCV's fixed-point BGR2GRAY", () => {
  assert.equal(bgrToGray(0, 0, 0), 0);
  assert.equal(bgrToGray(255, 255, 255), 255);
  assert.equal(bgrToGray(255, 0, 0), 29); // pure blue
  assert.equal(bgrToGray(0, 255, 0), 150); // pure green
  assert.equal(bgrToGray(0, 0, 255), 76); // pure red
  for (let v = 0; v < 256; v++) assert.equal(bgrToGray(v, v, v), v, `gray ${v} stays ${v}`);
});

function rgb(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 3);
  return { width, height, data };
}

test('identical crops give an all-black mask of the crop size', () => {
  const image = rgb(21, 13, (x, y) => [(x * 37) % 256, (y * 11) % 256, (x * y) % 256]);
  const mask = diffMask(image, rgb(21, 13, (x, y) => [(x * 37) % 256, (y * 11) % 256, (x * y) % 256]));
  assert.deepEqual([mask.width, mask.height, mask.data.length], [21, 13, 21 * 13]);
  assert.ok(mask.data.every((v) => v === 0));
});

test('channel order: the red channel of an RGB crop gets the red (not blue) gray weight', () => {
  const original = rgb(16, 12, () => [0, 0, 0]);
  const fake = rgb(16, 12, (x, y) => [(x * 53 + y * 97) % 256, 0, 0]);
  const map = ssimMap(original, fake).data;
  const mask = diffMask(original, fake);
  let distinguishes = false;
  for (let i = 0; i < 16 * 12; i++) {
    assert.equal(map[i * 3 + 1], 1);
    assert.equal(map[i * 3 + 2], 1);
    const red = truncateToUint8((1 - map[i * 3]!) * 255);
    assert.equal(mask.data[i], (9798 * red + 16384) >> 15, `pixel ${i}`);
    if (mask.data[i] !== (3735 * red + 16384) >> 15) distinguishes = true;
  }
  assert.ok(distinguishes, 'the case tells red from blue');
});

test('negative SSIM wraps past 255 by default (the reference defect) and saturates on request', () => {
  const original = rgb(12, 12, (x, y) => ((x + y) % 2 ? [255, 255, 255] : [0, 0, 0]));
  const fake = rgb(12, 12, (x, y) => ((x + y) % 2 ? [0, 0, 0] : [255, 255, 255]));
  const map = ssimMap(original, fake).data;
  const wrapped = diffMask(original, fake);
  const saturated = diffMask(original, fake, { saturate: true });
  for (let i = 0; i < 144; i++) {
    const v = (1 - map[i * 3]!) * 255;
    assert.ok(v >= 256 && v < 512, `pixel ${i}: v = ${v} is in the wrapping range`);
    assert.equal(wrapped.data[i], Math.trunc(v) - 256, `pixel ${i}`);
    assert.equal(saturated.data[i], 255, `pixel ${i}`);
  }
});

test('crops of different sizes or channel counts are refused', () => {
  const a = rgb(10, 10, () => [1, 2, 3]);
  assert.throws(() => diffMask(a, rgb(10, 11, () => [1, 2, 3])), /same size/);
  assert.throws(() => diffMask(a, { width: 10, height: 10, data: new Uint8Array(100) }), /fake crop: expected 10x10x3/);
});

const FRAMES = Array.from({ length: 32 }, (_, i) => i * 10);
const ACTORS = [0, 1];

/** (original id, fake id) of every FAKE in a parity DATA_ROOT. */
function fakePairs(inputDir: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const part of readdirSync(inputDir).sort()) {
    const metadataPath = join(inputDir, part, 'metadata.json');
    if (!existsSync(metadataPath)) continue;
    const metadata = JSON.parse(readFileSync(metadataPath, 'utf8')) as Record<string, { label: string; original?: string | null }>;
    for (const [file, record] of Object.entries(metadata)) {
      if (record.label === 'FAKE' && record.original) pairs.push([record.original.replace(/\.mp4$/, ''), file.replace(/\.mp4$/, '')]);
    }
  }
  return pairs;
}

for (const dataset of ['dataset_a', 'dataset_b']) {
  const root = join(parityDir, dataset);
  sharedTest(`${dataset}: every reference diff is reproduced pixel for pixel, and every same-size crop pair has one`, root, async (t) => {
    const crops = join(root, 'expected', 'crops');
    const diffs = join(root, 'expected', 'diffs');
    const pairs = fakePairs(join(root, 'input'));
    assert.ok(pairs.length > 0, 'the data set has FAKE videos');
    let compared = 0;
    let wrappedPixels = 0;
    const missingDiffs: string[] = [];
    const unexplainedDiffs: string[] = [];
    const skippedPairs: string[] = [];
    for (const [original, fake] of pairs) {
      for (const frame of FRAMES) {
        for (const actor of ACTORS) {
          const name = `${frame}_${actor}`;
          const originalPath = join(crops, original, `${name}.png`);
          const fakePath = join(crops, fake, `${name}.png`);
          const diffPath = join(diffs, fake, `${name}_diff.png`);
          if (!existsSync(originalPath) || !existsSync(fakePath)) {
            if (existsSync(diffPath)) unexplainedDiffs.push(`${fake}/${name}_diff.png (a crop is missing)`);
            continue;
          }
          const a = await decodeImage(originalPath);
          const b = await decodeImage(fakePath);
          assert.equal(a.channels, 3, `${originalPath} is RGB`);
          assert.equal(b.channels, 3, `${fakePath} is RGB`);
          if (a.width !== b.width || a.height !== b.height) {
            skippedPairs.push(`${fake}/${name}: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
            if (existsSync(diffPath)) unexplainedDiffs.push(`${fake}/${name}_diff.png (crop sizes differ)`);
            continue;
          }
          if (!existsSync(diffPath)) {
            missingDiffs.push(`${fake}/${name} (${a.width}x${a.height})`);
            continue;
          }
          const expected = await decodeImage(diffPath);
          assert.equal(expected.channels, 1, `${diffPath} is gray`);
          assert.deepEqual([expected.width, expected.height], [a.width, a.height], `${diffPath} has the crop's size`);
          const mask = diffMask(a, b);
          let mismatches = 0;
          for (let i = 0; i < mask.data.length; i++) if (mask.data[i] !== expected.data[i]) mismatches++;
          assert.equal(mismatches, 0, `${fake}/${name}_diff.png: ${mismatches} of ${mask.data.length} pixels differ`);
          const saturated = diffMask(a, b, { saturate: true });
          for (let i = 0; i < mask.data.length; i++) if (saturated.data[i] !== mask.data[i]) wrappedPixels++;
          compared++;
        }
      }
    }
    t.diagnostic(`${compared} diffs identical; ${wrappedPixels} pixels where the reference's wrap differs from saturation`);
    if (skippedPairs.length > 0) t.diagnostic(`pairs with different crop sizes (no diff expected): ${skippedPairs.join(', ')}`);
    assert.ok(compared > 0, 'at least one diff compared');
    assert.deepEqual(missingDiffs, [], 'same-size crop pairs without a reference diff');
    assert.deepEqual(unexplainedDiffs, [], 'reference diffs without a same-size crop pair');
    const expectedCount = pairs.reduce((n, [, fake]) => n + (existsSync(join(diffs, fake)) ? readdirSync(join(diffs, fake)).length : 0), 0);
    assert.equal(compared, expectedCount, 'every file under expected/diffs was compared');
  });
}
