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

const program = buildProgram({ ffmpeg: await ffmpegForHelp(process.argv) });
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = handleError(error);
}
