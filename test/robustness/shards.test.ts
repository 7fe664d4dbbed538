import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shardOfOriginal } from '../../src/dataset/selection.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { listFiles } from '../helpers/compare-images.js';
import { fixturesDir } from '../helpers/shared.js';

/**
 * Two shards writing into one output folder, then `dfdc folds` over the whole root, give the same
 * files as one unsharded run; each shard writes its own report and no folds.csv.
 */
const root = join(fixturesDir, 'sample');
const common = ['--root-dir', root, '--n-splits', '2', '--total-parts', '2', '--quiet'];

test('shards 0 and 1 of 2, then folds over the whole root, equal an unsharded run', () => {
  const scratch = scratchDir('shards');
  const whole = join(scratch, 'whole');
  const sharded = join(scratch, 'sharded');
  assert.equal(runCli(['run', ...common, '--output-dir', whole]).status, 0);

  const first = runCli(['run', ...common, '--output-dir', sharded, '--shard-index', '0', '--shard-count', '2']);
  assert.equal(first.status, 0, first.stderr);
  // The second shard takes its index from the scheduler, as a Kubernetes Indexed Job would.
  const second = runCli(['run', ...common, '--output-dir', sharded, '--shard-count', '2'], { env: { JOB_COMPLETION_INDEX: '1' } });
  assert.equal(second.status, 0, second.stderr);
  assert.match(first.stderr + second.stderr, /folds: not done by a shard/);

  const reports = listFiles(sharded).filter((file) => file.startsWith('run-report'));
  assert.deepEqual(reports, ['run-report.shard-0-of-2.json', 'run-report.shard-1-of-2.json']);
  const done = reports.map((file) => JSON.parse(readFileSync(join(sharded, file), 'utf8')) as { stages: { detect: { done: number } } });
  assert.equal(done[0]!.stages.detect.done + done[1]!.stages.detect.done, 5);
  assert.ok(done.every((report) => report.stages.detect.done > 0), 'one shard got no work: the partition is not spread');

  const folds = runCli(['folds', '--root-dir', root, '--output-dir', sharded, '--out', join(sharded, 'folds.csv'), '--n-splits', '2', '--parts', '2']);
  assert.equal(folds.status, 0, folds.stderr);

  const outputs = (dir: string) => listFiles(dir).filter((file) => !file.startsWith('run-report'));
  assert.deepEqual(outputs(sharded), outputs(whole));
  for (const file of outputs(whole)) {
    assert.ok(readFileSync(join(whole, file)).equals(readFileSync(join(sharded, file))), `${file} differs`);
  }
});

test('a layout sharded by fold group, with fewer groups than shards, says how many shards get any video; the empty shard says it has none', () => {
  const dir = scratchDir('shards-groups');
  mkdirSync(join(dir, 'videos'));
  const rows = ['path,label,original,split,group'];
  for (const name of ['a', 'b', 'c']) {
    writeFileSync(join(dir, 'videos', `${name}.mp4`), '');
    writeFileSync(join(dir, 'videos', `${name}-fake.mp4`), '');
    rows.push(`videos/${name}.mp4,REAL,,,everyone`, `videos/${name}-fake.mp4,FAKE,videos/${name}.mp4,,everyone`);
  }
  writeFileSync(join(dir, 'manifest.csv'), `${rows.join('\n')}\n`);
  const busy = shardOfOriginal('everyone', 3);
  const idle = (busy + 1) % 3;
  const result = runCli(['detect', '--root-dir', dir, '--output-dir', join(dir, 'out'), '--shard-index', String(idle), '--shard-count', '3', '--quiet']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, new RegExp(`only 1 of the 3 shards get any video \\(the data set has 1 fold group\\(s\\), and a group's videos stay in one shard\\): shard ${idle} has none; a job of fewer shards would use its nodes better`));
});
