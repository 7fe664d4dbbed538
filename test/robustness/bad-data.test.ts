import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { parseBoxes } from '../../src/dataset/boxes-file.js';
import type { ReportFile } from '../../src/run/report.js';
import { locateFfmpeg, locateFfprobe } from '../../src/video/ffmpeg-binaries.js';
import { cliEnvironment, cliPath, runCli, scratchDir } from '../helpers/cli.js';
import {
  oneFrameMp4,
  sampleRoot,
  textFileMp4,
  tinyMp4,
  truncatedMp4Partial,
  truncatedMp4Unopenable,
  variableFrameRateMp4,
  zeroByteMp4,
} from '../helpers/bad-inputs.js';
import { writeDataRoot } from '../helpers/data-root.js';

/**
 * What real data sets throw at a run: every broken input gets one line naming its file and the
 * problem, a place in the run report, and a non-zero exit code, while every good video's outputs
 * are complete.
 */
const scratch = scratchDir('bad-data');
const root = join(scratch, 'root');
const out = join(scratch, 'out');
const sources = join(scratch, 'sources');
const realA = join(sampleRoot, 'dfdc_train_part_0', 'real_a.mp4');
const fakeA = join(sampleRoot, 'dfdc_train_part_0', 'fake_a_blur.mp4');
const noface = join(sampleRoot, 'dfdc_train_part_0', 'noface.mp4');
let run: ReturnType<typeof runCli>;
let report: ReportFile;
let partialFrames = 0;

before(async () => {
  await mkdir(sources, { recursive: true });
  const partial = await truncatedMp4Partial(sources);
  partialFrames = partial.fullFrames;
  await writeDataRoot(
    root,
    [
      { part: 0, name: 'good.mp4', label: 'REAL', source: realA },
      { part: 0, name: 'good_fake.mp4', label: 'FAKE', original: 'good.mp4', source: fakeA },
      { part: 0, name: 'noface.mp4', label: 'REAL', source: noface },
      { part: 0, name: 'zero.mp4', label: 'REAL', source: await zeroByteMp4(sources) },
      { part: 0, name: 'text.mp4', label: 'REAL', source: await textFileMp4(sources) },
      { part: 0, name: 'cut.mp4', label: 'REAL', source: await truncatedMp4Unopenable(sources) },
      { part: 0, name: 'partial.mp4', label: 'REAL', source: partial.path },
      { part: 0, name: 'one.mp4', label: 'REAL', source: await oneFrameMp4(sources) },
      { part: 0, name: 'vfr.mp4', label: 'REAL', source: (await variableFrameRateMp4(sources)).path },
      { part: 0, name: 'missing.mp4', label: 'REAL', source: null },
      { part: 0, name: 'small_fake.mp4', label: 'FAKE', original: 'good.mp4', source: await tinyMp4(sources) },
      { part: 0, name: 'orphan.mp4', label: 'FAKE', original: 'ghost.mp4', source: fakeA },
      // Records that are wrong in themselves: a bad label and a name that leaves DATA_ROOT.
      { part: 0, name: 'badlabel.mp4', record: { label: 'real', split: 'train' } },
      { part: 0, name: '../escape.mp4', record: { label: 'REAL', split: 'train' } },
      { part: 1, name: 'never.mp4', label: 'REAL', source: realA },
    ],
    {
      rawMetadata: {
        dfdc_train_part_1: '{"never.mp4": {"label": "REAL"',
      },
    },
  );
  run = runCli(['run', '--root-dir', root, '--output-dir', out, '--all-frames', '--n-splits', '1', '--total-parts', '1']);
  report = JSON.parse(readFileSync(join(out, 'run-report.json'), 'utf8')) as ReportFile;
});

/** The lines a stage printed about one unit (`<stage>: <subject>: <reason>`). */
function linesAbout(subject: string): string[] {
  return run.stderr.split('\n').filter((line) => /^(detect|crops|landmarks|diffs): /.test(line) && line.includes(subject));
}

test('the run finishes, exits 1, and never prints a stack trace', () => {
  assert.equal(run.status, 1, run.stderr);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});

