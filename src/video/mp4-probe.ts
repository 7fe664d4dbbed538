import { open, type FileHandle } from 'node:fs/promises';
import { avcConfigParameterSets, parsePps, parseSps, ppsAcceptable, slicePpsId, type SequenceParameters } from './h264-order.js';
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
 * - every box read fills its parent exactly and none of them repeats (ffmpeg clips an overrunning
 *   box and reads it, and of two equal boxes keeps one or the other);
 * - it has exactly one video track (`vide`), every other track is sound with a common audio codec
 *   (ffmpeg makes a track with a video sample entry a video stream whatever its handler), and no
 *   track has a handler other than its media's and a data handler in minf;
 * - movie and track have identity display matrices (no rotation) and timescales ffmpeg keeps; a
 *   sound track's esds names an audio codec; one `avc1` sample description of depth 24 without a
 *   colour table, with one `avcC` and no `glbl`, one SPS within ffmpeg's limits of a profile whose
 *   layout ffmpeg reads as the standard does, whose size matches the sample description's, 4:2:0,
 *   4:2:2 or 4:4:4 in 8 bits, frame pictures, no left or top cropping; not full range, RGB or YCgCo
 *   by the SPS or, where it is silent, by the one `colr` box; one PPS ffmpeg takes, of that SPS,
 *   used by the first slice; the first packet repeats no other parameter sets;
 * - its sample tables are consistent (stts, stsz, stsc, one of stco/co64, ctts, stss, no stps or
 *   sample groups), hold no entry ffmpeg reads its own way (zero counts, deltas past 2^31,
 *   negative or huge composition offsets), every packet lies inside the file, and an edit list, if
 *   any, is one plain edit from the first frame shown past the last;
 * - the first packet and every one stss lists are IDR pictures (ffprobe marks keyframes by the
 *   bitstream).
 * test/video/mp4-probe.test.ts holds every video of the test media and generated ones against
 * ffprobe's answer, packet for packet, and hand-edited files that must be declined.
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
/**
 * Profiles whose SPS layout ffmpeg 5.1 and the standard agree on (ffmpeg reads 144 as High and
 * 134, 135, 139 as not, the reverse of the standard): others go to ffprobe.
 */
const PROFILES = new Set([66, 77, 88, 100, 110, 122, 244, 44]);
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
  const { pos, size, flags } = found.packets;
  // ffprobe marks keyframes by the bitstream (IDR pictures), the index by stss: they must agree on
  // the first packet and on every packet stss lists (a few per clip).
  if (flags[0] !== PACKET_KEY) return { reason: 'the first packet is not a sync sample' };
  const notIdr = { reason: 'a sync sample that is not an IDR picture (or one whose start does not tell)' };
  const file = await open(path, 'r');
  try {
    const units = nalUnits(await readAt(file, pos[0]!, size[0]!), found.lengthSize);
    if (!units) return { reason: 'the first packet is not in length-prefixed NAL units' };
    // The decoder takes parameter sets repeated in the first packet over the avcC's: they must be
    // the same, and its first slice must use the avcC's PPS (else the decoder waits for one later,
    // and ffprobe, having decoded nothing, says pix_fmt "unknown").
    const isParameterSet = (unit: Uint8Array) => (unit[0]! & 31) === 7 || (unit[0]! & 31) === 8;
    if (units.some((unit) => isParameterSet(unit) && !found.parameterSets.some((known) => Buffer.from(unit).equals(known)))) {
      return { reason: 'the first packet carries other parameter sets' };
    }
    const slice = units.find((unit) => (unit[0]! & 31) >= 1 && (unit[0]! & 31) <= 5);
    if (slice === undefined || (slice[0]! & 31) !== 5) return notIdr;
    if (ppsIdOf(slice) !== found.ppsId) return { reason: "the first slice does not use the avcC's PPS" };
    // The other sync samples: their first bytes hold the first slice's NAL header.
    for (let i = 1; i < flags.length; i++) {
      if (flags[i] === PACKET_KEY && firstSliceType(await readAt(file, pos[i]!, Math.min(size[i]!, KEY_PREFIX_BYTES)), found.lengthSize) !== 5) return notIdr;
    }
  } finally {
    await file.close();
  }
  return { probe: found.probe, packets: found.packets };
}

/** The PPS id of a slice, or undefined where its header ends early. */
function ppsIdOf(slice: Uint8Array): number | undefined {
  try {
    return slicePpsId(slice);
  } catch {
    return undefined;
  }
}

