import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDataset } from '../../src/dataset/dataset.js';
import { outputPaths } from '../../src/dataset/output-paths.js';
import { writeGrayPng, writeRgbPng } from '../../src/image/png.js';
import { encodeNpyInt16 } from '../../src/landmarks/npy.js';
import { loadReportData, pageLink, readRunReports } from '../../src/report/load.js';
import { scratchDir } from '../helpers/cli.js';
import { writeDataRoot } from '../helpers/data-root.js';

/**
 * The report's loader on a small hand-made output folder (no pipeline, no browser): which report
 * files it reads, the totals, the strip cells with their sizes, landmark points and links, and a
 * caption for each missing or broken piece.
 */

const rgb = (width: number, height: number) => ({ width, height, data: new Uint8Array(width * height * 3).fill(90) });
const gray = (width: number, height: number) => ({ width, height, data: new Uint8Array(width * height).fill(200) });
const landmarks = encodeNpyInt16(Int16Array.from([5, 6, 14, 6, 10, 12, 6, 18, 14, 18]), [5, 2]);

async function outputFolder(): Promise<{ root: string; out: string }> {
  const scratch = scratchDir('report-load');
  const root = join(scratch, 'root');
  const out = join(scratch, 'out');
  await writeDataRoot(root, [
    { part: 0, name: 'r1.mp4', record: { label: 'REAL' } },
    { part: 0, name: 'f1.mp4', record: { label: 'FAKE', original: 'r1.mp4' } },
    { part: 0, name: 'r2.mp4', record: { label: 'REAL' } },
    { part: 0, name: 'x.mp4', record: { label: 'fake' } },
  ]);
  await writeRgbPng(join(out, 'crops', 'r1', '0_0.png'), rgb(20, 24));
  await writeRgbPng(join(out, 'crops', 'r1', '10_0.png'), rgb(20, 24));
  await writeRgbPng(join(out, 'crops', 'r1', '20_0.png'), rgb(20, 24));
  await writeRgbPng(join(out, 'crops', 'r1', '15_0.png'), rgb(20, 24)); // a crop, but not a grid cell
  await writeFile(join(out, 'crops', 'r1', '.30_0.png.77.1.tmp'), ''); // an interrupted write
  await writeRgbPng(join(out, 'crops', 'f1', '0_0.png'), rgb(20, 24));
  await writeRgbPng(join(out, 'crops', 'f1', '10_0.png'), rgb(22, 24));
  await writeFile(join(out, 'crops', 'f1', '20_0.png'), 'not a png');
  await mkdir(join(out, 'landmarks', 'r1'), { recursive: true });
  await writeFile(join(out, 'landmarks', 'r1', '0_0.npy'), landmarks);
  await writeFile(join(out, 'landmarks', 'r1', '10_0.npy'), landmarks.subarray(0, 20));
  await writeGrayPng(join(out, 'diffs', 'f1', '0_0_diff.png'), gray(20, 24));
  const report = { tool: 'dfdc', version: '0.1.0', startedAt: 'then', dataset: { problems: [{ subject: 'p/metadata.json', reason: 'old problem' }], missingVideos: ['p/gone.mp4'] }, stages: {} };
  await writeFile(join(out, 'run-report.json'), JSON.stringify({ ...report, stages: { crops: { done: 2, skipped: 0, failed: 1, warnings: 0, frames: 9, seconds: 1, failures: [{ subject: 'p/f.mp4', reason: 'boom' }], warningList: [] } } }));
  await writeFile(join(out, 'run-report.shard-0-of-2.json'), '{"stages": ');
  // A report of dfdc 0.1, under its old name, is read too.
  await writeFile(join(out, 'dfdc-report.shard-1-of-2.json'), JSON.stringify({ stages: { detect: { done: 'many' } } }));
  await writeFile(join(out, 'run-report.old.json'), 'ignored: not a report name');
  return { root, out };
}

