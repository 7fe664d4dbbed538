import { readdir, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LEGACY_STATE_FOLDER_NAME, type OutputPaths } from '../dataset/output-paths.js';
import { keepFolders, makeFolder, removePath, STALE_TEMPORARY_MS, writeFileAtomic } from '../util/atomic-write.js';
import { processExists } from '../util/processes.js';

/**
 * The output folder's state folder, made ready once per run: created and proven writable (so a
 * read-only or not-permitted output folder stops the run once, before any work), and moved from
 * the names of dfdc 0.1, whose `.dfdc/` and `dfdc-report*.json` at the top of the output folder
 * broke the reference's generate_folds.py when the output folder is DATA_ROOT (it takes every
 * top-level name containing "dfdc" for a part folder). The old unit markers moved along are
 * counted only once their outputs are verified (src/run/completion.ts).
 */
export async function openStateFolder(paths: OutputPaths): Promise<void> {
  // An earlier run in this process may have kept these folders; this run makes them if they are not there.
  keepFolders([]);
  await makeFolder(paths.stateDir);
  const host = hostname();
  await removeDeadProbes(paths.stateDir, host);
  const probe = join(paths.stateDir, `${PROBE_PREFIX}${host}.${process.pid}`);
  await writeFileAtomic(probe, '');
  await rm(probe, { force: true });
  await moveLegacyState(paths);
  keepFolders([paths.outputDir, paths.stateDir]);
}

const PROBE_PREFIX = 'write-check.';

/**
 * Removes the write probes (and their temporaries) that runs killed while starting left: those of
 * this host whose process is gone, and any old enough to be nobody's (another node's).
 */
async function removeDeadProbes(stateDir: string, host: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(stateDir).catch(() => [] as string[])) {
    const match = /^\.?write-check\.(.+)\.(\d+)(?:\.\d+\.\d+\.tmp)?$/.exec(name);
    if (!match) continue;
    const path = join(stateDir, name);
    const dead = match[1] === host ? !processExists(Number(match[2])) : await stat(path).then((info) => now - info.mtimeMs >= STALE_TEMPORARY_MS, () => false);
    if (dead) await rm(path, { force: true }).catch(() => undefined);
  }
}

async function isFolder(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
}

async function moveLegacyState(paths: OutputPaths): Promise<void> {
  const legacy = join(paths.outputDir, LEGACY_STATE_FOLDER_NAME);
  if (await isFolder(legacy)) {
    // The new folder exists already (made just above): move the old contents into it, entry by entry.
    await moveInto(legacy, paths.stateDir);
    await removePath(legacy);
  }
  for (const name of await readdir(paths.outputDir)) {
    const match = /^dfdc-report(\.shard-\d+-of-\d+)?\.json$/.exec(name);
    if (!match) continue;
    const target = join(paths.outputDir, `run-report${match[1] ?? ''}.json`);
    if (await stat(target).then(() => true, () => false)) await removePath(join(paths.outputDir, name));
    else await rename(join(paths.outputDir, name), target);
  }
}

/** Moves every entry of `from` into `to`, merging folders; an entry already in `to` wins. */
async function moveInto(from: string, to: string): Promise<void> {
  await makeFolder(to);
  for (const name of await readdir(from)) {
    const source = join(from, name);
    const target = join(to, name);
    if (await isFolder(source)) {
      if (await isFolder(target)) await moveInto(source, target);
      else if (!(await stat(target).then(() => true, () => false))) await rename(source, target);
    } else if (!(await stat(target).then(() => true, () => false))) {
      await rename(source, target);
    }
  }
}
