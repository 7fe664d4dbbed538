import { accessSync, constants, createWriteStream, existsSync, fstatSync, lstatSync, open as openCallback, readdirSync, readFileSync, readlinkSync, realpathSync, type Stats, statSync } from 'node:fs';
import { isatty } from 'node:tty';
import { chmod, chown } from 'node:fs/promises';
import { Socket } from 'node:net';
import { dirname, resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { removeStaleTemporaries, writeAtomicWith } from './atomic-write.js';
import { FatalError, UsageError, userFileFailure } from './errors.js';

/**
 * The files a user names with `--out` (dfdc folds, index, report): a regular file is replaced
 * whole through util/atomic-write.ts; what is not a regular file (a device, a FIFO, `>(gzip)`,
 * the standard output) is written into as it is, since a rename would replace it. What a user
 * would not want written is refused first: a name that ends in `/`, a file the data set is read
 * from, a file read-only for this user, a descriptor dfdc itself holds.
 */

/** fs.open giving the bare descriptor (a FileHandle would close it again when collected). */
const openFd = promisify(openCallback);

export type Chunks = Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>;

/** What writeUserFile may be told. */
export interface UserFileOptions {
  /** Stops the write (a run's Ctrl-C or SIGTERM); without it, the write stops on those signals itself. */
  readonly signal?: AbortSignal | undefined;
  /** Where to say that a FIFO waits for its reader (default: standard error). */
  readonly tell?: ((line: string) => void) | undefined;
  /** Files the data set was read from (a manifest, split files), which the write refuses to replace. */
  readonly inputs?: readonly string[] | undefined;
  /** A file name to suggest when the path names a folder (`videos.csv`). */
  readonly example?: string | undefined;
}

/**
 * The checks that need no writing, for a command to make before its work: `path` as an absolute
 * path, or a UsageError when it names a folder (`results/`) or a file the data set is read from.
 */
export function checkUserFile(path: string, flag: string, inputs: readonly string[] = [], example?: string): string {
  // resolve() would drop the slash of `results/` and write a file named `results`.
  if (/(^|\/)\.{0,2}$/.test(path)) throw new UsageError(`${flag} ${path} names a folder: give a file name${example ? ` such as ${example}` : ''}`);
  const absolute = resolve(path);
  refuseInputTarget(absolute, flag, path, inputs);
  return absolute;
}

/**
 * Writes `chunks` to a file the user named: a regular file (or one not there yet) atomically,
 * through symbolic links, so that a link stays a link and the file it names is written; its
 * permissions (and group) are kept, from the first byte of the temporary. Anything else is
 * written into as it is, appended to; a pipe without blocking a thread, so that Ctrl-C or a
 * scheduler's SIGTERM stops the write even while no one reads it. A failure is a FatalError
 * naming `flag` and a fix that works for it; a stop is the signal's reason, as it is (or, without
 * `signal`, the signal's own end of the process, the temporary removed first).
 */
export async function writeUserFile(path: string, flag: string, chunks: Chunks, options: UserFileOptions = {}): Promise<void> {
  const absolute = checkUserFile(path, flag, options.inputs, options.example);
  const descriptor = openFileDescriptor(absolute);
  if (descriptor !== undefined) refuseDescriptor(descriptor, flag, path);
  await stoppedBySignals(options.signal, async (signal) => {
    let refused: FatalError | undefined;
    try {
      const info = statSync(absolute, { throwIfNoEntry: false });
      if (info?.isFIFO()) {
        await writePipe(absolute, descriptor, flag, path, chunks, { ...options, signal });
      } else if ((info && !info.isFile()) || descriptor !== undefined) {
        await appendTo(absolute, descriptor, chunks, signal);
      } else {
        const target = info ? realpathSync(absolute) : throughLinks(absolute);
        const kept = info ? statSync(target) : undefined;
        refused = kept && readOnlyRefusal(target, kept, flag, path);
        if (refused) throw refused;
        // Left by a writer that was killed long ago (a young one may be another process's, writing).
        await removeStaleTemporaries(target).catch(() => undefined);
        await writeAtomicWith(target, async (temporary) => {
          // `wx`: a temporary's name is this process's own; never another's, half-written, taken over.
          await pipeline(Readable.from(chunks), createWriteStream(temporary, { flags: 'wx', ...(kept ? { mode: kept.mode & 0o777 } : {}) }), { signal });
          // The file replaced keeps its permissions (a group-writable folds.csv a team shares, a
          // private one) and its group; under root its owner too. A hard link gets a new inode.
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
 * Whether `path` names what the standard output is (/dev/stdout, a link to it, `5>&1`'s
 * /dev/fd/5, the very file `>` opened): a CSV written there would mix with what dfdc prints.
 */
export function sharesStandardOutput(path: string): boolean {
  if (openFileDescriptor(resolve(path)) === 1) return true;
  try {
    const out = fstatSync(1);
    const named = statSync(path);
    if (named.isCharacterDevice() && named.rdev === statSync('/dev/null').rdev) return false; // nothing is kept of either
    if (out.dev === named.dev && out.ino === named.ino) return true;
    // A terminal: /dev/tty is the one the standard output is (/dev/pts/N), by another name.
    return out.isCharacterDevice() && named.isCharacterDevice() && (out.rdev === named.rdev || (resolve(path) === '/dev/tty' && isatty(1)));
  } catch {
    return false;
  }
}

/** Whether `path` is where a user's file may go: anything but a regular file, or a path naming an open file, is written into. */
export function isSpecialTarget(path: string): boolean {
  const absolute = resolve(path);
  try {
    const info = statSync(absolute, { throwIfNoEntry: false });
    return (info !== undefined && !info.isFile()) || openFileDescriptor(absolute) !== undefined;
  } catch {
    return false;
  }
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

/** Files a data set or a run is made of: a typo in --out must not turn one into a CSV. */
const INPUT_FILE = /(^|\/)(metadata\.json|dataset\.json|List_of_testing_videos\.txt|(run|dfdc)-report[^/]*\.json)$|\.(mp4|avi|mov|mkv|webm)$|\/\.run-state\//i;

function refuseInputTarget(absolute: string, flag: string, given: string, inputs: readonly string[]): void {
  const target = realpathOrSelf(absolute);
  const named = inputs.some((input) => input === target || input === absolute || realpathOrSelf(input) === target);
  if ((named || INPUT_FILE.test(target)) && statSync(target, { throwIfNoEntry: false })?.isFile()) {
    throw new UsageError(`${flag} ${given} is ${target === absolute ? 'an input' : `${target}, an input`} of dfdc (a data set list, a video, or a run's report or state): give another file`);
  }
}

function realpathOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path; // not there yet (or a loop: the write reports it)
  }
}

/** The sticky bit of a folder's mode (S_ISVTX, which node:fs does not export). */
const STICKY = 0o1000;

/** A file made read-only (chmod a-w, or another user's) is not replaced behind its owner's back, as `cp` would not. */
function readOnlyRefusal(target: string, info: Stats, flag: string, given: string): FatalError | undefined {
  const uid = process.getuid?.();
  // In a sticky folder (/tmp, a shared scratch) only a file's owner may rename over it.
  const folder = statSync(dirname(target), { throwIfNoEntry: false });
  if (uid !== undefined && uid !== 0 && info.uid !== uid && folder && (folder.mode & STICKY) !== 0 && folder.uid !== uid) {
    return new FatalError(`${flag} ${given} belongs to another user, in a folder where only a file's owner may replace it (sticky, as /tmp): give another file, then rerun`);
  }
  try {
    accessSync(target, constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') return undefined;
    const own = info.uid === uid;
    return new FatalError(
      `${flag} ${given} is read-only for this user${own ? '' : ' (it belongs to another)'}: ${own ? `make it writable (chmod u+w ${target})` : 'ask its owner to make it writable for you'} or give another file, then rerun`,
    );
  }
}

async function keepOwnership(path: string, was: Stats): Promise<void> {
  await chmod(path, was.mode & 0o777);
  // Root keeps the owner; anyone may keep the group when a member of it (a team's shared file).
  if (process.getuid?.() === 0) await chown(path, was.uid, was.gid).catch(() => undefined);
  else if (was.gid !== process.getgid?.()) await chown(path, -1, was.gid).catch(() => undefined);
}

/** `path`, then each path its chain of symbolic links leads to (at most 40: a loop ends there), even to a file not made yet. */
function* linkChain(path: string): Generator<string> {
  yield path;
  for (let hops = 0; hops < 40; hops += 1) {
    if (!lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) return;
    path = resolve(dirname(path), readlinkSync(path));
    yield path;
  }
}

/** The path a chain of symbolic links ends at, even at a file not made yet. */
function throughLinks(path: string): string {
  let last = path;
  for (const step of linkChain(path)) last = step;
  return last;
}

// --- files the shell opened: /dev/stdout, /dev/fd/N ------------------------------------------

/**
 * The descriptor that `path`, or a symbolic link on the way from it, names: /dev/stdout (1),
 * /dev/stderr (2), /dev/fd/N, /proc/self/fd/N, /proc/thread-self/fd/N, /proc/<this pid>/fd/N.
 * Such a path is whatever the shell opened (a file under `>` or `>>`, a pipe): written into, not
 * replaced. Other paths under /dev (/dev/shm) are files as any.
 */
export function openFileDescriptor(absolute: string): number | undefined {
  for (const path of linkChain(absolute)) {
    const named = descriptorNamed(path);
    if (named !== undefined) return named;
  }
  return undefined;
}

function descriptorNamed(path: string): number | undefined {
  if (path === '/dev/stdout') return 1;
  if (path === '/dev/stderr') return 2;
  const match = /^\/dev\/fd\/(\d+)$|^\/proc\/(?:self|thread-self|(\d+))\/fd\/(\d+)$/.exec(path);
  if (!match) return undefined;
  if (match[2] !== undefined && Number(match[2]) !== process.pid) return undefined;
  return Number(match[1] ?? match[3]);
}

/** A descriptor past the standard three that is not open, or is Node's own, is not the user's to write into. */
function refuseDescriptor(fd: number, flag: string, given: string): void {
  if (fd <= 2 || !existsSync('/proc/self/fd')) return;
  if (linkOf(fd) === undefined) throw new UsageError(`${flag} ${given} names descriptor ${fd}, which is not open: open it for dfdc (e.g. ${fd}>file), or give a file`);
  if (heldByDfdc(fd)) throw new UsageError(`${flag} ${given} names descriptor ${fd}, which is none the shell opened for dfdc: give a file (or open one for it, e.g. ${fd}>file)`);
}

/**
 * Whether descriptor `fd` (3 and up) is one of Node's own rather than one the shell opened
 * (`3>file`, `>(gzip)`, `3>&1`): an epoll or eventfd, or a pipe this process also reads (libuv's
 * wake-up pipes). Writing into one would crash dfdc. Known only where /proc tells (Linux).
 */
function heldByDfdc(fd: number): boolean {
  const link = linkOf(fd);
  if (link === undefined) return false;
  if (link.startsWith('anon_inode:')) return true;
  if (!link.startsWith('pipe:')) return false;
  return readdirSync('/proc/self/fd').some((other) => linkOf(Number(other)) === link && opensForReading(Number(other)));
}

/** Whether descriptor `fd` was opened for reading (O_RDONLY or O_RDWR), from /proc/self/fdinfo. */
function opensForReading(fd: number): boolean {
  try {
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    return flags !== undefined && (Number.parseInt(flags, 8) & 3) !== constants.O_WRONLY;
  } catch {
    return false;
  }
}

function linkOf(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** Reopening the shell's file fails for a standard output that is another user's (after `sudo -u`) or a socket (journald). */
function reopenRefused(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' || code === 'ENXIO';
}

/**
 * Appends to a device or a file the shell opened, opened anew where it can be; one that cannot
 * be opened again is written through the descriptor this process has.
 */
async function appendTo(absolute: string, descriptor: number | undefined, chunks: Chunks, signal: AbortSignal): Promise<void> {
  let fd: number;
  try {
    fd = await openFd(absolute, 'a');
  } catch (error) {
    if (descriptor === undefined || !reopenRefused(error)) throw error;
    return writeThrough(descriptor, chunks, signal);
  }
  await pipeline(Readable.from(chunks), createWriteStream('', { fd }), { signal });
}

/**
 * Writes through a descriptor this process has and keeps open: the standard output and error
 * through Node's own streams (which know whether theirs is a pipe, a socket or a file, and wait
 * for a slow reader), any other through a file stream.
 */
async function writeThrough(fd: number, chunks: Chunks, signal: AbortSignal): Promise<void> {
  const stream: Writable = fd === 1 ? process.stdout : fd === 2 ? process.stderr : createWriteStream('', { fd, autoClose: false });
  let failed: Error | undefined;
  const onError = (error: Error) => (failed ??= error);
  stream.on('error', onError);
  try {
    for await (const chunk of chunks) {
      if (failed) throw failed;
      if (!stream.write(chunk)) await once(stream, 'drain', { signal });
    }
    // Written out: the last write's callback comes once its bytes are with the kernel, or a stop.
    await new Promise<void>((done, fail) => {
      const stopped = () => fail(signal.reason);
      signal.addEventListener('abort', stopped, { once: true });
      stream.write('', (error) => {
        signal.removeEventListener('abort', stopped);
        if (error) fail(error);
        else done();
      });
    });
    if (failed) throw failed;
  } finally {
    stream.off('error', onError);
    if (fd > 2) stream.destroy();
  }
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
async function writePipe(absolute: string, descriptor: number | undefined, flag: string, given: string, chunks: Chunks, options: UserFileOptions & { signal: AbortSignal }): Promise<void> {
  let fd: number;
  try {
    fd = await openPipe(absolute, flag, given, options);
  } catch (error) {
    if (descriptor === undefined || !reopenRefused(error)) throw error;
    return writeThrough(descriptor, chunks, options.signal);
  }
  // The socket owns the descriptor from here on and closes it however the write ends.
  await pipeline(Readable.from(chunks), new Socket({ fd, readable: false, writable: true }), { signal: options.signal });
}
