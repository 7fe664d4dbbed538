import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildReportPage, escapeHtml, type CellView, type ReportPageData, type RunReportView, type StageView } from '../../src/report/page.js';

/**
 * The page builder on hand-made data (no disk, no browser): structure and hooks, escaping of user
 * text, captions for what is missing, failures grouped by stage in pipeline order.
 */

const counts = { done: 1, skipped: 0, waiting: 0, failed: 0, warnings: 0, frames: 10, seconds: 1.25 };
const stage = (name: string, failures: [string, string][] = [], warnings: [string, string][] = []): StageView => ({
  name,
  counts: { ...counts, failed: failures.length, warnings: warnings.length },
  failures: failures.map(([subject, reason]) => ({ subject, reason })),
  warnings: warnings.map(([subject, reason]) => ({ subject, reason })),
});
const runReport = (file: string, stages: StageView[]): RunReportView => ({ file, version: '0.1.0', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: undefined, stages });

const points = [
  [30, 40],
  [70, 41],
  [50, 60],
  [35, 80],
  [66, 81],
] as const;

function cell(frame: number, actor: number, overrides: Partial<CellView> = {}): CellView {
  return {
    frame,
    actor,
    crop: { kind: 'image', src: `../crops/r%231/${frame}_${actor}.png`, width: 100, height: 120 },
    landmarks: { kind: 'points', points },
    fakes: [
      {
        id: 'f1',
        crop: { kind: 'image', src: `../crops/f1/${frame}_${actor}.png`, width: 100, height: 120 },
        diff: { kind: 'image', src: `../diffs/f1/${frame}_${actor}_diff.png`, width: 100, height: 120 },
      },
    ],
    ...overrides,
  };
}

function pageData(overrides: Partial<ReportPageData> = {}): ReportPageData {
  return {
    generatedAt: new Date('2026-03-04T05:06:07.000Z'),
    rootDir: '/data/dfdc',
    outputDir: '/scratch/out',
    cropsDir: '/scratch/out/crops',
    totals: { videos: 3, reals: 1, fakes: 2, videosWithCrops: 2, crops: 1234, landmarks: 5, diffs: 4 },
    selection: { named: false, limit: 50, candidates: 1 },
    videos: [
      {
        id: 'r#1',
        part: 'dfdc_train_part_0',
        gridCrops: 2,
        landmarkFiles: 1,
        fakes: [{ id: 'f1', part: 'dfdc_train_part_0' }],
        cells: [
          cell(0, 0),
          cell(10, 0, {
            landmarks: { kind: 'missing', caption: 'no face found' },
            fakes: [{ id: 'f1', crop: { kind: 'image', src: '../crops/f1/10_0.png', width: 100, height: 120 }, diff: { kind: 'missing', caption: 'no diff mask' } }],
          }),
        ],
      },
    ],
    runReports: [
      runReport('run-report.json', [stage('diffs', [], [['f1', 'small crop']]), stage('detect', [['dfdc_train_part_0/empty.mp4', 'cannot open: moov atom not found']])]),
      runReport('run-report.shard-1-of-2.json', [stage('crops', [['dfdc_train_part_1/x.mp4', 'box outside the frame']])]),
    ],
    unreadableReports: [],
    problems: [{ subject: 'dfdc_train_part_1/metadata.json', reason: '"bad.mp4".label must be REAL or FAKE (got "real")' }],
    missingVideos: ['dfdc_train_part_0/gone.mp4'],
    listName: 'metadata.json',
    ...overrides,
  };
}

test('escapeHtml escapes the five characters that matter in content and attributes', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&amp;</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
});