/** How much of a sync sample is read to find its first slice (after SEI, which x264 makes about 700 bytes). */
const KEY_PREFIX_BYTES = 4096;

async function readAt(file: FileHandle, pos: number, size: number): Promise<Uint8Array> {
  const data = new Uint8Array(size);
  const { bytesRead } = await file.read(data, 0, size, pos);
  return data.subarray(0, bytesRead);
}

/**
 * The NAL unit type of the first slice (1 to 5) among the length-prefixed units that start in
 * `prefix`, the first bytes of a packet; undefined when none starts there.
 */
export function firstSliceType(prefix: Uint8Array, lengthSize: number): number | undefined {
  let offset = 0;
  while (offset + lengthSize < prefix.length) {
    let length = 0;
    for (let k = 0; k < lengthSize; k++) length = length * 256 + prefix[offset + k]!;
    const type = prefix[offset + lengthSize]! & 31;
    if (type >= 1 && type <= 5) return type;
    if (length === 0) return undefined;
    offset += lengthSize + length;
  }
  return undefined;
}

/** What the first packet is checked against: the avcC's parameter sets, its PPS id and NAL length size. */
interface MoovFacts {
  readonly parameterSets: readonly Uint8Array[];
  readonly ppsId: number;
  readonly lengthSize: number;
}

/**
 * The probe and packet index from a `moov` box's content, for a file of `fileSize` bytes, with
 * what the first packet is checked against; or why it is declined. Pure: bytes in, probe out.
 */
export function probeOfMoov(moov: Uint8Array, fileSize: number): (Mp4Probe & MoovFacts) | Declined {
  try {
    return readMoov(moov, fileSize);
  } catch (error) {
    if (error instanceof RangeError) return { reason: 'a box ends early' };
    throw error;
  }
}

/**
 * The children of a container box (from `from` to its end) when they fill it exactly and none of
 * `unique` appears twice: ffmpeg clips a child that overruns its parent and reads it, and of two
 * equal boxes keeps one or the other, so either makes the answer uncertain.
 */
function children(data: Uint8Array, from: number, to: number, unique: readonly string[]): Box[] | undefined {
  const boxes = boxesIn(data, from, to);
  if ((boxes.at(-1)?.end ?? from) !== to) return undefined;
  for (const type of unique) if (boxes.filter((box) => box.type === type).length > 1) return undefined;
  return boxes;
}

