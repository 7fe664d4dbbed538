import { Command } from 'commander';
import { packageVersion } from '../util/package-root.js';

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
  // Commands are registered here, one line each, only once they work.
  return program;
}