test('readRunReports: every run-report*.json (and dfdc 0.1\'s dfdc-report*.json) by name, unreadable ones said so, other names ignored', async () => {
  const { out } = await outputFolder();
  const reports = await readRunReports(out);
  assert.deepEqual(reports.reports.map((r) => [r.file, r.stages.map((s) => [s.name, s.counts.failed, s.failures.length])]), [['run-report.json', [['crops', 1, 1]]]]);
  assert.deepEqual(reports.unreadable.map((p) => p.subject), ['dfdc-report.shard-1-of-2.json', 'run-report.shard-0-of-2.json']);
  assert.match(reports.unreadable[1]!.reason, /^unreadable: .*JSON/);
  assert.match(reports.unreadable[0]!.reason, /^not a dfdc run report: stages\.detect\.done: /);
  assert.deepEqual(reports.problems, [{ subject: 'p/metadata.json', reason: 'old problem' }]);
  assert.deepEqual(reports.missingVideos, ['p/gone.mp4']);
  assert.deepEqual(await readRunReports(join(out, 'absent')), { reports: [], unreadable: [], problems: [], missingVideos: [] });
});

test('loadReportData: totals, strip cells with sizes, points and links, a caption for each missing piece', async () => {
  const { root, out } = await outputFolder();
  const dirs = { rootDir: root, outputDir: out, cropsDir: join(out, 'crops') };
  const dataset = await loadDataset(dirs);
  const runReports = await readRunReports(out);
  const generatedAt = new Date(0);
  const data = await loadReportData({ dataset, paths: outputPaths(dirs), pageDir: join(out, 'pages'), generatedAt, runReports, named: undefined, limit: 50 });
  assert.deepEqual(data.totals, { videos: 3, reals: 2, fakes: 1, videosWithCrops: 2, crops: 7, landmarks: 2, diffs: 1 });
  assert.deepEqual(data.selection, { named: false, limit: 50, candidates: 1 });
  assert.equal(data.generatedAt, generatedAt);
  assert.deepEqual(data.videos.map((v) => [v.id, v.part, v.gridCrops, v.landmarkFiles, v.fakes]), [['r1', 'dfdc_train_part_0', 3, 2, [{ id: 'f1', part: 'dfdc_train_part_0' }]]]);
  const [first, second, third] = data.videos[0]!.cells;
  assert.deepEqual(first, {
    frame: 0,
    actor: 0,
    crop: { kind: 'image', src: '../crops/r1/0_0.png', width: 20, height: 24 },
    landmarks: { kind: 'points', points: [[5, 6], [14, 6], [10, 12], [6, 18], [14, 18]] },
    fakes: [{ id: 'f1', crop: { kind: 'image', src: '../crops/f1/0_0.png', width: 20, height: 24 }, diff: { kind: 'image', src: '../diffs/f1/0_0_diff.png', width: 20, height: 24 } }],
  });
  assert.deepEqual(second!.landmarks.kind, 'missing');
  assert.match((second!.landmarks as { caption: string }).caption, /^landmarks unreadable: /);
  assert.deepEqual(second!.fakes[0]!.diff, { kind: 'missing', caption: 'no diff mask (crop sizes differ)' });
  assert.deepEqual(third!.landmarks, { kind: 'missing', caption: 'no face found' });
  assert.deepEqual(third!.fakes[0]!.crop, { kind: 'missing', caption: `unreadable: ${join(out, 'crops', 'f1', '20_0.png')}: not a PNG file` });
  assert.deepEqual(third!.fakes[0]!.diff, { kind: 'missing', caption: 'no diff mask' });
  assert.deepEqual(data.problems.map((p) => p.subject), ['dfdc_train_part_0/metadata.json', 'p/metadata.json'], 'current problems, then those the runs recorded');
  assert.deepEqual(data.missingVideos, ['dfdc_train_part_0/r1.mp4', 'dfdc_train_part_0/f1.mp4', 'dfdc_train_part_0/r2.mp4', 'p/gone.mp4']);

  const named = await loadReportData({ dataset, paths: outputPaths(dirs), pageDir: out, generatedAt, runReports, named: [dataset.reals[1]!, dataset.reals[0]!], limit: 1 });
  assert.deepEqual(named.selection, { named: true });
  assert.deepEqual(named.videos.map((v) => [v.id, v.cells.length]), [['r2', 0], ['r1', 3]]);
  assert.equal(named.videos[1]!.cells[0]!.crop.kind === 'image' && named.videos[1]!.cells[0]!.crop.src, 'crops/r1/0_0.png');
});

test('pageLink: relative, "/" separators, each segment percent-encoded', () => {
  assert.equal(pageLink('/data/out', '/data/out/crops/a/0_0.png'), 'crops/a/0_0.png');
  assert.equal(pageLink('/home/me/pages', '/data/out/crops/odd #1?%/0_0.png'), '../../../data/out/crops/odd%20%231%3F%25/0_0.png');
});
