/**
 * The box arithmetic of facenet-pytorch's detect_face (docs/mtcnn.md §6–8), each step in float32 exactly as
 * the reference's tensor operations round it: softmax of the two class logits, P-Net cell boxes
 * (generateBoundingBox), the stage-1 regression (no +1), bbreg (+1), rerec (squaring, no +1), pad
 * (the crop rectangle) and the landmarks of stage 3.
 *
 * A candidate set is kept as parallel typed arrays (`Candidates`), `boxes` holding x1,y1,x2,y2 rows.
 */
import type { Rect } from '../image/rgb-image.js';

const f = Math.fround;

export interface Candidates {
  /** x1, y1, x2, y2 per candidate. */
  readonly boxes: Float32Array;
  readonly scores: Float32Array;
  /** Regression dx1, dy1, dx2, dy2 per candidate (the net output that goes with the score). */
  readonly reg: Float32Array;
  /** Which image of the batch each candidate belongs to. */
  readonly image: Int32Array;
}

/** The candidates at `indices`, in that order. */
export function selectCandidates(c: Candidates, indices: readonly number[]): Candidates {
  const n = indices.length;
  const out = { boxes: new Float32Array(n * 4), scores: new Float32Array(n), reg: new Float32Array(n * 4), image: new Int32Array(n) };
  indices.forEach((i, k) => {
    out.boxes.set(c.boxes.subarray(i * 4, i * 4 + 4), k * 4);
    out.reg.set(c.reg.subarray(i * 4, i * 4 + 4), k * 4);
    out.scores[k] = c.scores[i]!;
    out.image[k] = c.image[i]!;
  });
  return out;
}

export function concatCandidates(parts: readonly Candidates[]): Candidates {
  const n = parts.reduce((sum, p) => sum + p.scores.length, 0);
  const out = { boxes: new Float32Array(n * 4), scores: new Float32Array(n), reg: new Float32Array(n * 4), image: new Int32Array(n) };
  let k = 0;
  for (const p of parts) {
    out.boxes.set(p.boxes, k * 4);
    out.reg.set(p.reg, k * 4);
    out.scores.set(p.scores, k);
    out.image.set(p.image, k);
    k += p.scores.length;
  }
  return out;
}

/**
 * Probability of class 1 from the two logits, as torch's CPU softmax computes it over a 4-D P-Net map
 * (subtract the max, exp, sum, divide).
 */
export function softmaxClass1(logit0: number, logit1: number): number {
  const m = Math.max(logit0, logit1);
  const e0 = f(Math.exp(f(logit0 - m)));
  const e1 = f(Math.exp(f(logit1 - m)));
  return f(e1 / f(e0 + e1));
}

/**
 * Probability of class 1 as torch's last-dimension softmax computes it for R-Net/O-Net's (N, 2)
 * output: multiply by the float32 reciprocal of the sum.
 */
export function softmaxClass1LastDim(logit0: number, logit1: number): number {
  const m = Math.max(logit0, logit1);
  const e0 = f(Math.exp(f(logit0 - m)));
  const e1 = f(Math.exp(f(logit1 - m)));
  return f(e1 * f(1 / f(e0 + e1)));
}

/** Box of P-Net output cell (x, y) at `scale`: floor of float32 (2x+1)/fround(scale) and (2x+12)/fround(scale). */
export function cellBox(x: number, y: number, scale: number): [number, number, number, number] {
  const s = f(scale);
  return [Math.floor(f((2 * x + 1) / s)), Math.floor(f((2 * y + 1) / s)), Math.floor(f((2 * x + 12) / s)), Math.floor(f((2 * y + 12) / s))];
}

/**
 * A logit difference (logit1 - logit0) below which the probability is certainly under threshold `t`:
 * the log-odds of t minus 1, a margin that keeps the probability at least t(1-t)(1-1/e) >= 6e-5 below
 * t, far beyond float32 rounding. Only used for 1e-4 <= t <= 1-1e-4 (else nothing is skipped). It saves
 * the exp() of most P-Net cells.
 */
export function logitDifferenceCutoff(t: number): number {
  return t >= 1e-4 && t <= 1 - 1e-4 ? Math.log(t / (1 - t)) - 1 : -Infinity;
}

/**
 * generateBoundingBox over a P-Net output read back as NHWC `[batch, outHeight, outWidth, 6]`
 * (channels: logit 0, logit 1, dx1, dy1, dx2, dy2): every cell whose face probability is
 * >= fround(threshold), in the reference's nonzero() order (image, row, column). `firstImage` is added to
 * the image index (when a batch is run in chunks).
 */
