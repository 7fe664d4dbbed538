import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDataset, originalOf } from '../../src/dataset/dataset.js';
import { formatProblem } from '../../src/dataset/problems.js';
import { scratchDir } from '../helpers/cli.js';
import { copyParityMetadata, writeDataRoot } from '../helpers/data-root.js';
import { parityDir, sharedTest } from '../helpers/shared.js';

const dirsOf = (root: string) => ({ rootDir: root, outputDir: root, cropsDir: join(root, 'crops') });

test('the model: parts, videos, REALs, FAKEs with their original, pairs, missing files', async () => {
  const root = scratchDir('dataset');
  await writeDataRoot(
    root,
    [
      { part: 0, name: 'r1.mp4', label: 'REAL', source: 'empty' },
      { part: 0, name: 'f1.mp4', label: 'FAKE', original: 'r1.mp4', source: 'empty' },
      { part: 0, name: 'f2.mp4', record: { label: 'FAKE', original: 'r1.mp4' } },
      { part: 0, name: 'lonely.mp4', record: { label: 'REAL' }, source: 'empty' },
      { part: 0, name: 'unlisted.mp4', record: null, source: 'empty' },
      { part: 1, name: 'f3.mp4', record: { label: 'FAKE', original: 'r1.mp4' }, source: 'empty' },
      { part: 1, name: 'r2.mp4', record: { label: 'REAL' }, source: 'empty' },
      { part: 1, name: 'f4.mp4', record: { label: 'FAKE', original: 'r2.mp4' }, source: 'empty' },
    ],
    { emptyParts: [2] },
  );
  const dataset = await loadDataset(dirsOf(root));
  assert.deepEqual(dataset.problems, []);
  assert.equal(dataset.rootDir, root);
  assert.deepEqual(
    dataset.parts.map((part) => [part.name, part.number, part.videos.map((video) => video.id)]),
    [
      ['dfdc_train_part_0', 0, ['r1', 'f1', 'f2', 'lonely']],
      ['dfdc_train_part_1', 1, ['f3', 'r2', 'f4']],
      ['dfdc_train_part_2', 2, []],
    ],
  );
  assert.deepEqual(dataset.videos.map((video) => video.id), ['r1', 'f1', 'f2', 'lonely', 'f3', 'r2', 'f4']);
  assert.deepEqual(dataset.reals.map((video) => video.id), ['r1', 'lonely', 'r2']);
  assert.deepEqual(dataset.fakes.map((fake) => [fake.id, fake.originalId, fake.original.id]), [
    ['f1', 'r1', 'r1'],
    ['f2', 'r1', 'r1'],
    ['f3', 'r1', 'r1'],
    ['f4', 'r2', 'r2'],
  ]);
  assert.deepEqual(
    dataset.pairs.map((pair) => [pair.original.id, pair.fakes.map((fake) => fake.id)]),
    [
      ['r1', ['f1', 'f2', 'f3']],
      ['r2', ['f4']],
    ],
  );
  const f3 = dataset.fakes[2]!;
  assert.equal(f3.path, join(root, 'dfdc_train_part_1', 'f3.mp4'));
  assert.equal(f3.name, 'f3.mp4');
  assert.equal(f3.part.name, 'dfdc_train_part_1');
  assert.equal(f3.original.part.name, 'dfdc_train_part_0', 'an original found in another part');
  assert.equal(originalOf(f3).id, 'r1');
  assert.equal(originalOf(dataset.reals[1]!).id, 'lonely');
  assert.equal(dataset.reals[0]!.originalId, null);
  assert.deepEqual(dataset.missingVideos.map((video) => video.name), ['f2.mp4']);
});

