import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Rect } from '../../src/image/rgb-image.js';
import { decodeVideo, exactRegion } from '../../src/video/decode.js';
import { probeVideo, type VideoProbe } from '../../src/video/probe.js';
import { scratchDir } from '../helpers/cli.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { inCi, mediaDir, sampleRoot } from '../helpers/shared.js';
import { hasEncoder, runFfmpeg } from './synthetic-video.js';

/**
 * The crops stage asks ffmpeg for only the rectangle that holds a video's crops, cut before the
 * colour conversion (src/video/decode.ts exactRegion). That is only right if every pixel of the
 * cut equals the same pixel of the whole frame converted: checked here, byte for byte, on
 * generated clips of each pixel format it is allowed for, on the sample's videos, and on real
 * DFDC, FaceForensics++ and lip-sync clips when ../shared/media is present, with the ffmpeg dfdc
 * finds. Regions are random (seeded) even rectangles of any size and place.
 */

const probeOf = (over: Partial<VideoProbe>): VideoProbe =>
  ({ width: 642, height: 362, storedWidth: 642, storedHeight: 362, rotation: 0, pixFmt: 'yuv420p', ...over }) as VideoProbe;

test('exactRegion widens to even coordinates and size, and declines where the cut is not known to be exact', () => {
  assert.deepEqual(exactRegion(probeOf({}), { x: 101, y: 51, width: 200, height: 99 }), { x: 100, y: 50, width: 202, height: 100 });
  assert.deepEqual(exactRegion(probeOf({}), { x: 0, y: 0, width: 2, height: 2 }), { x: 0, y: 0, width: 2, height: 2 });
  // A frame of odd width or height: libswscale converts it whole with another converter than an even cut.
  assert.equal(exactRegion(probeOf({ width: 641, storedWidth: 641 }), { x: 10, y: 0, width: 30, height: 10 }), undefined);
  assert.equal(exactRegion(probeOf({ height: 361, storedHeight: 361 }), { x: 10, y: 0, width: 30, height: 10 }), undefined);
  // The whole frame, nothing to save; outside the frame or empty, nothing sensible.
  assert.equal(exactRegion(probeOf({}), { x: 1, y: 1, width: 640, height: 360 }), undefined);
  assert.equal(exactRegion(probeOf({}), { x: 600, y: 0, width: 50, height: 10 }), undefined);
  assert.equal(exactRegion(probeOf({}), { x: 10, y: 10, width: 0, height: 10 }), undefined);
  // Rotated streams and formats whose conversion depends on position (10-bit dithers).
  assert.equal(exactRegion(probeOf({ rotation: 90 }), { x: 10, y: 10, width: 20, height: 20 }), undefined);
  assert.equal(exactRegion(probeOf({ pixFmt: 'yuv420p10le' }), { x: 10, y: 10, width: 20, height: 20 }), undefined);
  assert.equal(exactRegion(probeOf({ pixFmt: 'nv12' }), { x: 10, y: 10, width: 20, height: 20 }), undefined);
});

/**
 * Every 10th frame of `path` (up to `count` of them), decoded with `region` asked for; what each
 * image covers; and the decoding's error, if it broke.
 */
async function frames(path: string, region: Rect | undefined, count = Infinity): Promise<{ delivered: Rect; data: Buffer[]; error?: string }> {
  const video = await decodeVideo(path, { every: 10, ...(region ? { region } : {}) });
  const data: Buffer[] = [];
  for await (const frame of video.frames) {
    data.push(Buffer.from(frame.image.data));
    if (data.length === count) break;
  }
  const error = video.summary().error;
  return { delivered: video.region, data, ...(error === undefined ? {} : { error }) };
}

/** The rows of `rect` cut from a whole frame of `width` pixels. */
function cut(frame: Buffer, width: number, rect: Rect): Buffer {
  const rows: Buffer[] = [];
  for (let r = 0; r < rect.height; r++) {
    const start = ((rect.y + r) * width + rect.x) * 3;
    rows.push(frame.subarray(start, start + rect.width * 3));
  }
  return Buffer.concat(rows);
}

