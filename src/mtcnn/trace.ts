/**
 * What the detector reports, step by step, to an optional trace callback: the same steps, in the same
 * order, as the reference's golden traces (parity/mtcnn/mtcnn_golden.json), so a test can pair them and
 * a difference points at the step that causes it. Boxes are rows of plain numbers (float32 values).
 * Nothing is computed for the trace unless a callback is given.
 */

export type TraceEvent =
  /** One pyramid level resampled (the reference's `imresample` of stage 1). */
  | { step: 'level'; scale: number; height: number; width: number }
  /** generateBoundingBox: rows x1, y1, x2, y2, score, dx1, dy1, dx2, dy2 in nonzero() order. */
  | { step: 'generateBoundingBox'; scale: number; threshold: number; outputHeight: number; outputWidth: number; boxes: number[][]; imageIndices: number[] }
  /** torchvision batched_nms: number of boxes in, kept indices (highest score first). */
  | { step: 'batchedNms'; iou: number; count: number; keep: number[] }
  /** rerec: rows x1, y1, x2, y2, score before and after. */
  | { step: 'rerec'; boxesIn: number[][]; boxesOut: number[][] }
  /** pad: the integer crop bounds (1-based start, inclusive end) of every box. */
  | { step: 'pad'; x: number[]; y: number[]; ex: number[]; ey: number[] }
  /** R-Net / O-Net outputs: regressions, face probabilities, and O-Net's landmarks (5 x, 5 y). */
  | { step: 'rnet'; reg: number[][]; probabilities: number[] }
  | { step: 'onet'; reg: number[][]; landmarks: number[][]; probabilities: number[] }
  /** bbreg: rows x1, y1, x2, y2, score before and after, and the regressions used. */
  | { step: 'bbreg'; boxesIn: number[][]; reg: number[][]; boxesOut: number[][] }
  /** The numpy 'Min' NMS of stage 3. */
  | { step: 'numpyMinNms'; iou: number; boxesIn: number[][]; scoresIn: number[]; keep: number[] };

export type TraceCallback = (event: TraceEvent) => void;

/** Rows of `width` numbers from a flat array. */
export function rows(values: ArrayLike<number>, width: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i + width <= values.length; i += width) out.push(Array.from({ length: width }, (_, k) => values[i + k]!));
  return out;
}

/** Rows x1, y1, x2, y2, score. */
export function boxRows(boxes: Float32Array, scores: Float32Array): number[][] {
  return rows(boxes, 4).map((row, i) => [...row, scores[i]!]);
}
