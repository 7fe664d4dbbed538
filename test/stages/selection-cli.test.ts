import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, scratchDir } from '../helpers/cli.js';
import { fixturesDir } from '../helpers/shared.js';

/** The root from DFDC_ROOT, and the slices a user tries before a full run: --limit and --parts. */
const root = join(fixturesDir, 'sample');

test('--root-dir comes from DFDC_ROOT; --limit 1 takes the first REAL video only', () => {
  const out = join(scratchDir('limit'), 'out');
  const run = runCli(['detect', '--output-dir', out, '--limit', '1', '--every', '20', '--json'], { env: { DFDC_ROOT: root } });
  assert.equal(run.status, 0, run.stderr);
  const summary = JSON.parse(run.stdout) as { stages: { detect: { done: number } } };
  assert.equal(summary.stages.detect.done, 1);
  assert.ok(existsSync(join(out, 'boxes', 'real_a.json')));
});

test('--parts 1 runs only part 1', () => {
  const out = join(scratchDir('parts'), 'out');
  const run = runCli(['detect', '--root-dir', root, '--output-dir', out, '--parts', '1', '--every', '20', '--quiet']);
  assert.equal(run.status, 0, run.stderr);
  assert.ok(existsSync(join(out, 'boxes', 'real_b.json')));
  assert.ok(!existsSync(join(out, 'boxes', 'real_a.json')));
});

test('dfdc run over a slice ends with exit 0: the videos outside it are said to be left out of folds.csv, not waiting', () => {
  const out = join(scratchDir('slice-run'), 'out');
  const run = runCli(['run', '--root-dir', root, '--output-dir', out, '--parts', '1']);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /^folds: 5 video\(s\) outside this run's selection \(--parts, --limit\) have no complete crops: their rows are left out until a run over them makes them$/m);
  assert.match(run.stderr, /^folds: wrote 20 rows for 2 videos/m);
  assert.doesNotMatch(run.stderr, /have crops that are not complete/);
});

test('no root at all: one line saying how to give it, exit 2', () => {
  const run = runCli(['detect'], { env: { DFDC_ROOT: '' } });
  assert.equal(run.status, 2);
  assert.equal(run.stderr, 'dfdc: --root-dir: must not be empty\n');
  const unset = runCli(['crops'], { env: { DFDC_ROOT: undefined } });
  assert.equal(unset.status, 2);
  assert.match(unset.stderr, /^dfdc: --root-dir: is required: give --root-dir DATA_ROOT or set DFDC_ROOT\n$/);
});

test('bad numbers are one line each and exit 2', () => {
  for (const [args, message] of [
    [['--workers', '0'], /--workers: must be at least 1/],
    [['--every', 'x'], /--every: /],
    [['--thresholds', '0.1,0.2'], /--thresholds: must be 3 comma-separated numbers/],
  ] as const) {
    const run = runCli(['detect', '--root-dir', root, ...args]);
    assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.equal(run.stderr.trim().split('\n').length, 1);
    assert.match(run.stderr, message);
  }
});
