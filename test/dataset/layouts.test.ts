import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDataset, missingVideoReason, type Dataset } from '../../src/dataset/dataset.js';
import { assignFolds } from '../../src/dataset/folds.js';
import { groupsOf } from '../../src/dataset/groups.js';
import type { DatasetOptions } from '../../src/dataset/dataset.js';
import { selectVideos, shardOfOriginal } from '../../src/dataset/selection.js';
import { MAX_ID_BYTES, idOfPath, videoId } from '../../src/dataset/video-id.js';
import { FatalError, UsageError } from '../../src/util/errors.js';
import { runCli, scratchDir } from '../helpers/cli.js';

/**
 * The layouts as a hostile data set meets them: names that cannot be ids, ids that collide, lists
 * that cannot be read, splits that would leak. Roots are written here; a video given as '' holds a
 * few bytes that are not a video (no stage runs on them; `dfdc index` names an empty file).
 */
function root(files: Record<string, string>): string {
  const dir = scratchDir('layouts');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text === '' && path.toLowerCase().endsWith('.mp4') ? 'not a video' : text);
  }
  return dir;
}

function load(dir: string, options: DatasetOptions = {}): Promise<Dataset> {
  return loadDataset({ rootDir: dir, outputDir: join(dir, 'out'), cropsDir: join(dir, 'out', 'crops') }, options);
}

const problems = (dataset: Dataset) => dataset.problems.map((problem) => `${problem.file}: ${problem.message}`);

test('groups: keys shared directly or through others make one group, named by its first key', () => {
  assert.deepEqual(groupsOf([['b'], ['c', 'youtube:1'], ['a', 'youtube:1', 'youtube:2'], ['d', 'youtube:2'], ['e']]), ['b', 'youtube:1', 'youtube:1', 'youtube:1', 'e']);
  assert.deepEqual(groupsOf([['z', 'y'], ['x', 'y']]), ['x', 'x']);
});

test('ids: / made _, long ones shortened to at most 200 bytes ending in a hash, distinct ones kept distinct', () => {
  assert.equal(idOfPath('real/a.mp4'), 'real_a');
  assert.equal(idOfPath('set.v2/b.mp4'), 'set.v2_b');
  const long = (end: string) => idOfPath(`set.v2/${'x'.repeat(240)}${end}.mp4`);
  for (const id of [long('1'), long('2'), videoId('é'.repeat(150))]) {
    assert.ok(Buffer.byteLength(id) <= MAX_ID_BYTES, id);
    assert.match(id, /^[^._-].*-[0-9a-f]{8}$/);
  }
  assert.notEqual(long('1'), long('2'));
  assert.equal(long('1'), long('1'));
});

test('a manifest path whose id would be empty, "." or ".." is left out, never used as a folder name', async () => {
  const dataset = await load(
    root({ 'manifest.csv': 'path,label,original\n.mp4,REAL,\n..mp4,REAL,\nok/...mp4,REAL,\nreal/a.mp4,REAL,\n', 'real/a.mp4': '' }),
  );
  assert.deepEqual(dataset.videos.map((video) => video.id), ['real_a']);
  assert.equal(dataset.problems.length, 3, problems(dataset).join('\n'));
  assert.ok(problems(dataset).every((line) => /^manifest\.csv: line \d: .*left out$/.test(line)), problems(dataset).join('\n'));
});

test('two paths with one id: the second is named with the first, and a FAKE of the second is not given the first', async () => {
  const dataset = await load(
    root({ 'manifest.csv': 'path,label,original\na_b.mp4,REAL,\na/b.mp4,REAL,\nf.mp4,FAKE,a/b.mp4\ng.mp4,FAKE,./a_b.mp4\n', 'a_b.mp4': '', 'a/b.mp4': '', 'f.mp4': '', 'g.mp4': '' }),
  );
  assert.deepEqual(dataset.fakes.map((fake) => [fake.id, fake.originalId]), [['g', 'a_b']]);
  assert.match(problems(dataset).join('\n'), /line 3: "a\/b\.mp4" has the id "a_b", as a_b\.mp4 has: .*rename one of them/);
  assert.match(problems(dataset).join('\n'), /line 4: "f\.mp4"\.original "a\/b\.mp4" has the id of a_b\.mp4, .*fake skipped/);
});

