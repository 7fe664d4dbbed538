import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DFDC_COUNTS, costModel, perVideoCost, projectedHours, type StageRun } from '../../bench/_cost-model.js';

const run = (overrides: Partial<StageRun> & Pick<StageRun, 'stage'>): StageRun => ({ seconds: 10, cores: 2, reals: 1, fakes: 0, ...overrides });

test('cpu basis: CPU seconds less the idle run, over the videos the stage read', () => {
  assert.deepEqual(perVideoCost(run({ stage: 'detect', cpuSeconds: 31, idleCpuSeconds: 1 }), 'cpu'), { REAL: 30, FAKE: 0 });
  // crops reads both kinds: the same per video.
  assert.deepEqual(perVideoCost(run({ stage: 'crops', cpuSeconds: 9, idleCpuSeconds: 1, reals: 1, fakes: 3 }), 'cpu'), { REAL: 2, FAKE: 2 });
  // diffs reads FAKEs only.
  assert.deepEqual(perVideoCost(run({ stage: 'diffs', cpuSeconds: 5, reals: 0, fakes: 2 }), 'cpu'), { REAL: 0, FAKE: 2.5 });
});

test('wall basis: wall seconds less the idle run, times the cores allowed', () => {
  assert.deepEqual(perVideoCost(run({ stage: 'detect', seconds: 16, idleSeconds: 1, cores: 2 }), 'wallTimesCores'), { REAL: 30, FAKE: 0 });
  assert.deepEqual(perVideoCost(run({ stage: 'detect', seconds: 16, cores: 4 }), 'wallTimesCores'), { REAL: 64, FAKE: 0 });
});

test('no figure without the basis or without videos; an idle run longer than the stage costs nothing, not less', () => {
  assert.equal(perVideoCost(run({ stage: 'detect' }), 'cpu'), undefined);
  assert.equal(perVideoCost(run({ stage: 'detect', cpuSeconds: 3, reals: 0, fakes: 0 }), 'cpu'), undefined);
  assert.deepEqual(perVideoCost(run({ stage: 'landmarks', seconds: 1, idleSeconds: 1.5 }), 'wallTimesCores'), { REAL: 0, FAKE: 0 });
});

test('projected hours scale linearly over cores', () => {
  const perVideo = { REAL: 36, FAKE: 3.6 };
  // 100 x 36 + 1000 x 3.6 = 7200 core-seconds: 2 h on one core, 1 h on two, 15 min on eight.
  assert.equal(projectedHours(perVideo, { reals: 100, fakes: 1000 }, 1), 2);
  assert.equal(projectedHours(perVideo, { reals: 100, fakes: 1000 }, 2), 1);
  assert.equal(projectedHours(perVideo, { reals: 100, fakes: 1000 }, 8), 0.25);
});

test('the model sums the stages per kind of video and projects DFDC by default', () => {
  const runs: StageRun[] = [
    run({ stage: 'detect', cpuSeconds: 21, idleCpuSeconds: 1 }),
    run({ stage: 'crops', cpuSeconds: 7, idleCpuSeconds: 1, reals: 1, fakes: 1 }),
    run({ stage: 'landmarks', cpuSeconds: 2 }),
    run({ stage: 'diffs', cpuSeconds: 1.5, idleCpuSeconds: 0.5, reals: 0, fakes: 1 }),
  ];
  const model = costModel(runs, 'cpu');
  assert.ok(model);
  assert.deepEqual(model.perVideoSeconds, {
    detect: { REAL: 20, FAKE: 0 },
    crops: { REAL: 3, FAKE: 3 },
    landmarks: { REAL: 2, FAKE: 0 },
    diffs: { REAL: 0, FAKE: 1 },
  });
  assert.deepEqual(model.total, { REAL: 25, FAKE: 4 });
  assert.deepEqual(model.counts, DFDC_COUNTS);
  // (19,154 x 25 + 100,000 x 4) / 3600 = 244.1 core-hours.
  const coreHours = (19_154 * 25 + 100_000 * 4) / 3600;
  assert.deepEqual(model.projectedHours, {
    '2': Number((coreHours / 2).toFixed(1)),
    '8': Number((coreHours / 8).toFixed(1)),
    '32': Number((coreHours / 32).toFixed(1)),
    '64': Number((coreHours / 64).toFixed(1)),
  });
  assert.equal(model.projectedHours['64'], 3.8);
});

test('a stage without the basis leaves no model rather than a partial one', () => {
  assert.equal(costModel([run({ stage: 'detect', cpuSeconds: 20 }), run({ stage: 'crops' })], 'cpu'), undefined);
});

test('other counts and core lists', () => {
  const model = costModel([run({ stage: 'detect', seconds: 3600, cores: 1 })], 'wallTimesCores', { reals: 10, fakes: 0 }, [1, 10]);
  assert.deepEqual(model?.projectedHours, { '1': 10, '10': 1 });
});
