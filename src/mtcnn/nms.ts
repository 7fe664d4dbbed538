import { numpyArgsort } from './numpy-argsort.js';

/**
 * The two non-maximum suppressions facenet-pytorch uses (docs/mtcnn.md §9), copied operation by operation
 * in float32:
 * - torchvision's `nms`/`batched_nms` (stage 1 twice, stage 2): area (x2-x1)*(y2-y1) with no +1,
 *   suppress when IoU > threshold, candidates visited in stable descending score order;
 * - facenet-pytorch's numpy `nms_numpy(..., 'Min')` (stage 3): +1 areas, overlap = inter / min(area),
 *   keep when <= threshold, visiting order from numpy's unstable argsort.
 * Both batch several images in one call the way the reference does: boxes of image k are shifted by
 * k * (max coordinate + 1) in float32 so that images never overlap (torchvision switches to one call per
 * image above 1,000 boxes). Boxes are `Float32Array`s of x1,y1,x2,y2 rows.
 */

const f = Math.fround;

/** Indices of `scores` in descending order, equal scores keeping their input order. */
export function stableDescendingOrder(scores: ArrayLike<number>): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order;
}

/** torchvision.ops.nms: the kept indices, highest score first. */
export function torchvisionNms(boxes: Float32Array, scores: ArrayLike<number>, iouThreshold: number): number[] {
  const n = scores.length;
  const areas = new Float32Array(n);
  for (let i = 0; i < n; i++) areas[i] = f(f(boxes[i * 4 + 2]! - boxes[i * 4]!) * f(boxes[i * 4 + 3]! - boxes[i * 4 + 1]!));
  const order = stableDescendingOrder(scores);
  const suppressed = new Uint8Array(n);
  const keep: number[] = [];
  for (let oi = 0; oi < n; oi++) {
    const i = order[oi]!;
    if (suppressed[i]) continue;
    keep.push(i);
    const ix1 = boxes[i * 4]!;
    const iy1 = boxes[i * 4 + 1]!;
    const ix2 = boxes[i * 4 + 2]!;
    const iy2 = boxes[i * 4 + 3]!;
    const iarea = areas[i]!;
    for (let oj = oi + 1; oj < n; oj++) {
      const j = order[oj]!;
      if (suppressed[j]) continue;
      const w = Math.max(0, f(Math.min(ix2, boxes[j * 4 + 2]!) - Math.max(ix1, boxes[j * 4]!)));
      const h = Math.max(0, f(Math.min(iy2, boxes[j * 4 + 3]!) - Math.max(iy1, boxes[j * 4 + 1]!)));
      const inter = f(w * h);
      const iou = f(inter / f(f(iarea + areas[j]!) - inter));
      // torchvision compares the float IoU with the double threshold.
      if (iou > iouThreshold) suppressed[j] = 1;
    }
  }
  return keep;
}

/** `boxes + image * (boxes.max() + 1)` in float32, the reference's way to keep images apart. */
export function offsetBoxesByImage(boxes: Float32Array, imageIndices: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (const v of boxes) if (v > max) max = v;
  const step = f(max + 1);
  const shifted = new Float32Array(boxes.length);
  for (let i = 0; i < imageIndices.length; i++) {
    const offset = f(imageIndices[i]! * step);
    for (let k = 0; k < 4; k++) shifted[i * 4 + k] = f(boxes[i * 4 + k]! + offset);
  }
  return shifted;
}

/** Above this many boxes (4,000 coordinates) torchvision's batched_nms loops over the images on CPU. */
const coordinateTrickLimit = 1000;

/** torchvision.ops.batched_nms: NMS within each image; the kept indices, highest score first. */
export function batchedNms(boxes: Float32Array, scores: ArrayLike<number>, imageIndices: ArrayLike<number>, iouThreshold: number): number[] {
  const n = scores.length;
  if (n === 0) return [];
  if (n <= coordinateTrickLimit) return torchvisionNms(offsetBoxesByImage(boxes, imageIndices), scores, iouThreshold);
  const images = [...new Set(Array.from(imageIndices))].sort((a, b) => a - b);
  const kept = new Uint8Array(n);
  for (const image of images) {
    const members: number[] = [];
    for (let i = 0; i < n; i++) if (imageIndices[i] === image) members.push(i);
    const subBoxes = new Float32Array(members.length * 4);
    const subScores = new Float32Array(members.length);
    members.forEach((m, k) => {
      subBoxes.set(boxes.subarray(m * 4, m * 4 + 4), k * 4);
      subScores[k] = scores[m]!;
    });
    for (const k of torchvisionNms(subBoxes, subScores, iouThreshold)) kept[members[k]!] = 1;
  }
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (kept[i]) keep.push(i);
  // torch re-sorts these by descending score; equal scores keep index order here.
  return stableDescendingOrder(keep.map((i) => scores[i]!)).map((k) => keep[k]!);
}

/** facenet-pytorch's nms_numpy with method 'Min' (float32 arrays, numpy 1.24 semantics). */
export function numpyMinNms(boxes: Float32Array, scores: ArrayLike<number>, threshold: number): number[] {
  const n = scores.length;
  const area = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    area[i] = f(f(f(boxes[i * 4 + 2]! - boxes[i * 4]!) + 1) * f(f(boxes[i * 4 + 3]! - boxes[i * 4 + 1]!) + 1));
  }
  // numpy compares the float32 overlaps with the Python float cast to float32.
  const limit = f(threshold);
  let order = Array.from(numpyArgsort(scores));
  const pick: number[] = [];
  while (order.length > 0) {
    const i = order[order.length - 1]!;
    pick.push(i);
    const rest = order.slice(0, -1);
    const x1 = boxes[i * 4]!;
    const y1 = boxes[i * 4 + 1]!;
    const x2 = boxes[i * 4 + 2]!;
    const y2 = boxes[i * 4 + 3]!;
    order = rest.filter((j) => {
      const xx1 = Math.max(x1, boxes[j * 4]!);
      const yy1 = Math.max(y1, boxes[j * 4 + 1]!);
      const xx2 = Math.min(x2, boxes[j * 4 + 2]!);
      const yy2 = Math.min(y2, boxes[j * 4 + 3]!);
      const w = Math.max(0, f(f(xx2 - xx1) + 1));
      const h = Math.max(0, f(f(yy2 - yy1) + 1));
      const inter = f(w * h);
      const overlap = f(inter / Math.min(area[i]!, area[j]!));
      return overlap <= limit;
    });
  }
  return pick;
}

/** facenet-pytorch's batched_nms_numpy: the image offset trick, then nms_numpy. */
export function batchedNumpyMinNms(boxes: Float32Array, scores: ArrayLike<number>, imageIndices: ArrayLike<number>, threshold: number): number[] {
  if (scores.length === 0) return [];
  return numpyMinNms(offsetBoxesByImage(boxes, imageIndices), scores, threshold);
}
