import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleDataset } from '../../src/dataset/dataset.js';
import { listParts } from '../../src/dataset/layouts/dfdc.js';
import { parseMetadata } from '../../src/dataset/metadata.js';
import { partAt } from '../../src/dataset/parts.js';
import { selectVideos, shardOfOriginal } from '../../src/dataset/selection.js';

function dataset(realsPerPart: number, fakesPerReal: number, partCount: number) {
  const contents = Array.from({ length: partCount }, (_, p) => {
    const records: Record<string, unknown> = {};
    for (let r = 0; r < realsPerPart; r += 1) {
      const real = `real${p}x${r}.mp4`;
      records[real] = { label: 'REAL', split: 'train', original: null };
      for (let f = 0; f < fakesPerReal; f += 1) records[`fake${p}x${r}x${f}.mp4`] = { label: 'FAKE', split: 'train', original: real };
    }
    const part = partAt('/data', `dfdc_train_part_${p}`);
    return { part, metadata: parseMetadata(JSON.stringify(records), part.metadataFile), files: null };
  });
  return assembleDataset('/data', 'dfdc', listParts(contents));
}

test('shards cover every video exactly once and keep each FAKE with its original', () => {
  const data = dataset(40, 3, 3);
  for (const count of [1, 2, 3, 7]) {
    const seen = new Map<string, number>();
    for (let index = 0; index < count; index += 1) {
      const selection = selectVideos(data, { shard: { index, count } });
      const realIds = new Set(selection.reals.map((real) => real.id));
      for (const video of selection.videos) seen.set(video.id, (seen.get(video.id) ?? 0) + 1);
      for (const fake of selection.fakes) assert.ok(realIds.has(fake.originalId), `${fake.id} without its original in shard ${index}/${count}`);
      for (const pair of selection.pairs) assert.ok(realIds.has(pair.original.id));
    }
    assert.equal(seen.size, data.videos.length, `shard count ${count}: some video in no shard`);
    assert.ok([...seen.values()].every((n) => n === 1), `shard count ${count}: a video in two shards`);
  }
});

test('shards are roughly balanced', () => {
  const data = dataset(200, 0, 5);
  const sizes = [0, 1, 2, 3].map((index) => selectVideos(data, { shard: { index, count: 4 } }).reals.length);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 1000);
  assert.ok(sizes.every((n) => n > 200 && n < 300), `unbalanced: ${sizes.join(', ')}`);
});

test('the shard of an original does not depend on the data set', () => {
  // The id's FNV-1a 32-bit hash (published test vectors: "a" 0xe40c292c, "foobar" 0xbf9cf968) modulo the count.
  assert.equal(shardOfOriginal('a', 2 ** 32), 0xe40c292c);
  assert.equal(shardOfOriginal('foobar', 16), 0xbf9cf968 % 16);
  const data = dataset(5, 1, 2);
  const alone = dataset(5, 1, 1);
  for (const real of alone.reals) {
    const inBig = selectVideos(data, { shard: { index: shardOfOriginal(real.id, 4), count: 4 } }).reals.some((r) => r.id === real.id);
    assert.ok(inBig);
  }
});

test('--parts selects by number or folder name, --limit takes the first originals with their fakes', () => {
  const data = dataset(3, 2, 3);
  assert.deepEqual(
    selectVideos(data, { parts: [1] }).reals.map((r) => r.id),
    ['real1x0', 'real1x1', 'real1x2'],
  );
  assert.equal(selectVideos(data, { parts: ['dfdc_train_part_2', 0] }).reals.length, 6);
  const limited = selectVideos(data, { limit: 2 });
  assert.deepEqual(limited.reals.map((r) => r.id), ['real0x0', 'real0x1']);
  assert.equal(limited.fakes.length, 4);
  assert.equal(limited.videos.length, 6);
});
