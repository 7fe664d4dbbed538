import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import type { ReportFile } from '../../src/run/report.js';
import { zeroByteMp4 } from '../helpers/bad-inputs.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { copySampleRoot } from '../helpers/data-root.js';

/**
 * `dfdc report` end to end: the real pipeline runs on the project's sample plus one broken video and
 * one bad metadata record; the page is checked as text (sections, hooks, relative links to files
 * that exist, nothing from the network), then rendered in headless Chromium (every image loaded,
 * landmarks over their crop, the broken video in the failures table, no request but file://).
 *
 * The browser test needs Chromium (Debian's /usr/bin/chromium, or CHROMIUM_PATH): skipped with a
 * message when it is absent, failed when it is absent with CI=true. Set DFDC_REPORT_SCREENSHOT to a
 * .png path to keep the full-page screenshot and look at it.
 */

const scratch = scratchDir('report');
const root = join(scratch, 'root');
const out = join(scratch, 'out');
const page = join(out, 'report.html');
const reals = ['real_a', 'real_solo', 'portrait', 'real_b'];
const fakesOf: Record<string, string[]> = { real_a: ['fake_a_blur', 'fake_a_hue'], real_solo: [], portrait: ['fake_portrait'], real_b: ['fake_b_noise'] };
let html = '';
let reportRun: ReturnType<typeof runCli>;

before(async () => {
  await copySampleRoot(root);
  const part1 = join(root, 'dfdc_train_part_1');
  await zeroByteMp4(part1, 'broken');
  const metadata = JSON.parse(readFileSync(join(part1, 'metadata.json'), 'utf8')) as Record<string, unknown>;
  metadata['broken.mp4'] = { label: 'REAL', split: 'train', original: null };
  metadata['bad.mp4'] = { label: 'real', split: 'train', original: null };
  writeFileSync(join(part1, 'metadata.json'), JSON.stringify(metadata));
  const run = runCli(['run', '--root-dir', root, '--output-dir', out, '--n-splits', '2', '--total-parts', '2']);
  assert.equal(run.status, 1, `the run should report the broken video and record:\n${run.stderr}`);
  // A shard's report beside the main one: its warning must reach the page too.
  const shard: ReportFile = JSON.parse(readFileSync(join(out, 'run-report.json'), 'utf8'));
  shard.shard = { index: 1, count: 2 };
  shard.stages = { landmarks: { done: 1, skipped: 0, waiting: 0, failed: 0, warnings: 1, frames: 5, seconds: 0.5, failures: [], warningList: [{ subject: 'shard & <co>', reason: 'injected "warning"' }], waitingList: [] } };
  writeFileSync(join(out, 'run-report.shard-1-of-2.json'), JSON.stringify(shard));
  reportRun = runCli(['report', '--root-dir', root, '--output-dir', out]);
  if (reportRun.status === 0) html = readFileSync(page, 'utf8');
});

/** The `src` of every <img>, resolved from the page's folder. */
function imageFiles(text: string, pageFile: string): string[] {
  return [...text.matchAll(/<img src="([^"]+)"/g)].map((m) => resolve(dirname(pageFile), decodeURIComponent(m[1]!)));
}

test('dfdc report writes report.html in the output folder by default, exit 0, one summary line', () => {
  assert.equal(reportRun.status, 0, reportRun.stderr);
  assert.equal(reportRun.stderr, `dfdc: report: 4 video(s), 1 failure(s), 1 data set problem(s) from 2 run report(s): wrote ${page}\n`);
  assert.ok(html.startsWith('<!doctype html>'), 'an HTML page');
});