test('manifest problems name the line of the file, blank lines counted; quoted commas are fine', async () => {
  const dataset = await load(root({ 'manifest.csv': 'path,label,original,group\r\n\r\n"real/a, 1.mp4",REAL,,"a, b"\r\n\r\n\r\nreal/b.mp4,REEL,,\r\n', 'real/a, 1.mp4': '', 'real/b.mp4': '' }));
  assert.deepEqual(dataset.videos.map((video) => [video.id, video.group]), [['real_a, 1', 'a, b']]);
  assert.deepEqual(problems(dataset), ['manifest.csv: line 6: label must be REAL or FAKE (got "REEL"): left out']);
});

test('a manifest that cannot be read stops the run before any work, naming the file and the fix', async () => {
  await assert.rejects(load(root({ 'manifest.csv': 'path,label,original\n"a.mp4,REAL,\n' })), (error: unknown) => error instanceof FatalError && /manifest\.csv is not valid CSV .*: fix it/.test(error.message));
  await assert.rejects(load(root({ 'manifest.csv': 'video,kind\n' })), (error: unknown) => error instanceof FatalError && /must begin with the header path,label,original/.test(error.message));
  await assert.rejects(load(root({ 'x.txt': '' }), { manifest: '/nonexistent/list.csv' }), (error: unknown) => error instanceof FatalError && /list\.csv cannot be read \(ENOENT\)/.test(error.message));
});

test('a root that matches no layout, or two, is a usage error saying what each expects', async () => {
  await assert.rejects(load(root({ 'notes.txt': '' })), (error: unknown) => error instanceof UsageError && /matches no layout .*ffpp: original_sequences/.test(error.message));
  await assert.rejects(
    load(root({ 'dataset.json': '{}', 'Celeb-real/id0_0000.mp4': '' })),
    (error: unknown) => error instanceof UsageError && /looks like celebdf and dfdcp: choose one with --dataset celebdf\|dfdcp/.test(error.message),
  );
  await assert.rejects(load(root({ 'original_sequences/youtube/c23/videos/000.mp4': '' }), { compression: ['raw'] }), /no video found as ffpp with --compression raw/);
});

