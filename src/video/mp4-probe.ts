import { open } from 'node:fs/promises';
import { avcConfigParameterSets, parseSps } from './h264-order.js';
import { boxesIn, child, readTopLevel, type Box } from './mp4-boxes.js';
import { PACKET_KEY, type PacketIndex, type VideoProbe } from './stream-info.js';
import { nalUnits } from './sparse-decode.js';

/**
 * The probe of a plain H.264 MP4/MOV file read in-process from its `moov` box: what ffprobe would
 * say (src/video/probe.ts) without starting it. Debian's ffprobe loads about 200 shared libraries,
 * which costs about as much CPU as decoding a short clip's kept frames, once per video per process.
 *
 * Only files that leave no doubt about what ffprobe (libavformat's mov demuxer and the H.264
 * decoder) would answer are read here; anything else gives the reason it was declined, and the
 * caller asks ffprobe. So a file is taken only when:
 * - it starts with `ftyp`, its top-level boxes end exactly at its end, it holds one `moov` and is
 *   not fragmented; no cover art (which ffmpeg lists as a video stream of its own);
 * - it has exactly one video track (`vide`), every other track is sound with a common audio codec
 *   (ffmpeg makes a track with a video sample entry a video stream whatever its handler);
 * - the video track has an identity display matrix (no rotation), one `avc1` sample description
 *   with one `avcC` and no `glbl`, one SPS whose size matches the sample description's, 4:2:0,
 *   4:2:2 or 4:4:4 in 8 bits (not RGB or YCgCo), frame pictures, no left or top cropping, not
 *   full range (ffmpeg would say yuvj420p),
 *   and the first packet repeats no other SPS;
 * - its sample tables are consistent (stts, stsz, stsc, stco/co64, ctts without negative offsets,
 *   stss with entries or none, no stps or sample groups), every packet lies inside the file, and an
 *   edit list, if any, is one plain edit that leaves out no frame.
 * tests/video/mp4-probe.test.ts holds every video of the test media against ffprobe's answer.
 */

export interface Mp4Probe {
  readonly probe: VideoProbe;
  readonly packets: PacketIndex;
}

type Declined = { readonly reason: string };

/** Sample entry types of sound tracks ffmpeg keeps as audio. */
const AUDIO_ENTRIES = new Set(['mp4a', 'ac-3', 'ec-3', 'Opus', 'fLaC', 'alac', '.mp3', 'sowt', 'twos', 'lpcm']);
/** Top-level boxes a plain file may hold besides `ftyp`, `moov` and `mdat`. */
const PLAIN_TOP_LEVEL = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'uuid']);
/** ffmpeg's pixel format of an 8-bit stream by chroma_format_idc (monochrome is gray, left to ffprobe). */
const PIXEL_FORMATS: Record<number, string> = { 1: 'yuv420p', 2: 'yuv422p', 3: 'yuv444p' };
const IDENTITY_MATRIX = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000];

/** The probe of `path` when it is a plain H.264 MP4/MOV file (see above), else why not. */
export async function probeMp4(path: string): Promise<Mp4Probe | Declined> {
  const top = await readTopLevel(path);
  if (top.boxes[0]?.type !== 'ftyp') return { reason: 'not an MP4/MOV file' };
  if (!top.complete) return { reason: 'its boxes do not end at the end of the file' };
  if (top.boxes.some((box) => !PLAIN_TOP_LEVEL.has(box.type))) return { reason: 'a top-level box other than ftyp, moov, mdat, free' };
  if (top.boxes.filter((box) => box.type === 'moov').length !== 1 || !top.moov) return { reason: 'not exactly one readable moov box' };
  const found = probeOfMoov(top.moov, top.size);
  if ('reason' in found) return found;
  // The decoder takes an SPS repeated in the first packet over the avcC's: it must be the same.
  const first = await readPacket(path, found.packets.pos[0]!, found.packets.size[0]!);
  const units = nalUnits(first, found.lengthSize);
  if (!units) return { reason: 'the first packet is not in length-prefixed NAL units' };
  if (units.some((unit) => (unit[0]! & 31) === 7 && !equalBytes(unit, found.sps))) return { reason: 'the first packet carries another SPS' };
  return { probe: found.probe, packets: found.packets };
}

async function readPacket(path: string, pos: number, size: number): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const data = new Uint8Array(size);
    const { bytesRead } = await file.read(data, 0, size, pos);
    return data.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/**
 * The probe and packet index from a `moov` box's content, for a file of `fileSize` bytes, with
 * the SPS and NAL length size that the first packet is checked against; or why it is declined.
 * Pure: bytes in, probe out.
 */