/**
 * For `regions` random regions of `path`: the decoded region equals the same rectangle of the whole
 * frames; returns the mismatches (none expected) and how many regions ffmpeg cut.
 */
async function checkRegions(path: string, regions: number, seed: number): Promise<{ mismatches: string[]; cutByFfmpeg: number }> {
  const probe = await probeVideo(path);
  const whole = await frames(path, undefined, 4);
  const next = seededRandom(seed);
  const mismatches: string[] = [];
  let cutByFfmpeg = 0;
  for (let k = 0; k < regions; k++) {
    const x = Math.floor(next() * (probe.width - 8));
    const y = Math.floor(next() * (probe.height - 8));
    const wanted = { x, y, width: 1 + Math.floor(next() * (probe.width - x)), height: 1 + Math.floor(next() * (probe.height - y)) };
    const got = await frames(path, wanted, 4);
    const { delivered } = got;
    if (delivered.width !== probe.width || delivered.height !== probe.height) cutByFfmpeg += 1;
    assert.ok(
      delivered.x <= wanted.x && delivered.y <= wanted.y && delivered.x + delivered.width >= wanted.x + wanted.width && delivered.y + delivered.height >= wanted.y + wanted.height,
      `${path}: the region delivered ${JSON.stringify(delivered)} does not hold ${JSON.stringify(wanted)}`,
    );
    assert.equal(got.data.length, whole.data.length);
    got.data.forEach((data, i) => {
      if (!data.equals(cut(whole.data[i]!, probe.width, delivered))) mismatches.push(`${path} (${probe.pixFmt}) frame ${i * 10}: region ${JSON.stringify(delivered)}`);
    });
  }
  return { mismatches, cutByFfmpeg };
}

test('a region cut by ffmpeg equals the same rectangle of the whole frame: generated clips of each format, odd sizes too', async (t) => {
  const dir = scratchDir('region');
  const clips: { name: string; args: string[] }[] = [{ name: 'mpeg4-yuv420p.mp4', args: ['-c:v', 'mpeg4', '-bf', '2', '-q:v', '3', '-pix_fmt', 'yuv420p'] }];
  if (await hasEncoder('libx264')) {
    for (const pixFmt of ['yuv420p', 'yuvj420p', 'yuv422p', 'yuv444p', 'yuv420p10le']) clips.push({ name: `h264-${pixFmt}.mp4`, args: ['-c:v', 'libx264', '-pix_fmt', pixFmt] });
  } else {
    if (inCi) assert.fail('the ffmpeg found has no libx264 encoder in CI');
    t.diagnostic('no libx264 encoder: only the MPEG-4 yuv420p clip is checked');
  }
  let cutByFfmpeg = 0;
  for (const [i, clip] of clips.entries()) {
    const path = join(dir, clip.name);
    // 642x362: an even frame whose sides are not multiples of 4, 8 or 16 (converters work in blocks).
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=642x362:r=25:d=1.6', ...clip.args, path]);
    const result = await checkRegions(path, 8, 1000 + i);
    assert.deepEqual(result.mismatches, []);
    cutByFfmpeg += result.cutByFfmpeg;
  }
  // The 10-bit clip is delivered whole (its conversion dithers by position); the others are cut.
  assert.ok(cutByFfmpeg >= (clips.length - 1) * 6, `only ${cutByFfmpeg} regions were cut by ffmpeg`);
});

