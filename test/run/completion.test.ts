import { mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DatasetDirs } from '../../src/dataset/dirs.js';
import { StageCompletion, settingsHash, verifyRecordAt } from '../../src/run/completion.js';
import type { Input, Output } from '../../src/run/stage.js';
import { networkFileAccess } from '../../src/util/file-system.js';
import { scratchDir } from '../helpers/cli.js';

/**
 * The completion model on real files: a unit is complete only while what it read keeps its
 * identity and what it wrote is still there; a unit whose input an earlier stage writes waits
 * while that stage's unit is not complete; a record of other settings, or one that is not a
 * record, does not count; dfdc 0.1's markers count once their outputs are found as counted.
 */

function setUp(name: string) {
  const base = scratchDir(`completion-${name}`);
  const dirs: DatasetDirs = { rootDir: join(base, 'root'), outputDir: join(base, 'out'), cropsDir: join(base, 'out', 'crops') };
  mkdirSync(dirs.rootDir, { recursive: true });
  mkdirSync(dirs.outputDir, { recursive: true });
  const stateDir = join(dirs.outputDir, '.run-state');
  const video = join(dirs.rootDir, 'v.mp4');
  writeFileSync(video, 'video bytes');
  const folder = join(dirs.outputDir, 'crops', 'v');
  const reads: Input[] = [{ role: 'video', kind: 'file', path: video }];
  const writes: Output[] = [{ role: 'crops', kind: 'folder', path: folder, fileCount: 'crops' }];
  // The folder's time is set a minute back, as when a unit was recorded before the change a test
  // makes: a change within the file system's clock tick (a few ms) of the record keeps the
  // folder's time, and such a test would pass or fail by chance (docs/completion.md says so).
  const writeOutputs = (names: string[]) => {
    mkdirSync(folder, { recursive: true });
    for (const file of names) writeFileSync(join(folder, file), file);
    const minuteAgo = (Date.now() - 60_000) / 1000;
    utimesSync(folder, minuteAgo, minuteAgo);
  };
  const completion = (settings: Record<string, unknown> = {}) => new StageCompletion(stateDir, 'crops', settingsHash(settings), dirs);
  return { dirs, stateDir, video, folder, reads, writes, writeOutputs, completion };
}

async function markDone(s: ReturnType<typeof setUp>, settings: Record<string, unknown> = {}): Promise<void> {
  const completion = s.completion(settings);
  await completion.markComplete('v', await completion.inputIdentities(s.reads), s.writes, { details: { crops: 2 } });
}

test('a unit with no record is ready; once recorded it is complete; --force makes it ready again', async () => {
  const s = setUp('basic');
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state, 'ready');
  s.writeOutputs(['0_0.png', '10_0.png']);
  await markDone(s);
  assert.deepEqual(await s.completion().check('v', s.reads, s.writes, false), { state: 'complete' });
  assert.deepEqual(await s.completion().check('v', s.reads, s.writes, true), { state: 'ready', keep: true, inputBytes: statSync(s.reads[0]!.path).size, changed: false }, 'a --force run keeps valid outputs if it fails');
});

test('an output removed, or a file added to, put back in or renamed over in an output folder, makes the unit not complete', async () => {
  const s = setUp('outputs');
  s.writeOutputs(['0_0.png', '10_0.png']);
  await markDone(s);
  rmSync(join(s.folder, '10_0.png'));
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state, 'ready');
  writeFileSync(join(s.folder, '10_0.png'), 'back');
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state, 'ready', 'the same names again, but not known to be the same files');

  const r = setUp('outputs-renamed');
  r.writeOutputs(['0_0.png', '10_0.png']);
  await markDone(r);
  // Another video's crop renamed over one of these: the same names, the folder's time changed.
  writeFileSync(join(r.dirs.outputDir, 'other.png'), 'another face');
  renameSync(join(r.dirs.outputDir, 'other.png'), join(r.folder, '0_0.png'));
  assert.equal((await r.completion().check('v', r.reads, r.writes, false)).state, 'ready');
});