test('a DFDC part folder given as the root gets one line saying to give its parent, recognised or forced', async () => {
  const dir = root({ 'dfdc_train_part_0/metadata.json': '{"a.mp4": {"label": "REAL"}}', 'dfdc_train_part_0/a.mp4': '' });
  const part = join(dir, 'dfdc_train_part_0');
  const partFolder = (error: unknown) =>
    error instanceof UsageError && /^--root-dir .*: metadata\.json is at its top, as in a DFDC part folder: give its parent folder \(the one holding the dfdc_train_part_\* folders/.test(error.message) && !/ffpp/.test(error.message);
  await assert.rejects(load(part), partFolder);
  await assert.rejects(load(part, { dataset: 'dfdc' }), partFolder);
  assert.equal((await load(dir)).videos.length, 1, 'its parent is the root');
});

test('FaceForensics++: names that fit no pattern or hold control characters are left out with one line each', async () => {
  const dataset = await load(
    root({
      'original_sequences/youtube/c23/videos/000.mp4': '',
      'original_sequences/youtube/c23/videos/0\t1.mp4': '',
      'manipulated_sequences/Deepfakes/c23/videos/000_001.mp4': '',
      'manipulated_sequences/Deepfakes/c23/videos/000-001.mp4': '',
      'manipulated_sequences/Deepfakes/masks/videos/000_001.mp4': '',
    }),
  );
  assert.deepEqual(dataset.videos.map((video) => video.id), ['youtube_c23_000', 'Deepfakes_c23_000_001']);
  assert.equal(dataset.problems.length, 2, problems(dataset).join('\n'));
});

test('an option of another layout is a usage error, not ignored', async () => {
  const dfdc = root({ 'dfdc_train_part_0/metadata.json': '{"a.mp4": {"label": "REAL"}}', 'dfdc_train_part_0/a.mp4': '', 'splits/train.json': '[]' });
  const refused = (option: string, layout: string) => (error: unknown) =>
    error instanceof UsageError && new RegExp(`^--${option} is for the ${layout} layout, but --root-dir .* is read as dfdc: drop --${option}`).test(error.message);
  await assert.rejects(load(dfdc, { splits: join(dfdc, 'splits') }), refused('splits', 'ffpp'));
  await assert.rejects(load(dfdc, { compression: ['c23'] }), refused('compression', 'ffpp'));
  await assert.rejects(load(dfdc, { dataset: 'dfdc', manifest: 'list.csv' }), refused('manifest', 'manifest'));
  assert.equal((await load(dfdc)).videos.length, 1);
});

test('a usage error found in the data set leaves no empty output folder behind, and keeps one that was there', () => {
  const dfdc = root({ 'dfdc_train_part_0/metadata.json': '{"a.mp4": {"label": "REAL"}}', 'dfdc_train_part_0/a.mp4': '', 'splits/train.json': '[]' });
  const fresh = join(dfdc, 'new-out');
  const refused = runCli(['detect', '--root-dir', dfdc, '--output-dir', fresh, '--splits', join(dfdc, 'splits')]);
  assert.equal(refused.status, 2, refused.stderr);
  assert.equal(existsSync(fresh), false, 'the refused run left its output folder');
  const kept = join(dfdc, 'kept-out');
  mkdirSync(join(kept, 'boxes'), { recursive: true });
  assert.equal(runCli(['detect', '--root-dir', dfdc, '--output-dir', kept, '--splits', join(dfdc, 'splits')]).status, 2);
  assert.ok(existsSync(join(kept, 'boxes')), 'a folder that was there went');
});

test('FaceForensics++ splits that name none of the videos are a usage error (the test videos would be trained on)', async () => {
  const dir = root({
    'original_sequences/youtube/c23/videos/000.mp4': '',
    'manipulated_sequences/Deepfakes/c23/videos/000_001.mp4': '',
    'other/train.json': '[["100","101"]]',
    'other/val.json': '[]',
    'other/test.json': '[["102","103"]]',
    'splits/train.json': '[["100","101"]]',
    'splits/val.json': '[]',
    'splits/test.json': '[["000","001"]]',
  });
  await assert.rejects(load(dir, { splits: join(dir, 'other') }), (error: unknown) => error instanceof UsageError && /^--splits .*other: none of its pairs names a video of --root-dir/.test(error.message));
  const dataset = await load(dir, { splits: join(dir, 'splits') });
  assert.deepEqual(dataset.videos.map((video) => [video.id, video.split]), [['youtube_c23_000', 'test'], ['Deepfakes_c23_000_001', 'test']]);
});

test('FaceForensics++ splits that name only some of the videos: the others go to the training folds, and a note says how many and which first', async () => {
  const dir = root({
    'original_sequences/youtube/c23/videos/000.mp4': '',
    'original_sequences/youtube/c23/videos/002.mp4': '',
    'manipulated_sequences/Deepfakes/c23/videos/000_001.mp4': '',
    'manipulated_sequences/Deepfakes/c23/videos/002_003.mp4': '',
    'splits/train.json': '[]',
    'splits/val.json': '[]',
    'splits/test.json': '[["000","001"]]',
  });
  const dataset = await load(dir, { splits: join(dir, 'splits') });
  assert.deepEqual(dataset.videos.map((video) => [video.id, video.split]), [['youtube_c23_000', 'test'], ['youtube_c23_002', null], ['Deepfakes_c23_000_001', 'test'], ['Deepfakes_c23_002_003', null]]);
  assert.equal(dataset.problems.length, 0, 'not a problem of a file: no exit 1 for it');
  assert.deepEqual(dataset.notes, [
    `--splits ${join(dir, 'splits')}: 2 of the 4 videos made from YouTube originals are in none of train.json, val.json and test.json (first: original_sequences/youtube/c23/videos/002.mp4): they go to the training folds; give FaceForensics++'s own dataset/splits folder if they should be split`,
  ]);
  assert.deepEqual((await load(dir)).notes, [], 'without --splits, nothing to say');
  const index = runCli(['index', '--root-dir', dir, '--splits', join(dir, 'splits')]);
  assert.equal(index.status, 0, index.stderr);
  assert.match(index.stderr, /^dfdc: --splits .*: 2 of the 4 videos .* are in none of/m);
});

test('FaceForensics++ splits on DeepFakeDetection alone are no error: its actors have no official split', async () => {
  const dir = root({
    'original_sequences/actors/c23/videos/01__walk.mp4': '',
    'manipulated_sequences/DeepFakeDetection/c23/videos/01_02__walk__ABCDEFGH.mp4': '',
    'splits/train.json': '[["000","001"]]',
    'splits/val.json': '[]',
    'splits/test.json': '[]',
  });
  const dataset = await load(dir, { splits: join(dir, 'splits') });
  assert.deepEqual(dataset.videos.map((video) => [video.id, video.split]), [['actors_c23_01__walk', null], ['DeepFakeDetection_c23_01_02__walk__ABCDEFGH', null]]);
});

test('FaceForensics++ fakes without any original of their compression: one line per folder, not one per fake', async () => {
  const dir = root({
    'original_sequences/youtube/c40/videos/000.mp4': '',
    'manipulated_sequences/Deepfakes/c23/videos/000_001.mp4': '',
    'manipulated_sequences/Deepfakes/c23/videos/001_000.mp4': '',
    'manipulated_sequences/Deepfakes/c40/videos/000_001.mp4': '',
    'manipulated_sequences/Deepfakes/c40/videos/002_003.mp4': '',
    'manipulated_sequences/DeepFakeDetection/c23/videos/01_02__walk__ABCDEFGH.mp4': '',
    'manipulated_sequences/Deepfakes/c0/videos/000_001.mp4': '',
  });
  const dataset = await load(dir);
  assert.deepEqual(problems(dataset), [
    "manipulated_sequences/DeepFakeDetection/c23/videos: 1 fake(s) skipped: original_sequences/actors/c23/videos holds no video, so none has its original (download the originals: FaceForensics++'s script with -d DeepFakeDetection_original -c c23)",
    // FaceForensics++'s script saves c0 as raw/.
    "manipulated_sequences/Deepfakes/c0/videos: 1 fake(s) skipped: original_sequences/youtube/c0/videos holds no video, so none has its original (download the originals: FaceForensics++'s script with -d original -c raw, then rename its raw folder to c0)",
    "manipulated_sequences/Deepfakes/c23/videos: 2 fake(s) skipped: original_sequences/youtube/c23/videos holds no video, so none has its original (download the originals: FaceForensics++'s script with -d original -c c23)",
    // The c40 originals are there, only one is missing: that fake gets its own line.
    'manipulated_sequences/Deepfakes/c40/videos: "002_003.mp4".original "original_sequences/youtube/c40/videos/002.mp4" is not there; fake skipped',
  ]);
  assert.deepEqual(dataset.pairs.map((pair) => [pair.original.id, pair.fakes.map((fake) => fake.id)]), [['youtube_c40_000', ['Deepfakes_c40_000_001']]]);
});

test('a FaceForensics++ or Celeb-DF folder that cannot be listed is reported, not taken for an empty one', async () => {
  const dir = root({
    'original_sequences/youtube/c40/videos/000.mp4': '',
    'manipulated_sequences/Deepfakes/c23/videos/000_001.mp4': '',
    'manipulated_sequences/Deepfakes/c40/videos': 'a file where the folder should be',
  });
  // A link to itself: readdir fails with ELOOP, as it fails with EACCES on a folder without read permission.
  mkdirSync(join(dir, 'original_sequences', 'youtube', 'c23'));
  symlinkSync('videos', join(dir, 'original_sequences', 'youtube', 'c23', 'videos'));
  assert.deepEqual(problems(await load(dir)), [
    'original_sequences/youtube/c23/videos: cannot be listed (ELOOP): its videos are left out; give dfdc read access to it (or fix the link), then rerun',
    'manipulated_sequences/Deepfakes/c40/videos: is a file where a folder is expected: move it away, or put the folder there, then rerun',
  ]);
  const celebdf = root({ 'Celeb-real/id0_0000.mp4': '' });
  symlinkSync('Celeb-synthesis', join(celebdf, 'Celeb-synthesis'));
  assert.deepEqual(problems(await load(celebdf)), [
    'Celeb-synthesis: cannot be listed (ELOOP): its videos are left out; give dfdc read access to it (or fix the link), then rerun',
  ]);
});

test('a partial download: the terminal gets ten lines of a folder and how many more, the run report every one', () => {
  const files: Record<string, string> = { 'original_sequences/youtube/c23/videos/000.mp4': '' };
  for (let n = 1; n <= 25; n++) files[`manipulated_sequences/Deepfakes/c23/videos/${String(n).padStart(3, '0')}_000.mp4`] = '';
  const dir = root(files);
  // Landmarks: a unit stage that decodes nothing here (it waits for crops), and writes the run report.
  const result = runCli(['landmarks', '--root-dir', dir, '--output-dir', join(dir, 'out'), '--quiet']);
  assert.equal(result.status, 1, result.stderr);
  const lines = result.stderr.split('\n').filter((line) => line.includes('manipulated_sequences/Deepfakes/c23/videos'));
  assert.equal(lines.length, 11, lines.join('\n'));
  assert.ok(lines.slice(0, 10).every((line) => /is not there; fake skipped$/.test(line)), lines.join('\n'));
  assert.match(lines[10]!, /manipulated_sequences\/Deepfakes\/c23\/videos: 15 more problem\(s\) like the ones above \(every one is in .*out\/run-report\.json\)$/);
  const report = JSON.parse(readFileSync(join(dir, 'out', 'run-report.json'), 'utf8')) as { dataset: { problems: unknown[] } };
  assert.equal(report.dataset.problems.length, 25);
  // Without a unit stage there is no run report: dfdc index --all lists every problem.
  const folds = runCli(['folds', '--root-dir', dir, '--output-dir', join(dir, 'out'), '--quiet']);
  assert.match(folds.stderr, /15 more problem\(s\) like the ones above \(every one is in the output of dfdc index --all --root-dir /);
  const index = runCli(['index', '--root-dir', dir]);
  assert.equal(index.stderr.split('\n').filter((line) => line.includes('is not there; fake skipped')).length, 10);
  const all = runCli(['index', '--all', '--root-dir', dir]);
  assert.equal(all.stderr.split('\n').filter((line) => line.includes('is not there; fake skipped')).length, 25);
});

test('a listed video whose file is absent is said to be listed in the file that lists it; dfdc index names each one', async () => {
  const manifest = root({ 'lists/videos.csv': 'path,label,original\na.mp4,REAL,\ngone.mp4,REAL,\n', 'a.mp4': '' });
  const dataset = await load(manifest, { manifest: join(manifest, 'lists/videos.csv') });
  assert.deepEqual(dataset.missingVideos.map((video) => video.relativePath), ['gone.mp4']);
  assert.equal(missingVideoReason(dataset), 'file not found (listed in lists/videos.csv)');
  const dfdcp = root({ 'dataset.json': '{"original_videos/1/a.mp4": {"label": "real", "set": "train"}}' });
  assert.equal(missingVideoReason(await load(dfdcp)), 'file not found (listed in dataset.json)');
  const dfdc = root({ 'dfdc_train_part_0/metadata.json': '{"gone.mp4": {"label": "REAL"}}' });
  assert.equal(missingVideoReason(await load(dfdc)), 'file not found (listed in metadata.json)');
  // The CSV rows do not say which files are absent: stderr names every one before the count.
  const index = runCli(['index', '--root-dir', manifest, '--manifest', join(manifest, 'lists/videos.csv')]);
  assert.equal(index.status, 1, index.stderr);
  assert.match(index.stderr, /^dfdc: gone\.mp4: file not found \(listed in lists\/videos\.csv\)\ndfdc: 1 listed video\(s\) are not on disk or cannot be read \(each named above\)/m);
});

test('FaceForensics++ splits: a folder that is not there is a usage error, a file that is not a pair list stops the run', async () => {
  const dir = root({ 'original_sequences/youtube/c23/videos/000.mp4': '', 'splits/train.json': '[["000","001"]]', 'splits/val.json': '[]', 'splits/test.json': 'not json' });
  await assert.rejects(load(dir, { splits: join(dir, 'split') }), (error: unknown) => error instanceof UsageError && /--splits .*split: no such folder/.test(error.message));
  await assert.rejects(load(dir, { splits: join(dir, 'splits') }), (error: unknown) => error instanceof FatalError && /test\.json cannot be read as JSON/.test(error.message));
});

test('Celeb-DF: a test list line that is not "<1|0> <path>" stops the run instead of training on a test video', async () => {
  const dir = root({ 'Celeb-real/id0_0000.mp4': '', 'List_of_testing_videos.txt': '1 Celeb-real/id0_0000.mp4\r\nCeleb-real/id0_0000.mp4\r\n' });
  await assert.rejects(load(dir), (error: unknown) => error instanceof FatalError && /List_of_testing_videos\.txt: line 2 is not "<1\|0> <path>"/.test(error.message));
});

test('shards of a layout other than DFDC follow fold groups: every FaceForensics++ pair in one shard', async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i += 2) {
    const [a, b] = [String(i).padStart(3, '0'), String(i + 1).padStart(3, '0')];
    Object.assign(files, {
      [`original_sequences/youtube/c23/videos/${a}.mp4`]: '',
      [`original_sequences/youtube/c23/videos/${b}.mp4`]: '',
      [`manipulated_sequences/Deepfakes/c23/videos/${a}_${b}.mp4`]: '',
      [`manipulated_sequences/FaceSwap/c23/videos/${b}_${a}.mp4`]: '',
    });
  }
  const dataset = await load(root(files));
  const shardOf = new Map<string, number>();
  for (let index = 0; index < 4; index += 1) {
    for (const video of selectVideos(dataset, { shard: { index, count: 4 } }).videos) {
      assert.equal(shardOf.has(video.id), false, `${video.id} is in two shards`);
      shardOf.set(video.id, index);
    }
  }
  assert.equal(shardOf.size, dataset.videos.length);
  for (let i = 0; i < 40; i += 2) {
    const [a, b] = [String(i).padStart(3, '0'), String(i + 1).padStart(3, '0')];
    const shards = new Set([`youtube_c23_${a}`, `youtube_c23_${b}`, `Deepfakes_c23_${a}_${b}`, `FaceSwap_c23_${b}_${a}`].map((id) => shardOf.get(id)));
    assert.equal(shards.size, 1, `pair ${a}/${b} is split over shards`);
    assert.equal([...shards][0], shardOfOriginal(`youtube:${a}`, 4));
  }
});

