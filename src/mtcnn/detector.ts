import type { RgbImage } from '../image/rgb-image.js';
import { assertRgb } from '../image/rgb-image.js';
import {
  applyStageOneRegression,
  bbreg,
  concatCandidates,
  cropRegion,
  generateBoundingBox,
  landmarksFromBox,
  pad,
  rerec,
  selectCandidates,
  softmaxClass1LastDim,
  type Candidates,
  type PaddedBox,
} from './boxes.js';
import { loadNetworks, type MtcnnBackend, type MtcnnNetworks } from './engine.js';
import { batchedNms, batchedNumpyMinNms } from './nms.js';
import { numpyArgsort } from './numpy-argsort.js';
import { pnetOutputSide, pyramidLevels, type PyramidLevel } from './pyramid.js';
import { integralImage, resampleArea, type IntegralImage } from './resample.js';
import { pyramidInputsSimd } from './resample-simd.js';
import { boxRows, rows, type TraceCallback } from './trace.js';
import { loadMtcnnWeights } from './weights.js';

/**
 * facenet-pytorch's `MTCNN.detect(frames, landmarks=True)` (select_largest=True) in TF.js: the scale
 * pyramid and P-Net per level on all frames at once, R-Net and O-Net on the crops of all frames, and
 * the reference's float32 box arithmetic, NMS variants and orderings (docs/mtcnn.md §6–11). A detector is created
 * once per thread; it loads its backend and weights on first use and keeps the weight tensors until
 * dispose(). Everything else is per call, and every intermediate tensor is disposed.
 */

export interface Face {
  /** x1, y1, x2, y2 in input pixels (float32 values; never clipped). */
  box: [number, number, number, number];
  /** O-Net face probability. */
  probability: number;
  /** Left eye, right eye, nose, left mouth corner, right mouth corner: [x, y]. */
  landmarks: [number, number][];
}

export interface DetectOptions {
  /** P-Net, R-Net, O-Net score thresholds (facenet-pytorch's default: 0.6, 0.7, 0.7). */
  thresholds: readonly [number, number, number];
  /** Smallest face side in pixels the pyramid looks for (default in facenet-pytorch: 20). */
  minFaceSize: number;
  /** Pyramid scale step (default 0.709). */
  factor?: number;
  /** Receives every internal step, for tests and debugging. */
  trace?: TraceCallback;
  /**
   * Each frame's position in the reference's batch (default: its index in `frames`). The reference's
   * batched NMS offsets each image's boxes by `position * (max + 1)` in float32, and that rounding can
   * flip a borderline decision, so a caller that detects a subset of a reference batch (every 10th
   * frame) passes the positions the frames had there (docs/mtcnn.md §10).
   */
  batchPositions?: readonly number[];
}

export interface MtcnnDetectorOptions {
  /** The engine for this thread (default wasm; `auto` is resolved by the caller, engine.ts). */
  backend?: MtcnnBackend;
}

export const defaultFactor = 0.709;

/**
 * Crops per R-Net / O-Net call. The reference uses 512 for both (`fixed_batch_process`), which only
 * matters for memory: crops are independent, and smaller calls are no slower per crop, while 512 O-Net
 * crops need ~170 MB for the first conv's output alone (WebAssembly memory never shrinks).
 */
const refineChunk = { rnet: 256, onet: 64 } as const;

/** Frames whose pyramids are held at once (about 4.5 MB each for a 960x540 frame). */
const framesPerGroup = 8;

/** P-Net input pixels per call: a 960x540 frame's first level alone, its small levels batched. */
const pnetPixelsPerCall = 150_000;

const f = Math.fround;

export class MtcnnDetector {
  readonly backend: MtcnnBackend;
  private nets: Promise<MtcnnNetworks> | undefined;

  constructor(options: MtcnnDetectorOptions = {}) {
    this.backend = options.backend ?? 'wasm';
  }

  /** Loads the engine and the weights, once (again after a failure). Called by detectFaces. */
  load(): Promise<MtcnnNetworks> {
    if (!this.nets) {
      const loading = loadNetworks(this.backend, loadMtcnnWeights());
      loading.catch(() => {
        if (this.nets === loading) this.nets = undefined;
      });
      this.nets = loading;
    }
    return this.nets;
  }

