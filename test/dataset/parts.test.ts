import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { comparePartNames, findParts, partNumberOf } from '../../src/dataset/parts.js';
import { scratchDir } from '../helpers/cli.js';
import { writeDataRoot } from '../helpers/data-root.js';

test('part numbers: the integer after the last _ of a dfdc* folder', () => {
  assert.equal(partNumberOf('dfdc_train_part_12'), 12);
  assert.equal(partNumberOf('dfdc_train_part_0'), 0);
  assert.equal(partNumberOf('dfdc_part_007'), 7);
  assert.equal(partNumberOf('train_sample_videos'), null);
  assert.equal(partNumberOf('part_3'), null, 'not a dfdc folder');
  assert.equal(partNumberOf('dfdc_train_part_x'), null);
  assert.equal(partNumberOf('dfdc_train_part_1a'), null);
  assert.equal(partNumberOf('dfdc_train_part_-1'), null);
});

test('part names sort with numbers by value', () => {
  const names = ['dfdc_train_part_10', 'train_sample_videos', 'dfdc_train_part_2', 'dfdc_train_part_0', 'dfdc_train_part_1'];
  assert.deepEqual([...names].sort(comparePartNames), [
    'dfdc_train_part_0',
    'dfdc_train_part_1',
    'dfdc_train_part_2',
    'dfdc_train_part_10',
    'train_sample_videos',
  ]);
  assert.equal(comparePartNames('a', 'a'), 0);
  assert.ok(comparePartNames('a', 'a_1') < 0);
});

test('findParts: sub-folders with a metadata.json, never output or hidden folders', async () => {
  const root = scratchDir('parts');
  const folders = ['dfdc_train_part_10', 'dfdc_train_part_2', 'train_sample_videos', 'crops', 'boxes', 'landmarks', 'diffs', '.run-state', '.dfdc', '.hidden', 'my-crops'];
  await writeDataRoot(root, folders.map((part) => ({ part, name: 'a.mp4', record: { label: 'REAL' } })));
  await mkdir(join(root, 'no_metadata_part'));
  await writeFile(join(root, 'metadata.json'), '{}');
  await writeFile(join(root, 'stray_file'), '');
  await writeDataRoot(join(root, 'elsewhere'), [{ part: 'target_part', name: 'a.mp4', record: { label: 'REAL' } }]);
  await symlink(join(root, 'elsewhere', 'target_part'), join(root, 'dfdc_train_part_5'));

  const { parts } = await findParts(root, [join(root, 'my-crops')]);
  assert.deepEqual(
    parts.map((part) => [part.name, part.number]),
    [
      ['dfdc_train_part_2', 2],
      ['dfdc_train_part_5', 5],
      ['dfdc_train_part_10', 10],
      ['train_sample_videos', null],
    ],
  );
  assert.deepEqual(parts[0], {
    name: 'dfdc_train_part_2',
    number: 2,
    dir: join(root, 'dfdc_train_part_2'),
    metadataPath: join(root, 'dfdc_train_part_2', 'metadata.json'),
    metadataFile: 'dfdc_train_part_2/metadata.json',
  });
});
