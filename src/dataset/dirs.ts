import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../util/errors.js';
import { OUTPUT_FOLDER_NAMES } from './output-paths.js';
import { METADATA_FILE_NAME } from './parts.js';
import { option } from '../util/options.js';

/**
 * The three folders every command works with: DATA_ROOT (read only), the output folder (the root
 * by default, as in the reference) and the crops folder inside it. Declared once with their help,
 * resolved once to absolute paths.
 */
export const datasetDirsOptions = {
  rootDir: option(z.string({ error: 'is required: give --root-dir DATA_ROOT or set DFDC_ROOT' }).min(1, 'must not be empty'), {
    help: 'DATA_ROOT (required): the top folder of the data set (DFDC parts, FaceForensics++, Celeb-DF, the DFDC preview, or a manifest)',
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

/**
 * Checks that the root exists and is a folder, and that the output folder is not a file; resolves
 * the output and crops folders. With `writesCrops` (a command that cuts crops, and so also deletes
 * and replaces crops folders), the crops folder must be a folder of its own inside the output
 * folder: not the output folder itself or DATA_ROOT (where `crops/<id>` could be a part folder),
 * not another output folder, not a part.
 */
export function resolveDatasetDirs(options: DatasetDirsOptions, { writesCrops = false } = {}): DatasetDirs {
  const rootDir = resolve(options.rootDir);
  if (!existsSync(rootDir)) {
    throw new UsageError(`--root-dir ${options.rootDir}: no such folder (give the top folder of the data set: dfdc_train_part_*/, original_sequences/, Celeb-real/, dataset.json or manifest.csv are in it)`);
  }
  if (!statSync(rootDir).isDirectory()) throw new UsageError(`--root-dir ${options.rootDir} is a file: give the folder that holds the data set`);
  const outputDir = resolve(options.outputDir ?? rootDir);
  // A mistaken argument, as a file for --root-dir is: not a file in the way of a run to move aside.
  if (statSync(outputDir, { throwIfNoEntry: false })?.isDirectory() === false) throw new UsageError(`--output-dir ${options.outputDir} is a file: give --output-dir a folder`);
  const cropsDir = resolve(outputDir, options.cropsDir);
  const flag = `--crops-dir ${options.cropsDir}`;
  const within = (dir: string, base: string) => {
    const rel = relative(base, dir);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  if (within(outputDir, cropsDir) || within(rootDir, cropsDir)) {
    throw new UsageError(`${flag} is the output folder, DATA_ROOT or a folder holding them: give a folder of its own, such as crops`);
  }
  for (const name of OUTPUT_FOLDER_NAMES.filter((folder) => folder !== 'crops')) {
    if (within(cropsDir, join(outputDir, name))) throw new UsageError(`${flag} is inside ${name}/, where another stage writes: give a folder of its own, such as crops`);
  }
  if (existsSync(join(cropsDir, METADATA_FILE_NAME))) throw new UsageError(`${flag} holds a ${METADATA_FILE_NAME}: it is a part of the data set, not a crops folder`);
  if (writesCrops && !within(cropsDir, outputDir)) {
    throw new UsageError(`${flag} is outside the output folder ${outputDir}: the crops stage replaces folders there, so give a folder inside --output-dir`);
  }
  return { rootDir, outputDir, cropsDir };
}
