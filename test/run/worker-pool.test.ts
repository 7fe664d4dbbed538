import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../src/run/worker-pool.js';
import { DfdcError } from '../../src/util/errors.js';
import { packageRoot } from '../../src/util/package-root.js';

/** A throw-away worker module built on serveTasks: echoes, fails, or kills its thread on request. */
const scratch = mkdtempSync(join(tmpdir(), 'dfdc-pool-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const protocol = pathToFileURL(join(packageRoot, 'dist', 'src', 'run', 'worker-protocol.js')).href;
const workerFile = join(scratch, 'worker.mjs');
writeFileSync(
  workerFile,
  `import { threadId } from 'node:worker_threads';
import { serveTasks } from '${protocol}';
serveTasks(async (task) => {
  if (task === 'fail') throw new Error('this task failed');
  if (task === 'run-fail') { const e = new Error('disk full'); e.name = 'DfdcError'; throw e; }
  if (task === 'die') process.exit(7);
  await new Promise((resolve) => setTimeout(resolve, 20));
  return { result: { task, threadId } };
});
`,
);

test('tasks run on every worker and come back to their caller', async () => {
  const pool = new WorkerPool(pathToFileURL(workerFile), { size: 2 });
  try {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => pool.run<{ task: number; threadId: number }>(i)));
    assert.deepEqual(results.map((r) => r.task), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(new Set(results.map((r) => r.threadId)).size, 2, 'both workers took tasks');
  } finally {
    await pool.close();
  }
});

test('a failing task rejects only itself; a DfdcError keeps its class', async () => {
  const pool = new WorkerPool(pathToFileURL(workerFile), { size: 1 });
  try {
    await assert.rejects(pool.run('fail'), /this task failed/);
    await assert.rejects(pool.run('run-fail'), (error: unknown) => error instanceof DfdcError);
    assert.deepEqual(await pool.run<{ task: string }>('next').then((r) => r.task), 'next');
  } finally {
    await pool.close();
  }
});

test('a worker that dies fails the pool with one DfdcError, so a stage stops once', async () => {
  const pool = new WorkerPool(pathToFileURL(workerFile), { size: 1 });
  try {
    const dying = pool.run('die');
    const queued = pool.run('after');
    await assert.rejects(dying, (error: unknown) => error instanceof DfdcError && /worker thread failed/.test(error.message));
    await assert.rejects(queued, DfdcError);
    await assert.rejects(pool.run('later'), DfdcError);
  } finally {
    await pool.close();
  }
});