function readMoov(moov: Uint8Array, fileSize: number): (Mp4Probe & MoovFacts) | Declined {
  const view = new DataView(moov.buffer, moov.byteOffset, moov.byteLength);
  const boxes = children(moov, 0, moov.length, ['mvhd']);
  if (!boxes) return { reason: 'moov boxes that overrun or repeat' };
  if (boxes.some((box) => box.type === 'mvex' || box.type === 'cmov')) return { reason: 'a fragmented or compressed movie' };
  if (indexOfType(moov, 'covr') >= 0) return { reason: 'cover art (ffmpeg lists it as a video stream)' };
  const mvhd = boxes.find((box) => box.type === 'mvhd');
  if (!mvhd) return { reason: 'no mvhd box' };
  const mvhdWide = moov[mvhd.start] === 1;
  const movieTimescale = view.getUint32(mvhd.start + (mvhdWide ? 20 : 12));
  // ffmpeg reads timescales as signed and replaces one it finds invalid.
  if (!validTimescale(movieTimescale)) return { reason: 'a movie timescale ffmpeg replaces' };
  // ffmpeg multiplies the movie's matrix into each track's.
  if (!identityMatrix(view, mvhd.start + (mvhdWide ? 48 : 36))) return { reason: 'a movie display matrix' };

  let video: Track | undefined;
  for (const trak of boxes.filter((box) => box.type === 'trak')) {
    const track = trackOf(moov, view, trak);
    if ('reason' in track) return track;
    if (!validTimescale(track.timescale)) return { reason: 'a track timescale ffmpeg replaces' };
    if (track.handler === 'vide') {
      if (video) return { reason: 'more than one video track' };
      video = track;
    } else if (track.handler !== 'soun' || !AUDIO_ENTRIES.has(track.entry.type)) {
      return { reason: `a ${track.handler} track with ${track.entry.type} samples` };
    } else if (!audioDescriptor(moov, track.entry)) {
      return { reason: 'a sound track whose esds names no audio codec' };
    }
  }
  if (!video) return { reason: 'no video track' };
  const { tkhd, stbl, entry } = video;
  if (entry.type !== 'avc1') return { reason: `${entry.type} samples, not avc1` };
  if (!identityMatrix(view, tkhd.start + (moov[tkhd.start] === 1 ? 52 : 40))) return { reason: 'a display matrix (rotation)' };

  // The visual sample entry: width and height at 24, depth at 74, colour table id at 76, child
  // boxes after 78 bytes. Another depth or a colour table makes ffmpeg read a palette first.
  const entryWidth = view.getUint16(entry.start + 24);
  const entryHeight = view.getUint16(entry.start + 26);
  if (view.getUint16(entry.start + 74) !== 24 || view.getInt16(entry.start + 76) !== -1) return { reason: 'a sample entry with another depth or a colour table' };
  const entryBoxes = children(moov, entry.start + 78, entry.end, ['avcC', 'glbl', 'colr']);
  if (!entryBoxes) return { reason: 'sample entry boxes that overrun or repeat' };
  const configs = entryBoxes.filter((box) => box.type === 'avcC' || box.type === 'glbl');
  if (configs.length !== 1 || configs[0]!.type !== 'avcC') return { reason: 'not exactly one avcC' };
  const config = moov.subarray(configs[0]!.start, configs[0]!.end);
  const parameterSets = avcConfigParameterSets(config);
  if (!parameterSets) return { reason: 'an avcC that does not parse' };
  const spsUnits = parameterSets.filter((unit) => (unit[0]! & 31) === 7);
  if (spsUnits.length !== 1) return { reason: 'not exactly one SPS' };
  const { id: spsId, sps } = parseSps(spsUnits[0]!);
  if (!PROFILES.has(sps.profile)) return { reason: `H.264 profile ${sps.profile}` };
  if (!withinFfmpegLimits(spsUnits[0]!, spsId, sps)) return { reason: 'an SPS ffmpeg would refuse' };
  // One PPS that parses and belongs to that SPS (ffmpeg drops the whole avcC over one it refuses).
  const ppsUnits = parameterSets.filter((candidate) => (candidate[0]! & 31) !== 7);
  const pps = ppsUnits.length === 1 && (ppsUnits[0]![0]! & 0x9f) === 8 ? parsePpsOrUndefined(ppsUnits[0]!) : undefined;
  if (!pps || pps.id >= 256 || pps.pps.spsId !== spsId || !ppsAcceptable(ppsUnits[0]!, sps)) return { reason: 'not exactly one PPS ffmpeg would take' };
  const pixFmt = PIXEL_FORMATS[sps.chromaFormat];
  if (!pixFmt || sps.separateColourPlane || sps.bitDepthLuma !== 8 || sps.bitDepthChroma !== 8) return { reason: 'not 8-bit 4:2:0, 4:2:2 or 4:4:4' };
  if (!sps.frameMbsOnly) return { reason: 'interlaced' };
  if (sps.crop.left !== 0 || sps.crop.top !== 0) return { reason: 'left or top cropping' };
  // Crop units (7-19, 7-20): chroma samples across, and down for 4:2:0.
  const width = 16 * sps.widthInMbs - (sps.chromaFormat === 3 ? 1 : 2) * sps.crop.right;
  const height = 16 * sps.heightInMbs - (sps.chromaFormat === 1 ? 2 : 1) * sps.crop.bottom;
  if (!(width > 0 && height > 0)) return { reason: 'cropped to nothing' };
  if (width !== entryWidth || height !== entryHeight) return { reason: 'the SPS and the sample description give other sizes' };
  // The decoder takes range and matrix from the SPS where it gives them, else from the container's
  // colr box; full range makes ffmpeg say yuvj..., matrix 0 makes 4:4:4 gbrp, 8 (YCgCo) is refused.
  const colour = colourOf(moov, entryBoxes.find((box) => box.type === 'colr'));
  if ('reason' in colour) return colour;
  if (sps.fullRange ?? colour.fullRange) return { reason: 'full range (ffmpeg says yuvj...)' };
  const matrix = sps.matrixCoefficients ?? colour.matrix;
  if (matrix === 0 || matrix === 8) return { reason: 'RGB or YCgCo coefficients' };

  const edit = editOf(moov, view, video.edts, movieTimescale, video.timescale);
  if (edit === undefined) return { reason: 'an edit list other than one plain edit' };
  const samples = sampleTable(moov, view, stbl, fileSize, edit);
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
  return { probe, packets, parameterSets, ppsId: pps.id, lengthSize: (config[4]! & 3) + 1 };
}

