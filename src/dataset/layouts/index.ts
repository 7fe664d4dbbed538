import { readdir } from 'node:fs/promises';
import { z } from 'zod';
import { UsageError } from '../../util/errors.js';
import { option } from '../../util/options.js';
import { celebdfLayout } from './celebdf.js';
import { dfdcLayout } from './dfdc.js';
import { dfdcpLayout } from './dfdcp.js';
import { ffppLayout } from './ffpp.js';
import type { Layout, LayoutName, LayoutOptions } from './layout.js';
import { manifestLayout } from './manifest.js';

/**
 * The layouts dfdc reads, how DATA_ROOT is matched to one (`--dataset auto`), and the options that
 * choose and shape them, declared once for every command that reads a data set.
 */
export const layouts: readonly Layout[] = [dfdcLayout, ffppLayout, celebdfLayout, dfdcpLayout, manifestLayout];

export const layoutNames = layouts.map((layout) => layout.name);

export function layoutNamed(name: LayoutName): Layout {
  return layouts.find((layout) => layout.name === name)!;
}

export const datasetOptions = {
  dataset: option(z.enum(['auto', ...layoutNames] as [string, ...string[]]).default('auto') as z.ZodType<LayoutName | 'auto'>, {
    help: 'the layout of DATA_ROOT: dfdc (DFDC, Kaggle sample), ffpp (FaceForensics++), celebdf (Celeb-DF v1/v2), dfdcp (DFDC preview), manifest (a CSV); auto recognises it',
    value: 'layout',
    choices: ['auto', ...layoutNames],
  }),
  compression: option(
    z
      .string()
      .transform((text) => text.split(',').map((part) => part.trim()))
      .refine((list) => list.every((part) => /^(raw|c0|c23|c40)$/.test(part)), { message: 'must be a list of raw, c0, c23, c40' })
      .optional(),
    { help: 'FaceForensics++: the compressions to take, e.g. c23 or c23,c40', value: 'list', defaultText: 'every one present' },
  ),
  splits: option(z.string().min(1, 'must not be empty').optional(), {
    help: "FaceForensics++: the folder of the official splits (train.json, val.json, test.json); its test videos go to the folds' test file (folds-test.csv)",
    value: 'dir',
    defaultText: 'none',
  }),
  manifest: option(z.string().min(1, 'must not be empty').optional(), {
    help: 'manifest layout: the CSV (path,label,original[,split][,group]), relative to the current directory',
    value: 'file',
    defaultText: 'manifest.csv in the root dir',
  }),
};

export const datasetOptionsSchema = z.object(datasetOptions);

/** The layout each of the options above shapes: given for a root read as another, it would do nothing. */
const layoutOfOption: Record<keyof LayoutOptions, LayoutName> = { compression: 'ffpp', splits: 'ffpp', manifest: 'manifest' };

/**
 * A UsageError for an option of another layout than the one DATA_ROOT is read as: `--splits` on a
 * DFDC root would otherwise be ignored, and the test videos it was meant to hold out trained on.
 */
export function checkOptionsApply(rootDir: string, layout: Layout, options: LayoutOptions): void {
  for (const [name, owner] of Object.entries(layoutOfOption) as [keyof LayoutOptions, LayoutName][]) {
    if (options[name] === undefined || owner === layout.name) continue;
    throw new UsageError(
      `--${name} is for the ${owner} layout, but --root-dir ${rootDir} is read as ${layout.name}: drop --${name}, or give the ${owner} root (or --dataset ${owner})`,
    );
  }
}

/** The layout of DATA_ROOT: the one forced, or the one that recognises it. */
export async function resolveLayout(rootDir: string, options: LayoutOptions & { dataset?: LayoutName | 'auto' }): Promise<Layout> {
  const forced = options.dataset !== undefined && options.dataset !== 'auto' ? layouts.find((layout) => layout.name === options.dataset) : undefined;
  if (forced) return forced;
  // A manifest given by name is the data set.
  if (options.manifest !== undefined) return layouts.find((layout) => layout.name === 'manifest')!;
  const entries = new Set(await readdir(rootDir));
  const matching: Layout[] = [];
  for (const layout of layouts) if (await layout.recognises(rootDir, entries, options)) matching.push(layout);
  if (matching.length === 1) return matching[0]!;
  if (matching.length === 0) {
    for (const layout of layouts) {
      const inner = layout.innerFolder?.(rootDir, entries);
      if (inner !== undefined) throw new UsageError(inner);
    }
    const expected = layouts.map((layout) => `${layout.name}: ${layout.expects}`).join('; ');
    throw new UsageError(`--root-dir ${rootDir} matches no layout dfdc knows (${expected}): give the folder that holds one, or list the videos in a manifest`);
  }
  throw new UsageError(`--root-dir ${rootDir} looks like ${matching.map((layout) => layout.name).join(' and ')}: choose one with --dataset ${matching.map((layout) => layout.name).join('|')}`);
}
