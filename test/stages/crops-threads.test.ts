import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decoderThreads } from '../../src/stages/crops.js';

test('decoder threads: one each while every worker has a video, the spare workers to a video that starts when fewer remain', () => {
  assert.equal(decoderThreads(2, 2), 1);
  assert.equal(decoderThreads(2, 1), 2);
  assert.equal(decoderThreads(1, 1), 1);
  assert.equal(decoderThreads(4, 3), 1);
  assert.equal(decoderThreads(4, 2), 2);
  assert.equal(decoderThreads(8, 3), 2);
  // Never below one, even if more videos than workers were counted.
  assert.equal(decoderThreads(2, 5), 1);
  assert.equal(decoderThreads(2, 0), 2);
});
