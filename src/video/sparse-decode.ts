import { PACKET_DISCARD, PACKET_KEY, type PacketIndex } from './stream-info.js';

/**
 * A sparse decode: when only every n-th frame is wanted (crops, and detect in `dfdc run`), the
 * H.264 pictures that no other picture refers to (nal_ref_idc 0, most B-frames) and that are not
 * wanted themselves need not be decoded at all: nothing else is predicted from them, so every
 * other picture decodes to the same bytes without them. On DFDC's clips about half of the frames
 * are such pictures, and skipping them saves about a third of the decoding.
 *
 * How the frames keep their numbers: the frame numbers the reference counts are positions in
 * presentation order, i.e. packets ranked by presentation timestamp. The kept packets go to ffmpeg
 * in FLV (which carries length-prefixed H.264 as MP4 does) with timestamps rewritten so that each
 * picture's timestamp says its rank; ffmpeg's select filter keeps the wanted ranks, and showinfo
 * reports the timestamp of every frame it delivers, which the decoder checks frame by frame
 * (src/video/decode.ts). Any surprise (a frame out of order, one missing, a decoder complaint) ends
 * the sparse decode, and the rest of the video is decoded whole as before. docs/exactness.md §2, Sparse decoding.
 *
 * This module is the arithmetic (which packets, the FLV bytes, the filter, the reading of
 * showinfo); src/video/sparse-input.ts reads the file.
 */

/** FLV timestamps are milliseconds; 40 ms per frame (25 fps) keeps ffmpeg's output timing simple. */
export const MS_PER_FRAME = 40;

/**
 * Whether a packet may be left out, from its NAL units (nalUnits): every unit in it is a slice of a
 * non-reference picture (type 1 with nal_ref_idc 0) or a unit that describes only its own picture
 * (SEI 6, access unit delimiter 9, filler 12), and there is a slice. Parameter sets, IDR slices,
 * end-of-sequence units, data partitions, or lengths that did not add up (undefined) keep it.
 */
export function droppable(units: readonly Uint8Array[] | undefined): boolean {
  if (!units) return false;
  let slices = 0;
  for (const unit of units) {
    const header = unit[0]!;
    const type = header & 31;
    // forbidden_zero_bit set: not a stream to second-guess.
    if (header & 0x80) return false;
    if (type === 1) {
      if (((header >> 5) & 3) !== 0) return false;
      slices += 1;
    } else if (type !== 6 && type !== 9 && type !== 12) {
      return false;
    }
  }
  return slices > 0;
}

/** The NAL units of a length-prefixed packet; undefined when the lengths do not add up. */
export function nalUnits(data: Uint8Array, lengthSize: number): Uint8Array[] | undefined {
  const units: Uint8Array[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (offset + lengthSize > data.length) return undefined;
    let length = 0;
    for (let k = 0; k < lengthSize; k++) length = length * 256 + data[offset + k]!;
    offset += lengthSize;
    if (length === 0 || offset + length > data.length) return undefined;
    units.push(data.subarray(offset, offset + length));
    offset += length;
  }
  return units;
}

/** FLV gives a tag's body 24 bits of length: a larger packet cannot be carried. */
const MAX_FLV_PACKET_BYTES = 0xffffff - 5;

export interface SparsePlan {
  /** Each packet's rank in presentation order: the frame number the reference gives it. */
  readonly rank: Int32Array;
  /** Packets after this one (decode order) are not needed: every wanted frame and its references come before. */
  readonly end: number;
  /** Added to every rank in the FLV timestamps so that no picture's composition offset is negative. */
  readonly shift: number;
  /** The frames to deliver: ranks 0, every, 2 every, ... up to lastRank. */
  readonly every: number;
  readonly lastRank: number;
  readonly frames: number;
}

/**
 * The plan of a sparse decode of every `every`-th frame (up to frame `lastFrame`), or why there is
 * none: the container must list each frame once (no packet to discard, every timestamp known and
 * distinct, as many packets as it announces frames), and pictures must be reordered (B-frames):
 * a stream without them has nothing to leave out. Which packets are left out is decided as they
 * are read (keepPacket).
 */
