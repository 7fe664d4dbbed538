import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

/**
 * Compares image folders by decoded pixels (PNG encoders differ in bytes, not in pixels).
 */
export interface DecodedImage {
  width: number;
  height: number;
  channels: number;
  data: Buffer;
}

/** Decodes a PNG with its own channel count (sharp would expand a gray PNG to RGB). */
export async function decodeImage(path: string): Promise<DecodedImage> {
  const { channels } = await sharp(path).metadata();
  const pipeline = channels === 1 ? sharp(path).toColourspace('b-w') : sharp(path);
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
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