test('a metadata.json that is a FIFO is one problem, not a run that waits for ever', async () => {
  const dir = root({ 'dfdc_train_part_0/metadata.json': '{"a.mp4": {"label": "REAL"}}', 'dfdc_train_part_1/a.mp4': '' });
  assert.equal(spawnSync('mkfifo', [join(dir, 'dfdc_train_part_1', 'metadata.json')]).status, 0);
  const dataset = await load(dir);
  assert.deepEqual(problems(dataset), ['dfdc_train_part_1/metadata.json: is not a regular file (a FIFO or a device): part skipped; replace it with the metadata.json of the download']);
});

test('DFDC: a 250-byte file name gives an id within 200 bytes; a name on disk in another Unicode normalisation is said to be one', async () => {
  const long = `${'v'.repeat(246)}.mp4`;
  const nfc = 'caf\u00e9.mp4';
  const dir = root({ 'dfdc_train_part_0/metadata.json': JSON.stringify({ [long]: { label: 'REAL' }, [nfc]: { label: 'REAL' } }), [`dfdc_train_part_0/${long}`]: '', [`dfdc_train_part_0/${nfc.normalize('NFD')}`]: '' });
  const dataset = await load(dir);
  const [longVideo] = dataset.videos;
  assert.ok(Buffer.byteLength(longVideo!.id) <= MAX_ID_BYTES && longVideo!.relativePath.endsWith(long));
  assert.deepEqual(dataset.missingVideos.map((video) => video.name), [nfc]);
  assert.match(problems(dataset).join('\n'), /"caf.+\.mp4" is on disk as "caf.+\.mp4", the same name in another Unicode normalisation \(NFC\/NFD\)/);
});

