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
  /** The run could not go on: ffmpeg missing, output not writable, disk full, a leak between folds, outputs made with other settings. */
  Fatal: 3,
  /** Stopped by SIGHUP (the terminal or SSH session closed): 128 + 1, as a shell reports it. */
  HungUp: 129,
  /** Interrupted by Ctrl-C (SIGINT); completed outputs are kept, nothing half-written is left. */
  Interrupted: 130,
  /** Stopped by SIGTERM (a scheduler's preemption or time limit, a pod eviction): 128 + 15. */
  Terminated: 143,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code of a run stopped by a signal. */
export const signalExitCode = { SIGHUP: ExitCode.HungUp, SIGINT: ExitCode.Interrupted, SIGTERM: ExitCode.Terminated } as const;
export type StopSignal = keyof typeof signalExitCode;
