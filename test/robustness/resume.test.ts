import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReportFile } from '../../src/run/report.js';
import { copySampleRoot } from '../helpers/data-root.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { listFiles } from '../helpers/compare-images.js';
import { fixturesDir } from '../helpers/shared.js';

/**
 * Resume trusts the files, not its notes: each accident a long run meets (outputs deleted, a video
 * re-downloaded, stages run out of order, a broken boxes file or crop left by another tool, an
 * output folder of dfdc 0.1) ends, after a rerun, in the outputs of one clean run, byte for byte.
 * And the state dfdc keeps in an output folder never trips the reference's generate_folds.py.
 */
const sample = join(fixturesDir, 'sample');
const folds = ['--n-splits', '2', '--total-parts', '2'];
const scratch = scratchDir('resume');
const reference = join(scratch, 'reference');

/** Every output file with its bytes (dfdc's state and run report aside: they hold times). */
function outputs(out: string): Map<string, Buffer> {
  return new Map(listFiles(out).filter((file) => !/^run-report/.test(file)).map((file) => [file, readFileSync(join(out, file))]));
}

function assertSameOutputs(out: string): void {
  const expected = outputs(reference);
  const actual = outputs(out);
  assert.deepEqual([...actual.keys()], [...expected.keys()], 'the set of output files differs from a clean run');
  for (const [file, bytes] of expected) assert.ok(bytes.equals(actual.get(file)!), `${file} differs from a clean run`);
}

/** A copy of the clean run's output folder, with modification times (as cp -a or rsync -a copy it). */
function copyOfReference(name: string): string {
  const out = join(scratch, name);
  const copy = spawnSync('cp', ['-a', reference, out]);
  assert.equal(copy.status, 0, copy.stderr?.toString());
  return out;
}

function run(out: string, root = sample, ...extra: string[]) {
  return runCli(['run', '--root-dir', root, '--output-dir', out, ...folds, '--quiet', ...extra]);
}

const doneCounts = (stdout: string) =>
  Object.fromEntries(Object.entries((JSON.parse(stdout) as ReportFile).stages).map(([stage, counts]) => [stage, counts.done]));

before(() => {
  const clean = run(reference);
  assert.equal(clean.status, 0, clean.stderr);
});

test('outputs deleted after a run are made again by a rerun, and only the units they belong to are redone', () => {
  const out = copyOfReference('deleted');
  rmSync(join(out, 'crops', 'real_a', '20_0.png'));
  rmSync(join(out, 'landmarks', 'real_b'), { recursive: true });
  rmSync(join(out, 'diffs', 'fake_portrait', '0_0_diff.png'));
  rmSync(join(out, 'boxes', 'real_solo.json'));
  const rerun = run(out, sample, '--json');
  assert.equal(rerun.status, 0, rerun.stderr);
  // detect: real_solo; crops: real_a and real_solo (its boxes are new); landmarks: real_b, and
  // real_a and real_solo (their crops are new); diffs: fake_portrait, and real_a's two FAKEs.
  assert.deepEqual(doneCounts(rerun.stdout), { detect: 1, crops: 2, landmarks: 3, diffs: 3 });
  assertSameOutputs(out);
});

test('a truncated FAKE and a missing REAL fail; once the files are back, a rerun makes everything they hold up', async () => {
  const root = await copySampleRoot(join(scratch, 'redownload-root'));
  const out = join(scratch, 'redownload');
  const fake = join(root, 'dfdc_train_part_0', 'fake_a_blur.mp4');
  const real = join(root, 'dfdc_train_part_1', 'real_b.mp4');
  writeFileSync(fake, readFileSync(fake).subarray(0, 4000));
  rmSync(real);
  const first = run(out, root);
  assert.equal(first.status, 1, first.stderr);
  assert.match(first.stderr, /crops: dfdc_train_part_0\/fake_a_blur\.mp4: /);
  assert.match(first.stderr, /detect: dfdc_train_part_1\/real_b\.mp4: file not found \(listed in metadata\.json\)/);
  for (const missing of ['crops/fake_a_blur', 'diffs/fake_a_blur', 'boxes/real_b.json', 'crops/fake_b_noise', 'landmarks/real_b', 'diffs/fake_b_noise']) {
    assert.equal(existsSync(join(out, missing)), false, `${missing} should not exist after the failures`);
  }
  // The videos are downloaded again.
  copyFileSync(join(sample, 'dfdc_train_part_0', 'fake_a_blur.mp4'), fake);
  copyFileSync(join(sample, 'dfdc_train_part_1', 'real_b.mp4'), real);
  const rerun = run(out, root, '--json');
  assert.equal(rerun.status, 0, rerun.stderr);
  assert.deepEqual(doneCounts(rerun.stdout), { detect: 1, crops: 3, landmarks: 1, diffs: 2 });
  assertSameOutputs(out);
});

