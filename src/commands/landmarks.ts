import type { Command } from 'commander';
import { landmarksStage } from '../stages/landmarks.js';
import { stageCommand } from './options.js';

/** `dfdc landmarks`: the landmarks stage alone, its options from the stage's settings (src/stages/landmarks.ts). */
export function landmarksCommand(): Command {
  return stageCommand(landmarksStage);
}
