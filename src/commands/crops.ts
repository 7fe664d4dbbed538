import type { Command } from 'commander';
import { cropsStage } from '../stages/crops.js';
import { stageCommand } from './options.js';

/** `dfdc crops`: the crops stage alone, its options from the stage's settings (src/stages/crops.ts). */
export function cropsCommand(): Command {
  return stageCommand(cropsStage);
}
