import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDataset } from '../../src/dataset/dataset.js';
import { outputPaths } from '../../src/dataset/output-paths.js';
import { selectVideos } from '../../src/dataset/selection.js';
import { cliEnvironment, cliPath, runCli, scratchDir } from '../helpers/cli.js';
import { listFiles } from '../helpers/compare-images.js';
import { copySampleRoot } from '../helpers/data-root.js';
import { SlurmCluster, slurmClusterMissing, type JobTask } from '../helpers/slurm.js';

/**
 * The README's Slurm recipe on a real single-node cluster (munged, slurmctld, slurmd on this
 * machine): a 3-task array job `dfdc run --shard-count 3` into one output folder, then `dfdc folds`,
 * gives every output file of one unsharded `dfdc run` byte for byte; then shard 1's outputs are
 * deleted and only task 1 is rerun, `sbatch --array=1` with DFDC_SHARD_COUNT=3 (the shard index is
 * the task's own SLURM_ARRAY_TASK_ID, the count comes from DFDC_SHARD_COUNT), which redoes exactly
 * shard 1 and touches no other shard's files. Needs root and Debian's slurm-wlm and munge (.ci/run
 * installs them); elsewhere it is skipped with the reason, and with CI=true it fails instead.
 */

const inCi = process.env.CI === 'true' || process.env.CI === '1';
const missing = slurmClusterMissing() ?? (existsSync(cliPath) ? undefined : `${cliPath} is absent: build first (npm run build)`);
const JOB_TIMEOUT_MS = 75_000;
const SHARDS = 3;

/** Variables a scheduler may have set around this test (run inside a job, say): none reaches the runs or the jobs. */
const noScheduler: NodeJS.ProcessEnv = Object.fromEntries(
  Object.keys(process.env)
    .filter((name) => /^(SLURM_|SBATCH_|SALLOC_|SRUN_)/.test(name) || ['JOB_COMPLETION_INDEX', 'AWS_BATCH_JOB_ARRAY_INDEX', 'DFDC_SHARD_COUNT'].includes(name))
    .map((name) => [name, undefined]),
);

let cluster: SlurmCluster | undefined;

after(async () => {
  await cluster?.stop();
});

const title = `a Slurm array job of ${SHARDS} shards, then folds, equals an unsharded run; rerunning task 1 alone (--array=1, DFDC_SHARD_COUNT=${SHARDS}) redoes exactly shard 1`;

