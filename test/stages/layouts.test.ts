import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, scratchDir } from '../helpers/cli.js';
import { listFiles } from '../helpers/compare-images.js';
import { fixturesDir, sampleRoot } from '../helpers/shared.js';

/**
 * Every layout end to end on its fixture (fixtures/<layout>: the sample's videos, byte for byte,
 * laid out as FaceForensics++, Celeb-DF, the DFDC preview and a manifest). A run on each must
 * give the sample's outputs under the layout's ids, with --scale 0.5 on both sides; its folds keep
 * each FAKE with its original and send the official test split to folds-test.csv. The ids below
 * are written out by hand from each layout's rule in the README.
 */
const scratch = scratchDir('layouts');
const sampleOut = join(scratch, 'sample');

interface LayoutCase {
  readonly layout: string;
  readonly extra: readonly string[];
  /** Sample id -> the id the layout gives the same video. */
  readonly ids: Readonly<Record<string, string>>;
  /** The layout ids of videos in the official test split. */
  readonly test: readonly string[];
}

const cases: readonly LayoutCase[] = [
  {
    layout: 'ffpp',
    extra: ['--splits', join(fixturesDir, 'ffpp', 'splits')],
    ids: {
      real_a: 'youtube_c23_000',
      fake_a_blur: 'Deepfakes_c23_000_001',
      fake_a_hue: 'FaceSwap_c23_000_001',
      real_b: 'youtube_c23_004',
      fake_b_noise: 'Deepfakes_c23_004_005',
      portrait: 'actors_c23_01__talking',
      fake_portrait: 'DeepFakeDetection_c23_01_02__talking__FIXTURE1',
      real_solo: 'youtube_c23_002',
      noface: 'youtube_c23_003',
    },
    test: ['youtube_c23_004', 'Deepfakes_c23_004_005'],
  },
  {
    layout: 'celebdf',
    extra: [],
    ids: {
      real_a: 'Celeb-real_id0_0000',
      fake_a_blur: 'Celeb-synthesis_id0_id1_0000',
      fake_a_hue: 'Celeb-synthesis_id0_id2_0000',
      real_b: 'Celeb-real_id1_0001',
      fake_b_noise: 'Celeb-synthesis_id1_id0_0001',
      portrait: 'Celeb-real_id2_0002',
      fake_portrait: 'Celeb-synthesis_id2_id1_0002',
      real_solo: 'YouTube-real_00000',
      noface: 'YouTube-real_00001',
    },
    test: ['Celeb-real_id2_0002', 'Celeb-synthesis_id2_id1_0002', 'YouTube-real_00001'],
  },
  {
    layout: 'dfdcp',
    extra: [],
    ids: {
      real_a: 'original_videos_100_100_A_001',
      fake_a_blur: 'method_A_100_200_200_100_A_001',
      fake_a_hue: 'method_B_100_300_300_100_A_001',
      real_b: 'original_videos_200_200_B_002',
      fake_b_noise: 'method_A_200_100_100_200_B_002',
      portrait: 'original_videos_300_300_C_003',
      fake_portrait: 'method_A_300_100_100_300_C_003',
      real_solo: 'original_videos_400_400_D_004',
      noface: 'original_videos_500_500_E_005',
    },
    test: ['original_videos_300_300_C_003', 'method_A_300_100_100_300_C_003'],
  },
  {
    layout: 'manifest',
    extra: [],
    ids: {
      real_a: 'videos_real_a',
      fake_a_blur: 'videos_fake_a-blur',
      fake_a_hue: 'videos_fake_a-hue',
      real_b: 'videos_real_b',
      fake_b_noise: 'videos_fake_b-noise',
      portrait: 'videos_real_portrait',
      fake_portrait: 'videos_fake_portrait',
      real_solo: 'videos_real_solo',
      noface: 'videos_real_noface',
    },
    test: ['videos_real_portrait', 'videos_fake_portrait'],
  },
];

const OUTPUT_FOLDERS = ['boxes', 'crops', 'landmarks', 'diffs'];

