import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBoxes } from '../../src/dataset/boxes-file.js';
import { decodeNpyInt16 } from '../../src/landmarks/npy.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { decodeImage, listFiles } from '../helpers/compare-images.js';
import { fixturesDir } from '../helpers/shared.js';

/**
 * Every stage end to end on the project's own synthetic sample (fixtures/sample): behaviour, not
 * faithfulness (that is test/parity). The sample's README says what a run should find.
 */
const root = join(fixturesDir, 'sample');
const scratch = scratchDir('sample-run');
const out = join(scratch, 'out');
let first: ReturnType<typeof runCli>;

before(() => {
  first = runCli(['run', '--root-dir', root, '--output-dir', out, '--n-splits', '2', '--total-parts', '2']);
});

test('dfdc run on the sample exits 0, writes nothing into the data set, and reports each stage', () => {
  assert.equal(first.status, 0, first.stderr);
  assert.ok(!existsSync(join(root, 'boxes')) && !existsSync(join(root, 'crops')), 'outputs leaked into the read-only root');
  const report = JSON.parse(readFileSync(join(out, 'run-report.json'), 'utf8')) as {
    stages: Record<string, { done: number; failed: number }>;
    folds: { rows: number; file: string };
  };
  assert.equal(report.folds.file, join(out, 'folds.csv'));
  assert.equal(report.folds.rows, readFileSync(join(out, 'folds.csv'), 'utf8').trimEnd().split('\n').length - 1);
  assert.deepEqual(Object.keys(report.stages).sort(), ['crops', 'detect', 'diffs', 'landmarks']);
  assert.equal(report.stages.detect?.done, 5);
  assert.equal(report.stages.crops?.done, 9);
  for (const stage of Object.values(report.stages)) assert.equal(stage.failed, 0);
});

test('detect: one face per frame, two in real_b, none in noface; only every 10th frame in pipeline mode', () => {
  const boxes = (id: string) => parseBoxes(readFileSync(join(out, 'boxes', `${id}.json`), 'utf8'));
  for (const id of ['real_a', 'real_solo', 'portrait']) {
    const frames = boxes(id);
    assert.deepEqual([...frames.keys()], [0, 10, 20, 30, 40], id);
    for (const list of frames.values()) assert.equal(list?.length, 1, id);
  }
  for (const list of boxes('real_b').values()) {
    assert.equal(list?.length, 2);
    const [a, b] = list!;
    assert.ok((a![2] - a![0]) * (a![3] - a![1]) >= (b![2] - b![0]) * (b![3] - b![1]), 'largest face first');
  }
  assert.ok([...boxes('noface').values()].every((list) => list === null));
});

test('crops: RGB PNGs for every face video, FAKEs cut where their original was', async () => {
  const crops = listFiles(join(out, 'crops'));
  const videos = new Set(crops.map((file) => file.split('/')[0]));
  assert.deepEqual([...videos].sort(), ['fake_a_blur', 'fake_a_hue', 'fake_b_noise', 'fake_portrait', 'portrait', 'real_a', 'real_b', 'real_solo']);
  assert.equal(crops.filter((file) => file.startsWith('real_b/')).length, 10);
  const real = await decodeImage(join(out, 'crops', 'real_a', '20_0.png'));
  const fake = await decodeImage(join(out, 'crops', 'fake_a_blur', '20_0.png'));
  assert.equal(real.channels, 3);
  assert.deepEqual([fake.width, fake.height], [real.width, real.height]);
});

test('landmarks: five int16 points inside each REAL crop', async () => {
  const files = listFiles(join(out, 'landmarks'));
  assert.ok(files.length >= 20, `only ${files.length} landmark files`);
  for (const file of files) {
    const { shape, values } = decodeNpyInt16(readFileSync(join(out, 'landmarks', file)));
    assert.deepEqual(shape, [5, 2]);
    const crop = await decodeImage(join(out, 'crops', file.replace('.npy', '.png')));
    for (let k = 0; k < 5; k += 1) {
      assert.ok(values[2 * k]! >= 0 && values[2 * k]! < crop.width, `${file}: x outside the crop`);
      assert.ok(values[2 * k + 1]! >= 0 && values[2 * k + 1]! < crop.height, `${file}: y outside the crop`);
    }
    // Eyes above the mouth corners.
    assert.ok(values[1]! < values[7]! && values[3]! < values[9]!, `${file}: eyes not above the mouth`);
  }
});

test('diffs: gray masks for each FAKE, bright where the face was altered', async () => {
  const diffs = listFiles(join(out, 'diffs'));
  assert.deepEqual([...new Set(diffs.map((file) => file.split('/')[0]))].sort(), ['fake_a_blur', 'fake_a_hue', 'fake_b_noise', 'fake_portrait']);
  const mask = await decodeImage(join(out, 'diffs', 'fake_a_hue', '20_0_diff.png'));
  assert.equal(mask.channels, 1);
  const mean = mask.data.reduce((sum, v) => sum + v, 0) / mask.data.length;
  assert.ok(mean > 10, `the hue-shifted face leaves a dark mask (mean ${mean})`);
});

test('folds.csv: rows only for originals with a fake, parts 0 and 1 in folds 0 and 1', () => {
  const [header, ...rows] = readFileSync(join(out, 'folds.csv'), 'utf8').trimEnd().split('\n');
  assert.equal(header, 'video,file,label,original,frame,fold');
  const videos = new Set(rows.map((row) => row.split(',')[0]));
  assert.ok(!videos.has('real_solo') && !videos.has('noface'));
  assert.ok(rows.some((row) => row.startsWith('real_b,') && row.endsWith(',1')));
  assert.ok(rows.some((row) => row.startsWith('real_a,') && row.endsWith(',0')));
});

test('a second run skips every unit and changes no file', () => {
  const before = statSync(join(out, 'boxes', 'real_a.json')).mtimeMs;
  const second = runCli(['run', '--root-dir', root, '--output-dir', out, '--n-splits', '2', '--total-parts', '2', '--json']);
  assert.equal(second.status, 0, second.stderr);
  const summary = JSON.parse(second.stdout) as { stages: Record<string, { done: number; skipped: number }> };
  for (const [name, stage] of Object.entries(summary.stages)) assert.equal(stage.done, 0, `${name} redid work`);
  assert.equal(summary.stages.detect?.skipped, 5);
  assert.equal(statSync(join(out, 'boxes', 'real_a.json')).mtimeMs, before);
});

test('a rerun with other detector settings stops with a clear message unless --force', () => {
  const changed = runCli(['detect', '--root-dir', root, '--output-dir', out, '--thresholds', '0.8,0.9,0.9']);
  assert.equal(changed.status, 3);
  assert.match(changed.stderr, /detect: the outputs in .* were made with other settings \(.*thresholds.*\).*; give the same settings again, or rerun with --force/);
});
