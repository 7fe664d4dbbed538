import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after } from 'node:test';
import { createMtcnnDetector } from '../../src/mtcnn/detector.js';
import type { TraceEvent } from '../../src/mtcnn/trace.js';
import type { MtcnnBackend } from '../../src/mtcnn/engine.js';
import { sharedTest } from '../helpers/shared.js';
import { goldenCases, goldenImage, goldenPath, goldenStages } from './golden-trace.js';
import { boxTolerance, compareTrace } from './trace-compare.js';

/**
 * Registers one parity test per golden case: the detector on `backend` must find the reference's
 * faces in the reference's order, boxes and landmarks within 1e-3 px, probabilities within 1e-5,
 * and, for traced cases, agree with the reference step by step (trace-compare.ts; docs/mtcnn.md §12).
 */
export const probabilityTolerance = 1e-5;

export function registerGoldenTests(backend: MtcnnBackend, include: (name: string) => boolean = () => true): void {
  const names = existsSync(goldenPath) ? Object.keys(goldenCases()).filter(include) : [];
  if (names.length === 0) {
    sharedTest(`MTCNN golden cases on ${backend}`, goldenPath, () => assert.fail('no golden cases selected'));
    return;
  }
  const detector = createMtcnnDetector({ backend });
  after(() => detector.dispose());
  for (const name of names) {
    sharedTest(`MTCNN on ${backend} matches facenet-pytorch: ${name}`, goldenPath, async (t) => {
      const c = goldenCases()[name]!;
      const image = await goldenImage(c);
      assert.deepEqual([image.width, image.height], c.size);
      const events: TraceEvent[] = [];
      const [faces] = await detector.detectFaces([image], {
        thresholds: c.thresholds,
        minFaceSize: 20,
        ...(c.trace ? { trace: (event: TraceEvent) => events.push(event) } : {}),
      });
      if (c.trace) {
        const comparison = compareTrace(events, goldenStages(c), c.thresholds);
        if (!comparison.complete) t.diagnostic(`trace compared up to a legitimate flip: ${comparison.flip}`);
      }
      const expected = c.boxes ?? [];
      assert.equal(faces!.length, expected.length, 'number of faces');
      faces!.forEach((face, i) => {
        face.box.forEach((v, k) => assert.ok(Math.abs(v - expected[i]![k]!) <= boxTolerance, `face ${i} box[${k}]: ${v} vs ${expected[i]![k]}`));
        assert.ok(Math.abs(face.probability - c.probs[i]!) <= probabilityTolerance, `face ${i} probability ${face.probability} vs ${c.probs[i]}`);
        assert.equal(face.landmarks.length, 5);
        face.landmarks.forEach((point, k) =>
          point.forEach((v, j) =>
            assert.ok(Math.abs(v - c.landmarks![i]![k]![j]!) <= boxTolerance, `face ${i} landmark ${k}[${j}]: ${v} vs ${c.landmarks![i]![k]![j]}`),
          ),
        );
      });
    });
  }
}