test('the good videos are processed completely', () => {
  const boxes = parseBoxes(readFileSync(join(out, 'boxes', 'good.json'), 'utf8'));
  assert.equal(boxes.size, 41);
  for (const id of ['good', 'good_fake']) assert.ok(existsSync(join(out, 'crops', id, '40_0.png')), `${id} crops`);
  assert.ok(existsSync(join(out, 'diffs', 'good_fake', '40_0_diff.png')));
  assert.ok(existsSync(join(out, 'landmarks', 'good', '40_0.npy')));
  assert.match(readFileSync(join(out, 'folds.csv'), 'utf8'), /good_fake,40_0\.png,1,good,40,0/);
});

test('a video with no face gets a boxes file of nulls and no crops', () => {
  const boxes = parseBoxes(readFileSync(join(out, 'boxes', 'noface.json'), 'utf8'));
  assert.ok(boxes.size > 0 && [...boxes.values()].every((list) => list === null));
  assert.ok(!existsSync(join(out, 'crops', 'noface')));
});

test('a data set without a face: folds.csv is written without rows, says why, and the run succeeds (nothing waits)', async () => {
  const dir = scratchDir('no-face-at-all');
  const data = join(dir, 'root');
  await writeDataRoot(data, [
    { part: 0, name: 'r.mp4', label: 'REAL', source: noface },
    { part: 0, name: 'f.mp4', label: 'FAKE', original: 'r.mp4', source: noface },
  ]);
  const result = runCli(['run', '--root-dir', data, '--output-dir', join(dir, 'out'), '--n-splits', '1', '--total-parts', '1', '--quiet']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /folds: wrote 0 rows .* \(dfdc crops found no face to cut in the frames of any of the FAKEs and their originals\)/);
  assert.equal(readFileSync(join(dir, 'out', 'folds.csv'), 'utf8'), 'video,file,label,original,frame,fold\n');
});

const detectFailures: Array<[string, RegExp]> = [
  ['zero.mp4', /empty/i],
  ['text.mp4', /not a video|invalid data|could not|no video/i],
  ['cut.mp4', /moov atom not found|not a video|invalid data/i],
  ['missing.mp4', /file not found \(listed in metadata\.json\)/],
];
for (const [name, reason] of detectFailures) {
  test(`${name}: one line naming the file, and a failure in the report`, () => {
    const lines = linesAbout(`dfdc_train_part_0/${name}`);
    assert.equal(lines.length, 1, `expected one line about ${name}, got:\n${lines.join('\n')}`);
    assert.match(lines[0]!, reason);
    const failure = report.stages.detect?.failures.find((f) => f.subject === `dfdc_train_part_0/${name}`);
    assert.ok(failure, `${name} is not in the report's detect failures`);
    assert.ok(!existsSync(join(out, 'boxes', `${name.replace('.mp4', '')}.json`)));
  });
}

test('a video cut midway keeps the boxes of the frames that decoded and is a warning', () => {
  const boxes = parseBoxes(readFileSync(join(out, 'boxes', 'partial.json'), 'utf8'));
  assert.ok(boxes.size > 0 && boxes.size < partialFrames, `${boxes.size} frames of ${partialFrames}`);
  assert.ok(report.stages.detect?.warningList.some((w) => w.subject === 'dfdc_train_part_0/partial.mp4'));
});

test('a one-frame video and a variable-frame-rate video are keyed by their true frames', () => {
  assert.deepEqual([...parseBoxes(readFileSync(join(out, 'boxes', 'one.json'), 'utf8')).keys()], [0]);
  assert.equal(parseBoxes(readFileSync(join(out, 'boxes', 'vfr.json'), 'utf8')).size, 41);
});

