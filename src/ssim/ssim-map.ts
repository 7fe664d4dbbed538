/**
 * The full SSIM map of two same-size 8-bit images, bit-identical to scikit-image 0.19's
 * `structural_similarity(a, b, channel_axis=-1, full=True)` (SciPy 1.10 `uniform_filter` underneath):
 * per channel, 7x7 uniform means with reflect borders, sample covariance, K1 0.01, K2 0.03, data
 * range 255. See docs/exactness.md §5.
 *
 * What makes it bit-identical rather than close:
 * - SciPy filters axis 0 (down the columns) first, then axis 1 (along the rows), each as a running
 *   sum over a reflect-extended line: the first window summed left to right, then
 *   `sum += in[k + 3] - in[k - 4]`, each output `sum / 7`. The vertical sums are sums of integers
 *   (pixels and their products), hence exact; the horizontal pass adds rounded means, so its order
 *   of operations is reproduced exactly.
 * - The SSIM formula keeps scikit-image's operation order.
 *
 * The computation streams row by row: the vertical running sums live in one row of accumulators per
 * quantity, so memory is O(width) and every array is reused across calls. Channels are processed
 * interleaved (the arithmetic along each line is the same as on a separate plane).
 */

/** An 8-bit image with interleaved channels and no row padding (RgbImage, GrayImage). */
export interface Image8 {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** A full SSIM map: `data[(y * width + x) * channels + c]`, one float64 per pixel and channel. */
export interface SsimMap {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Float64Array;
}

/** Side of scikit-image's default (uniform) window. */
export const SSIM_WINDOW = 7;
const RADIUS = 3;
const COVARIANCE_NORM = 49 / 48;
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;
/** n / 7 for every 7-pixel sum of 8-bit values (0 .. 7 * 255): a lookup instead of a division. */
const SEVENTHS = Float64Array.from({ length: 7 * 255 + 1 }, (_, n) => n / 7);

/**
 * Whether scikit-image would compute SSIM for an image of this size at all: it raises
 * "win_size exceeds image extent" when a side is smaller than the 7-px window, and the reference
 * diff script swallows that error, so such a crop gets no diff. (This module computes any size.)
 */
export function fitsSsimWindow(width: number, height: number): boolean {
  return width >= SSIM_WINDOW && height >= SSIM_WINDOW;
}

/**
 * Index into a line of `length` samples for a position `i` outside it, with SciPy's 'reflect' mode
 * (d c b a | a b c d | d c b a), repeated as often as needed when the window is wider than the line.
 */
export function reflectIndex(i: number, length: number): number {
  const period = 2 * length;
  const m = ((i % period) + period) % period;
  return m < length ? m : period - 1 - m;
}

/** Number of interleaved channels of `image`, checked against its size. */
export function channelsOf(image: Image8, what = 'image'): number {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`Expected a positive integer size for ${what} but received ${width}x${height}`);
  }
  const channels = data.length / (width * height);
  if (!Number.isInteger(channels) || channels < 1 || channels > 4) {
    throw new RangeError(`Expected ${width}x${height}x(1 to 4) bytes for ${what} but received ${data.length}`);
  }
  return channels;
}

/** The five windowed quantities, interleaved per sample: x, y, x*x, y*y, x*y. */
const QUANTITIES = 5;

/** Grow-only scratch buffers, reused by every call (not reentrant: see `busy`). */
class Workspace {
  busy = false;
  private lineCapacity = 0;
  private rowCapacity = 0;
  /** Vertical window sums (integers, exact) for each sample of a line: `sums[5 * j + q]`. */
  sums = new Float64Array(0);
  /** Vertical means of one row, reflect-extended by RADIUS pixels each side: `means[5 * (pad + j) + q]`. */
  means = new Float64Array(0);
  /** One row of the SSIM map. */
  row = new Float64Array(0);
  /** `rowIndex[i + RADIUS]` is the image row at extended row i. */
  rowIndex = new Int32Array(0);

  /** Buffers for lines of `line` samples (width * channels) and `rows` rows. */
  ensure(line: number, channels: number, rows: number): void {
    if (line + 2 * RADIUS * channels > this.lineCapacity) {
      this.lineCapacity = line + 2 * RADIUS * channels;
      this.sums = new Float64Array(QUANTITIES * this.lineCapacity);
      this.means = new Float64Array(QUANTITIES * this.lineCapacity);
      this.row = new Float64Array(this.lineCapacity);
    }
    if (rows + 2 * RADIUS + 1 > this.rowCapacity) {
      this.rowCapacity = rows + 2 * RADIUS + 1;
      this.rowIndex = new Int32Array(this.rowCapacity);
    }
  }
}

