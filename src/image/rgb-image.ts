/**
 * The one in-memory image type the pipeline passes around: 8-bit, row-major, interleaved channels,
 * no padding between rows (`data.length === width * height * channels`).
 * RGB frames and crops have 3 channels; gray masks have 1.
 */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** Columns x .. x+width-1 and rows y .. y+height-1 of an image: a crop, a pooling region. */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface GrayImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export function assertRgb(image: RgbImage, what = 'image'): void {
  if (image.data.length !== image.width * image.height * 3) {
    throw new Error(`${what}: expected ${image.width}x${image.height}x3 = ${image.width * image.height * 3} bytes, got ${image.data.length}`);
  }
}
