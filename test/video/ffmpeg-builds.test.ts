import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { colourConversionFilter } from '../../src/video/decode.js';
import { scratchDir } from '../helpers/cli.js';
import { inCi, mediaDir } from '../helpers/shared.js';
import { hasEncoder, runFfmpeg, systemFfmpeg } from './synthetic-video.js';

/**
 * On Linux x64 dfdc decodes with the npm package's static ffmpeg 4.1 rather than the system's
 * (src/video/ffmpeg-binaries.ts). That is only right while the two give the same RGB: here the
 * npm build and the one on PATH (Debian 12's 5.1 in CI, the libraries the reference decoded with)
 * decode the same clips through dfdc's colour conversion, and every frame's rgb24 must be the same.
 * Generated clips cover the formats a data set may bring (8- and 10-bit H.264 in 4:2:0, 4:2:2 and
 * 4:4:4, full range, a BT.709 tag, odd sizes, HEVC, VP9, AV1, MPEG-4, MJPEG); the media clips, where
 * ../shared is present, real ones. In CI both builds must be there.
 */

async function npmFfmpeg(): Promise<string | undefined> {
  try {
    const module = (await import('@ffmpeg-installer/ffmpeg')) as { default?: { path?: string }; path?: string };
    const path = module.default?.path ?? module.path;
    return path && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Both builds, or undefined after skipping (outside CI, or not Linux x64) or failing (in CI). */
async function bothBuilds(t: TestContext): Promise<{ system: string; npm: string } | undefined> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    t.skip('the npm build is preferred only on Linux x64');
    return undefined;
  }
  const [system, npm] = await Promise.all([systemFfmpeg(), npmFfmpeg()]);
  if (system && npm) return { system, npm };
  const missing = [system ? undefined : 'ffmpeg on PATH', npm ? undefined : 'the @ffmpeg-installer/linux-x64 binary'].filter(Boolean).join(' and ');
  if (inCi) assert.fail(`${missing} absent in CI: both are needed to compare them`);
  t.skip(`${missing} absent: the two builds cannot be compared here`);
  return undefined;
}

