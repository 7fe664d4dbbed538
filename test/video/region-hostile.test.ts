import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Rect } from '../../src/image/rgb-image.js';
import { decodeVideo } from '../../src/video/decode.js';
import { probeVideo } from '../../src/video/probe.js';
import { scratchDir } from '../helpers/cli.js';
import { hasEncoder, runFfmpeg } from './synthetic-video.js';

/**
 * Hostile inputs for the region decode (decode.ts exactRegion): the frames a region decode
 * delivers must be the same rectangle of what the whole-frame decode delivers, for every frame.
 * Found failing on b658224 (fixed since): frames of odd height (libswscale converts an odd-height 4:2:0/4:2:2
 * frame with its generic scaler and the even-height cut with its special unscaled converter), and
 * a stream whose frame size changes midway (the cut is taken from the new, unscaled frame, or
 * fails when the new frame is smaller than the region).
 */

/** Every 10th frame of `path`, the `region` asked for, and what each image covers. */
async function decodeAll(path: string, region?: Rect): Promise<{ delivered: Rect; frames: Buffer[]; error?: string }> {
  const video = await decodeVideo(path, { every: 10, ...(region ? { region } : {}) });
  const frames: Buffer[] = [];
  for await (const frame of video.frames) frames.push(Buffer.from(frame.image.data));
  const error = video.summary().error;
  return { delivered: video.region, frames, ...(error === undefined ? {} : { error }) };
}

function cut(frame: Buffer, width: number, rect: Rect): Buffer {
  const rows: Buffer[] = [];
  for (let r = 0; r < rect.height; r++) {
    const start = ((rect.y + r) * width + rect.x) * 3;
    rows.push(frame.subarray(start, start + rect.width * 3));
  }
  return Buffer.concat(rows);
}

/** Mismatching frame indices between a region decode of `wanted` and the whole-frame decode. */
async function mismatches(path: string, wanted: Rect): Promise<string[]> {
  const probe = await probeVideo(path);
  const whole = await decodeAll(path);
  const got = await decodeAll(path, wanted);
  const out: string[] = [];
  if (got.frames.length !== whole.frames.length) out.push(`${got.frames.length} frames delivered with the region, ${whole.frames.length} without (${got.error ?? 'no error'})`);
  got.frames.forEach((data, i) => {
    if (i < whole.frames.length && !data.equals(cut(whole.frames[i]!, probe.width, got.delivered))) out.push(`frame ${i * 10} differs (region ${JSON.stringify(got.delivered)})`);
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
