import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveBackend } from '../../src/mtcnn/engine.js';
import { cliEnvironment, cliPath, runCli, runCliStopped, scratchDir } from '../helpers/cli.js';
import { listFiles } from '../helpers/compare-images.js';
import { copySampleRoot } from '../helpers/data-root.js';
import { sampleRoot } from '../helpers/shared.js';

/**
 * What a hostile trial of resume found, each now a test: a typo in --crops-dir, videos that are
 * away for a while, videos replaced or broken, crops folders that are other output folders,
 * mixed backends, state files that are folders or garbage, a --force run cut short, FIFOs among
 * the crops, names with line breaks, and folds over crops that are not complete.
 */
const folds = ['--n-splits', '2', '--total-parts', '2'];
const scratch = scratchDir('accidents');
const reference = join(scratch, 'reference');

function run(out: string, root = sampleRoot, ...extra: string[]) {
  return runCli(['run', '--root-dir', root, '--output-dir', out, ...folds, '--quiet', ...extra]);
}

function copyOfReference(name: string): string {
  const out = join(scratch, name);
  assert.equal(spawnSync('cp', ['-a', reference, out]).status, 0);
  return out;
}

/** Every output file with its bytes (the run report aside). */
function outputs(out: string): Map<string, Buffer> {
  return new Map(listFiles(out).filter((file) => !file.startsWith('run-report')).map((file) => [file, readFileSync(join(out, file))]));
}

function assertSameOutputs(out: string, expectedDir = reference): void {
  const expected = outputs(expectedDir);
  const actual = outputs(out);
  assert.deepEqual([...actual.keys()], [...expected.keys()], 'the set of output files differs from a clean run');
  for (const [file, bytes] of expected) assert.ok(bytes.equals(actual.get(file)!), `${file} differs from a clean run`);
}

const doneCounts = (stdout: string) =>
  Object.fromEntries(Object.entries((JSON.parse(stdout) as { stages: Record<string, { done: number }> }).stages).map(([stage, counts]) => [stage, counts.done]));

before(() => {
  assert.equal(run(reference).status, 0);
});

test('a typo in --crops-dir deletes nothing: landmarks, diffs and folds wait, exit 1, and their outputs and folds.csv stay', () => {
  const out = copyOfReference('typo');
  for (const [stage, units] of [['landmarks', '5 REAL videos'], ['diffs', '4 FAKEs']]) {
    const result = runCli([stage, '--root-dir', sampleRoot, '--output-dir', out, '--crops-dir', 'crops2', '--quiet']);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`^${stage}: nothing to do yet: none of the ${units} has its crops in ${join(out, 'crops2')}: run dfdc crops --crops-dir crops2 first \\(or check --crops-dir\\)$`, 'm'));
  }
  // folds.csv, which a cluster's whole run may have made, is not replaced by one without rows.
  const result = runCli(['folds', '--root-dir', sampleRoot, '--output-dir', out, '--crops-dir', 'crops2', ...folds.map((arg) => arg.replace('--total-parts', '--parts'))]);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /folds: \d+ video\(s\) have crops that are not complete .*: their rows are left out/);
  assert.match(result.stderr, new RegExp(`^folds: no rows to write \\(${join(out, 'crops2')} does not exist: check --crops-dir, or run dfdc crops first\\): ${join(out, 'folds.csv')} is left as it was$`, 'm'));
  assertSameOutputs(out);
  // The run report of the whole run says so, until folds runs again with the right folder.
  const reportOf = () => JSON.parse(readFileSync(join(out, 'run-report.json'), 'utf8')) as { stages: Record<string, { waiting: number }> };
  assert.ok(reportOf().stages.folds!.waiting > 0);
  assert.equal(runCli(['folds', '--root-dir', sampleRoot, '--output-dir', out, '--n-splits', '2', '--parts', '2', '--quiet']).status, 0);
  assert.equal(reportOf().stages.folds, undefined);
  assert.ok(reportOf().stages.detect, 'the stages of the whole run stay');
});

