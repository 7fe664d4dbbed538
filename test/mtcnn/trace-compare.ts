import assert from 'node:assert/strict';
import type { TraceEvent } from '../../src/mtcnn/trace.js';
import type { GoldenPad, GoldenStages } from './golden-trace.js';

/**
 * Pairs the detector's trace with a golden trace step by step, so that a parity failure names the
 * first step that differs. What may legitimately differ is conv noise in the three networks (about
 * 1e-6 here, see docs/mtcnn.md §12): net outputs are compared within `netTolerance`, boxes within
 * `boxTolerance` px, and everything integer or discrete (candidate cells, NMS keep lists, pad bounds,
 * pass/fail decisions) exactly, except where the noise can flip it honestly:
 * - a score within `netTolerance` of its threshold may pass on one side only;
 * - a pad bound may differ by one where the reference's float box is within `boxTolerance` of an integer.
 * After such a flip the two runs work on different boxes, so the comparison stops there and says so
 * (the test still requires the final detections to match).
 */

export const netTolerance = 1e-5;
export const boxTolerance = 1e-3;

const f = Math.fround;

export type TraceComparison = { complete: true } | { complete: false; flip: string };

class Flip extends Error {}

function close(actual: readonly number[], expected: readonly number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((v, i) => {
    assert.ok(Math.abs(v - expected[i]!) <= tolerance, `${what}[${i}]: ${v} vs reference ${expected[i]} (tolerance ${tolerance})`);
  });
}

