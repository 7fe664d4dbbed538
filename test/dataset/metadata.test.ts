import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMetadata, videoIdOf, videoNameProblem } from '../../src/dataset/metadata.js';
import { formatProblem } from '../../src/dataset/problems.js';

const FILE = 'dfdc_train_part_3/metadata.json';
const lines = (text: string) => parseMetadata(text, FILE).problems.map(formatProblem);

test('compact and spaced JSON with extra keys give the same records', () => {
  const compact = '{"b.mp4":{"label":"FAKE","split":"train","original":"a.mp4"},"a.mp4":{"label":"REAL","split":"train","original":null}}';
  const spaced = `{\n  "b.mp4": { "label": "FAKE", "split": "train", "original": "a.mp4", "extra": [1, 2] },\n  "a.mp4": { "label": "REAL" }\n}\n`;
  for (const text of [compact, spaced, `\uFEFF${spaced}`]) {
    const parsed = parseMetadata(text, FILE);
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.readable, true);
    assert.deepEqual(parsed.records, [
      { name: 'b.mp4', id: 'b', label: 'FAKE', original: 'a.mp4' },
      { name: 'a.mp4', id: 'a', label: 'REAL', original: null },
    ]);
  }
});

test('a file that is not a JSON object is one problem and no records', () => {
  const notJson = parseMetadata('{"a.mp4": {"label": "REAL"', FILE);
  assert.equal(notJson.readable, false);
  assert.deepEqual(notJson.records, []);
  assert.equal(notJson.problems.length, 1);
  assert.match(formatProblem(notJson.problems[0]!), /^dfdc_train_part_3\/metadata\.json: not valid JSON \(.+\); part skipped$/);
  assert.deepEqual(lines('[{"a.mp4": {"label": "REAL"}}]'), [
    'dfdc_train_part_3/metadata.json: not a JSON object mapping video file names to records but an array; part skipped',
  ]);
  assert.deepEqual(lines('null'), ['dfdc_train_part_3/metadata.json: not a JSON object mapping video file names to records but null; part skipped']);
  assert.deepEqual(lines('"x"'), ['dfdc_train_part_3/metadata.json: not a JSON object mapping video file names to records but a string; part skipped']);
});

test('a bad record is one line naming the file and the record; the others are kept', () => {
  const text = JSON.stringify({
    'ok.mp4': { label: 'REAL' },
    'abc.mp4': { label: 'real' },
    'nolabel.mp4': { split: 'train' },
    'f1.mp4': { label: 'FAKE' },
    'f2.mp4': { label: 'FAKE', original: null },
    'f3.mp4': { label: 'FAKE', original: 7 },
    'r2.mp4': { label: 'REAL', original: 'ok.mp4' },
    'str.mp4': 'REAL',
    'good.mp4': { label: 'FAKE', original: 'ok.mp4' },
  });
  const parsed = parseMetadata(text, FILE);
  assert.deepEqual(parsed.problems.map(formatProblem), [
    'dfdc_train_part_3/metadata.json: "abc.mp4".label must be REAL or FAKE (got "real")',
    'dfdc_train_part_3/metadata.json: "nolabel.mp4".label is missing (must be REAL or FAKE)',
    'dfdc_train_part_3/metadata.json: "f1.mp4".original is missing: a FAKE must name its REAL original, e.g. "xyz.mp4"',
    'dfdc_train_part_3/metadata.json: "f2.mp4".original is null: a FAKE must name its REAL original, e.g. "xyz.mp4"',
    'dfdc_train_part_3/metadata.json: "f3.mp4".original must be a video file name such as "abc.mp4" or null (got 7)',
    'dfdc_train_part_3/metadata.json: "str.mp4" must be an object such as {"label": "REAL"} (got "REAL")',
  ]);
  assert.deepEqual(
    parsed.records.map((record) => record.name),
    ['ok.mp4', 'r2.mp4', 'good.mp4'],
  );
  // A REAL's original is ignored, as the reference ignores it.
  assert.equal(parsed.records.find((record) => record.name === 'r2.mp4')?.original, null);
  assert.deepEqual(parsed.rejectedNames, ['abc.mp4', 'nolabel.mp4', 'f1.mp4', 'f2.mp4', 'f3.mp4', 'str.mp4']);
});

test('names that would escape the part folder are rejected, as a video and as an original', () => {
  const plain = 'must be a plain file name in the part folder (no path separators, not absolute, not . or ..)';
  const text = JSON.stringify({
    '../x.mp4': { label: 'REAL' },
    '/abs/x.mp4': { label: 'REAL' },
    'sub/x.mp4': { label: 'REAL' },
    'win\\x.mp4': { label: 'REAL' },
    'C:x.mp4': { label: 'REAL' },
    '..': { label: 'REAL' },
    'x.avi': { label: 'REAL' },
    '.mp4': { label: 'REAL' },
    '..mp4': { label: 'REAL' },
    'f.mp4': { label: 'FAKE', original: '../x.mp4' },
    'g.mp4': { label: 'FAKE', original: '/etc/x.mp4' },
    'h.mp4': { label: 'FAKE', original: 'x' },
  });
  assert.deepEqual(lines(text), [
    `dfdc_train_part_3/metadata.json: "../x.mp4" ${plain}`,
    `dfdc_train_part_3/metadata.json: "/abs/x.mp4" ${plain}`,
    `dfdc_train_part_3/metadata.json: "sub/x.mp4" ${plain}`,
    `dfdc_train_part_3/metadata.json: "win\\\\x.mp4" ${plain}`,
    `dfdc_train_part_3/metadata.json: "C:x.mp4" ${plain}`,
    `dfdc_train_part_3/metadata.json: ".." ${plain}`,
    'dfdc_train_part_3/metadata.json: "x.avi" must end in .mp4 (a video id is its file name without .mp4)',
    'dfdc_train_part_3/metadata.json: ".mp4" must be <id>.mp4 with an id other than "", "." or ".."',
    'dfdc_train_part_3/metadata.json: "..mp4" must be <id>.mp4 with an id other than "", "." or ".."',
    `dfdc_train_part_3/metadata.json: "f.mp4".original "../x.mp4" ${plain}`,
    `dfdc_train_part_3/metadata.json: "g.mp4".original "/etc/x.mp4" ${plain}`,
    'dfdc_train_part_3/metadata.json: "h.mp4".original "x" must end in .mp4 (a video id is its file name without .mp4)',
  ]);
});

test('video ids and name checks', () => {
  assert.equal(videoIdOf('aagfhgtpmv.mp4'), 'aagfhgtpmv');
  assert.equal(videoIdOf('a.b.mp4'), 'a.b');
  assert.equal(videoNameProblem('aagfhgtpmv.mp4'), null);
  assert.equal(videoNameProblem('with space.mp4'), null);
  assert.match(videoNameProblem('')!, /is empty/);
  assert.match(videoNameProblem('a\0.mp4')!, /plain file name/);
});
