import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RgbImage } from '../../src/image/rgb-image.js';
import { decodeImage } from '../helpers/compare-images.js';
import { parityDir } from '../helpers/shared.js';

/**
 * Reads parity/mtcnn/mtcnn_golden.json and groups each case's flat reference trace into stages, so
 * the tests can feed one stage's reference inputs to the port and compare with its reference outputs.
 */

export const goldenDir = join(parityDir, 'mtcnn');
export const goldenPath = join(goldenDir, 'mtcnn_golden.json');

type Row = number[];

export interface GoldenCase {
  image: string;
  size: [number, number];
  thresholds: [number, number, number];
  boxes: Row[] | null;
  probs: (number | null)[];
  landmarks: [number, number][][] | null;
  trace?: Record<string, unknown>[];
}

export interface GoldenLevel {
  scale: number;
  height: number;
  width: number;
  outputHeight: number;
  outputWidth: number;
  /** x1, y1, x2, y2, score, dx1, dy1, dx2, dy2 */
  boxes: Row[];
  imageIndices: number[];
  keep: number[];
}

export interface GoldenPad {
  x: number[];
  y: number[];
  ex: number[];
  ey: number[];
}

export interface GoldenStages {
  levels: GoldenLevel[];
  crossLevelKeep: number[];
  /** Stage-1 rerec: boxes after the regression (in), squared (out); rows x1, y1, x2, y2, score. */
  stage1Rerec: { boxesIn: Row[]; boxesOut: Row[] };
  stage2?: {
    pad: GoldenPad;
    reg: Row[];
    probabilities: number[];
    nmsCount: number;
    nmsKeep: number[];
    bbreg: { boxesIn: Row[]; reg: Row[]; boxesOut: Row[] };
    rerec: { boxesIn: Row[]; boxesOut: Row[] };
  };
  stage3?: {
    pad: GoldenPad;
    reg: Row[];
    landmarks: Row[];
    probabilities: number[];
    bbreg: { boxesIn: Row[]; reg: Row[]; boxesOut: Row[] };
    minNms: { boxesIn: Row[]; scoresIn: number[]; keep: number[] };
  };
}

let cache: Record<string, GoldenCase> | undefined;

export function goldenCases(): Record<string, GoldenCase> {
  cache ??= JSON.parse(readFileSync(goldenPath, 'utf8')) as Record<string, GoldenCase>;
  return cache;
}

/** The case's image as the reference fed it: 8-bit RGB as stored, no colour management, no alpha. */
export async function goldenImage(c: GoldenCase): Promise<RgbImage> {
  const { width, height, data } = await decodeImage(join(goldenDir, c.image), { rgb: true, keepIccProfile: true });
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Groups a case's trace by stage (throws if the trace is not in the expected call order). */
export function goldenStages(c: GoldenCase): GoldenStages {
  // Keep the pyramid resamples (each followed by generateBoundingBox), drop the per-crop ones.
  const all = c.trace ?? [];
  const events = all.filter((e, k) => e.fn !== 'imresample' || all[k + 1]?.fn === 'generateBoundingBox');
  let i = 0;
  const next = (fn: string) => {
    const e = events[i++];
    if (!e || e.fn !== fn) throw new Error(`golden trace: expected ${fn} at ${i - 1}, found ${String(e?.fn)}`);
    return e as Record<string, any>;
  };
  const peek = () => events[i]?.fn;
  const levels: GoldenLevel[] = [];
  while (peek() === 'imresample') {
    const resample = next('imresample');
    const generate = next('generateBoundingBox');
    const nms = next('batched_nms');
    levels.push({
      scale: generate.scale,
      height: resample.out_shape[2],
      width: resample.out_shape[3],
      outputHeight: generate.pnet_out_hw[0],
      outputWidth: generate.pnet_out_hw[1],
      boxes: generate.boxes,
      imageIndices: generate.image_inds,
      keep: nms.keep,
    });
  }
  const crossLevelKeep = next('batched_nms').keep as number[];
  const rerec1 = next('rerec');
  const stages: GoldenStages = { levels, crossLevelKeep, stage1Rerec: { boxesIn: rerec1.boxes_in, boxesOut: rerec1.boxes_out } };
  if (peek() === 'pad') {
    const pad = next('pad');
    const rnet = next('fixed_batch_process');
    const nms = next('batched_nms');
    const bbreg = next('bbreg');
    const rerec = next('rerec');
    stages.stage2 = {
      pad: { x: pad.x, y: pad.y, ex: pad.ex, ey: pad.ey },
      reg: rnet.outputs[0],
      probabilities: (rnet.outputs[1] as Row[]).map((r) => r[1]!),
      nmsCount: nms.n_in,
      nmsKeep: nms.keep,
      bbreg: { boxesIn: bbreg.boxes_in, reg: bbreg.reg, boxesOut: bbreg.boxes_out },
      rerec: { boxesIn: rerec.boxes_in, boxesOut: rerec.boxes_out },
    };
  }
  if (peek() === 'pad') {
    const pad = next('pad');
    const onet = next('fixed_batch_process');
    const bbreg = next('bbreg');
    const nms = next('batched_nms_numpy');
    stages.stage3 = {
      pad: { x: pad.x, y: pad.y, ex: pad.ex, ey: pad.ey },
      reg: onet.outputs[0],
      landmarks: onet.outputs[1],
      probabilities: (onet.outputs[2] as Row[]).map((r) => r[1]!),
      bbreg: { boxesIn: bbreg.boxes_in, reg: bbreg.reg, boxesOut: bbreg.boxes_out },
      minNms: { boxesIn: nms.boxes_in, scoresIn: nms.scores_in, keep: nms.keep },
    };
  }
  if (i !== events.length) throw new Error(`golden trace: ${events.length - i} unexpected events after ${String(events[i - 1]?.fn)}`);
  return stages;
}