test('a FAKE whose frame size differs from its original is not cropped, and says why', () => {
  const lines = linesAbout('dfdc_train_part_0/small_fake.mp4');
  assert.equal(lines.length, 1, lines.join('\n'));
  assert.match(lines[0]!, /frame size 64x48 differs from its original's 640x360/);
  assert.ok(!existsSync(join(out, 'crops', 'small_fake')));
});

test('metadata problems: one line each naming the file and the record; the rest is processed', () => {
  assert.match(run.stderr, /dfdc_train_part_1\/metadata\.json: not valid JSON/);
  assert.match(run.stderr, /dfdc_train_part_0\/metadata\.json: "badlabel\.mp4"\.label must be REAL or FAKE/);
  assert.match(run.stderr, /dfdc_train_part_0\/metadata\.json: "\.\.\/escape\.mp4" must be a plain file name/);
  assert.match(run.stderr, /"orphan\.mp4"\.original "ghost\.mp4" is not in any metadata\.json/);
  assert.equal(report.dataset.problems.length, 4);
  assert.ok(!existsSync(join(out, 'boxes', 'never.json')), 'a part whose metadata is not JSON was processed');
});

test('a second run retries the failures but not the warnings or the completed videos', () => {
  const second = runCli(['run', '--root-dir', root, '--output-dir', out, '--all-frames', '--n-splits', '1', '--total-parts', '1', '--json']);
  assert.equal(second.status, 1);
  const summary = JSON.parse(second.stdout) as ReportFile;
  assert.equal(summary.stages.detect?.done, 0);
  assert.equal(summary.stages.detect?.failed, 4);
  assert.equal(summary.stages.detect?.skipped, 5);
});

test('crop pairs of different sizes are skipped by diffs and reported', async () => {
  const sizes = scratchDir('diff-sizes');
  const crops = join(sizes, 'out', 'crops');
  await writeDataRoot(join(sizes, 'root'), [
    { part: 0, name: 'r.mp4', label: 'REAL', source: null },
    { part: 0, name: 'f.mp4', label: 'FAKE', original: 'r.mp4', source: null },
  ]);
  const png = (width: number, height: number) =>
    sharp({ create: { width, height, channels: 3, background: { r: 90, g: 120, b: 30 } } }).png().toBuffer();
  await mkdir(join(crops, 'r'), { recursive: true });
  await mkdir(join(crops, 'f'), { recursive: true });
  await writeFile(join(crops, 'r', '0_0.png'), await png(40, 50));
  await writeFile(join(crops, 'f', '0_0.png'), await png(41, 50));
  await writeFile(join(crops, 'r', '10_0.png'), await png(40, 50));
  await writeFile(join(crops, 'f', '10_0.png'), await png(40, 50));
  const diffs = runCli(['diffs', '--root-dir', join(sizes, 'root'), '--output-dir', join(sizes, 'out')]);
  assert.equal(diffs.status, 0, diffs.stderr);
  assert.match(diffs.stderr, /dfdc_train_part_0\/f\.mp4: 1 crop pair\(s\) of different sizes skipped, e\.g\. 0_0\.png \(40x50 vs 41x50\)/);
  assert.ok(existsSync(join(sizes, 'out', 'diffs', 'f', '10_0_diff.png')));
  assert.ok(!existsSync(join(sizes, 'out', 'diffs', 'f', '0_0_diff.png')));
});

test('an output folder that cannot be written stops the run once, with the fix', async () => {
  const blocked = join(scratch, 'a-file');
  await writeFile(blocked, 'x');
  const result = runCli(['detect', '--root-dir', root, '--output-dir', join(blocked, 'sub')]);
  assert.equal(result.status, 3);
  assert.equal(result.stderr.trim().split('\n').length, 1);
  assert.match(result.stderr, /^dfdc: cannot write .*a-file\/sub.*: .*a-file is a file where a folder is needed \(ENOTDIR\): move it away or give --output-dir another folder, then rerun\n$/);
});

test('a missing ffmpeg stops the run once, with the fix', () => {
  const result = runCli(['detect', '--root-dir', root, '--output-dir', join(scratch, 'no-ffmpeg')], { env: { FFMPEG_PATH: '/nonexistent/ffmpeg' } });
  assert.equal(result.status, 3);
  assert.equal(result.stderr.trim().split('\n').filter((line) => line.startsWith('dfdc:')).length, 1);
  assert.match(result.stderr, /FFMPEG_PATH=\/nonexistent\/ffmpeg does not run/);
});

/**
 * A stand-in for ffmpeg or ffprobe (FFMPEG_PATH / FFPROBE_PATH): `-version` is answered by the real
 * program (dfdc checks it before the run), anything else by the shell `body`, given the real path.
 */
async function misbehaving(dir: string, program: 'ffmpeg' | 'ffprobe', name: string, body: (real: string) => string): Promise<string> {
  const real = program === 'ffmpeg' ? (await locateFfmpeg()).ffmpegPath : await locateFfprobe();
  const script = join(dir, name);
  await writeFile(script, `#!/bin/sh\nif [ "$1" = -version ]; then exec '${real}' "$@"; fi\n${body(real)}\n`);
  await chmod(script, 0o755);
  return script;
}

/** A DFDC part with the sample's real_a as REAL r.mp4 and fake_a_blur as its FAKE f.mp4. */
async function pairRoot(dir: string): Promise<string> {
  const data = join(dir, 'root');
  await writeDataRoot(data, [
    { part: 0, name: 'r.mp4', label: 'REAL', source: realA },
    { part: 0, name: 'f.mp4', label: 'FAKE', original: 'r.mp4', source: fakeA },
  ]);
  return data;
}

/** A DFDC part with two REALs and no FAKE: the sample's real_a as r.mp4, fake_a_blur as g.mp4. */
async function twoRealsRoot(dir: string): Promise<string> {
  const data = join(dir, 'root');
  await writeDataRoot(data, [
    { part: 0, name: 'r.mp4', label: 'REAL', source: realA },
    { part: 0, name: 'g.mp4', label: 'REAL', source: fakeA },
  ]);
  return data;
}

test('an ffprobe or ffmpeg that crashes on a video fails that video, with the signal and a way past it, and keeps nothing of it', async () => {
  const dir = scratchDir('crashing-tools');
  const data = join(dir, 'root');
  await writeDataRoot(data, [{ part: 0, name: 'r.mp4', label: 'REAL', source: realA }]);
  // Crashes on any file.
  const crashing = (program: 'ffmpeg' | 'ffprobe') => misbehaving(dir, program, program, () => 'kill -SEGV $$');
  const probe = runCli(['detect', '--root-dir', data, '--output-dir', join(dir, 'probe-out'), '--quiet'], {
    env: { FFPROBE_PATH: await crashing('ffprobe'), DFDC_MP4_PROBE: '0' },
  });
  assert.equal(probe.status, 1, probe.stderr);
  assert.match(probe.stderr, /r\.mp4: ffprobe crashed with SIGSEGV on it: use another ffprobe build \(FFPROBE_PATH\), or re-encode the video/);
  const decode = runCli(['detect', '--root-dir', data, '--output-dir', join(dir, 'decode-out'), '--quiet'], { env: { FFMPEG_PATH: await crashing('ffmpeg') } });
  assert.equal(decode.status, 1, decode.stderr);
  assert.match(decode.stderr, /r\.mp4: no frame could be decoded \(ffmpeg crashed with SIGSEGV on it: use another ffmpeg build \(FFMPEG_PATH\), or re-encode the video\)/);

  // A crash after two 640x360 frames: what it delivered is no output (a truncated file's frames
  // would be, since the reference reads those too), and a rerun with a sound ffmpeg does the video.
  const midway = await misbehaving(dir, 'ffmpeg', 'ffmpeg-midway', (ffmpeg) => `'${ffmpeg}' "$@" | head -c 2000000\nkill -SEGV $$`);
  const output = join(dir, 'midway-out');
  const broken = runCli(['detect', '--root-dir', data, '--output-dir', output, '--quiet'], { env: { FFMPEG_PATH: midway } });
  assert.equal(broken.status, 1, broken.stderr);
  assert.match(broken.stderr, /r\.mp4: decoding stopped after frame 1: ffmpeg crashed with SIGSEGV on it/);
  assert.equal(existsSync(join(output, 'boxes', 'r.json')), false, 'boxes of a crashed decode were written');
  const rerun = runCli(['detect', '--root-dir', data, '--output-dir', output, '--quiet']);
  assert.equal(rerun.status, 0, rerun.stderr);
  assert.equal(parseBoxes(readFileSync(join(output, 'boxes', 'r.json'), 'utf8')).size, 41);
});

test('an ffmpeg that gives no frame for DFDC_STALL_SECONDS is stopped, and the video fails with the fix', async () => {
  const dir = scratchDir('stalled-ffmpeg');
  const data = await twoRealsRoot(dir);
  // Decodes g.mp4; on r.mp4 it hangs before its first frame, as a decoder stuck on a file would.
  const hanging = await misbehaving(dir, 'ffmpeg', 'ffmpeg', (ffmpeg) => `case "$*" in *r.mp4*) exec sleep 600;; esac\nexec '${ffmpeg}' "$@"`);
  const started = Date.now();
  const result = runCli(['detect', '--root-dir', data, '--output-dir', join(dir, 'out'), '--quiet'], { env: { FFMPEG_PATH: hanging, DFDC_STALL_SECONDS: '2' } });
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /r\.mp4: ffmpeg gave no frame for 2 s and was stopped \(a decoder stuck on this file, or storage that stopped answering\): .*raise DFDC_STALL_SECONDS, then rerun/);
  assert.ok(existsSync(join(dir, 'out', 'boxes', 'g.json')), 'the other video was not done');
  assert.ok(Date.now() - started < 60_000, 'the stalled ffmpeg held the run');
});