const workspace = new Workspace();

/**
 * Computes the SSIM map of `a` against `b` (same size and channel count) one row at a time:
 * `onRow(y, row)` receives row y as `row[x * channels + c]`. `row` is a reused buffer, valid only
 * during the call; `onRow` must not call back into this module.
 */
export function ssimRows(a: Image8, b: Image8, onRow: (y: number, row: Float64Array) => void): void {
  const channels = channelsOf(a, 'the first image');
  const channelsB = channelsOf(b, 'the second image');
  if (a.width !== b.width || a.height !== b.height || channels !== channelsB) {
    throw new RangeError(
      `Expected images of the same size but received ${a.width}x${a.height}x${channels} and ${b.width}x${b.height}x${channelsB}`,
    );
  }
  if (workspace.busy) throw new Error('ssimRows is not reentrant: onRow must not compute another SSIM map');
  workspace.busy = true;
  try {
    computeRows(a.data, b.data, a.width, a.height, channels, onRow);
  } finally {
    workspace.busy = false;
  }
}

function computeRows(
  pa: Uint8Array,
  pb: Uint8Array,
  width: number,
  height: number,
  channels: number,
  onRow: (y: number, row: Float64Array) => void,
): void {
  const line = width * channels;
  workspace.ensure(line, channels, height);
  const { sums, means, row, rowIndex } = workspace;

  // rowIndex[i + RADIUS] = the image row seen at extended row i, for i in -RADIUS .. height + RADIUS.
  for (let i = -RADIUS; i <= height + RADIUS; i++) rowIndex[i + RADIUS] = reflectIndex(i, height);

  // Vertical sums of the first window (extended rows -3 .. 3). Integers, so exact in any order.
  sums.fill(0, 0, QUANTITIES * line);
  for (let i = 0; i < SSIM_WINDOW; i++) {
    const base = rowIndex[i] * line;
    for (let j = 0, q = 0; j < line; j++, q += QUANTITIES) {
      const x = pa[base + j];
      const y = pb[base + j];
      sums[q] += x;
      sums[q + 1] += y;
      sums[q + 2] += x * x;
      sums[q + 3] += y * y;
      sums[q + 4] += x * y;
    }
  }

  const pad = RADIUS * channels;
  for (let r = 0; r < height; r++) {
    // Vertical means of row r into a line extended by RADIUS pixels each side; then slide the
    // vertical window: add extended row r + 4, drop extended row r - 3 (after the last row the
    // sums are not needed: adding and dropping row 0 leaves them as they are).
    const last = r + 1 === height;
    const add = last ? 0 : rowIndex[r + 1 + 2 * RADIUS] * line;
    const drop = last ? 0 : rowIndex[r] * line;
    for (let j = 0, q = 0, m = QUANTITIES * pad; j < line; j++, q += QUANTITIES, m += QUANTITIES) {
      const tx = sums[q];
      const ty = sums[q + 1];
      const txx = sums[q + 2];
      const tyy = sums[q + 3];
      const txy = sums[q + 4];
      means[m] = SEVENTHS[tx];
      means[m + 1] = SEVENTHS[ty];
      means[m + 2] = txx / 7;
      means[m + 3] = tyy / 7;
      means[m + 4] = txy / 7;
      const xa = pa[add + j];
      const ya = pb[add + j];
      const xd = pa[drop + j];
      const yd = pb[drop + j];
      sums[q] = tx + (xa - xd);
      sums[q + 1] = ty + (ya - yd);
      sums[q + 2] = txx + (xa * xa - xd * xd);
      sums[q + 3] = tyy + (ya * ya - yd * yd);
      sums[q + 4] = txy + (xa * ya - xd * yd);
    }
    reflectBorders(means, width, QUANTITIES * channels);

    horizontalSsim(width, channels, means, row);
    onRow(r, row);
  }
}

/**
 * Fills the RADIUS pixels before and after an extended line (`valuesPerPixel` numbers per pixel)
 * with SciPy's reflect extension.
 */