test('a line that asks for an earlier stage gives the settings its outputs were made with, and that command is accepted', () => {
  const out = copyOfReference('remake');
  rmSync(join(out, 'boxes', 'real_a.json'));
  const crops = runCli(['crops', '--root-dir', sampleRoot, '--output-dir', out, '--quiet']);
  assert.equal(crops.status, 1, crops.stderr);
  // dfdc run detects every 10th frame: a plain `dfdc detect` would be refused for other settings.
  const asked = /run (dfdc detect[^,]*), then this stage again/.exec(crops.stderr);
  assert.equal(asked?.[1], 'dfdc detect --every 10', crops.stderr);
  const detect = runCli([...asked[1].split(' ').slice(1), '--root-dir', sampleRoot, '--output-dir', out, '--quiet']);
  assert.equal(detect.status, 0, detect.stderr);
  assert.equal(run(out).status, 0);
  assertSameOutputs(out);

  // Boxes made on an engine that `auto` would not choose here: the command names it.
  const provenance = join(out, '.run-state', 'provenance', 'detect.json');
  const record = JSON.parse(readFileSync(provenance, 'utf8')) as { settings: Record<string, unknown> };
  writeFileSync(provenance, JSON.stringify({ ...record, settings: { ...record.settings, backend: 'cpu', thresholds: [0.8, 0.9, 0.9] } }));
  rmSync(join(out, 'boxes', 'real_a.json'));
  const again = runCli(['crops', '--root-dir', sampleRoot, '--output-dir', out, '--quiet']);
  assert.match(again.stderr, /run dfdc detect --every 10 --thresholds 0\.8,0\.9,0\.9 --backend cpu, then this stage again/);
});

test("a unit claimed on another node is left to it, with when a rerun may take it over if that node died; after that, it does", () => {
  const out = copyOfReference('other-node');
  rmSync(join(out, 'boxes', 'real_a.json'));
  const claim = join(out, '.run-state', 'claims', 'detect', 'real_a.json');
  mkdirSync(join(out, '.run-state', 'claims', 'detect'), { recursive: true });
  writeFileSync(claim, JSON.stringify({ host: 'node-7', pid: 4242, token: 'abc', since: new Date().toISOString() }));
  const held = runCli(['detect', '--every', '10', '--root-dir', sampleRoot, '--output-dir', out, '--quiet']);
  assert.equal(held.status, 1, held.stderr);
  assert.match(
    held.stderr,
    /^detect: 1 REAL video left to another process working on this output \(node-7 pid 4242\); rerun when it has finished; if it has stopped \(its node died, or its job was killed\), its claim lapses in (5\d|60) s and a rerun then takes over$/m,
  );
  // Its heartbeat stopped long enough ago: that node is gone, and the unit is done here.
  const old = new Date(Date.now() - 120_000);
  utimesSync(claim, old, old);
  assert.equal(runCli(['detect', '--every', '10', '--root-dir', sampleRoot, '--output-dir', out, '--quiet']).status, 0);
  assertSameOutputs(out);
});

test('videos away for a while fail their units and keep what was made from them; back again, nothing is redone', async () => {
  const root = await copySampleRoot(join(scratch, 'away-root'));
  const out = join(scratch, 'away');
  assert.equal(run(out, root).status, 0);
  const part = join(root, 'dfdc_train_part_0');
  const hold = join(scratch, 'away-hold');
  mkdirSync(hold);
  for (const name of readdirSync(part).filter((file) => file.endsWith('.mp4'))) renameSync(join(part, name), join(hold, name));
  const away = run(out, root);
  assert.equal(away.status, 1);
  assert.match(away.stderr, /detect: dfdc_train_part_0\/real_a\.mp4: file not found \(listed in metadata\.json\)/);
  assert.ok(existsSync(join(out, 'boxes', 'real_a.json')) && existsSync(join(out, 'crops', 'real_a', '0_0.png')), 'outputs made from the videos were deleted');
  for (const name of readdirSync(hold)) renameSync(join(hold, name), join(part, name));
  const back = run(out, root, '--json');
  assert.equal(back.status, 0, back.stderr);
  assert.deepEqual(doneCounts(back.stdout), { detect: 0, crops: 0, landmarks: 0, diffs: 0 });
});

