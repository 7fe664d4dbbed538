import { open } from 'node:fs/promises';
import type SharpModule from 'sharp';
import { writeFileAtomic } from '../util/atomic-write.js';
import { FatalError, UnitError, errnoCode, messageOf } from '../util/errors.js';
import { encodePng } from './png-encode.js';
import { assertRgb, type GrayImage, type RgbImage } from './rgb-image.js';

/**
 * PNG files of the pipeline: 8-bit RGB crops and 8-bit gray diff masks, written atomically
 * (lossless: pixels are compared, not file bytes), read back as RGB with sharp, and their size
 * read from the header alone. See docs/exactness.md §8.
 */

let sharpLoaded: Promise<typeof SharpModule> | undefined;

/**
 * sharp, loaded the first time an image is read: the crops stage reads none, and loading libvips
 * costs about 70 ms of CPU in each process and worker thread that does. If it cannot load (a broken
 * install), that stops the run, rather than failing every image as unreadable.
 */
function loadSharp(): Promise<typeof SharpModule> {
  sharpLoaded ??= import('sharp').then(
    ({ default: sharp }) => {
      // Every PNG is read once: libvips' operation cache would only hold memory (and could serve a
      // stale file that was rewritten at the same path).
      sharp.cache(false);
      return sharp;
    },
    (error: unknown) => {
      throw new FatalError(`sharp (libvips), which reads the images, cannot load (${messageOf(error).split('\n')[0]}): reinstall dfdc (\`npm ci\` in its folder, or \`npm install -g\` of its tarball)`, { cause: error });
    },
  );
  return sharpLoaded;
}

/*
 * PNGs are encoded by src/image/png-encode.ts (node:zlib: half sharp's time at the same size) and
 * written by node:fs, which also reports a failed write with the system's reason (libvips says
 * only "wbuffer_write: write failed"), so that a full disk stops the run with its fix.
 */

/** Writes an 8-bit RGB PNG (no alpha) to `path` through a temporary file. */
export async function writeRgbPng(path: string, image: RgbImage): Promise<void> {
  assertRgb(image, path);
  await writeFileAtomic(path, await encodePng(image.data, image.width, image.height, 3));
}

/** Writes an 8-bit grayscale PNG (one channel) to `path` through a temporary file. */
export async function writeGrayPng(path: string, image: GrayImage): Promise<void> {
  if (image.data.length !== image.width * image.height) {
    throw new Error(`${path}: expected ${image.width}x${image.height} = ${image.width * image.height} gray bytes, got ${image.data.length}`);
  }
  await writeFileAtomic(path, await encodePng(image.data, image.width, image.height, 1));
}

/**
 * Reads an image file (PNG crops, or any format sharp reads) as 8-bit RGB with its pixels as
 * stored, as OpenCV's imread and `np.uint8(PIL.Image.open(path).convert('RGB'))` give them: alpha
 * dropped, gray expanded to three equal channels, and no colour conversion through an embedded ICC
 * profile (sharp would otherwise apply it; the golden paul_rudd.png has one, and it moved a box 36 px).
 */
export async function readRgbImage(path: string): Promise<RgbImage> {
  const sharp = await loadSharp();
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    decoded = await sharp(path).keepIccProfile().removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    // Too many open files is the machine's problem, not the image's.
    if (errnoCode(error) === 'EMFILE' || errnoCode(error) === 'ENFILE') throw error;
    const reason = errnoCode(error) === 'ENOENT' ? 'no such file' : messageOf(error).replace(`${path}: `, '');
    throw new UnitError(`${path}: not a readable image (${reason})`, { file: path, cause: error });
  }
  const { data, info } = decoded;
  if (info.channels !== 3) throw new UnitError(`${path}: unexpected ${info.channels}-channel image`, { file: path });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Width and height from the PNG's IHDR chunk (reads 24 bytes); an Error naming the file if it is not a PNG. */
export async function readPngSize(path: string): Promise<{ width: number; height: number }> {
  const file = await open(path, 'r');
  try {
    const header = Buffer.alloc(24);
    const { bytesRead } = await file.read(header, 0, 24, 0);
    const signature = '89504e470d0a1a0a';
    if (bytesRead < 24 || header.toString('hex', 0, 8) !== signature || header.toString('latin1', 12, 16) !== 'IHDR') {
      throw new Error(`${path}: not a PNG file`);
    }
    return { width: header.readUInt32BE(16), height: header.readUInt32BE(20) };
  } finally {
    await file.close();
  }
}
