import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIP_ROOT, MULTI_VIDEO_ROOT, copyRoot, layOut, metadataByPart, missingSources, planProblems, videosOfRoot, type PlannedVideo } from '../../bench/_layouts.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('the multi-video root: 14 videos, 10 REAL and 4 FAKE, of several frame sizes, each FAKE beside its REAL', () => {
  assert.equal(MULTI_VIDEO_ROOT.length, 14);
  assert.equal(MULTI_VIDEO_ROOT.filter((video) => video.label === 'REAL').length, 10);
  assert.equal(MULTI_VIDEO_ROOT.filter((video) => video.label === 'FAKE').length, 4);
  assert.ok(new Set(MULTI_VIDEO_ROOT.map((video) => video.size)).size >= 5, 'mixed sizes');
  assert.ok(MULTI_VIDEO_ROOT.some((video) => video.size === '1920x1080'), 'a DFDC-sized video');
  assert.equal(new Set(MULTI_VIDEO_ROOT.map((video) => video.source)).size, 14, 'each video its own file');
  assert.deepEqual(planProblems(MULTI_VIDEO_ROOT), []);
});

test('the clip root: the clip as a REAL and a copy of it as its FAKE', () => {
  assert.deepEqual(planProblems(CLIP_ROOT), []);
  assert.deepEqual(
    CLIP_ROOT.map((video) => [video.label, video.source]),
    [
      ['REAL', 'dfdc/abqwwspghj.mp4'],
      ['FAKE', 'dfdc/abqwwspghj.mp4'],
    ],
  );
});

test('plan problems: a repeated id, a FAKE whose original is elsewhere or not REAL, a REAL with an original', () => {
  const real: PlannedVideo = { part: 'p0', name: 'a.mp4', source: 's/a.mp4', label: 'REAL', size: '1x1' };
  assert.deepEqual(planProblems([real, { ...real, part: 'p1', name: 'a.avi' }]), ['a.avi: a second video with id a']);
  assert.deepEqual(planProblems([real, { part: 'p1', name: 'f.mp4', source: 's/f.mp4', label: 'FAKE', original: 'a.mp4', size: '1x1' }]), [
    'f.mp4: its original a.mp4 is not a video of p1',
  ]);
  const fake: PlannedVideo = { part: 'p0', name: 'f.mp4', source: 's/f.mp4', label: 'FAKE', original: 'a.mp4', size: '1x1' };
  assert.deepEqual(planProblems([fake, { part: 'p0', name: 'g.mp4', source: 's/g.mp4', label: 'FAKE', original: 'f.mp4', size: '1x1' }]).slice(-1), [
    'g.mp4: its original f.mp4 is not REAL',
  ]);
  assert.deepEqual(planProblems([{ ...real, original: 'b.mp4' }]), ['a.mp4: a REAL with an original']);
});

test("metadata.json per part in DFDC's format", () => {
  const parts = metadataByPart(MULTI_VIDEO_ROOT);
  assert.deepEqual([...parts.keys()].sort(), ['dfdc_train_part_0', 'dfdc_train_part_1']);
  const count = [...parts.values()].reduce((sum, metadata) => sum + Object.keys(metadata).length, 0);
  assert.equal(count, 14);
  assert.deepEqual(parts.get('dfdc_train_part_0')?.['519.mp4'], { label: 'REAL', split: 'train', original: null });
  assert.deepEqual(parts.get('dfdc_train_part_0')?.['Deepfakes_519_515.mp4'], { label: 'FAKE', split: 'train', original: '519.mp4' });
});

test('laid out from a media folder: parts, metadata, writable copies, and the videos listed back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dfdc-bench-layout-'));
  dirs.push(dir);
  const media = join(dir, 'media');
  const plan: PlannedVideo[] = [
    { part: 'dfdc_train_part_3', name: 'r.mp4', source: 'x/real.mp4', label: 'REAL', size: '2x2' },
    { part: 'dfdc_train_part_3', name: 'f.mp4', source: 'x/fake.mp4', label: 'FAKE', original: 'r.mp4', size: '2x2' },
  ];
  assert.deepEqual(missingSources(plan, media), ['x/real.mp4', 'x/fake.mp4']);
  mkdirSync(join(media, 'x'), { recursive: true });
  writeFileSync(join(media, 'x', 'real.mp4'), 'real bytes', { mode: 0o444 });
  writeFileSync(join(media, 'x', 'fake.mp4'), 'fake bytes', { mode: 0o444 });
  assert.deepEqual(missingSources(plan, media), []);

  const root = join(dir, 'root');
  layOut(plan, media, root);
  assert.deepEqual(JSON.parse(readFileSync(join(root, 'dfdc_train_part_3', 'metadata.json'), 'utf8')), {
    'r.mp4': { label: 'REAL', split: 'train', original: null },
    'f.mp4': { label: 'FAKE', split: 'train', original: 'r.mp4' },
  });
  assert.equal(readFileSync(join(root, 'dfdc_train_part_3', 'f.mp4'), 'utf8'), 'fake bytes');
  assert.deepEqual(videosOfRoot(root), [join(root, 'dfdc_train_part_3', 'f.mp4'), join(root, 'dfdc_train_part_3', 'r.mp4')]);

  const copy = join(dir, 'copy');
  copyRoot(root, copy);
  assert.deepEqual(readdirSync(join(copy, 'dfdc_train_part_3')).sort(), ['f.mp4', 'metadata.json', 'r.mp4']);
  // The media are read-only; the copies must not be, or the tools could not write beside them.
  assert.ok(statSync(join(copy, 'dfdc_train_part_3', 'r.mp4')).mode & 0o200);
  assert.ok(existsSync(join(root, 'dfdc_train_part_3', 'r.mp4')));
});