test("an original away for a while leaves its FAKEs' outputs as they are: nothing is redone while it is away, nor when it is back", async () => {
  const root = await copySampleRoot(join(scratch, 'original-away-root'));
  const out = join(scratch, 'original-away');
  assert.equal(run(out, root).status, 0);
  const original = join(root, 'dfdc_train_part_0', 'real_a.mp4');
  const hold = join(scratch, 'original-away-hold.mp4');
  renameSync(original, hold);
  const away = run(out, root, '--json');
  assert.equal(away.status, 1, away.stderr);
  assert.deepEqual(doneCounts(away.stdout), { detect: 0, crops: 0, landmarks: 0, diffs: 0 }, away.stderr);
  assert.doesNotMatch(away.stderr, /has changed since/);
  renameSync(hold, original);
  const back = run(out, root, '--json');
  assert.equal(back.status, 0, back.stderr);
  assert.deepEqual(doneCounts(back.stdout), { detect: 0, crops: 0, landmarks: 0, diffs: 0 });
});

test('folds names an original that is not on disk as the reason its crops and its FAKEs\' are missing, not only "run dfdc crops"', async () => {
  const root = await copySampleRoot(join(scratch, 'original-missing-root'));
  rmSync(join(root, 'dfdc_train_part_0', 'real_a.mp4'));
  const result = run(join(scratch, 'original-missing'), root);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /^folds: 3 video\(s\) have crops that are not complete .*; 3 of them because a video they come from is not on disk or cannot be read \(first: dfdc_train_part_0\/real_a\.mp4 is not there\): deal with that first$/m);
});

test('a replaced video makes landmarks and diffs wait for new crops, and folds leave out crops that are not complete', async () => {
  const root = await copySampleRoot(join(scratch, 'replaced-root'));
  const out = join(scratch, 'replaced');
  assert.equal(run(out, root).status, 0);
  copyFileSync(join(root, 'dfdc_train_part_0', 'real_solo.mp4'), join(root, 'dfdc_train_part_0', 'real_a.mp4'));
  const landmarks = runCli(['landmarks', '--root-dir', root, '--output-dir', out, '--quiet']);
  assert.equal(landmarks.status, 1, landmarks.stderr);
  assert.match(landmarks.stderr, /landmarks: 1 REAL video waits for dfdc crops: its crops changed after it made them, or what they were made from did \(another --root-dir\? videos downloaded again\? .*\): run dfdc crops \(the settings they were made with\), then this stage again \(what landmarks made of them before stays until then\)/);
  assert.ok(existsSync(join(out, 'landmarks', 'real_a')), 'landmarks made from the old crops were removed before crops ran again');
  rmSync(join(out, 'crops', 'real_solo'), { recursive: true });
  const foldsRun = runCli(['folds', '--root-dir', root, '--output-dir', out, '--n-splits', '2', '--parts', '2']);
  assert.equal(foldsRun.status, 1);
  assert.match(foldsRun.stderr, /folds: 3 video\(s\) have crops that are not complete .*first: dfdc_train_part_0\/real_a\.mp4.*: their rows are left out/);
  assert.doesNotMatch(readFileSync(join(out, 'folds.csv'), 'utf8'), /^real_a,/m);
});

test('a video that breaks takes with it everything made from it, as a clean run on the broken data would have', async () => {
  const root = await copySampleRoot(join(scratch, 'broken-root'));
  const out = join(scratch, 'broken');
  assert.equal(run(out, root).status, 0);
  writeFileSync(join(root, 'dfdc_train_part_0', 'real_solo.mp4'), 'hello');
  const realB = join(root, 'dfdc_train_part_1', 'real_b.mp4');
  writeFileSync(realB, readFileSync(realB).subarray(0, 10_000));
  assert.equal(run(out, root).status, 1);
  const clean = join(scratch, 'broken-clean');
  assert.equal(run(clean, root).status, 1);
  assertSameOutputs(out, clean);
});