test('the page text: a section per REAL with crops, its strip, each FAKE crop beside a diff mask, relative links to files that exist', () => {
  const sections = [...html.matchAll(/<section class="video" data-video="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual([...sections].sort(), [...reals].sort(), 'noface has no crops, broken never decoded');
  for (const id of reals) {
    const section = new RegExp(`<section class="video" data-video="${id}"[\\s\\S]*?</section>`).exec(html)![0];
    const cells = [...section.matchAll(/<figure class="crop" data-cell="(\d+_\d)">/g)].map((m) => m[1]);
    assert.deepEqual(cells, id === 'real_b' ? ['0_0', '0_1', '10_0', '10_1', '30_0', '30_1', '40_0', '40_1'] : ['0_0', '10_0', '20_0', '30_0', '40_0'], id);
    assert.equal(section.match(/<svg class="landmarks" viewBox="0 0 \d+ \d+"/g)?.length, cells.length, `${id}: landmarks on every crop`);
    assert.equal(section.match(/<circle /g)?.length, 5 * cells.length);
    for (const fake of fakesOf[id]!) {
      assert.equal(section.match(new RegExp(`<figure class="fake" data-video="${fake}"`, 'g'))?.length, cells.length, fake);
      assert.equal(section.match(new RegExp(`<figure class="diff" data-video="${fake}"`, 'g'))?.length, cells.length, fake);
      assert.ok(section.includes(`<img src="diffs/${fake}/0_0_diff.png"`), `${fake}: diff linked relative to the page`);
    }
  }
  const srcs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]!);
  assert.equal(srcs.length, 5 + 5 + 2 * 2 * 5 + 5 + 2 * 5 + 8 + 2 * 8);
  for (const src of srcs) assert.match(src, /^(crops|diffs)\/\w+\/\d+_\d(_diff)?\.png$/);
  for (const file of imageFiles(html, page)) assert.ok(existsSync(file), file);
  assert.ok(!/https?:\/\//.test(html), 'no http:// or https:// anywhere');
  assert.ok(!/<script|<link /.test(html));
});

test('the page text: header totals, the broken video in the failures table, the bad record, the shard warning', () => {
  const total = (key: string) => Number(new RegExp(`data-total="${key}">([\\d,]+)<`).exec(html)![1]!.replace(/,/g, ''));
  assert.deepEqual(
    ['videos', 'reals', 'fakes', 'videos-with-crops', 'crops', 'landmarks', 'diffs'].map(total),
    [10, 6, 4, 8, 5 * 6 + 10 * 2, 5 * 3 + 10, 5 * 3 + 10],
  );
  assert.match(html, /<code class="root-dir">[^<]*root<\/code>/);
  assert.match(html, /<tr class="failure" data-stage="detect" data-kind="failure" data-subject="dfdc_train_part_1\/broken.mp4">/);
  assert.match(html, /<tr data-subject="dfdc_train_part_1\/metadata.json">.*bad\.mp4/);
  assert.match(html, /<tr class="warning" data-stage="landmarks" data-kind="warning" data-subject="shard &amp; &lt;co&gt;"><td class="kind">warning<\/td><td><code>shard &amp; &lt;co&gt;<\/code><\/td><td class="reason">injected &quot;warning&quot;<\/td><td><code>run-report.shard-1-of-2.json<\/code>/);
  assert.match(html, /<tr data-stage="landmarks" data-report="run-report.shard-1-of-2.json">/);
});

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const haveChromium = existsSync(chromiumPath);

test(
  'rendered in headless Chromium: every image loads, five landmarks over each crop, the failures table lists the broken video, no network',
  { skip: !haveChromium && !inCi ? `${chromiumPath} is absent: install Debian's chromium or set CHROMIUM_PATH to run the browser test` : false },
  async () => {
    if (!haveChromium) throw new Error(`${chromiumPath} is absent (CI=true): the browser test must run; install chromium or set CHROMIUM_PATH`);
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const tab = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const requests: string[] = [];
      tab.on('request', (request) => requests.push(request.url()));
      const url = pathToFileURL(page).href;
      await tab.goto(url, { waitUntil: 'load' });
      const found = await tab.evaluate(() => {
        // The few DOM types used here (the project compiles without the DOM lib).
        interface Node {
          getAttribute(name: string): string | null;
          querySelector(selector: string): Node | null;
          querySelectorAll(selector: string): Iterable<Node> & { length: number };
          getBoundingClientRect(): { left: number; top: number; width: number; height: number };
        }
        interface Image extends Node {
          complete: boolean;
          naturalWidth: number;
          naturalHeight: number;
        }
        const document = (globalThis as unknown as { document: Node }).document;
        const rect = (node: Node) => {
          const r = node.getBoundingClientRect();
          return [r.left, r.top, r.width, r.height];
        };
        return {
          sections: [...document.querySelectorAll('section.video')].map((s) => s.getAttribute('data-video')),
          images: [...(document.querySelectorAll('img') as Iterable<Image>)].map((img) => ({
            src: img.getAttribute('src'),
            loaded: img.complete && img.naturalWidth > 0,
            natural: [img.naturalWidth, img.naturalHeight],
            declared: [Number(img.getAttribute('width')), Number(img.getAttribute('height'))],
            shown: img.getBoundingClientRect().height,
          })),
          crops: [...document.querySelectorAll('figure.crop')].map((figure) => {
            const img = figure.querySelector('img')!;
            const svg = figure.querySelector('svg.landmarks');
            return { circles: svg ? svg.querySelectorAll('circle').length : 0, img: rect(img), svg: svg ? rect(svg) : [] };
          }),
          failures: [...document.querySelectorAll('table.failures tr[data-stage]')].map((tr) => [tr.getAttribute('data-stage'), tr.getAttribute('data-kind'), tr.getAttribute('data-subject')]),
          problems: document.querySelectorAll('table.problems tr[data-subject]').length,
          counts: document.querySelectorAll('table.counts tr[data-stage]').length,
        };
      });
      assert.deepEqual([...found.sections].sort(), [...reals].sort());
      assert.equal(found.images.length, 69);
      for (const image of found.images) {
        assert.ok(image.loaded, `${image.src} did not load`);
        assert.deepEqual(image.natural, image.declared, `${image.src}: size read from the PNG header`);
        assert.ok(image.shown > 50, `${image.src} is shown at ${image.shown} px`);
      }
      assert.equal(found.crops.length, 5 + 5 + 5 + 8);
      for (const crop of found.crops) {
        assert.equal(crop.circles, 5);
        crop.svg.forEach((value, i) => assert.ok(Math.abs(value - crop.img[i]!) < 0.5, `landmarks overlay ${crop.svg} not over its crop ${crop.img}`));
      }
      assert.deepEqual(found.failures, [
        ['detect', 'failure', 'dfdc_train_part_1/broken.mp4'],
        ['landmarks', 'warning', 'shard & <co>'],
      ]);
      assert.equal(found.problems, 1);
      // One row per stage of the run report (detect, crops, landmarks, diffs; folds, which left nothing waiting, has none) and the shard report's stage.
      assert.equal(found.counts, 5);
      const offline = requests.filter((request) => !request.startsWith('file://'));
      assert.deepEqual(offline, [], 'requests other than file://');
      assert.equal(requests.length, 1 + 69, 'the page and each image once');
      const screenshot = process.env.DFDC_REPORT_SCREENSHOT ?? join(scratch, 'report.png');
      const png = await tab.screenshot({ path: screenshot, fullPage: true });
      assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    } finally {
      await browser.close();
    }
  },
);

