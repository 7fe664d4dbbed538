import type { Command } from 'commander';
import { z } from 'zod';
import { FRAME_STEP } from '../dataset/output-paths.js';
import { pipelineStages } from '../stages/index.js';
import { option } from '../util/options.js';
import { pipelineCommand } from './options.js';

/**
 * `dfdc run`: the five stages in order, on one worker pool. In this pipeline mode stage 1 detects
 * only the frames the later stages use (i % 10 == 0): crops, landmarks, diffs and folds come out
 * identical, and boxes files hold only those frames. `--all-frames` writes the reference's full
 * boxes files. A shard runs stages 1 to 4 on its share; folds then run once over the whole root.
 */
const runOnly = {
  allFrames: option(z.boolean().default(false), {
    help: 'detect every frame, as the reference does, for full boxes files (the other outputs are the same either way)',
  }),
};

export function runCommand(): Command {
  return pipelineCommand(
    'run',
    'All five stages in order: detect, crops, landmarks, diffs, folds (detecting only every 10th frame unless --all-frames)',
    pipelineStages,
    runOnly,
    ({ allFrames }) => ({ detect: { every: allFrames ? '1' : String(FRAME_STEP) } }),
  );
}
