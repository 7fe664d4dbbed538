#!/usr/bin/env node
import { describeFfmpeg, locateFfmpeg } from '../video/ffmpeg-binaries.js';
import { buildProgram } from './program.js';
import { handleError } from './handle-error.js';

/** Which ffmpeg a run would use, shown by `dfdc --help`; looked up only when the top-level help is asked for. */
async function ffmpegForHelp(argv: readonly string[]): Promise<string | undefined> {
  const args = argv.slice(2);
  const topLevelHelp = args.length === 0 || (args.length === 1 && (args[0] === '--help' || args[0] === '-h'));
  if (!topLevelHelp) return undefined;
  try {
    return describeFfmpeg(await locateFfmpeg());
  } catch (error) {
    return `not found (${error instanceof Error ? error.message : String(error)})`;
  }
}

// A terminal or log collector that goes away (`dfdc run ... 2>&1 | head`, a closed SSH session)
// must not cost the run: writes to a closed stdout or stderr fail (EPIPE, EIO) and are dropped,
// and the work, the report and the exit code go on as usual.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

const program = buildProgram({ ffmpeg: await ffmpegForHelp(process.argv) });
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = handleError(error);
}