/** Every output file of a run, named with `rename` applied to the id in its path. */
function outputFiles(out: string, rename: (id: string) => string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const folder of OUTPUT_FOLDERS) {
    for (const file of listFiles(join(out, folder))) {
      const [first, ...rest] = file.split('/');
      const renamed = rest.length === 0 ? `${rename(first!.replace(/\.json$/, ''))}.json` : [rename(first!), ...rest].join('/');
      files.set(`${folder}/${renamed}`, readFileSync(join(out, folder, file)));
    }
  }
  return files;
}

function csvRows(path: string): string[][] {
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(1).filter(Boolean).map((line) => line.split(','));
}

before(() => {
  const result = runCli(['run', '--root-dir', sampleRoot, '--output-dir', sampleOut, '--scale', '0.5', '--n-splits', '2', '--total-parts', '2', '--quiet']);
  assert.equal(result.status, 0, result.stderr);
});

for (const { layout, extra, ids, test: testIds } of cases) {
  const root = join(fixturesDir, layout);
  const out = join(scratch, layout);

  test(`${layout}: recognised, and dfdc index gives each video its id, original, split and group`, () => {
    const index = runCli(['index', '--root-dir', root, ...extra]);
    assert.equal(index.status, 0, index.stderr);
    assert.match(index.stderr, new RegExp(`index: ${layout} layout, 9 videos \\(5 REAL, 4 FAKE\\), 0 left out`));
    const rows = index.stdout.trimEnd().split('\n');
    assert.equal(rows[0], 'id,path,label,original,split,group');
    const byId = new Map(rows.slice(1).map((line) => [line.split(',')[0]!, line.split(',')]));
    assert.deepEqual([...byId.keys()].sort(), Object.values(ids).sort());
    for (const [sample, id] of Object.entries(ids)) {
      const [, path, label, original, split, group] = byId.get(id)!;
      assert.equal(label, sample.startsWith('fake') ? 'FAKE' : 'REAL', id);
      assert.ok(!id.includes('/') && path!.endsWith('.mp4'), id);
      if (label === 'FAKE') {
        const sampleOriginal = { fake_a_blur: 'real_a', fake_a_hue: 'real_a', fake_b_noise: 'real_b', fake_portrait: 'portrait' }[sample]!;
        assert.equal(original, ids[sampleOriginal], `${id}'s original`);
        assert.equal(group, byId.get(original!)![5], `${id} is not in its original's group`);
      }
      assert.equal(split === 'test', testIds.includes(id), `${id}'s split is ${split}`);
    }
  });

  test(`${layout}: dfdc run gives the sample's outputs byte for byte under the layout's ids; test videos go to folds-test.csv`, () => {
    const result = runCli(['run', '--root-dir', root, '--output-dir', out, '--scale', '0.5', '--n-splits', '2', '--quiet', ...extra]);
    assert.equal(result.status, 0, result.stderr);
    const expected = outputFiles(sampleOut, (id) => ids[id] ?? `unknown:${id}`);
    const actual = outputFiles(out, (id) => id);
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
    for (const [file, bytes] of expected) assert.ok(bytes.equals(actual.get(file)!), `${file} differs from the sample's`);

    const sampleRows = csvRows(join(sampleOut, 'folds.csv')).map(([video, file, label, original, frame]) => [ids[video!], file, label, ids[original!], frame].join(','));
    const rows = csvRows(join(out, 'folds.csv'));
    const testRows = csvRows(join(out, 'folds-test.csv'));
    assert.ok(testRows.length > 0, 'no row in folds-test.csv');
    assert.ok(rows.every(([video]) => !testIds.includes(video!)) && testRows.every(([video]) => testIds.includes(video!)), 'a test video is in folds.csv, or another in folds-test.csv');
    assert.deepEqual([...rows, ...testRows].map((row) => row.slice(0, 5).join(',')).sort(), sampleRows.sort(), 'the rows differ from the sample');
    const foldOf = new Map(rows.map(([video, , , , , fold]) => [video!, fold]));
    for (const [video, , , original] of rows) assert.equal(foldOf.get(video!), foldOf.get(original!), `${video} and its original are in different folds`);
    assert.ok(testRows.every((row) => row[5] === '-1'), 'test rows have a fold');
  });
}