test('--group identity keeps every video of one person in one fold, and says when the groups cannot fill the folds', async () => {
  const dataset = await load(
    root({
      'Celeb-real/id0_0000.mp4': '',
      'Celeb-real/id1_0001.mp4': '',
      'Celeb-real/id2_0002.mp4': '',
      'Celeb-synthesis/id0_id1_0000.mp4': '',
      'Celeb-synthesis/id2_id2_0002.mp4': '',
      'YouTube-real/00000.mp4': '',
    }),
  );
  const byDefault = assignFolds(dataset, { nSplits: 4, partCount: 50 });
  const byIdentity = assignFolds(dataset, { nSplits: 4, partCount: 50 }, 'identity');
  const fold = (assignment: typeof byDefault, id: string) => assignment.foldOf(dataset.videos.find((video) => video.id === id)!);
  // id1 appears in id0's fake: by identity, id1's own video shares their fold.
  assert.equal(fold(byIdentity, 'Celeb-real_id1_0001'), fold(byIdentity, 'Celeb-real_id0_0000'));
  assert.equal(fold(byIdentity, 'Celeb-synthesis_id0_id1_0000'), fold(byIdentity, 'Celeb-real_id0_0000'));
  assert.equal(dataset.videos.find((video) => video.id === 'Celeb-real_id1_0001')!.identityGroup, 'identity:celeb:id0');
  assert.equal(fold(byDefault, 'Celeb-synthesis_id0_id1_0000'), fold(byDefault, 'Celeb-real_id0_0000'));
  // Two identity groups with rows in folds.csv (YouTube-real has no FAKE, so no row) for four folds.
  assert.match(byIdentity.notes.join('\n'), /^2 fold group\(s\) for 4 folds: fold\(s\) .* have no video/m);
  assert.deepEqual(assignFolds(dataset, { nSplits: 1, partCount: 50 }, 'identity').notes, []);
});