export function probeOfMoov(moov: Uint8Array, fileSize: number): (Mp4Probe & { sps: Uint8Array; lengthSize: number }) | Declined {
  try {
    return readMoov(moov, fileSize);
  } catch (error) {
    if (error instanceof RangeError) return { reason: 'a box ends early' };
    throw error;
  }
}

function readMoov(moov: Uint8Array, fileSize: number): (Mp4Probe & { sps: Uint8Array; lengthSize: number }) | Declined {
  const view = new DataView(moov.buffer, moov.byteOffset, moov.byteLength);
  const boxes = boxesIn(moov);
  if (boxes.some((box) => box.type === 'mvex' || box.type === 'cmov')) return { reason: 'a fragmented or compressed movie' };
  if (includesType(moov, 'covr')) return { reason: 'cover art (ffmpeg lists it as a video stream)' };
  const mvhd = boxes.find((box) => box.type === 'mvhd');
  if (!mvhd) return { reason: 'no mvhd box' };
  const movieTimescale = view.getUint32(mvhd.start + (moov[mvhd.start] === 1 ? 20 : 12));

  let video: Track | undefined;
  for (const trak of boxes.filter((box) => box.type === 'trak')) {
    const track = trackOf(moov, view, trak);
    if (!track) return { reason: 'a track without a handler or sample description' };
    if (track.handler === 'vide') {
      if (video) return { reason: 'more than one video track' };
      video = track;
    } else if (track.handler !== 'soun' || !AUDIO_ENTRIES.has(track.entry.type)) {
      return { reason: `a ${track.handler} track with ${track.entry.type} samples` };
    }
  }
  if (!video) return { reason: 'no video track' };
  const { trak, stbl, entry } = video;
  if (entry.type !== 'avc1') return { reason: `${entry.type} samples, not avc1` };
  if (view.getUint32(video.stsd.start + 4) !== 1) return { reason: 'more than one sample description' };

  const tkhd = child(moov, trak, 'tkhd');
  if (!tkhd) return { reason: 'no tkhd box' };
  const matrixAt = tkhd.start + (moov[tkhd.start] === 1 ? 52 : 40);
  if (IDENTITY_MATRIX.some((value, k) => view.getUint32(matrixAt + 4 * k) !== value)) return { reason: 'a display matrix (rotation)' };

  // The visual sample entry: width and height at 24, child boxes after 78 bytes.
  const entryWidth = view.getUint16(entry.start + 24);
  const entryHeight = view.getUint16(entry.start + 26);
  const entryBoxes = boxesIn(moov, entry.start + 78, entry.end);
  const configs = entryBoxes.filter((box) => box.type === 'avcC' || box.type === 'glbl');
  if (configs.length !== 1 || configs[0]!.type !== 'avcC') return { reason: 'not exactly one avcC' };
  const config = moov.subarray(configs[0]!.start, configs[0]!.end);
  const parameterSets = avcConfigParameterSets(config);
  if (!parameterSets) return { reason: 'an avcC that does not parse' };
  const spsUnits = parameterSets.filter((unit) => (unit[0]! & 31) === 7);
  if (spsUnits.length !== 1) return { reason: 'not exactly one SPS' };
  const sps = parseSps(spsUnits[0]!).sps;
  const pixFmt = PIXEL_FORMATS[sps.chromaFormat];
  if (!pixFmt || sps.separateColourPlane || sps.bitDepthLuma !== 8 || sps.bitDepthChroma !== 8) return { reason: 'not 8-bit 4:2:0, 4:2:2 or 4:4:4' };
  // Matrix 0 (identity) makes a 4:4:4 stream gbrp, 8 (YCgCo) is declined by the decoder.
  if (sps.matrixCoefficients === 0 || sps.matrixCoefficients === 8) return { reason: 'RGB or YCgCo coefficients' };
  if (!sps.frameMbsOnly) return { reason: 'interlaced' };
  if (sps.crop.left !== 0 || sps.crop.top !== 0) return { reason: 'left or top cropping' };
  // Crop units (7-19, 7-20): chroma samples across, and down for 4:2:0.
  const width = 16 * sps.widthInMbs - (sps.chromaFormat === 3 ? 1 : 2) * sps.crop.right;
  const height = 16 * sps.heightInMbs - (sps.chromaFormat === 1 ? 2 : 1) * sps.crop.bottom;
  if (width !== entryWidth || height !== entryHeight) return { reason: 'the SPS and the sample description give other sizes' };
  const colr = entryBoxes.find((box) => box.type === 'colr');
  const containerFullRange = colr !== undefined && colr.end - colr.start >= 11 && fourCc(moov, colr.start) === 'nclx' && (moov[colr.start + 10]! & 0x80) !== 0;
  if (sps.fullRange ?? containerFullRange) return { reason: 'full range (ffmpeg says yuvj...)' };

  const samples = sampleTable(moov, view, stbl, fileSize, editOf(moov, view, trak, movieTimescale, video.timescale));
  if ('reason' in samples) return samples;
  const probe: VideoProbe = {
    width,
    height,
    storedWidth: width,
    storedHeight: height,
    frameCount: samples.pts.length,
    rotation: 0,
    pixFmt,
    codec: 'h264',
  };
  const packets: PacketIndex = { ...samples, extradataSize: config.length };
  return { probe, packets, sps: spsUnits[0]!, lengthSize: (config[4]! & 3) + 1 };
}

