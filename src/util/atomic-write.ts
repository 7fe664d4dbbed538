import { accessSync, constants, createWriteStream, lstatSync, open as openCallback, readlinkSync, realpathSync, type Stats, statSync } from 'node:fs';
import { chmod, chown, link, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { FatalError, UsageError, userFileFailure, writeFailure } from './errors.js';
import { temporaryTarget } from './file-names.js';

/**
 * Every file dfdc writes goes through here: written under a temporary name in the same folder,
 * then renamed into place, so a file is either absent, its old content, or the whole new content,
 * never half-written. A write that fails because of the machine (a full disk, a folder that is
 * read-only or not permitted) becomes the FatalError that stops the run (util/errors.ts), here in
 * one place, whether the writer is node:fs or sharp, in the main thread or in a worker.
 */

let counter = 0;

/** fs.open giving the bare descriptor (a FileHandle would close it again when collected). */
const openFd = promisify(openCallback);

/** Bytes of the target's name kept in a temporary name, so that it stays within the 255-byte limit. */
const KEPT_NAME_BYTES = 120;

/** A temporary name beside `path`, unique to this process and call, hidden from every stage's listing. */
export function temporaryPathFor(path: string): string {
  counter += 1;
  return join(dirname(path), `.${shortened(basename(path))}.${process.pid}.${counter}.tmp`);
}


/**
 * Creates `dir` and its parents; a failure of the machine is a FatalError naming it.
 *
 * Node's recursive mkdir reports ENOENT for a folder it may not create on a read-only file system
 * (nodejs/node#47098), which would make a read-only output look like one unit's missing file. On
 * ENOENT, the first missing folder is made alone, which gives the true code (or succeeds, and the
 * rest is made again).
 */
export async function makeFolder(dir: string): Promise<void> {
  try {
    await checkKept(await mkdir(dir, { recursive: true }));
    return;
  } catch (error) {
    if (error instanceof FatalError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw writeFailure(error, dir);
  }
  let missing = dir;
  while (dirname(missing) !== missing && !(await stat(dirname(missing)).then(() => true, () => false))) missing = dirname(missing);
  try {
    await mkdir(missing);
    await checkKept(missing);
    await mkdir(dir, { recursive: true });
  } catch (error) {
    if (error instanceof FatalError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw writeFailure(error, dir);
    await mkdir(dir, { recursive: true }).catch((again: unknown) => {
      throw writeFailure(again, dir);
    });
  }
}

/**
 * Folders a run has made and writes under (the output folder, its state folder): writes make
 * whatever is missing below them, but never them again. One that is missing was moved or deleted
 * while the run went on; making it anew would split a unit's files between the old place and the
 * new, and record as complete a folder that holds only the second half.
 */
const keptFolders = new Set<string>();

/** Sets the folders (absolute, made already) writes must never make again, in this thread: a run's, replacing an earlier run's. */
export function keepFolders(dirs: Iterable<string>): void {
  keptFolders.clear();
  for (const dir of dirs) keptFolders.add(dir);
}

/** The folders keepFolders was given, for a worker thread to keep too. */
export function keptFolderList(): string[] {
  return [...keptFolders];
}

/** `created`, the first folder a recursive mkdir made: if a kept folder is it or below it, that folder had gone. */
async function checkKept(created: string | undefined): Promise<void> {
  if (created === undefined) return;
  for (const kept of keptFolders) {
    if (kept !== created && !kept.startsWith(created + sep)) continue;
    // Only what this call just made is removed: empty folders, down to the one asked for.
    await rm(created, { recursive: true, force: true }).catch(() => undefined);
    throw new FatalError(`${kept} is gone: it was moved or deleted while dfdc was writing in it; nothing more was written: put it back, or give --output-dir its new place, and rerun`);
  }
}

/** Removes a file or a whole folder if present; a folder that may not be changed is a FatalError. */
export async function removePath(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (error) {
    throw writeFailure(error, path);
  }
}

/**
 * Writes `data` to `path` so that `path` is either absent, its old content, or the whole new content:
 * never half-written. The data goes to a temporary name in the same folder, then is renamed into place.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await writeAtomicWith(path, (temporary) => writeFile(temporary, data));
}

/**
 * Writes `data` to `path` whole, as writeFileAtomic, only if no file is there: false if one is.
 * The temporary is hard-linked into place, which fails when the name exists, so of two processes
 * writing at once exactly one creates the file. Where hard links are not supported, it is renamed
 * into place when no file was seen (two writers may then both succeed).
 */
export async function writeNewFileAtomic(path: string, data: string | Uint8Array): Promise<boolean> {
  await makeFolder(dirname(path));
  const temporary = temporaryPathFor(path);
  try {
    await writeFile(temporary, data);
    try {
      await link(temporary, path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
      if (await stat(path).then(() => true, () => false)) return false;
      await rename(temporary, path);
    }
    return true;
  } catch (error) {
    throw writeFailure(error, path);
  } finally {
    await rm(temporary, { force: true }).catch(() => undefined);
  }
}

/**
 * Like writeFileAtomic, for writers that want a path (sharp's toFile): `write` receives the temporary
 * path, and the result is renamed into place only when it resolves.
 */
export async function writeAtomicWith(path: string, write: (temporaryPath: string) => Promise<unknown>): Promise<void> {
  await makeFolder(dirname(path));
  const temporary = temporaryPathFor(path);
  try {
    await write(temporary);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw writeFailure(error, path);
  }
}

/** What writeUserFile may be told. */
export interface UserFileOptions {
  /** Stops the write (a run's Ctrl-C or SIGTERM); without it, the write stops on those signals itself. */
  readonly signal?: AbortSignal | undefined;
  /** Where to say that a FIFO waits for its reader (default: standard error). */
  readonly tell?: ((line: string) => void) | undefined;
  /** Files the data set was read from (a manifest, split files), which the write refuses to replace. */
  readonly inputs?: readonly string[] | undefined;
}

/**
 * Writes `chunks` to a file the user named (`--out`): a regular file (or one not there yet)
 * atomically as above, through symbolic links, so that a link stays a link and the file it names
 * is written; its permissions are kept, from the first byte of the temporary. Anything else
 * (/dev/null, /dev/stdout, a FIFO, `>(wc -l)`) is written into as it is, appended to, since a
 * rename would replace it (as root, /dev/null itself). A pipe is written without blocking a
 * thread, so that Ctrl-C or a scheduler's SIGTERM stops the write even while no one reads it.
 * A failure is a FatalError naming `flag` and a fix that works for it; a stop is the signal's
 * reason, as it is (or, without `signal`, the signal's own end of the process, with the
 * temporary removed).
 */
export async function writeUserFile(path: string, flag: string, chunks: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>, options: UserFileOptions = {}): Promise<void> {
  refuseFolderName(path, flag);
  const absolute = resolve(path);
  refuseInputTarget(absolute, flag, path, options.inputs ?? []);
  await stoppedBySignals(options.signal, async (signal) => {
    let refused: FatalError | undefined;
    try {
      const info = statSync(absolute, { throwIfNoEntry: false });
      if (info?.isFIFO()) {
        await writePipe(absolute, flag, path, chunks, { ...options, signal });
      } else if ((info && !info.isFile()) || namesAnOpenFile(absolute)) {
        await pipeline(Readable.from(chunks), await appendStream(absolute), { signal });
      } else {
        const target = info ? realpathSync(absolute) : throughLinks(absolute);
        const kept = info ? statSync(target) : undefined;
        refused = kept && readOnlyRefusal(target, flag, path);
        if (refused) throw refused;
        // Left by a writer that was killed long ago (a young one may be another process's, writing).
        await removeStaleTemporaries(target).catch(() => undefined);
        await writeAtomicWith(target, async (temporary) => {
          await pipeline(Readable.from(chunks), createWriteStream(temporary, kept ? { mode: kept.mode & 0o777 } : {}), { signal });
          // The file replaced keeps its permissions (a group-writable folds.csv a team shares, a
          // private one), and under root its owner; a file with other hard links gets a new inode.
          if (kept) await keepOwnership(temporary, kept);
        });
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error === refused) throw error;
      throw userFileFailure(error, flag, path);
    }
  });
}

/**
 * Runs `work` with `given`, or, without one, with a signal of its own that Ctrl-C, SIGTERM and
 * SIGHUP raise (a command such as `dfdc index` that has no handler of its own): `work` stops and
 * cleans up, and then the signal ends the process as it would have (exit 128 + its number).
 */
async function stoppedBySignals(given: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  if (given) return work(given);
  const stop = new AbortController();
  let caught: NodeJS.Signals | undefined;
  const onSignal = (received: NodeJS.Signals) => {
    caught ??= received;
    stop.abort(new Error(`stopped by ${received}`));
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const each of signals) process.on(each, onSignal);
  try {
    await work(stop.signal);
  } finally {
    for (const each of signals) process.off(each, onSignal);
    // With no listener left, the signal's default action ends the process.
    if (caught) process.kill(process.pid, caught);
  }
}

/** `--out results/` names a folder: resolve() would drop the slash and write a file of that name. */
function refuseFolderName(path: string, flag: string): void {
  if (/(^|\/)\.{0,2}$/.test(path)) throw new UsageError(`${flag} ${path} names a folder: give a file name (e.g. ${join(path, 'out.csv')})`);
}

/** A file its owner made read-only (chmod a-w) is not replaced behind their back, as `cp` would not. */
function readOnlyRefusal(target: string, flag: string, given: string): FatalError | undefined {
  try {
    accessSync(target, constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') return undefined;
    return new FatalError(`${flag} ${given} is read-only for this user: make it writable (chmod u+w ${target}) or give another file, then rerun`);
  }
}

/**
 * A stream appending to a device or to a file the shell opened (/dev/stdout). Opened anew where
 * it can be; a standard output that belongs to another user (after `sudo -u`) or is a socket
 * (journald) cannot be opened again, and is written through the descriptor this process has.
 */
async function appendStream(absolute: string): Promise<Writable> {
  try {
    return createWriteStream('', { fd: await openFd(absolute, 'a') });
  } catch (error) {
    const fd = inheritedDescriptor(absolute);
    if (fd === undefined || !reopenRefused(error)) throw error;
    return createWriteStream('', { fd, autoClose: false });
  }
}

function reopenRefused(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' || code === 'ENXIO';
}

/** The descriptor /dev/stdout, /dev/stderr, /dev/fd/N or /proc/<this process>/fd/N names. */
export function inheritedDescriptor(path: string): number | undefined {
  if (path === '/dev/stdout') return 1;
  if (path === '/dev/stderr') return 2;
  const match = /^\/dev\/fd\/(\d+)$|^\/proc\/(?:self|(\d+))\/fd\/(\d+)$/.exec(path);
  if (!match) return undefined;
  if (match[2] !== undefined && Number(match[2]) !== process.pid) return undefined;
  return Number(match[1] ?? match[3]);
}

async function keepOwnership(path: string, was: Stats): Promise<void> {
  await chmod(path, was.mode & 0o777);
  if (process.getuid?.() === 0) await chown(path, was.uid, was.gid).catch(() => undefined);
}

/** How long a FIFO may go without a reader before dfdc says that it waits for one. */
const PIPE_WAIT_TOLD_MS = 1000;

/**
 * Opens a FIFO (or a pipe named by /dev/stdout) for writing once someone reads it. A plain open
 * would wait in one of libuv's threads, where no signal reaches it, and keep the process alive
 * after Ctrl-C; a non-blocking open instead fails (ENXIO) while there is no reader, and is tried
 * again every 100 ms until there is one or `signal` stops it.
 */
async function openPipe(absolute: string, flag: string, given: string, { signal, tell }: UserFileOptions): Promise<number> {
  const started = Date.now();
  let told = false;
  for (;;) {
    signal?.throwIfAborted();
    try {
      return await openFd(absolute, constants.O_WRONLY | constants.O_APPEND | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
    }
    if (!told && Date.now() - started >= PIPE_WAIT_TOLD_MS) {
      told = true;
      (tell ?? ((line) => process.stderr.write(`dfdc: ${line}\n`)))(`${flag} ${given} is a FIFO that no process reads: waiting for a reader (start it, e.g. cat ${given}; Ctrl-C stops)`);
    }
    await sleep(100, undefined, signal ? { signal } : {});
  }
}

/**
 * Writes into a FIFO or a pipe once it has a reader, through libuv's stream handle (non-blocking,
 * with back-pressure), then closes it. A pipe of the shell's that cannot be opened again (another
 * user's) is written through this process's own descriptor instead.
 */
async function writePipe(absolute: string, flag: string, given: string, chunks: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>, options: UserFileOptions & { signal: AbortSignal }): Promise<void> {
  let fd: number;
  try {
    fd = await openPipe(absolute, flag, given, options);
  } catch (error) {
    const inherited = inheritedDescriptor(absolute);
    if (inherited === undefined || !reopenRefused(error)) throw error;
    await pipeline(Readable.from(chunks), createWriteStream('', { fd: inherited, autoClose: false }), { signal: options.signal });
    return;
  }
  // The socket owns the descriptor from here on and closes it however the write ends.
  await pipeline(Readable.from(chunks), new Socket({ fd, readable: false, writable: true }), { signal: options.signal });
}

/** Files a data set or a run is made of: a typo in --out must not turn one into a CSV. */
const INPUT_FILE = /(^|\/)(metadata\.json|dataset\.json|List_of_testing_videos\.txt|(run|dfdc)-report[^/]*\.json)$|\.(mp4|avi|mov|mkv|webm)$|\/\.run-state\//i;

function refuseInputTarget(absolute: string, flag: string, given: string, inputs: readonly string[]): void {
  let target = absolute;
  try {
    target = realpathSync(absolute);
  } catch {
    // not there yet (or a loop: the write reports it)
  }
  const named = inputs.some((input) => input === target || input === absolute || realpathOrSelf(input) === target);
  if ((named || INPUT_FILE.test(target)) && statSync(target, { throwIfNoEntry: false })?.isFile()) {
    throw new UsageError(`${flag} ${given} is ${target === absolute ? 'an input' : `${target}, an input`} of dfdc (a data set list, a video, or a run's report or state): give another file`);
  }
}

function realpathOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * /dev/stdout, /dev/fd/N and /proc/<pid>/fd/N name whatever the shell opened (a file under `>` or
 * `>>`, a pipe): written into, not replaced. Other paths under /dev (/dev/shm) are files as any.
 */
export function namesAnOpenFile(path: string): boolean {
  return /^\/dev\/(stdout|stderr|fd\/\d+)$|^\/proc\/(self|\d+)\/fd\/\d+$/.test(path);
}

/** Whether `path` is where a user's file may go: anything but a regular file, or a path naming an open file, is written into. */
export function isSpecialTarget(path: string): boolean {
  const absolute = resolve(path);
  try {
    const info = statSync(absolute, { throwIfNoEntry: false });
    return (info !== undefined && !info.isFile()) || namesAnOpenFile(absolute);
  } catch {
    return false;
  }
}

/** The path a chain of symbolic links ends at, even at a file not made yet. */
function throughLinks(path: string): string {
  for (let hops = 0; hops < 40; hops += 1) {
    const info = lstatSync(path, { throwIfNoEntry: false });
    if (!info?.isSymbolicLink()) return path;
    path = resolve(dirname(path), readlinkSync(path));
  }
  return path;
}

function shortened(name: string): string {
  return Buffer.byteLength(name) > KEPT_NAME_BYTES ? Buffer.from(name).subarray(0, KEPT_NAME_BYTES).toString('utf8').replace(/\uFFFD+$/, '') : name;
}

/**
 * The temporaries of one folder, from one listing, by the file they were for: so that a stage can
 * clear what killed writers left beside the files it redoes without listing a shared folder such
 * as boxes/ once per file (100,000 listings of a 19,000-name folder at DFDC's size).
 */
export class TemporaryIndex {
  private constructor(private readonly byTarget: ReadonlyMap<string, readonly string[]>) {}

  static async of(dir: string): Promise<TemporaryIndex> {
    const byTarget = new Map<string, string[]>();
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch {
      // an absent folder holds no temporaries
    }
    for (const name of names) {
      const target = temporaryTarget(name);
      if (target === undefined) continue;
      const list = byTarget.get(target);
      if (list) list.push(join(dir, name));
      else byTarget.set(target, [join(dir, name)]);
    }
    return new TemporaryIndex(byTarget);
  }

  /** The temporaries left for `path` (a file of the listed folder). */
  of(path: string): readonly string[] {
    return this.byTarget.get(shortened(basename(path))) ?? [];
  }
}

/**
 * Removes what killed writers left for `path`: temporary files, and the staging folders of folder
 * outputs (a unit's crops, with whatever PNGs it had made). Call it only for a path this process
 * owns (its report, a unit it redoes).
 */
export async function removeTemporariesOf(path: string, index?: TemporaryIndex): Promise<void> {
  const temporaries = (index ?? (await TemporaryIndex.of(dirname(path)))).of(path);
  await Promise.all(temporaries.map((temporary) => rm(temporary, { recursive: true, force: true }).catch(() => undefined)));
}

/**
 * How old a temporary must be before removeStaleTemporaries removes it. A write takes
 * milliseconds; a temporary this old was left by a process that was killed. Younger ones may
 * belong to a live process that writes the same shared file (another shard), so they stay.
 */
export const STALE_TEMPORARY_MS = 15 * 60 * 1000;

/** Removes the old temporaries killed processes left beside a file that several processes share. */
export async function removeStaleTemporaries(path: string, now = Date.now()): Promise<void> {
  for (const temporary of (await TemporaryIndex.of(dirname(path))).of(path)) {
    const info = await stat(temporary).catch(() => undefined);
    if (info && now - info.mtimeMs >= STALE_TEMPORARY_MS) await rm(temporary, { force: true }).catch(() => undefined);
  }
}