test('Celeb-DF: a test list that names none of the videos is refused rather than train on every test video', async () => {
  const files = { 'Celeb-real/id0_0000.mp4': '', 'Celeb-synthesis/id0_id1_0000.mp4': '', 'YouTube-real/00001.mp4': '' };
  const shifted = root({ ...files, 'List_of_testing_videos.txt': '1 Celeb-DF-v2/Celeb-real/id0_0000.mp4\n0 Celeb-DF-v2/Celeb-synthesis/id0_id1_0000.mp4\n' });
  await assert.rejects(
    load(shifted),
    (error: unknown) =>
      error instanceof UsageError && /none of its 2 paths \(first: Celeb-DF-v2\/Celeb-real\/id0_0000\.mp4\) is a video of --root-dir .*relative to the folder holding Celeb-real/.test(error.message),
  );
  const partly = await load(root({ ...files, 'List_of_testing_videos.txt': '1 Celeb-real/id0_0000.mp4\n1 Celeb-real/id9_0009.mp4\n' }));
  assert.deepEqual(problems(partly), ['List_of_testing_videos.txt: lists 1 video(s) that are not there (first: Celeb-real/id9_0009.mp4): they cannot be tested on; the listed videos that are there go to the test split']);
  assert.equal(partly.videos.find((video) => video.id === 'Celeb-real_id0_0000')!.split, 'test');
  // The official list over a subset without any test video (the training videos alone): its paths are Celeb-DF's, no mistake.
  const subset = await load(root({ ...files, 'List_of_testing_videos.txt': '1 Celeb-real/id9_0009.mp4\n0 Celeb-synthesis/id9_id1_0009.mp4\n' }));
  assert.deepEqual(problems(subset), ['List_of_testing_videos.txt: lists 2 video(s) that are not there (first: Celeb-real/id9_0009.mp4): they cannot be tested on; the listed videos that are there go to the test split']);
});

