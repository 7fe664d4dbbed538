import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { parseBoxes, type Box } from '../../src/dataset/boxes-file.js';
import { decodeNpyInt16 } from '../../src/landmarks/npy.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { decodeImage, differingPixels, listFiles } from '../helpers/compare-images.js';
import { copyInto } from '../helpers/data-root.js';
import { parityDir, sharedTest } from '../helpers/shared.js';

/**
 * End-to-end parity: `dfdc run --all-frames` on each parity data set, every output compared with
 * the reference's, with the tolerances:
 * - boxes: the same frame keys; the same face count in >= 99.5% of frames; boxes within 1e-3 px;
 * - crops: pixel-identical, except a crop whose box has a doubled coordinate within 2e-3 of an
 *   integer (there `trunc(2*b)` may flip by float noise);
 * - landmarks: identical int16 values in >= 99% of the files whose crops are identical;
 * - diffs: every pixel identical where both crops are identical;
 * - folds.csv: the same rows as a set.
 */
const BOX_TOLERANCE = 1e-3;
const TRUNCATION_MARGIN = 2e-3;

/** Video id -> the id of the original whose boxes cut it (itself for a REAL), from the input metadata. */
function originalsOf(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of listFiles(root).filter((path) => path.endsWith('/metadata.json'))) {
    const records = JSON.parse(readFileSync(join(root, file), 'utf8')) as Record<string, { label: string; original?: string | null }>;
    for (const [video, record] of Object.entries(records)) {
      out.set(video.replace(/\.mp4$/, ''), (record.label === 'FAKE' ? (record.original as string) : video).replace(/\.mp4$/, ''));
    }
  }
  return out;
}

/** `<video>/<cell>` -> `<original of video>/<cell>`. */
function viaOriginal(originals: Map<string, string>, file: string): string {
  const slash = file.indexOf('/');
  return `${originals.get(file.slice(0, slash)) ?? file.slice(0, slash)}${file.slice(slash)}`;
}

function nearInteger(value: number): boolean {
  return Math.abs(value - Math.round(value)) < TRUNCATION_MARGIN;
}

for (const name of ['dataset_a', 'dataset_b']) {
  const dataset = join(parityDir, name);
  sharedTest(`dfdc run --all-frames reproduces the reference outputs (${name})`, dataset, async (t) => {
    const scratch = scratchDir(`pipeline-${name}`);
    const root = copyInto(join(dataset, 'input'), join(scratch, 'root'));
    const out = join(scratch, 'out');
    const run = runCli(['run', '--root-dir', root, '--output-dir', out, '--all-frames', '--quiet']);
    assert.equal(run.status, 0, run.stderr);
    const expected = join(dataset, 'expected');
    const originals = originalsOf(root);

    // Crops whose geometry may legitimately flip: a doubled box coordinate within 2e-3 of an integer.
    const fragileCrops = new Set<string>();
    await t.test('boxes', () => {
      for (const file of listFiles(join(expected, 'boxes'))) {
        const want = parseBoxes(readFileSync(join(expected, 'boxes', file), 'utf8'));
        const got = parseBoxes(readFileSync(join(out, 'boxes', file), 'utf8'));
        assert.deepEqual([...got.keys()], [...want.keys()], `${file}: frame keys differ`);
        let sameCount = 0;
        let worst = 0;
        for (const [frame, wantBoxes] of want) {
          const gotBoxes = got.get(frame) ?? null;
          if ((wantBoxes?.length ?? 0) !== (gotBoxes?.length ?? 0)) continue;
          sameCount += 1;
          (wantBoxes ?? []).forEach((box: Box, j: number) => {
            const mine = (gotBoxes as Box[])[j] as Box;
            box.forEach((v, k) => {
              worst = Math.max(worst, Math.abs(v - (mine[k] as number)));
              if (nearInteger(2 * v)) fragileCrops.add(`${file.replace('.json', '')}/${frame}_${j}.png`);
            });
          });
        }
        assert.ok(sameCount >= 0.995 * want.size, `${file}: same face count in only ${sameCount} of ${want.size} frames`);
        assert.ok(worst <= BOX_TOLERANCE, `${file}: a box differs by ${worst} px`);
        t.diagnostic(`${file}: ${sameCount}/${want.size} frames with the same face count, max box difference ${worst.toExponential(2)} px`);
      }
    });

    const identicalCrops = new Set<string>();
    await t.test('crops', async () => {
      const wantFiles = listFiles(join(expected, 'crops'));
      const gotFiles = new Set(listFiles(join(out, 'crops')));
      for (const file of wantFiles) {
        if (!gotFiles.has(file)) continue;
        const [want, got] = await Promise.all([decodeImage(join(expected, 'crops', file)), decodeImage(join(out, 'crops', file))]);
        if (differingPixels(want, got) === 0) identicalCrops.add(file);
      }
      const differing = wantFiles.filter((file) => !identicalCrops.has(file));
      // A FAKE is cut with its original's boxes: a crop may differ only where its box is fragile.
      const unexplained = differing.filter((file) => !fragileCrops.has(viaOriginal(originals, file)));
      assert.deepEqual(unexplained, [], 'crops differ (or are missing) where no box coordinate is near an integer');
      const extra = [...gotFiles].filter((file) => !wantFiles.includes(file) && !fragileCrops.has(viaOriginal(originals, file)));
      assert.deepEqual(extra, [], 'crops the reference does not have');
      t.diagnostic(`${identicalCrops.size}/${wantFiles.length} crops pixel-identical`);
    });

    await t.test('landmarks', () => {
      const wantFiles = listFiles(join(expected, 'landmarks')).filter((file) => identicalCrops.has(file.replace('.npy', '.png')));
      let same = 0;
      for (const file of wantFiles) {
        let got: Buffer;
        try {
          got = readFileSync(join(out, 'landmarks', file));
        } catch {
          continue;
        }
        const a = decodeNpyInt16(readFileSync(join(expected, 'landmarks', file)));
        const b = decodeNpyInt16(got);
        if (a.values.every((v, i) => v === b.values[i])) same += 1;
      }
      assert.ok(same >= 0.99 * wantFiles.length, `identical landmarks in only ${same} of ${wantFiles.length}`);
    });

    await t.test('diffs', async () => {
      for (const file of listFiles(join(expected, 'diffs'))) {
        const fakeCrop = file.replace('_diff.png', '.png');
        const originalCrop = viaOriginal(originals, fakeCrop);
        if (!identicalCrops.has(fakeCrop) || !identicalCrops.has(originalCrop)) continue;
        const [want, got] = await Promise.all([decodeImage(join(expected, 'diffs', file)), decodeImage(join(out, 'diffs', file))]);
        assert.equal(differingPixels(want, got), 0, `${file}: pixels differ`);
      }
    });

    await t.test('folds.csv rows', () => {
      const rows = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n');
      const [wantHeader, ...want] = rows(join(expected, 'folds.csv'));
      const [gotHeader, ...got] = rows(join(out, 'folds.csv'));
      assert.equal(gotHeader, wantHeader);
      assert.deepEqual([...got].sort(), [...want].sort());
    });
  });
}

