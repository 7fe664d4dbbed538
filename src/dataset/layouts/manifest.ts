import { join, relative, resolve } from 'node:path';
import { readListFile } from '../../util/file-system.js';
import { parse } from 'csv-parse/sync';
import type { Problem } from '../problems.js';
import { FatalError, messageOf } from '../../util/errors.js';
import { idOfPath, normalizedPath, relativePathProblem } from '../video-id.js';
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
 * problem naming its line, and is left out; a manifest that cannot be read at all stops the run.
 * Columns after the known ones are ignored.
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
  // The manifest is the whole data set: one that cannot be read stops the run before any work,
  // rather than run on nothing and write an empty folds.csv over a good one.
  const stop = (message: string): never => {
    throw new FatalError(`${file} ${message}`);
  };
  let text = '';
  try {
    text = await readListFile(file);
  } catch (error) {
    stop(`cannot be read (${(error as NodeJS.ErrnoException).code ?? messageOf(error)}): give the manifest with --manifest FILE, or put manifest.csv in DATA_ROOT`);
  }
  let records: { record: string[]; info: { lines: number } }[] = [];
  try {
    records = parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true, info: true }) as typeof records;
  } catch (error) {
    const at = (error as { lines?: number }).lines;
    stop(`is not valid CSV${at ? ` at line ${at}` : ''} (${messageOf(error).split('\n')[0]}): fix it (a field with a comma or a quote must be quoted, its quotes doubled), then rerun`);
  }
  const rows = records.map(({ record }) => record);
  const header = (rows[0] ?? []).map((name) => name.trim().toLowerCase());
  if (header.length < 3 || COLUMNS.slice(0, 3).some((name, index) => header[index] !== name)) {
    stop(`must begin with the header path,label,original[,split][,group] (got ${JSON.stringify(rows[0]?.join(',') ?? '')}): add it, then rerun`);
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
  for (const { record: row, info } of records.slice(1)) {
    const line = `line ${info.lines}`;
    const path = normalizedPath(column(row, 'path'));
    const label = column(row, 'label').toUpperCase();
    const original = normalizedPath(column(row, 'original'));
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
        original: label === 'FAKE' ? { id: idOfPath(original), shown: original, path: original } : null,
        part: partOf(path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '.'),
        split: split === '' ? null : (split as Split),
        shown: `${line}: ${JSON.stringify(path)}`,
        listedIn: shownFile,
        links: [],
        identities: group === '' ? [] : [`group:${group}`],
        ...(group === '' ? {} : { group }),
        present: await presence.has(path),
      });
      const spelled = await presence.otherSpelling(path);
      if (spelled !== undefined) problems.push({ file: shownFile, message: `${line}: ${spelled}` });
    }
  }
  return { videos, problems, rejected, inputs: [file], notListed: 'is not in the manifest', listName: shownFile };
}
