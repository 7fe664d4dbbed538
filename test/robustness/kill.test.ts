import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliEnvironment, cliPath, runCli, runCliStopped, scratchDir } from '../helpers/cli.js';
import { leftTemporaries, listFiles } from '../helpers/compare-images.js';
import { fixturesDir } from '../helpers/shared.js';

/**
 * Kill -9 at several moments of a real run, rerun without --force, and the outputs must equal those
 * of an uninterrupted run byte for byte, with no temporary file left among them.
 */
const root = join(fixturesDir, 'sample');
const args = (out: string) => ['run', '--root-dir', root, '--output-dir', out, '--n-splits', '2', '--total-parts', '2', '--quiet', '--all-frames'];

/** Every output file (the state folder's provenance aside) with its bytes. */
function snapshot(out: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const file of listFiles(out)) {
    if (file === 'run-report.json') continue; // timestamps and counts of the last run
    files.set(file, readFileSync(join(out, file)));
  }
  return files;
}

/** Starts a run and kills it with SIGKILL after `delayMs`; resolves once it is gone. */
function runAndKill(out: string, delayMs: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args(out)], { env: cliEnvironment(), stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

test('kill -9 at any moment, rerun, and the outputs equal an uninterrupted run', async () => {
  const scratch = scratchDir('kill');
  const reference = join(scratch, 'uninterrupted');
  const started = Date.now();
  const clean = runCli(args(reference));
  assert.equal(clean.status, 0, clean.stderr);
  const duration = Date.now() - started;
  const expected = snapshot(reference);
  assert.ok(expected.size > 50);

  // Kill points spread over the whole run (start-up, detect, crops, landmarks, diffs, folds), each
  // into the same output folder, so later kills land on a half-resumed state too.
  const out = join(scratch, 'killed');
  const fractions = [0.1, 0.3, 0.45, 0.6, 0.75, 0.9];
  for (const fraction of fractions) await runAndKill(out, Math.round(duration * fraction));
  const rerun = runCli(args(out));
  assert.equal(rerun.status, 0, rerun.stderr);

  const actual = snapshot(out);
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), 'the set of output files differs');
  for (const [file, bytes] of expected) assert.ok(bytes.equals(actual.get(file)!), `${file} differs from the uninterrupted run`);
  // Provenance is shared by shards, so a killed writer's temporary beside it is left alone (until it is old).
  const leftovers = leftTemporaries(out).filter((file) => !file.startsWith('.run-state/provenance/'));
  assert.deepEqual(leftovers, [], 'temporary files left behind');
  // Nor a killed process's claim (on a unit it had completed, which no later run takes again).
  assert.deepEqual(listFiles(join(out, '.run-state', 'claims'), { hidden: true }), [], 'claims of killed processes left behind');
  // The markers say every unit is complete, so a third run does nothing.
  const third = runCli([...args(out), '--json']);
  const summary = JSON.parse(third.stdout) as { stages: Record<string, { done: number }> };
  for (const [stage, counts] of Object.entries(summary.stages)) assert.equal(counts.done, 0, `${stage} redid work`);
});


test('Ctrl-C stops the running units cleanly, exits 130, and a rerun completes the outputs', async () => {
  const scratch = scratchDir('sigint');
  const out = join(scratch, 'out');
  // Without --quiet, so the interrupt can wait for the detect stage to have started.
  const noisy = args(out).filter((arg) => arg !== '--quiet');
  const { status: code, stderr } = await runCliStopped(noisy, { when: 'detect: ', signal: 'SIGINT' });
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted: stopping the units in progress/);
  assert.doesNotMatch(stderr, /\n\s+at /);
  const leftovers = leftTemporaries(out);
  assert.deepEqual(leftovers, [], 'Ctrl-C left temporary files');
  const rerun = runCli(args(out));
  assert.equal(rerun.status, 0, rerun.stderr);
});

test('Ctrl-C twice ends the run at once by the signal itself (no native engine abort), and a rerun completes the outputs', async () => {
  const scratch = scratchDir('sigint-twice');
  const out = join(scratch, 'out');
  const noisy = args(out).filter((arg) => arg !== '--quiet');
  // Mid-detection, while the MTCNN engine (native where it loads) computes in the worker threads.
  const { status, signal, stderr } = await runCliStopped(noisy, { when: 'detect: ', signal: 'SIGINT', againAfterMs: 300 });
  assert.ok(signal === 'SIGINT' || status === 130, `ended by ${signal ?? `exit ${status}`}: ${stderr}`);
  const rerun = runCli(args(out));
  assert.equal(rerun.status, 0, rerun.stderr);
});

/**
 * A scheduler's stop: the signal, then SIGKILL after a grace period. Kubernetes waits 30 s by
 * default; 5 s here, shorter than one 1080p detect unit. The run must be gone before the SIGKILL,
 * with 128 + the signal's number and its report written, and a rerun must equal an uninterrupted run.
 */
