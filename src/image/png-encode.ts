import { promisify } from 'node:util';
import zlib from 'node:zlib';

/**
 * PNG encoding of 8-bit RGB and gray images with node:zlib, for the crops and diff masks
 * (src/image/png.ts). sharp (libvips) offers only its adaptive row filter, which tries five
 * filters on every row, and no zlib strategy; with the Up filter on every row and zlib's run-length
 * strategy at level 1, a face crop encodes in half the time at about the same size (measured on
 * 150 crops of dataset_b: 3.3 ms and 130 KB against sharp's 6.7 ms and 127 KB at level 2; OpenCV,
 * which the reference writes with, uses the same strategy, and made 154 KB). PNG is lossless:
 * the pixels are those given, whatever the encoder (docs/exactness.md §8).
 *
 * zlib runs on libuv's thread pool, off the calling thread (the `dfdc` command, src/cli/main.cts,
 * sizes it to the host's CPUs).
 */

const deflate = promisify(zlib.deflate);

/** How the pixel data is compressed: zlib level 1 with the run-length strategy. */
const deflateOptions: zlib.ZlibOptions = { level: 1, strategy: zlib.constants.Z_RLE };

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
/** PNG filter type 2: each byte minus the byte above it. */
const FILTER_UP = 2;

/**
 * The PNG file of an 8-bit image with `channels` samples per pixel (1: gray, 3: RGB), rows top to
 * bottom, no interlacing.
 */
export async function encodePng(data: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<Buffer> {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || data.length !== width * height * channels) {
    throw new RangeError(`encodePng: ${data.length} bytes are not a ${width}x${height} image of ${channels} channel(s)`);
  }
  const scanlines = filterUp(data, width * channels, height);
  // One output chunk for the whole image (level 1 RLE makes a crop a quarter of its size): each
  // further chunk is another round trip between the thread pool and this thread.
  const compressed = await deflate(scanlines, { ...deflateOptions, chunkSize: Math.max(zlib.constants.Z_DEFAULT_CHUNK, scanlines.length >>> 1) });
  return pngFile(width, height, channels === 3 ? 2 : 0, compressed);
}

/**
 * The scanlines with the Up filter: a filter-type byte, then each byte minus the one above
 * (mod 256). Four bytes at a time in 32-bit words (SWAR: the subtraction of each byte is kept from
 * borrowing from its neighbour), on rows copied to a 4-byte stride: about a third of a byte loop's
 * time, which matters because this runs on the calling thread (the crops stage's main thread).
 */
export function filterUp(data: Uint8Array, rowBytes: number, rows: number): Uint8Array {
  const words = (rowBytes + 3) >>> 2;
  const stride = words * 4;
  // The two word arrays are scratch, reused from call to call (this runs synchronously): fewer
  // large allocations for the garbage collector, which a crops run keeps busy.
  // A row's padding bytes keep what an earlier call left: each byte's difference is its own, and
  // theirs are not copied out.
  const reused = scratchWords(2 * words * rows);
  const aligned = new Uint8Array(reused.buffer, 0, stride * rows);
  for (let y = 0; y < rows; y++) aligned.set(data.subarray(y * rowBytes, (y + 1) * rowBytes), y * stride);
  const current = reused.subarray(0, words * rows);
  const difference = reused.subarray(words * rows, 2 * words * rows);
  difference.set(current.subarray(0, words));
  for (let k = words, end = words * rows; k < end; k++) {
    const a = current[k]!;
    const b = current[k - words]!;
    difference[k] = ((a | 0x80808080) - (b & 0x7f7f7f7f)) ^ ((a ^ ~b) & 0x80808080);
  }
  const bytes = new Uint8Array(difference.buffer, difference.byteOffset, difference.byteLength);
  const out = new Uint8Array((rowBytes + 1) * rows);
  for (let y = 0; y < rows; y++) {
    out[y * (rowBytes + 1)] = FILTER_UP;
    out.set(bytes.subarray(y * stride, y * stride + rowBytes), y * (rowBytes + 1) + 1);
  }
  return out;
}

let scratch = new Uint32Array(0);

/** At least `words` words of filterUp's scratch (grown, never shrunk: a crop is at most a frame). */
function scratchWords(words: number): Uint32Array {
  if (scratch.length < words) scratch = new Uint32Array(words);
  return scratch;
}

/** Signature, IHDR (8-bit, `colorType` 0 gray or 2 RGB), one IDAT with `compressed`, IEND, in one buffer. */
export function pngFile(width: number, height: number, colorType: 0 | 2, compressed: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(SIGNATURE.length + 12 + 13 + 12 + compressed.length + 12);
  out.set(SIGNATURE, 0);
  let at = SIGNATURE.length;
  const chunk = (type: string, length: number, fill: (offset: number) => void) => {
    out.writeUInt32BE(length, at);
    out.write(type, at + 4, 'latin1');
    fill(at + 8);
    out.writeUInt32BE(crc32(out.subarray(at + 4, at + 8 + length)), at + 8 + length);
    at += 12 + length;
  };
  chunk('IHDR', 13, (offset) => {
    out.writeUInt32BE(width, offset);
    out.writeUInt32BE(height, offset + 4);
    out[offset + 8] = 8; // bit depth
    out[offset + 9] = colorType;
    // compression 0, filter method 0, interlace 0
    out.fill(0, offset + 10, offset + 13);
  });
  chunk('IDAT', compressed.length, (offset) => out.set(compressed, offset));
  chunk('IEND', 0, () => undefined);
  return out;
}

/** CRC-32 (ISO 3309, as PNG uses): zlib's where this Node has it (20.15 and later), else tableCrc32. */
export function crc32(bytes: Uint8Array): number {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  return native ? native(bytes) : tableCrc32(bytes);
}

/** CRC-32 from a 256-entry table, for Nodes whose zlib module has no crc32. */
export function tableCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
