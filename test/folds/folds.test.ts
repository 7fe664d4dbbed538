import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { listGridCells } from '../../src/dataset/crop-files.js';
import { loadDataset, type Dataset } from '../../src/dataset/dataset.js';
import { assignFolds, foldOfGroup, buildFolds, foldOfPartNumber, foldRowAt, foldTable, foldsCsv, foldsOfParts, gridCellIndices } from '../../src/dataset/folds.js';
import { outputPaths } from '../../src/dataset/output-paths.js';
import { partAt } from '../../src/dataset/parts.js';
import { DfdcError } from '../../src/util/errors.js';
import { ExitCode } from '../../src/util/exit-codes.js';
import { scratchDir } from '../helpers/cli.js';
import { copyParityMetadata, writeDataRoot, type DataRootEntry } from '../helpers/data-root.js';
import { parityDir, sharedTest } from '../helpers/shared.js';

const reference = { nSplits: 16, partCount: 50 };

test('50 parts in 16 folds: size 3, fold 15 holds parts 45..49', () => {
  const folds = Array.from({ length: 50 }, (_, part) => foldOfPartNumber(part, reference));
  for (let k = 0; k < 15; k += 1) assert.deepEqual([folds[3 * k], folds[3 * k + 1], folds[3 * k + 2]], [k, k, k], `fold ${k}`);
  assert.deepEqual(folds.slice(45), [15, 15, 15, 15, 15]);
  assert.equal(folds[44], 14);
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6].map((part) => foldOfPartNumber(part, { nSplits: 3, partCount: 7 })),
    [0, 0, 1, 1, 2, 2, 2],
  );
  assert.deepEqual(
    [0, 4].map((part) => foldOfPartNumber(part, { nSplits: 1, partCount: 5 })),
    [0, 0],
  );
  assert.deepEqual(
    [0, 1, 2].map((part) => foldOfPartNumber(part, { nSplits: 3, partCount: 3 })),
    [0, 1, 2],
  );
});

function expectDfdcError(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof DfdcError);
    assert.equal(error.exitCode, ExitCode.Fatal);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

test('a part outside 0..P-1 is a clear error naming the folder and the fix; a part without a number is left to group folds', () => {
  const folds = foldsOfParts([partAt('/d', 'dfdc_train_part_0'), partAt('/d', 'train_sample_videos'), partAt('/d', 'dfdc_train_part_49')], reference);
  assert.deepEqual([...folds], [
    ['dfdc_train_part_0', 0],
    ['dfdc_train_part_49', 15],
  ]);
  expectDfdcError(
    () => foldsOfParts([partAt('/d', 'dfdc_train_part_50')], reference),
    'part folder dfdc_train_part_50 has number 50, outside 0..49 (50 parts): give 51 or more parts (--parts in dfdc folds, --total-parts in dfdc run), or rename the folder',
  );
  expectDfdcError(
    () => foldsOfParts([partAt('/d', 'x'), partAt('/d', 'dfdc_train_part_60'), partAt('/d', 'dfdc_train_part_70'), partAt('/d', 'dfdc_train_part_80')], reference),
    /^part folder dfdc_train_part_60 has number 60, .* \(and 2 more such part folders\)$/,
  );
});

test('a group fold is FNV-1a of the group id modulo the number of folds', () => {
  // FNV-1a 32 of "a" is 0xe40c292c (the published test vector).
  assert.equal(foldOfGroup('a', 16), 0xe40c292c % 16);
  assert.equal(foldOfGroup('train_sample_videos', 1), 0);
});

async function datasetOf(entries: readonly DataRootEntry[], fn: (dataset: Dataset) => void | Promise<void>): Promise<void> {
  const root = scratchDir('folds');
  await writeDataRoot(root, entries);
  await fn(await loadDataset({ rootDir: root, outputDir: root, cropsDir: join(root, 'crops') }));
}

test('the leak check names the pair whose fake and original are in different folds', async () => {
  await datasetOf(
    [
      { part: 0, name: 'r0.mp4', record: { label: 'REAL' } },
      { part: 0, name: 'f0.mp4', record: { label: 'FAKE', original: 'r0.mp4' } },
      { part: 2, name: 'r2.mp4', record: { label: 'REAL' } },
      { part: 3, name: 'f3.mp4', record: { label: 'FAKE', original: 'r2.mp4' } },
    ],
    (dataset) => {
      // 16 folds of 50 parts (size 3): part 2 is in fold 0, part 3 in fold 1.
      expectDfdcError(
        () => assignFolds(dataset, reference),
        "leak between folds: fake f3 (dfdc_train_part_3, fold 1) and its original r2 (dfdc_train_part_2, fold 0) are in different folds; keep each fake in its original's part, or choose --n-splits, or the number of parts (--parts in dfdc folds, --total-parts in dfdc run), so that both parts share a fold",
      );
      // 25 folds of 50 parts (size 2): parts 2 and 3 share fold 1.
      const { foldOf } = assignFolds(dataset, { nSplits: 25, partCount: 50 });
      assert.deepEqual(
        dataset.videos.map((video) => [video.id, foldOf(video)]),
        [
          ['r0', 0],
          ['f0', 0],
          ['r2', 1],
          ['f3', 1],
        ],
      );
    },
  );
});

