import { ZodError } from 'zod';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';

/**
 * An error whose message is fit to show a user as one line: it names the file or option and the fix.
 * Anything else that reaches the top level is a bug and is reported as such (still without a stack
 * trace unless DFDC_DEBUG is set).
 */
export class DfdcError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(message: string, exitCode: ExitCodeValue = ExitCode.Fatal, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DfdcError';
    this.exitCode = exitCode;
  }
}

/** A bad option or argument: exit code 2, nothing done. */
export class UsageError extends DfdcError {
  constructor(message: string) {
    super(message, ExitCode.Usage);
    this.name = 'UsageError';
  }
}

/** A problem with one unit of work (a video, a record): reported, skipped, the run goes on. */
export class ItemError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ItemError';
  }
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

/** One line per zod issue: `<prefix><path> <message>`. */
export function formatZodError(error: ZodError, describePath: (path: string) => string = (p) => p): string {
  return error.issues
    .map((issue) => {
      const where = describePath(issuePath(issue.path));
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** The message of anything thrown, without a stack. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
