/**
 * Small broken or awkward inputs, built in a temporary folder at test time, for the robustness tests
 * of every stage: empty and fake .mp4 files, truncated videos (one that fails to open, one that
 * decodes partway), a 1-frame video, a variable-frame-rate clip and a tiny video (test/helpers/data-root.ts
 * puts them in a DATA_ROOT). Sources are the committed fixtures in fixtures/sample, so these need no
 * encoder beyond the ffmpeg found here and nothing from ../shared.
 *
 * It also holds the test-side tools shared with scripts/make-fixtures.ts: running ffmpeg/ffprobe
 * (found by src/video/ffmpeg-binaries.ts) and a probe that counts frames by decoding them.
 */
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { locateFfmpeg, locateFfprobe } from '../../src/video/ffmpeg-binaries.js';
import { sampleRoot } from './shared.js';

// Kept importable from here, where they used to live.
export { copySampleRoot } from './data-root.js';
export { sampleRoot };

export interface ToolResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a program to completion; `input`, if any, is written to its stdin, which is then closed. */
export function runTool(program: string, args: readonly string[], input?: Uint8Array): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => {
      // the program exited before reading everything: its exit code and stderr say why
    });
    child.stdin.end(input);
  });
}

/** Runs ffmpeg (quiet, never reading stdin) and throws with its stderr when it fails. */
export async function ffmpeg(args: readonly string[]): Promise<void> {
  const { ffmpegPath } = await locateFfmpeg();
  const result = await runTool(ffmpegPath, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args]);
  if (result.code !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
}

export interface FrameProbe {
  codec: string;
  pixFmt: string;
  width: number;
  height: number;
  /** Frames the decoder delivers, counted by decoding the whole stream (ffprobe -count_frames). */
  frames: number;
  /** Frames the container's index declares (nb_frames), NaN when it declares none. */
  declaredFrames: number;
  /** The stream's r_frame_rate, e.g. "25/1". */
  frameRate: string;
}

/**
 * Probes the first video stream of `path` and counts its frames by decoding them (unlike
 * src/video/probe.ts, which reads the container's count); throws when ffprobe cannot open it.
 */
export async function probeFrames(path: string): Promise<FrameProbe> {
  const ffprobePath = await locateFfprobe();
  const result = await runTool(ffprobePath, [
    '-v', 'error', '-count_frames', '-select_streams', 'v:0',
    '-show_entries', 'stream=codec_name,pix_fmt,width,height,nb_frames,nb_read_frames,r_frame_rate',
    '-of', 'json', path,
  ]);
  if (result.code !== 0) throw new Error(`ffprobe cannot read ${path}: ${result.stderr.trim()}`);
  const parsed = JSON.parse(result.stdout.toString('utf8')) as {
    streams?: {
      codec_name: string;
      pix_fmt: string;
      width: number;
      height: number;
      nb_frames?: string;
      nb_read_frames?: string;
      r_frame_rate: string;
    }[];
  };
  const stream = parsed.streams?.[0];
  if (!stream) throw new Error(`ffprobe finds no video stream in ${path}`);
  return {
    codec: stream.codec_name,
    pixFmt: stream.pix_fmt,
    width: stream.width,
    height: stream.height,
    frames: Number(stream.nb_read_frames ?? 0),
    declaredFrames: Number(stream.nb_frames ?? Number.NaN),
    frameRate: stream.r_frame_rate,
  };
}

/** Presentation timestamps (seconds) of every video frame of `path`, in decode order, as ffprobe reads them. */
export async function frameTimestamps(path: string): Promise<number[]> {
  const ffprobePath = await locateFfprobe();
  const result = await runTool(ffprobePath, [
    '-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time,best_effort_timestamp_time', '-of', 'json', path,
  ]);
  if (result.code !== 0) throw new Error(`ffprobe cannot read ${path}: ${result.stderr.trim()}`);
  const parsed = JSON.parse(result.stdout.toString('utf8')) as {
    frames?: { pts_time?: string; best_effort_timestamp_time?: string }[];
  };
  return (parsed.frames ?? []).map((frame) => Number(frame.pts_time ?? frame.best_effort_timestamp_time));
}