export function generateBoundingBox(
  output: Float32Array,
  batch: number,
  outHeight: number,
  outWidth: number,
  scale: number,
  threshold: number,
  firstImage = 0,
): Candidates {
  const t = f(threshold);
  const cells: number[] = [];
  const probs: number[] = [];
  const cellsPerImage = outHeight * outWidth;
  const skipBelow = logitDifferenceCutoff(t);
  for (let cell = 0; cell < batch * cellsPerImage; cell++) {
    const logit0 = output[cell * 6]!;
    const logit1 = output[cell * 6 + 1]!;
    if (logit1 - logit0 < skipBelow) continue;
    const p = softmaxClass1(logit0, logit1);
    if (p >= t) {
      cells.push(cell);
      probs.push(p);
    }
  }
  const n = cells.length;
  const out = { boxes: new Float32Array(n * 4), scores: new Float32Array(probs), reg: new Float32Array(n * 4), image: new Int32Array(n) };
  cells.forEach((cell, k) => {
    const image = Math.floor(cell / cellsPerImage);
    const within = cell - image * cellsPerImage;
    const y = Math.floor(within / outWidth);
    const x = within - y * outWidth;
    out.boxes.set(cellBox(x, y, scale), k * 4);
    out.reg.set(output.subarray(cell * 6 + 2, cell * 6 + 6), k * 4);
    out.image[k] = image + firstImage;
  });
  return out;
}

/** Stage 1's regression (no +1): x1 += dx1*(x2-x1), ... all from the old coordinates. */
export function applyStageOneRegression(boxes: Float32Array, reg: Float32Array): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    const [x1, y1, x2, y2] = [boxes[i]!, boxes[i + 1]!, boxes[i + 2]!, boxes[i + 3]!];
    const w = f(x2 - x1);
    const h = f(y2 - y1);
    out[i] = f(x1 + f(reg[i]! * w));
    out[i + 1] = f(y1 + f(reg[i + 1]! * h));
    out[i + 2] = f(x2 + f(reg[i + 2]! * w));
    out[i + 3] = f(y2 + f(reg[i + 3]! * h));
  }
  return out;
}

/** bbreg: w = x2-x1+1, h = y2-y1+1; x1 += r0*w, y1 += r1*h, x2 += r2*w, y2 += r3*h. */
export function bbreg(boxes: Float32Array, reg: Float32Array): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    const [x1, y1, x2, y2] = [boxes[i]!, boxes[i + 1]!, boxes[i + 2]!, boxes[i + 3]!];
    const w = f(f(x2 - x1) + 1);
    const h = f(f(y2 - y1) + 1);
    out[i] = f(x1 + f(reg[i]! * w));
    out[i + 1] = f(y1 + f(reg[i + 1]! * h));
    out[i + 2] = f(x2 + f(reg[i + 2]! * w));
    out[i + 3] = f(y2 + f(reg[i + 3]! * h));
  }
  return out;
}

/** rerec: square each box around its centre with side max(w, h) (w = x2-x1, no +1). */
export function rerec(boxes: Float32Array): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    const [x1, y1, x2, y2] = [boxes[i]!, boxes[i + 1]!, boxes[i + 2]!, boxes[i + 3]!];
    const h = f(y2 - y1);
    const w = f(x2 - x1);
    const l = Math.max(w, h);
    const nx1 = f(f(x1 + f(w * 0.5)) - f(l * 0.5));
    const ny1 = f(f(y1 + f(h * 0.5)) - f(l * 0.5));
    out[i] = nx1;
    out[i + 1] = ny1;
    out[i + 2] = f(nx1 + l);
    out[i + 3] = f(ny1 + l);
  }
  return out;
}

export interface PaddedBox {
  /** 1-based first column/row (the crop starts at x-1, y-1) and the exclusive end, clipped to the image. */
  readonly x: number;
  readonly y: number;
  readonly ex: number;
  readonly ey: number;
}

/** pad: truncate toward zero, then x,y >= 1 and ex <= width, ey <= height. */
export function pad(boxes: Float32Array, width: number, height: number): PaddedBox[] {
  const out: PaddedBox[] = [];
  for (let i = 0; i < boxes.length; i += 4) {
    out.push({
      x: Math.max(Math.trunc(boxes[i]!), 1),
      y: Math.max(Math.trunc(boxes[i + 1]!), 1),
      ex: Math.min(Math.trunc(boxes[i + 2]!), width),
      ey: Math.min(Math.trunc(boxes[i + 3]!), height),
    });
  }
  return out;
}

/** The crop the reference cuts for a padded box, `img[y-1:ey, x-1:ex]`, or null when it is empty. */
export function cropRegion(box: PaddedBox): Rect | null {
  if (box.ey <= box.y - 1 || box.ex <= box.x - 1) return null;
  return { x: box.x - 1, y: box.y - 1, width: box.ex - box.x + 1, height: box.ey - box.y + 1 };
}

/**
 * The 5 landmarks of stage 3 from the (un-regressed) O-Net input box and the O-Net output p
 * (5 x then 5 y, relative): px = (x2-x1+1)*p[k] + x1 - 1, py = (y2-y1+1)*p[5+k] + y1 - 1.
 */
export function landmarksFromBox(box: ArrayLike<number>, points: ArrayLike<number>): [number, number][] {
  const [x1, y1, x2, y2] = [box[0]!, box[1]!, box[2]!, box[3]!];
  const w = f(f(x2 - x1) + 1);
  const h = f(f(y2 - y1) + 1);
  const out: [number, number][] = [];
  for (let k = 0; k < 5; k++) out.push([f(f(f(w * points[k]!) + x1) - 1), f(f(f(h * points[5 + k]!) + y1) - 1)]);
  return out;
}