test('the page: header with path, date and totals; one section per video with its hooks', () => {
  const html = buildReportPage(pageData());
  assert.match(html, /^<!doctype html>\n<html lang="en">/);
  assert.match(html, /<code class="root-dir">\/data\/dfdc<\/code>/);
  assert.match(html, /<time datetime="2026-03-04T05:06:07.000Z">2026-03-04 05:06 UTC<\/time>/);
  assert.match(html, /<td class="n" data-total="crops">1,234<\/td>/);
  assert.match(html, /<td class="n" data-total="failures">2<\/td>/);
  assert.match(html, /<td class="n" data-total="warnings">1<\/td>/);
  assert.equal(html.match(/<section class="video" /g)?.length, 1);
  assert.match(html, /<section class="video" data-video="r#1"/);
  assert.equal(html.match(/<figure class="crop" data-cell="\d+_\d+">/g)?.length, 2);
  assert.equal(html.match(/<figure class="fake" data-video="f1" data-cell="\d+_\d+">/g)?.length, 2);
  assert.equal(html.match(/<figure class="diff" data-video="f1" data-cell="\d+_\d+">/g)?.length, 2);
  assert.ok(!/https?:\/\//.test(html), 'no network reference');
  assert.ok(!/<script|<link|@import|@font-face/.test(html), 'no script, stylesheet link or font');
});

test('landmarks: an SVG in crop pixel coordinates with five circles; a missing file is captioned "no face found"', () => {
  const html = buildReportPage(pageData());
  const first = /<figure class="crop" data-cell="0_0">(.*?)<\/figure>/.exec(html)![1]!;
  assert.match(first, /<img src="\.\.\/crops\/r%231\/0_0\.png" width="100" height="120" alt="r#1 frame 0 actor 0, crop"/);
  const svg = /<svg class="landmarks" viewBox="0 0 100 120"[^>]*>(.*?)<\/svg>/.exec(first)![1]!;
  const circles = [...svg.matchAll(/<circle cx="(-?\d+)" cy="(-?\d+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.deepEqual(circles, points);
  assert.match(svg, /<title>left eye \(30, 40\)<\/title>/);
  const second = /<figure class="crop" data-cell="10_0">(.*?)<\/figure>/.exec(html)![1]!;
  assert.ok(!second.includes('<svg'), 'no landmarks drawn without a file');
  assert.match(second, /<span class="note">no face found<\/span>/);
});

test('a missing diff mask or crop is a captioned placeholder, not an image', () => {
  const html = buildReportPage(pageData());
  const diff = /<figure class="diff" data-video="f1" data-cell="10_0">(.*?)<\/figure>/.exec(html)![1]!;
  assert.ok(!diff.includes('<img'));
  assert.match(diff, /<div class="missing"[^>]*>none<\/div><figcaption>diff: no diff mask<\/figcaption>/);
  const noCrop = buildReportPage(pageData({ videos: [{ ...pageData().videos[0]!, cells: [cell(0, 0, { crop: { kind: 'missing', caption: 'unreadable: not a PNG file' } })] }] }));
  assert.match(noCrop, /<figure class="crop" data-cell="0_0"><div class="missing"[^>]*>none<\/div><figcaption>0_0: unreadable: not a PNG file<\/figcaption><\/figure>/);
});

test('a video without crops says so', () => {
  const html = buildReportPage(pageData({ selection: { named: true }, videos: [{ id: 'nocrops', part: 'p', gridCrops: 0, landmarkFiles: 0, fakes: [], cells: [] }] }));
  assert.match(html, /<section class="video" data-video="nocrops"[^>]*>\n<h3[^>]*>nocrops .*\n<p class="no-crops">No crops of this video/);
  assert.match(html, /The 1 video\(s\) named with <code>--videos<\/code>/);
});

test('failures and warnings: grouped by stage in pipeline order, every report file included', () => {
  const html = buildReportPage(pageData());
  const table = /<table class="failures">([\s\S]*?)<\/table>/.exec(html)![1]!;
  assert.deepEqual([...table.matchAll(/<tbody data-stage="(\w+)">/g)].map((m) => m[1]), ['detect', 'crops', 'diffs']);
  const rows = [...table.matchAll(/<tr class="(\w+)" data-stage="(\w+)" data-kind="(\w+)" data-subject="([^"]*)">/g)].map((m) => [m[2], m[3], m[4]]);
  assert.deepEqual(rows, [
    ['detect', 'failure', 'dfdc_train_part_0/empty.mp4'],
    ['crops', 'failure', 'dfdc_train_part_1/x.mp4'],
    ['diffs', 'warning', 'f1'],
  ]);
  assert.match(table, /<code>run-report\.shard-1-of-2\.json<\/code>/);
  const countRows = [...html.matchAll(/<tr data-stage="(\w+)" data-report="([^"]+)">/g)].map((m) => `${m[1]}@${m[2]}`);
  assert.deepEqual(countRows, ['detect@run-report.json', 'crops@run-report.shard-1-of-2.json', 'diffs@run-report.json']);
  assert.match(html, /<tr data-subject="dfdc_train_part_1\/metadata.json"><td><code>dfdc_train_part_1\/metadata.json<\/code><\/td><td class="reason">&quot;bad.mp4&quot;.label must be REAL or FAKE \(got &quot;real&quot;\)<\/td><\/tr>/);
  assert.match(html, /<li><code>dfdc_train_part_0\/gone.mp4<\/code><\/li>/);
  const none = buildReportPage(pageData({ runReports: [runReport('run-report.json', [stage('detect')])] }));
  assert.ok(!none.includes('<table class="failures">'));
  assert.match(none, /<p class="none">No failures or warnings.<\/p>/);
});

test('user text is escaped everywhere: ids, parts, subjects, reasons, report names, paths', () => {
  const evil = `<img src=x onerror="alert(1)">&'`;
  const html = buildReportPage(
    pageData({
      rootDir: evil,
      videos: [{ id: evil, part: evil, gridCrops: 1, landmarkFiles: 0, fakes: [{ id: evil, part: evil }], cells: [cell(0, 0, { fakes: [{ id: evil, crop: { kind: 'missing', caption: evil }, diff: { kind: 'missing', caption: evil } }] })] }],
      runReports: [runReport(evil, [stage(evil, [[evil, evil]], [[evil, evil]])])],
      unreadableReports: [{ subject: evil, reason: evil }],
      problems: [{ subject: evil, reason: evil }],
      missingVideos: [evil],
    }),
  );
  assert.ok(!html.includes('<img src=x'), 'raw markup from user data');
  assert.ok(!html.includes('onerror="'), 'an attribute broken out of');
  assert.ok(html.split('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;').length > 15, 'escaped form present throughout');
});