function validTimescale(timescale: number): boolean {
  return timescale > 0 && timescale < 2 ** 31;
}

/**
 * Whether ffmpeg 5.1 accepts the SPS (h264_ps.c): otherwise ffprobe says pix_fmt "unknown", which
 * changes the conversion (docs/exactness.md §2), and the probe cannot answer for it.
 */
function withinFfmpegLimits(nal: Uint8Array, id: number, sps: SequenceParameters): boolean {
  const width = 16 * sps.widthInMbs;
  const height = 16 * sps.heightInMbs;
  return (
    (nal[0]! & 0x80) === 0 &&
    id < 32 &&
    sps.log2MaxFrameNum <= 16 &&
    sps.pocType <= 2 &&
    (sps.pocType !== 0 || sps.log2MaxPocLsb <= 16) &&
    sps.pocCycleLength < 256 &&
    sps.refFrames <= 16 &&
    (sps.aspectRatioIdc === undefined || sps.aspectRatioIdc <= 16 || sps.aspectRatioIdc === 255) &&
    sps.cpbCount <= 32 &&
    (sps.maxNumReorderFrames === undefined || sps.maxNumReorderFrames <= 16) &&
    sps.vuiComplete &&
    // av_image_check_size
    (width + 128) * (height + 128) < 2 ** 31 / 8
  );
}

function parsePpsOrUndefined(nal: Uint8Array): ReturnType<typeof parsePps> | undefined {
  try {
    return parsePps(nal);
  } catch {
    return undefined;
  }
}

/** MPEG-4 object types of audio codecs (ISO/IEC 14496-1 Table 5): AAC, MPEG-2 AAC, MP3. */
const AUDIO_OBJECT_TYPES = new Set([0x40, 0x66, 0x67, 0x68, 0x69, 0x6b]);

/**
 * Whether a sound sample entry's `esds`, if it has one, names an audio codec: ffmpeg takes the
 * codec from it, and a video codec there makes ffprobe fail on the whole file.
 */
function audioDescriptor(data: Uint8Array, entry: Box): boolean {
  const at = indexOfType(data.subarray(entry.start, entry.end), 'esds');
  if (at < 0) return true;
  // After the esds box's type: version and flags, then ES_Descriptor (tag 3, size, ES_ID, flags,
  // optional fields), then DecoderConfigDescriptor (tag 4, size, objectTypeIndication).
  let offset = entry.start + at + 4 + 4;
  const descriptor = (tag: number): boolean => {
    if (data[offset] !== tag) return false;
    offset += 1;
    for (let k = 0; k < 4 && offset < entry.end; k++) if ((data[offset++]! & 0x80) === 0) break;
    return true;
  };
  if (!descriptor(3)) return false;
  const flags = data[offset + 2] ?? 0;
  offset += 3;
  if (flags & 0x80) offset += 2; // dependsOn_ES_ID
  if (flags & 0x40) offset += 1 + (data[offset] ?? 0); // URL
  if (flags & 0x20) offset += 2; // OCR_ES_Id
  return descriptor(4) && offset < entry.end && AUDIO_OBJECT_TYPES.has(data[offset]!);
}

function identityMatrix(view: DataView, at: number): boolean {
  return IDENTITY_MATRIX.every((value, k) => view.getUint32(at + 4 * k) === value);
}

/** The colour range and matrix a `colr` box gives (nclx: both; nclc: the matrix), if any. */
function colourOf(data: Uint8Array, colr: Box | undefined): { fullRange?: boolean; matrix?: number } | Declined {
  if (!colr) return {};
  const kind = fourCc(data, colr.start);
  if (kind !== 'nclx' && kind !== 'nclc') return { reason: `a ${kind} colr box` };
  if (colr.end - colr.start < (kind === 'nclx' ? 11 : 10)) return { reason: 'a short colr box' };
  const matrix = data[colr.start + 8]! * 256 + data[colr.start + 9]!;
  return kind === 'nclx' ? { matrix, fullRange: (data[colr.start + 10]! & 0x80) !== 0 } : { matrix };
}

interface Track {
  readonly handler: string;
  readonly timescale: number;
  readonly tkhd: Box;
  readonly edts: Box | undefined;
  readonly stbl: Box;
  readonly entry: Box;
}

/** Data handlers QuickTime puts in `minf` (ffmpeg reads their type as it reads the media's). */
const DATA_HANDLERS = new Set(['alis', 'url ', 'rsrc']);