  /** Faces per frame, largest first; all frames must have the same size. */
  async detectFaces(frames: readonly RgbImage[], options: DetectOptions): Promise<Face[][]> {
    checkOptions(options);
    if (frames.length === 0) return [];
    const { width, height } = frames[0]!;
    frames.forEach((frame, i) => {
      assertRgb(frame, `frame ${i}`);
      if (frame.width !== width || frame.height !== height) {
        throw new Error(`detectFaces: all frames must have the same size (frame 0 is ${width}x${height}, frame ${i} is ${frame.width}x${frame.height})`);
      }
    });
    if (options.batchPositions && options.batchPositions.length !== frames.length) {
      throw new RangeError(`detectFaces: batchPositions has ${options.batchPositions.length} entries for ${frames.length} frames`);
    }
    const nets = await this.load();
    const { trace, thresholds } = options;
    const levels = pyramidLevels(width, height, options.minFaceSize, options.factor ?? defaultFactor);
    const positions = options.batchPositions;
    let boxes = await proposeBoxes(nets, frames, levels, thresholds[0], positions, trace);
    if (boxes.scores.length > 0) boxes = await refineBoxes(nets, frames, boxes, thresholds[1], positions, trace);
    const faces = boxes.scores.length > 0 ? await outputFaces(nets, frames, boxes, thresholds[2], positions, trace) : frames.map(() => []);
    return faces.map(largestFirst);
  }

  /** Frees the engine's weights; the detector loads them again if used afterwards. */
  async dispose(): Promise<void> {
    const nets = this.nets;
    this.nets = undefined;
    if (nets) await (await nets).dispose();
  }
}

export function createMtcnnDetector(options: MtcnnDetectorOptions = {}): MtcnnDetector {
  return new MtcnnDetector(options);
}

/** Squared candidate boxes of one stage: x1,y1,x2,y2 rows, their scores, their frame. */
interface StageBoxes {
  boxes: Float32Array;
  scores: Float32Array;
  image: Int32Array;
}

/**
 * Stage 1: P-Net on every level; NMS 0.5 per level and frame, NMS 0.7 across levels; the regression
 * without +1; rerec.
 */
async function proposeBoxes(
  nets: MtcnnNetworks,
  frames: readonly RgbImage[],
  levels: readonly PyramidLevel[],
  threshold: number,
  positions: readonly number[] | undefined,
  trace: TraceCallback | undefined,
): Promise<StageBoxes> {
  const perLevel = await runPnet(nets, frames, levels, threshold);
  const parts = levels.map((level, l) => {
    const candidates = perLevel[l]!;
    trace?.({ step: 'level', scale: level.scale, height: level.height, width: level.width });
    trace?.({
      step: 'generateBoundingBox',
      scale: level.scale,
      threshold,
      outputHeight: pnetOutputSide(level.height),
      outputWidth: pnetOutputSide(level.width),
      boxes: rows(candidates.boxes, 4).map((box, i) => [...box, candidates.scores[i]!, ...candidates.reg.subarray(i * 4, i * 4 + 4)]),
      imageIndices: Array.from(candidates.image),
    });
    const keep = batchedNms(candidates.boxes, candidates.scores, nmsImages(candidates.image, positions), 0.5);
    trace?.({ step: 'batchedNms', iou: 0.5, count: candidates.scores.length, keep });
    return selectCandidates(candidates, keep);
  });
  const all = concatCandidates(parts);
  const keep = batchedNms(all.boxes, all.scores, nmsImages(all.image, positions), 0.7);
  trace?.({ step: 'batchedNms', iou: 0.7, count: all.scores.length, keep });
  const kept = selectCandidates(all, keep);
  const regressed = applyStageOneRegression(kept.boxes, kept.reg);
  const boxes = rerec(regressed);
  trace?.({ step: 'rerec', boxesIn: boxRows(regressed, kept.scores), boxesOut: boxRows(boxes, kept.scores) });
  return { boxes, scores: kept.scores, image: kept.image };
}

/** Stage 2: R-Net on 24x24 crops; score > t1 (the R-Net score replaces P-Net's); NMS 0.7; bbreg; rerec. */
async function refineBoxes(
  nets: MtcnnNetworks,
  frames: readonly RgbImage[],
  stage: StageBoxes,
  threshold: number,
  positions: readonly number[] | undefined,
  trace: TraceCallback | undefined,
): Promise<StageBoxes> {
  const out = await refine(nets, 'rnet', frames, stage.boxes, stage.image, 24, trace);
  trace?.({ step: 'rnet', reg: rows(out.reg, 4), probabilities: Array.from(out.probabilities) });
  const { passed } = passingBoxes(stage, out, threshold);
  const keep = batchedNms(passed.boxes, passed.scores, nmsImages(passed.image, positions), 0.7);
  trace?.({ step: 'batchedNms', iou: 0.7, count: passed.scores.length, keep });
  const kept = selectCandidates(passed, keep);
  const regressed = bbreg(kept.boxes, kept.reg);
  trace?.({ step: 'bbreg', boxesIn: boxRows(kept.boxes, kept.scores), reg: rows(kept.reg, 4), boxesOut: boxRows(regressed, kept.scores) });
  const boxes = rerec(regressed);
  trace?.({ step: 'rerec', boxesIn: boxRows(regressed, kept.scores), boxesOut: boxRows(boxes, kept.scores) });
  return { boxes, scores: kept.scores, image: kept.image };
}