test('problems are collected, one line each, and the rest is processed', async () => {
  const root = scratchDir('dataset');
  await writeDataRoot(
    root,
    [
      { part: 0, name: 'r1.mp4', record: { label: 'REAL' } },
      { part: 0, name: 'bad.mp4', record: { label: 'real' } },
      { part: 0, name: 'f1.mp4', record: { label: 'FAKE', original: 'r1.mp4' } },
      { part: 0, name: 'f2.mp4', record: { label: 'FAKE', original: 'nowhere.mp4' } },
      { part: 0, name: 'f3.mp4', record: { label: 'FAKE', original: 'bad.mp4' } },
      { part: 0, name: 'f4.mp4', record: { label: 'FAKE', original: 'f1.mp4' } },
      { part: 0, name: 'f5.mp4', record: { label: 'FAKE', original: 'f5.mp4' } },
    ],
    {
      rawMetadata: {
        dfdc_train_part_1: '{"r1.mp4": {"label": "REAL"}, "r9.mp4": {"label": "REAL"}}',
        dfdc_train_part_2: 'not json',
        dfdc_train_part_3: '[]',
      },
    },
  );
  const dataset = await loadDataset(dirsOf(root));
  const lines = dataset.problems.map(formatProblem);
  assert.equal(lines.length, 8, lines.join('\n'));
  assert.equal(lines[0], 'dfdc_train_part_0/metadata.json: "bad.mp4".label must be REAL or FAKE (got "real")');
  assert.equal(
    lines[1],
    'dfdc_train_part_1/metadata.json: "r1.mp4" is also listed in dfdc_train_part_0/metadata.json: outputs are keyed by video id, so the first one is kept and this one skipped',
  );
  assert.match(lines[2]!, /^dfdc_train_part_2\/metadata\.json: not valid JSON \(.+\); part skipped$/);
  assert.equal(lines[3], 'dfdc_train_part_3/metadata.json: not a JSON object mapping video file names to records but an array; part skipped');
  assert.deepEqual(lines.slice(4), [
    'dfdc_train_part_0/metadata.json: "f2.mp4".original "nowhere.mp4" is not in any metadata.json; fake skipped',
    'dfdc_train_part_0/metadata.json: "f3.mp4".original "bad.mp4" has a bad record of its own (see its problem); fake skipped',
    'dfdc_train_part_0/metadata.json: "f4.mp4".original "f1.mp4" is labelled FAKE in dfdc_train_part_0/metadata.json, not REAL: name the REAL video the fake was made from; fake skipped',
    'dfdc_train_part_0/metadata.json: "f5.mp4".original "f5.mp4" is the fake itself: name the REAL video it was made from; fake skipped',
  ]);
  assert.deepEqual(dataset.parts.map((part) => part.name), ['dfdc_train_part_0', 'dfdc_train_part_1']);
  assert.deepEqual(dataset.videos.map((video) => `${video.part.name}/${video.name}`), [
    'dfdc_train_part_0/r1.mp4',
    'dfdc_train_part_0/f1.mp4',
    'dfdc_train_part_1/r9.mp4',
  ]);
  assert.deepEqual(dataset.pairs.map((pair) => [pair.original.id, pair.fakes.map((fake) => fake.id)]), [['r1', ['f1']]]);
  assert.equal(dataset.missingVideos.length, 3, 'no video file was written');
});

test('a FAKE naming a REAL that shares its id is told of the clash, not that it names itself', async () => {
  const root = scratchDir('dataset');
  mkdirSync(join(root, 'v', 'a'), { recursive: true });
  writeFileSync(join(root, 'manifest.csv'), 'path,label,original\nv/a/b.mp4,FAKE,v/a_b.mp4\nv/a_b.mp4,REAL,\n');
  writeFileSync(join(root, 'v', 'a', 'b.mp4'), '');
  writeFileSync(join(root, 'v', 'a_b.mp4'), '');
  const lines = (await loadDataset(dirsOf(root))).problems.map(formatProblem);
  assert.ok(lines.length > 0 && lines.every((line) => !line.includes('is the fake itself')), lines.join('\n'));
});

test('output folders inside DATA_ROOT are never parts, even a renamed --crops-dir', async () => {
  const root = scratchDir('dataset');
  await writeDataRoot(root, [
    { part: 0, name: 'r.mp4', record: { label: 'REAL' } },
    { part: 'fast_crops', name: 'x.mp4', record: { label: 'REAL' } },
  ]);
  const dataset = await loadDataset({ rootDir: root, outputDir: root, cropsDir: join(root, 'fast_crops') });
  assert.deepEqual(dataset.parts.map((part) => part.name), ['dfdc_train_part_0']);
});

sharedTest('the parity inputs load without problems', join(parityDir, 'dataset_b', 'input'), async () => {
  const root = scratchDir('dataset');
  await copyParityMetadata(join(parityDir, 'dataset_b', 'input'), root);
  const dataset = await loadDataset(dirsOf(root));
  assert.deepEqual(dataset.problems, []);
  assert.deepEqual(dataset.pairs.map((pair) => [pair.original.part.number, pair.original.id, pair.fakes.map((fake) => fake.id)]), [
    [0, 'hl1real', ['hl1fake']],
    [0, 'ff634', ['ff634x660']],
    [5, 'hl2real', ['hl2fake']],
  ]);
  const direct = await loadDataset(dirsOf(join(parityDir, 'dataset_b', 'input')));
  assert.deepEqual(direct.missingVideos, [], 'every listed video is in the parity input');
});