function trackOf(moov: Uint8Array, view: DataView, trak: Box): Track | Declined {
  const inTrak = children(moov, trak.start, trak.end, ['tkhd', 'edts', 'mdia']);
  const tkhd = inTrak?.find((box) => box.type === 'tkhd');
  const edts = inTrak?.find((box) => box.type === 'edts');
  const mdia = inTrak?.find((box) => box.type === 'mdia');
  const inMdia = mdia && children(moov, mdia.start, mdia.end, ['mdhd', 'hdlr', 'minf']);
  const hdlr = inMdia?.find((box) => box.type === 'hdlr');
  const mdhd = inMdia?.find((box) => box.type === 'mdhd');
  const minf = inMdia?.find((box) => box.type === 'minf');
  const inMinf = minf && children(moov, minf.start, minf.end, ['stbl', 'hdlr']);
  const stbl = inMinf?.find((box) => box.type === 'stbl');
  const stsd = stbl && child(moov, stbl, 'stsd');
  if (!tkhd || !mdia || !hdlr || !mdhd || !minf || !inMinf || !stbl || !stsd) return { reason: 'a track whose boxes are missing, overrun or repeat' };
  // Every hdlr in the track sets the stream's kind in ffmpeg: only the media's and a data handler in minf.
  const dataHandler = inMinf.find((box) => box.type === 'hdlr');
  const handlers = countType(moov.subarray(trak.start, trak.end), 'hdlr');
  if (handlers !== (dataHandler ? 2 : 1) || (dataHandler && !DATA_HANDLERS.has(fourCc(moov, dataHandler.start + 8)))) return { reason: 'a track with other handlers' };
  if (stsd.end - stsd.start < 8 || view.getUint32(stsd.start + 4) !== 1) return { reason: 'not exactly one sample description' };
  const entries = children(moov, stsd.start + 8, stsd.end, []);
  if (!entries || entries.length !== 1) return { reason: 'not exactly one sample description' };
  const timescale = view.getUint32(mdhd.start + (moov[mdhd.start] === 1 ? 20 : 12));
  return { handler: fourCc(moov, hdlr.start + 8), timescale, tkhd, edts, stbl, entry: entries[0]! };
}

/**
 * The one edit of a track's edit list, as the media time its first shown frame starts at and how
 * long it lasts in the track's timescale; null without an edit list; undefined for one that is not
 * a single plain edit (rate 1, not empty).
 */
