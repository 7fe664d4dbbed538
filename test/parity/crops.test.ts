import { join } from 'node:path';
import assert from 'node:assert/strict';
import { runCli, scratchDir } from '../helpers/cli.js';
import { decodeImage, differingPixels, listFiles } from '../helpers/compare-images.js';
import { copyInto } from '../helpers/data-root.js';
import { parityDir, sharedTest } from '../helpers/shared.js';

/**
 * Stage 2 parity, independent of stage 1: given the reference's own boxes, `dfdc crops` must cut
 * the reference's crops pixel for pixel (same files, same sizes, same pixels).
 */
for (const name of ['dataset_a', 'dataset_b']) {
  const dataset = join(parityDir, name);
  sharedTest(`crops from the reference boxes equal the reference crops (${name})`, dataset, async () => {
    const scratch = scratchDir(`crops-${name}`);
    const root = copyInto(join(dataset, 'input'), join(scratch, 'root'));
    const out = join(scratch, 'out');
    copyInto(join(dataset, 'expected', 'boxes'), join(out, 'boxes'));
    const run = runCli(['crops', '--root-dir', root, '--output-dir', out, '--quiet']);
    assert.equal(run.status, 0, run.stderr);
    const expectedDir = join(dataset, 'expected', 'crops');
    const expected = listFiles(expectedDir);
    const actual = listFiles(join(out, 'crops'));
    assert.deepEqual(actual, expected, 'the crop files differ');
    for (const file of expected) {
      const [want, got] = await Promise.all([decodeImage(join(expectedDir, file)), decodeImage(join(out, 'crops', file))]);
      assert.equal(got.channels, 3, `${file} is not 8-bit RGB`);
      assert.equal(differingPixels(want, got), 0, `${file}: pixels differ`);
    }
  });
}
