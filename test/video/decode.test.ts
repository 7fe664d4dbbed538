import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { rotateClockwise } from '../../src/image/rotate.js';
import { UnitError } from '../../src/util/errors.js';
import { colourConversionFilter, decodeVideo, ffmpegDecodeArgs, type DecodedFrame } from '../../src/video/decode.js';
import { probeVideo } from '../../src/video/probe.js';
import { scratchDir } from '../helpers/cli.js';
import { parityDir, sharedTest } from '../helpers/shared.js';
import { ffmpegRgbFrames, hasEncoder, makeClip, processesMentioning, runFfmpeg } from './synthetic-video.js';

const dir = scratchDir('decode');
const clip = join(dir, 'clip.mp4');
const clipFrames = 50;

before(async () => {
  await makeClip(clip, { size: '64x48', rate: 25, seconds: 2 });
});

async function collect(path: string, options: Parameters<typeof decodeVideo>[1] = {}) {
  const video = await decodeVideo(path, options);
  const frames: DecodedFrame[] = [];
  for await (const frame of video.frames) frames.push(frame);
  return { video, frames, summary: video.summary() };
}

function frameBytes(all: Buffer, index: number, size: number): Buffer {
  return all.subarray(index * size, (index + 1) * size);
}

test('every frame, in order, with its true index, byte-identical to ffmpeg rgb24', async () => {
  const { video, frames, summary } = await collect(clip);
  assert.equal(video.width, 64);
  assert.equal(video.height, 48);
  assert.deepEqual(
    frames.map((f) => f.index),
    Array.from({ length: clipFrames }, (_, i) => i),
  );
  const reference = await ffmpegRgbFrames(clip, ['-vsync', 'passthrough']);
  const size = 64 * 48 * 3;
  assert.equal(reference.length, clipFrames * size);
  for (const f of frames) {
    assert.equal(f.image.width, 64);
    assert.equal(f.image.height, 48);
    assert.ok(Buffer.from(f.image.data).equals(frameBytes(reference, f.index, size)), `frame ${f.index}`);
  }
  assert.deepEqual(summary, { framesDelivered: clipFrames, lastIndex: clipFrames - 1, width: 64, height: 48, complete: true, warnings: [] });
});

test('every: N delivers frames 0, N, 2N, ... byte-identical to the same frames of a full decode', async () => {
  // ffmpeg's own full decode, every frame as it comes.
  const full = await ffmpegRgbFrames(clip, ['-vsync', 'passthrough']);
  const size = 64 * 48 * 3;
  for (const every of [2, 7, 10, 49, 50, 80]) {
    const { frames, summary } = await collect(clip, { every });
    const expected = Array.from({ length: clipFrames }, (_, i) => i).filter((i) => i % every === 0);
    assert.deepEqual(
      frames.map((f) => f.index),
      expected,
      `every ${every}`,
    );
    frames.forEach((f) => assert.ok(Buffer.from(f.image.data).equals(frameBytes(full, f.index, size)), `every ${every}, frame ${f.index}`));
    assert.equal(summary.error, undefined);
    assert.equal(summary.lastIndex, expected.at(-1));
  }
  await assert.rejects(decodeVideo(clip, { every: 0 }), RangeError);
  await assert.rejects(decodeVideo(clip, { every: 1.5 }), RangeError);
});

test('lastFrame: decoding stops after it; the frames up to it are the same, and stopping there is no warning', async () => {
  const full = await ffmpegRgbFrames(clip, ['-vsync', 'passthrough']);
  const size = 64 * 48 * 3;
  for (const [every, lastFrame, indices] of [
    [10, 25, [0, 10, 20]],
    [10, 20, [0, 10, 20]],
    [1, 3, [0, 1, 2, 3]],
    [10, 0, [0]],
    [10, 500, [0, 10, 20, 30, 40]],
  ] as const) {
    const { frames, summary } = await collect(clip, { every, lastFrame });
    assert.deepEqual(frames.map((f) => f.index), indices, `every ${every}, lastFrame ${lastFrame}`);
    frames.forEach((f) => assert.ok(Buffer.from(f.image.data).equals(frameBytes(full, f.index, size)), `frame ${f.index}`));
    assert.equal(summary.error, undefined);
    assert.deepEqual(summary.warnings, []);
    assert.equal(summary.complete, true);
  }
  assert.deepEqual(ffmpegDecodeArgs(clip, { every: 10, passthroughArgs: [], pixFmt: 'yuv420p', frames: 3, size: { width: 64, height: 48 } }).slice(-7, -5), ['-frames:v', '3']);
});