function editOf(moov: Uint8Array, view: DataView, edts: Box | undefined, movieTimescale: number, timescale: number): { mediaTime: number; duration: number } | null | undefined {
  if (!edts) return null;
  const inEdts = children(moov, edts.start, edts.end, ['elst']);
  const elst = inEdts?.length === 1 ? inEdts[0] : undefined;
  if (elst?.type !== 'elst' || elst.end - elst.start < 8 || view.getUint32(elst.start + 4) !== 1) return undefined;
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
  edit: { mediaTime: number; duration: number } | null,
): Omit<PacketIndex, 'extradataSize'> | Declined {
  const tables = children(moov, stbl.start, stbl.end, ['stsd', 'stts', 'ctts', 'stss', 'stsz', 'stsc', 'stco', 'co64']);
  if (!tables) return { reason: 'sample tables that overrun or repeat' };
  const table = (type: string) => tables.find((box) => box.type === type);
  if (table('stps') || table('sbgp') || table('stz2')) return { reason: 'partial sync samples, sample groups or compact sizes' };
  const stts = table('stts');
  const stsz = table('stsz');
  const stsc = table('stsc');
  const stco = table('stco');
  const co64 = table('co64');
  const stss = table('stss');
  if (!stts || !stsz || !stsc || (stco === undefined) === (co64 === undefined)) return { reason: 'a sample table is missing (or both stco and co64)' };
  // Without stss ffprobe marks keyframes by what the bitstream says; with it, both say the same
  // for any file whose stss lists its IDR pictures.
  if (!stss) return { reason: 'no sync sample table' };

  const count = view.getUint32(stsz.start + 8);
  const uniformSize = view.getUint32(stsz.start + 4);
  // Every sample takes a byte of the file at least, and a table entry unless their size is uniform.
  if (count === 0 || count > fileSize || (uniformSize === 0 && stsz.end - stsz.start < 12 + 4 * count)) return { reason: 'a sample count the file cannot hold' };
  const sttsEntries = view.getUint32(stts.start + 4);
  if (stts.end - stts.start < 8 + 8 * sttsEntries) return { reason: 'a short stts' };
  let counted = 0;
  for (let e = 0; e < sttsEntries; e++) {
    const run = view.getUint32(stts.start + 8 + 8 * e);
    // ffmpeg applies a zero-count entry's delta on, and clips deltas near 2^32.
    if (run === 0 || view.getUint32(stts.start + 12 + 8 * e) >= 2 ** 31) return { reason: 'an stts entry ffmpeg reads its own way' };
    counted += run;
  }
  if (counted !== count) return { reason: 'stts and stsz count other samples' };

  const size = new Float64Array(count);
  for (let i = 0; i < count; i++) size[i] = uniformSize !== 0 ? uniformSize : view.getUint32(stsz.start + 12 + 4 * i);
  const dts = new Float64Array(count);
  const duration = new Float64Array(count);
  let sample = 0;
  let time = 0;
  for (let e = 0; e < sttsEntries; e++) {
    const run = view.getUint32(stts.start + 8 + 8 * e);
    const delta = view.getUint32(stts.start + 12 + 8 * e);
    for (let k = 0; k < run; k++, sample++) {
      dts[sample] = time;
      duration[sample] = delta;
      time += delta;
    }
  }

  const pts = new Float64Array(count);
  const ctts = table('ctts');
  sample = 0;
  if (ctts) {
    const entries = view.getUint32(ctts.start + 4);
    if (ctts.end - ctts.start < 8 + 8 * entries) return { reason: 'a short ctts' };
    for (let e = 0; e < entries && sample < count; e++) {
      const run = view.getUint32(ctts.start + 8 + 8 * e);
      const offset = view.getInt32(ctts.start + 12 + 8 * e);
      // ffmpeg ignores a count past 2^31 and drops the table for an offset past 2^28.
      if (offset < 0 || offset >= 2 ** 28 || run >= 2 ** 31) return { reason: 'a ctts entry ffmpeg reads its own way' };
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
    end = Math.max(end, pts[i]! + duration[i]!);
  }
  // One edit from the first shown frame to the end of the last shows every frame, shifted.
  if (edit) {
    if (edit.mediaTime !== start || edit.mediaTime + edit.duration < end) return { reason: 'an edit list that leaves out frames or shifts them' };
    for (let i = 0; i < count; i++) pts[i] = pts[i]! - edit.mediaTime;
  }

  const pos = new Float64Array(count);
  const chunkTable = (stco ?? co64)!;
  const wideOffsets = chunkTable === co64;
  const chunks = view.getUint32(chunkTable.start + 4);
  if (chunkTable.end - chunkTable.start < 8 + chunks * (wideOffsets ? 8 : 4)) return { reason: 'a short chunk offset table' };
  const chunkOffset = (c: number) => (wideOffsets ? Number(view.getBigUint64(chunkTable.start + 8 + 8 * c)) : view.getUint32(chunkTable.start + 8 + 4 * c));
  const runs = view.getUint32(stsc.start + 4);
  if (stsc.end - stsc.start < 8 + 12 * runs) return { reason: 'a short stsc' };
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
  const syncEntries = view.getUint32(stss.start + 4);
  if (syncEntries === 0 || stss.end - stss.start < 8 + 4 * syncEntries) return { reason: 'an empty or short sync sample table' };
  for (let e = 0; e < syncEntries; e++) {
    const number = view.getUint32(stss.start + 8 + 4 * e);
    if (number < 1 || number > count) return { reason: 'a sync sample out of range' };
    flags[number - 1] = PACKET_KEY;
  }
  let reorderDelay = 0;
  for (let i = 1; i < count && reorderDelay === 0; i++) if (pts[i]! < pts[i - 1]!) reorderDelay = 1;
  return { pts, pos, size, flags, reorderDelay };
}

function fourCc(data: Uint8Array, at: number): string {
  return String.fromCharCode(data[at]!, data[at + 1]!, data[at + 2]!, data[at + 3]!);
}

/** How many times the four-character code `type` occurs in `data`, anywhere (a conservative count of boxes). */
function countType(data: Uint8Array, type: string): number {
  let found = 0;
  for (let at = indexOfType(data, type); at >= 0; at = indexOfType(data, type, at + 1)) found += 1;
  return found;
}

function indexOfType(data: Uint8Array, type: string, from = 0): number {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).indexOf(type, from, 'latin1');
}
