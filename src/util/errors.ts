import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ZodError } from 'zod';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { temporaryTarget } from './file-names.js';

/**
 * The three kinds of error dfdc shows a user, and the one place that turns any error into one of
 * them, into a message for another thread, and back (docs/completion.md, "Errors"):
 *
 * - UnitError: one unit of work (a video, a FAKE) failed. It is reported with the file at fault
 *   and a fix; the run goes on and exits 1.
 * - FatalError: the run cannot go on (a full disk, an output folder that is read-only or not
 *   permitted, ffmpeg missing, a backend that cannot load). The run stops once and exits 3.
 * - UsageError: a bad command line or option value. Nothing is done; exit 2.
 *
 * Every message is one line: it names the file or option, what is wrong and what to do.
 */
export abstract class DfdcError extends Error {
  abstract readonly exitCode: ExitCodeValue;
  constructor(message: string, options?: { cause?: unknown }) {
    super(oneLine(message), options);
  }
}

/**
 * How a broken input made by an earlier stage is repaired: deleted, then made again by `stage`
 * (`rerun dfdc detect, which detects that video's faces again`).
 */
export interface Remedy {
  readonly stage: string;
  /** What that stage's rerun does for it: `detects that video's faces again`. */
  readonly does: string;
}

/** One unit of work failed; `file` is the file at fault (a video, a crop, a boxes file), when known. */
export class UnitError extends DfdcError {
  readonly exitCode = ExitCode.SomeFailed;
  readonly file: string | undefined;
  readonly remedy: Remedy | undefined;
  private readonly problem: string;
  constructor(message: string, options?: { cause?: unknown; file?: string; remedy?: Remedy }) {
    super(options?.remedy ? `${message}: ${remedyText(options.remedy, `dfdc ${options.remedy.stage}`)}` : message, options);
    this.name = 'UnitError';
    this.file = options?.file;
    this.remedy = options?.remedy;
    this.problem = message;
  }

  /** The message with the remedy's stage run as `command` (`dfdc detect --every 10`: the settings its outputs were made with). */
  messageWith(command: string): string {
    return this.remedy ? oneLine(`${this.problem}: ${remedyText(this.remedy, command)}`) : this.message;
  }
}

function remedyText(remedy: Remedy, command: string): string {
  return `delete it and rerun ${command}, which ${remedy.does}`;
}

/** The run cannot go on: stop once, exit 3. */
export class FatalError extends DfdcError {
  readonly exitCode = ExitCode.Fatal;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FatalError';
  }
}

