import type { Command } from 'commander';
import { foldsStage } from '../stages/folds.js';
import { stageCommand } from './options.js';

/** `dfdc folds`: the folds stage alone, its options from the stage's settings (src/stages/folds.ts). */
export function foldsCommand(): Command {
  return stageCommand(foldsStage);
}
