import type { Shard } from '../dataset/selection.js';
import { UsageError } from '../util/errors.js';

/**
 * Which shard of a cluster job this process is: `--shard-index`/`--shard-count`, or the index a
 * scheduler gives each task of an array job (Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX; AWS
 * Batch: AWS_BATCH_JOB_ARRAY_INDEX; Slurm: SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN with
 * SLURM_ARRAY_TASK_COUNT), with the count from --shard-count or DFDC_SHARD_COUNT. Pure.
 */
function integer(text: string | undefined, what: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`${what} must be a whole number >= 0, got ${JSON.stringify(text)}`);
  return value;
}

export function resolveShard(options: { shardIndex?: number; shardCount?: number }, env: NodeJS.ProcessEnv): Shard | undefined {
  let index = options.shardIndex;
  let count = options.shardCount ?? integer(env.DFDC_SHARD_COUNT, 'DFDC_SHARD_COUNT');
  let source = '--shard-index';
  if (index === undefined) {
    const slurmId = integer(env.SLURM_ARRAY_TASK_ID, 'SLURM_ARRAY_TASK_ID');
    if (env.JOB_COMPLETION_INDEX !== undefined) {
      index = integer(env.JOB_COMPLETION_INDEX, 'JOB_COMPLETION_INDEX');
      source = 'JOB_COMPLETION_INDEX';
    } else if (env.AWS_BATCH_JOB_ARRAY_INDEX !== undefined) {
      index = integer(env.AWS_BATCH_JOB_ARRAY_INDEX, 'AWS_BATCH_JOB_ARRAY_INDEX');
      source = 'AWS_BATCH_JOB_ARRAY_INDEX';
    } else if (slurmId !== undefined) {
      index = slurmId - (integer(env.SLURM_ARRAY_TASK_MIN, 'SLURM_ARRAY_TASK_MIN') ?? 0);
      count ??= integer(env.SLURM_ARRAY_TASK_COUNT, 'SLURM_ARRAY_TASK_COUNT');
      source = 'SLURM_ARRAY_TASK_ID';
    }
  }
  if (index === undefined) {
    if (options.shardCount !== undefined) throw new UsageError('--shard-count needs --shard-index (or a scheduler index such as JOB_COMPLETION_INDEX)');
    return undefined;
  }
  if (count === undefined) throw new UsageError(`${source} gives shard ${index}, but the shard count is unknown: give --shard-count N or set DFDC_SHARD_COUNT`);
  if (count < 1) throw new UsageError('--shard-count must be at least 1');
  if (index >= count) throw new UsageError(`shard index ${index} (from ${source}) must be below the shard count ${count}`);
  return { index, count };
}
