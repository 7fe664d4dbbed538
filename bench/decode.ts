import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { extractCrop } from '../src/image/crop.js';
import { halfSize } from '../src/image/pillow-resize.js';
import { writeRgbPng } from '../src/image/png.js';
import type { RgbImage } from '../src/image/rgb-image.js';
import { decodeVideo } from '../src/video/decode.js';
import { describeFfmpeg, locateFfmpeg } from '../src/video/ffmpeg-binaries.js';
import { mediaDir } from '../test/helpers/shared.js';

/**
 * Decoding, half-size resize and crop PNG writing on a 300-frame 1080p DFDC clip: frames per second
 * of a full decode and of an `every: 10` decode (sparse, and whole with DFDC_SPARSE_DECODE=0), milliseconds per Pillow-exact 1920x1080 -> 960x540
 * resize, and milliseconds and kilobytes per 300x300 crop PNG at each zlib level, with and without
 * adaptive row filtering, and per crop written with writeRgbPng (the chosen settings).
 */
const clip = join(mediaDir, 'dfdc', 'abqwwspghj.mp4');

async function timeDecode(every: number): Promise<{ frames: number; seconds: number; fps: number; framesDecodedPerSecond: number }> {
  const start = performance.now();
  const video = await decodeVideo(clip, { every });
  let frames = 0;
  for await (const frame of video.frames) {
    if (frame.image.data.length === 0) throw new Error('empty frame');
    frames += 1;
  }
  const seconds = (performance.now() - start) / 1000;
  const decoded = video.summary().lastIndex + 1;
  return { frames, seconds: round(seconds), fps: round(frames / seconds), framesDecodedPerSecond: round(decoded / seconds) };
}

async function sampleFrames(count: number): Promise<RgbImage[]> {
  const frames: RgbImage[] = [];
  const video = await decodeVideo(clip, { every: 30 });
  for await (const frame of video.frames) {
    frames.push(frame.image);
    if (frames.length === count) break;
  }
  return frames;
}

function timeResize(frames: RgbImage[]): { msPerFrame: number; size: string } {
  halfSize(frames[0]!); // weights computed and code warmed up
  const repeats = 3;
  const start = performance.now();
  let last: RgbImage | undefined;
  for (let r = 0; r < repeats; r++) for (const frame of frames) last = halfSize(frame);
  return { msPerFrame: round((performance.now() - start) / (repeats * frames.length)), size: `${last!.width}x${last!.height}` };
}

async function timePngSettings(frames: RgbImage[]): Promise<Record<string, { msPerCrop: number; kbPerCrop: number }>> {
  const crops: RgbImage[] = [];
  for (const frame of frames) {
    for (const [x, y] of [[810, 200], [1200, 300], [300, 600]] as const) {
      crops.push(extractCrop(frame, { x, y, width: 300, height: 300 }));
    }
  }
  const encode = (crop: RgbImage, level: number, adaptiveFiltering: boolean) =>
    sharp(crop.data, { raw: { width: crop.width, height: crop.height, channels: 3 } })
      .png({ compressionLevel: level, adaptiveFiltering, palette: false })
      .toBuffer();
  for (const crop of crops) await encode(crop, 6, true); // warm-up
  const out: Record<string, { msPerCrop: number; kbPerCrop: number }> = {};
  const repeats = 3;
  for (const adaptiveFiltering of [false, true]) {
    for (const level of [1, 2, 3, 4, 5, 6]) {
      let bytes = 0;
      const start = performance.now();
      for (let r = 0; r < repeats; r++) for (const crop of crops) bytes += (await encode(crop, level, adaptiveFiltering)).length;
      const n = repeats * crops.length;
      out[`level${level}${adaptiveFiltering ? 'Adaptive' : 'NoFilter'}`] = {
        msPerCrop: round((performance.now() - start) / n),
        kbPerCrop: round(bytes / n / 1024),
      };
    }
  }
  return out;
}

async function timeWriteRgbPng(frames: RgbImage[]): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'dfdc-bench-png-'));
  try {
    const crop = extractCrop(frames[0]!, { x: 810, y: 200, width: 300, height: 300 });
    await writeRgbPng(join(dir, 'warm.png'), crop);
    const n = 50;
    const start = performance.now();
    for (let i = 0; i < n; i++) await writeRgbPng(join(dir, `${i}_0.png`), crop);
    return round((performance.now() - start) / n);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

export default async function bench(): Promise<Record<string, unknown>> {
  if (!existsSync(clip)) return { skipped: `${clip} is absent` };
  const ffmpeg = describeFfmpeg(await locateFfmpeg());
  const full = await timeDecode(1);
  const every10 = await timeDecode(10);
  // The same without the sparse decode (src/video/sparse-decode.ts): every frame decoded.
  const before = process.env.DFDC_SPARSE_DECODE;
  process.env.DFDC_SPARSE_DECODE = '0';
  const every10Whole = await timeDecode(10).finally(() => {
    if (before === undefined) delete process.env.DFDC_SPARSE_DECODE;
    else process.env.DFDC_SPARSE_DECODE = before;
  });
  const frames = await sampleFrames(5);
  return {
    clip: 'dfdc/abqwwspghj.mp4 (1920x1080, 300 frames)',
    ffmpeg,
    decodeAll: full,
    decodeEvery10: every10,
    decodeEvery10WholeDecode: every10Whole,
    halfSizeResize: timeResize(frames),
    pngEncode300x300: await timePngSettings(frames),
    writeRgbPngMsPer300x300: await timeWriteRgbPng(frames),
    sharpConcurrency: sharp.concurrency(),
  };
}