for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  test(`${signal} stops the units in progress within a scheduler's grace period, exits ${code}, and a rerun equals an uninterrupted run`, async () => {
    const scratch = scratchDir(`signal-${signal}`);
    const reference = join(scratch, 'uninterrupted');
    assert.equal(runCli(args(reference)).status, 0);
    const out = join(scratch, 'out');
    const noisy = args(out).filter((arg) => arg !== '--quiet');
    const { status, stderr, killedHard } = await runCliStopped(noisy, { when: 'crops: ', signal, killAfterMs: 5000 });
    assert.equal(killedHard, false, `still running 5 s after ${signal}: ${stderr}`);
    assert.equal(status, code, stderr);
    assert.match(stderr, new RegExp(`stopped by ${signal}: stopping the units in progress`));
    assert.ok(JSON.parse(readFileSync(join(out, 'run-report.json'), 'utf8')), 'no report');
    const rerun = runCli(args(out));
    assert.equal(rerun.status, 0, rerun.stderr);
    const expected = snapshot(reference);
    const actual = snapshot(out);
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
    for (const [file, bytes] of expected) assert.ok(bytes.equals(actual.get(file)!), `${file} differs from the uninterrupted run`);
  });
}

test('a closed stderr does not stop the run: the work, the report and the exit code are as usual', () => {
  const scratch = scratchDir('closed-stderr');
  const out = join(scratch, 'out');
  // `dfdc run ... 2>&1 | head -c 1`: the reader goes away after the first byte.
  const result = spawnSync('bash', ['-c', `"${process.execPath}" "${cliPath}" ${args(out).map((arg) => `'${arg}'`).join(' ')} 2>&1 | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`], {
    env: cliEnvironment(),
    encoding: 'utf8',
  });
  assert.equal(result.stdout.trim(), '0', result.stderr);
  const report = JSON.parse(readFileSync(join(out, 'run-report.json'), 'utf8')) as { stages: Record<string, { done: number }> };
  assert.equal(report.stages.diffs?.done, 4);
});

test('the same run started twice at once on one output: no unit is done by both, nothing is lost, and a rerun equals an uninterrupted run', async () => {
  const scratch = scratchDir('double-launch');
  const reference = join(scratch, 'uninterrupted');
  assert.equal(runCli(args(reference)).status, 0);
  const out = join(scratch, 'out');
  const both = await Promise.all([runCliStopped(args(out)), runCliStopped(args(out))]);
  for (const { status, stderr } of both) {
    assert.ok(status === 0 || status === 1, `exit ${status}: ${stderr}`);
    assert.doesNotMatch(stderr, /\n\s+at |ENOENT|this is a bug/, stderr);
  }
  const third = runCli([...args(out), '--json']);
  assert.equal(third.status, 0, third.stderr);
  // A process that exited 0 vouched for every unit: then nothing was left to redo.
  if (both.some(({ status }) => status === 0)) {
    const summary = JSON.parse(third.stdout) as { stages: Record<string, { done: number }> };
    for (const [stage, counts] of Object.entries(summary.stages)) assert.equal(counts.done, 0, `${stage} had units lost by the double launch`);
  }
  const expected = snapshot(reference);
  const actual = snapshot(out);
  assert.deepEqual([...actual.keys()].filter((file) => !file.startsWith('.run-state/claims')).sort(), [...expected.keys()].sort());
  for (const [file, bytes] of expected) assert.ok(bytes.equals(actual.get(file)!), `${file} differs from the uninterrupted run`);
});

test('two runs started at once on one output with other settings: one records its settings, the other stops saying so, and a rerun with the recorded ones equals a clean run', async () => {
  const scratch = scratchDir('double-launch-settings');
  const detect = (out: string, every: string) => ['detect', '--root-dir', root, '--output-dir', out, '--quiet', '--every', every];
  const out = join(scratch, 'out');
  const both = await Promise.all([runCliStopped(detect(out, '10')), runCliStopped(detect(out, '5'))]);
  const stopped = both.filter(({ status }) => status === 3);
  assert.equal(stopped.length, 1, both.map(({ status, stderr }) => `exit ${status}: ${stderr}`).join('\n'));
  assert.match(stopped[0]!.stderr, /another process recorded other settings|made with other settings/);
  const recorded = JSON.parse(readFileSync(join(out, '.run-state', 'provenance', 'detect.json'), 'utf8')) as { settings: { every: number } };
  const every = String(recorded.settings.every);
  assert.equal(runCli(detect(out, every)).status, 0);
  const clean = join(scratch, 'clean');
  assert.equal(runCli(detect(clean, every)).status, 0);
  const expected = snapshot(clean);
  const actual = snapshot(out);
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [file, bytes] of expected) assert.ok(bytes.equals(actual.get(file)!), `${file}: units made with --every ${every === '10' ? 5 : 10} were kept`);
});
