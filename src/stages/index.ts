import type { Stage } from '../run/stage.js';
import { cropsStage } from './crops.js';
import { detectStage } from './detect.js';
import { diffsStage } from './diffs.js';
import { foldsStage } from './folds.js';
import { landmarksStage } from './landmarks.js';

/** The five stages in the order `dfdc run` runs them: each one's inputs are the outputs of those before it. */
export const pipelineStages: readonly Stage[] = [detectStage, cropsStage, landmarksStage, diffsStage, foldsStage];
