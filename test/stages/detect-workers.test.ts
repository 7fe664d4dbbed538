import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseBoxes } from '../../src/dataset/boxes-file.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { nativeTest, sampleRoot } from '../helpers/shared.js';

/**
 * On one engine, the boxes do not depend on how many workers share the batches: each batch is
 * detected whole by one worker, and the native engine's sessions compute each sum in one thread, in
 * one order (src/mtcnn/native-nets.ts). The sample's five REAL videos (41 frames each) in batches
 * of 8, so that both workers take batches of every video, with one worker and then two; every
 * boxes file must be the same bytes. The native engine is an optional dependency: outside CI a
 * machine without it skips this with the reason; CI installs it, so there its absence fails.
 */
await nativeTest('native engine (ONNX Runtime): dfdc detect writes byte-identical boxes with 1 and 2 workers', () => {
  const scratch = scratchDir('detect-workers');
  const boxes = (workers: number): Map<string, Buffer> => {
    const out = join(scratch, `workers-${workers}`);
    const run = runCli(['detect', '--root-dir', sampleRoot, '--output-dir', out, '--backend', 'native', '--workers', String(workers), '--batch-size', '8', '--quiet']);
    assert.equal(run.status, 0, run.stderr);
    const dir = join(out, 'boxes');
    return new Map(readdirSync(dir).map((file) => [file, readFileSync(join(dir, file))]));
  };
  const one = boxes(1);
  const two = boxes(2);
  assert.deepEqual([...two.keys()].sort(), [...one.keys()].sort());
  assert.equal(one.size, 5, 'a boxes file per REAL video of the sample');
  let faces = 0;
  for (const [file, bytes] of one) {
    assert.ok(bytes.equals(two.get(file)!), `${file}: the boxes differ between 1 and 2 workers`);
    for (const list of parseBoxes(bytes.toString('utf8')).values()) faces += list?.length ?? 0;
  }
  // Boxes that are all null would be identical for any reason: the sample's faces must be there.
  assert.ok(faces > 100, `${faces} faces found in the sample`);
});