test("on a network file system, a written folder's names decide: a stray file counts, a hidden temporary does not", async () => {
  const s = setUp('outputs-network');
  s.writeOutputs(['0_0.png', '10_0.png']);
  const network = () => new StageCompletion(s.stateDir, 'crops', settingsHash({}), s.dirs, networkFileAccess);
  await network().markComplete('v', await network().inputIdentities(s.reads), s.writes, {});
  writeFileSync(join(s.folder, '20_0.png'), 'stray');
  assert.equal((await network().check('v', s.reads, s.writes, false)).state, 'ready');
  rmSync(join(s.folder, '20_0.png'));
  writeFileSync(join(s.folder, '.20_0.png.123.1.tmp'), 'a temporary');
  assert.equal((await network().check('v', s.reads, s.writes, false)).state, 'complete', 'hidden temporaries do not count');
});

test('a copy that kept whole seconds (tar) still counts; another second does not', async () => {
  const s = setUp('whole-seconds');
  s.writeOutputs(['0_0.png', '10_0.png']);
  await markDone(s);
  const truncate = (path: string, by = 0) => {
    const seconds = Math.floor(statSync(path).mtimeMs / 1000) + by;
    utimesSync(path, seconds, seconds);
  };
  truncate(s.video);
  truncate(s.folder);
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state, 'complete');
  truncate(s.video, 1);
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state, 'ready');
});

test('an input replaced (another size, or the same size at another time) makes the unit not complete', async () => {
  const s = setUp('inputs');
  s.writeOutputs(['0_0.png']);
  await markDone(s);
  writeFileSync(s.video, 'video bytes, downloaded again');
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state, 'ready');
  await markDone(s);
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state, 'complete');
  utimesSync(s.video, new Date('2020-01-01'), new Date('2020-01-01'));
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state, 'ready', 'same size, another modification time');
});

test('a record made with other settings does not count', async () => {
  const s = setUp('settings');
  s.writeOutputs(['0_0.png']);
  await markDone(s, { saturate: false });
  assert.equal((await s.completion({ saturate: false }).check('v', s.reads, s.writes, false)).state, 'complete');
  assert.equal((await s.completion({ saturate: true }).check('v', s.reads, s.writes, false)).state, 'ready');
});

test('a record that is not JSON, or not a record, does not count', async () => {
  const s = setUp('corrupt');
  s.writeOutputs(['0_0.png']);
  await markDone(s);
  const path = s.completion().recordPath('v');
  writeFileSync(path, '{"version": 2, "stage": "crops"');
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state, 'ready');
  writeFileSync(path, JSON.stringify({ version: 2, stage: 'crops', unit: 'v' }));
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state, 'ready');
});

test('an absent input from an earlier stage waits, unless that stage completed the unit with nothing to give', async () => {
  const s = setUp('waiting');
  const landmarks = new StageCompletion(s.stateDir, 'landmarks', settingsHash({}), s.dirs);
  const reads: Input[] = [{ role: 'crops', kind: 'folder', path: s.folder, from: { stage: 'crops', unit: 'v' } }];
  const writes: Output[] = [{ role: 'landmarks', kind: 'folder', path: join(s.dirs.outputDir, 'landmarks', 'v') }];
  assert.deepEqual(await landmarks.check('v', reads, writes, false), { state: 'waiting', on: { stage: 'crops', role: 'crops' }, changed: false, stale: false });
  // crops done, and it found no face: no crops folder, and that is complete.
  await markDone(s);
  const again = new StageCompletion(s.stateDir, 'landmarks', settingsHash({}), s.dirs);
  assert.deepEqual(await again.check('v', reads, writes, false), { state: 'ready', keep: false, inputBytes: 0, changed: false });
  await again.markComplete('v', await again.inputIdentities(reads), writes, {});
  assert.equal((await again.check('v', reads, writes, false)).state, 'complete');
  // Crops appear that dfdc crops did not record (its record says none): they are out of date, and
  // landmarks made from them would be too: it waits; its own outputs stay until crops has run again.
  s.writeOutputs(['0_0.png']);
  assert.deepEqual(await new StageCompletion(s.stateDir, 'landmarks', settingsHash({}), s.dirs).check('v', reads, writes, false), {
    state: 'waiting',
    on: { stage: 'crops', role: 'crops' },
    changed: true,
    stale: false,
  });
  // The video was fixed and cropped again: landmarks must be redone.
  await markDone(s);
  assert.equal((await new StageCompletion(s.stateDir, 'landmarks', settingsHash({}), s.dirs).check('v', reads, writes, false)).state, 'ready');
});

