import { existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { runCli, scratchDir } from '../helpers/cli.js';
import { listFiles } from '../helpers/compare-images.js';
import { mediaDir } from '../helpers/shared.js';

/**
 * The layout is only a way of listing videos: the same real clips give byte-identical boxes,
 * crops, landmarks and diffs, and the same folds.csv rows, whether they sit in a FaceForensics++
 * or Celeb-DF layout or in a DFDC part whose metadata.json says the same (which is REAL, which
 * FAKE of which). Ids differ between layouts (`youtube_c23_519` vs `519`), so they are mapped
 * through each root's `dfdc index`, matching ids by the video file they point to. Fold numbers
 * are not compared: DFDC folds by part number, the other layouts by a hash of the group.
 *
 * The clips are the real FaceForensics++ and lip-sync pairs of ../shared/media (never copied into
 * the project: each root is made of symbolic links in a temporary folder at test time). `--scale
 * 0.5` is given on both runs, so the comparison does not rest on each layout's default detection
 * scale (`--scale layout`). Without ../shared/media the test is skipped, and fails in CI.
 */

const inCi = process.env.CI === 'true' || process.env.CI === '1';

/** A test that needs the clips of ../shared/media: skipped with a message when they are absent, failed when they are absent in CI (as sharedTest does for ../shared/parity). */
function mediaTest(name: string, paths: readonly string[], fn: (t: TestContext) => unknown | Promise<unknown>): void {
  const missing = paths.filter((path) => !existsSync(path));
  const message = `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} absent: this test needs the real clips of ../shared/media (or DFDC_SHARED/media)`;
  if (missing.length > 0 && !inCi) {
    test(name, { skip: message }, () => {});
    return;
  }
  test(name, async (t) => {
    if (missing.length > 0) throw new Error(message);
    await fn(t);
  });
}

/** One clip of a case: where it sits in the layout, and its file name in the DFDC part. */
interface Clip {
  /** Relative to ../shared/media. */
  media: string;
  /** Its path in the FaceForensics++ or Celeb-DF root. */
  layoutPath: string;
  /** Its file name in dfdc_train_part_0/. */
  dfdcName: string;
  /** For a FAKE: the dfdcName of its original. */
  originalOf?: string;
}

interface Case {
  name: string;
  layout: 'ffpp' | 'celebdf';
  clips: Clip[];
}

const cases: Case[] = [
  {
    // 640x480 yuv444p with 751 frames, and 1280x720 with 338; two methods.
    name: 'FaceForensics++ (Deepfakes 519_515, FaceSwap 634_660)',
    layout: 'ffpp',
    clips: [
      { media: 'ffpp/519.mp4', layoutPath: 'original_sequences/youtube/c23/videos/519.mp4', dfdcName: '519.mp4' },
      { media: 'ffpp/Deepfakes_519_515.mp4', layoutPath: 'manipulated_sequences/Deepfakes/c23/videos/519_515.mp4', dfdcName: 'Deepfakes_519_515.mp4', originalOf: '519.mp4' },
      { media: 'ffpp/634.mp4', layoutPath: 'original_sequences/youtube/c23/videos/634.mp4', dfdcName: '634.mp4' },
      { media: 'ffpp/FaceSwap_634_660.mp4', layoutPath: 'manipulated_sequences/FaceSwap/c23/videos/634_660.mp4', dfdcName: 'FaceSwap_634_660.mp4', originalOf: '634.mp4' },
    ],
  },
  {
    // A 1278x720 hyperlips pair whose fake is shorter than its real (130 of 272 frames), and the
    // small 640x320 Wav2Lip pair.
    name: 'Celeb-DF (hyperlips video1, wav2lip)',
    layout: 'celebdf',
    clips: [
      { media: 'lipsync/hyperlips_real_video1.mp4', layoutPath: 'Celeb-real/id0_0000.mp4', dfdcName: 'hyperlips_real_video1.mp4' },
      { media: 'lipsync/hyperlips_fake_result_video1.mp4', layoutPath: 'Celeb-synthesis/id0_id1_0000.mp4', dfdcName: 'hyperlips_fake_result_video1.mp4', originalOf: 'hyperlips_real_video1.mp4' },
      { media: 'lipsync/wav2lip_real.mp4', layoutPath: 'Celeb-real/id2_0001.mp4', dfdcName: 'wav2lip_real.mp4' },
      { media: 'lipsync/wav2lip_fake.mp4', layoutPath: 'Celeb-synthesis/id2_id3_0001.mp4', dfdcName: 'wav2lip_fake.mp4', originalOf: 'wav2lip_real.mp4' },
    ],
  },
];

const scratch = scratchDir('real-clips-layouts');
const runArgs = ['--scale', '0.5', '--n-splits', '1', '--quiet'];
const outputFolders = ['boxes', 'crops', 'landmarks', 'diffs'];

function link(root: string, path: string, media: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  symlinkSync(join(mediaDir, media), join(root, path));
}

/** The case's clips in its own layout, and the same files as one DFDC part with an equivalent metadata.json. */
function layOut(c: Case, dir: string): { layoutRoot: string; dfdcRoot: string } {
  const layoutRoot = join(dir, c.layout);
  const dfdcRoot = join(dir, 'dfdc');
  const metadata: Record<string, { label: string; original?: string }> = {};
  for (const clip of c.clips) {
    link(layoutRoot, clip.layoutPath, clip.media);
    link(dfdcRoot, join('dfdc_train_part_0', clip.dfdcName), clip.media);
    metadata[clip.dfdcName] = clip.originalOf === undefined ? { label: 'REAL' } : { label: 'FAKE', original: clip.originalOf };
  }
  writeFileSync(join(dfdcRoot, 'dfdc_train_part_0', 'metadata.json'), JSON.stringify(metadata));
  return { layoutRoot, dfdcRoot };
}

interface IndexRow {
  id: string;
  path: string;
  label: string;
  original: string;
}

/** `dfdc index` of a root: its rows, and its ids by the real file (the clip in ../shared/media) each points to. */
function index(root: string, layout: string): { rows: IndexRow[]; idOfFile: Map<string, string> } {
  const result = runCli(['index', '--root-dir', root]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, new RegExp(`\\b${layout} layout, 4 videos \\(2 REAL, 2 FAKE\\), 0 left out`), result.stderr);
  const rows = parse(result.stdout, { columns: true, skip_empty_lines: true }) as IndexRow[];
  const idOfFile = new Map(rows.map((row) => [realpathSync(join(root, row.path)), row.id]));
  assert.equal(idOfFile.size, rows.length, `${root}: two ids point to one file`);
  return { rows, idOfFile };
}

/**
 * The output path of `file` (relative to the output dir, e.g. `crops/<id>/0_0.png` or
 * `boxes/<id>.json`) with its id replaced through `map`; throws on an id the map does not know.
 */
function mapped(file: string, map: ReadonlyMap<string, string>): string {
  const [folder, first, ...rest] = file.split('/');
  const id = folder === 'boxes' ? first!.replace(/\.json$/, '') : first!;
  const to = map.get(id);
  if (to === undefined) throw new Error(`${file}: id ${id} is not in the other root's index`);
  return [folder, folder === 'boxes' ? `${to}.json` : to, ...rest].join('/');
}

/** The rows of a folds.csv without their fold, video and original mapped through `map`, sorted. */
function foldRows(path: string, map: ReadonlyMap<string, string> | null): string[] {
  const records = parse(readFileSync(path, 'utf8'), { columns: true }) as Record<string, string>[];
  return records
    .map((row) => {
      const id = (value: string) => (map === null || value === '' ? value : (map.get(value) ?? `<unmapped ${value}>`));
      return [id(row.video!), row.file, row.label, id(row.original!), row.frame].join(',');
    })
    .sort();
}

for (const c of cases) {
  mediaTest(`the same clips give the same boxes, crops, landmarks, diffs and folds rows in ${c.name} and in a DFDC part`, c.clips.map((clip) => join(mediaDir, clip.media)), () => {
    const dir = join(scratch, c.layout);
    const { layoutRoot, dfdcRoot } = layOut(c, dir);

    // Ids of the layout's videos -> ids of the same files in the DFDC part, checked for labels and originals.
    const layoutIndex = index(layoutRoot, c.layout);
    const dfdcIndex = index(dfdcRoot, 'dfdc');
    assert.deepEqual([...layoutIndex.idOfFile.keys()].sort(), [...dfdcIndex.idOfFile.keys()].sort(), 'the two roots do not list the same files');
    const toDfdc = new Map([...layoutIndex.idOfFile].map(([file, id]) => [id, dfdcIndex.idOfFile.get(file)!]));
    const dfdcRows = new Map(dfdcIndex.rows.map((row) => [row.id, row]));
    for (const row of layoutIndex.rows) {
      const other = dfdcRows.get(toDfdc.get(row.id)!)!;
      assert.equal(other.label, row.label, `${row.path}: label`);
      assert.equal(row.original === '' ? '' : toDfdc.get(row.original), other.original, `${row.path}: original`);
    }
    assert.ok([...toDfdc].some(([from, to]) => from !== to), 'the layouts give the same ids: the mapping is not exercised');

    const layoutOut = join(dir, `out-${c.layout}`);
    const dfdcOut = join(dir, 'out-dfdc');
    for (const [root, out] of [[layoutRoot, layoutOut], [dfdcRoot, dfdcOut]] as const) {
      const result = runCli(['run', '--root-dir', root, '--output-dir', out, ...runArgs]);
      assert.equal(result.status, 0, `dfdc run --root-dir ${root}:\n${result.stderr}`);
    }

    const layoutFiles = outputFolders.flatMap((folder) => listFiles(join(layoutOut, folder)).map((file) => `${folder}/${file}`));
    const dfdcFiles = outputFolders.flatMap((folder) => listFiles(join(dfdcOut, folder)).map((file) => `${folder}/${file}`));

    // Not a vacuous comparison: every video has boxes or crops, each REAL has landmarks, each FAKE diffs.
    for (const row of dfdcIndex.rows) {
      assert.ok(dfdcFiles.some((file) => file.startsWith(`crops/${row.id}/`)), `${row.path}: no crops`);
      const folder = row.label === 'REAL' ? 'landmarks' : 'diffs';
      assert.ok(dfdcFiles.some((file) => file.startsWith(`${folder}/${row.id}/`)), `${row.path}: no ${folder}`);
      if (row.label === 'REAL') assert.ok(dfdcFiles.includes(`boxes/${row.id}.json`), `${row.path}: no boxes`);
    }

    const expected = new Set(dfdcFiles);
    const onlyInLayout: string[] = [];
    const differing: string[] = [];
    const matched = new Set<string>();
    for (const file of layoutFiles) {
      const other = mapped(file, toDfdc);
      if (!expected.has(other)) {
        onlyInLayout.push(file);
        continue;
      }
      matched.add(other);
      if (!readFileSync(join(layoutOut, file)).equals(readFileSync(join(dfdcOut, other)))) differing.push(`${file} vs ${other}`);
    }
    const onlyInDfdc = dfdcFiles.filter((file) => !matched.has(file));
    assert.deepEqual(
      { onlyInLayout, onlyInDfdc, differing },
      { onlyInLayout: [], onlyInDfdc: [], differing: [] },
      `${c.layout} outputs (${layoutFiles.length} files) and DFDC outputs (${dfdcFiles.length} files) differ`,
    );

    const layoutFolds = foldRows(join(layoutOut, 'folds.csv'), toDfdc);
    const dfdcFolds = foldRows(join(dfdcOut, 'folds.csv'), null);
    assert.ok(dfdcFolds.length > 0, 'folds.csv has no rows');
    assert.deepEqual(layoutFolds, dfdcFolds, 'folds.csv rows (fold aside) differ');
  });
}