test('landmarks, diffs or folds run before crops name the stage to run first, mark and write nothing, and exit 1', () => {
  const out = join(scratch, 'order');
  for (const stage of ['landmarks', 'diffs']) {
    const early = runCli([stage, '--root-dir', sample, '--output-dir', out, '--quiet']);
    assert.equal(early.status, 1, early.stderr);
    const noun = stage === 'landmarks' ? '5 REAL videos' : '4 FAKEs';
    assert.deepEqual(early.lines, [`${stage}: nothing to do yet: none of the ${noun} has its crops in ${join(out, 'crops')}: run dfdc crops first (or check --crops-dir)`]);
    assert.equal(existsSync(join(out, '.run-state', 'units', stage)), false, `${stage} marked units`);
  }
  // Folds before crops writes no folds.csv without rows for a job script to train on.
  const folds = runCli(['folds', '--root-dir', sample, '--output-dir', out, '--n-splits', '2', '--parts', '2', '--quiet']);
  assert.equal(folds.status, 1, folds.stderr);
  assert.deepEqual(folds.lines, [`folds: no rows to write (${join(out, 'crops')} does not exist: check --crops-dir, or run dfdc crops first): ${join(out, 'folds.csv')} was not written`]);
  assert.equal(existsSync(join(out, 'folds.csv')), false);
  const crops = runCli(['crops', '--root-dir', sample, '--output-dir', out, '--quiet']);
  assert.equal(crops.status, 1, 'crops before detect waits too');
  assert.deepEqual(crops.lines, [`crops: nothing to do yet: none of the 9 videos has its boxes in ${join(out, 'boxes')}: run dfdc detect first`]);
  for (const args of [['detect', '--every', '10'], ['crops'], ['landmarks'], ['diffs'], ['folds', '--out', join(out, 'folds.csv'), '--n-splits', '2', '--parts', '2']]) {
    const result = runCli([...args, '--root-dir', sample, '--output-dir', out]);
    assert.equal(result.status, 0, `${args[0]}: ${result.stderr}`);
  }
  assertSameOutputs(out);
});

test('a boxes file that dfdc detect made and something else broke: crops waits for detect, which makes it again', () => {
  const out = copyOfReference('broken-boxes');
  writeFileSync(join(out, 'boxes', 'real_a.json'), '{"0": [[1.5, 2');
  const crops = runCli(['crops', '--root-dir', sample, '--output-dir', out, '--quiet']);
  assert.equal(crops.status, 1);
  assert.ok(
    crops.lines.some((line) => line.startsWith('crops: 3 videos wait for dfdc detect: their boxes changed after it made them, or what they were made from did (another --root-dir?')),
    crops.stderr,
  );
  assert.equal(runCli(['detect', '--every', '10', '--root-dir', sample, '--output-dir', out, '--quiet']).status, 0);
  const rerun = run(out);
  assert.equal(rerun.status, 0, rerun.stderr);
  assertSameOutputs(out);
});

test('a boxes file from another tool that is not JSON fails its crops naming the file, and the advice given repairs it', () => {
  const out = copyOfReference('bad-boxes');
  // Boxes made by another tool: no record of dfdc detect vouches for them.
  rmSync(join(out, '.run-state', 'units', 'detect'), { recursive: true });
  const boxes = join(out, 'boxes', 'real_a.json');
  writeFileSync(boxes, '{"0": [[1.5, 2');
  rmSync(join(out, '.run-state', 'units', 'crops'), { recursive: true });
  const crops = runCli(['crops', '--root-dir', sample, '--output-dir', out, '--quiet']);
  assert.equal(crops.status, 1);
  const failures = crops.lines.filter((line) => line.startsWith('crops: dfdc_train_part_'));
  // real_a and its two FAKEs are cut with real_a's boxes.
  assert.deepEqual(failures.map((line) => line.split(': ')[1]).sort(), ['dfdc_train_part_0/fake_a_blur.mp4', 'dfdc_train_part_0/fake_a_hue.mp4', 'dfdc_train_part_0/real_a.mp4']);
  // The command carries the settings the other boxes were made with (dfdc run: every 10th frame).
  for (const line of failures) assert.ok(line.endsWith(`${boxes} is not valid JSON: delete it and rerun dfdc detect --every 10, which detects that video's faces again`), line);
  // The advice, followed to the letter.
  rmSync(boxes);
  const command = /rerun dfdc (.*), which/.exec(failures[0]!)![1]!.split(' ');
  assert.equal(runCli([...command, '--root-dir', sample, '--output-dir', out, '--quiet']).status, 0);
  const rerun = run(out);
  assert.equal(rerun.status, 0, rerun.stderr);
  assertSameOutputs(out);
});

