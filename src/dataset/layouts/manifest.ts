import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Problem } from '../problems.js';
import { idOfPath, relativePathProblem } from '../video-id.js';
import { folderParts, PresenceCheck } from './folders.js';
import type { Layout, LayoutOptions, ListedVideo, Listing, Split } from './layout.js';

/**
 * Any other data set, described in a CSV anyone can write (`manifest.csv` in DATA_ROOT, or
 * `--manifest FILE`), header `path,label,original[,split][,group]`:
 *
 *   path      the video, relative to DATA_ROOT
 *   label     REAL or FAKE
 *   original  a FAKE's source video, as a path like `path` (empty for a REAL)
 *   split     train, val, test or empty
 *   group     videos that must share a fold (e.g. one person); empty: a FAKE with its original
 *
 * Ids are paths without their extension, `/` made `_` (`real/a.mp4` -> `real_a`). A bad row is one
 * problem naming its line, and is left out.
 */
export const manifestLayout: Layout = {
  name: 'manifest',
  expects: 'manifest.csv (path,label,original[,split][,group]) or --manifest FILE',
  detectionScale: 0.5,
  recognises: async (_root, entries, options) => options.manifest !== undefined || entries.has(MANIFEST_FILE),
  list: async (dirs, options) => listManifest(dirs.rootDir, options),
};

const MANIFEST_FILE = 'manifest.csv';
const COLUMNS = ['path', 'label', 'original', 'split', 'group'];

async function listManifest(rootDir: string, options: LayoutOptions): Promise<Listing> {
  const file = options.manifest ? resolve(options.manifest) : join(rootDir, MANIFEST_FILE);
  const shownFile = relative(rootDir, file).startsWith('..') ? file : relative(rootDir, file);
  const empty = (message: string): Listing => ({ videos: [], problems: [{ file: shownFile, message }], rejected: new Set(), notListed: 'is not in the manifest' });
  let rows: string[][];
  try {
    rows = parse(await readFile(file, 'utf8'), { bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return empty(`cannot be read as CSV (${code && !code.startsWith('CSV_') ? code : (error as Error).message.split('\n')[0]}): no video listed`);
  }
  const header = (rows[0] ?? []).map((name) => name.trim().toLowerCase());
  if (header.length < 3 || COLUMNS.slice(0, 3).some((name, index) => header[index] !== name) || header.slice(3).some((name) => !COLUMNS.slice(3).includes(name))) {
    return empty(`its header must be path,label,original[,split][,group] (got ${JSON.stringify(rows[0]?.join(',') ?? '')}): no video listed`);
  }
  const column = (row: string[], name: string) => {
    const at = header.indexOf(name);
    return at < 0 ? '' : (row[at] ?? '').trim();
  };
  const presence = new PresenceCheck(rootDir);
  const partOf = folderParts(rootDir);
  const problems: Problem[] = [];
  const rejected = new Set<string>();
  const videos: ListedVideo[] = [];
  for (const [index, row] of rows.slice(1).entries()) {
    const line = `line ${index + 2}`;
    const path = column(row, 'path').replace(/\\/g, '/').replace(/^\.\//, '');
    const label = column(row, 'label').toUpperCase();
    const original = column(row, 'original').replace(/\\/g, '/').replace(/^\.\//, '');
    const split = column(row, 'split').toLowerCase();
    const group = column(row, 'group');
    const fail = (message: string) => {
      if (relativePathProblem(path) === null) rejected.add(idOfPath(path));
      problems.push({ file: shownFile, message: `${line}: ${message}: left out` });
    };
    const pathProblem = relativePathProblem(path);
    if (pathProblem !== null) fail(`path ${JSON.stringify(path)} ${pathProblem}`);
    else if (label !== 'REAL' && label !== 'FAKE') fail(`label must be REAL or FAKE (got ${JSON.stringify(column(row, 'label'))})`);
    else if (label === 'FAKE' && original === '') fail('a FAKE must name its original (the path of the REAL video it was made from)');
    else if (label === 'FAKE' && relativePathProblem(original) !== null) fail(`original ${JSON.stringify(original)} ${relativePathProblem(original)}`);
    else if (label === 'REAL' && original !== '') fail(`a REAL has no original (got ${JSON.stringify(original)})`);
    else if (split !== '' && !['train', 'val', 'test'].includes(split)) fail(`split must be train, val, test or empty (got ${JSON.stringify(split)})`);
    else if (/[\u0000-\u001f\u007f]/.test(group)) fail('group must not contain control characters');
    else {
      videos.push({
        id: idOfPath(path),
        relativePath: path,
        label,
        original: label === 'FAKE' ? { id: idOfPath(original), shown: original } : null,
        part: partOf(path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '.'),
        split: split === '' ? null : (split as Split),
        shown: `${line}: ${JSON.stringify(path)}`,
        listedIn: shownFile,
        links: [],
        identities: group === '' ? [] : [`group:${group}`],
        ...(group === '' ? {} : { group }),
        present: await presence.has(path),
      });
    }
  }
  return { videos, problems, rejected, notListed: 'is not in the manifest' };
}
