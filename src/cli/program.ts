import { Command } from 'commander';
import { packageVersion } from '../util/package-root.js';
import { cropsCommand } from '../commands/crops.js';
import { detectCommand } from '../commands/detect.js';
import { diffsCommand } from '../commands/diffs.js';
import { facesCommand } from '../commands/faces.js';
import { foldsCommand } from '../commands/folds.js';
import { indexCommand } from '../commands/index-videos.js';
import { landmarksCommand } from '../commands/landmarks.js';
import { reportCommand } from '../commands/report.js';
import { runCommand } from '../commands/run.js';

/**
 * Builds the `dfdc` command line. This file only wires commands: each lives in src/commands/<name>.ts
 * and exports a function that returns its commander Command.
 */
export interface ProgramContext {
  /** Which ffmpeg a run would use, for the help text (found only when help is asked for). */
  ffmpeg?: string;
  /** Which MTCNN engine `--backend auto` would use here, for the help text. */
  engine?: string;
}

export function buildProgram(context: ProgramContext = {}): Command {
  const program = new Command('dfdc')
    .description(
      "Data preparation for the Deepfake Detection Challenge winner's training: MTCNN face boxes, crops, landmarks, SSIM diff masks and folds, faithful to the reference scripts.",
    )
    .version(packageVersion)
    .showHelpAfterError('(dfdc --help lists the commands)')
    // commander's own errors (unknown option, missing value) start as dfdc's do.
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'dfdc: ')) })
    .exitOverride()
    .addHelpText(
      'after',
      [
        '',
        'Each command has its own --help listing every option with its default.',
        'Quick start: dfdc run --root-dir DATA_ROOT --output-dir OUT (README.md explains every stage).',
        '',
        `ffmpeg: ${context.ffmpeg ?? 'FFMPEG_PATH, else the static build from the @ffmpeg-installer npm package (Linux x64) or ffmpeg on PATH'}`,
        `MTCNN engine (--backend auto): ${context.engine ?? 'native (ONNX Runtime, where onnxruntime-node loads), else wasm'}`,
        'Exit codes: 0 done; 1 some videos or records failed (see run-report.json); 2 bad command line;',
        '            3 the run could not go on (ffmpeg missing, output not writable, disk full, fold leak,',
        '              outputs made with other settings: --force redoes them);',
        '            130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (units in progress stopped, report written).',
      ].join('\n'),
    );
  // Commands are registered here, one line each (register(program, xCommand())), only once they work.
  register(program, runCommand());
  register(program, detectCommand());
  register(program, cropsCommand());
  register(program, landmarksCommand());
  register(program, diffsCommand());
  register(program, foldsCommand());
  register(program, reportCommand());
  register(program, indexCommand());
  register(program, facesCommand());
  return program;
}

/** Adds a subcommand that behaves like the program: one-line errors, exit codes from handle-error. */
function register(program: Command, command: Command): void {
  program.addCommand(command.copyInheritedSettings(program).showHelpAfterError(`(dfdc ${command.name()} --help lists every option)`));
}
