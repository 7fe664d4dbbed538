import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { RgbImage } from '../../src/image/rgb-image.js';
import { createMtcnnDetector, type Face } from '../../src/mtcnn/detector.js';
import type { TraceEvent } from '../../src/mtcnn/trace.js';
import { TaskPool } from '../../src/workers/pool.js';
import { decodeImage } from '../helpers/compare-images.js';
import { fixturesDir } from '../helpers/shared.js';

const options = { thresholds: [0.6, 0.7, 0.7] as [number, number, number], minFaceSize: 20 };
const detector = createMtcnnDetector({ backend: 'wasm' });
let astronaut: RgbImage;

before(async () => {
  const { width, height, data } = await decodeImage(join(fixturesDir, 'source', 'astronaut-head.png'), { rgb: true });
  astronaut = { width, height, data: new Uint8Array(data) };
  await detector.load();
});
after(() => detector.dispose());

function mirrored(image: RgbImage): RgbImage {
  const data = new Uint8Array(image.data.length);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) data.set(image.data.subarray((y * image.width + x) * 3, (y * image.width + x) * 3 + 3), (y * image.width + image.width - 1 - x) * 3);
  }
  return { width: image.width, height: image.height, data };
}

function noise(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = 12345;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { width, height, data };
}

function assertSameFaces(actual: Face[], expected: Face[], tolerance: number): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((face, i) => {
    face.box.forEach((v, k) => assert.ok(Math.abs(v - expected[i]!.box[k]!) <= tolerance, `box ${i}[${k}]`));
    assert.ok(Math.abs(face.probability - expected[i]!.probability) <= 1e-5);
    face.landmarks.flat().forEach((v, k) => assert.ok(Math.abs(v - expected[i]!.landmarks.flat()[k]!) <= tolerance, `landmark ${i}[${k}]`));
  });
}

test('finds the astronaut: one face, box around the head, 5 landmarks inside it', async () => {
  const [faces] = await detector.detectFaces([astronaut], options);
  assert.equal(faces!.length, 1);
  const { box, probability, landmarks } = faces![0]!;
  assert.ok(probability > 0.99, `probability ${probability}`);
  assert.ok(box[0] > 20 && box[2] < 172 && box[1] > 10 && box[3] < 180, `box ${box}`);
  for (const [x, y] of landmarks) assert.ok(x > box[0] && x < box[2] && y > box[1] && y < box[3]);
  for (const v of [...box, probability, ...landmarks.flat()]) assert.equal(v, Math.fround(v), 'float32 values');
});

test('no tensor is left behind by a detection (with and without trace, faces or none)', async () => {
  const before = tf.memory().numTensors;
  await detector.detectFaces([astronaut, mirrored(astronaut)], options);
  await detector.detectFaces([astronaut], { ...options, trace: () => {} });
  await detector.detectFaces([noise(64, 48)], options);
  await detector.detectFaces([noise(8, 8)], options);
  assert.equal(tf.memory().numTensors, before);
});

test('a batch gives each frame what it gets alone (up to the batch NMS offset rounding)', async () => {
  const frames = [astronaut, noise(192, 240), mirrored(astronaut)];
  const batch = await detector.detectFaces(frames, options);
  assert.equal(batch.length, 3);
  for (const [i, frame] of frames.entries()) {
    const [alone] = await detector.detectFaces([frame], options);
    assertSameFaces(batch[i]!, alone!, 1e-3);
  }
  assert.equal(batch[1]!.length, 0, 'noise has no face');
  // The mirror image's face is about the mirror of the face (the nets are not symmetric).
  const a = batch[0]![0]!.box;
  const m = batch[2]![0]!.box;
  const back = [192 - m[2], m[1], 192 - m[0], m[3]] as const;
  const inter = (Math.min(a[2], back[2]) - Math.max(a[0], back[0])) * (Math.min(a[3], back[3]) - Math.max(a[1], back[1]));
  const iou = inter / ((a[2] - a[0]) * (a[3] - a[1]) + (back[2] - back[0]) * (back[3] - back[1]) - inter);
  assert.ok(iou > 0.75, `${a} vs mirrored ${m}: IoU ${iou}`);
});

test('the trace reports the steps in the reference order', async () => {
  const steps: string[] = [];
  await detector.detectFaces([astronaut], { ...options, trace: (event: TraceEvent) => steps.push(event.step) });
  const levels = steps.filter((s) => s === 'level').length;
  assert.ok(levels >= 5);
  assert.deepEqual(steps.slice(0, 3), ['level', 'generateBoundingBox', 'batchedNms']);
  assert.deepEqual(steps.slice(levels * 3), ['batchedNms', 'rerec', 'pad', 'rnet', 'batchedNms', 'bbreg', 'rerec', 'pad', 'onet', 'bbreg', 'numpyMinNms']);
});

test('edge cases: no frames, frames too small for the pyramid, frames of different sizes', async () => {
  assert.deepEqual(await detector.detectFaces([], options), []);
  assert.deepEqual(await detector.detectFaces([noise(11, 30), noise(11, 30)], options), [[], []]);
  await assert.rejects(detector.detectFaces([noise(20, 20), noise(21, 20)], options), /same size/);
  await assert.rejects(detector.detectFaces([{ width: 4, height: 4, data: new Uint8Array(10) }], options), /expected 4x4x3/);
  await assert.rejects(detector.detectFaces([astronaut], { ...options, factor: 1 }), RangeError);
  await assert.rejects(detector.detectFaces([astronaut], { ...options, minFaceSize: 0 }), RangeError);
  await assert.rejects(detector.detectFaces([astronaut], { ...options, thresholds: [0.6, Number.NaN, 0.7] }), RangeError);
});

test('in a worker thread the detector gives exactly the main thread result, with a flat tensor count', async () => {
  const pool = new TaskPool('wasm', 1);
  try {
    const frames = [astronaut, mirrored(astronaut)];
    const task = { frames, options };
    const [fromWorker, local] = await Promise.all([pool.run('faces', task), detector.detectFaces(frames, options)]);
    assert.deepEqual(fromWorker.faces, local);
    const again = await pool.run('faces', task);
    assert.ok(again.memory && fromWorker.memory, 'a TF.js engine reports its tensors');
    assert.equal(again.memory.numTensors, fromWorker.memory.numTensors, 'flat tensor count in the worker');
  } finally {
    await pool.close();
  }
});