export interface DecodeResult {
  /** Whole frames on stdout. */
  frames: number;
  /** ffmpeg's exit code. */
  code: number | null;
  stderr: string;
}

/**
 * Decodes `path` to raw frames (scaled to 8x8 gray, so any size will do) and counts them.
 * `passthrough` keeps every decoded frame as it comes (`-fps_mode`/`-vsync passthrough`); without
 * it ffmpeg's default for raw output is constant-rate at the stream's guessed frame rate, which
 * duplicates or drops frames of a variable-frame-rate clip.
 */
export async function decodeFrameCount(path: string, options: { passthrough: boolean }): Promise<DecodeResult> {
  const { ffmpegPath, passthroughArgs } = await locateFfmpeg();
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', path, '-map', '0:v:0', '-vf', 'scale=8:8'];
  if (options.passthrough) args.push(...passthroughArgs);
  args.push('-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1');
  const result = await runTool(ffmpegPath, args);
  return { frames: Math.floor(result.stdout.length / 64), code: result.code, stderr: result.stderr };
}

/** The top-level box (atom) types of an mp4 file, in file order, e.g. ['ftyp', 'free', 'mdat', 'moov']. */
export async function mp4TopLevelBoxes(path: string): Promise<string[]> {
  const bytes = await readFile(path);
  const types: string[] = [];
  let offset = 0;
  while (offset + 8 <= bytes.length) {
    let size = bytes.readUInt32BE(offset);
    types.push(bytes.toString('latin1', offset + 4, offset + 8));
    if (size === 1 && offset + 16 <= bytes.length) size = Number(bytes.readBigUInt64BE(offset + 8));
    if (size < 8) break; // 0 (to the end of the file), or a damaged header
    offset += size;
  }
  return types;
}

/** A committed fixture video: 640x360, 25 fps, 41 frames, one moving face, moov atom at the end. */
export const sampleVideo = join(sampleRoot, 'dfdc_train_part_0', 'real_a.mp4');

/** A zero-byte file named `<name>.mp4`. */
export async function zeroByteMp4(dir: string, name = 'empty'): Promise<string> {
  const path = join(dir, `${name}.mp4`);
  await writeFile(path, new Uint8Array(0));
  return path;
}

/** A text file named `<name>.mp4` (no container at all). */
export async function textFileMp4(dir: string, name = 'text'): Promise<string> {
  const path = join(dir, `${name}.mp4`);
  await writeFile(path, 'this is not a video, only text with an .mp4 name\n');
  return path;
}

async function truncatedCopy(source: string, path: string, fraction: number): Promise<string> {
  const bytes = await readFile(source);
  await writeFile(path, bytes.subarray(0, Math.floor(bytes.length * fraction)));
  return path;
}

/**
 * The first half of `source`, an mp4 whose moov atom (the index) is at the end, as ffmpeg writes
 * by default and as the fixtures are: the index is cut off, so the file FAILS TO OPEN
 * (ffmpeg/ffprobe: "moov atom not found", exit code 1, no frame decoded).
 */
export async function truncatedMp4Unopenable(dir: string, source = sampleVideo, name = 'truncated-no-moov'): Promise<string> {
  return truncatedCopy(source, join(dir, `${name}.mp4`), 0.5);
}

/**
 * `source` remuxed with `-movflags +faststart` (moov first), then cut to half its length: it opens,
 * its index still declares every frame (`fullFrames`), and decoding DELIVERS ONLY THE FIRST FRAMES
 * (12 of real_a's 41: the first frame is an I-frame holding much of the data) before ffmpeg logs
 * "partial file" / "Invalid NAL unit size". ffmpeg 4.1 and 5.1 both still exit 0 there, so a
 * decoder must compare the delivered count with the declared one (or watch stderr) to notice.
 */
