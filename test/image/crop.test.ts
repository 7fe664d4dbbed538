import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cropRectForBox, extractCrop, type CropGeometry } from '../../src/image/crop.js';
import { readPngSize, readRgbImage } from '../../src/image/png.js';
import { decodeVideo } from '../../src/video/decode.js';
import { probeVideo } from '../../src/video/probe.js';
import { parityDir, sharedTest } from '../helpers/shared.js';

function rect(x: number, y: number, width: number, height: number): CropGeometry {
  return { rect: { x, y, width, height } };
}

test('margins of a third of the box, truncated coordinates, clamped at the top and left', () => {
  // x1 = 20, y1 = 41, x2 = 80, y2 = 121; w = 60, h = 80; pw = 20, ph = 26.
  assert.deepEqual(cropRectForBox([10.3, 20.7, 40.2, 60.9], 1920, 1080), rect(0, 15, 100, 132));
  // Well inside: x1 = 1000, y1 = 500, x2 = 1100, y2 = 650; pw = 33, ph = 50.
  assert.deepEqual(cropRectForBox([500, 250, 550, 325], 1920, 1080), rect(967, 450, 166, 250));
});

test('coordinates are truncated toward zero, not floored: trunc(2 * -0.7) = -1', () => {
  // x1 = -1 (floor would give -2), x2 = trunc(61.2) = 61: w = 62, pw = 20, columns 0 .. 81;
  // y1 = 200, y2 = 260, ph = 20: rows 180 .. 280.
  // With floor, w = 63 and pw = 21 would end the crop at 82.
  assert.deepEqual(cropRectForBox([-0.7, 100, 30.6, 130], 1920, 1080), rect(0, 180, 81, 100));
  // trunc(2 * -0.2) is zero: x2 = 0, x1 = -20, w = 20, pw = 6, columns 0 .. 6.
  assert.deepEqual(cropRectForBox([-10, 100, -0.2, 130], 1920, 1080), rect(0, 180, 6, 100));
});

test('ends past the right and bottom edges are clamped', () => {
  // x1 = 1800, x2 = 1910, w = 110, pw = 36 -> columns 1764 .. 1946, clamped to 1920;
  // y1 = 1000, y2 = 1078, h = 78, ph = 26 -> rows 974 .. 1104, clamped to 1080.
  assert.deepEqual(cropRectForBox([900, 500, 955, 539], 1920, 1080), rect(1764, 974, 156, 106));
  // Clamped at all four edges at once: a box larger than the frame.
  assert.deepEqual(cropRectForBox([-10, -10, 200, 150], 320, 240), rect(0, 0, 320, 240));
});

test('a negative end (box left of or above the frame) and an empty crop are skipped with a reason', () => {
  // x1 = -100, x2 = -40, pw = 20: the end -20 would count from the right edge in NumPy.
  assert.deepEqual(cropRectForBox([-50, 10, -20, 40], 1920, 1080), { skip: 'box outside the frame' });
  assert.deepEqual(cropRectForBox([10, -50, 40, -20], 1920, 1080), { skip: 'box outside the frame' });
  // x1 = -24, x2 = -6, pw = 6: the end is exactly 0, an empty slice.
  assert.deepEqual(cropRectForBox([-12, 5, -3, 20], 1920, 1080), { skip: 'empty crop' });
  // Right of the frame: the start is past the edge.
  assert.deepEqual(cropRectForBox([1000, 10, 1050, 40], 1920, 1080), { skip: 'empty crop' });
  // A degenerate box of zero width.
  assert.deepEqual(cropRectForBox([10, 10, 10.2, 20], 1920, 1080), { skip: 'empty crop' });
});

test('a malformed box is a RangeError, not a silent crop', () => {
  assert.throws(() => cropRectForBox([1, 2, 3], 1920, 1080), RangeError);
  assert.throws(() => cropRectForBox([1, 2, 3, Number.NaN], 1920, 1080), RangeError);
});

test('extractCrop copies exactly the rectangle, row by row', () => {
  const width = 7;
  const height = 5;
  const data = new Uint8Array(width * height * 3).map((_, i) => i % 251);
  const crop = extractCrop({ width, height, data }, { x: 2, y: 1, width: 3, height: 2 });
  assert.equal(crop.width, 3);
  assert.equal(crop.height, 2);
  const expected: number[] = [];
  for (let r = 1; r < 3; r++) for (let c = 2; c < 5; c++) for (let ch = 0; ch < 3; ch++) expected.push(data[(r * width + c) * 3 + ch]!);
  assert.deepEqual([...crop.data], expected);
  assert.throws(() => extractCrop({ width, height, data }, { x: 5, y: 0, width: 3, height: 1 }), RangeError);
});