interface Track {
  readonly trak: Box;
  readonly handler: string;
  readonly timescale: number;
  readonly stbl: Box;
  readonly stsd: Box;
  readonly entry: Box;
}

function trackOf(moov: Uint8Array, view: DataView, trak: Box): Track | undefined {
  const mdia = child(moov, trak, 'mdia');
  const hdlr = mdia && child(moov, mdia, 'hdlr');
  const mdhd = mdia && child(moov, mdia, 'mdhd');
  const minf = mdia && child(moov, mdia, 'minf');
  const stbl = minf && child(moov, minf, 'stbl');
  const stsd = stbl && child(moov, stbl, 'stsd');
  const entry = stsd && boxesIn(moov, stsd.start + 8, stsd.end)[0];
  if (!hdlr || !mdhd || !stbl || !stsd || !entry) return undefined;
  const timescale = view.getUint32(mdhd.start + (moov[mdhd.start] === 1 ? 20 : 12));
  return { trak, handler: fourCc(moov, hdlr.start + 8), timescale, stbl, stsd, entry };
}

/**
 * The one edit of a track's edit list, as the media time its first shown frame starts at and how
 * long it lasts in the track's timescale; null without an edit list; undefined for one that is not
 * a single plain edit (rate 1, not empty).
 */
function editOf(moov: Uint8Array, view: DataView, trak: Box, movieTimescale: number, timescale: number): { mediaTime: number; duration: number } | null | undefined {
  const edts = child(moov, trak, 'edts');
  const elst = edts && child(moov, edts, 'elst');
  if (!edts) return null;
  if (!elst || view.getUint32(elst.start + 4) !== 1 || movieTimescale === 0) return undefined;
  const wide = moov[elst.start] === 1;
  const at = elst.start + 8;
  const segment = wide ? Number(view.getBigUint64(at)) : view.getUint32(at);
  const mediaTime = wide ? Number(view.getBigInt64(at + 8)) : view.getInt32(at + 4);
  const rate = view.getUint32(at + (wide ? 16 : 8));
  if (mediaTime < 0 || rate !== 0x10000 || segment === 0) return undefined;
  return { mediaTime, duration: (segment * timescale) / movieTimescale };
}

