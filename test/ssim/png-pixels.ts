import sharp from 'sharp';

/** Decoded 8-bit pixels of a PNG, with the channel count the file itself stores. */
export interface PngPixels {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

/**
 * A PNG's pixels as stored: a gray PNG stays 1-channel (sharp would otherwise expand it to sRGB),
 * an RGB PNG 3-channel. Only 8-bit files are accepted.
 */
export async function readPngPixels(path: string): Promise<PngPixels> {
  const meta = await sharp(path).metadata();
  if (meta.depth !== 'uchar') throw new Error(`${path}: expected an 8-bit PNG but received depth ${meta.depth}`);
  const input = meta.channels === 1 ? sharp(path).toColourspace('b-w') : sharp(path);
  const { data, info } = await input.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== meta.channels) {
    throw new Error(`${path}: stored with ${meta.channels} channels but decoded with ${info.channels}`);
  }
  return { width: info.width, height: info.height, channels: info.channels, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
