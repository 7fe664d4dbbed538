import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option } from 'commander';
import { z } from 'zod';
import { UsageError } from '../util/errors.js';

/**
 * Options every stage shares, defined once: their flags, help texts and defaults, the zod schema
 * that validates them, and the resolution of the three folders a stage works with.
 */

/** `nSplits` -> `--n-splits`, so zod messages name the flag the user typed. */
export function optionFlag(path: string): string {
  if (path === '') return '';
  const head = path.split(/[.[]/)[0] ?? path;
  return `--${head.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export function rootDirOption(): Option {
  return new Option('--root-dir <dir>', 'DATA_ROOT: the folder whose sub-folders hold metadata.json and the videos').env('DFDC_ROOT');
}

export function outputDirOption(): Option {
  return new Option('--output-dir <dir>', "where outputs go, in the reference's layout (boxes/, crops/, landmarks/, diffs/) (default: the root dir)");
}

export function cropsDirOption(): Option {
  return new Option('--crops-dir <name>', 'folder of the crops, relative to the output dir').default('crops');
}

export const datasetOptionsSchema = z.object({
  rootDir: z.string({ error: 'is required: give --root-dir DATA_ROOT or set DFDC_ROOT' }).min(1, 'must not be empty'),
  outputDir: z.string().min(1, 'must not be empty').optional(),
  cropsDir: z.string().min(1, 'must not be empty').default('crops'),
});

export interface DatasetDirs {
  /** Absolute DATA_ROOT, read-only for dfdc. */
  rootDir: string;
  /** Absolute folder that receives boxes/, crops/, landmarks/, diffs/ (the root by default). */
  outputDir: string;
  /** Absolute crops folder (outputDir/cropsDir unless cropsDir is absolute). */
  cropsDir: string;
}

/** Checks that the root exists and is a folder; resolves the output and crops folders. */
export function resolveDatasetDirs(options: z.infer<typeof datasetOptionsSchema>): DatasetDirs {
  const rootDir = resolve(options.rootDir);
  if (!existsSync(rootDir) || !statSync(rootDir).isDirectory()) {
    throw new UsageError(`--root-dir ${options.rootDir}: no such folder (give the DATA_ROOT that holds dfdc_train_part_*/metadata.json)`);
  }
  const outputDir = resolve(options.outputDir ?? rootDir);
  return { rootDir, outputDir, cropsDir: resolve(outputDir, options.cropsDir) };
}

/** A comma-separated list of numbers, e.g. `--thresholds 0.85,0.95,0.95`. */
export function numberList(count: number) {
  return z
    .string()
    .transform((text) => text.split(',').map((part) => Number(part.trim())))
    .refine((values) => values.length === count && values.every((v) => Number.isFinite(v)), {
      message: `must be ${count} comma-separated numbers`,
    });
}

/** Options of every stage that processes videos: resume, output, selection, parallelism. */
export function runOptions(): Option[] {
  return [
    new Option('--force', 'recompute units already complete, and accept settings that differ from the earlier run').default(false),
    new Option('--parts <list>', 'only these parts: comma-separated part numbers or folder names (default: all parts)'),
    new Option('--limit <n>', 'only the first N REAL videos (with their FAKEs): a slice to try first (default: no limit)'),
    new Option('--shard-index <i>', 'process shard i of --shard-count (also read from JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or SLURM_ARRAY_TASK_ID) (default: no sharding)'),
    new Option('--shard-count <n>', 'number of shards (also DFDC_SHARD_COUNT or SLURM_ARRAY_TASK_COUNT) (default: no sharding)'),
    new Option('--quiet', 'print only problems and the summary').default(false),
    new Option('--json', 'print the run summary as JSON on stdout').default(false),
  ];
}

const wholeNumber = (min: number) => z.coerce.number().int('must be a whole number').min(min, `must be at least ${min}`);

export const runOptionsSchema = z.object({
  force: z.boolean().default(false),
  parts: z
    .string()
    .optional()
    .transform((text) => (text === undefined ? undefined : text.split(',').map((part) => part.trim()).filter((part) => part !== '')))
    .refine((list) => list === undefined || list.length > 0, 'must name at least one part'),
  limit: wholeNumber(1).optional(),
  shardIndex: wholeNumber(0).optional(),
  shardCount: wholeNumber(1).optional(),
  quiet: z.boolean().default(false),
  json: z.boolean().default(false),
});

/** `--workers` and `--backend`, for stages that run MTCNN or other per-core work. */
export function workerOptions(): Option[] {
  return [
    new Option('--workers <n>', 'worker threads (one TF.js backend each) (default: the number of cores)'),
    new Option('--backend <name>', 'TF.js backend: wasm (installs from npm), cpu (pure JS, slow), tensorflow (needs @tensorflow/tfjs-node or -node-gpu installed by you)')
      .choices(['wasm', 'cpu', 'tensorflow'])
      .default('wasm'),
  ];
}

export const workerOptionsSchema = z.object({
  workers: wholeNumber(1).optional(),
  backend: z.enum(['wasm', 'cpu', 'tensorflow']).default('wasm'),
});