test('a crop that is not a PNG fails the landmarks and diffs that read it, naming the crop, and the advice given repairs it', () => {
  const out = join(scratch, 'bad-crop');
  for (const args of [['detect', '--every', '10'], ['crops']]) assert.equal(runCli([...args, '--root-dir', sample, '--output-dir', out, '--quiet']).status, 0);
  const crop = join(out, 'crops', 'real_a', '20_0.png');
  writeFileSync(crop, readFileSync(crop).subarray(0, 100));
  for (const stage of ['landmarks', 'diffs']) {
    const result = runCli([stage, '--root-dir', sample, '--output-dir', out, '--quiet']);
    assert.equal(result.status, 1, result.stderr);
    const failed = result.lines.filter((line) => line.startsWith(`${stage}: dfdc_train_part_`));
    assert.equal(failed.length, stage === 'landmarks' ? 1 : 2, result.stderr);
    for (const line of failed) assert.match(line, new RegExp(`${crop}: not a readable image \\(.+\\): delete it and rerun dfdc crops, which cuts that video's crops again$`));
  }
  rmSync(crop);
  assert.equal(runCli(['crops', '--root-dir', sample, '--output-dir', out, '--quiet']).status, 0);
  const rerun = run(out);
  assert.equal(rerun.status, 0, rerun.stderr);
  assertSameOutputs(out);
});

test("a root processed in place keeps no top-level name containing \"dfdc\" but its parts (the reference's generate_folds.py rule)", async () => {
  const root = await copySampleRoot(join(scratch, 'in-place'));
  const result = runCli(['run', '--root-dir', root, ...folds, '--quiet']);
  assert.equal(result.status, 0, result.stderr);
  assert.ok(existsSync(join(root, 'run-report.json')) && existsSync(join(root, '.run-state')));
  // generate_folds.py: `for d in os.listdir(root): if "dfdc" in d: part = int(d.split("_")[-1]); os.listdir(join(root, d))`
  for (const name of readdirSync(root).filter((entry) => entry.includes('dfdc'))) {
    assert.match(name.split('_').at(-1)!, /^\s*[+-]?\d+\s*$/, `int() fails on ${name}`);
    assert.ok(statSync(join(root, name)).isDirectory(), `os.listdir() fails on ${name}`);
  }
});

test("an output folder of dfdc 0.1 keeps working: its state and reports move to the new names, and its markers count once their outputs are verified", () => {
  const out = copyOfReference('legacy');
  // Lay the folder out as dfdc 0.1 left it: .dfdc/done/<stage>/<id>.json markers with counts,
  // one provenance.json, and dfdc-report.json.
  const state = join(out, '.run-state');
  const provenance = Object.fromEntries(
    readdirSync(join(state, 'provenance')).map((file) => [file.replace('.json', ''), JSON.parse(readFileSync(join(state, 'provenance', file), 'utf8')) as unknown]),
  );
  rmSync(state, { recursive: true });
  const legacy = join(out, '.dfdc');
  mkdirSync(legacy);
  writeFileSync(join(legacy, 'provenance.json'), JSON.stringify({ tool: 'dfdc', stages: { ...provenance, crops: { settings: { frameStep: 10 }, madeWith: {} } } }));
  const count = (dir: string) => (existsSync(dir) ? readdirSync(dir).length : 0);
  const marker = (stage: string, id: string, details: Record<string, number>) => {
    mkdirSync(join(legacy, 'done', stage), { recursive: true });
    writeFileSync(join(legacy, 'done', stage, `${id}.json`), JSON.stringify({ status: 'ok', ...details }));
  };
  for (const id of readdirSync(join(out, 'boxes')).map((file) => file.replace('.json', ''))) {
    marker('detect', id, { frames: 5 });
    marker('landmarks', id, { landmarks: count(join(out, 'landmarks', id)) });
  }
  for (const id of ['real_a', 'real_b', 'real_solo', 'portrait', 'noface', 'fake_a_blur', 'fake_a_hue', 'fake_b_noise', 'fake_portrait']) marker('crops', id, { crops: count(join(out, 'crops', id)) });
  for (const id of readdirSync(join(out, 'diffs'))) marker('diffs', id, { diffs: count(join(out, 'diffs', id)) });
  renameSync(join(out, 'run-report.json'), join(out, 'dfdc-report.json'));
  // One unit whose outputs are no longer what its marker counted.
  rmSync(join(out, 'crops', 'portrait', '10_0.png'));

  const rerun = run(out, sample, '--json');
  assert.equal(rerun.status, 0, rerun.stderr);
  assert.deepEqual(doneCounts(rerun.stdout), { detect: 0, crops: 1, landmarks: 1, diffs: 1 });
  assert.deepEqual(
    readdirSync(out).filter((name) => name.includes('dfdc')),
    [],
    'dfdc 0.1 names left at the top of the output folder',
  );
  assert.ok(existsSync(join(out, 'run-report.json')));
  assertSameOutputs(out);
  const again = run(out, sample, '--json');
  assert.deepEqual(doneCounts(again.stdout), { detect: 0, crops: 0, landmarks: 0, diffs: 0 });
});