export function planSparseDecode(
  index: PacketIndex,
  options: { every: number; lastFrame?: number; announcedFrames: number | null },
): SparsePlan | { reason: string } {
  const { every } = options;
  const count = index.pts.length;
  if (every < 2) return { reason: 'every frame is wanted' };
  if (index.reorderDelay < 1) return { reason: 'no B-frames' };
  if (options.announcedFrames !== null && options.announcedFrames !== count) return { reason: `${count} packets for ${options.announcedFrames} frames` };
  const seen = new Set<number>();
  for (let i = 0; i < count; i++) {
    const pts = index.pts[i]!;
    if (index.size[i]! > MAX_FLV_PACKET_BYTES) return { reason: 'a packet too large for FLV' };
    if (index.flags[i]! & PACKET_DISCARD) return { reason: 'the container discards some frames (an edit list)' };
    if (!Number.isFinite(pts) || seen.has(pts)) return { reason: 'a frame without a distinct timestamp' };
    seen.add(pts);
  }
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => index.pts[a]! - index.pts[b]!);
  const rank = new Int32Array(count);
  order.forEach((packet, position) => {
    rank[packet] = position;
  });
  const lastRank = Math.min(count - 1, options.lastFrame ?? count - 1);
  let end = -1;
  let shift = 0;
  for (let i = 0; i < count; i++) {
    if (rank[i]! % every === 0 && rank[i]! <= lastRank) end = i;
    shift = Math.max(shift, i - rank[i]!);
  }
  return { rank, end, shift, every, lastRank, frames: Math.floor(lastRank / every) + 1 };
}

/** Whether packet i goes to the decoder: a wanted frame, a keyframe, or one that is not `droppable`. */
export function keepPacket(plan: SparsePlan, index: PacketIndex, i: number, isDroppable: boolean): boolean {
  const rank = plan.rank[i]!;
  if (rank % plan.every === 0 && rank <= plan.lastRank) return true;
  return (index.flags[i]! & PACKET_KEY) !== 0 || !isDroppable;
}

/** The FLV file header (video only) and the first "previous tag size". */
export function flvHeader(): Uint8Array {
  return Uint8Array.of(0x46, 0x4c, 0x56, 1, 0x01, 0, 0, 0, 9, 0, 0, 0, 0);
}

/**
 * One FLV video tag of H.264: the decoder configuration (`config`, avcC) or one packet, at decode
 * time `dts` ms with presentation `cts` ms later; the header and trailer around `payload`.
 */
export function flvVideoTag(kind: 'config' | 'packet', dts: number, cts: number, keyframe: boolean, payloadLength: number): { head: Uint8Array; tail: Uint8Array } {
  const bodyLength = 5 + payloadLength;
  const head = new Uint8Array(16);
  head[0] = 9;
  head[1] = (bodyLength >> 16) & 0xff;
  head[2] = (bodyLength >> 8) & 0xff;
  head[3] = bodyLength & 0xff;
  head[4] = (dts >> 16) & 0xff;
  head[5] = (dts >> 8) & 0xff;
  head[6] = dts & 0xff;
  head[7] = (dts >>> 24) & 0xff;
  // Stream id (3 bytes) stays 0. Then: frame type and codec (7 = AVC), AVC packet type, composition time.
  head[11] = (keyframe ? 0x10 : 0x20) | 7;
  head[12] = kind === 'config' ? 0 : 1;
  head[13] = (cts >> 16) & 0xff;
  head[14] = (cts >> 8) & 0xff;
  head[15] = cts & 0xff;
  const tail = new Uint8Array(4);
  new DataView(tail.buffer).setUint32(0, 11 + bodyLength);
  return { head, tail };
}

/**
 * The FLV timestamps of packet i, the k-th kept: decode time k, presentation time its rank (plus
 * the plan's shift, which keeps the offset between them from being negative), in frames of 40 ms.
 */
export function flvTiming(plan: SparsePlan, k: number, packet: number): { dts: number; cts: number } {
  return { dts: k * MS_PER_FRAME, cts: (plan.rank[packet]! + plan.shift - k) * MS_PER_FRAME };
}

/**
 * The select filter of a sparse decode: the wanted ranks (from the timestamp, in seconds `t`), and
 * any frame that comes out earlier than the one before it, which must never happen: it shows up in
 * showinfo and ends the sparse decode.
 */
export function sparseSelectFilter(plan: SparsePlan): string {
  const rank = `(round(t*${1000 / MS_PER_FRAME})-${plan.shift})`;
  return `select='not(mod(${rank}\\,${plan.every}))*lte(${rank}\\,${plan.lastRank})+lt(pts\\,prev_pts)'`;
}

/** The rank of the frame a showinfo line reports (its `pts_time`), or undefined for other lines. */
export function showinfoRank(line: string, plan: SparsePlan): number | undefined {
  if (!line.includes('showinfo')) return undefined;
  const match = /\bn:\s*\d+\s+pts:\s*-?\d+\s+pts_time:(\S+)/.exec(line);
  if (!match) return undefined;
  return Math.round((Number(match[1]) * 1000) / MS_PER_FRAME) - plan.shift;
}
