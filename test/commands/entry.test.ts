import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { cliPath } from '../helpers/cli.js';

/**
 * The `dfdc` command (src/cli/main.cts) sizes libuv's thread pool before the CLI's modules load
 * (the ES module loader starts the pool, which then keeps its size): checked by what the variable
 * holds in the process once the CLI has run, in a fresh process with and without a user value.
 */
function poolSizeAfterRun(env: NodeJS.ProcessEnv): string {
  const script = `process.argv = [process.execPath, ${JSON.stringify(cliPath)}, '--version']; require(${JSON.stringify(cliPath)}); process.on('exit', () => console.error('pool=' + process.env.UV_THREADPOOL_SIZE));`;
  const result = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^\d+\.\d+\.\d+/);
  return /pool=(\S+)/.exec(result.stderr)?.[1] ?? '(none)';
}

test('dfdc sizes libuv\'s thread pool to the host\'s CPUs (at least 4) before loading, and keeps a size the user set', () => {
  const env = { ...process.env };
  delete env.UV_THREADPOOL_SIZE;
  assert.equal(poolSizeAfterRun(env), String(Math.max(4, availableParallelism())));
  assert.equal(poolSizeAfterRun({ ...env, UV_THREADPOOL_SIZE: '7' }), '7');
});
