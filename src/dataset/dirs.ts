import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import { option } from '../util/options.js';

/**
 * The three folders every command works with: DATA_ROOT (read only), the output folder (the root
 * by default, as in the reference) and the crops folder inside it. Declared once with their help,
 * resolved once to absolute paths.
 */
export const datasetDirsOptions = {
  rootDir: option(z.string({ error: 'is required: give --root-dir DATA_ROOT or set DFDC_ROOT' }).min(1, 'must not be empty'), {
    help: 'DATA_ROOT: the folder whose sub-folders hold metadata.json and the videos',
    value: 'dir',
    env: 'DFDC_ROOT',
  }),
  outputDir: option(z.string().min(1, 'must not be empty').optional(), {
    help: "where outputs go, in the reference's layout (boxes/, crops/, landmarks/, diffs/)",
    value: 'dir',
    defaultText: 'the root dir',
  }),
  cropsDir: option(z.string().min(1, 'must not be empty').default('crops'), {
    help: 'folder of the crops, relative to the output dir',
    value: 'name',
  }),
};

export const datasetDirsSchema = z.object(datasetDirsOptions);
export type DatasetDirsOptions = z.infer<typeof datasetDirsSchema>;

export interface DatasetDirs {
  /** Absolute DATA_ROOT, read-only for dfdc. */
  readonly rootDir: string;
  /** Absolute folder that receives boxes/, crops/, landmarks/, diffs/ (the root by default). */
  readonly outputDir: string;
  /** Absolute crops folder (outputDir/cropsDir unless cropsDir is absolute). */
  readonly cropsDir: string;
}

/** Checks that the root exists and is a folder; resolves the output and crops folders. */
export function resolveDatasetDirs(options: DatasetDirsOptions): DatasetDirs {
  const rootDir = resolve(options.rootDir);
  if (!existsSync(rootDir) || !statSync(rootDir).isDirectory()) {
    throw new UsageError(`--root-dir ${options.rootDir}: no such folder (give the DATA_ROOT that holds dfdc_train_part_*/metadata.json)`);
  }
  const outputDir = resolve(options.outputDir ?? rootDir);
  return { rootDir, outputDir, cropsDir: resolve(outputDir, options.cropsDir) };
}