type Boxes = Record<string, number[][] | null>;

interface DatasetVideo {
  video: string;
  original: string;
  path: string;
}

/** Every video of a parity data set with its original, from the metadata files. */
function datasetVideos(dataset: string): DatasetVideo[] {
  const input = join(parityDir, dataset, 'input');
  const videos: DatasetVideo[] = [];
  for (const part of readdirSync(input)) {
    const metadata = JSON.parse(readFileSync(join(input, part, 'metadata.json'), 'utf8')) as Record<string, { original?: string | null }>;
    for (const [file, record] of Object.entries(metadata)) {
      videos.push({ video: file.replace(/\.mp4$/, ''), original: (record.original ?? file).replace(/\.mp4$/, ''), path: join(input, part, file) });
    }
  }
  return videos;
}

function expectedBoxes(dataset: string, original: string): Boxes {
  return JSON.parse(readFileSync(join(parityDir, dataset, 'expected', 'boxes', `${original}.json`), 'utf8')) as Boxes;
}

for (const dataset of ['dataset_a', 'dataset_b']) {
  sharedTest(`every reference crop of ${dataset} has the size our geometry gives its box`, join(parityDir, dataset), async () => {
    let checked = 0;
    for (const { video, original, path } of datasetVideos(dataset)) {
      const boxes = expectedBoxes(dataset, original);
      const { width, height } = await probeVideo(path);
      const cropsDir = join(parityDir, dataset, 'expected', 'crops', video);
      const files = new Set(readdirSync(cropsDir));
      for (const file of files) {
        const [frame, j] = file.replace(/\.png$/, '').split('_').map(Number) as [number, number];
        const box = boxes[String(frame)]?.[j];
        assert.ok(box, `${video}/${file}: its box exists`);
        const geometry = cropRectForBox(box, width, height);
        assert.ok('rect' in geometry, `${video}/${file}: ${JSON.stringify(geometry)}`);
        const size = await readPngSize(join(cropsDir, file));
        assert.deepEqual(size, { width: geometry.rect.width, height: geometry.rect.height }, `${video}/${file}`);
        checked += 1;
      }
      if (video === original) {
        // A REAL video has a crop for every box of every tenth frame.
        for (const [frame, list] of Object.entries(boxes)) {
          if (Number(frame) % 10 !== 0 || list === null) continue;
          list.forEach((_, j) => assert.ok(files.has(`${frame}_${j}.png`), `${video}/${frame}_${j}.png exists`));
        }
      }
    }
    assert.ok(checked > 50, `checked ${checked} crops`);
  });

  sharedTest(`crops cut from our decoded frames equal every reference crop of ${dataset} pixel for pixel`, join(parityDir, dataset), async () => {
    let compared = 0;
    for (const { video, original, path } of datasetVideos(dataset)) {
      const boxes = expectedBoxes(dataset, original);
      const cropsDir = join(parityDir, dataset, 'expected', 'crops', video);
      const files = new Set(readdirSync(cropsDir));
      const decoding = await decodeVideo(path, { every: 10 });
      for await (const { index, image } of decoding.frames) {
        const list = boxes[String(index)];
        if (!list) continue;
        for (let j = 0; j < list.length; j++) {
          const file = `${index}_${j}.png`;
          if (!files.has(file)) continue;
          files.delete(file);
          const geometry = cropRectForBox(list[j]!, image.width, image.height);
          assert.ok('rect' in geometry);
          const ours = extractCrop(image, geometry.rect);
          const reference = await readRgbImage(join(cropsDir, file));
          assert.equal(ours.width, reference.width, `${video}/${file}`);
          assert.equal(ours.height, reference.height, `${video}/${file}`);
          assert.ok(Buffer.from(ours.data).equals(Buffer.from(reference.data)), `${video}/${file}: pixels differ`);
          compared += 1;
        }
      }
      assert.equal(decoding.summary().error, undefined);
      assert.deepEqual([...files], [], `${video}: every reference crop was compared`);
    }
    assert.ok(compared > 50, `compared ${compared} crops`);
  });
}
