import { join } from 'node:path';
import { readListFile } from '../../util/file-system.js';
import { z } from 'zod';
import type { Problem } from '../problems.js';
import { FatalError, messageOf } from '../../util/errors.js';
import { idOfPath, normalizedPath, relativePathProblem } from '../video-id.js';
import { folderParts, PresenceCheck } from './folders.js';
import type { Layout, ListedVideo, Listing } from './layout.js';

/**
 * The DFDC preview (DFDCP): `dataset.json` at the root maps each video's path to its record,
 * `{"label": "real" | "fake", "set": "train" | "test", "target_id": ..., "swapped_id": ...}`:
 *
 *   original_videos/<target_id>/<name>.mp4                          REAL
 *   method_A/<target_id>/<...>/<swapped_id>_<name>.mp4               FAKE (also method_B)
 *
 * A record names no original: a FAKE's is `original_videos/<target_id>/<its file name without
 * "<swapped_id>_">`. Ids are paths without `.mp4`, `/` made `_`. Split: the record's set.
 * Identities: target and swapped ids.
 */
export const dfdcpLayout: Layout = {
  name: 'dfdcp',
  expects: 'dataset.json with original_videos/ and method_A/, method_B/',
  detectionScale: 0.5,
  recognises: async (_root, entries) => entries.has(DATASET_FILE),
  list: async (dirs) => listDfdcp(dirs.rootDir),
};

const DATASET_FILE = 'dataset.json';

const recordSchema = z.object({
  label: z.enum(['real', 'fake']),
  set: z.enum(['train', 'test', 'val']).optional(),
  target_id: z.union([z.string(), z.number()]).transform(String).optional(),
  swapped_id: z.union([z.string(), z.number()]).transform(String).optional(),
});

async function listDfdcp(rootDir: string): Promise<Listing> {
  const problems: Problem[] = [];
  // dataset.json is the whole data set: one that cannot be read stops the run before any work.
  const file = join(rootDir, DATASET_FILE);
  let json: unknown;
  try {
    json = JSON.parse((await readListFile(file)).replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new FatalError(`${file} cannot be read as JSON (${(error as NodeJS.ErrnoException).code ?? messageOf(error).split('\n')[0]}): restore it from the download, then rerun`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new FatalError(`${file} is not a JSON object mapping video paths to records: restore it from the download, then rerun`);
  }
  const presence = new PresenceCheck(rootDir);
  const partOf = folderParts(rootDir);
  const rejected = new Set<string>();
  const videos: ListedVideo[] = [];
  for (const [key, value] of Object.entries(json)) {
    const path = normalizedPath(key);
    const quoted = JSON.stringify(key);
    const pathProblem = relativePathProblem(path);
    const parsed = recordSchema.safeParse(value);
    if (pathProblem !== null || !parsed.success) {
      if (pathProblem === null) rejected.add(idOfPath(path));
      problems.push({ file: DATASET_FILE, message: `${quoted} ${pathProblem ?? `is not a record such as {"label": "fake", "set": "train", "target_id": "1", "swapped_id": "2"} (${parsed.error!.issues[0]!.message})`}: left out` });
      continue;
    }
    const record = parsed.data;
    const base = path.slice(path.lastIndexOf('/') + 1);
    const common = {
      id: idOfPath(path),
      relativePath: path,
      part: partOf(path.includes('/') ? path.slice(0, path.indexOf('/')) : '.'),
      split: record.set ?? null,
      shown: quoted,
      listedIn: DATASET_FILE,
      links: [],
      present: await presence.has(path),
    };
    const spelled = await presence.otherSpelling(path);
    if (spelled !== undefined) problems.push({ file: DATASET_FILE, message: spelled });
    if (record.label === 'real') {
      videos.push({ ...common, label: 'REAL', original: null, identities: record.target_id ? [`dfdcp:${record.target_id}`] : [] });
      continue;
    }
    const prefix = `${record.swapped_id}_`;
    if (record.target_id === undefined || record.swapped_id === undefined || !base.startsWith(prefix)) {
      rejected.add(common.id);
      problems.push({ file: DATASET_FILE, message: `${quoted} names no target_id and swapped_id whose original dfdc can find (original_videos/<target_id>/<name without "<swapped_id>_">): fake skipped` });
      continue;
    }
    const originalPath = `original_videos/${record.target_id}/${base.slice(prefix.length)}`;
    videos.push({
      ...common,
      label: 'FAKE',
      original: { id: idOfPath(originalPath), shown: originalPath, path: originalPath },
      identities: [`dfdcp:${record.target_id}`, `dfdcp:${record.swapped_id}`],
    });
  }
  return { videos, problems, rejected, notListed: 'is not in dataset.json', listName: DATASET_FILE };
}