test('a crops folder that is another output folder, the output folder or DATA_ROOT is refused before any work', () => {
  for (const dir of ['landmarks', '.', 'boxes/x', '.run-state']) {
    const result = runCli(['run', '--root-dir', sampleRoot, '--output-dir', join(scratch, 'refused'), '--crops-dir', dir]);
    assert.equal(result.status, 2, `${dir}: ${result.stderr}`);
    assert.match(result.stderr, /^dfdc: --crops-dir /);
  }
  const outside = runCli(['crops', '--root-dir', sampleRoot, '--output-dir', join(scratch, 'refused'), '--crops-dir', join(scratch, 'elsewhere')]);
  assert.equal(outside.status, 2);
  assert.match(outside.stderr, /is outside the output folder/);
  assert.equal(existsSync(join(scratch, 'refused')), false, 'something was written');
});

test('another MTCNN engine stops the run instead of mixing outputs, with the way out in the message', async () => {
  // The reference run used --backend auto: native where it loads, else wasm. Engines agree only within
  // float noise, so a rerun (or another node) on the other one must not add its boxes to these.
  const made = await resolveBackend('auto');
  const other = made === 'native' ? 'wasm' : 'cpu';
  const out = copyOfReference('backend');
  rmSync(join(out, 'boxes', 'real_a.json'));
  const result = runCli(['detect', '--root-dir', sampleRoot, '--output-dir', out, '--every', '10', '--backend', other, '--quiet']);
  assert.equal(result.status, 3);
  assert.match(result.stderr, new RegExp(`made with other settings \\(backend: "${made}" -> "${other}"\\)`));
  assert.match(result.stderr, /--force|--backend/);
  assert.equal(existsSync(join(out, 'boxes', 'real_a.json')), false, 'a box file was written with the other engine');
  const same = runCli(['detect', '--root-dir', sampleRoot, '--output-dir', out, '--every', '10', '--backend', made, '--quiet']);
  assert.equal(same.status, 0, same.stderr);
});

test('state files that are folders or garbage get one line that names them and a fix that works', () => {
  const boxesDir = copyOfReference('boxes-folder');
  rmSync(join(boxesDir, 'boxes', 'real_solo.json'));
  mkdirSync(join(boxesDir, 'boxes', 'real_solo.json'));
  rmSync(join(boxesDir, '.run-state', 'units', 'detect'), { recursive: true });
  rmSync(join(boxesDir, '.run-state', 'units', 'crops'), { recursive: true });
  const crops = runCli(['crops', '--root-dir', sampleRoot, '--output-dir', boxesDir, '--quiet']);
  assert.equal(crops.status, 1, crops.stderr);
  assert.match(crops.stderr, /crops: dfdc_train_part_0\/real_solo\.mp4: .*boxes\/real_solo\.json cannot be read \(EISDIR\): delete it and rerun dfdc detect/);

  const provenance = copyOfReference('provenance-garbage');
  writeFileSync(join(provenance, '.run-state', 'provenance', 'detect.json'), '{}');
  const garbage = run(provenance);
  assert.equal(garbage.status, 3);
  assert.match(garbage.stderr, /^dfdc: .*provenance\/detect\.json is not a provenance record: delete it, then rerun/);
  rmSync(join(provenance, '.run-state', 'provenance', 'detect.json'));
  assert.equal(run(provenance).status, 0);

  const folder = copyOfReference('provenance-folder');
  rmSync(join(folder, '.run-state', 'provenance', 'crops.json'));
  mkdirSync(join(folder, '.run-state', 'provenance', 'crops.json'));
  const blocked = run(folder);
  assert.equal(blocked.status, 3);
  assert.match(blocked.stderr, /^dfdc: .*provenance\/crops\.json/m);
  assert.match(blocked.stderr, /\(EISDIR\): it is a folder: move it away, then rerun/);
  assert.doesNotMatch(blocked.stderr, /\.tmp/, 'the message names a temporary');

  const record = copyOfReference('record-folder');
  rmSync(join(record, '.run-state', 'units', 'crops', 'real_a.json'));
  mkdirSync(join(record, '.run-state', 'units', 'crops', 'real_a.json'));
  const recordBlocked = run(record);
  assert.equal(recordBlocked.status, 3);
  assert.match(recordBlocked.stderr, /^dfdc: cannot write .*units\/crops\/real_a\.json: it is a folder where a file is needed \(EISDIR\): move it away/m);
  rmSync(join(record, '.run-state', 'units', 'crops', 'real_a.json'), { recursive: true });
  const redone = run(record);
  assert.equal(redone.status, 0, redone.stderr);
  assertSameOutputs(record);
});

