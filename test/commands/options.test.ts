import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { pipelineCommand, stageCommand } from '../../src/commands/options.js';
import { indexCommand } from '../../src/commands/index-videos.js';
import { runCommand } from '../../src/commands/run.js';
import type { Stage } from '../../src/run/stage.js';
import { cropsStage } from '../../src/stages/crops.js';
import { detectStage } from '../../src/stages/detect.js';
import { diffsStage } from '../../src/stages/diffs.js';
import { foldsStage } from '../../src/stages/folds.js';
import { landmarksStage } from '../../src/stages/landmarks.js';
import { option, positiveNumber } from '../../src/util/options.js';

/**
 * A stage's options come from its settings schema alone: a field added there shows its flag, help
 * and default in `dfdc <stage> --help` and `dfdc run --help`; two stages cannot claim one flag.
 */

function withSetting(stage: Stage, key: string, schema: z.ZodType): Stage {
  return { ...stage, settings: z.object({ ...stage.settings.shape, [key]: schema }) } as Stage;
}

const help = (command: { helpInformation(): string }) => command.helpInformation().replace(/\s+/g, ' ');

test('a setting added to a stage appears, with its help and default, in the stage command and in dfdc run', () => {
  const blur = option(positiveNumber().default(1.5), { help: 'blur the frames by this sigma before MTCNN', value: 'sigma' });
  const detect = withSetting(detectStage, 'blurSigma', blur);
  assert.match(help(stageCommand(detect)), /--blur-sigma <sigma> blur the frames by this sigma before MTCNN \(default: 1\.5\)/);
  assert.match(help(pipelineCommand('run', 'test', [detect, cropsStage], {}, () => ({}))), /--blur-sigma <sigma> blur the frames by this sigma before MTCNN \(default: 1\.5\)/);
});

test('two stages with a setting of the same name must give one a run flag', () => {
  const clash = withSetting(cropsStage, 'minFaceSize', option(positiveNumber().default(20), { help: 'smallest face' }));
  assert.throws(() => pipelineCommand('run', 'test', [detectStage, clash], {}, () => ({})), /crops\.minFaceSize and detect\.minFaceSize both want --min-face-size; give one a runFlag/);
  const named = withSetting(cropsStage, 'minFaceSize', option(positiveNumber().default(20), { help: 'smallest face', runFlag: '--crop-min-face-size' }));
  assert.match(help(pipelineCommand('run', 'test', [detectStage, named], {}, () => ({}))), /--crop-min-face-size <value> smallest face \(default: 20\)/);
});

test("today's flags keep their names: stage 3's thresholds under --landmark-thresholds in dfdc run, folds' --parts under --total-parts", () => {
  const landmarks = help(stageCommand(landmarksStage));
  assert.match(landmarks, /--thresholds <a,b,c> P-Net, R-Net, O-Net face thresholds of stage 3 \(dfdc run calls it --landmark-thresholds\) \(default: 0\.65,0\.75,0\.75\)/);
  // The stage's own command names the flag dfdc run gives it: `dfdc folds --total-parts` is refused.
  assert.match(help(stageCommand(foldsStage)), /--parts <n> number of parts P of the full data set; part numbers must be 0\.\.P-1 \(dfdc run calls it --total-parts\) \(default: 50\)/);
  const run = help(runCommand());
  assert.match(run, /--thresholds <a,b,c> P-Net, R-Net, O-Net face thresholds \(default: 0\.85,0\.95,0\.95\)/);
  assert.match(run, /--landmark-thresholds <a,b,c> P-Net, R-Net, O-Net face thresholds of stage 3 \(default: 0\.65,0\.75,0\.75\)/);
  assert.match(run, /--total-parts <n> number of parts P of the full data set; part numbers must be 0\.\.P-1 \(default: 50\)/);
  assert.match(run, /--all-frames detect every frame/);
  assert.doesNotMatch(run, /--every /, 'dfdc run sets the frame step itself');
});

test('--workers says what it sets for each command: MTCNN engines, videos cut at once, SSIM threads; dfdc run names the stage of each', () => {
  assert.match(help(stageCommand(landmarksStage)), /--workers <n> worker threads, one MTCNN engine each \(default:/);
  assert.match(help(stageCommand(cropsStage)), /--workers <n> videos cut at once, each by its own ffmpeg \(default:/);
  assert.match(help(stageCommand(diffsStage)), /--workers <n> worker threads computing the SSIM diff masks \(default:/);
  assert.match(help(runCommand()), /--workers <n> detect, landmarks: worker threads, one MTCNN engine each; crops: videos cut at once, each by its own ffmpeg; diffs: worker threads computing the SSIM diff masks \(default:/);
});

test('dfdc index takes no --output-dir: it writes nothing but its CSV', () => {
  assert.doesNotMatch(help(indexCommand()), /--output-dir/);
});
