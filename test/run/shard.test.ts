import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordShardCount, resolveShard } from '../../src/run/shard.js';
import { UsageError } from '../../src/util/errors.js';

/** What Slurm sets for `sbatch --array=<spec>` in the task with id `id` (sbatch(1), "OUTPUT ENVIRONMENT VARIABLES"). */
function slurm(id: number, ids: readonly number[], step = 1): NodeJS.ProcessEnv {
  return {
    SLURM_ARRAY_TASK_ID: String(id),
    SLURM_ARRAY_TASK_COUNT: String(ids.length),
    SLURM_ARRAY_TASK_MIN: String(Math.min(...ids)),
    SLURM_ARRAY_TASK_MAX: String(Math.max(...ids)),
    SLURM_ARRAY_TASK_STEP: String(step),
  };
}
const range = (from: number, to: number, step = 1) => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

test('no shard options and no scheduler: the whole data set', () => {
  assert.equal(resolveShard({}, {}), undefined);
});

test('shard from options, Kubernetes, AWS Batch and a full Slurm array', () => {
  assert.deepEqual(resolveShard({ shardIndex: 2, shardCount: 5 }, {}), { index: 2, count: 5 });
  assert.deepEqual(resolveShard({ shardCount: 4 }, { JOB_COMPLETION_INDEX: '3' }), { index: 3, count: 4 });
  assert.deepEqual(resolveShard({}, { AWS_BATCH_JOB_ARRAY_INDEX: '1', DFDC_SHARD_COUNT: '2' }), { index: 1, count: 2 });
  // --array=0-49 (also --array=0-49%5: throttling changes none of these variables).
  assert.deepEqual(resolveShard({}, slurm(17, range(0, 49))), { index: 17, count: 50 });
});

test('a rerun of some Slurm tasks redoes exactly their shards, given the job count', () => {
  // sbatch --array=3,17 after a 50-task job.
  assert.deepEqual(resolveShard({}, { ...slurm(3, [3, 17]), DFDC_SHARD_COUNT: '50' }), { index: 3, count: 50 });
  assert.deepEqual(resolveShard({ shardCount: 50 }, slurm(17, [3, 17])), { index: 17, count: 50 });
  // Without the count, refused rather than read as shard 0 of 2.
  assert.throws(() => resolveShard({}, slurm(3, [3, 17])), /not a full 0\.\.n-1 array.*give --shard-count N/);
  assert.throws(() => resolveShard({}, slurm(17, [3, 17])), /not a full 0\.\.n-1 array/);
});

test('stepped and offset Slurm arrays need an explicit count', () => {
  assert.throws(() => resolveShard({}, slurm(4, range(0, 98, 2), 2)), (error: unknown) => error instanceof UsageError && /step 2/.test(error.message));
  assert.throws(() => resolveShard({}, slurm(1, range(1, 50))), /tasks 1\.\.50/);
  assert.deepEqual(resolveShard({ shardCount: 99 }, slurm(98, range(0, 98, 2), 2)), { index: 98, count: 99 });
});

test('inconsistent shard settings are usage errors that say what to give', () => {
  assert.throws(() => resolveShard({}, { JOB_COMPLETION_INDEX: '0' }), /shard count is unknown: give --shard-count/);
  assert.throws(() => resolveShard({ shardIndex: 4, shardCount: 4 }, {}), /must be below the shard count 4/);
  assert.throws(() => resolveShard({ shardCount: 4 }, {}), /--shard-count 4 needs a shard index/);
  assert.throws(() => resolveShard({}, { DFDC_SHARD_COUNT: '2' }), /DFDC_SHARD_COUNT 2 needs a shard index/);
  assert.throws(() => resolveShard({}, { JOB_COMPLETION_INDEX: 'x', DFDC_SHARD_COUNT: '2' }), /JOB_COMPLETION_INDEX must be a whole number/);
  assert.throws(() => resolveShard({}, { SLURM_ARRAY_TASK_ID: '', DFDC_SHARD_COUNT: '2' }), /SLURM_ARRAY_TASK_ID must be a whole number >= 0, got ""/);
  assert.throws(() => resolveShard({}, { ...slurm(50, range(0, 50)), DFDC_SHARD_COUNT: '50' }), /shard index 50 \(from SLURM_ARRAY_TASK_ID\) must be below the shard count 50/);
  // Only digits: what Number() would also read as 1 (or 2) is refused.
  for (const text of ['0x1', '1e0', '1.0', ' 1', '0b10', '-0']) {
    assert.throws(() => resolveShard({}, { SLURM_ARRAY_TASK_ID: text, DFDC_SHARD_COUNT: '4' }), /SLURM_ARRAY_TASK_ID must be a whole number >= 0/, text);
  }
  assert.deepEqual(resolveShard({}, { SLURM_ARRAY_TASK_ID: '03', DFDC_SHARD_COUNT: '4' }), { index: 3, count: 4 });
  // Two schedulers' ids: refused when they disagree, taken when they agree.
  assert.throws(() => resolveShard({}, { JOB_COMPLETION_INDEX: '2', SLURM_ARRAY_TASK_ID: '0', DFDC_SHARD_COUNT: '4' }), /JOB_COMPLETION_INDEX=2 and SLURM_ARRAY_TASK_ID=0 disagree on which task this is: give --shard-index/);
  assert.deepEqual(resolveShard({}, { AWS_BATCH_JOB_ARRAY_INDEX: '2', SLURM_ARRAY_TASK_ID: '02', DFDC_SHARD_COUNT: '4' }), { index: 2, count: 4 });
  assert.deepEqual(resolveShard({ shardIndex: 1, shardCount: 4 }, { JOB_COMPLETION_INDEX: '2', SLURM_ARRAY_TASK_ID: '0' }), { index: 1, count: 4 }, '--shard-index decides');
});

test('the first sharded run records the count; a task with another count is refused, naming both', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'dfdc-shard-'));
  await recordShardCount(stateDir, { index: 0, count: 50 });
  assert.deepEqual(JSON.parse(readFileSync(join(stateDir, 'shard-count.json'), 'utf8')), { count: 50 });
  await recordShardCount(stateDir, { index: 3, count: 50 });
  await assert.rejects(recordShardCount(stateDir, { index: 1, count: 3 }), (error: unknown) => error instanceof UsageError && /sharded into 50 shards, and this task says 3: give --shard-count 50/.test(error.message));
});
