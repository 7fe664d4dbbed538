import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../src/workers/pool.js';
import { FatalError, UnitError } from '../../src/util/errors.js';
import { packageRoot } from '../../src/util/package-root.js';
import { scratchDir } from '../helpers/cli.js';

/**
 * The worker pool and its protocol, with a throw-away worker module built on serveTasks: tasks come
 * back to their caller, and an error thrown in a worker comes back with its kind and errno fields,
 * so a full disk seen in a worker stops the run exactly as in the main thread.
 */
const dist = (...parts: string[]) => pathToFileURL(join(packageRoot, 'dist', 'src', ...parts)).href;
const scratch = scratchDir('pool');
const workerFile = join(scratch, 'worker.mjs');
const closedLog = join(scratch, 'closed.log');
writeFileSync(
  workerFile,
  `import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { serveTasks } from '${dist('workers', 'protocol.js')}';
import { FatalError, UnitError } from '${dist('util', 'errors.js')}';
serveTasks(async (task) => {
  if (task === 'fail') throw new Error('this task failed');
  if (task === 'unit') throw new UnitError('/out/crops/x/0_0.png: not a readable image (libpng read error)', { file: '/out/crops/x/0_0.png' });
  if (task === 'fatal') throw new FatalError('no space left to write in /out/crops/x (ENOSPC)');
  if (task === 'errno') throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: '/out/a' });
  if (task === 'die') process.exit(7);
  await new Promise((resolve) => setTimeout(resolve, task === 'slow' ? 300 : 20));
  if (task === 'slow') appendFileSync(${JSON.stringify(closedLog)}, 'slow task finished\\n');
  return { result: { task, threadId } };
}, async () => {
  appendFileSync(${JSON.stringify(closedLog)}, 'engine freed\\n');
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

test('an error crosses the thread with its kind, file and errno fields; the worker takes the next task', async () => {
  const pool = new WorkerPool(pathToFileURL(workerFile), { size: 1 });
  try {
    await assert.rejects(pool.run('fail'), (error: unknown) => error instanceof Error && !(error instanceof FatalError) && error.message === 'this task failed');
    await assert.rejects(pool.run('unit'), (error: unknown) => error instanceof UnitError && error.file === '/out/crops/x/0_0.png');
    await assert.rejects(pool.run('fatal'), (error: unknown) => error instanceof FatalError && /ENOSPC/.test(error.message));
    await assert.rejects(pool.run('errno'), (error: unknown) => {
      const errno = error as NodeJS.ErrnoException;
      return errno.code === 'ENOSPC' && errno.syscall === 'write' && errno.path === '/out/a';
    });
    assert.equal(await pool.run<{ task: string }>('next').then((r) => r.task), 'next');
  } finally {
    await pool.close();
  }
});

test('a worker that dies fails the pool with one FatalError, so a stage stops once', async () => {
  const pool = new WorkerPool(pathToFileURL(workerFile), { size: 1 });
  try {
    const dying = pool.run('die');
    const queued = pool.run('after');
    await assert.rejects(dying, (error: unknown) => error instanceof FatalError && /worker thread failed/.test(error.message));
    await assert.rejects(queued, FatalError);
    await assert.rejects(pool.run('later'), FatalError);
  } finally {
    await pool.close();
  }
});

test('close lets the task in progress finish, frees the engine, then the thread exits; queued tasks are refused', async () => {
  writeFileSync(closedLog, '');
  const pool = new WorkerPool(pathToFileURL(workerFile), { size: 1 });
  const slow = pool.run<{ task: string }>('slow');
  const queued = pool.run('queued');
  const refused = assert.rejects(queued, /pool is closed/);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await pool.close();
  assert.equal((await slow).task, 'slow', 'the task in progress answered');
  await refused;
  assert.equal(readFileSync(closedLog, 'utf8'), 'slow task finished\nengine freed\n');
  await pool.close();
});