test("a region cut by ffmpeg equals the same rectangle of the whole frame: the sample's videos and real clips", async (t) => {
  const paths = ['real_a.mp4', 'portrait.mp4', 'fake_a_hue.mp4'].map((name) => join(sampleRoot, 'dfdc_train_part_0', name));
  const real = ['dfdc/abqwwspghj.mp4', 'dfdc/brtujopkby.mp4', 'ffpp/634.mp4', 'ffpp/519.mp4', 'lipsync/hyperlips_real_video1.mp4', 'lipsync/wav2lip_real.mp4'].map((name) =>
    join(mediaDir, name),
  );
  const present = real.filter((path) => existsSync(path));
  if (present.length < real.length) {
    if (inCi) assert.fail(`absent from ../shared/media: ${real.filter((path) => !present.includes(path)).join(', ')}`);
    t.diagnostic(`real clips absent (../shared/media): only the sample's videos are checked`);
  }
  const mismatches: string[] = [];
  for (const [i, path] of [...paths, ...present].entries()) mismatches.push(...(await checkRegions(path, 5, 2000 + i)).mismatches);
  assert.deepEqual(mismatches, []);
});

/*
 * Hostile inputs, from a trial that found them failing on b658224 (fixed since): frames of odd
 * height (libswscale converts an odd-height 4:2:0/4:2:2 frame with its generic scaler and the
 * even-height cut with its special unscaled converter), and a stream whose frame size changes
 * midway (the cut was taken from the new, unscaled frame, or failed when the new frame was smaller
 * than the region). Every frame must be the same rectangle of the whole-frame decode's.
 */

/** Mismatching frame indices between a region decode of `wanted` and the whole-frame decode. */
async function mismatches(path: string, wanted: Rect): Promise<string[]> {
  const probe = await probeVideo(path);
  const whole = await frames(path, undefined);
  const got = await frames(path, wanted);
  const out: string[] = [];
  if (got.data.length !== whole.data.length) out.push(`${got.data.length} frames delivered with the region, ${whole.data.length} without (${got.error ?? 'no error'})`);
  got.data.forEach((data, i) => {
    if (i < whole.data.length && !data.equals(cut(whole.data[i]!, probe.width, got.delivered))) out.push(`frame ${i * 10} differs (region ${JSON.stringify(got.delivered)})`);
  });
  return out;
}

test('region decode of odd-height 4:2:0 / 4:2:2 / yuvj420p frames equals the whole-frame decode', async () => {
  const dir = scratchDir('region-odd');
  const clips: { name: string; args: string[] }[] = [
    { name: 'mpeg4-64x47.mp4', args: ['-vf', 'scale=64:47,format=yuv420p', '-c:v', 'mpeg4', '-q:v', '3'] },
    { name: 'mjpeg-64x47.mp4', args: ['-vf', 'scale=64:47,format=yuvj420p', '-c:v', 'mjpeg'] },
  ];
  if (await hasEncoder('libx264')) clips.push({ name: 'h264-422-64x47.mp4', args: ['-vf', 'scale=64:47,format=yuv422p', '-c:v', 'libx264'] });
  const found: string[] = [];
  for (const clip of clips) {
    const path = join(dir, clip.name);
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=128x96:r=10', '-frames:v', '21', ...clip.args, path]);
    for (const m of await mismatches(path, { x: 9, y: 1, width: 30, height: 30 })) found.push(`${clip.name}: ${m}`);
  }
  assert.deepEqual(found, []);
});

test('region decode of a stream whose frame size changes midway equals the whole-frame decode', async () => {
  const dir = scratchDir('region-resize');
  const found: string[] = [];
  for (const [name, first, second] of [
    ['grow.ts', '64:48', '96:72'],
    ['shrink.ts', '96:72', '40:30'],
  ] as const) {
    const a = join(dir, `a-${name}`);
    const b = join(dir, `b-${name}`);
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=10', '-frames:v', '20', '-vf', `scale=${first},format=yuv420p`, '-c:v', 'mpeg2video', '-q:v', '3', '-f', 'mpegts', a]);
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=10', '-frames:v', '21', '-vf', `scale=${second},format=yuv420p`, '-c:v', 'mpeg2video', '-q:v', '3', '-f', 'mpegts', b]);
    const path = join(dir, name);
    writeFileSync(path, Buffer.concat([readFileSync(a), readFileSync(b)]));
    for (const m of await mismatches(path, { x: 9, y: 1, width: 30, height: 30 })) found.push(`${name}: ${m}`);
  }
  assert.deepEqual(found, []);
});
