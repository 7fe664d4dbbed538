import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { UnitError, messageOf } from '../util/errors.js';
import { locateFfmpeg } from './ffmpeg-binaries.js';

/**
 * What ffprobe says about a video's first video stream: the frame size the decoder delivers (after
 * the rotation OpenCV applies), frame count, rate, rotation, pixel format, codec, duration.
 */

/** A clockwise quarter turn count, in degrees, as OpenCV 4.6's VideoCapture applies it by default. */
export type Rotation = 0 | 90 | 180 | 270;

export interface VideoProbe {
  /** Width of the frames as decoded, after rotation. */
  readonly width: number;
  /** Height of the frames as decoded, after rotation. */
  readonly height: number;
  /** Size as stored in the stream, before rotation. */
  readonly storedWidth: number;
  readonly storedHeight: number;
  /** The container's frame count (nb_frames), null when the container does not say. */
  readonly frameCount: number | null;
  /** Average frame rate, or the nominal one when the average is unknown; null when neither is known. */
  readonly fps: number | null;
  /** Clockwise rotation applied to every frame (from the display matrix; 0 when none or not a quarter turn). */
  readonly rotation: Rotation;
  readonly pixFmt: string;
  readonly codec: string;
  readonly durationSeconds: number | null;
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  nb_frames?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number | string }[];
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { duration?: string };
}

/**
 * Probes kept for the life of the process, by file identity (path, size, modification time, inode):
 * the stages of one run ask about the same videos (detect a REAL, then crop it and check each of
 * its FAKEs against it), and an ffprobe costs about 0.15 s of CPU, mostly loading its shared
 * libraries. A file replaced between two asks has another identity and is probed again. Failures
 * are not kept (one may pass: a full process table). The oldest go first past PROBES_KEPT (about
 * 20 MB), more than DFDC's 19,154 REAL videos.
 */
const probes = new Map<string, Promise<VideoProbe>>();
const PROBES_KEPT = 50_000;

/** Probes `path`; a UnitError naming the file when it is missing, empty, not a video or has no video stream. */
export async function probeVideo(path: string): Promise<VideoProbe> {
  let identity: { size: number; mtimeMs: number; ino: number };
  try {
    identity = await stat(path);
  } catch (error) {
    throw new UnitError(`${path}: cannot read it (${messageOf(error)})`, { file: path, cause: error });
  }
  if (identity.size === 0) throw new UnitError(`${path}: empty file`, { file: path });
  const key = `${path}\0${identity.size}\0${identity.mtimeMs}\0${identity.ino}`;
  let probe = probes.get(key);
  if (!probe) {
    const made = (async () => parseProbe(path, await runFfprobe((await locateFfmpeg()).ffprobePath, path)))();
    probe = made;
    probes.set(key, made);
    made.catch(() => {
      if (probes.get(key) === made) probes.delete(key);
    });
    if (probes.size > PROBES_KEPT) probes.delete(probes.keys().next().value!);
  }
  return probe;
}

function runFfprobe(ffprobePath: string, path: string): Promise<string> {
  const args = ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', '-select_streams', 'v:0', path];
  return new Promise((resolve, reject) => {
    execFile(ffprobePath, args, { timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) {
        const line = firstLine(stderr) ?? messageOf(error);
        reject(new UnitError(`${path}: not a video (${line})`, { file: path, cause: error }));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** The probe of `path` from ffprobe's JSON (exported for tests). */
export function parseProbe(path: string, json: string): VideoProbe {
  let output: FfprobeOutput;
  try {
    output = JSON.parse(json) as FfprobeOutput;
  } catch (error) {
    throw new UnitError(`${path}: not a video (unreadable ffprobe output)`, { file: path, cause: error });
  }
  const stream = output.streams?.find((s) => s.codec_type === 'video');
  if (stream === undefined) throw new UnitError(`${path}: no video stream`, { file: path });
  const storedWidth = stream.width ?? 0;
  const storedHeight = stream.height ?? 0;
  if (!(storedWidth > 0 && storedHeight > 0)) throw new UnitError(`${path}: not a video (the video stream has no frame size)`, { file: path });
  const rotation = rotationOf(stream);
  const quarter = rotation === 90 || rotation === 270;
  return {
    width: quarter ? storedHeight : storedWidth,
    height: quarter ? storedWidth : storedHeight,
    storedWidth,
    storedHeight,
    frameCount: positiveInteger(stream.nb_frames),
    fps: rate(stream.avg_frame_rate) ?? rate(stream.r_frame_rate),
    rotation,
    pixFmt: stream.pix_fmt ?? 'unknown',
    codec: stream.codec_name ?? 'unknown',
    durationSeconds: finiteNumber(stream.duration) ?? finiteNumber(output.format?.duration),
  };
}

/**
 * OpenCV 4.6 (libavformat >= 57.68) reads the display matrix only: angle = -round(matrix rotation),
 * normalised to 0..359, and rotates by it when it is a quarter turn. ffprobe prints the matrix
 * rotation (counter-clockwise degrees) as side data `rotation`. Old ffprobes without side data print
 * only the `rotate` tag, which is already the clockwise angle. See docs/exactness.md §2.
 */
export function rotationOf(stream: Pick<FfprobeStream, 'side_data_list' | 'tags'>): Rotation {
  const matrix = stream.side_data_list?.find((d) => d.side_data_type === 'Display Matrix' && d.rotation !== undefined);
  let clockwise: number | undefined;
  if (matrix !== undefined) clockwise = -Math.round(Number(matrix.rotation));
  else if (stream.tags?.rotate !== undefined) clockwise = Math.trunc(Number(stream.tags.rotate));
  if (clockwise === undefined || !Number.isFinite(clockwise)) return 0;
  const normalised = ((clockwise % 360) + 360) % 360;
  return normalised === 90 || normalised === 180 || normalised === 270 ? normalised : 0;
}

function rate(text: string | undefined): number | null {
  if (text === undefined) return null;
  const [num, den] = text.split('/').map(Number);
  if (num === undefined || !Number.isFinite(num) || num <= 0) return null;
  const value = den === undefined ? num : num / den;
  return Number.isFinite(value) && value > 0 ? value : null;
}

function positiveInteger(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : null;
}

function finiteNumber(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** The first non-empty line of ffmpeg's stderr, without the object addresses it prints (`[h264 @ 0x55d...]` -> `[h264]`). */
export function firstLine(text: string): string | undefined {
  return text
    .split(/\r?\n/)
    .map(cleanLine)
    .find((line) => line !== '');
}

export function cleanLine(line: string): string {
  return line.replace(/ @ 0x[0-9a-f]+\]/g, ']').trim();
}
