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
  return new Option('--output-dir <dir>', "where outputs go, in the reference's layout (boxes/, crops/, landmarks/, diffs/)").default(
    undefined,
    'the root dir',
  );
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
