import { open } from 'node:fs/promises';

/**
 * The H.264 decoder configuration (the `avcC` box: SPS, PPS and the NAL length size) of an MP4/MOV
 * file's first video track, read from the file's `moov` box, for a sparse decode
 * (src/video/sparse-decode.ts) that hands the stream's packets to ffmpeg in another container.
 * ffprobe prints it only together with a hex dump of every packet, at several times the cost.
 */

/** A `moov` larger than this is not read (a ten-hour clip's is about 20 MB). */
const MAX_MOOV_BYTES = 256 << 20;

export interface Box {
  readonly type: string;
  /** Where the box's content starts and ends, in the buffer or file it was found in. */
  readonly start: number;
  readonly end: number;
}

/** The boxes in `data` between `from` and `to`; stops at the first that does not fit. */
export function boxesIn(data: Uint8Array, from = 0, to = data.length): Box[] {
  const boxes: Box[] = [];
  let offset = from;
  for (;;) {
    const box = boxHeader(data.subarray(offset, Math.min(offset + 16, to)), to - offset);
    if (!box) return boxes;
    boxes.push({ type: box.type, start: offset + box.start, end: offset + box.end });
    offset += box.end;
  }
}

export function child(data: Uint8Array, parent: Box, type: string): Box | undefined {
  return boxesIn(data, parent.start, parent.end).find((box) => box.type === type);
}

/**
 * The avcC content of the first video track in a `moov` box's content, or undefined when that
 * track is not H.264 in length-prefixed form (`avc1`/`avc3`) with exactly one sample description.
 */
export function avcConfigOfMoov(moov: Uint8Array): Uint8Array | undefined {
  for (const trak of boxesIn(moov).filter((box) => box.type === 'trak')) {
    const mdia = child(moov, trak, 'mdia');
    const hdlr = mdia && child(moov, mdia, 'hdlr');
    // hdlr: version and flags (4), pre_defined (4), then the handler type.
    if (!mdia || !hdlr || hdlr.end - hdlr.start < 12) continue;
    const handler = String.fromCharCode(...moov.subarray(hdlr.start + 8, hdlr.start + 12));
    if (handler !== 'vide') continue;
    const minf = child(moov, mdia, 'minf');
    const stbl = minf && child(moov, minf, 'stbl');
    const stsd = stbl && child(moov, stbl, 'stsd');
    if (!stsd || stsd.end - stsd.start < 8) return undefined;
    const view = new DataView(moov.buffer, moov.byteOffset, moov.byteLength);
    if (view.getUint32(stsd.start + 4) !== 1) return undefined;
    const [entry] = boxesIn(moov, stsd.start + 8, stsd.end);
    if (!entry || (entry.type !== 'avc1' && entry.type !== 'avc3')) return undefined;
    // A visual sample entry's own fields take 78 bytes before its child boxes. ffmpeg takes the
    // first `avcC` or `glbl` it meets as the configuration: one avcC and no glbl leave no doubt.
    const children = boxesIn(moov, entry.start + 78, entry.end);
    const configs = children.filter((box) => box.type === 'avcC' || box.type === 'glbl');
    if (configs.length !== 1 || configs[0]!.type !== 'avcC') return undefined;
    return moov.subarray(configs[0]!.start, configs[0]!.end);
  }
  return undefined;
}

/** The avcC content of `path`'s first video track (see avcConfigOfMoov), or undefined. */
export async function readAvcConfig(path: string): Promise<Uint8Array | undefined> {
  const { moov } = await readTopLevel(path);
  return moov && avcConfigOfMoov(moov);
}

export interface TopLevel {
  /** The file's top-level boxes as far as they fit in it, with offsets in the file. */
  readonly boxes: readonly Box[];
  /** Whether those boxes end exactly at the end of the file. */
  readonly complete: boolean;
  /** The content of the first `moov` box, when it fits in the file and in MAX_MOOV_BYTES. */
  readonly moov: Uint8Array | undefined;
  readonly size: number;
}

/** Walks `path`'s top-level boxes (reading only their headers) and reads its first `moov` box. */
export async function readTopLevel(path: string): Promise<TopLevel> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const header = new Uint8Array(16);
    const boxes: Box[] = [];
    let moov: Uint8Array | undefined;
    let offset = 0;
    while (offset + 8 <= size) {
      const { bytesRead } = await file.read(header, 0, 16, offset);
      const box = boxHeader(header.subarray(0, bytesRead), size - offset);
      if (!box) break;
      boxes.push({ type: box.type, start: offset + box.start, end: offset + box.end });
      if (box.type === 'moov' && moov === undefined) {
        const contentLength = box.end - box.start;
        if (contentLength > MAX_MOOV_BYTES) break;
        const content = new Uint8Array(contentLength);
        const read = await file.read(content, 0, contentLength, offset + box.start);
        if (read.bytesRead !== contentLength) break;
        moov = content;
      }
      offset += box.end;
    }
    return { boxes, complete: offset === size, moov, size };
  } finally {
    await file.close();
  }
}

/**
 * The box whose header starts `header` (up to 16 bytes of a file), relative to its start, with
 * `remaining` bytes left in the file; undefined when it does not fit.
 */
function boxHeader(header: Uint8Array, remaining: number): Box | undefined {
  if (header.length < 8) return undefined;
  const view = new DataView(header.buffer, header.byteOffset, header.length);
  let size = view.getUint32(0);
  let start = 8;
  if (size === 1) {
    if (header.length < 16) return undefined;
    size = Number(view.getBigUint64(8));
    start = 16;
  } else if (size === 0) {
    size = remaining;
  }
  if (size < start || size > remaining) return undefined;
  return { type: String.fromCharCode(...header.subarray(4, 8)), start, end: size };
}