export async function truncatedMp4Partial(
  dir: string,
  source = sampleVideo,
  name = 'truncated-partial',
): Promise<{ path: string; fullFrames: number }> {
  const whole = join(dir, `${name}.whole.mp4`);
  await ffmpeg(['-i', source, '-map', '0:v:0', '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', whole]);
  const fullFrames = (await probeFrames(whole)).frames;
  const path = await truncatedCopy(whole, join(dir, `${name}.mp4`), 0.5);
  await rm(whole);
  return { path, fullFrames };
}

/** x264 settings for the small videos made here (speed over size; they are never committed). */
const testEncoderArgs = ['-an', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '28', '-bf', '0', '-pix_fmt', 'yuv420p', '-threads', '1'];

/** A valid H.264 mp4 holding only the first frame of `source`. */
export async function oneFrameMp4(dir: string, source = sampleVideo, name = 'one-frame'): Promise<string> {
  const path = join(dir, `${name}.mp4`);
  await ffmpeg(['-i', source, '-map', '0:v:0', '-frames:v', '1', ...testEncoderArgs, '-f', 'mp4', path]);
  return path;
}

/** `source` scaled to a tiny `width`x`height` (default 64x48; keep both even) H.264 video, every frame kept. */
export async function tinyMp4(dir: string, source = sampleVideo, name = 'tiny', width = 64, height = 48): Promise<string> {
  const path = join(dir, `${name}.mp4`);
  const { passthroughArgs } = await locateFfmpeg();
  await ffmpeg(['-i', source, '-map', '0:v:0', '-vf', `scale=${width}:${height}`, ...passthroughArgs, ...testEncoderArgs, '-f', 'mp4', path]);
  return path;
}

/** Frames in the variable-frame-rate clip. */
export const vfrFrameCount = 41;

/**
 * Presentation time of frame n of the variable-frame-rate clip, in hundredths of a second:
 * frames 0 to 9 are 4 apart (25 fps), then a 44 gap, frames 10 to 20 4 apart, frames 20 to 32
 * 1 apart (100 fps), frames 32 to 40 4 apart again. `vfrPtsExpression` is the same in ffmpeg's syntax.
 */
export function vfrTimestampHundredths(n: number): number {
  return n * 4 + (n >= 10 ? 40 : 0) - (n >= 20 ? (n - 20) * 3 : 0) + (n >= 32 ? (n - 32) * 3 : 0);
}

/** vfrTimestampHundredths in seconds, as a setpts expression (N is the frame number). */
export const vfrPtsExpression = '(N*4 + gte(N,10)*40 - gte(N,20)*(N-20)*3 + gte(N,32)*(N-32)*3)/100';

/**
 * The first 41 frames of `source` with the irregular timestamps of `vfrTimestampHundredths`,
 * written with `-fps_mode vfr` (`-vsync vfr` before ffmpeg 5.1) on a 1/100 s clock, so that no
 * frame is added or removed: the file holds exactly `frames` frames. Its r_frame_rate reads 100/1,
 * so ffmpeg's default constant-rate conversion to raw frames fills its 1.64 s with 167 frames
 * (ffmpeg 4.1 and 5.1 alike); passthrough delivers the true 41.
 */
export async function variableFrameRateMp4(dir: string, source = sampleVideo, name = 'vfr'): Promise<{ path: string; frames: number }> {
  const path = join(dir, `${name}.mp4`);
  const [frameRateModeOption = '-vsync'] = (await locateFfmpeg()).passthroughArgs;
  await ffmpeg([
    '-i', source, '-map', '0:v:0', '-frames:v', String(vfrFrameCount),
    '-vf', `setpts='${vfrPtsExpression}/TB'`,
    frameRateModeOption, 'vfr', '-r', '100', '-video_track_timescale', '100',
    ...testEncoderArgs, '-f', 'mp4', path,
  ]);
  return { path, frames: vfrFrameCount };
}