test('--out relative to the current directory: links are relative to the page, wherever it is', () => {
  const result = runCli(['report', '--root-dir', root, '--output-dir', out, '--out', 'pages/sub/check.html'], { cwd: scratch });
  assert.equal(result.status, 0, result.stderr);
  const file = join(scratch, 'pages', 'sub', 'check.html');
  const text = readFileSync(file, 'utf8');
  const srcs = [...text.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(srcs.length > 0 && srcs.every((src) => src.startsWith('../../out/crops/') || src.startsWith('../../out/diffs/')), srcs[0]);
  for (const image of imageFiles(text, file)) assert.ok(existsSync(image), image);
});

test('the same sample on every run: two runs give the same page but for the date; --limit 1 shows the first of the hash order', () => {
  const run = (name: string, ...extra: string[]) => {
    const result = runCli(['report', '--root-dir', root, '--output-dir', out, '--out', join(out, name), ...extra]);
    assert.equal(result.status, 0, result.stderr);
    return readFileSync(join(out, name), 'utf8').replace(/<time datetime="[^"]*">[^<]*<\/time>/, '<time>');
  };
  const first = run('a.html');
  assert.ok(run('b.html') === first, 'two runs, the same page');
  assert.ok(first === html.replace(/<time datetime="[^"]*">[^<]*<\/time>/, '<time>'), 'the same as the default --out in the same folder');
  // SHA-256 of the ids in hex: real_a 26dd8f27..., portrait 51c5a829..., real_solo 62bc2785..., real_b 7f7795a9...
  const one = run('one.html', '--limit', '1');
  assert.deepEqual([...one.matchAll(/<section class="video" data-video="([^"]+)"/g)].map((m) => m[1]), ['real_a']);
  assert.match(one, /1 of the 4 REAL video\(s\) with crops \(at most <code>--limit<\/code> 1\)/);
  const two = run('two.html', '--limit', '2');
  assert.deepEqual(
    [...two.matchAll(/<section class="video" data-video="([^"]+)"/g)].map((m) => m[1]).sort(),
    ['portrait', 'real_a'],
  );
});

test('--videos: exactly the named videos in the given order, a FAKE by its original, even one without crops', () => {
  const result = runCli(['report', '--root-dir', root, '--output-dir', out, '--out', join(out, 'named.html'), '--videos', 'real_b, fake_a_hue,noface.mp4']);
  assert.equal(result.status, 0, result.stderr);
  const text = readFileSync(join(out, 'named.html'), 'utf8');
  assert.deepEqual([...text.matchAll(/<section class="video" data-video="([^"]+)"/g)].map((m) => m[1]), ['real_b', 'real_a', 'noface']);
  assert.match(text, /<section class="video" data-video="noface"[^>]*>\n<h3[^>]*>.*<\/h3>\n<p class="no-crops">/);
});

test('bad options and nothing to report: one line each, exit 2, no page written', () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['--videos', 'real_a,nope,gone'], 2, /^dfdc: --videos: unknown video ids "nope", "gone" \(not in the data set under .*root; dfdc index lists the ids\)\n$/],
    [['--videos', ' , '], 2, /^dfdc: --videos: must name at least one video id\n$/],
    [['--limit', '0'], 2, /^dfdc: --limit: must be at least 1\n$/],
    [['--limit', 'many'], 2, /^dfdc: --limit: /],
    [['--out', out], 2, /^dfdc: --out .* is a folder: give a file name such as report\.html\n$/],
    [['--output-dir', join(scratch, 'absent')], 2, /^dfdc: no output folder .*absent: run dfdc run first, or give the --output-dir it wrote to\n$/],
  ];
  for (const [extra, status, message] of cases) {
    const result = runCli(['report', '--root-dir', root, '--output-dir', out, '--out', join(scratch, 'never.html'), ...extra]);
    assert.equal(result.status, status, `${extra.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
    assert.ok(!existsSync(join(scratch, 'never.html')), `${extra.join(' ')} wrote a page`);
  }
  const empty = join(scratch, 'empty-out');
  mkdirSync(empty);
  const nothing = runCli(['report', '--root-dir', root, '--output-dir', empty]);
  assert.equal(nothing.status, 2);
  assert.match(nothing.stderr, /^dfdc: nothing to report in .*empty-out: no run-report\*\.json and no crops folder .* \(run dfdc run first, or check --output-dir and --crops-dir\)\n$/);
  assert.ok(!existsSync(join(empty, 'report.html')));
});

test('failures of a shard that a later whole run redid are not counted; a page of nothing or an unreadable report is said so, exit 1', () => {
  const main: ReportFile = JSON.parse(readFileSync(join(out, 'run-report.json'), 'utf8'));
  const old: ReportFile = { ...main, shard: { index: 0, count: 2 }, startedAt: '2020-01-01T00:00:00.000Z', finishedAt: '2020-01-01T01:00:00.000Z' };
  old.stages = { crops: { done: 0, skipped: 0, waiting: 0, failed: 1, warnings: 0, frames: 0, seconds: 1, failures: [{ subject: 'dfdc_train_part_0/real_a.mp4', reason: 'fixed since' }], warningList: [], waitingList: [], startedAt: '2020-01-01T00:00:00.000Z', finishedAt: '2020-01-01T01:00:00.000Z' } };
  const oldFile = join(out, 'run-report.shard-0-of-2.json');
  writeFileSync(oldFile, JSON.stringify(old));
  const pageFile = join(scratch, 'superseded.html');
  try {
    const result = runCli(['report', '--root-dir', root, '--output-dir', out, '--out', pageFile]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /4 video\(s\), 1 failure\(s\), 1 data set problem\(s\) from 3 run report\(s\)/);
    assert.match(readFileSync(pageFile, 'utf8'), /run-report\.shard-0-of-2\.json<\/code> \(redone by <code>run-report\.json<\/code>: its failures are not counted\)/);
    // A whole run over a slice (--parts, --limit) or cut short redid only some units: the shard's failures count.
    const mainFile = join(out, 'run-report.json');
    const saved = readFileSync(mainFile, 'utf8');
    writeFileSync(mainFile, JSON.stringify({ ...main, stages: { ...main.stages, crops: { ...main.stages.crops!, partial: true } } }));
    const sliced = runCli(['report', '--root-dir', root, '--output-dir', out, '--out', pageFile]);
    writeFileSync(mainFile, saved);
    assert.match(sliced.stderr, /4 video\(s\), 2 failure\(s\)/);

    const typo = runCli(['report', '--root-dir', root, '--output-dir', out, '--crops-dir', 'crosp', '--out', pageFile]);
    assert.equal(typo.status, 1, typo.stderr);
    assert.match(typo.stderr, new RegExp(`^dfdc: report: the run reports count crops, but ${join(out, 'crosp')} is not a folder: check --crops-dir$`, 'm'));

    // A run working on the folder now: its claims say so.
    const claims = join(out, '.run-state', 'claims', 'crops');
    mkdirSync(claims, { recursive: true });
    writeFileSync(join(claims, 'real_a.json'), JSON.stringify({ host: 'node-7', pid: 1, token: 't', since: '' }));
    const running = runCli(['report', '--root-dir', root, '--output-dir', out, '--out', pageFile]);
    rmSync(join(claims, 'real_a.json'));
    assert.match(running.stderr, /^dfdc: report: a run is working on this output folder now \(1 unit\(s\) claimed\): these counts are a moment of it; report again when it has finished$/m);

    writeFileSync(oldFile, '{"stages": ');
    const garbage = runCli(['report', '--root-dir', root, '--output-dir', out, '--out', pageFile]);
    assert.equal(garbage.status, 1, garbage.stderr);
    assert.match(garbage.stderr, /^dfdc: report: .*run-report\.shard-0-of-2\.json: unreadable: .*: delete it \(the next run of a stage writes it again\)$/m);
  } finally {
    rmSync(oldFile, { force: true });
  }
});
