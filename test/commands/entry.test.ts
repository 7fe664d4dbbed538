import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliPath, scratchDir } from '../helpers/cli.js';

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

test('a CLI that cannot load fails the command, even where unhandled rejections only warn', () => {
  const dir = scratchDir('entry');
  copyFileSync(cliPath, join(dir, 'main.cjs'));
  writeFileSync(join(dir, 'index.js'), "throw new Error('a native module did not load');\n");
  for (const mode of ['strict', 'warn', 'none']) {
    const result = spawnSync(process.execPath, [`--unhandled-rejections=${mode}`, join(dir, 'main.cjs'), '--version'], { encoding: 'utf8' });
    assert.equal(result.status, 1, `--unhandled-rejections=${mode}: ${result.stderr}`);
    assert.match(result.stderr, /a native module did not load/);
  }
});