test('an ffmpeg whose output is cut inside a frame, or that is stopped from outside, fails the video; crops that fail leave no staging folder', async () => {
  const dir = scratchDir('cut-ffmpeg');
  const data = await pairRoot(dir);
  const output = join(dir, 'out');
  // Exit 0 after two and a half 640x360 frames: the frames so far are no output.
  const cut = await misbehaving(dir, 'ffmpeg', 'ffmpeg-cut', (ffmpeg) => `'${ffmpeg}' "$@" | head -c 2000000\nexit 0`);
  const detect = runCli(['detect', '--root-dir', data, '--output-dir', output, '--quiet'], { env: { FFMPEG_PATH: cut } });
  assert.equal(detect.status, 1, detect.stderr);
  assert.match(detect.stderr, /r\.mp4: ffmpeg's output stopped inside the frame after 1 \(.*\): nothing of it is kept; rerun/);
  assert.equal(existsSync(join(output, 'boxes', 'r.json')), false);
  const stopped = await misbehaving(dir, 'ffmpeg', 'ffmpeg-stopped', () => 'kill -TERM $$');
  const again = runCli(['detect', '--root-dir', data, '--output-dir', output, '--quiet'], { env: { FFMPEG_PATH: stopped } });
  assert.match(again.stderr, /r\.mp4: no frame could be decoded \(ffmpeg was stopped by SIGTERM from outside dfdc: rerun\)/);
  assert.equal(runCli(['detect', '--root-dir', data, '--output-dir', output, '--quiet']).status, 0);

  // Crops with an ffmpeg that crashes once some crops are being written: no unit's staging folder stays.
  const crashing = await misbehaving(dir, 'ffmpeg', 'ffmpeg-crash', (ffmpeg) => `'${ffmpeg}' "$@" | head -c 200000\nkill -SEGV $$`);
  for (let attempt = 0; attempt < 3; attempt++) {
    const crops = runCli(['crops', '--root-dir', data, '--output-dir', output, '--quiet', '--force'], { env: { FFMPEG_PATH: crashing } });
    assert.equal(crops.status, 1, crops.stderr);
    const left = existsSync(join(output, 'crops')) ? readdirSync(join(output, 'crops')).filter((entry) => entry.startsWith('.')) : [];
    assert.deepEqual(left, [], 'a staging folder was left behind');
  }

  // A sparse decode whose frames come without their showinfo lines, then an ffmpeg that never
  // closes its output: the watchdog ends both waits.
  const silent = await misbehaving(dir, 'ffmpeg', 'ffmpeg-silent', (ffmpeg) => `'${ffmpeg}' "$@" 2>/dev/null\nexec sleep 600`);
  const started = Date.now();
  const stalled = runCli(['crops', '--root-dir', data, '--output-dir', output, '--quiet', '--force'], { env: { FFMPEG_PATH: silent, DFDC_STALL_SECONDS: '2' } });
  assert.equal(stalled.status, 1, stalled.stderr);
  assert.match(stalled.stderr, /r\.mp4: ffmpeg gave no frame for 2 s and was stopped/);
  assert.ok(Date.now() - started < 60_000, 'the silent ffmpeg held the run');
});

test('in dfdc run, a stage waiting on an earlier stage of the run says that stage failed, not "run it"', async () => {
  const dir = scratchDir('run-waits');
  const data = await pairRoot(dir);
  const crashing = await misbehaving(dir, 'ffmpeg', 'ffmpeg', (ffmpeg) => `case "$*" in *r.mp4*) kill -SEGV $$;; esac\nexec '${ffmpeg}' "$@"`);
  const result = runCli(['run', '--root-dir', data, '--output-dir', join(dir, 'out'), '--quiet'], { env: { FFMPEG_PATH: crashing } });
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /crops: nothing to do: none of the 2 videos has its boxes, which dfdc detect did not make in this run \(see its lines above\): rerun once those are dealt with/);
  assert.match(result.stderr, /folds: no rows to write \(dfdc crops made no crops of the FAKEs and their originals in this run: see its lines above\): .*folds\.csv was not written/);
  // Once the decoder is fixed, a rerun writes folds.csv, and the report no longer says that folds waits.
  const fixed = runCli(['run', '--root-dir', data, '--output-dir', join(dir, 'out'), '--quiet']);
  assert.equal(fixed.status, 0, fixed.stderr);
  const fixedReport = JSON.parse(readFileSync(join(dir, 'out', 'run-report.json'), 'utf8')) as ReportFile;
  assert.equal(fixedReport.stages.folds, undefined);
  assert.ok(fixedReport.folds!.rows > 0);
  // With another REAL that detect does make, the others wait.
  await writeDataRoot(data, [
    { part: 0, name: 'r.mp4', label: 'REAL', source: realA },
    { part: 0, name: 'f.mp4', label: 'FAKE', original: 'r.mp4', source: fakeA },
    { part: 0, name: 'g.mp4', label: 'REAL', source: fakeA },
  ]);
  const some = runCli(['run', '--root-dir', data, '--output-dir', join(dir, 'out2'), '--quiet'], { env: { FFMPEG_PATH: crashing } });
  assert.equal(some.status, 1, some.stderr);
  assert.match(some.stderr, /crops: 2 videos wait for their boxes, which dfdc detect did not make in this run \(see its lines above\): rerun once those are dealt with/);
  assert.doesNotMatch(result.stderr + some.stderr, /run dfdc (detect|crops) (first|, then this stage again)/);
});