function reflectBorders(extended: Float64Array, width: number, valuesPerPixel: number): void {
  for (let p = 1; p <= RADIUS; p++) {
    const before = (RADIUS - p) * valuesPerPixel;
    const beforeSource = (RADIUS + reflectIndex(-p, width)) * valuesPerPixel;
    const after = (RADIUS + width - 1 + p) * valuesPerPixel;
    const afterSource = (RADIUS + reflectIndex(width - 1 + p, width)) * valuesPerPixel;
    for (let c = 0; c < valuesPerPixel; c++) {
      extended[before + c] = extended[beforeSource + c];
      extended[after + c] = extended[afterSource + c];
    }
  }
}

/**
 * The horizontal pass over one row of vertical means (`m`, reflect-extended, QUANTITIES values per
 * sample) and SSIM from it, into `out[x * channels + c]`. The first window is summed left to right,
 * then `sum += in[x + 3] - in[x - 4]`: the rounding of every step matters here.
 */
function horizontalSsim(width: number, channels: number, m: Float64Array, out: Float64Array): void {
  const step = QUANTITIES * channels;
  for (let c = 0; c < channels; c++) {
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let syy = 0;
    let sxy = 0;
    for (let k = 0; k < SSIM_WINDOW; k++) {
      const i = k * step + QUANTITIES * c;
      sx += m[i];
      sy += m[i + 1];
      sxx += m[i + 2];
      syy += m[i + 3];
      sxy += m[i + 4];
    }
    out[c] = ssimFromSums(sx, sy, sxx, syy, sxy);
    for (let x = 1, o = channels + c, add = SSIM_WINDOW * step + QUANTITIES * c, drop = QUANTITIES * c; x < width; x++) {
      sx += m[add] - m[drop];
      sy += m[add + 1] - m[drop + 1];
      sxx += m[add + 2] - m[drop + 2];
      syy += m[add + 3] - m[drop + 3];
      sxy += m[add + 4] - m[drop + 4];
      out[o] = ssimFromSums(sx, sy, sxx, syy, sxy);
      o += channels;
      add += step;
      drop += step;
    }
  }
}

/** SSIM from the five 7-sample sums of vertical means, in scikit-image's operation order. */
function ssimFromSums(sx: number, sy: number, sxx: number, syy: number, sxy: number): number {
  const ux = sx / 7;
  const uy = sy / 7;
  const uxx = sxx / 7;
  const uyy = syy / 7;
  const uxy = sxy / 7;
  const vx = COVARIANCE_NORM * (uxx - ux * ux);
  const vy = COVARIANCE_NORM * (uyy - uy * uy);
  const vxy = COVARIANCE_NORM * (uxy - ux * uy);
  const a1 = 2 * ux * uy + C1;
  const a2 = 2 * vxy + C2;
  const b1 = ux * ux + uy * uy + C1;
  const b2 = vx + vy + C2;
  return (a1 * a2) / (b1 * b2);
}

/** The whole SSIM map of `a` against `b` (see `ssimRows`), in a new array. */
export function ssimMap(a: Image8, b: Image8): SsimMap {
  const channels = channelsOf(a, 'the first image');
  const line = a.width * channels;
  const data = new Float64Array(line * a.height);
  ssimRows(a, b, (y, row) => data.set(row.subarray(0, line), y * line));
  return { width: a.width, height: a.height, channels, data };
}

/**
 * scikit-image's scalar mean SSIM from a full map (`map[(y * width + x) * channels + c]`): the mean
 * over the map without a `crop`-pixel border (3 for the 7-px window), per channel, then the mean of
 * the channel means. Summation order differs from NumPy's pairwise sum; a compensated sum keeps the
 * result within about 1e-15 of the exact mean. NaN when the crop leaves no pixel.
 */
export function meanSsim(map: Float64Array, width: number, height: number, crop = 3, channels = 1): number {
  if (map.length !== width * height * channels) {
    throw new RangeError(`Expected ${width}x${height}x${channels} values for the SSIM map but received ${map.length}`);
  }
  const x0 = crop;
  const x1 = width - crop;
  const y0 = crop;
  const y1 = height - crop;
  if (x1 <= x0 || y1 <= y0) return Number.NaN;
  const count = (x1 - x0) * (y1 - y0);
  let total = 0;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let compensation = 0;
    for (let y = y0; y < y1; y++) {
      for (let i = (y * width + x0) * channels + c, end = (y * width + x1) * channels; i < end; i += channels) {
        const value = map[i];
        const next = sum + value;
        compensation += Math.abs(sum) >= Math.abs(value) ? sum - next + value : value - next + sum;
        sum = next;
      }
    }
    total += (sum + compensation) / count;
  }
  return total / channels;
}
