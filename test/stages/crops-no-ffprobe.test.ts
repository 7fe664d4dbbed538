import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, scratchDir } from '../helpers/cli.js';
import { writeDataRoot } from '../helpers/data-root.js';
import { canMakeH264, makeClip, runFfmpeg } from '../video/synthetic-video.js';

/**
 * ffprobe is looked up only when a file needs it (src/video/ffmpeg-binaries.ts). A FAKE in a plain
 * H.264 MP4 is probed in-process, but the size check against its original probes the original,
 * which here needs ffprobe (MPEG-4 part 2). Without ffprobe the FAKE cannot be checked, so the run
 * stops (exit 3) before the FAKE is cropped: it must not be cropped unchecked and kept as complete,
 * which a rerun with ffprobe back would then skip. The FAKE is the larger file, so with one worker
 * it goes first.
 */
test('with no ffprobe, a FAKE whose original needs ffprobe is not cropped unchecked: the run stops, and a rerun with ffprobe refuses its other frame size', async (t) => {
  if (!(await canMakeH264(t))) return;
  const scratch = scratchDir('crops-no-ffprobe');
  const sources = join(scratch, 'sources');
  await mkdir(sources);
  await makeClip(join(sources, 'real.mp4'), { size: '160x120', seconds: 1 });
  await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25:d=2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', '5', join(sources, 'fake.mp4')]);
  const root = join(scratch, 'root');
  await writeDataRoot(root, [
    { part: 0, name: 'real.mp4', label: 'REAL', source: join(sources, 'real.mp4') },
    { part: 0, name: 'fake.mp4', label: 'FAKE', original: 'real.mp4', source: join(sources, 'fake.mp4') },
  ]);
  const out = join(scratch, 'out');
  await mkdir(join(out, 'boxes'), { recursive: true });
  writeFileSync(join(out, 'boxes', 'real.json'), JSON.stringify({ 0: [[10, 10, 40, 40]], 10: [[10, 10, 40, 40]] }));

  const broken = runCli(['crops', '--root-dir', root, '--output-dir', out, '--workers', '1', '--quiet'], { env: { FFPROBE_PATH: join(scratch, 'no-ffprobe') } });
  assert.equal(broken.status, 3, broken.stderr);
  assert.match(broken.stderr, /FFPROBE_PATH=.*no-ffprobe does not run/);
  assert.equal(existsSync(join(out, 'crops', 'fake')), false, 'the FAKE was cropped without its size check');

  const again = runCli(['crops', '--root-dir', root, '--output-dir', out, '--quiet']);
  assert.equal(again.status, 1, again.stderr);
  assert.match(again.stderr, /frame size 320x240 differs from its original's 160x120/);
  assert.equal(existsSync(join(out, 'crops', 'fake')), false);
  assert.equal(existsSync(join(out, 'crops', 'real', '0_0.png')), true);
});