test('an input under another path than the earlier stage wrote (another --crops-dir) is not vouched for by its record', async () => {
  const s = setUp('elsewhere');
  s.writeOutputs(['0_0.png']);
  await markDone(s);
  const landmarks = new StageCompletion(s.stateDir, 'landmarks', settingsHash({}), s.dirs);
  const elsewhere = join(s.dirs.outputDir, 'crops2', 'v');
  const reads: Input[] = [{ role: 'crops', kind: 'folder', path: elsewhere, from: { stage: 'crops', unit: 'v' } }];
  const writes: Output[] = [{ role: 'landmarks', kind: 'folder', path: join(s.dirs.outputDir, 'landmarks', 'v') }];
  assert.equal((await landmarks.check('v', reads, writes, false)).state, 'waiting', 'absent, and no record says it should be');
  mkdirSync(elsewhere, { recursive: true });
  writeFileSync(join(elsewhere, '0_0.png'), 'made by another tool');
  landmarks.endChecks();
  assert.equal((await landmarks.check('v', reads, writes, false)).state, 'ready', 'present, made by another tool: taken as it is');
});

test('a video that is gone makes its unit unavailable, not stale; what was made from it stays good downstream', async () => {
  const s = setUp('gone');
  s.writeOutputs(['0_0.png']);
  await markDone(s);
  rmSync(s.video);
  assert.deepEqual(await s.completion().check('v', s.reads, s.writes, false), { state: 'unavailable', input: s.reads[0], reason: 'absent' });
  assert.equal(await verifyRecordAt(s.completion().recordPath('v'), s.dirs), true, 'crops made from a video that is gone are still good');
});

test('the upstream record is checked against its files: crops whose video changed are not complete', async () => {
  const s = setUp('upstream');
  await markDone(s);
  const record = s.completion().recordPath('v');
  assert.equal(await verifyRecordAt(record, s.dirs), true);
  writeFileSync(s.video, 'another video');
  assert.equal(await verifyRecordAt(record, s.dirs), false);
  assert.equal(await verifyRecordAt(join(s.stateDir, 'units', 'crops', 'absent.json'), s.dirs), false);
});

test('records name files relative to the output folder and the root, so moved folders keep their records', async () => {
  const s = setUp('moved');
  s.writeOutputs(['0_0.png']);
  await markDone(s);
  const record = JSON.parse(readFileSync(s.completion().recordPath('v'), 'utf8')) as { inputs: { path: string }[]; outputs: { path: string }[] };
  assert.deepEqual([record.inputs[0]!.path, record.outputs[0]!.path], ['root:v.mp4', 'output:crops/v']);
  const moved: DatasetDirs = { rootDir: `${s.dirs.rootDir}-moved`, outputDir: `${s.dirs.outputDir}-moved`, cropsDir: `${s.dirs.outputDir}-moved/crops` };
  renameSync(s.dirs.rootDir, moved.rootDir);
  renameSync(s.dirs.outputDir, moved.outputDir);
  const reads: Input[] = [{ role: 'video', kind: 'file', path: join(moved.rootDir, 'v.mp4') }];
  const writes: Output[] = [{ role: 'crops', kind: 'folder', path: join(moved.cropsDir, 'v') }];
  const completion = new StageCompletion(join(moved.outputDir, '.run-state'), 'crops', settingsHash({}), moved);
  assert.equal((await completion.check('v', reads, writes, false)).state, 'complete');
});