test('a --force run with other settings cut short leaves the provenance of the outputs that are there', async () => {
  const out = copyOfReference('force-cut');
  const cut = await runCliStopped(['detect', '--root-dir', sampleRoot, '--output-dir', out, '--every', '10', '--thresholds', '0.8,0.9,0.9', '--force'], { when: 'detect: ', signal: 'SIGINT' });
  assert.equal(cut.status, 130, cut.stderr);
  const rerun = run(out);
  assert.equal(rerun.status, 0, rerun.stderr);
  assertSameOutputs(out);
});

test('a FIFO among the crops is not a crop: landmarks does not hang on it', () => {
  const out = copyOfReference('fifo');
  // Crops of another tool (no dfdc record: taken as they are), so that landmarks reads the FIFO;
  // dfdc's own crops with a file replaced would be redone by crops first.
  rmSync(join(out, '.run-state', 'units', 'crops', 'real_a.json'));
  rmSync(join(out, 'crops', 'real_a', '0_0.png'));
  assert.equal(spawnSync('mkfifo', [join(out, 'crops', 'real_a', '0_0.png')]).status, 0);
  const result = spawnSync(process.execPath, [cliPath, 'landmarks', '--root-dir', sampleRoot, '--output-dir', out, '--force', '--quiet'], {
    env: cliEnvironment(),
    timeout: 60_000,
    encoding: 'utf8',
  });
  assert.notEqual(result.signal, 'SIGTERM', 'landmarks hung on the FIFO');
  assert.equal(result.status, 0, result.stderr);
});

test('a video name with a line break is refused in one line', async () => {
  const root = await copySampleRoot(join(scratch, 'newline-root'));
  const metadata = join(root, 'dfdc_train_part_0', 'metadata.json');
  const records = JSON.parse(readFileSync(metadata, 'utf8')) as Record<string, unknown>;
  records['evil\nname.mp4'] = { label: 'REAL' };
  writeFileSync(metadata, JSON.stringify(records));
  const result = run(join(scratch, 'newline'), root);
  assert.equal(result.status, 1);
  const lines = result.lines.filter((line) => line.includes('evil'));
  assert.deepEqual(lines, ['dfdc_train_part_0/metadata.json: "evil\\nname.mp4" must not contain control characters (line breaks, tabs): rename the file']);
});

test('--parts naming no part is a usage error; dfdc folds takes --quiet and --json', () => {
  const result = run(join(scratch, 'no-part'), sampleRoot, '--parts', '5');
  assert.equal(result.status, 2);
  assert.match(result.stderr, /^dfdc: --parts 5: no such part in .* \(they are dfdc_train_part_0, dfdc_train_part_1\)\n$/);
  const quiet = runCli(['folds', '--root-dir', sampleRoot, '--output-dir', reference, '--out', join(scratch, 'f.csv'), '--n-splits', '2', '--parts', '2', '--quiet', '--json']);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.equal((JSON.parse(quiet.stdout) as { folds: { rows: number } }).folds.rows, 45);
});
