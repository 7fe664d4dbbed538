import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { TestContext } from 'node:test';
import { locateFfmpeg } from '../../src/video/ffmpeg-binaries.js';
import { inCi } from '../helpers/shared.js';

/**
 * Small videos made on the fly (lavfi test patterns, so no media is shipped), and a look at the
 * running processes, for the decoder's tests.
 */

let system: Promise<string | undefined> | undefined;

/** The first `ffmpeg` on PATH that answers -version (the system's build), if any. */
export function systemFfmpeg(): Promise<string | undefined> {
  system ??= (async () => {
    for (const dir of (process.env.PATH ?? '').split(delimiter).filter((entry) => isAbsolute(entry))) {
      const candidate = join(dir, 'ffmpeg');
      if (await new Promise<boolean>((resolve) => execFile(candidate, ['-version'], (error) => resolve(!error)))) return candidate;
    }
    return undefined;
  })();
  return system;
}

/**
 * The ffmpeg that makes test inputs: the system's where it runs (Debian's 5.1 has what the hostile
 * files need, e.g. the setts filter, which the npm 4.1 build that dfdc decodes with on Linux x64
 * lacks), else the one dfdc decodes with. Making the inputs with another build than the one that
 * decodes them is no loss: H.264 decodes to the same bytes everywhere.
 */
async function makerFfmpeg(): Promise<string> {
  return (await systemFfmpeg()) ?? (await locateFfmpeg()).ffmpegPath;
}

/** Runs the test inputs' ffmpeg (makerFfmpeg) with `args` (quiet, overwriting); rejects with its stderr. */
export async function runFfmpeg(args: readonly string[]): Promise<Buffer> {
  const ffmpegPath = await makerFfmpeg();
  return new Promise((resolve, reject) => {
    execFile(
      ffmpegPath,
      ['-nostdin', '-hide_banner', '-v', 'error', '-y', ...args],
      { encoding: 'buffer', maxBuffer: 256 << 20 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`ffmpeg ${args.join(' ')}: ${stderr.toString()}`));
        else resolve(stdout);
      },
    );
  });
}

let encoders: Promise<string> | undefined;

/** Whether the test inputs' ffmpeg has an encoder, e.g. `libx264`. */
export async function hasEncoder(name: string): Promise<boolean> {
  encoders ??= runFfmpeg(['-encoders']).then((out) => out.toString());
  return new RegExp(`^\\s*V\\S*\\s+${name}\\s`, 'm').test(await encoders);
}

/**
 * Whether H.264 clips can be made (the ffmpeg found has libx264): in CI it must; elsewhere the test
 * is skipped with the reason.
 */
export async function canMakeH264(t: TestContext): Promise<boolean> {
  if (await hasEncoder('libx264')) return true;
  if (inCi) assert.fail('the ffmpeg found has no libx264 encoder in CI');
  t.skip('no libx264 encoder here: H.264 clips cannot be made');
  return false;
}

/**
 * A `seconds`-long testsrc2 clip at `size` and `rate`, moov first. By default MPEG-4 part 2 with
 * B-frames (an encoder every ffmpeg build has; B-frames make decode order differ from stream
 * order), 4:2:0; `fullChroma` makes it MJPEG 4:4:4 (yuvj444p) instead.
 */
export async function makeClip(path: string, options: { size?: string; rate?: number; seconds?: number; fullChroma?: boolean } = {}): Promise<void> {
  const { size = '64x48', rate = 25, seconds = 2, fullChroma = false } = options;
  const codec = fullChroma ? ['-c:v', 'mjpeg', '-pix_fmt', 'yuvj444p'] : ['-c:v', 'mpeg4', '-bf', '2', '-pix_fmt', 'yuv420p'];
  await runFfmpeg(['-f', 'lavfi', '-i', `testsrc2=s=${size}:r=${rate}:d=${seconds}`, ...codec, '-q:v', '3', '-movflags', '+faststart', path]);
}

/** Raw rgb24 frames of `path` decoded by ffmpeg itself with `outputArgs` (e.g. autorotation on). */
export async function ffmpegRgbFrames(path: string, outputArgs: readonly string[] = []): Promise<Buffer> {
  return runFfmpeg(['-i', path, ...outputArgs, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
}

/** Process ids whose command line mentions `needle` (Linux /proc; empty elsewhere). */
export function processesMentioning(needle: string): number[] {
  if (process.platform !== 'linux') return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(join('/proc', entry, 'cmdline'), 'latin1');
      if (cmdline.includes(needle)) found.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return found;
}
