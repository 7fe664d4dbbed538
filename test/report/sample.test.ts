import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { assembleDataset } from '../../src/dataset/dataset.js';
import { listParts } from '../../src/dataset/layouts/dfdc.js';
import { parseMetadata } from '../../src/dataset/metadata.js';
import { FRAME_ACTOR_GRID, type GridCell } from '../../src/dataset/output-paths.js';
import { namedOriginals, sampleIds, sampleKey, stripCells } from '../../src/report/sample.js';

/** The report's choice of videos and cells: stable, spread, capped. */

test('sampleKey is the SHA-256 of the id in hex (FIPS 180-2 test vector)', () => {
  assert.equal(sampleKey('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('sampleIds: the first N in hash order, whatever the input order, each id once', () => {
  const ids = Array.from({ length: 40 }, (_, i) => `video${i}`);
  const sha256 = (id: string) => createHash('sha256').update(id, 'utf8').digest('hex');
  const expected = [...ids].sort((a, b) => (sha256(a) < sha256(b) ? -1 : 1)).slice(0, 7);
  assert.deepEqual(sampleIds(ids, 7), expected);
  assert.deepEqual(sampleIds([...ids].reverse(), 7), expected);
  assert.deepEqual(sampleIds([...ids, ...ids], 7), expected);
  assert.notDeepEqual(expected, ids.slice(0, 7), 'hash order, not input order');
  assert.equal(sampleIds(ids, 100).length, 40);
});

const cells = (frames: readonly number[], actors: readonly number[]): GridCell[] =>
  FRAME_ACTOR_GRID.filter((cell) => frames.includes(cell.frame) && actors.includes(cell.actor));
const names = (list: readonly GridCell[]) => list.map((cell) => `${cell.frame}_${cell.actor}`);

test('stripCells: all cells when they fit, in grid order', () => {
  assert.deepEqual(names(stripCells(cells([0, 10, 20], [0, 1]))), ['0_0', '0_1', '10_0', '10_1', '20_0', '20_1']);
  assert.deepEqual(stripCells([]), []);
});

test('stripCells: whole frames spread from the first to the last, at most 8 cells', () => {
  const allFrames = FRAME_ACTOR_GRID.filter((cell) => cell.actor === 0).map((cell) => cell.frame);
  // 32 frames, one actor: indices round(i * 31 / 7)
  assert.deepEqual(names(stripCells(cells(allFrames, [0]))), ['0_0', '40_0', '90_0', '130_0', '180_0', '220_0', '270_0', '310_0']);
  // 32 frames, two actors: 4 frames (indices round(i * 31 / 3)) with both actors
  assert.deepEqual(names(stripCells(cells(allFrames, [0, 1]))), ['0_0', '0_1', '100_0', '100_1', '210_0', '210_1', '310_0', '310_1']);
  // the sample's real_b: frames 0..40 with two actors
  assert.deepEqual(names(stripCells(cells([0, 10, 20, 30, 40], [0, 1]))), ['0_0', '0_1', '10_0', '10_1', '30_0', '30_1', '40_0', '40_1']);
  // a second actor in one frame only still halves the frames, so the cap holds
  const mixed = [...cells(allFrames, [0]), { frame: 50, actor: 1 }].sort((a, b) => a.frame - b.frame || a.actor - b.actor);
  assert.ok(stripCells(mixed).length <= 8);
  assert.deepEqual(names(stripCells(cells(allFrames, [0]), 1)), ['0_0']);
});

test('namedOriginals: a REAL by id or file name, a FAKE by its original, each once, unknown names kept in order', () => {
  const part = { name: 'dfdc_train_part_0', number: 0, dir: '/root/dfdc_train_part_0', metadataPath: '/root/dfdc_train_part_0/metadata.json', metadataFile: 'dfdc_train_part_0/metadata.json' };
  const metadata = parseMetadata(
    JSON.stringify({ 'r1.mp4': { label: 'REAL' }, 'f1.mp4': { label: 'FAKE', original: 'r1.mp4' }, 'r2.mp4': { label: 'REAL' } }),
    part.metadataFile,
  );
  const dataset = assembleDataset('/root', 'dfdc', listParts([{ part, metadata, files: null }]));
  const { originals, unknown } = namedOriginals(dataset, ['r2', 'nope', 'f1', 'r1.mp4', 'also-nope']);
  assert.deepEqual(originals.map((video) => video.id), ['r2', 'r1']);
  assert.deepEqual(unknown, ['nope', 'also-nope']);
});
