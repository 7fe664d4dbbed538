import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBoxes, serializeBoxes } from '../../src/dataset/boxes-file.js';
import { parityDir, sharedTest } from '../helpers/shared.js';

test('boxes are written in frame order with Python json.dump separators and null for no face', () => {
  const frames = new Map([
    [10, null],
    [0, [[1, 2.5, 30, 40] as const, [-0.25, 0, 7, 8] as const]],
  ]);
  assert.equal(serializeBoxes(frames), '{"0": [[1.0, 2.5, 30.0, 40.0], [-0.25, 0.0, 7.0, 8.0]], "10": null}');
});

test('parseBoxes rejects what is not a boxes file', () => {
  assert.throws(() => parseBoxes('[]'), /not a JSON object/);
  assert.throws(() => parseBoxes('{"a": null}'), /not a frame index/);
  assert.throws(() => parseBoxes('{"0": [[1, 2]]}'), /not a list of/);
});

const boxesDirs = ['dataset_a', 'dataset_b'].map((name) => join(parityDir, name, 'expected', 'boxes'));
sharedTest('the reference boxes files round-trip character for character', boxesDirs[0] as string, () => {
  for (const dir of boxesDirs) {
    for (const file of readdirSync(dir)) {
      const text = readFileSync(join(dir, file), 'utf8');
      assert.equal(serializeBoxes(parseBoxes(text)), text, file);
    }
  }
});