test('videos that are a link to content not fetched, a folder, a FIFO or empty are named by dfdc index with their fix, in every layout', async () => {
  const dfdc = root({ 'dfdc_train_part_0/metadata.json': '{"ok.mp4": {"label": "REAL"}, "annexed.mp4": {"label": "REAL"}, "dir.mp4": {"label": "REAL"}, "fifo.mp4": {"label": "REAL"}, "empty.mp4": {"label": "REAL"}}', 'dfdc_train_part_0/ok.mp4': '' });
  const part = join(dfdc, 'dfdc_train_part_0');
  symlinkSync('../.git/annex/objects/Xk/annexed.mp4', join(part, 'annexed.mp4'));
  mkdirSync(join(part, 'dir.mp4'));
  spawnSync('mkfifo', [join(part, 'fifo.mp4')]);
  writeFileSync(join(part, 'empty.mp4'), '');
  const index = runCli(['index', '--root-dir', dfdc]);
  assert.equal(index.status, 1, index.stderr);
  const lines = index.stderr.split('\n');
  assert.ok(lines.includes('dfdc: dfdc_train_part_0/annexed.mp4: is a symbolic link to ../.git/annex/objects/Xk/annexed.mp4, which is not there: fetch its content (git annex get, dvc pull, datalad get) or fix the link, then rerun'), index.stderr);
  assert.ok(lines.includes('dfdc: dfdc_train_part_0/dir.mp4: is a folder, not a video file: move it away, or put the video there, then rerun'), index.stderr);
  if (existsSync(join(part, 'fifo.mp4'))) assert.ok(lines.includes('dfdc: dfdc_train_part_0/fifo.mp4: is not a regular file (a FIFO, a socket or a device): replace it with the video file, then rerun'), index.stderr);
  assert.ok(lines.includes('dfdc: dfdc_train_part_0/empty.mp4: is empty (0 bytes: a download cut short?): download it again, then rerun'), index.stderr);
  assert.ok(!lines.some((line) => line.includes('ok.mp4')), index.stderr);
  // A layout that lists the files it finds lists such entries too, rather than drop them without a word.
  const celebdf = root({ 'Celeb-real/id0_0000.mp4': '' });
  symlinkSync('../.git/annex/objects/Xk/id1_0001.mp4', join(celebdf, 'Celeb-real', 'id1_0001.mp4'));
  assert.deepEqual((await load(celebdf)).videos.map((video) => video.id), ['Celeb-real_id0_0000', 'Celeb-real_id1_0001']);
  const celebIndex = runCli(['index', '--root-dir', celebdf]);
  assert.equal(celebIndex.status, 1, celebIndex.stderr);
  assert.match(celebIndex.stderr, /^dfdc: Celeb-real\/id1_0001\.mp4: is a symbolic link to \.\.\/\.git\/annex\/objects\/Xk\/id1_0001\.mp4, which is not there/m);
});

