import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { StageRecorder } from '../../src/run/report.js';
import { reasonOf, runStage } from '../../src/run/stage-runner.js';
import { StageState } from '../../src/run/state.js';
import { DfdcError, ItemError } from '../../src/util/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'dfdc-stage-runner-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const units = ['a', 'b', 'c', 'd'].map((id) => ({ id, subject: `part/${id}.mp4` }));

function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something happened, write '/out/crops/x.png'`), { code });
}

test('a failing unit is recorded and the others go on; a rerun retries only it', async () => {
  const state = new StageState(join(scratch, 'one', '.dfdc'), 'detect');
  const recorder = new StageRecorder('detect');
  await runStage({
    units,
    state,
    recorder,
    force: false,
    concurrency: 2,
    work: async ({ id }) => {
      if (id === 'b') throw new ItemError('/data/part/b.mp4: not a video');
      return { frames: 10 };
    },
  });
  assert.deepEqual([recorder.report.done, recorder.report.failed], [3, 1]);
  assert.deepEqual(recorder.report.failures, [{ subject: 'part/b.mp4', reason: 'not a video' }]);
  const again = new StageRecorder('detect');
  const worked: string[] = [];
  await runStage({ units, state, recorder: again, force: false, concurrency: 1, work: async ({ id }) => (worked.push(id), {}) });
  assert.deepEqual(worked, ['b']);
  assert.equal(again.report.skipped, 3);
});

test('a full disk or a DfdcError stops the stage once instead of failing every unit', async () => {
  for (const error of [errnoError('ENOSPC'), errnoError('EROFS'), new DfdcError('the tensorflow backend needs ...')]) {
    const recorder = new StageRecorder('crops');
    let calls = 0;
    await assert.rejects(
      runStage({
        units,
        state: new StageState(join(scratch, `fatal-${calls}-${Math.random()}`, '.dfdc'), 'crops'),
        recorder,
        force: false,
        concurrency: 1,
        work: async () => {
          calls += 1;
          throw error;
        },
      }),
      (thrown: unknown) => thrown instanceof DfdcError && (error instanceof DfdcError || /disk is full|not writable/.test(thrown.message)),
    );
    assert.equal(calls, 1, `${error.message}: more than one unit ran`);
    assert.equal(recorder.report.failed, 0);
  }
});

test('an abort stops taking new units', async () => {
  const controller = new AbortController();
  const recorder = new StageRecorder('diffs');
  const worked: string[] = [];
  await runStage({
    units,
    state: new StageState(join(scratch, 'abort', '.dfdc'), 'diffs'),
    recorder,
    force: false,
    concurrency: 1,
    signal: controller.signal,
    work: async ({ id }) => {
      worked.push(id);
      if (id === 'b') controller.abort();
      return {};
    },
  });
  assert.deepEqual(worked, ['a', 'b']);
  assert.equal(recorder.report.done, 1, 'the unit that saw the abort is not marked complete');
});

test('reasons drop the absolute path the subject already names', () => {
  assert.equal(reasonOf(new Error('/data/p/x.mp4: empty file')), 'empty file');
  assert.equal(reasonOf(new Error('frame size 64x48 differs')), 'frame size 64x48 differs');
});