test('a variable-frame-rate clip is neither padded nor thinned', async () => {
  const vfr = join(dir, 'vfr.mp4');
  // 30 frames with irregular timestamps (a jump of half a second, then growing gaps).
  await runFfmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=s=32x24:r=30:d=1',
    '-vf',
    "setpts='N/30/TB+if(gt(N,10),0.5/TB,0)+if(gt(N,20),0.02*N/TB,0)'",
    '-vsync',
    'vfr',
    '-c:v',
    'mpeg4',
    vfr,
  ]);
  const cfr = await ffmpegRgbFrames(vfr);
  assert.ok(cfr.length > 30 * 32 * 24 * 3, 'without passthrough ffmpeg would duplicate frames');
  const { frames, summary } = await collect(vfr);
  assert.equal(frames.length, 30);
  assert.equal(summary.error, undefined);
});

test('the stream colour tags are ignored, as OpenCV ignores them (BT.601, range from the pixel format)', async (t) => {
  if (!(await hasEncoder('libx264'))) return t.skip('this ffmpeg has no libx264 to tag a stream with');
  const tagged = join(dir, 'bt709.mp4');
  const untagged = join(dir, 'untagged.mp4');
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=64x48:r=25:d=0.4', '-c:v', 'libx264', '-pix_fmt', 'yuv420p',
    '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', '-color_range', 'tv', tagged]);
  // The same bitstream with its colour description removed.
  await runFfmpeg(['-i', tagged, '-c', 'copy', '-bsf:v',
    'h264_metadata=colour_primaries=2:transfer_characteristics=2:matrix_coefficients=2:video_full_range_flag=0', untagged]);
  const a = await collect(tagged);
  const b = await collect(untagged);
  assert.equal(a.frames.length, 10);
  a.frames.forEach((f, i) => assert.ok(Buffer.from(f.image.data).equals(Buffer.from(b.frames[i]!.image.data)), `frame ${i}`));
  // ffmpeg's own default honours the tags, so the check above can fail.
  const honoured = await ffmpegRgbFrames(tagged);
  assert.ok(!honoured.subarray(0, 64 * 48 * 3).equals(Buffer.from(a.frames[0]!.image.data)));
  assert.equal(colourConversionFilter('yuvj420p'), 'scale=flags=bicubic:in_color_matrix=bt601:in_range=pc');
  assert.equal(colourConversionFilter('gbrp'), 'scale=flags=bicubic');
});

test('a rotated clip is rotated after the RGB conversion, the way its display matrix says', async (t) => {
  const upright = join(dir, 'upright.mp4');
  await makeClip(upright, { size: '64x48', seconds: 0.4, fullChroma: true });
  assert.equal((await probeVideo(upright)).pixFmt, 'yuvj444p');
  const base = await collect(upright);
  let tested = 0;
  for (const rotate of [90, 180, 270]) {
    const rotated = join(dir, `rotated${rotate}.mp4`);
    await runFfmpeg(['-i', upright, '-c', 'copy', '-metadata:s:v:0', `rotate=${rotate}`, rotated]);
    const { video, frames } = await collect(rotated);
    if (video.probe.rotation === 0) continue; // this ffmpeg's muxer no longer writes the tag
    tested += 1;
    const quarter = video.probe.rotation !== 180;
    assert.equal(video.width, quarter ? 48 : 64);
    assert.equal(video.height, quarter ? 64 : 48);
    // ffmpeg's own autorotation agrees on the direction (4:4:4, so rotating before or after the
    // colour conversion gives the same bytes).
    const autorotated = await ffmpegRgbFrames(rotated);
    frames.forEach((f, i) => {
      assert.deepEqual([f.image.width, f.image.height], [video.width, video.height]);
      assert.ok(Buffer.from(f.image.data).equals(Buffer.from(rotateClockwise(base.frames[i]!.image, video.probe.rotation).data)));
      assert.ok(Buffer.from(f.image.data).equals(frameBytes(autorotated, i, 64 * 48 * 3)), `rotation ${video.probe.rotation}, frame ${i}`);
    });
  }
  if (tested === 0) t.skip('this ffmpeg cannot write a rotation tag');
});

test('stopping early kills ffmpeg; an abort makes the loop throw and kills it too', async () => {
  const video = await decodeVideo(clip);
  let seen = 0;
  for await (const frame of video.frames) {
    seen += 1;
    assert.ok(processesMentioning(clip).length > 0, 'ffmpeg runs while frames come');
    if (frame.index === 2) break;
  }
  assert.equal(seen, 3);
  assert.deepEqual(processesMentioning(clip), []);
  assert.equal(video.summary().complete, false);
  assert.equal(video.summary().framesDelivered, 3);
  assert.throws(() => video.frames[Symbol.asyncIterator](), /only once/);

  const controller = new AbortController();
  const aborted = await decodeVideo(clip, { signal: controller.signal });
  const after: number[] = [];
  await assert.rejects(async () => {
    for await (const frame of aborted.frames) {
      if (controller.signal.aborted) after.push(frame.index);
      if (frame.index === 1) controller.abort();
    }
  }, /abort/i);
  assert.deepEqual(after, [], 'no frame after the abort');
  assert.deepEqual(processesMentioning(clip), []);
  assert.equal(aborted.summary().complete, false);
});

