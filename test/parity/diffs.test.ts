import { join } from 'node:path';
import assert from 'node:assert/strict';
import { runCli, scratchDir } from '../helpers/cli.js';
import { decodeImage, differingPixels, listFiles } from '../helpers/compare-images.js';
import { copyInto } from '../helpers/data-root.js';
import { parityDir, sharedTest } from '../helpers/shared.js';

/**
 * Stage 4 parity, independent of the stages before it: from the reference's own crops,
 * `dfdc diffs` must write the reference's diff masks, every pixel identical, and no others.
 */
for (const name of ['dataset_a', 'dataset_b']) {
  const dataset = join(parityDir, name);
  sharedTest(`diffs from the reference crops equal the reference diffs (${name})`, dataset, async () => {
    const scratch = scratchDir(`diffs-${name}`);
    const root = copyInto(join(dataset, 'input'), join(scratch, 'root'));
    const out = join(scratch, 'out');
    const run = runCli(['diffs', '--root-dir', root, '--output-dir', out, '--crops-dir', join(dataset, 'expected', 'crops'), '--quiet']);
    assert.equal(run.status, 0, run.stderr);
    const expectedDir = join(dataset, 'expected', 'diffs');
    const expected = listFiles(expectedDir);
    assert.deepEqual(listFiles(join(out, 'diffs')), expected, 'the diff files differ');
    for (const file of expected) {
      const [want, got] = await Promise.all([decodeImage(join(expectedDir, file)), decodeImage(join(out, 'diffs', file))]);
      assert.equal(got.channels, 1, `${file} is not 8-bit gray`);
      assert.equal(differingPixels(want, got), 0, `${file}: pixels differ`);
    }
  });
}
