/**
 * Every exit code dfdc uses, in one place (the README lists them too).
 */
export const ExitCode = {
  /** Everything asked for was done. */
  Ok: 0,
  /** The run finished, but some videos or records failed (see the run report). */
  SomeFailed: 1,
  /** Bad command line: unknown option, invalid value. Nothing was done. */
  Usage: 2,
  /** The run could not go on: ffmpeg missing, output not writable, disk full, a leak between folds. */
  Fatal: 3,
  /** Interrupted by Ctrl-C / SIGTERM; completed outputs are kept, nothing half-written is left. */
  Interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
