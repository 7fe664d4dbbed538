import type { Command } from 'commander';
import { diffsStage } from '../stages/diffs.js';
import { stageCommand } from './options.js';

/** `dfdc diffs`: the diffs stage alone, its options from the stage's settings (src/stages/diffs.ts). */
export function diffsCommand(): Command {
  return stageCommand(diffsStage);
}