test('in dfdc run, inputs that changed and that their stage could not make again say so (no empty command)', async () => {
  const dir = scratchDir('changed-in-run');
  const data = await pairRoot(dir);
  const out = join(dir, 'out');
  assert.equal(runCli(['run', '--root-dir', data, '--output-dir', out, '--quiet']).status, 0);
  // The boxes edited by hand, and the video away: detect cannot make them again.
  writeFileSync(join(out, 'boxes', 'r.json'), '{}');
  renameSync(join(data, 'dfdc_train_part_0', 'r.mp4'), join(dir, 'r.mp4'));
  const again = runCli(['run', '--root-dir', data, '--output-dir', out, '--quiet']);
  assert.equal(again.status, 1, again.stderr);
  assert.match(again.stderr, /^crops: nothing to do yet: the boxes of all 2 videos changed after dfdc detect made them, or what they were made from did \(.*\): dfdc detect did not make them again in this run \(see its lines above\): rerun once those are dealt with$/m);
  assert.doesNotMatch(again.stderr, /: run +\(|run {2}/);
});

test('a line that asks for dfdc crops names the --crops-dir the stage read', async () => {
  const dir = scratchDir('crops-dir-command');
  const data = await pairRoot(dir);
  const out = join(dir, 'out');
  assert.equal(runCli(['run', '--root-dir', data, '--output-dir', out, '--crops-dir', 'faces', '--quiet']).status, 0);
  rmSync(join(out, 'faces', 'r'), { recursive: true });
  const landmarks = runCli(['landmarks', '--root-dir', data, '--output-dir', out, '--crops-dir', 'faces', '--quiet']);
  assert.equal(landmarks.status, 1, landmarks.stderr);
  assert.match(landmarks.stderr, /: run dfdc crops --crops-dir faces, then this stage again$/m);
  // Followed, it fills that folder, not a second one.
  assert.equal(runCli(['crops', '--crops-dir', 'faces', '--root-dir', data, '--output-dir', out, '--quiet']).status, 0);
  assert.equal(existsSync(join(out, 'crops')), false);
  assert.equal(runCli(['landmarks', '--root-dir', data, '--output-dir', out, '--crops-dir', 'faces', '--quiet']).status, 0);
});

test('a first run cut short records the settings of the outputs it made, so a run with others is refused, not mixed in', async () => {
  const dir = scratchDir('first-cut');
  const data = await twoRealsRoot(dir);
  const out = join(dir, 'out');
  // g.mp4's decoder never starts: r.mp4's boxes are made, then the run is stopped.
  const held = await misbehaving(dir, 'ffmpeg', 'ffmpeg', (ffmpeg) => `case "$*" in *g.mp4*) exec sleep 600;; esac\nexec '${ffmpeg}' "$@"`);
  const child = spawn(process.execPath, [cliPath, 'detect', '--every', '10', '--root-dir', data, '--output-dir', out, '--quiet'], { env: cliEnvironment({ FFMPEG_PATH: held }), stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (status) => resolve(status)));
  const started = Date.now();
  while (!existsSync(join(out, 'boxes', 'r.json')) && Date.now() - started < 120_000) await new Promise((resolve) => setTimeout(resolve, 100));
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  assert.ok(existsSync(join(out, 'boxes', 'r.json')) && !existsSync(join(out, 'boxes', 'g.json')));
  const other = runCli(['detect', '--root-dir', data, '--output-dir', out, '--quiet']);
  assert.equal(other.status, 3, other.stderr);
  assert.match(other.stderr, /made with other settings \(every: 10 -> 1\)/);
  assert.equal(runCli(['detect', '--every', '10', '--root-dir', data, '--output-dir', out, '--quiet', '--json']).status, 0);
});

test('a slice of a data set without a pair: folds says that none of the pairs was selected', async () => {
  const dir = scratchDir('slice-without-pair');
  const data = join(dir, 'root');
  await writeDataRoot(data, [
    { part: 0, name: 's.mp4', label: 'REAL', source: realA },
    { part: 1, name: 'r.mp4', label: 'REAL', source: realA },
    { part: 1, name: 'f.mp4', label: 'FAKE', original: 'r.mp4', source: fakeA },
  ]);
  const result = runCli(['run', '--root-dir', data, '--output-dir', join(dir, 'out'), '--parts', '0', '--total-parts', '2', '--n-splits', '2', '--quiet']);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /^folds: no rows to write \(none of the FAKEs and their originals was among the videos this run selected \(--parts, --limit\): run the stages over them first\): .*folds\.csv was not written$/m);
});

