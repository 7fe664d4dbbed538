import { readdir } from 'node:fs/promises';
import { forEachConcurrent } from '../util/concurrency.js';
import { FatalError } from '../util/errors.js';
import { gridCellIndices } from './folds.js';
import type { OutputPaths } from './output-paths.js';

/**
 * Which crop files exist, found by listing each `<crops-dir>/<id>/` folder once (one readdir per
 * video rather than a stat per grid cell: 64 per video, 7.6 million on the full set).
 */

/** How many folders are listed at once. */
const LISTING_CONCURRENCY = 32;

/**
 * The grid cells present in each video's crops folder (gridCellIndices), by video id; a missing
 * folder has none. Only the cells are kept, not the names: at DFDC's size the names alone would
 * take hundreds of megabytes. Any other failure to list (permissions, I/O) is fatal: folds built
 * from a partial view would be wrong.
 */
export async function listGridCells(paths: OutputPaths, ids: Iterable<string>): Promise<Map<string, Uint8Array>> {
  const listed = new Map<string, Uint8Array>();
  await forEachConcurrent([...new Set(ids)], LISTING_CONCURRENCY, async (id) => {
    listed.set(id, gridCellIndices(await listFolder(paths.cropDir(id))));
  });
  return listed;
}

/** The names of the files in a folder; none when it does not exist; a FatalError when it cannot be listed. */
export async function listFolder(dir: string): Promise<ReadonlySet<string>> {
  try {
    // Regular files only: a crop is never a folder, a FIFO (which would block its reader) or a device.
    const entries = await readdir(dir, { withFileTypes: true });
    return new Set(entries.filter((entry) => entry.isFile() || entry.isSymbolicLink()).map((entry) => entry.name));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return new Set();
    throw new FatalError(`cannot list the crops folder ${dir} (${code ?? String(error)}): check its permissions`, { cause: error });
  }
}