test('DFDC: a part whose metadata.json is a link to nothing, or is missing (a mount not there), or in a folder named as an output folder or with a line break in its name, is named once, not left out without a word', async () => {
  const dir = root({ 'dfdc_train_part_0/metadata.json': '{"a.mp4": {"label": "REAL"}}', 'dfdc_train_part_0/a.mp4': '', 'boxes/metadata.json': '{"b.mp4": {"label": "REAL"}}', 'boxes/b.mp4': '' });
  // A mount point with nothing mounted: an empty folder named as a part, or a link to a share not mounted here.
  mkdirSync(join(dir, 'dfdc_train_part_1'));
  symlinkSync('/mnt/dfdc-share-not-mounted/part_2', join(dir, 'dfdc_train_part_2'));
  mkdirSync(join(dir, 'annexed'));
  // A line break in a part's name: one line for the folder, not one per video blaming its file name.
  mkdirSync(join(dir, 'dfdc_train_part_7\nx'));
  writeFileSync(join(dir, 'dfdc_train_part_7\nx', 'metadata.json'), '{"c.mp4": {"label": "REAL"}, "d.mp4": {"label": "REAL"}}');
  symlinkSync('../.git/annex/objects/Xk/metadata.json', join(dir, 'annexed', 'metadata.json'));
  const dataset = await loadDataset({ rootDir: dir, outputDir: join(dir, 'elsewhere'), cropsDir: join(dir, 'elsewhere', 'crops') });
  assert.deepEqual(dataset.videos.map((video) => video.id), ['a']);
  assert.deepEqual(problems(dataset), [
    '"dfdc_train_part_7\\nx": a part folder whose name holds control characters (a line break, a tab), which cannot go into output paths and folds.csv: part skipped; rename the folder, then rerun',
    'boxes/metadata.json: is in boxes/, a name dfdc keeps for its output folders: part skipped; rename the folder, then rerun',
    'dfdc_train_part_1: holds no metadata.json (a mount that is not there, or a download not unpacked?): its videos are left out; mount or unpack it (or remove the folder if it is no part), then rerun',
    'dfdc_train_part_2: is a link to /mnt/dfdc-share-not-mounted/part_2, which is not there (a share not mounted on this node?): its videos are left out; mount it (or remove the link if it is no part), then rerun',
    'annexed/metadata.json: is a symbolic link to ../.git/annex/objects/Xk/metadata.json, which is not there: part skipped; fetch its content (git annex get, dvc pull, datalad get) or fix the link, then rerun',
  ]);
});

test('a manifest or dataset.json path on disk in another Unicode normalisation is said to be one, as in DFDC', async () => {
  const nfc = 'v/caf\u00e9.mp4';
  const manifest = await load(root({ 'manifest.csv': `path,label,original\n${nfc},REAL,\n`, [nfc.normalize('NFD')]: '' }));
  assert.deepEqual(manifest.missingVideos.map((video) => video.relativePath), [nfc]);
  assert.deepEqual(problems(manifest), [`manifest.csv: line 2: "caf\u00e9.mp4" is on disk as "cafe\u0301.mp4", the same name in another Unicode normalisation (NFC/NFD), which is another file name: rename the file or the record so they match byte for byte`]);
  const dfdcp = await load(root({ 'dataset.json': JSON.stringify({ [`original_videos/1/${'caf\u00e9.mp4'}`]: { label: 'real', set: 'train' } }), [`original_videos/1/${'caf\u00e9.mp4'.normalize('NFD')}`]: '' }));
  assert.equal(problems(dfdcp).length, 1);
  assert.match(problems(dfdcp)[0]!, /^dataset\.json: "caf.+\.mp4" is on disk as "caf.+\.mp4", the same name in another Unicode normalisation/);
});
