import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  applyStageOneRegression,
  bbreg,
  cellBox,
  landmarksFromBox,
  pad,
  rerec,
} from '../../src/mtcnn/boxes.js';
import { batchedNms, batchedNumpyMinNms } from '../../src/mtcnn/nms.js';
import { numpyArgsort } from '../../src/mtcnn/numpy-argsort.js';
import { pyramidLevels } from '../../src/mtcnn/pyramid.js';
import { sharedTest } from '../helpers/shared.js';
import { goldenCases, goldenPath, goldenStages, type GoldenPad } from './golden-trace.js';

/**
 * Every step after the networks, fed with the reference's own inputs from the golden traces, must give
 * the reference's outputs bit for bit: these steps are pure float32 arithmetic, so there is no conv
 * noise to excuse a difference. (The networks themselves are checked in golden.test.ts.)
 */

const f = Math.fround;
const flat = (rows: number[][], width = 4) => Float32Array.from(rows.flatMap((r) => r.slice(0, width)));
const column = (rows: number[][], k: number) => Float32Array.from(rows.map((r) => r[k]!));
const asRows = (values: Float32Array, scores: ArrayLike<number>) =>
  Array.from({ length: scores.length }, (_, i) => [...values.subarray(i * 4, i * 4 + 4), scores[i]!]);
const padOf = (boxes: Float32Array, width: number, height: number): GoldenPad => {
  const p = pad(boxes, width, height);
  return { x: p.map((b) => b.x), y: p.map((b) => b.y), ex: p.map((b) => b.ex), ey: p.map((b) => b.ey) };
};

const traced = existsSync(goldenPath) ? Object.entries(goldenCases()).filter(([, c]) => c.trace) : [];
if (traced.length === 0) sharedTest('golden steps', goldenPath, () => assert.fail('no traced cases in the golden file'));
for (const [name, c] of traced) {
  sharedTest(`golden steps ${name}: box arithmetic, NMS and ordering are bit-exact on the reference's inputs`, goldenPath, () => {
    const [width, height] = c.size;
    const [t0, t1, t2] = c.thresholds;
    const g = goldenStages(c);

    // Pyramid: scales and level sizes.
    const levels = pyramidLevels(width, height, 20, 0.709);
    assert.deepEqual(
      levels.map((l) => [l.scale, l.height, l.width]),
      g.levels.map((l) => [l.scale, l.height, l.width]),
    );

    // Stage 1: every candidate box is a float32 cell box; per-level and cross-level NMS.
    const selected: number[][] = [];
    const selectedImages: number[] = [];
    for (const level of g.levels) {
      for (const row of level.boxes) {
        assert.ok(row[4]! >= f(t0), 'candidate score >= fround(t0)');
        const x = Array.from({ length: level.outputWidth }, (_, k) => k).find((k) => cellBox(k, 0, level.scale)[0] === row[0]);
        const y = Array.from({ length: level.outputHeight }, (_, k) => k).find((k) => cellBox(0, k, level.scale)[1] === row[1]);
        assert.ok(x !== undefined && y !== undefined, `cell of ${row.slice(0, 4)} at scale ${level.scale}`);
        assert.deepEqual(cellBox(x, y, level.scale), row.slice(0, 4));
      }
      const keep = batchedNms(flat(level.boxes), column(level.boxes, 4), level.imageIndices, 0.5);
      assert.deepEqual(keep, level.keep, `NMS 0.5 at scale ${level.scale}`);
      for (const k of keep) {
        selected.push(level.boxes[k]!);
        selectedImages.push(level.imageIndices[k]!);
      }
    }
    const cross = batchedNms(flat(selected), column(selected, 4), selectedImages, 0.7);
    assert.deepEqual(cross, g.crossLevelKeep, 'NMS 0.7 across levels');
    const kept = cross.map((k) => selected[k]!);
    const regressed = applyStageOneRegression(flat(kept), Float32Array.from(kept.flatMap((r) => r.slice(5, 9))));
    assert.deepEqual(asRows(regressed, column(kept, 4)), g.stage1Rerec.boxesIn, 'stage-1 regression');
    assert.deepEqual(asRows(rerec(regressed), column(kept, 4)), g.stage1Rerec.boxesOut, 'stage-1 rerec');

    // Stage 2 from the reference's R-Net outputs.
    const s2 = g.stage2!;
    assert.deepEqual(padOf(flat(g.stage1Rerec.boxesOut), width, height), s2.pad, 'stage-2 pad');
    const pass2 = s2.probabilities.flatMap((p, k) => (p > f(t1) ? [k] : []));
    const boxes2 = pass2.map((k) => [...g.stage1Rerec.boxesOut[k]!.slice(0, 4), s2.probabilities[k]!]);
    assert.equal(boxes2.length, s2.nmsCount);
    const keep2 = batchedNms(flat(boxes2), column(boxes2, 4), new Int32Array(boxes2.length), 0.7);
    assert.deepEqual(keep2, s2.nmsKeep, 'stage-2 NMS');
    const in2 = keep2.map((k) => boxes2[k]!);
    assert.deepEqual(in2, s2.bbreg.boxesIn);
    const reg2 = keep2.map((k) => s2.reg[pass2[k]!]!);
    assert.deepEqual(reg2, s2.bbreg.reg);
    const out2 = bbreg(flat(in2), flat(reg2));
    assert.deepEqual(asRows(out2, column(in2, 4)), s2.bbreg.boxesOut, 'stage-2 bbreg');
    assert.deepEqual(asRows(rerec(out2), column(in2, 4)), s2.rerec.boxesOut, 'stage-2 rerec');

    // Stage 3 from the reference's O-Net outputs, then the final order and landmarks.
    const s3 = g.stage3!;
    const in3 = s2.rerec.boxesOut;
    assert.deepEqual(padOf(flat(in3), width, height), s3.pad, 'stage-3 pad');
    const pass3 = s3.probabilities.flatMap((p, k) => (p > f(t2) ? [k] : []));
    const boxes3 = flat(pass3.map((k) => in3[k]!));
    const scores3 = Float32Array.from(pass3.map((k) => s3.probabilities[k]!));
    const landmarks = pass3.map((k, j) => landmarksFromBox(boxes3.subarray(j * 4, j * 4 + 4), s3.landmarks[k]!));
    const out3 = bbreg(boxes3, flat(pass3.map((k) => s3.reg[k]!)));
    assert.deepEqual(asRows(out3, scores3), s3.bbreg.boxesOut, 'stage-3 bbreg');
    const keep3 = batchedNumpyMinNms(out3, scores3, new Int32Array(pass3.length), 0.7);
    assert.deepEqual(keep3, s3.minNms.keep, "stage-3 'Min' NMS");
    const areas = keep3.map((k) => f(f(out3[k * 4 + 2]! - out3[k * 4]!) * f(out3[k * 4 + 3]! - out3[k * 4 + 1]!)));
    const order = Array.from(numpyArgsort(areas)).reverse().map((j) => keep3[j]!);
    assert.deepEqual(
      order.map((k) => Array.from(out3.subarray(k * 4, k * 4 + 4))),
      c.boxes,
      'final boxes, largest first',
    );
    assert.deepEqual(
      order.map((k) => scores3[k]),
      c.probs,
    );
    assert.deepEqual(
      order.map((k) => landmarks[k]),
      c.landmarks,
      'landmarks from the pre-bbreg box',
    );
  });
}
