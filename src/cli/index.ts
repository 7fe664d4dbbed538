#!/usr/bin/env node
import { writeSync } from 'node:fs';
import { describeAutoBackend } from '../mtcnn/engine.js';
import { ExitCode, signalExitCode } from '../util/exit-codes.js';
import { describeFfmpeg, locateFfmpeg } from '../video/ffmpeg-binaries.js';
import { buildProgram, type ProgramContext } from './program.js';
import { handleError } from './handle-error.js';

/**
 * Which ffmpeg and which MTCNN engine a run would use, shown by `dfdc --help`; looked up only when
 * the top-level help is asked for (loading the native engine to see whether it can costs ~0.1 s).
 */
async function helpContext(argv: readonly string[]): Promise<ProgramContext> {
  const args = argv.slice(2);
  const topLevelHelp = args.length === 0 || (args.length === 1 && (args[0] === '--help' || args[0] === '-h'));
  if (!topLevelHelp) return {};
  const ffmpeg = await locateFfmpeg().then(describeFfmpeg, (error: unknown) => `not found (${error instanceof Error ? error.message : String(error)})`);
  return { ffmpeg, engine: await describeAutoBackend() };
}

// A terminal or log collector that goes away (`dfdc run ... 2>&1 | head`, a closed SSH session)
// must not cost the run: writes to a closed stdout or stderr fail (EPIPE, EIO) and are dropped,
// and the work, the report and the exit code go on as usual.
// Any other failure of standard output (a full disk under `dfdc index > videos.csv`, /dev/full)
// lost what the command was for: it ends with exit 3 and one line, not 0 and an empty file.
let stdoutFailure: NodeJS.ErrnoException | undefined;
process.stderr.on('error', () => undefined);
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && error.code !== 'EIO') stdoutFailure ??= error;
});
process.on('exit', () => {
  if (!stdoutFailure) return;
  const full = stdoutFailure.code === 'ENOSPC' || stdoutFailure.code === 'EDQUOT';
  const fix = full ? 'free some space where it is redirected, or redirect it to another disk' : 'check where it is redirected';
  try {
    writeSync(2, `dfdc: cannot write standard output (${stdoutFailure.code ?? stdoutFailure.message}): what it printed is incomplete; ${fix}, then rerun\n`);
  } catch {
    // stderr gone too: the exit code still says it
  }
  process.exitCode = ExitCode.Fatal;
});

const program = buildProgram(await helpContext(process.argv));
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = handleError(error);
}
/** How long a stopped command's last writes may take before the process ends anyway. */
const STOPPED_GRACE_MS = 2000;
// Stopped by a signal: the work is stopped and cleaned up, but a write already handed to a reader
// that stopped reading (--out into a stalled pipe) would keep the process alive until a
// scheduler's SIGKILL. It gets a moment to finish, then the process ends with its exit code.
if (Object.values(signalExitCode).includes(process.exitCode as never)) setTimeout(() => process.exit(), STOPPED_GRACE_MS).unref();
