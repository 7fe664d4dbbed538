import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { locateFfmpeg, locateFfprobe } from '../../src/video/ffmpeg-binaries.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { listFiles } from '../helpers/compare-images.js';
import { writeDataRoot } from '../helpers/data-root.js';
import { sampleRoot } from '../helpers/shared.js';

/**
 * The processes of the crops stage, seen through FFPROBE_PATH and FFMPEG_PATH wrappers that log
 * each run: each video is probed once (a REAL's probe is shared by its own decoding and by the
 * size check of each of its FAKEs; each ffprobe is a process whose start alone costs a tenth of a
 * clip's decoding), and each decoder is told its threads, within the run's workers.
 */
test('dfdc crops probes each video once, not once more for the original of its FAKEs, without ffprobe for plain MP4s, and sets decoder threads', async () => {
  const scratch = scratchDir('crops-probes');
  const part = join(sampleRoot, 'dfdc_train_part_0');
  const root = join(scratch, 'root');
  await writeDataRoot(root, [
    { part: 0, name: 'real.mp4', label: 'REAL', source: join(part, 'real_a.mp4') },
    { part: 0, name: 'fake1.mp4', label: 'FAKE', original: 'real.mp4', source: join(part, 'fake_a_blur.mp4') },
    { part: 0, name: 'fake2.mp4', label: 'FAKE', original: 'real.mp4', source: join(part, 'fake_a_hue.mp4') },
  ]);
  const out = join(scratch, 'out');
  await mkdir(join(out, 'boxes'), { recursive: true });
  // Half-size boxes, as stage 1 writes them, in frames 0 and 10 of the 640x360 clip.
  writeFileSync(join(out, 'boxes', 'real.json'), JSON.stringify({ 0: [[100, 40, 160, 110]], 10: [[100, 40, 160, 110]] }));

  const { ffmpegPath } = await locateFfmpeg();
  const ffprobePath = await locateFfprobe();
  const wrap = (name: string, target: string) => {
    const wrapper = join(scratch, name);
    writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${wrapper}.log'\necho "$OPENBLAS_NUM_THREADS" >> '${wrapper}.env'\nexec '${target}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    writeFileSync(`${wrapper}.log`, '');
    return wrapper;
  };
  // ffprobe itself (these plain MP4 files are otherwise probed in-process: see below).
  const env = { FFPROBE_PATH: wrap('ffprobe', ffprobePath), FFMPEG_PATH: wrap('ffmpeg', ffmpegPath), DFDC_MP4_PROBE: '0' };
  const runs = (name: string) =>
    readFileSync(join(scratch, `${name}.log`), 'utf8')
      .split('\n')
      .filter((line) => line !== '' && line !== '-version');

  const run = runCli(['crops', '--root-dir', root, '--output-dir', out, '--workers', '2', '--quiet'], { env });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(listFiles(join(out, 'crops')), ['fake1/0_0.png', 'fake1/10_0.png', 'fake2/0_0.png', 'fake2/10_0.png', 'real/0_0.png', 'real/10_0.png']);
  const probed = runs('ffprobe').map((line) => line.split(' ').at(-1)!.split('/').at(-1)).sort();
  assert.deepEqual(probed, ['fake1.mp4', 'fake2.mp4', 'real.mp4']);
  const decodes = runs('ffmpeg');
  assert.equal(decodes.length, 3, decodes.join('\n'));
  for (const line of decodes) {
    // The decoder's option comes before the input it is for; one or two threads on two workers.
    const match = / -threads (\d+) -i /.exec(line);
    assert.ok(match && ['1', '2'].includes(match[1]!), line);
  }
  // Each starts with OpenBLAS (which Debian's ffmpeg links) on one thread, not one per CPU.
  for (const name of ['ffmpeg', 'ffprobe']) assert.deepEqual([...new Set(readFileSync(join(scratch, `${name}.env`), 'utf8').trim().split('\n'))], ['1']);

  // By default the same files are probed in-process (src/video/mp4-probe.ts): no ffprobe at all,
  // not even asked for its -version (it is looked up only when a file needs it).
  writeFileSync(join(scratch, 'ffprobe.log'), '');
  const again = runCli(['crops', '--root-dir', root, '--output-dir', out, '--workers', '2', '--quiet', '--force'], { env: { ...env, DFDC_MP4_PROBE: '' } });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(readFileSync(join(scratch, 'ffprobe.log'), 'utf8'), '');
});
