import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveShard } from '../../src/run/shard.js';

test('no shard options and no scheduler: the whole data set', () => {
  assert.equal(resolveShard({}, {}), undefined);
});

test('shard from options, Kubernetes, AWS Batch and Slurm', () => {
  assert.deepEqual(resolveShard({ shardIndex: 2, shardCount: 5 }, {}), { index: 2, count: 5 });
  assert.deepEqual(resolveShard({ shardCount: 4 }, { JOB_COMPLETION_INDEX: '3' }), { index: 3, count: 4 });
  assert.deepEqual(resolveShard({}, { AWS_BATCH_JOB_ARRAY_INDEX: '1', DFDC_SHARD_COUNT: '2' }), { index: 1, count: 2 });
  assert.deepEqual(resolveShard({}, { SLURM_ARRAY_TASK_ID: '11', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_COUNT: '8' }), { index: 1, count: 8 });
});

test('inconsistent shard settings are usage errors that say what to give', () => {
  assert.throws(() => resolveShard({}, { JOB_COMPLETION_INDEX: '0' }), /shard count is unknown: give --shard-count/);
  assert.throws(() => resolveShard({ shardIndex: 4, shardCount: 4 }, {}), /must be below the shard count 4/);
  assert.throws(() => resolveShard({ shardCount: 4 }, {}), /--shard-count needs --shard-index/);
  assert.throws(() => resolveShard({}, { JOB_COMPLETION_INDEX: 'x', DFDC_SHARD_COUNT: '2' }), /JOB_COMPLETION_INDEX must be a whole number/);
});
