import { open, type FileHandle } from 'node:fs/promises';
import { readAvcConfig } from './mp4-boxes.js';
import { probePacketIndex, PACKET_KEY, type PacketIndex, type VideoProbe } from './probe.js';
import { avcConfigParameterSets, displayOrderAgrees } from './h264-order.js';
import { droppable, flvHeader, flvTiming, flvVideoTag, keepPacket, nalUnits, planSparseDecode, type SparsePlan } from './sparse-decode.js';

/**
 * The file side of a sparse decode (src/video/sparse-decode.ts): the packet index from ffprobe,
 * the decoder configuration from the MP4 file, and the FLV stream of the kept packets for
 * ffmpeg's standard input, read from the file in large windows (packets lie in decode order,
 * between the audio's).
 */

export interface SparseSource {
  readonly plan: SparsePlan;
  /** The FLV bytes in chunks of about CHUNK_BYTES; throws if the file no longer holds the packets. */
  readonly stream: () => AsyncGenerator<Uint8Array>;
}

const WINDOW_BYTES = 1 << 20;
const CHUNK_BYTES = 256 << 10;

/**
 * A sparse decode of every `every`-th frame of `path` up to `lastFrame`, or why there is none
 * (another codec or container, no B-frames, a container whose frames do not map one to one on
 * its packets).
 */
export async function prepareSparseDecode(
  path: string,
  probe: VideoProbe,
  options: { every: number; lastFrame?: number },
): Promise<SparseSource | { reason: string }> {
  const index = await probePacketIndex(path);
  if (!index) return { reason: 'not H.264 in an MP4 file' };
  const plan = planSparseDecode(index, { ...options, announcedFrames: probe.frameCount });
  if ('reason' in plan) return plan;
  const config = await readAvcConfig(path);
  if (!config || config.length !== index.extradataSize || config.length < 7 || config[0] !== 1) return { reason: 'no usable avcC box' };
  const lengthSize = (config[4]! & 3) + 1;
  const parameterSets = avcConfigParameterSets(config);
  if (!parameterSets) return { reason: 'no usable avcC box' };
  // One pass over the packets: which may be left out, and whether the container's times (the frame
  // numbers) rank the pictures as the decoder shows them.
  const drop = new Uint8Array(index.pts.length);
  const units: Uint8Array[][] = [];
  const file = await open(path, 'r');
  try {
    const reader = windowedReader(file, path);
    for (let i = 0; i < index.pts.length; i++) {
      const packet = nalUnits(await reader(index.pos[i]!, index.size[i]!), lengthSize);
      drop[i] = droppable(packet) ? 1 : 0;
      // Copies, so that the windows go: parameter sets whole, of slices the header's first bytes.
      units.push((packet ?? []).map((unit) => unit.slice(0, (unit[0]! & 31) === 7 || (unit[0]! & 31) === 8 ? unit.length : 64)));
    }
  } finally {
    await file.close();
  }
  if (!displayOrderAgrees(parameterSets, units, plan.rank)) return { reason: "the container's times do not rank the pictures as the decoder shows them" };
  return { plan, stream: () => flvStream(path, index, plan, drop, config) };
}

/** The FLV stream of the packets keepPacket keeps; the packets left out are not read. */
async function* flvStream(path: string, index: PacketIndex, plan: SparsePlan, drop: Uint8Array, config: Uint8Array): AsyncGenerator<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const reader = windowedReader(file, path);
    const first = flvVideoTag('config', 0, 0, true, config.length);
    let parts: Uint8Array[] = [flvHeader(), first.head, config, first.tail];
    let bytes = 0;
    let kept = 0;
    for (let i = 0; i <= plan.end; i++) {
      if (!keepPacket(plan, index, i, drop[i] === 1)) continue;
      const data = await reader(index.pos[i]!, index.size[i]!);
      const { dts, cts } = flvTiming(plan, kept, i);
      kept += 1;
      const tag = flvVideoTag('packet', dts, cts, (index.flags[i]! & PACKET_KEY) !== 0, data.length);
      parts.push(tag.head, data, tag.tail);
      bytes += data.length + 20;
      if (bytes >= CHUNK_BYTES) {
        yield Buffer.concat(parts);
        parts = [];
        bytes = 0;
      }
    }
    if (parts.length > 0) yield Buffer.concat(parts);
  } finally {
    await file.close();
  }
}

/**
 * Reads packets through windows of WINDOW_BYTES (a fresh one each time, so earlier packets stay
 * valid until they are written); a packet larger than a window is read alone.
 */
function windowedReader(file: FileHandle, path: string): (pos: number, size: number) => Promise<Uint8Array> {
  let window = new Uint8Array(0);
  let start = 0;
  return async (pos, size) => {
    if (pos < start || pos + size > start + window.length) {
      const buffer = new Uint8Array(Math.max(WINDOW_BYTES, size));
      const { bytesRead } = await file.read(buffer, 0, buffer.length, pos);
      if (bytesRead < size) throw new Error(`${path}: a packet of ${size} bytes at ${pos} is past the end of the file (it changed?)`);
      window = buffer.subarray(0, bytesRead);
      start = pos;
    }
    return window.subarray(pos - start, pos - start + size);
  };
}
