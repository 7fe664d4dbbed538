import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

/**
 * The tests' one PNG decoder, and image folders compared by decoded pixels (PNG encoders differ in
 * bytes, not in pixels).
 */
export interface DecodedImage {
  width: number;
  height: number;
  channels: number;
  data: Buffer;
}

export interface DecodeOptions {
  /** 3-channel RGB whatever the file stores (alpha dropped, gray expanded), as the pipeline reads images. */
  rgb?: boolean;
  /** The pixels as stored even when the file embeds an ICC profile (no colour management), as the reference read them. */
  keepIccProfile?: boolean;
}

/**
 * Decodes an 8-bit PNG (or any image sharp reads) to its pixels, interleaved. By default with the
 * channel count the file stores: a gray PNG stays 1-channel (sharp would expand it to RGB), an RGB
 * one 3-channel, alpha kept. Throws on a file that is not 8-bit.
 */
export async function decodeImage(path: string, options: DecodeOptions = {}): Promise<DecodedImage> {
  const meta = await sharp(path).metadata();
  if (meta.depth !== 'uchar') throw new Error(`${path}: expected an 8-bit image but received depth ${meta.depth}`);
  let pipeline = sharp(path);
  if (options.keepIccProfile) pipeline = pipeline.keepIccProfile();
  if (options.rgb) pipeline = pipeline.removeAlpha().toColourspace('srgb');
  else if (meta.channels === 1 || meta.channels === 2) pipeline = pipeline.toColourspace('b-w'); // gray, with or without alpha
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  const wanted = options.rgb ? 3 : meta.channels;
  if (info.channels !== wanted) throw new Error(`${path}: decoded with ${info.channels} channels instead of ${wanted}`);
  return { width: info.width, height: info.height, channels: info.channels, data };
}

/** Relative paths of every file below `dir` (a/b.png), sorted; [] when `dir` is absent. Hidden files only with `hidden`. */
export function listFiles(dir: string, options: { hidden?: boolean } = {}, prefix = ''): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.') && !options.hidden) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path, options, `${prefix}${name}/`));
    else out.push(`${prefix}${name}`);
  }
  return out;
}

/**
 * What interrupted writers left under `dir`: files with a temporary name, and everything inside a
 * staging folder (a temporary name on a folder), which would otherwise pass for finished files.
 */
export function leftTemporaries(dir: string): string[] {
  return listFiles(dir, { hidden: true }).filter((file) => file.split('/').some((part) => part.endsWith('.tmp')));
}

/** Pixels that differ between two decoded images of the same shape. */
export function differingPixels(a: DecodedImage, b: DecodedImage): number {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) return Number.POSITIVE_INFINITY;
  let count = 0;
  for (let p = 0; p < a.width * a.height; p += 1) {
    for (let c = 0; c < a.channels; c += 1) {
      if (a.data[p * a.channels + c] !== b.data[p * b.channels + c]) {
        count += 1;
        break;
      }
    }
  }
  return count;
}
