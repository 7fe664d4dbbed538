import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cropFileName, diffFileName, gridCellsPresent, landmarkFileName, outputPaths } from '../../src/dataset/output-paths.js';

test('the grid is frames 0..310 step 10 by actors 0 and 1, frame first', () => {
  // Crops of frames 0..400 every 5 and actors 0..3, listed backwards: only the grid's are kept, in grid order.
  const files = new Set<string>();
  for (let frame = 400; frame >= 0; frame -= 5) for (let actor = 3; actor >= 0; actor--) files.add(`${frame}_${actor}.png`);
  const grid: { frame: number; actor: number }[] = [];
  for (let frame = 0; frame <= 310; frame += 10) grid.push({ frame, actor: 0 }, { frame, actor: 1 });
  assert.deepEqual(gridCellsPresent(files), grid);
});

test('file names follow the reference', () => {
  assert.equal(cropFileName(120, 3), '120_3.png');
  assert.equal(landmarkFileName(120, 1), '120_1.npy');
  assert.equal(diffFileName(120, 1), '120_1_diff.png');
});

test('every output path, from the resolved folders', () => {
  const paths = outputPaths({ rootDir: '/data', outputDir: '/out', cropsDir: '/out/crops' });
  assert.equal(paths.boxesFile('abc'), '/out/boxes/abc.json');
  assert.equal(paths.cropDir('abc'), '/out/crops/abc');
  assert.equal(paths.cropFile('abc', 30, 4), '/out/crops/abc/30_4.png');
  assert.equal(paths.landmarksDirOf('abc'), '/out/landmarks/abc');
  assert.equal(paths.landmarkFile('abc', 30, 1), '/out/landmarks/abc/30_1.npy');
  assert.equal(paths.diffDir('fk'), '/out/diffs/fk');
  assert.equal(paths.diffFile('fk', 30, 0), '/out/diffs/fk/30_0_diff.png');
  assert.equal(paths.stateDir, '/out/.run-state');
  assert.deepEqual(paths.folders, ['/out/boxes', '/out/crops', '/out/landmarks', '/out/diffs', '/out/.run-state']);
  const elsewhere = outputPaths({ rootDir: '/data', outputDir: '/data', cropsDir: '/fast/my-crops' });
  assert.equal(elsewhere.cropFile('abc', 0, 0), '/fast/my-crops/abc/0_0.png');
  assert.equal(elsewhere.boxesFile('abc'), '/data/boxes/abc.json');
});

test('grid cells present keeps only <frame>_<actor>.png on the grid, in grid order', () => {
  const files = new Set(['10_1.png', '0_0.png', '0_2.png', '320_0.png', '5_0.png', '010_0.png', '10_1.npy', '310_1.png', '.0_1.png.123.tmp']);
  assert.deepEqual(gridCellsPresent(files), [
    { frame: 0, actor: 0 },
    { frame: 10, actor: 1 },
    { frame: 310, actor: 1 },
  ]);
});
