import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Shard } from '../dataset/selection.js';
import { removeStaleTemporaries, writeFileAtomic } from '../util/atomic-write.js';
import { UsageError } from '../util/errors.js';

/**
 * Which shard of a cluster job this process is. The index is the task's own id, never its
 * position in the array, so that rerunning some tasks (`sbatch --array=3,17`) redoes exactly
 * their shards: `--shard-index`, else the scheduler's task id (Kubernetes Indexed Jobs:
 * JOB_COMPLETION_INDEX; AWS Batch: AWS_BATCH_JOB_ARRAY_INDEX; Slurm: SLURM_ARRAY_TASK_ID). The
 * count is `--shard-count` or DFDC_SHARD_COUNT, or Slurm's own only when its array is a full
 * `0..n-1` (a stepped, offset or subset array says nothing about the job's size). Anything
 * ambiguous is refused with one line saying what to pass. Pure, but for recordShardCount.
 */
function integer(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  // Digits only: Number() would also take "0x1", "1e0", "1.0" and " 1" for 1.
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) throw new UsageError(`${what} must be a whole number >= 0, got ${JSON.stringify(text)} (an unset variable in a job script?)`);
  return value;
}

const SCHEDULER_INDEXES = ['JOB_COMPLETION_INDEX', 'AWS_BATCH_JOB_ARRAY_INDEX', 'SLURM_ARRAY_TASK_ID'] as const;

export function resolveShard(options: { shardIndex?: number; shardCount?: number }, env: NodeJS.ProcessEnv): Shard | undefined {
  const explicitCount = options.shardCount ?? integer(env.DFDC_SHARD_COUNT, 'DFDC_SHARD_COUNT');
  const countSource = options.shardCount !== undefined ? '--shard-count' : 'DFDC_SHARD_COUNT';
  let index = options.shardIndex;
  let source = '--shard-index';
  if (index === undefined) {
    const set = SCHEDULER_INDEXES.filter((name) => env[name] !== undefined);
    // Two schedulers' ids that disagree (a Kubernetes job inside a Slurm allocation, a variable
    // left over in an exported environment) leave the shard to a guess.
    if (new Set(set.map((name) => integer(env[name], name))).size > 1) {
      throw new UsageError(`${set.map((name) => `${name}=${env[name]}`).join(' and ')} disagree on which task this is: give --shard-index (or unset the one that does not belong)`);
    }
    const variable = set[0];
    if (variable) {
      index = integer(env[variable], variable);
      source = variable;
    }
  }
  if (index === undefined) {
    if (explicitCount !== undefined) {
      throw new UsageError(`${countSource} ${explicitCount} needs a shard index: give --shard-index i (0..${explicitCount - 1}), or run as a task of an array job`);
    }
    return undefined;
  }
  const count = explicitCount ?? slurmArrayCount(source, env);
  if (count === undefined) {
    throw new UsageError(`${source} gives shard ${index}, but the shard count is unknown: give --shard-count N or set DFDC_SHARD_COUNT to the number of tasks of the whole job`);
  }
  if (count < 1) throw new UsageError(`${countSource} must be at least 1`);
  if (index >= count) throw new UsageError(`shard index ${index} (from ${source}) must be below the shard count ${count}: give --shard-count with the number of tasks of the whole job`);
  return { index, count };
}

/**
 * The shard count a Slurm array gives, only when it is a full array 0..n-1 (throttled or not):
 * then its task count is the job's. A rerun of some tasks (`--array=3,17`), a stepped
 * (`0-98:2`) or offset (`1-50`) array is refused without an explicit count.
 */
function slurmArrayCount(source: string, env: NodeJS.ProcessEnv): number | undefined {
  if (source !== 'SLURM_ARRAY_TASK_ID') return undefined;
  const count = integer(env.SLURM_ARRAY_TASK_COUNT, 'SLURM_ARRAY_TASK_COUNT');
  const min = integer(env.SLURM_ARRAY_TASK_MIN, 'SLURM_ARRAY_TASK_MIN');
  const max = integer(env.SLURM_ARRAY_TASK_MAX, 'SLURM_ARRAY_TASK_MAX');
  const step = integer(env.SLURM_ARRAY_TASK_STEP, 'SLURM_ARRAY_TASK_STEP') ?? 1;
  if (count === undefined) return undefined;
  if (min === 0 && max === count - 1 && step === 1) return count;
  throw new UsageError(
    `this Slurm array (tasks ${min ?? '?'}..${max ?? '?'}${step !== 1 ? ` step ${step}` : ''}, ${count} of them) is not a full 0..n-1 array, so it does not tell the job's shard count: give --shard-count N (or DFDC_SHARD_COUNT=N) with the number of shards of the whole job`,
  );
}

const shardRecordSchema = z.object({ count: z.number().int().min(1) });

/**
 * The shard count is recorded in the output's state on first use: a rerun of tasks 0-2 of a
 * 50-task job looks like a full 3-task array, and must not reshard the output silently.
 */
export async function recordShardCount(stateDir: string, shard: Shard): Promise<void> {
  const file = join(stateDir, 'shard-count.json');
  // Shards share the file: only temporaries old enough to be a killed writer's are removed.
  await removeStaleTemporaries(file);
  let recorded: number | undefined;
  try {
    const parsed = shardRecordSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (parsed.success) recorded = parsed.data.count;
  } catch {
    // Absent or unreadable: this is the first sharded run here, or the record is to be made again.
  }
  if (recorded === undefined) {
    await writeFileAtomic(file, `${JSON.stringify({ count: shard.count })}\n`);
  } else if (recorded !== shard.count) {
    throw new UsageError(
      `this output folder was sharded into ${recorded} shards, and this task says ${shard.count}: give --shard-count ${recorded} (a rerun of some tasks keeps the job's count), or delete ${file} to shard it anew`,
    );
  }
}