/**
 * Stage 3: O-Net on 48x48 crops; score > t2; landmarks from the O-Net input boxes; bbreg; the numpy
 * 'Min' NMS 0.7. Faces per frame in NMS order (highest score first).
 */
async function outputFaces(
  nets: MtcnnNetworks,
  frames: readonly RgbImage[],
  stage: StageBoxes,
  threshold: number,
  positions: readonly number[] | undefined,
  trace: TraceCallback | undefined,
): Promise<Face[][]> {
  const out = await refine(nets, 'onet', frames, stage.boxes, stage.image, 48, trace);
  trace?.({ step: 'onet', reg: rows(out.reg, 4), landmarks: rows(out.landmarks, 10), probabilities: Array.from(out.probabilities) });
  const { pass, passed } = passingBoxes(stage, out, threshold);
  const { boxes, scores, reg, image } = passed;
  const points = pick(out.landmarks, pass, 10);
  const landmarks = pass.map((_, k) => landmarksFromBox(boxes.subarray(k * 4, k * 4 + 4), points.subarray(k * 10, k * 10 + 10)));
  const regressed = bbreg(boxes, reg);
  trace?.({ step: 'bbreg', boxesIn: boxRows(boxes, scores), reg: rows(reg, 4), boxesOut: boxRows(regressed, scores) });
  const keep = batchedNumpyMinNms(regressed, scores, nmsImages(image, positions), 0.7);
  trace?.({ step: 'numpyMinNms', iou: 0.7, boxesIn: rows(regressed, 4), scoresIn: Array.from(scores), keep });
  const faces: Face[][] = frames.map(() => []);
  for (const i of keep) {
    faces[image[i]!]!.push({
      box: [regressed[i * 4]!, regressed[i * 4 + 1]!, regressed[i * 4 + 2]!, regressed[i * 4 + 3]!],
      probability: scores[i]!,
      landmarks: landmarks[i]!,
    });
  }
  return faces;
}

function checkOptions({ thresholds, minFaceSize, factor = defaultFactor }: DetectOptions): void {
  if (thresholds.length !== 3 || !thresholds.every((t) => Number.isFinite(t))) throw new RangeError(`detectFaces: thresholds must be 3 numbers, got ${String(thresholds)}`);
  if (!(minFaceSize > 0)) throw new RangeError(`detectFaces: minFaceSize must be positive, got ${minFaceSize}`);
  if (!(factor > 0 && factor < 1)) throw new RangeError(`detectFaces: factor must be between 0 and 1 (exclusive), got ${factor}`);
}

/** The image index each box has in the reference's batched NMS: its frame's batch position. */
function nmsImages(image: Int32Array, positions: readonly number[] | undefined): Int32Array {
  return positions ? Int32Array.from(image, (i) => positions[i]!) : image;
}

/** The boxes whose R-Net/O-Net score is > threshold, with that score (replacing the earlier one) and regression. */
function passingBoxes(stage: StageBoxes, out: RefineOutput, threshold: number): { pass: number[]; passed: Candidates } {
  const pass = passing(out.probabilities, f(threshold));
  return {
    pass,
    passed: {
      boxes: pick(stage.boxes, pass, 4),
      scores: pick(out.probabilities, pass, 1),
      reg: pick(out.reg, pass, 4),
      image: Int32Array.from(pass, (i) => stage.image[i]!),
    },
  };
}

/** Indices whose probability is > limit (stages 2 and 3 use a strict comparison). */
function passing(probabilities: Float32Array, limit: number): number[] {
  const out: number[] = [];
  probabilities.forEach((p, i) => {
    if (p > limit) out.push(i);
  });
  return out;
}

/** Rows `indices` of a flat array of rows of `width`. */
function pick(values: Float32Array, indices: readonly number[], width: number): Float32Array {
  const out = new Float32Array(indices.length * width);
  indices.forEach((i, k) => out.set(values.subarray(i * width, i * width + width), k * width));
  return out;
}

/** select_largest: order by area (x2-x1)*(y2-y1) descending, as np.argsort(area)[::-1]. */
function largestFirst(faces: Face[]): Face[] {
  const areas = faces.map(({ box: [x1, y1, x2, y2] }) => f(f(x2 - x1) * f(y2 - y1)));
  return Array.from(numpyArgsort(areas)).reverse().map((i) => faces[i]!);
}

