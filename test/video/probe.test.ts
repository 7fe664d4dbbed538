import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { UnitError } from '../../src/util/errors.js';
import { firstLine, parseProbe, probeVideo, rotationOf } from '../../src/video/probe.js';
import { scratchDir } from '../helpers/cli.js';
import { makeClip } from './synthetic-video.js';

function ffprobeJson(stream: Record<string, unknown>, format: Record<string, unknown> = {}): string {
  return JSON.stringify({ streams: [{ codec_type: 'video', codec_name: 'h264', pix_fmt: 'yuv420p', ...stream }], format });
}

test('parseProbe reads size, count, pixel format and codec of the first video stream', () => {
  const probe = parseProbe(
    'a.mp4',
    ffprobeJson({ width: 1920, height: 1080, nb_frames: '300', avg_frame_rate: '30000/1001', r_frame_rate: '30/1', duration: '10.010000' }),
  );
  assert.deepEqual(probe, {
    width: 1920,
    height: 1080,
    storedWidth: 1920,
    storedHeight: 1080,
    frameCount: 300,
    rotation: 0,
    pixFmt: 'yuv420p',
    codec: 'h264',
  });
  const sparse = parseProbe('b.mkv', ffprobeJson({ width: 640, height: 480, avg_frame_rate: '0/0', r_frame_rate: '25/1' }, { duration: '3.5' }));
  assert.equal(sparse.frameCount, null);
});

test('rotation follows OpenCV: minus the display matrix angle, quarter turns only; the size is swapped for 90 and 270', () => {
  const matrix = (rotation: number | string) => ({ side_data_list: [{ side_data_type: 'Display Matrix', rotation }] });
  assert.equal(rotationOf(matrix(-90)), 90);
  assert.equal(rotationOf(matrix(90)), 270);
  assert.equal(rotationOf(matrix(180)), 180);
  assert.equal(rotationOf(matrix(-180)), 180);
  assert.equal(rotationOf(matrix('-90.00')), 90);
  assert.equal(rotationOf(matrix(45)), 0);
  assert.equal(rotationOf(matrix(0)), 0);
  assert.equal(rotationOf({ tags: { rotate: '90' } }), 90);
  assert.equal(rotationOf({ tags: { rotate: '270' } }), 270);
  assert.equal(rotationOf({}), 0);
  const portrait = parseProbe('p.mp4', ffprobeJson({ width: 1920, height: 1080, ...matrix(-90) }));
  assert.deepEqual([portrait.width, portrait.height, portrait.storedWidth, portrait.storedHeight, portrait.rotation], [1080, 1920, 1920, 1080, 90]);
});

test('parseProbe names the file when there is no usable video stream', () => {
  assert.throws(
    () => parseProbe('s.m4a', JSON.stringify({ streams: [] })),
    (e: unknown) => e instanceof UnitError && e.message === 's.m4a: no video stream',
  );
  assert.throws(
    () => parseProbe('z.mp4', ffprobeJson({ width: 0, height: 0 })),
    (e: unknown) => e instanceof UnitError && e.message.startsWith('z.mp4: not a video'),
  );
  assert.throws(() => parseProbe('j.mp4', '{'), (e: unknown) => e instanceof UnitError && e.message.startsWith('j.mp4: not a video'));
});

test('firstLine drops blank lines and object addresses from ffmpeg messages', () => {
  assert.equal(firstLine('\n  [h264 @ 0x55d0c0ffee00] error while decoding MB 3 4\nmore'), '[h264] error while decoding MB 3 4');
  assert.equal(firstLine(' \n'), undefined);
});

test('probeVideo on a real file', async () => {
  const clip = join(scratchDir('probe'), 'clip.mp4');
  await makeClip(clip, { size: '80x60', rate: 10, seconds: 1.5 });
  const probe = await probeVideo(clip);
  assert.equal(probe.width, 80);
  assert.equal(probe.height, 60);
  assert.equal(probe.frameCount, 15);
  assert.equal(probe.codec, 'mpeg4');
  assert.equal(probe.pixFmt, 'yuv420p');
  assert.equal(probe.rotation, 0);
});

test('a file is probed once while it stays the same; replaced (a re-download), it is probed again', async () => {
  const dir = scratchDir('probe-cache');
  const clip = join(dir, 'clip.mp4');
  await makeClip(clip, { size: '80x60', rate: 10, seconds: 1 });
  const first = await probeVideo(clip);
  assert.equal(await probeVideo(clip), first, 'the same file was probed again');
  // Another video under the same name, as a re-download or a hand edit leaves it.
  const other = join(dir, 'other.mp4');
  await makeClip(other, { size: '96x64', rate: 10, seconds: 1 });
  renameSync(other, clip);
  const second = await probeVideo(clip);
  assert.notEqual(second, first);
  assert.deepEqual([second.width, second.height], [96, 64]);
  // A failure is not kept: the file fixed, the next ask succeeds.
  writeFileSync(clip, 'not a video');
  await assert.rejects(probeVideo(clip), UnitError);
  await makeClip(clip, { size: '80x60', rate: 10, seconds: 1 });
  assert.equal((await probeVideo(clip)).width, 80);
});

test('a video whose frames are larger than any codec level allows fails with its size and the fix, before anything decodes it', async () => {
  const clip = join(scratchDir('probe-huge'), 'huge.mp4');
  // 9000x4000 (36 million pixels), one frame: MJPEG takes sizes no level of the video codecs allows.
  await makeClip(clip, { size: '9000x4000', rate: 10, seconds: 0.1, fullChroma: true });
  await assert.rejects(
    probeVideo(clip),
    (error: unknown) =>
      error instanceof UnitError && error.message === `${clip}: frames of 9000x4000 are larger than any level of H.264, HEVC, VP9 or AV1 allows (35,651,584 pixels, such as 8192x4352), and each would take hundreds of megabytes or more to decode: re-encode it smaller (ffmpeg -i IN -vf scale=3840:2160:force_original_aspect_ratio=decrease:force_divisible_by=2 OUT.mp4)`,
  );
  const largest = join(scratchDir('probe-huge'), 'largest.mp4');
  await makeClip(largest, { size: '8192x4352', rate: 10, seconds: 0.1, fullChroma: true });
  assert.equal((await probeVideo(largest)).width, 8192);
});