/** The packet index from a video track's sample tables, or why it is declined. */
function sampleTable(
  moov: Uint8Array,
  view: DataView,
  stbl: Box,
  fileSize: number,
  edit: { mediaTime: number; duration: number } | null | undefined,
): Omit<PacketIndex, 'extradataSize'> | Declined {
  if (edit === undefined) return { reason: 'an edit list other than one plain edit' };
  const table = (type: string) => child(moov, stbl, type);
  if (table('stps') || table('sbgp') || table('stz2')) return { reason: 'partial sync samples, sample groups or compact sizes' };
  const stts = table('stts');
  const stsz = table('stsz');
  const stsc = table('stsc');
  const co64 = table('co64');
  const stco = table('stco') ?? co64;
  if (!stts || !stsz || !stsc || !stco) return { reason: 'a sample table is missing' };

  const count = view.getUint32(stsz.start + 8);
  if (count === 0) return { reason: 'no samples' };
  const uniformSize = view.getUint32(stsz.start + 4);
  const size = new Float64Array(count);
  for (let i = 0; i < count; i++) size[i] = uniformSize !== 0 ? uniformSize : view.getUint32(stsz.start + 12 + 4 * i);

  const dts = new Float64Array(count);
  let sample = 0;
  let time = 0;
  for (let e = 0, entries = view.getUint32(stts.start + 4); e < entries; e++) {
    const run = view.getUint32(stts.start + 8 + 8 * e);
    const delta = view.getUint32(stts.start + 12 + 8 * e);
    for (let k = 0; k < run; k++, sample++) {
      if (sample >= count) return { reason: 'stts counts more samples than stsz' };
      dts[sample] = time;
      time += delta;
    }
  }
  if (sample !== count) return { reason: 'stts counts fewer samples than stsz' };

  const pts = new Float64Array(count);
  const ctts = table('ctts');
  sample = 0;
  if (ctts) {
    for (let e = 0, entries = view.getUint32(ctts.start + 4); e < entries; e++) {
      const run = view.getUint32(ctts.start + 8 + 8 * e);
      const offset = view.getInt32(ctts.start + 12 + 8 * e);
      if (offset < 0) return { reason: 'negative composition offsets' };
      for (let k = 0; k < run && sample < count; k++, sample++) pts[sample] = dts[sample]! + offset;
    }
    if (sample !== count) return { reason: 'ctts covers fewer samples than stsz' };
  } else {
    pts.set(dts);
  }
  let start = Infinity;
  let end = -Infinity;
  for (let i = 0; i < count; i++) {
    start = Math.min(start, pts[i]!);
    end = Math.max(end, pts[i]! + (i + 1 < count ? dts[i + 1]! - dts[i]! : 0));
  }
  // One edit from before the first shown frame to past the last shows every frame, shifted.
  if (edit) {
    if (edit.mediaTime > start || edit.mediaTime + edit.duration < end) return { reason: 'an edit list that leaves out frames' };
    for (let i = 0; i < count; i++) pts[i] = pts[i]! - edit.mediaTime;
  }

  const pos = new Float64Array(count);
  const chunks = view.getUint32(stco.start + 4);
  const wideOffsets = stco === co64;
  const chunkOffset = (c: number) => (wideOffsets ? Number(view.getBigUint64(stco.start + 8 + 8 * c)) : view.getUint32(stco.start + 8 + 4 * c));
  const runs = view.getUint32(stsc.start + 4);
  sample = 0;
  for (let r = 0; r < runs; r++) {
    const firstChunk = view.getUint32(stsc.start + 8 + 12 * r);
    const perChunk = view.getUint32(stsc.start + 12 + 12 * r);
    const description = view.getUint32(stsc.start + 16 + 12 * r);
    const nextChunk = r + 1 < runs ? view.getUint32(stsc.start + 8 + 12 * (r + 1)) : chunks + 1;
    if ((r === 0 && firstChunk !== 1) || nextChunk <= firstChunk || nextChunk > chunks + 1 || perChunk === 0 || description !== 1) {
      return { reason: 'a sample-to-chunk table out of order' };
    }
    for (let c = firstChunk - 1; c < nextChunk - 1; c++) {
      let offset = chunkOffset(c);
      for (let k = 0; k < perChunk; k++, sample++) {
        if (sample >= count) return { reason: 'the chunks hold more samples than stsz' };
        pos[sample] = offset;
        offset += size[sample]!;
      }
    }
  }
  if (sample !== count) return { reason: 'the chunks hold fewer samples than stsz' };
  for (let i = 0; i < count; i++) if (size[i] === 0 || pos[i]! + size[i]! > fileSize) return { reason: 'a sample lies outside the file (truncated?)' };

  const flags = new Uint8Array(count);
  const stss = table('stss');
  if (stss) {
    const entries = view.getUint32(stss.start + 4);
    if (entries === 0) return { reason: 'an empty sync sample table' };
    for (let e = 0; e < entries; e++) {
      const number = view.getUint32(stss.start + 8 + 4 * e);
      if (number < 1 || number > count) return { reason: 'a sync sample out of range' };
      flags[number - 1] = PACKET_KEY;
    }
  } else {
    flags.fill(PACKET_KEY);
  }
  let reorderDelay = 0;
  for (let i = 1; i < count && reorderDelay === 0; i++) if (pts[i]! < pts[i - 1]!) reorderDelay = 1;
  return { pts, pos, size, flags, reorderDelay };
}

function fourCc(data: Uint8Array, at: number): string {
  return String.fromCharCode(data[at]!, data[at + 1]!, data[at + 2]!, data[at + 3]!);
}

function includesType(data: Uint8Array, type: string): boolean {
  const codes = [...type].map((c) => c.charCodeAt(0));
  for (let i = 0; i + 4 <= data.length; i++) {
    if (data[i] === codes[0] && data[i + 1] === codes[1] && data[i + 2] === codes[2] && data[i + 3] === codes[3]) return true;
  }
  return false;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