test('a partial download: ten failure lines per reason, then how many more, every one in the report; folds says why it has no rows', async () => {
  const dir = scratchDir('partial-download');
  const data = join(dir, 'root');
  const absent = Array.from({ length: 14 }, (_, i) => ({ part: 0, name: `gone${String(i).padStart(2, '0')}.mp4`, label: 'REAL' }));
  await writeDataRoot(data, [
    { part: 0, name: 'r.mp4', label: 'REAL', source: realA },
    ...absent,
    { part: 0, name: 'f.mp4', label: 'FAKE', original: 'gone00.mp4' },
  ]);
  const output = join(dir, 'out');
  const result = runCli(['run', '--root-dir', data, '--output-dir', output, '--quiet'], {});
  assert.equal(result.status, 1, result.stderr);
  const lines = result.stderr.split('\n').filter((line) => /^detect: .*gone\d\d\.mp4: file not found/.test(line));
  assert.equal(lines.length, 10, result.stderr);
  assert.match(result.stderr, /^detect: 4 more REAL videos failed with "file not found \(listed in metadata\.json\)" \(every one is in the run report\)$/m);
  const report = JSON.parse(readFileSync(join(output, 'run-report.json'), 'utf8')) as ReportFile;
  assert.equal(report.stages.detect!.failures.length, 14);
  // The only pair (f.mp4 and gone00.mp4) has no crops, the REAL with crops has no FAKE.
  assert.match(result.stderr, /folds: no rows to write \(dfdc crops made no crops of the FAKEs and their originals in this run: see its lines above\): .*folds\.csv was not written/);
  const folds = runCli(['folds', '--root-dir', data, '--output-dir', output, '--out', join(dir, 'folds.csv'), '--quiet'], {});
  assert.equal(folds.status, 1, folds.stderr);
  assert.match(folds.stderr, /folds: no rows to write \(none of the FAKEs and their originals has complete crops: see the line above\): .*folds\.csv was not written/);
});
