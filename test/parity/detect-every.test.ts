import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { parseBoxes } from '../../src/dataset/boxes-file.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { listFiles } from '../helpers/compare-images.js';
import { copyInto } from '../helpers/data-root.js';
import { parityDir, sharedTest } from '../helpers/shared.js';

/**
 * Pipeline mode's detector input (`--every 10`, as `dfdc run` uses it) against the reference's full
 * boxes: every detected frame has the reference's faces within 1e-3 px. The frames keep their
 * positions in the reference's 32-frame batches, whose NMS offsets can otherwise move a box.
 */
for (const name of ['dataset_a', 'dataset_b']) {
  const dataset = join(parityDir, name);
  sharedTest(`detect --every 10 gives the reference's boxes on those frames (${name})`, dataset, (t) => {
    const scratch = scratchDir(`every-${name}`);
    const root = copyInto(join(dataset, 'input'), join(scratch, 'root'));
    const out = join(scratch, 'out');
    const run = runCli(['detect', '--root-dir', root, '--output-dir', out, '--every', '10', '--quiet']);
    assert.equal(run.status, 0, run.stderr);
    for (const file of listFiles(join(dataset, 'expected', 'boxes'))) {
      const want = parseBoxes(readFileSync(join(dataset, 'expected', 'boxes', file), 'utf8'));
      const got = parseBoxes(readFileSync(join(out, 'boxes', file), 'utf8'));
      assert.deepEqual([...got.keys()], [...want.keys()].filter((frame) => frame % 10 === 0), `${file}: frame keys`);
      let worst = 0;
      for (const [frame, boxes] of got) {
        const expected = want.get(frame) ?? null;
        assert.equal(boxes?.length ?? 0, expected?.length ?? 0, `${file} frame ${frame}: face count`);
        boxes?.forEach((box, j) => box.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - expected![j]![k]!)))));
      }
      assert.ok(worst <= 1e-3, `${file}: a box differs by ${worst} px`);
      t.diagnostic(`${file}: ${got.size} frames, max box difference ${worst.toExponential(2)} px`);
    }
  });
}
