import { Command } from 'commander';
import { packageVersion } from '../util/package-root.js';
import { cropsCommand } from '../commands/crops.js';
import { detectCommand } from '../commands/detect.js';
import { diffsCommand } from '../commands/diffs.js';
import { facesCommand } from '../commands/faces.js';
import { foldsCommand } from '../commands/folds.js';
import { landmarksCommand } from '../commands/landmarks.js';
import { runCommand } from '../commands/run.js';

/**
 * Builds the `dfdc` command line. This file only wires commands: each lives in src/commands/<name>.ts
 * and exports a function that returns its commander Command.
 */
export function buildProgram(): Command {
  const program = new Command('dfdc')
    .description(
      "Data preparation for the Deepfake Detection Challenge winner's training: MTCNN face boxes, crops, landmarks, SSIM diff masks and folds, faithful to the reference scripts.",
    )
    .version(packageVersion)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  // Commands are registered here, one line each (register(program, xCommand())), only once they work.
  register(program, runCommand());
  register(program, detectCommand());
  register(program, cropsCommand());
  register(program, landmarksCommand());
  register(program, diffsCommand());
  register(program, foldsCommand());
  register(program, facesCommand());
  return program;
}

/** Adds a subcommand that behaves like the program: one-line errors, exit codes from handle-error. */
function register(program: Command, command: Command): void {
  program.addCommand(command.copyInheritedSettings(program));
}