test('a video cut short delivers its frames, then reports the break', async () => {
  const long = join(dir, 'long.mp4');
  await makeClip(long, { size: '160x120', seconds: 4 });
  const bytes = await readFile(long);
  const truncated = join(dir, 'truncated.mp4');
  await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.5)));
  // ffmpeg's own decode of the whole file.
  const full = await ffmpegRgbFrames(long, ['-vsync', 'passthrough']);
  const size = 160 * 120 * 3;
  const { frames, summary } = await collect(truncated);
  assert.ok(frames.length > 0 && frames.length < full.length / size, `${frames.length} frames`);
  assert.match(summary.error ?? '', /decoding stopped after frame \d+/);
  assert.equal(summary.complete, true);
  // Frames before the damage are intact (the last one or two may be concealed).
  for (let i = 0; i < Math.max(frames.length - 3, 1); i++) {
    assert.ok(Buffer.from(frames[i]!.image.data).equals(frameBytes(full, i, size)), `frame ${i}`);
  }
});

test('every: 10 on a clip that breaks midway: the true indices of the frames before the break, then the break', async () => {
  // 4 s at 25 fps: 100 frames, cut at half the file.
  const long = join(dir, 'long10.mp4');
  await makeClip(long, { size: '160x120', seconds: 4 });
  const truncated = join(dir, 'truncated10.mp4');
  await writeFile(truncated, (await readFile(long)).subarray(0, Math.floor((await readFile(long)).length * 0.5)));
  const size = 160 * 120 * 3;
  const full = await ffmpegRgbFrames(long, ['-vsync', 'passthrough']);
  const whole = await collect(truncated);
  const { frames, summary } = await collect(truncated, { every: 10 });
  const decoded = whole.frames.length;
  assert.ok(decoded > 10 && decoded < 100, `${decoded} frames before the break`);
  assert.deepEqual(
    frames.map((f) => f.index),
    whole.frames.map((f) => f.index).filter((i) => i % 10 === 0),
  );
  assert.match(summary.error ?? '', /decoding stopped after frame \d+/);
  assert.equal(summary.lastIndex, frames.at(-1)!.index);
  // The frames well before the damage are the full decode's.
  for (const f of frames.filter((f) => f.index < decoded - 3)) {
    assert.ok(Buffer.from(f.image.data).equals(frameBytes(full, f.index, size)), `frame ${f.index}`);
  }
});

test('every: 10 on a clip of 53 frames: frames 0..50, the last one short of the end', async () => {
  const odd = join(dir, 'odd.mp4');
  await makeClip(odd, { size: '32x24', rate: 25, seconds: 53 / 25 });
  const full = await ffmpegRgbFrames(odd, ['-vsync', 'passthrough']);
  const size = 32 * 24 * 3;
  assert.equal(full.length, 53 * size);
  const { frames, summary } = await collect(odd, { every: 10, recycleFrames: true });
  assert.deepEqual(
    frames.map((f) => f.index),
    [0, 10, 20, 30, 40, 50],
  );
  assert.deepEqual(summary, { framesDelivered: 6, lastIndex: 50, width: 32, height: 24, complete: true, warnings: [] });
});

test('recycleFrames: each frame is right when delivered, and its buffer comes back for a later frame', async () => {
  const full = await ffmpegRgbFrames(clip, ['-vsync', 'passthrough']);
  const size = 64 * 48 * 3;
  const video = await decodeVideo(clip, { every: 5, recycleFrames: true });
  const buffers = new Set<ArrayBufferLike>();
  let count = 0;
  for await (const frame of video.frames) {
    // Checked before the next frame is asked for: that is as long as a recycled frame lives.
    assert.ok(Buffer.from(frame.image.data).equals(frameBytes(full, frame.index, size)), `frame ${frame.index}`);
    buffers.add(frame.image.data.buffer);
    count += 1;
  }
  assert.equal(count, clipFrames / 5);
  assert.equal(buffers.size, 1, 'one buffer for every frame');
  // Without the option every frame owns its buffer (detect hands them to worker threads).
  const owned = new Set<ArrayBufferLike>();
  for await (const frame of (await decodeVideo(clip, { every: 5 })).frames) owned.add(frame.image.data.buffer);
  assert.equal(owned.size, clipFrames / 5);
});