/** A bad option or argument: exit code 2, nothing done. */
export class UsageError extends DfdcError {
  readonly exitCode = ExitCode.Usage;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The message of anything thrown, without a stack, on one line. */
export function messageOf(error: unknown): string {
  return oneLine(error instanceof Error ? error.message : String(error));
}

/**
 * One line out of a multi-line message: libvips (through sharp) reports a failure as several lines,
 * the first naming the file and the rest repeating "system error: ..." and "write failed". Keep the
 * first line and the first system error, which together say what happened.
 */
export function oneLine(text: string): string {
  const lines = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
  if (lines.length <= 1) return lines[0] ?? '';
  const systemError = lines.find((line, i) => i > 0 && /^system error: /.test(line) && !/Unknown error/.test(line));
  return systemError && !lines[0]!.includes(systemError.slice(14)) ? `${lines[0]} (${systemError.slice(14)})` : lines[0]!;
}

/** "a.b[2]" from a zod issue path, for messages such as `--n-splits must be ...`. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** One line for all of a zod error's issues: `<path>: <message>; ...`. */
export function formatZodError(error: ZodError, describePath: (path: string) => string = (p) => p): string {
  return error.issues
    .map((issue) => {
      const where = describePath(issuePath(issue.path));
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

// --- errors of the machine rather than of a unit --------------------------------------------

/** errno codes that say the output cannot be written at all, whatever the unit. */
const diskFull = new Set(['ENOSPC', 'EDQUOT']);
const notWritable = new Set(['EROFS', 'EACCES', 'EPERM']);
/** A file where a folder should be made (or a folder where a file should be written). */
const inTheWay = new Set(['ENOTDIR', 'EEXIST', 'EISDIR']);
const tooManyFiles = new Set(['EMFILE', 'ENFILE']);
/** A file larger than the process may write (ulimit -f): every later write would fail too. */
const fileTooLarge = 'EFBIG';

/**
 * libvips (sharp) carries no errno code: it writes the C library's text, e.g. "system error: No
 * space left on device". These are the texts of the codes that matter here (glibc's strerror).
 */
const codeOfSystemText: ReadonlyArray<readonly [RegExp, string]> = [
  [/No space left on device/i, 'ENOSPC'],
  [/Disk quota exceeded/i, 'EDQUOT'],
  [/Read-only file system/i, 'EROFS'],
  [/Permission denied/i, 'EACCES'],
  [/Operation not permitted/i, 'EPERM'],
  [/Too many open files/i, 'EMFILE'],
  [/File too large/i, 'EFBIG'],
  [/No such file or directory/i, 'ENOENT'],
  // sharp's own words for an input path that is not there.
  [/Input file is missing/i, 'ENOENT'],
];

/** The errno code of an error: its own `code`, or the one its (libvips) message names. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return code;
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  return codeOfSystemText.find(([pattern]) => pattern.test(message))?.[1];
}

/**
 * A write that failed because of the machine (a full disk, a read-only or not-permitted folder,
 * too many open files) as the FatalError that stops the run, naming the folder and the fix; any
 * other error comes back unchanged. `path` is the file being written (fs errors on write() carry
 * none, and libvips errors never do).
 */
export function writeFailure(error: unknown, path: string): unknown {
  if (error instanceof DfdcError) return error;
  const code = errnoCode(error);
  if (code === undefined) return error;
  // A rename names its source, which is only dfdc's temporary: the file being written is `path`.
  const own = (error as NodeJS.ErrnoException).path;
  const where = outsideTemporaries(own === undefined || basename(own).startsWith('.') ? path : own);
  if (inTheWay.has(code)) return inTheWayFailure(code, where, error);
  // The folder named is the one written in: a file or folder could not be created, written or removed there.
  return fatalFor(code, dirname(where), where, error) ?? error;
}

/**
 * A file where a folder is needed (ENOTDIR, EEXIST) or a folder where a file is (EISDIR): the
 * message names the one in the way, the nearest part of the path that exists and is not what is
 * needed, not a file inside it.
 */
function inTheWayFailure(code: string, where: string, error: unknown): FatalError {
  let blocker = where;
  if (code !== 'EISDIR') {
    for (let dir = dirname(where); dir !== dirname(dir); dir = dirname(dir)) {
      const info = statSync(dir, { throwIfNoEntry: false });
      if (info && !info.isDirectory()) blocker = dir;
      if (info) break;
    }
  }
  const what = code === 'EISDIR' ? 'a folder where a file is needed' : 'a file where a folder is needed';
  const subject = blocker === where ? `it is ${what}` : `${blocker} is ${what}`;
  return new FatalError(`cannot write ${where}: ${subject} (${code}): move it away or give --output-dir another folder, then rerun`, { cause: error });
}

/**
 * Errors that are about the machine whatever the file (a read can never fill the disk): the
 * FatalError for them, or undefined. `outputDir` is named when the error names no file.
 * Permission errors are left to the caller, since an input that may not be read is one unit's
 * problem while an output folder that may not be written stops the run.
 */
export function machineFailure(error: unknown, outputDir: string): FatalError | undefined {
  if (error instanceof FatalError) return error;
  const code = errnoCode(error);
  if (code === undefined || !(diskFull.has(code) || code === 'EROFS' || tooManyFiles.has(code) || code === fileTooLarge)) return undefined;
  const own = (error as NodeJS.ErrnoException).path;
  const where = own === undefined ? undefined : outsideTemporaries(own);
  return fatalFor(code, where === undefined ? outputDir : dirname(where), where ?? outputDir, error);
}

/** What to do when a file named by `flag` cannot be written, by error code, where the general fix (a writable folder) would not help. */
function userFileFixes(flag: string): Record<string, string> {
  return {
    EPIPE: 'the process reading it stopped before the end: let it read everything, or give a file',
    EISDIR: `it is a folder: give ${flag} a file name`,
    ENXIO: `it takes no writes (a socket, or a device without a driver): give ${flag} a file`,
    ELOOP: `its symbolic links go round in a loop: mend them, or give ${flag} another file`,
    ENAMETOOLONG: `the name is too long for the file system: give ${flag} a shorter one`,
    ENOTDIR: `a part of the path is a file, not a folder: give ${flag} a path through folders`,
  };
}

/**
 * A file the user named (`--out FILE`) that could not be written: the fix is another `--out` (or
 * room on its disk), not the `--output-dir` of a run's outputs.
 */
export function userFileFailure(error: unknown, flag: string, path: string): FatalError {
  const code = errnoCode(error instanceof FatalError && error.cause !== undefined ? error.cause : error);
  const general = `give ${flag} a file in a folder you can write`;
  const fix = code === undefined ? general : (userFileFixes(flag)[code] ?? (diskFull.has(code) ? `free some space, or give ${flag} a file on another disk` : general));
  const why = code === undefined ? messageOf(error) : `${code}${code === 'EROFS' ? ': read-only file system' : notWritable.has(code) ? ': permission denied' : diskFull.has(code) ? ': no space left' : ''}`;
  return new FatalError(`cannot write ${flag} ${path} (${why}): ${fix}, then rerun`, { cause: error });
}

function fatalFor(code: string, folder: string, where: string, error: unknown): FatalError | undefined {
  if (diskFull.has(code)) {
    return new FatalError(
      `no space left to write in ${folder} (${code}): free some space or give --output-dir a folder on another disk, then rerun (completed outputs are kept)`,
      { cause: error },
    );
  }
  if (code === 'EROFS') {
    // A read-only mount (a data set shared read-only, a container's image layer): no chmod helps.
    return new FatalError(`cannot write in ${folder} (EROFS: read-only file system): give --output-dir a folder on a writable disk (the data set may stay where it is), then rerun`, {
      cause: error,
    });
  }
  if (notWritable.has(code)) {
    return new FatalError(`cannot write in ${folder} (${code}: permission denied): make it writable for this user, or give --output-dir a writable folder, then rerun`, {
      cause: error,
    });
  }
  if (tooManyFiles.has(code)) {
    return new FatalError(`too many open files while writing ${where} (${code}): raise the limit (ulimit -n) or lower --workers, then rerun`, { cause: error });
  }
  if (code === fileTooLarge) {
    return new FatalError(`a file larger than this process may write, in ${folder} (${code}): raise the file size limit (ulimit -f), then rerun`, { cause: error });
  }
  return undefined;
}

/**
 * `path` as the user knows it: a file inside a temporary folder (a unit's crops, written together
 * then renamed into place) becomes the folder it is for, which a message can name and a user can
 * look at; the temporary itself is gone by the time the message is read.
 */
function outsideTemporaries(path: string): string {
  for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
    const target = temporaryTarget(basename(dir));
    if (target !== undefined) return join(dirname(dir), target);
  }
  return path;
}

// --- errors across threads ----------------------------------------------------------------

/** An error as a worker thread sends it: its kind, message and what the main thread needs. */
export interface ErrorMessage {
  kind: 'unit' | 'fatal' | 'usage' | 'other';
  message: string;
  code?: string;
  path?: string;
  syscall?: string;
  file?: string;
}

/** An error in a form that crosses a thread (structured clone drops classes and codes). */
export function errorToMessage(error: unknown): ErrorMessage {
  const errno = error as NodeJS.ErrnoException;
  const base = {
    message: error instanceof Error ? error.message : String(error),
    ...(typeof errno?.code === 'string' ? { code: errno.code } : {}),
    ...(typeof errno?.path === 'string' ? { path: errno.path } : {}),
    ...(typeof errno?.syscall === 'string' ? { syscall: errno.syscall } : {}),
  };
  if (error instanceof UnitError) return { kind: 'unit', ...base, ...(error.file ? { file: error.file } : {}) };
  if (error instanceof FatalError) return { kind: 'fatal', ...base };
  if (error instanceof UsageError) return { kind: 'usage', ...base };
  return { kind: 'other', ...base };
}

/** The error a worker thread sent, with its class and errno fields back. */
export function errorFromMessage(message: ErrorMessage): Error {
  switch (message.kind) {
    case 'unit':
      return new UnitError(message.message, message.file ? { file: message.file } : {});
    case 'fatal':
      return new FatalError(message.message);
    case 'usage':
      return new UsageError(message.message);
    default: {
      const error = new Error(message.message) as NodeJS.ErrnoException;
      if (message.code) error.code = message.code;
      if (message.path) error.path = message.path;
      if (message.syscall) error.syscall = message.syscall;
      return error;
    }
  }
}