/** Each frame's MD5 of its rgb24 (ffmpeg's framemd5, timestamps left out), decoded by `ffmpeg` as dfdc converts `pixFmt`. */
function frameHashes(ffmpeg: string, path: string, pixFmt: string, frames?: number): Promise<string[]> {
  const args = ['-nostdin', '-v', 'error', '-i', path, '-map', '0:v:0', '-an', '-vf', colourConversionFilter(pixFmt), '-vsync', 'passthrough'];
  if (frames !== undefined) args.push('-frames:v', String(frames));
  args.push('-pix_fmt', 'rgb24', '-f', 'framemd5', '-');
  return new Promise((resolve, reject) => {
    execFile(ffmpeg, args, { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${ffmpeg} on ${path}: ${stderr}`));
      else resolve(stdout.split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => line.split(',').at(-1)!.trim()));
    });
  });
}

async function compareBuilds(builds: { system: string; npm: string }, path: string, pixFmt: string, frames?: number): Promise<string | undefined> {
  const [system, npm] = await Promise.all([frameHashes(builds.system, path, pixFmt, frames), frameHashes(builds.npm, path, pixFmt, frames)]);
  if (system.length === 0) return `${path}: no frame decoded`;
  if (system.length !== npm.length) return `${path}: ${system.length} frames from the system's ffmpeg, ${npm.length} from npm's`;
  const first = system.findIndex((hash, i) => hash !== npm[i]);
  return first === -1 ? undefined : `${path}: frame ${first} differs (of ${system.length})`;
}

const generated: { name: string; pixFmt: string; encoder: string; args: string[]; size?: string }[] = [
  { name: 'h264-420.mp4', pixFmt: 'yuv420p', encoder: 'libx264', args: ['-c:v', 'libx264', '-bf', '3', '-pix_fmt', 'yuv420p'] },
  { name: 'h264-422.mp4', pixFmt: 'yuv422p', encoder: 'libx264', args: ['-c:v', 'libx264', '-pix_fmt', 'yuv422p'] },
  { name: 'h264-444-odd.mp4', pixFmt: 'yuv444p', encoder: 'libx264', args: ['-c:v', 'libx264', '-pix_fmt', 'yuv444p'], size: '321x241' },
  { name: 'h264-full-range.mp4', pixFmt: 'yuvj420p', encoder: 'libx264', args: ['-c:v', 'libx264', '-pix_fmt', 'yuvj420p'] },
  { name: 'h264-bt709.mp4', pixFmt: 'yuv420p', encoder: 'libx264', args: ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709'] },
  { name: 'h264-420-10bit.mp4', pixFmt: 'yuv420p10le', encoder: 'libx264', args: ['-c:v', 'libx264', '-pix_fmt', 'yuv420p10le'] },
  { name: 'h264-422-10bit.mp4', pixFmt: 'yuv422p10le', encoder: 'libx264', args: ['-c:v', 'libx264', '-pix_fmt', 'yuv422p10le'] },
  { name: 'h264-444-10bit.mp4', pixFmt: 'yuv444p10le', encoder: 'libx264', args: ['-c:v', 'libx264', '-pix_fmt', 'yuv444p10le'] },
  { name: 'hevc.mp4', pixFmt: 'yuv420p', encoder: 'libx265', args: ['-c:v', 'libx265', '-pix_fmt', 'yuv420p', '-x265-params', 'log-level=error'] },
  { name: 'hevc-10bit.mp4', pixFmt: 'yuv420p10le', encoder: 'libx265', args: ['-c:v', 'libx265', '-pix_fmt', 'yuv420p10le', '-x265-params', 'log-level=error'] },
  { name: 'vp9.webm', pixFmt: 'yuv420p', encoder: 'libvpx-vp9', args: ['-c:v', 'libvpx-vp9', '-pix_fmt', 'yuv420p'] },
  { name: 'av1.mkv', pixFmt: 'yuv420p', encoder: 'libaom-av1', args: ['-c:v', 'libaom-av1', '-cpu-used', '8', '-pix_fmt', 'yuv420p'], size: '160x120' },
  { name: 'mpeg4.avi', pixFmt: 'yuv420p', encoder: 'mpeg4', args: ['-c:v', 'mpeg4', '-bf', '2'] },
  { name: 'mjpeg.avi', pixFmt: 'yuvj420p', encoder: 'mjpeg', args: ['-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p'] },
];

test('the npm ffmpeg and the system\'s give the same RGB on generated clips of every format', async (t) => {
  const builds = await bothBuilds(t);
  if (!builds) return;
  const dir = scratchDir('ffmpeg-builds');
  const mismatches: string[] = [];
  for (const clip of generated) {
    if (!(await hasEncoder(clip.encoder))) {
      if (inCi) assert.fail(`the system's ffmpeg has no ${clip.encoder} encoder in CI`);
      t.diagnostic(`no ${clip.encoder} encoder here: ${clip.name} not checked`);
      continue;
    }
    const path = join(dir, clip.name);
    await runFfmpeg(['-f', 'lavfi', '-i', `testsrc2=s=${clip.size ?? '320x240'}:r=25:d=2`, ...clip.args, path]);
    const mismatch = await compareBuilds(builds, path, clip.pixFmt);
    if (mismatch) mismatches.push(mismatch);
  }
  assert.deepEqual(mismatches, []);
});

const mediaClips: { file: string; pixFmt: string; frames?: number }[] = [
  { file: 'dfdc/yhffcuhhjy.mp4', pixFmt: 'yuv420p', frames: 60 },
  { file: 'ffpp/634.mp4', pixFmt: 'yuv444p', frames: 60 },
  { file: 'lipsync/hyperlips_fake_result_video1.mp4', pixFmt: 'yuv420p' },
  { file: 'lipsync/obamanet_input_masked.mp4', pixFmt: 'yuv444p' },
  { file: 'misaligned_pairs/RealTaxi.mp4', pixFmt: 'yuv420p' },
  { file: 'other/tv_5frames.mp4', pixFmt: 'yuv420p' },
];

test('the npm ffmpeg and the system\'s give the same RGB on real clips (../shared/media)', async (t) => {
  const builds = await bothBuilds(t);
  if (!builds) return;
  const present = mediaClips.filter((clip) => existsSync(join(mediaDir, clip.file)));
  if (present.length < mediaClips.length) {
    const absent = mediaClips.filter((clip) => !present.includes(clip)).map((clip) => clip.file);
    if (inCi) assert.fail(`absent from ../shared/media: ${absent.join(', ')}`);
    if (present.length === 0) return t.skip(`../shared/media is absent (${mediaDir})`);
    t.diagnostic(`absent from ../shared/media, not checked: ${absent.join(', ')}`);
  }
  const mismatches: string[] = [];
  for (const clip of present) {
    const mismatch = await compareBuilds(builds, join(mediaDir, clip.file), clip.pixFmt, clip.frames);
    if (mismatch) mismatches.push(mismatch);
  }
  assert.deepEqual(mismatches, []);
});
