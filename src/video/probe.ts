import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { UnitError, messageOf } from '../util/errors.js';
import { failedChild, ffmpegEnvironment, locateFfprobe } from './ffmpeg-binaries.js';
import { probeMp4 } from './mp4-probe.js';
import { PACKET_DISCARD, PACKET_KEY, type PacketIndex, type Rotation, type VideoProbe } from './stream-info.js';

/**
 * What ffprobe says about a video's first video stream: the frame size the decoder delivers (after
 * the rotation OpenCV applies), frame count, rotation, pixel format, codec. For plain H.264 MP4
 * files the same answer is read in-process (src/video/mp4-probe.ts), without starting ffprobe.
 */

export { PACKET_DISCARD, PACKET_KEY, type PacketIndex, type Rotation, type VideoProbe } from './stream-info.js';

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  nb_frames?: string;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number | string }[];
  is_avc?: string;
  extradata_size?: number;
  has_b_frames?: number;
}

interface FfprobePacket {
  pts?: number | string;
  pos?: string;
  size?: string;
  flags?: string;
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { format_name?: string };
  packets?: FfprobePacket[];
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

/**
 * The packet indexes of the last few probes (about 5 KB per 10-second clip): ffprobe lists the
 * packets in the same call for about a third more of its time, and a stage that wants them
 * (decodeVideo with `every`) asks right after its probe. One that comes later for a video whose
 * index is gone has it listed again (probePacketIndex).
 */
const packetIndexes = new Map<string, PacketIndex | null>();
const PACKET_INDEXES_KEPT = 256;

function keepPacketIndex(key: string, index: PacketIndex | null): void {
  packetIndexes.delete(key);
  packetIndexes.set(key, index);
  if (packetIndexes.size > PACKET_INDEXES_KEPT) packetIndexes.delete(packetIndexes.keys().next().value!);
}

async function identityKey(path: string): Promise<string> {
  let identity: { size: number; mtimeMs: number; ino: number };
  try {
    identity = await stat(path);
  } catch (error) {
    throw new UnitError(`${path}: cannot read it (${messageOf(error)})`, { file: path, cause: error });
  }
  if (identity.size === 0) throw new UnitError(`${path}: empty file (0 bytes, a download cut short?): download it again, then rerun`, { file: path });
  return `${path}\0${identity.size}\0${identity.mtimeMs}\0${identity.ino}`;
}

async function runProbe(path: string, key: string, packets: boolean): Promise<VideoProbe> {
  if (process.env.DFDC_MP4_PROBE !== '0') {
    const read = await probeMp4(path).catch(() => undefined);
    if (read && !('reason' in read)) {
      keepPacketIndex(key, read.packets);
      return withinSizeLimit(path, read.probe);
    }
  }
  const output = parseFfprobeOutput(path, await runFfprobe(await locateFfprobe(), path, packets));
  if (packets) keepPacketIndex(key, packetIndexOf(output));
  return withinSizeLimit(path, probeOf(path, output));
}

/**
 * The largest frame any level of H.264, HEVC, VP9 or AV1 allows (35,651,584 pixels: H.264's 139,264
 * macroblocks of 16x16, e.g. 8192x4352).
 * A stream that claims more is out of every profile, and every stage that decodes it would hold
 * frames of hundreds of megabytes or more (a 16000x16000 one took 8.6 GB in detect): the kernel's
 * out-of-memory killer would end the whole run, not the video.
 */
export const MAX_FRAME_PIXELS = 139_264 * 256;

function withinSizeLimit(path: string, probe: VideoProbe): VideoProbe {
  if (probe.storedWidth * probe.storedHeight <= MAX_FRAME_PIXELS) return probe;
  throw new UnitError(
    `${path}: frames of ${probe.storedWidth}x${probe.storedHeight} are larger than any level of H.264, HEVC, VP9 or AV1 allows (${MAX_FRAME_PIXELS.toLocaleString('en-US')} pixels, such as 8192x4352), and each would take hundreds of megabytes or more to decode: re-encode it smaller (ffmpeg -i IN -vf scale=3840:2160:force_original_aspect_ratio=decrease:force_divisible_by=2 OUT.mp4)`,
    { file: path },
  );
}

/**
 * Probes `path`; a UnitError naming the file when it is missing, empty, not a video or has no video
 * stream. `packets` also lists its packets, kept for probePacketIndex, for a caller that will
 * decode every n-th frame (a sparse decode, src/video/sparse-decode.ts).
 */
export async function probeVideo(path: string, options: { packets?: boolean } = {}): Promise<VideoProbe> {
  const key = await identityKey(path);
  let probe = probes.get(key);
  if (!probe) {
    const made = runProbe(path, key, options.packets ?? false);
    probe = made;
    probes.set(key, made);
    made.catch(() => {
      if (probes.get(key) === made) probes.delete(key);
    });
    if (probes.size > PROBES_KEPT) probes.delete(probes.keys().next().value!);
  }
  return probe;
}

/**
 * The packet index of `path` when it is an H.264 stream in an MP4/MOV file (undefined otherwise),
 * from the last probe of the same file, or from a new one.
 */
export async function probePacketIndex(path: string): Promise<PacketIndex | undefined> {
  const key = await identityKey(path);
  if (!packetIndexes.has(key)) await runProbe(path, key, true);
  return packetIndexes.get(key) ?? undefined;
}

/** How long ffprobe may take on one file (it reads the whole file to list packets); then it is killed (SIGKILL: a hung one may ignore SIGTERM). */
const PROBE_TIMEOUT_MS = 120_000;

function runFfprobe(ffprobePath: string, path: string, withPackets: boolean): Promise<string> {
  // The packets are listed from the container's index, without decoding (about 50 bytes each),
  // but ffprobe reads the whole file to list them: only when a sparse decode may want them.
  const packets = withPackets ? ['-show_packets', '-show_entries', 'packet=pts,pos,size,flags'] : [];
  const args = ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', ...packets, '-select_streams', 'v:0', path];
  return new Promise((resolve, reject) => {
    execFile(ffprobePath, args, { timeout: PROBE_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 1 << 28, env: ffmpegEnvironment() }, (error, stdout, stderr) => {
      if (error) {
        const { killed, signal, code } = error as { killed?: boolean; signal?: string | null; code?: number | string | null };
        const why = killed && code !== 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER'
          ? `ffprobe did not answer within ${PROBE_TIMEOUT_MS / 1000} s: check that the file is not on a stalled mount, or re-encode the video`
          : typeof signal === 'string'
            ? failedChild('ffprobe', null, signal)
            : `not a video (${firstLine(stderr) ?? (typeof code === 'number' ? failedChild('ffprobe', code, null) : messageOf(error))})`;
        reject(new UnitError(`${path}: ${why}`, { file: path, cause: error }));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** The probe of `path` from ffprobe's JSON (exported for tests). */
export function parseProbe(path: string, json: string): VideoProbe {
  return probeOf(path, parseFfprobeOutput(path, json));
}

function parseFfprobeOutput(path: string, json: string): FfprobeOutput {
  try {
    return JSON.parse(json) as FfprobeOutput;
  } catch (error) {
    throw new UnitError(`${path}: not a video (unreadable ffprobe output)`, { file: path, cause: error });
  }
}

/**
 * The packet index of an H.264 stream in the MP4 family (length-prefixed NAL units, the only
 * layout a sparse decode reads), or null: another container or codec, or a packet without a
 * position or size.
 */
function packetIndexOf(output: FfprobeOutput): PacketIndex | null {
  const stream = output.streams?.find((s) => s.codec_type === 'video');
  const formats = output.format?.format_name?.split(',') ?? [];
  const packets = output.packets ?? [];
  if (stream?.codec_name !== 'h264' || stream.is_avc !== 'true' || !formats.includes('mp4') || packets.length === 0) return null;
  const count = packets.length;
  const index = {
    pts: new Float64Array(count),
    pos: new Float64Array(count),
    size: new Float64Array(count),
    flags: new Uint8Array(count),
    extradataSize: stream.extradata_size ?? 0,
    reorderDelay: stream.has_b_frames ?? 0,
  };
  for (const [i, packet] of packets.entries()) {
    const pos = Number(packet.pos);
    const size = Number(packet.size);
    if (!(Number.isSafeInteger(pos) && pos >= 0 && Number.isSafeInteger(size) && size > 0)) return null;
    index.pts[i] = packet.pts === undefined ? Number.NaN : Number(packet.pts);
    index.pos[i] = pos;
    index.size[i] = size;
    const flags = packet.flags ?? '';
    index.flags[i] = (flags.includes('K') ? PACKET_KEY : 0) | (flags.includes('D') ? PACKET_DISCARD : 0);
  }
  return index;
}

function probeOf(path: string, output: FfprobeOutput): VideoProbe {
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
    rotation,
    pixFmt: stream.pix_fmt ?? 'unknown',
    codec: stream.codec_name ?? 'unknown',
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

function positiveInteger(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : null;
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
