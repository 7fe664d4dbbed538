import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress, formatDuration } from '../../src/run/progress.js';

/** A stream that records what was written, as a terminal or as a log file. */
function stream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const sink = { text: '', isTTY, write(chunk: string) { sink.text += chunk; return true; } };
  return sink as unknown as NodeJS.WriteStream & { text: string };
}

test('on a terminal: one line redrawn in place with rate, frames/s and ETA', () => {
  let now = 0;
  const out = stream(true);
  const progress = new Progress({ stream: out, now: () => now });
  progress.start('detect', 10);
  now = 2000;
  progress.advance(2, 60);
  assert.match(out.text, /\r\x1b\[2Kdetect: 2\/10 {2}1\.00\/s {2}30\.0 frames\/s {2}ETA 0:08/);
  assert.ok(!out.text.includes('\n'), 'a terminal progress line must not scroll');
  progress.message('a warning', 'warning');
  assert.match(out.text, /\r\x1b\[2K\x1b\[33ma warning\x1b\[0m\n/);
});

test('on a terminal: lines after a stage has finished (its summary, the next stage\'s notes) do not draw its progress line again', () => {
  let now = 0;
  const out = stream(true);
  const progress = new Progress({ stream: out, now: () => now });
  progress.start('diffs', 4);
  now = 1000;
  progress.advance(4, 25);
  progress.finish();
  const atFinish = out.text.length;
  progress.message('diffs: 4 done, 0 skipped (already complete), 0 failed, 25 frames, 1.0 s');
  progress.message('folds: wrote 45 rows');
  const after = out.text.slice(atFinish);
  assert.equal(after, 'diffs: 4 done, 0 skipped (already complete), 0 failed, 25 frames, 1.0 s\nfolds: wrote 45 rows\n');
  progress.start('folds', 1);
  assert.match(out.text.slice(atFinish + after.length), /folds: 0\/1/, 'the next stage draws its own line');
});

test('not a terminal: plain lines, at most one per interval, no escape codes', () => {
  let now = 0;
  const out = stream(false);
  const progress = new Progress({ stream: out, now: () => now, lineInterval: 10 });
  progress.start('crops', 100);
  for (let i = 0; i < 100; i += 1) {
    now += 500;
    progress.advance(1, 3);
  }
  progress.finish();
  const lines = out.text.trimEnd().split('\n');
  assert.ok(!out.text.includes('\x1b'), 'escape codes in a log');
  assert.equal(lines[0], 'crops: 100 to do');
  assert.ok(lines.length >= 5 && lines.length <= 8, `${lines.length} lines for 50 s`);
  assert.match(lines.at(-1)!, /^crops: 100\/100 {2}2\.00\/s/);
});

test('NO_COLOR and --quiet', () => {
  const saved = process.env.NO_COLOR;
  process.env.NO_COLOR = '1';
  try {
    const out = stream(true);
    const progress = new Progress({ stream: out });
    progress.message('plain', 'error');
    assert.ok(!out.text.includes('\x1b[31m'));
  } finally {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  }
  const quiet = stream(false);
  const progress = new Progress({ stream: quiet, quiet: true });
  progress.start('diffs', 3);
  progress.advance(3);
  progress.finish();
  progress.message('diffs: 3 done');
  assert.equal(quiet.text, 'diffs: 3 done\n');
});

test('durations read as m:ss or h:mm:ss', () => {
  assert.equal(formatDuration(75), '1:15');
  assert.equal(formatDuration(3700), '1:01:40');
});
