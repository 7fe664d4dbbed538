import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectCases } from '../../bench/_cases.js';
import { parseTimingsTsv, referenceStatus } from '../../bench/_reference.js';
import { parseChildrenCpuTicks, speedRatio } from '../../bench/_timing.js';

test('children CPU ticks are fields 16 and 17 of /proc/<pid>/stat', () => {
  // Fields 3..17: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
  const stat = '4242 (node) S 1 4242 4242 0 -1 4194560 100 200 0 0 7 3 1234 567 20 0 11 0 100 0 0';
  assert.deepEqual(parseChildrenCpuTicks(stat), { user: 1234, system: 567 });
});

test('a command name with spaces and parentheses does not shift the fields', () => {
  const stat = '77 (my (odd) name) R 1 77 77 0 -1 0 0 0 0 0 5 6 89 10 20 0 1 0 0 0 0';
  assert.deepEqual(parseChildrenCpuTicks(stat), { user: 89, system: 10 });
});

test('a truncated or foreign text gives nothing', () => {
  assert.equal(parseChildrenCpuTicks(''), undefined);
  assert.equal(parseChildrenCpuTicks('12 (x) S 1 2 3'), undefined);
  assert.equal(parseChildrenCpuTicks('12 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 -4 5'), undefined);
});

test("the reference's timings.tsv: known stages as numbers, anything else ignored", () => {
  assert.deepEqual(parseTimingsTsv('detect\t59.55\ncrops\t3.32\nlandmarks\t4.16\ndiffs\t3.71\nfolds\t1.88\n'), {
    detect: 59.55,
    crops: 3.32,
    landmarks: 4.16,
    diffs: 3.71,
    folds: 1.88,
  });
  assert.deepEqual(parseTimingsTsv('crops\t2.5\r\n\nother\t1\ndetect\t\nlandmarks\tx\n'), { crops: 2.5 });
  assert.deepEqual(parseTimingsTsv(''), {});
});

test('ratio: reference over dfdc, none without both or for a zero time', () => {
  assert.equal(speedRatio(48, 12), 4);
  assert.equal(speedRatio(10, 3), 3.33);
  assert.equal(speedRatio(undefined, 3), undefined);
  assert.equal(speedRatio(3, 0), undefined);
});

test('DFDC_BENCH_CASES: empty means all, names in the benchmark order, an unknown name is an error', () => {
  assert.deepEqual(selectCases(undefined), ['detect-clip', 'crops-dataset-b', 'crops-multi', 'run-dataset-b']);
  assert.deepEqual(selectCases(' '), ['detect-clip', 'crops-dataset-b', 'crops-multi', 'run-dataset-b']);
  assert.deepEqual(selectCases('run-dataset-b,detect-clip'), ['detect-clip', 'run-dataset-b']);
  assert.deepEqual(selectCases('crops-multi crops-dataset-b'), ['crops-dataset-b', 'crops-multi']);
  assert.throws(() => selectCases('detect,crops-multi'), /unknown case detect \(known: detect-clip, /);
});

test('DFDC_BENCH_REFERENCE=0 skips the reference; a folder without run_reference.sh is named as absent', () => {
  assert.deepEqual(referenceStatus({ DFDC_BENCH_REFERENCE: '0' }), { available: false, reason: 'DFDC_BENCH_REFERENCE=0' });
  const status = referenceStatus({ DFDC_REFERENCE_DIR: '/nonexistent/reference' });
  assert.equal(status.available, false);
  assert.match(status.available ? '' : status.reason, /\/nonexistent\/reference\/run_reference\.sh is absent/);
});
