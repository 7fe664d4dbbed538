import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, scratchDir } from '../helpers/cli.js';
import { sampleRoot } from '../helpers/shared.js';

/**
 * A 250-byte video name is legal on ext4 (255 bytes): every stage must work on it, though its
 * outputs and their temporaries add to the name. Its id is shortened to 200 bytes (README, "Data sets").
 */
test('a REAL and a FAKE with 250-byte names go through every stage', () => {
  const root = scratchDir('long-names');
  const part = join(root, 'dfdc_train_part_0');
  mkdirSync(part, { recursive: true });
  const real = `${'r'.repeat(246)}.mp4`;
  const fake = `${'f'.repeat(246)}.mp4`;
  copyFileSync(join(sampleRoot, 'dfdc_train_part_0', 'real_a.mp4'), join(part, real));
  copyFileSync(join(sampleRoot, 'dfdc_train_part_0', 'fake_a_blur.mp4'), join(part, fake));
  writeFileSync(join(part, 'metadata.json'), JSON.stringify({ [real]: { label: 'REAL' }, [fake]: { label: 'FAKE', original: real } }));
  const out = join(root, 'out');
  const result = runCli(['run', '--root-dir', root, '--output-dir', out, '--n-splits', '1', '--total-parts', '1', '--quiet', '--json']);
  assert.equal(result.status, 0, result.stderr);
  const stages = (JSON.parse(result.stdout) as { stages: Record<string, { done: number; failed: number }> }).stages;
  assert.deepEqual(Object.fromEntries(Object.entries(stages).map(([stage, counts]) => [stage, [counts.done, counts.failed]])), {
    detect: [1, 0],
    crops: [2, 0],
    landmarks: [1, 0],
    diffs: [1, 0],
  });
  for (const folder of ['crops', 'diffs']) {
    for (const name of readdirSync(join(out, folder))) assert.ok(Buffer.byteLength(name) <= 200, `${folder}/${name}`);
  }
});