test(title, missing && !inCi ? { skip: missing } : { timeout: 150_000 }, async (t) => {
  if (missing) throw new Error(`CI=true, and the Slurm cluster test cannot run: ${missing}`);
  const started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const scratch = scratchDir('slurm');
  const root = await copySampleRoot(mkdir(join(scratch, 'root')));
  const reference = join(scratch, 'reference');
  const out = join(scratch, 'out');
  const logs = mkdir(join(scratch, 'logs'));

  const plain = runCli(['run', '--root-dir', root, '--output-dir', reference, '--quiet'], { env: noScheduler });
  assert.equal(plain.status, 0, `the unsharded run failed: ${plain.stderr}`);
  const expected = outputs(reference);
  for (const folder of ['boxes/', 'crops/', 'landmarks/', 'diffs/']) assert.ok(expected.some((file) => file.startsWith(folder)), `the unsharded run wrote no ${folder}`);
  assert.ok(expected.includes('folds.csv'), 'the unsharded run wrote no folds.csv');
  t.diagnostic(`unsharded reference: ${expected.length} files, ${seconds()}`);

  cluster = await SlurmCluster.start(cliEnvironment(noScheduler));
  t.diagnostic(`cluster up (node ${cluster.node} idle): ${seconds()}`);

  // The README's job script: the shard index is the task's own; the count is passed by sbatch's
  // arguments (--shard-count) or DFDC_SHARD_COUNT.
  const script = join(scratch, 'prep.sh');
  writeFileSync(
    script,
    `#!/bin/sh\nexec ${[process.execPath, cliPath, 'run', '--root-dir', root, '--output-dir', out, '--quiet'].map(quote).join(' ')} "$@"\n`,
    { mode: 0o755 },
  );
  const sbatch = (array: string, extra: readonly string[], args: readonly string[]) =>
    cluster!.submit([`--array=${array}`, '--job-name=dfdc-prep', `--chdir=${scratch}`, `--output=${join(logs, '%A_%a.out')}`, ...extra, script, ...args]);

  // 1. The whole array, the count on the command line.
  const job = sbatch(`0-${SHARDS - 1}`, [], ['--shard-count', String(SHARDS)]);
  const tasks = await cluster.wait(job, JOB_TIMEOUT_MS);
  assertCompleted(tasks, Array.from({ length: SHARDS }, (_, i) => i), job, logs);
  t.diagnostic(`array job ${job} (tasks 0-${SHARDS - 1}) done: ${seconds()}`);
  assert.deepEqual(
    listFiles(out).filter((file) => file.startsWith('run-report')),
    Array.from({ length: SHARDS }, (_, i) => `run-report.shard-${i}-of-${SHARDS}.json`),
    'each task writes its own report',
  );
  assert.ok(!existsSync(join(out, 'folds.csv')), 'a shard wrote folds.csv');
  folds(root, out);
  assertSameFiles(reference, out, 'after the array job and folds');

  // 2. Shard 1's outputs, as the data set and the selection say (DFDC: by original, with its FAKEs), are lost.
  const dirs = { rootDir: root, outputDir: out, cropsDir: join(out, 'crops') };
  const shard1 = selectVideos(await loadDataset(dirs), { shard: { index: 1, count: SHARDS } });
  assert.ok(shard1.reals.length > 0, 'the sample gives shard 1 of 3 no video: the rerun would prove nothing');
  const paths = outputPaths(dirs);
  const lost = [
    ...shard1.reals.flatMap((real) => [paths.boxesFile(real.id), paths.cropDir(real.id), paths.landmarksDirOf(real.id)]),
    ...shard1.fakes.flatMap((fake) => [paths.cropDir(fake.id), paths.diffDir(fake.id)]),
    join(out, 'folds.csv'),
  ];
  const before = new Set(outputs(out));
  for (const path of lost) rmSync(path, { recursive: true, force: true });
  const kept = new Map(outputs(out).map((file) => [file, statSync(join(out, file), { bigint: true }).mtimeNs]));
  const deleted = [...before].filter((file) => !kept.has(file));
  for (const folder of ['boxes/', 'crops/', 'landmarks/']) assert.ok(deleted.some((file) => file.startsWith(folder)), `shard 1 had nothing in ${folder} to delete`);
  t.diagnostic(`deleted shard 1's ${deleted.length} files (${shard1.videos.map((video) => video.id).join(', ')}); ${kept.size} other files kept`);
  const deletedAt = Date.now();

  // 3. Only task 1 again, as the README says: its index is SLURM_ARRAY_TASK_ID=1 (though it is the
  // array's only task), its count DFDC_SHARD_COUNT (no --shard-count on its command line).
  const rerun = sbatch('1', [`--export=ALL,DFDC_SHARD_COUNT=${SHARDS}`], []);
  const rerunTasks = await cluster.wait(rerun, JOB_TIMEOUT_MS);
  assertCompleted(rerunTasks, [1], rerun, logs);
  t.diagnostic(`rerun job ${rerun} (task 1) done: ${seconds()}`);
  const report = JSON.parse(readFileSync(join(out, `run-report.shard-1-of-${SHARDS}.json`), 'utf8')) as {
    startedAt: string;
    shard: { index: number; count: number };
    stages: Record<'detect' | 'crops', { done: number; skipped: number }>;
  };
  const rewritten = listFiles(out)
    .filter((file) => file.startsWith('run-report') && statSync(join(out, file)).mtimeMs >= deletedAt)
    .join(', ');
  assert.ok(Date.parse(report.startedAt) >= deletedAt - 1000, `the rerun of task 1 did not write run-report.shard-1-of-${SHARDS}.json; it wrote ${rewritten || 'no report'} (a shard index other than SLURM_ARRAY_TASK_ID?)`);
  assert.deepEqual(report.shard, { index: 1, count: SHARDS });
  assert.deepEqual(
    { detect: report.stages.detect.done, crops: report.stages.crops.done },
    { detect: shard1.reals.length, crops: shard1.videos.length },
    "the rerun did not redo exactly shard 1's videos",
  );
  const touched = [...kept].filter(([file, mtime]) => statSync(join(out, file), { bigint: true }).mtimeNs !== mtime).map(([file]) => file);
  assert.deepEqual(touched, [], "the rerun of task 1 rewrote other shards' files");
  folds(root, out);
  assertSameFiles(reference, out, 'after the rerun of task 1 and folds');
  t.diagnostic(`total: ${seconds()}`);
});

function mkdir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A word for sh: single-quoted. */
function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The files compared: every output of the stages and folds.csv (not the run reports nor .run-state). */
function outputs(dir: string): string[] {
  return listFiles(dir).filter((file) => /^(boxes|crops|landmarks|diffs)\//.test(file) || file === 'folds.csv');
}

function folds(root: string, out: string): void {
  const result = runCli(['folds', '--root-dir', root, '--output-dir', out, '--quiet'], { env: noScheduler });
  assert.equal(result.status, 0, `dfdc folds failed: ${result.stderr}`);
}

function assertCompleted(tasks: readonly JobTask[], ids: readonly number[], job: string, logs: string): void {
  const shown = tasks.map((task) => `task ${task.taskId}: ${task.state} ${task.exitCode}`).join('; ');
  const output = listFiles(logs)
    .filter((file) => file.startsWith(`${job}_`))
    .map((file) => `--- ${file}:\n${readFileSync(join(logs, file), 'utf8').trimEnd()}`)
    .join('\n');
  assert.deepEqual(
    tasks.map((task) => ({ taskId: task.taskId, state: task.state, exitCode: task.exitCode })),
    ids.map((taskId) => ({ taskId, state: 'COMPLETED', exitCode: '0:0' })),
    `job ${job}: ${shown}\n${output}\n${cluster?.logs() ?? ''}`,
  );
}

function assertSameFiles(expectedDir: string, actualDir: string, when: string): void {
  const want = outputs(expectedDir);
  const got = outputs(actualDir);
  assert.deepEqual(
    { missing: want.filter((file) => !got.includes(file)), extra: got.filter((file) => !want.includes(file)) },
    { missing: [], extra: [] },
    `${when}: the sharded output's files are not the unsharded run's`,
  );
  const differ = want.filter((file) => !readFileSync(join(expectedDir, file)).equals(readFileSync(join(actualDir, file))));
  assert.deepEqual(differ, [], `${when}: files differ from the unsharded run's`);
}