/** Box rows x1, y1, x2, y2, score: boxes within boxTolerance, scores within netTolerance. */
function closeBoxes(actual: readonly number[][], expected: readonly number[][], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: number of boxes`);
  actual.forEach((row, i) => {
    close(row.slice(0, 4), expected[i]!.slice(0, 4), boxTolerance, `${what} box ${i}`);
    if (row.length > 4) close(row.slice(4), expected[i]!.slice(4), netTolerance, `${what} score ${i}`);
  });
}

function comparePad(actual: GoldenPad, expected: GoldenPad, referenceBoxes: readonly number[][], what: string): void {
  const keys = ['x', 'y', 'ex', 'ey'] as const;
  const coordinate = { x: 0, y: 1, ex: 2, ey: 3 } as const;
  for (const key of keys) {
    assert.equal(actual[key].length, expected[key].length, `${what} ${key}: length`);
    actual[key].forEach((v, i) => {
      if (v === expected[key][i]) return;
      const reference = referenceBoxes[i]![coordinate[key]]!;
      const nearInteger = Math.abs(reference - Math.round(reference)) <= boxTolerance;
      assert.ok(nearInteger && Math.abs(v - expected[key][i]!) === 1, `${what} ${key}[${i}]: ${v} vs reference ${expected[key][i]}`);
      throw new Flip(`${what} ${key}[${i}] truncates to ${v} (reference ${expected[key][i]}) from ${reference}`);
    });
  }
}

function comparePass(actual: readonly number[], expected: readonly number[], threshold: number, what: string): void {
  close(actual, expected, netTolerance, `${what} probabilities`);
  const limit = f(threshold);
  actual.forEach((p, i) => {
    if (p > limit !== expected[i]! > limit) {
      throw new Flip(`${what} probability ${i} is ${p}, reference ${expected[i]}, threshold ${limit}`);
    }
  });
}

/** Asserts every step up to the first legitimate flip; returns whether the whole trace was compared. */
export function compareTrace(events: readonly TraceEvent[], golden: GoldenStages, thresholds: readonly [number, number, number]): TraceComparison {
  const queue = [...events];
  const take = <S extends TraceEvent['step']>(step: S): Extract<TraceEvent, { step: S }> => {
    const event = queue.shift();
    assert.equal(event?.step, step, `trace: expected ${step}`);
    return event as Extract<TraceEvent, { step: S }>;
  };
  try {
    const t0 = f(thresholds[0]);
    for (const [l, level] of golden.levels.entries()) {
      const ours = take('level');
      assert.deepEqual([ours.scale, ours.height, ours.width], [level.scale, level.height, level.width], `level ${l}`);
      const generated = take('generateBoundingBox');
      assert.deepEqual([generated.outputHeight, generated.outputWidth], [level.outputHeight, level.outputWidth], `level ${l} P-Net map`);
      const key = (row: number[], image: number) => `${image}:${row.slice(0, 4).join(',')}`;
      const mine = new Map(generated.boxes.map((row, i) => [key(row, generated.imageIndices[i]!), row]));
      const theirs = new Map(level.boxes.map((row, i) => [key(row, level.imageIndices[i]!), row]));
      const onlyOneSide = [...[...mine].filter(([k]) => !theirs.has(k)), ...[...theirs].filter(([k]) => !mine.has(k))];
      for (const [cell, row] of onlyOneSide) {
        assert.ok(Math.abs(row[4]! - t0) <= netTolerance, `level ${l} (scale ${level.scale}): cell ${cell} with score ${row[4]} found on one side only`);
      }
      for (const [cell, row] of mine) {
        const reference = theirs.get(cell);
        if (reference) close(row.slice(4), reference.slice(4), netTolerance, `level ${l} cell ${cell} score/regression`);
      }
      if (onlyOneSide.length > 0) throw new Flip(`level ${l}: ${onlyOneSide.length} candidate(s) within ${netTolerance} of the threshold on one side only`);
      assert.deepEqual(
        generated.boxes.map((row, i) => key(row, generated.imageIndices[i]!)),
        level.boxes.map((row, i) => key(row, level.imageIndices[i]!)),
        `level ${l}: candidate order`,
      );
      assert.deepEqual(take('batchedNms').keep, level.keep, `level ${l}: NMS 0.5 keep list`);
    }
    assert.deepEqual(take('batchedNms').keep, golden.crossLevelKeep, 'NMS 0.7 across levels');
    const rerec1 = take('rerec');
    closeBoxes(rerec1.boxesIn, golden.stage1Rerec.boxesIn, 'stage-1 regression');
    closeBoxes(rerec1.boxesOut, golden.stage1Rerec.boxesOut, 'stage-1 rerec');

    const s2 = golden.stage2;
    if (!s2) {
      assert.equal(queue.length, 0, 'no stage 2 in the reference');
      return { complete: true };
    }
    comparePad(take('pad'), s2.pad, golden.stage1Rerec.boxesOut, 'stage-2 pad');
    const rnet = take('rnet');
    close(rnet.reg.flat(), s2.reg.flat(), netTolerance, 'R-Net regression');
    comparePass(rnet.probabilities, s2.probabilities, thresholds[1], 'R-Net');
    const nms2 = take('batchedNms');
    assert.equal(nms2.count, s2.nmsCount, 'stage-2 NMS input');
    assert.deepEqual(nms2.keep, s2.nmsKeep, 'stage-2 NMS keep list');
    const bbreg2 = take('bbreg');
    closeBoxes(bbreg2.boxesIn, s2.bbreg.boxesIn, 'stage-2 bbreg input');
    closeBoxes(bbreg2.boxesOut, s2.bbreg.boxesOut, 'stage-2 bbreg');
    const rerec2 = take('rerec');
    closeBoxes(rerec2.boxesOut, s2.rerec.boxesOut, 'stage-2 rerec');

    const s3 = golden.stage3;
    if (!s3) {
      assert.equal(queue.length, 0, 'no stage 3 in the reference');
      return { complete: true };
    }
    comparePad(take('pad'), s3.pad, s2.rerec.boxesOut, 'stage-3 pad');
    const onet = take('onet');
    close(onet.reg.flat(), s3.reg.flat(), netTolerance, 'O-Net regression');
    close(onet.landmarks.flat(), s3.landmarks.flat(), netTolerance, 'O-Net landmarks');
    comparePass(onet.probabilities, s3.probabilities, thresholds[2], 'O-Net');
    const bbreg3 = take('bbreg');
    closeBoxes(bbreg3.boxesOut, s3.bbreg.boxesOut, 'stage-3 bbreg');
    const nms3 = take('numpyMinNms');
    closeBoxes(nms3.boxesIn, s3.minNms.boxesIn, "stage-3 'Min' NMS input");
    assert.deepEqual(nms3.keep, s3.minNms.keep, "stage-3 'Min' NMS keep list");
    assert.equal(queue.length, 0, 'no steps after the final NMS');
    return { complete: true };
  } catch (error) {
    if (error instanceof Flip) return { complete: false, flip: error.message };
    throw error;
  }
}
