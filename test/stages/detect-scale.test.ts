import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBoxes, type Box } from '../../src/dataset/boxes-file.js';
import { autoScale, toHalfSizeBox } from '../../src/stages/detect-frames.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { fixturesDir } from '../helpers/shared.js';

test("--scale auto follows the write-up's rule on the wider side, with its edges", () => {
  assert.equal(autoScale(299, 200), 2);
  assert.equal(autoScale(300, 200), 1);
  assert.equal(autoScale(1000, 720), 1);
  assert.equal(autoScale(1001, 720), 0.5);
  assert.equal(autoScale(1080, 1900), 0.5);
  assert.equal(autoScale(1080, 1920), 0.33);
  assert.equal(autoScale(1901, 1080), 0.33);
});

test('boxes found at scale s are stored at half size (x 0.5/s), in float32', () => {
  assert.deepEqual(toHalfSizeBox([10, 20, 30, 40], 1), [5, 10, 15, 20]);
  assert.deepEqual(toHalfSizeBox([10, 20, 30, 40], 2), [2.5, 5, 7.5, 10]);
  const box = toHalfSizeBox([100.1, 0, 0, 0], 0.33);
  assert.equal(box[0], Math.fround(100.1 * (0.5 / 0.33)));
});

test('detect at scale 1 and auto finds the same faces as at 0.5, in half-size coordinates', () => {
  const root = join(fixturesDir, 'sample');
  const scratch = scratchDir('scale');
  const boxesAt = (scale: string): Map<number, Box[] | null> => {
    const out = join(scratch, scale);
    const run = runCli(['detect', '--root-dir', root, '--output-dir', out, '--every', '20', '--scale', scale, '--parts', '1', '--quiet']);
    assert.equal(run.status, 0, run.stderr);
    return parseBoxes(readFileSync(join(out, 'boxes', 'real_b.json'), 'utf8'));
  };
  const half = boxesAt('0.5');
  for (const scale of ['1', 'auto']) {
    const other = boxesAt(scale);
    assert.deepEqual([...other.keys()], [...half.keys()]);
    for (const [frame, boxes] of half) {
      const mine = other.get(frame)!;
      assert.equal(mine?.length, boxes?.length, `frame ${frame} at scale ${scale}`);
      boxes!.forEach((box, j) => box.forEach((v, k) => assert.ok(Math.abs(v - mine[j]![k]!) < 6, `frame ${frame} box ${j} at scale ${scale}: ${mine[j]} vs ${box}`)));
    }
  }
});

test('a bad --scale is one line and exit 2', () => {
  const run = runCli(['detect', '--root-dir', join(fixturesDir, 'sample'), '--scale', 'big']);
  assert.equal(run.status, 2);
  assert.equal(run.stderr.trim().split('\n').length, 1);
  assert.match(run.stderr, /--scale/);
});
