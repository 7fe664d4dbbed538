import type { Command } from 'commander';
import { detectStage } from '../stages/detect.js';
import { stageCommand } from './options.js';

/** `dfdc detect`: the detect stage alone, its options from the stage's settings (src/stages/detect.ts). */
export function detectCommand(): Command {
  return stageCommand(detectStage);
}