test('rows: existing grid crops of each original with a fake (label 0) and of each fake (label 1)', async () => {
  await datasetOf(
    [
      { part: 4, name: 'r.mp4', record: { label: 'REAL' } },
      { part: 4, name: 'f.mp4', record: { label: 'FAKE', original: 'r.mp4' } },
      { part: 4, name: 'g.mp4', record: { label: 'FAKE', original: 'r.mp4' } },
      { part: 4, name: 'alone.mp4', record: { label: 'REAL' } },
    ],
    (dataset) => {
      const crops: Record<string, string[]> = {
        r: ['0_0.png', '0_1.png', '0_2.png', '310_0.png', '320_0.png'],
        f: ['10_1.png', '0_0.png'],
        g: [],
        alone: ['0_0.png'],
      };
      const expected = [
        { video: 'r', file: '0_0.png', label: 0, original: 'r', frame: 0, fold: 7 },
        { video: 'r', file: '0_1.png', label: 0, original: 'r', frame: 0, fold: 7 },
        { video: 'r', file: '310_0.png', label: 0, original: 'r', frame: 310, fold: 7 },
        { video: 'f', file: '0_0.png', label: 1, original: 'r', frame: 0, fold: 7 },
        { video: 'f', file: '10_1.png', label: 1, original: 'r', frame: 10, fold: 7 },
      ];
      const cellsOf = (id: string) => gridCellIndices(new Set(crops[id]));
      const table = foldTable(dataset.pairs, cellsOf, () => 7);
      assert.deepEqual([...table.rows].map((row) => foldRowAt(table, row)), expected);
      const result = buildFolds(dataset.pairs, cellsOf, () => 7, 777);
      assert.equal(result.videoCount, 2);
      assert.deepEqual(result.foldsUsed, [7]);
      const asText = (rows: readonly unknown[]) => new Set(rows.map((row) => JSON.stringify(row)));
      assert.deepEqual(asText([...result.table.rows].map((row) => foldRowAt(result.table, row))), asText(expected));
    },
  );
});

test('CSV: header, one line per row, \\n line ends, fields quoted only when they must be', () => {
  assert.equal(foldsCsv({ videos: [], rows: new Uint32Array(0) }), 'video,file,label,original,frame,fold\n');
  const videos = [
    { id: 'abc', label: 1 as const, original: 'xyz', fold: 3 },
    { id: 'a,b', label: 0 as const, original: 'say "hi"', fold: 0 },
  ];
  // A row is video * 64 + cell: cell 1 is frame 0 actor 1, cell 2 is frame 10 actor 0.
  assert.equal(
    foldsCsv({ videos, rows: Uint32Array.from([0 * 64 + 1, 1 * 64 + 2]) }),
    'video,file,label,original,frame,fold\nabc,0_1.png,1,xyz,0,3\n"a,b",10_0.png,0,"say ""hi""",10,0\n',
  );
});

for (const name of ['dataset_a', 'dataset_b']) {
  const input = join(parityDir, name, 'input');
  const expected = join(parityDir, name, 'expected');
  sharedTest(`library: folds of ${name} equal the reference's rows as a set`, expected, async () => {
    const root = scratchDir('folds');
    await copyParityMetadata(input, root);
    const dirs = { rootDir: root, outputDir: root, cropsDir: join(expected, 'crops') };
    const dataset = await loadDataset(dirs);
    assert.deepEqual(dataset.problems, []);
    const { foldOf } = assignFolds(dataset, reference);
    const ids = dataset.pairs.flatMap((pair) => [pair.original.id, ...pair.fakes.map((fake) => fake.id)]);
    const listed = await listGridCells(outputPaths(dirs), ids);
    const { table } = buildFolds(dataset.pairs, (id) => listed.get(id)!, foldOf, 777);
    const [header, ...lines] = foldsCsv(table).trimEnd().split('\n');
    const [expectedHeader, ...expectedLines] = (await readFile(join(expected, 'folds.csv'), 'utf8')).trimEnd().split('\n');
    assert.equal(header, expectedHeader);
    assert.equal(lines.length, expectedLines.length);
    assert.deepEqual([...lines].sort(), [...expectedLines].sort());
  });
}
