import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let counter = 0;

/** A temporary name beside `path`, unique to this process and call, that stage globs never match. */
export function temporaryPathFor(path: string): string {
  counter += 1;
  return join(dirname(path), `.${basename(path)}.${process.pid}.${counter}.tmp`);
}

/**
 * Writes `data` to `path` so that `path` is either absent, its old content, or the whole new content:
 * never half-written. The data goes to a temporary name in the same folder, then is renamed into place.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = temporaryPathFor(path);
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Like writeFileAtomic, for writers that want a path (sharp's toFile): `write` receives the temporary
 * path, and the result is renamed into place only when it resolves.
 */
export async function writeAtomicWith(path: string, write: (temporaryPath: string) => Promise<unknown>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = temporaryPathFor(path);
  try {
    await write(temporary);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Removes the temporary files a killed process left for `path` (`.<name>.<pid>.<n>.tmp` beside it).
 * Call it only for a path this process owns (a unit it is about to redo, its own report), since
 * another live process may be writing its own temporary beside a shared file.
 */
export async function removeStaleTemporaries(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter((name) => name.startsWith(prefix) && name.endsWith('.tmp')).map((name) => rm(join(dir, name), { force: true })));
}