test("dfdc 0.1's marker counts only when its outputs are found as it counted them, and is then recorded anew", async () => {
  const s = setUp('legacy');
  const legacy = join(s.stateDir, 'done', 'crops');
  mkdirSync(legacy, { recursive: true });
  writeFileSync(join(legacy, 'v.json'), JSON.stringify({ status: 'ok', crops: 2, skippedBoxes: 0 }));
  s.writeOutputs(['0_0.png']);
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state, 'ready', 'one crop where the marker counted two');
  s.writeOutputs(['0_0.png', '10_0.png']);
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state, 'complete');
  assert.throws(() => readFileSync(join(legacy, 'v.json')), /ENOENT/, 'the old marker is replaced by a record');
  const record = JSON.parse(readFileSync(s.completion().recordPath('v'), 'utf8')) as { outputs: { id: { files: number } }[] };
  assert.equal(record.outputs[0]!.id.files, 2);
  rmSync(join(s.folder, '0_0.png'));
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state, 'ready', 'from now on the files decide');
});

test("dfdc 0.1's marker does not count when an input changed after it was written", async () => {
  const s = setUp('legacy-stale');
  const legacy = join(s.stateDir, 'done', 'crops');
  mkdirSync(legacy, { recursive: true });
  writeFileSync(join(legacy, 'v.json'), JSON.stringify({ status: 'ok', crops: 1 }));
  s.writeOutputs(['0_0.png']);
  const later = new Date(Date.now() + 60_000);
  utimesSync(s.video, later, later);
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state, 'ready');
});

test('a unit id too long for a file name still gets its own record', async () => {
  const s = setUp('long');
  const long = 'x'.repeat(250);
  const other = `${'x'.repeat(249)}y`;
  const completion = s.completion();
  assert.ok(Buffer.byteLength(completion.recordPath(long).split('/').at(-1)!) <= 200);
  assert.notEqual(completion.recordPath(long), completion.recordPath(other));
  await completion.markComplete(long, await completion.inputIdentities(s.reads), [], {});
  assert.equal((await completion.check(long, s.reads, [], false)).state, 'complete');
  assert.equal((await completion.check(other, s.reads, [], false)).state, 'ready');
});

test('on a network file system (asynchronous calls, folder times not trusted) a copy that kept only milliseconds still counts, and a removed file does not', async () => {
  const s = setUp('network');
  s.writeOutputs(['0_0.png', '10_0.png']);
  const network = (settings: Record<string, unknown> = {}) => new StageCompletion(s.stateDir, 'crops', settingsHash(settings), s.dirs, networkFileAccess);
  const completion = network();
  await completion.markComplete('v', await completion.inputIdentities(s.reads), s.writes, {});
  // A copy by a tool that keeps milliseconds: the folder's time loses its fraction.
  const time = statSync(s.folder).mtimeMs;
  utimesSync(s.folder, new Date(Math.floor(time)), new Date(Math.floor(time)));
  assert.equal((await network().check('v', s.reads, s.writes, false)).state, 'complete');
  rmSync(join(s.folder, '10_0.png'));
  utimesSync(s.folder, new Date(Math.floor(time)), new Date(Math.floor(time)));
  assert.equal((await network().check('v', s.reads, s.writes, false)).state, 'ready', 'the names decide, whatever the folder time says');
});

test('a unit whose files changed since its record is "changed"; one whose input an earlier stage made anew is not', async () => {
  const s = setUp('changed');
  s.writeOutputs(['0_0.png']);
  await markDone(s);
  writeFileSync(join(s.folder, '10_0.png'), 'added');
  assert.equal((await s.completion().check('v', s.reads, s.writes, false)).state === 'ready' && (await s.completion().check('v', s.reads, s.writes, false) as { changed: boolean }).changed, true);
  // Landmarks made from the crops, then crops made anew by dfdc crops: the usual cascade.
  await markDone(s);
  const reads: Input[] = [{ role: 'crops', kind: 'folder', path: s.folder, from: { stage: 'crops', unit: 'v' } }];
  const writes: Output[] = [{ role: 'landmarks', kind: 'folder', path: join(s.dirs.outputDir, 'landmarks', 'v') }];
  mkdirSync(writes[0]!.path, { recursive: true });
  const landmarks = () => new StageCompletion(s.stateDir, 'landmarks', settingsHash({}), s.dirs);
  await landmarks().markComplete('v', await landmarks().inputIdentities(reads), writes, {});
  writeFileSync(join(s.folder, '20_0.png'), 'new crop');
  await markDone(s);
  assert.deepEqual(await landmarks().check('v', reads, writes, false), { state: 'ready', keep: false, inputBytes: 0, changed: false });
});
