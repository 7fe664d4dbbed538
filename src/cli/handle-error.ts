import { CommanderError } from 'commander';
import { ZodError } from 'zod';
import { DfdcError, FatalError, formatZodError, messageOf, writeFailure } from '../util/errors.js';
import { ExitCode, type ExitCodeValue } from '../util/exit-codes.js';
import { flagOf } from '../util/options.js';

/**
 * The one place a failure becomes a message and an exit code. Every command's action funnels its
 * errors here, so a user always sees one line starting `dfdc:` and never a stack trace (unless
 * DFDC_DEBUG=1, for bug reports).
 */
export function handleError(error: unknown): ExitCodeValue {
  if (error instanceof CommanderError) {
    // commander has already printed its own one-line message (or the help text).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
      return ExitCode.Ok;
    }
    return ExitCode.Usage;
  }
  if (error instanceof ZodError) {
    process.stderr.write(`dfdc: ${formatZodError(error, (path) => (path === '' ? '' : flagOf(path.split(/[.[]/)[0] ?? path)))}\n`);
    return ExitCode.Usage;
  }
  // A full disk or a folder that may not be written is the machine's problem, never a bug.
  const known = error instanceof DfdcError ? error : writeFailure(error, (error as NodeJS.ErrnoException | undefined)?.path ?? '.');
  if (known instanceof DfdcError) {
    process.stderr.write(`dfdc: ${known.message}\n`);
    debugStack(error);
    return known.exitCode;
  }
  process.stderr.write(`dfdc: ${new FatalError(`unexpected error: ${messageOf(error)} (this is a bug; rerun with DFDC_DEBUG=1 and report the trace)`).message}\n`);
  debugStack(error);
  return ExitCode.Fatal;
}

function debugStack(error: unknown): void {
  if (process.env.DFDC_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
}
