/**
 * The P-Net scale pyramid exactly as facenet-pytorch builds it (docs/mtcnn.md §3): scales by repeated
 * multiplication in double precision, level sizes `int(side * scale + 1)`.
 */

export interface LevelSize {
  readonly width: number;
  readonly height: number;
}

export interface PyramidLevel extends LevelSize {
  readonly scale: number;
}

/** The scales, largest first: m = 12/minFaceSize, then m*factor, m*factor*factor, ... while the short side stays >= 12. */
export function pyramidScales(width: number, height: number, minFaceSize: number, factor: number): number[] {
  const m = 12.0 / minFaceSize;
  let minl = Math.min(height, width) * m;
  let scale = m;
  const scales: number[] = [];
  while (minl >= 12) {
    scales.push(scale);
    scale = scale * factor;
    minl = minl * factor;
  }
  return scales;
}

/** `(int(h*scale + 1), int(w*scale + 1))`: floor + 1, so an exact integer still gets +1. */
export function levelSize(width: number, height: number, scale: number): LevelSize {
  return { width: Math.trunc(width * scale + 1), height: Math.trunc(height * scale + 1) };
}

export function pyramidLevels(width: number, height: number, minFaceSize: number, factor: number): PyramidLevel[] {
  return pyramidScales(width, height, minFaceSize, factor).map((scale) => ({ scale, ...levelSize(width, height, scale) }));
}

/** P-Net output map side for an input side: conv 3 (-2), ceil-mode pool 2/2, conv 3 twice (-4). */
export function pnetOutputSide(side: number): number {
  return Math.ceil((side - 2) / 2) - 4;
}
