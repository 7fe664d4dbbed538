import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, runCliStopped, scratchDir } from '../helpers/cli.js';
import { copyInto, copyParityMetadata, writeDataRoot } from '../helpers/data-root.js';
import { fixturesDir, parityDir, sharedTest } from '../helpers/shared.js';

/**
 * `dfdc folds` through the real CLI (the built dist/src/cli/index.js in a child process): parity with
 * the reference's folds.csv as a row set, determinism of the seeded shuffle, and the exact one-line
 * messages and exit codes for bad metadata, bad part folders, leaks and bad options.
 */

const sortedLines = (csv: string) => csv.trimEnd().split('\n').slice(1).sort();

function makeCrops(cropsDir: string, crops: Readonly<Record<string, readonly string[]>>): void {
  for (const [id, files] of Object.entries(crops)) {
    mkdirSync(join(cropsDir, id), { recursive: true });
    for (const file of files) writeFileSync(join(cropsDir, id, file), '');
  }
}

for (const name of ['dataset_a', 'dataset_b']) {
  const expected = join(parityDir, name, 'expected');
  sharedTest(`CLI: dfdc folds reproduces ${name}'s folds.csv as a row set`, expected, async () => {
    const dir = scratchDir('folds-cli');
    const root = join(dir, 'root');
    await copyParityMetadata(join(parityDir, name, 'input'), root);
    const result = runCli(['folds', '--root-dir', root, '--out', 'folds.csv', '--crops-dir', join(expected, 'crops')], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    const ours = readFileSync(join(dir, 'folds.csv'), 'utf8');
    const theirs = readFileSync(join(expected, 'folds.csv'), 'utf8');
    assert.equal(ours.split('\n')[0], 'video,file,label,original,frame,fold');
    assert.deepEqual(sortedLines(ours), sortedLines(theirs));
    assert.match(result.lines.at(-1)!, new RegExp(`^folds: wrote ${sortedLines(theirs).length} rows for \\d+ videos in \\d+ of 16 folds \\(.+\\) to ${join(dir, 'folds.csv')}$`));
    assert.equal(result.lines.length, 1, 'folds needs no video file: the missing ones are not mentioned');
    assert.deepEqual(readdirSync(dir), ['folds.csv', 'root'], 'no temporary file left behind');
  });
}

sharedTest('CLI: the same seed gives the same bytes, another seed another order of the same rows', join(parityDir, 'dataset_b'), async () => {
  const dir = scratchDir('folds-cli');
  await copyParityMetadata(join(parityDir, 'dataset_b', 'input'), join(dir, 'root'));
  const crops = join(parityDir, 'dataset_b', 'expected', 'crops');
  const run = (out: string, ...seed: string[]) => {
    const result = runCli(['folds', '--root-dir', 'root', '--out', out, '--crops-dir', crops, ...seed], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    return readFileSync(join(dir, out), 'utf8');
  };
  const first = run('a.csv');
  const again = run('sub/b.csv', '--seed', '777');
  const other = run('c.csv', '--seed', '778');
  assert.equal(again, first, 'default seed 777, twice: byte for byte');
  assert.notEqual(other, first);
  assert.deepEqual(sortedLines(other), sortedLines(first));
});

test('CLI: malformed metadata is reported one line each, the rest is processed, exit 1', async () => {
  const root = scratchDir('folds-cli');
  await writeDataRoot(
    root,
    [
      { part: 0, name: 'r.mp4', record: null, source: 'empty' },
      { part: 0, name: 'f.mp4', record: null, source: 'empty' },
      { part: 3, name: 'abc.mp4', record: { label: 'real' } },
      { part: 3, name: 'nofake.mp4', record: { label: 'FAKE' } },
      { part: 3, name: 'orphan.mp4', record: { label: 'FAKE', original: 'ghost.mp4' } },
      { part: 3, name: '../x.mp4', record: { label: 'REAL' } },
      { part: 3, name: '/abs/y.mp4', record: { label: 'REAL' } },
      { part: 3, name: 'esc.mp4', record: { label: 'FAKE', original: '../r.mp4' } },
      { part: 3, name: 'notvideo.txt', record: { label: 'REAL' } },
    ],
    {
      rawMetadata: {
        dfdc_train_part_0: `{\n  "r.mp4": { "label": "REAL", "split": "train", "extra": {"x": 1} },\n  "f.mp4": { "label": "FAKE", "original": "r.mp4" }\n}\n`,
        dfdc_train_part_1: '{"a.mp4": {"label": "REAL"',
        dfdc_train_part_2: '[{"a.mp4": {"label": "REAL"}}]',
      },
    },
  );
  makeCrops(join(root, 'crops'), { r: ['0_0.png', '10_1.png', '20_2.png'], f: ['0_0.png'], abc: ['0_0.png'] });
  const result = runCli(['folds', '--root-dir', '.', '--out', 'folds.csv'], { cwd: root });
  assert.equal(result.status, 1, result.stderr);
  const plain = 'must be a plain file name in the part folder (no path separators, not absolute, not . or ..)';
  assert.match(result.lines[0]!, /^dfdc_train_part_1\/metadata\.json: not valid JSON \(.+\); part skipped$/);
  assert.deepEqual(result.lines.slice(1), [
    'dfdc_train_part_2/metadata.json: not a JSON object mapping video file names to records but an array; part skipped',
    'dfdc_train_part_3/metadata.json: "abc.mp4".label must be REAL or FAKE (got "real")',
    'dfdc_train_part_3/metadata.json: "nofake.mp4".original is missing: a FAKE must name its REAL original, e.g. "xyz.mp4"',
    `dfdc_train_part_3/metadata.json: "../x.mp4" ${plain}`,
    `dfdc_train_part_3/metadata.json: "/abs/y.mp4" ${plain}`,
    `dfdc_train_part_3/metadata.json: "esc.mp4".original "../r.mp4" ${plain}`,
    'dfdc_train_part_3/metadata.json: "notvideo.txt" must end in .mp4 (a video id is its file name without .mp4)',
    'dfdc_train_part_3/metadata.json: "orphan.mp4".original "ghost.mp4" is not in any metadata.json; fake skipped',
    `folds: wrote 3 rows for 2 videos in 1 of 16 folds (0) to ${join(root, 'folds.csv')}`,
  ]);
  assert.deepEqual(sortedLines(readFileSync(join(root, 'folds.csv'), 'utf8')), ['f,0_0.png,1,r,0,0', 'r,0_0.png,0,r,0,0', 'r,10_1.png,0,r,10,0']);
});

test('CLI: missing video files do not fail folds, which needs only metadata and crops', async () => {
  const root = scratchDir('folds-cli');
  await writeDataRoot(root, [
    { part: 7, name: 'r.mp4', record: { label: 'REAL' }, source: 'empty' },
    { part: 7, name: 'f.mp4', record: { label: 'FAKE', original: 'r.mp4' } },
  ]);
  makeCrops(join(root, 'out', 'crops'), { r: ['0_0.png'], f: ['0_0.png'] });
  const result = runCli(['folds', '--root-dir', '.', '--output-dir', 'out', '--out', 'folds.csv'], { cwd: root });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(result.lines, [`folds: wrote 2 rows for 2 videos in 1 of 16 folds (2) to ${join(root, 'folds.csv')}`]);
});

test('CLI: a part folder without a number (Kaggle sample) gets the fold of its group; one beyond --parts is a clear error, exit 3', async () => {
  const kaggleRoot = scratchDir('folds-cli');
  await writeDataRoot(kaggleRoot, [
    { part: 'train_sample_videos', name: 'r.mp4', record: { label: 'REAL' }, source: 'empty' },
    { part: 'train_sample_videos', name: 'f.mp4', record: { label: 'FAKE', original: 'r.mp4' }, source: 'empty' },
  ]);
  makeCrops(join(kaggleRoot, 'crops'), { r: ['0_0.png'], f: ['0_0.png'] });
  const kaggle = runCli(['folds', '--root-dir', kaggleRoot, '--out', 'folds.csv'], { cwd: kaggleRoot });
  assert.equal(kaggle.status, 0, kaggle.stderr);
  // FNV-1a 32 of "train_sample_videos" modulo 16, worked out by hand from the published algorithm.
  const fold = [...'train_sample_videos'].reduce((hash, c) => Math.imul(hash ^ c.charCodeAt(0), 0x01000193) >>> 0, 0x811c9dc5) % 16;
  const rows = readFileSync(join(kaggleRoot, 'folds.csv'), 'utf8').trimEnd().split('\n').slice(1);
  assert.deepEqual(rows.map((row) => row.split(',').at(-1)).sort(), [String(fold), String(fold)]);

  const beyondRoot = scratchDir('folds-cli');
  await writeDataRoot(beyondRoot, [{ part: 12, name: 'r.mp4', record: { label: 'REAL' }, source: 'empty' }]);
  const beyond = runCli(['folds', '--root-dir', beyondRoot, '--out', 'folds.csv', '--parts', '10', '--n-splits', '5'], { cwd: beyondRoot });
  assert.equal(beyond.status, 3);
  assert.deepEqual(beyond.lines, [
    'dfdc: part folder dfdc_train_part_12 has number 12, outside 0..9 (10 parts): give 13 or more parts (--parts in dfdc folds, --total-parts in dfdc run), or rename the folder',
  ]);
});

test('CLI: a fake and its original in different folds stop folds with the pair named, exit 3', async () => {
  const root = scratchDir('folds-cli');
  await writeDataRoot(root, [
    { part: 2, name: 'r.mp4', record: { label: 'REAL' } },
    { part: 3, name: 'f.mp4', record: { label: 'FAKE', original: 'r.mp4' } },
  ]);
  const leak = runCli(['folds', '--root-dir', root, '--out', 'folds.csv'], { cwd: root });
  assert.equal(leak.status, 3);
  assert.deepEqual(leak.lines, [
    "dfdc: leak between folds: fake f (dfdc_train_part_3, fold 1) and its original r (dfdc_train_part_2, fold 0) are in different folds; keep each fake in its original's part, or choose --n-splits, or the number of parts (--parts in dfdc folds, --total-parts in dfdc run), so that both parts share a fold",
  ]);
  makeCrops(join(root, 'crops'), { r: ['0_0.png'], f: ['0_0.png'] });
  const fine = runCli(['folds', '--root-dir', root, '--out', 'folds.csv', '--n-splits', '25'], { cwd: root });
  assert.equal(fine.status, 0, fine.stderr);
});

test('CLI: bad options are one line and exit 2', async () => {
  const root = scratchDir('folds-cli');
  await writeDataRoot(root, [], { emptyParts: [0] });
  const cases: [string[], string][] = [
    [['--n-splits', '0'], 'dfdc: --n-splits: must be at least 1'],
    [['--n-splits', 'abc'], 'dfdc: --n-splits: must be an integer'],
    [['--n-splits', '2.5'], 'dfdc: --n-splits: must be an integer'],
    [['--parts', '0'], 'dfdc: --parts: must be at least 1'],
    // The other stages' --parts selects parts; here it counts them.
    [['--parts', '0,1'], 'dfdc: --parts: must be the number of parts P of the full data set, such as 50 (folds always read every part)'],
    [['--parts', '10', '--n-splits', '11'], 'dfdc: --n-splits: must be at most the number of parts (11 > 10; the number of parts is --parts in dfdc folds, --total-parts in dfdc run)'],
    [['--seed', 'x'], 'dfdc: --seed: must be an integer'],
    [['--seed', '1e30'], 'dfdc: --seed: must be an integer'],
  ];
  for (const [args, line] of cases) {
    const result = runCli(['folds', '--root-dir', root, '--out', 'f.csv', ...args], { cwd: root });
    assert.equal(result.status, 2, args.join(' '));
    assert.deepEqual(result.lines, [line], args.join(' '));
  }
  const folder = runCli(['folds', '--root-dir', root, '--out', '.'], { cwd: root });
  assert.equal(folder.status, 2);
  assert.deepEqual(folder.lines, ['dfdc: --out . names a folder: give a file name such as folds.csv']);
  assert.deepEqual(readdirSync(root), ['dfdc_train_part_0'], 'nothing written');
});

test('CLI: without --out, folds.csv goes into the output folder, as with dfdc run', async () => {
  const root = scratchDir('folds-cli');
  await writeDataRoot(root, [
    { part: 0, name: 'r.mp4', record: { label: 'REAL' } },
    { part: 0, name: 'f.mp4', record: { label: 'FAKE', original: 'r.mp4' } },
  ]);
  makeCrops(join(root, 'out', 'crops'), { r: ['0_0.png'], f: ['0_0.png'] });
  const result = runCli(['folds', '--root-dir', '.', '--output-dir', 'out'], { cwd: root });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(result.lines, [`folds: wrote 2 rows for 2 videos in 1 of 16 folds (0) to ${join(root, 'out', 'folds.csv')}`]);
  assert.deepEqual(sortedLines(readFileSync(join(root, 'out', 'folds.csv'), 'utf8')), ['f,0_0.png,1,r,0,0', 'r,0_0.png,0,r,0,0']);
});

test('CLI: a test video takes its whole fold group to folds-test.csv, with the REAL videos that have no FAKE; the file goes when the split does', () => {
  const root = scratchDir('folds-cli');
  const manifest = (test: boolean) =>
    ['path,label,original,split', 'r.mp4,REAL,,', `f.mp4,FAKE,r.mp4,${test ? 'test' : ''}`, 'r2.mp4,REAL,,', 'f2.mp4,FAKE,r2.mp4,', `solo.mp4,REAL,,${test ? 'test' : ''}`, ''].join('\n');
  writeFileSync(join(root, 'manifest.csv'), manifest(true));
  for (const name of ['r', 'f', 'r2', 'f2', 'solo']) writeFileSync(join(root, `${name}.mp4`), '');
  makeCrops(join(root, 'crops'), { r: ['0_0.png'], f: ['0_0.png'], r2: ['0_0.png'], f2: ['0_0.png'], solo: ['0_0.png', '10_0.png'] });
  const result = runCli(['folds', '--root-dir', root, '--n-splits', '2', '--quiet']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /1 video\(s\) outside the test split share a fold group with test videos/);
  assert.deepEqual(sortedLines(readFileSync(join(root, 'folds-test.csv'), 'utf8')), ['f,0_0.png,1,r,0,-1', 'r,0_0.png,0,r,0,-1', 'solo,0_0.png,0,solo,0,-1', 'solo,10_0.png,0,solo,10,-1']);
  assert.deepEqual(sortedLines(readFileSync(join(root, 'folds.csv'), 'utf8')).map((line) => line.split(',').slice(0, 5).join(',')), ['f2,0_0.png,1,r2,0', 'r2,0_0.png,0,r2,0']);

  writeFileSync(join(root, 'manifest.csv'), manifest(false));
  const again = runCli(['folds', '--root-dir', root, '--n-splits', '2']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /removed .*folds-test\.csv: the data set has no test split now/);
  assert.equal(readdirSync(root).includes('folds-test.csv'), false);
  assert.equal(sortedLines(readFileSync(join(root, 'folds.csv'), 'utf8')).length, 4);
});

test('CLI: the balance notes count the videos folds.csv has rows for, not those of the test file nor REALs without a FAKE', () => {
  const root = scratchDir('folds-cli');
  const numbers = [1, 2, 3, 4, 5, 6];
  const lines = [
    'path,label,original,split',
    'r.mp4,REAL,,',
    'f.mp4,FAKE,r.mp4,',
    ...numbers.flatMap((n) => [`t${n}.mp4,REAL,,test`, `tf${n}.mp4,FAKE,t${n}.mp4,test`, `solo${n}.mp4,REAL,,`]),
  ];
  writeFileSync(join(root, 'manifest.csv'), [...lines, ''].join('\n'));
  const names = lines.slice(1).map((line) => line.split('.mp4')[0]!);
  for (const name of names) writeFileSync(join(root, `${name}.mp4`), '');
  makeCrops(join(root, 'crops'), Object.fromEntries(names.map((name) => [name, ['0_0.png']])));
  const result = runCli(['folds', '--root-dir', root, '--n-splits', '2', '--quiet']);
  assert.equal(result.status, 0, result.stderr);
  // One group (r and f) is left for two folds: the test pairs and the lone REALs have no row in folds.csv.
  assert.match(result.stderr, /folds: 1 fold group\(s\) for 2 folds: fold\(s\) [01] have no video/);

  // Every pair in the test split: folds.csv has no row, and the summary says why.
  writeFileSync(join(root, 'manifest.csv'), [...lines.map((line) => (line.startsWith('r.mp4') || line.startsWith('f.mp4') ? `${line}test` : line)), ''].join('\n'));
  const allTested = runCli(['folds', '--root-dir', root, '--n-splits', '2']);
  assert.equal(allTested.status, 0, allTested.stderr);
  assert.match(allTested.stdout + allTested.stderr, /folds: wrote 0 rows for 0 videos in 0 of 2 folds \(none\) to .*folds\.csv \(every FAKE and its original are in the test split\); 14 rows of 14 test videos/);
});

test('CLI: dfdc run checks what folds need before the first stage: a part beyond --total-parts stops it before any work', async () => {
  const root = scratchDir('folds-cli');
  await writeDataRoot(root, [{ part: 12, name: 'r.mp4', record: { label: 'REAL' }, source: 'empty' }]);
  const result = runCli(['run', '--root-dir', root, '--output-dir', join(root, 'out'), '--total-parts', '10', '--n-splits', '5']);
  assert.equal(result.status, 3, result.stderr);
  assert.deepEqual(result.lines, [
    'dfdc: part folder dfdc_train_part_12 has number 12, outside 0..9 (10 parts): give 13 or more parts (--parts in dfdc folds, --total-parts in dfdc run), or rename the folder',
  ]);
  assert.equal(readdirSync(join(root, 'out', '.run-state')).includes('units'), false, 'a stage ran');
});

test('CLI: a test file is not replaced by one without rows while its videos wait for crops, whatever folds.csv gets', () => {
  const root = scratchDir('folds-cli');
  writeFileSync(join(root, 'manifest.csv'), ['path,label,original,split', 'r.mp4,REAL,,', 'f.mp4,FAKE,r.mp4,', 't.mp4,REAL,,test', 'tf.mp4,FAKE,t.mp4,test', 'solo.mp4,REAL,,test', ''].join('\n'));
  for (const name of ['r', 'f', 't', 'tf', 'solo']) writeFileSync(join(root, `${name}.mp4`), '');
  makeCrops(join(root, 'crops'), { r: ['0_0.png'], f: ['0_0.png'], t: ['0_0.png'], tf: ['0_0.png'], solo: ['0_0.png'] });
  assert.equal(runCli(['folds', '--root-dir', root, '--n-splits', '2', '--quiet']).status, 0);
  const testFile = join(root, 'folds-test.csv');
  const made = readFileSync(testFile, 'utf8');
  assert.equal(sortedLines(made).length, 3);
  // The test videos' crops gone (a node still cutting them, or removed by mistake): the training rows are written, the test file stays.
  for (const name of ['t', 'tf', 'solo']) rmSync(join(root, 'crops', name), { recursive: true });
  const result = runCli(['folds', '--root-dir', root, '--n-splits', '2']);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, new RegExp(`folds: wrote 2 rows .*; no rows for the test file \\(no grid crops of the test videos found under ${join(root, 'crops')}: run dfdc crops first, or check --crops-dir\\): ${testFile} is left as it was`));
  assert.equal(readFileSync(testFile, 'utf8'), made);

  // A data set of REAL videos only, one of them in the test split: a typo in --crops-dir keeps its test file.
  const reals = scratchDir('folds-cli');
  writeFileSync(join(reals, 'manifest.csv'), ['path,label,original,split', 'a.mp4,REAL,,', 'b.mp4,REAL,,test', ''].join('\n'));
  for (const name of ['a', 'b']) writeFileSync(join(reals, `${name}.mp4`), '');
  makeCrops(join(reals, 'crops'), { a: ['0_0.png'], b: ['0_0.png'] });
  assert.equal(runCli(['folds', '--root-dir', reals, '--n-splits', '2', '--quiet']).status, 0);
  const realsTest = readFileSync(join(reals, 'folds-test.csv'), 'utf8');
  const typo = runCli(['folds', '--root-dir', reals, '--n-splits', '2', '--crops-dir', 'crosp']);
  assert.equal(typo.status, 1, typo.stderr);
  assert.match(typo.stderr, /no rows for the test file \(.*crosp does not exist: check --crops-dir, or run dfdc crops first\): .*folds-test\.csv is left as it was/);
  assert.equal(readFileSync(join(reals, 'folds-test.csv'), 'utf8'), realsTest);
});

test('CLI: --out through a symbolic link writes the file it points to, and keeps the link', () => {
  const root = scratchDir('folds-cli');
  writeFileSync(join(root, 'manifest.csv'), ['path,label,original,split', 'r.mp4,REAL,,', 'f.mp4,FAKE,r.mp4,', ''].join('\n'));
  for (const name of ['r', 'f']) writeFileSync(join(root, `${name}.mp4`), '');
  makeCrops(join(root, 'crops'), { r: ['0_0.png'], f: ['0_0.png'] });
  mkdirSync(join(root, 'shared'));
  writeFileSync(join(root, 'shared', 'folds.csv'), 'old\n');
  symlinkSync(join('shared', 'folds.csv'), join(root, 'link.csv'));
  // A link to a file not made yet is followed too.
  symlinkSync(join('shared', 'new.csv'), join(root, 'dangling.csv'));
  for (const out of ['link.csv', 'dangling.csv']) assert.equal(runCli(['folds', '--root-dir', root, '--out', out, '--n-splits', '2', '--quiet'], { cwd: root }).status, 0);
  assert.ok(lstatSync(join(root, 'link.csv')).isSymbolicLink() && lstatSync(join(root, 'dangling.csv')).isSymbolicLink());
  assert.equal(sortedLines(readFileSync(join(root, 'shared', 'folds.csv'), 'utf8')).length, 2);
  assert.equal(sortedLines(readFileSync(join(root, 'shared', 'new.csv'), 'utf8')).length, 2);
});

test('CLI: --out into a FIFO no process reads says it waits for a reader, and SIGTERM stops it (exit 143), as a scheduler expects', { timeout: 60_000 }, async () => {
  const root = scratchDir('folds-cli');
  await writeDataRoot(root, [
    { part: 0, name: 'r.mp4', record: { label: 'REAL' } },
    { part: 0, name: 'f.mp4', record: { label: 'FAKE', original: 'r.mp4' } },
  ]);
  makeCrops(join(root, 'crops'), { r: ['0_0.png'], f: ['0_0.png'] });
  const fifo = join(root, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const run = await runCliStopped(['folds', '--root-dir', root, '--out', fifo], { when: 'waiting for a reader', signal: 'SIGTERM', killAfterMs: 20_000, atMostMs: 40_000 });
  assert.equal(run.killedHard, false, `still running 20 s after SIGTERM (or 40 s after it started): ${run.stderr}`);
  assert.equal(run.status, 143, run.stderr);
  assert.match(run.stderr, /folds: --out .*fifo is a FIFO that no process reads: waiting for a reader/);
  assert.ok(lstatSync(fifo).isFIFO(), 'the FIFO was kept');
});

test("CLI: a data set without a test split removes only a test file dfdc wrote beside --out: a user's file of that name, or a folder, stays", async () => {
  const root = scratchDir('folds-cli');
  await writeDataRoot(root, [
    { part: 0, name: 'r.mp4', record: { label: 'REAL' } },
    { part: 0, name: 'f.mp4', record: { label: 'FAKE', original: 'r.mp4' } },
  ]);
  makeCrops(join(root, 'crops'), { r: ['0_0.png'], f: ['0_0.png'] });
  writeFileSync(join(root, 'results-test'), 'precious\n');
  mkdirSync(join(root, 'folds-test.csv'));
  writeFileSync(join(root, 'old-test.csv'), 'video,file,label,original,frame,fold\nr,0_0.png,0,r,0,-1\n');
  for (const out of ['results', 'folds.csv', 'old.csv']) {
    const result = runCli(['folds', '--root-dir', root, '--out', out], { cwd: root });
    assert.equal(result.status, 0, `${out}: ${result.stderr}`);
  }
  assert.equal(readFileSync(join(root, 'results-test'), 'utf8'), 'precious\n');
  assert.ok(lstatSync(join(root, 'folds-test.csv')).isDirectory());
  assert.throws(() => lstatSync(join(root, 'old-test.csv')), /ENOENT/, 'a test file folds wrote, from when the data set had a test split, is removed');
});

test('CLI: --out /dev/stdout with --json is refused before any work: the CSV and the JSON report would mix on standard output', () => {
  const result = runCli(['run', '--root-dir', join(fixturesDir, 'sample'), '--output-dir', join(scratchDir('folds-cli'), 'out'), '--out', '/dev/stdout', '--json']);
  assert.equal(result.status, 2, result.stderr);
  assert.deepEqual(result.lines, ['dfdc: --out /dev/stdout and --json both write to standard output, and would mix a CSV with the report: give --out a file, or drop --json']);
  assert.equal(result.stdout, '');
});

test("CLI: a manifest named as folds' test file beside --out is refused before folds.csv is written; --out through a link to /dev/stdout cannot take --json's report", () => {
  const dir = scratchDir('folds-cli');
  const root = copyInto(join(fixturesDir, 'manifest'), join(dir, 'root'));
  const manifest = join(dir, 'X-test.csv');
  writeFileSync(manifest, readFileSync(join(root, 'manifest.csv')));
  writeFileSync(join(dir, 'X.csv'), 'kept\n');
  const refused = runCli(['folds', '--root-dir', root, '--manifest', manifest, '--out', join(dir, 'X.csv')]);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /^dfdc: --out .*X\.csv's test file .*X-test\.csv is an input of dfdc/m);
  assert.equal(readFileSync(join(dir, 'X.csv'), 'utf8'), 'kept\n');

  symlinkSync('/dev/stdout', join(dir, 'so'));
  const mixed = runCli(['folds', '--root-dir', root, '--out', join(dir, 'so'), '--json']);
  assert.equal(mixed.status, 2, mixed.stderr);
  assert.match(mixed.stderr, /and --json both write to standard output/);
});