/**
 * P-Net candidates per level for all frames, in the reference's nonzero() order (image, row, column).
 * Frames are taken in groups. Each frame of a group gets its summed-area table, and every level is
 * resampled from it at once, while the table (6 MB for a 960x540 frame) is still in the CPU's
 * cache; then, level by level, P-Net runs on as many of the group's frames at once as fit
 * `pnetPixelsPerCall` (large levels one frame at a time, where batching is slower; small levels
 * batched, where it saves per-op overhead).
 */
async function runPnet(nets: MtcnnNetworks, frames: readonly RgbImage[], levels: readonly PyramidLevel[], threshold: number): Promise<Candidates[]> {
  const perLevel: Candidates[][] = levels.map(() => []);
  if (levels.length === 0) return [];
  const { width, height } = frames[0]!;
  const whole = { x: 0, y: 0, width, height };
  const groupSize = Math.min(framesPerGroup, frames.length);
  // Each level's input for a whole group, frame after frame.
  const inputs = levels.map((level) => new Float32Array(groupSize * level.width * level.height * 3));
  let integral: IntegralImage | undefined;
  for (let first = 0; first < frames.length; first += framesPerGroup) {
    const members = frames.slice(first, first + framesPerGroup);
    for (const [m, frame] of members.entries()) {
      const offsets = levels.map((level) => m * level.width * level.height * 3);
      // The same values by WebAssembly SIMD where it applies (resample-simd.ts), else here.
      if (pyramidInputsSimd(frame, levels, inputs, offsets)) continue;
      integral = integralImage(frame, integral);
      for (const [l, level] of levels.entries()) {
        resampleArea(frame, whole, level.width, level.height, inputs[l]!, offsets[l]!, { normalize: true, integral });
      }
    }
    for (const [l, level] of levels.entries()) {
      const values = level.width * level.height * 3;
      const perCall = Math.max(1, Math.floor(pnetPixelsPerCall / (level.width * level.height)));
      for (let start = 0; start < members.length; start += perCall) {
        const count = Math.min(perCall, members.length - start);
        const input = inputs[l]!.subarray(start * values, (start + count) * values);
        const { values: out, outHeight, outWidth } = await nets.pnet(input, [count, level.height, level.width, 3]);
        perLevel[l]!.push(generateBoundingBox(out, count, outHeight, outWidth, level.scale, threshold, first + start));
      }
    }
  }
  return perLevel.map((parts) => concatCandidates(parts));
}

interface RefineOutput {
  probabilities: Float32Array;
  reg: Float32Array;
  /** O-Net only: 5 x then 5 y per box (relative to the box). */
  landmarks: Float32Array;
}

/**
 * pad + crop + area resample to `size` + R-Net or O-Net, for every box. A crop the reference would
 * skip (empty after clipping; never seen) gets probability -Infinity, so the box is dropped
 * (docs/mtcnn.md §13).
 */
async function refine(
  nets: MtcnnNetworks,
  net: 'rnet' | 'onet',
  frames: readonly RgbImage[],
  boxes: Float32Array,
  image: Int32Array,
  size: number,
  trace: TraceCallback | undefined,
): Promise<RefineOutput> {
  const { width, height } = frames[0]!;
  const padded: PaddedBox[] = pad(boxes, width, height);
  trace?.({ step: 'pad', x: padded.map((p) => p.x), y: padded.map((p) => p.y), ex: padded.map((p) => p.ex), ey: padded.map((p) => p.ey) });
  const n = padded.length;
  const perCrop = size * size * 3;
  const input = new Float32Array(n * perCrop);
  const skipped = new Uint8Array(n);
  padded.forEach((box, k) => {
    const region = cropRegion(box);
    if (region) resampleArea(frames[image[k]!]!, region, size, size, input, k * perCrop, { normalize: true });
    else skipped[k] = 1;
  });
  const columns = net === 'rnet' ? 6 : 16;
  const raw = new Float32Array(n * columns);
  for (let first = 0; first < n; first += refineChunk[net]) {
    const count = Math.min(refineChunk[net], n - first);
    const x = input.subarray(first * perCrop, (first + count) * perCrop);
    raw.set(await (net === 'rnet' ? nets.rnet(x, count) : nets.onet(x, count)), first * columns);
  }
  const probabilities = new Float32Array(n);
  const reg = new Float32Array(n * 4);
  const landmarks = new Float32Array(net === 'onet' ? n * 10 : 0);
  for (let k = 0; k < n; k++) {
    const row = k * columns;
    probabilities[k] = skipped[k] ? -Infinity : softmaxClass1LastDim(raw[row]!, raw[row + 1]!);
    reg.set(raw.subarray(row + 2, row + 6), k * 4);
    if (net === 'onet') landmarks.set(raw.subarray(row + 6, row + 16), k * 10);
  }
  return { probabilities, reg, landmarks };
}