test('a probe given by the caller is used instead of probing again, and its failure is the decoding\'s', async () => {
  const probe = await probeVideo(clip);
  const video = await decodeVideo(clip, { every: 10, probe: Promise.resolve(probe) });
  assert.equal(video.probe, probe);
  let count = 0;
  for await (const frame of video.frames) count += frame.image.width === 64 ? 1 : 0;
  assert.equal(count, 5);
  const failure = new UnitError(`${clip}: not a video (made up)`, { file: clip });
  await assert.rejects(decodeVideo(clip, { probe: Promise.reject(failure) }), (e: unknown) => e === failure);
});

test('decoderThreads: asked once when ffmpeg starts, given to the decoder, and the frames are the same', async () => {
  const args = ffmpegDecodeArgs(clip, { every: 10, passthroughArgs: ['-fps_mode', 'passthrough'], pixFmt: 'yuv420p', decoderThreads: 1, size: { width: 64, height: 48 } });
  assert.deepEqual(args.slice(args.indexOf('-threads'), args.indexOf('-threads') + 3), ['-threads', '1', '-i']);
  assert.ok(!ffmpegDecodeArgs(clip, { every: 10, passthroughArgs: [], pixFmt: 'yuv420p', size: { width: 64, height: 48 } }).includes('-threads'));
  const defaults = await collect(clip, { every: 3 });
  for (const threads of [1, 2]) {
    let asked = 0;
    const { frames } = await collect(clip, {
      every: 3,
      decoderThreads: () => {
        asked += 1;
        return threads;
      },
    });
    assert.equal(asked, 1);
    assert.deepEqual(
      frames.map((f) => f.index),
      defaults.frames.map((f) => f.index),
    );
    frames.forEach((f, i) => assert.ok(Buffer.from(f.image.data).equals(Buffer.from(defaults.frames[i]!.image.data)), `${threads} threads, frame ${f.index}`));
  }
});

test('files that are not videos are UnitErrors naming the file', async () => {
  const empty = join(dir, 'empty.mp4');
  await writeFile(empty, '');
  await assert.rejects(decodeVideo(empty), (e: unknown) => e instanceof UnitError && e.message === `${empty}: empty file (0 bytes, a download cut short?): download it again, then rerun`);
  const text = join(dir, 'text.mp4');
  await writeFile(text, 'this is not a video file at all\n'.repeat(10));
  await assert.rejects(decodeVideo(text), (e: unknown) => e instanceof UnitError && e.message.startsWith(`${text}: not a video`));
  const missing = join(dir, 'missing.mp4');
  await assert.rejects(decodeVideo(missing), (e: unknown) => e instanceof UnitError && e.message.startsWith(`${missing}: cannot read it`));
  const audio = join(dir, 'audio.m4a');
  await runFfmpeg(['-f', 'lavfi', '-i', 'sine=d=0.2', '-c:a', 'aac', audio]);
  await assert.rejects(decodeVideo(audio), (e: unknown) => e instanceof UnitError && e.message === `${audio}: no video stream`);
});

test('a video none of whose frames decodes makes the iteration throw an UnitError', async (t) => {
  // H.264 keeps its parameter sets in the header, so the probe still succeeds.
  if (!(await hasEncoder('libx264'))) return t.skip('this ffmpeg has no libx264');
  const h264 = join(dir, 'h264.mp4');
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=64x48:r=25:d=0.4', '-c:v', 'libx264', '-movflags', '+faststart', h264]);
  const garbled = await readFile(h264);
  garbled.fill(0, garbled.indexOf('mdat') + 4);
  const noFrames = join(dir, 'no-frames.mp4');
  await writeFile(noFrames, garbled);
  const video = await decodeVideo(noFrames);
  assert.equal(video.probe.frameCount, 10);
  await assert.rejects(
    async () => {
      for await (const frame of video.frames) assert.fail(`frame ${frame.index} decoded`);
    },
    (e: unknown) => e instanceof UnitError && e.message.startsWith(`${noFrames}: no frame could be decoded (`),
  );
  assert.equal(video.summary().framesDelivered, 0);
});

const realvideoa = join(parityDir, 'dataset_a', 'input', 'dfdc_train_part_0', 'realvideoa.mp4');

sharedTest('realvideoa (H.264): 105 frames; every 10 gives the full decode’s frames 0, 10, ..., 100 exactly', realvideoa, async () => {
  const video = await decodeVideo(realvideoa);
  const wanted = new Map<number, Uint8Array>();
  for await (const frame of video.frames) if (frame.index % 10 === 0) wanted.set(frame.index, frame.image.data);
  assert.equal(video.summary().framesDelivered, 105);
  assert.equal(video.probe.frameCount, 105);
  const sampled = await collect(realvideoa, { every: 10 });
  assert.deepEqual(
    sampled.frames.map((f) => f.index),
    [...wanted.keys()],
  );
  for (const f of sampled.frames) assert.ok(Buffer.from(f.image.data).equals(Buffer.from(wanted.get(f.index)!)), `frame ${f.index}`);
});
