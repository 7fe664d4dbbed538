import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/util/package-root.js';
import { scratchDir } from '../helpers/cli.js';
import { inCi, nativeTest } from '../helpers/shared.js';

/**
 * One process opens a native pool per stage (detect, then landmarks), and bench and tests open
 * many. onnxruntime-node 1.16.3's binding corrupts the heap when threads that loaded it come and
 * go (src/mtcnn/ort-binding.ts), so each worker loads a private copy. A child process loads the
 * engine on its main thread, as the CLI does, then opens and closes twelve 2-worker pools in turn,
 * each detecting on one frame; it must exit 0 and print nothing. With every thread loading the
 * installed binding, it aborted in 3 runs of 3 ("free(): invalid pointer", "Check failed:
 * node->IsInUse()").
 */
await nativeTest('native pools opened and closed one after another in one process never corrupt it', () => {
  const script = join(scratchDir('native-pools'), 'pools.mjs');
  const dist = (path: string) => pathToFileURL(join(packageRoot, 'dist', 'src', path)).href;
  writeFileSync(
    script,
    `import { TaskPool } from '${dist('workers/pool.js')}';
import { nativeEngineStatus } from '${dist('mtcnn/native-nets.js')}';
await nativeEngineStatus(); // the main thread loads it too, as the CLI does to resolve --backend auto
const frame = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 3).map((_, i) => (i * 37) % 251) };
const task = { frames: [frame], options: { thresholds: [0.6, 0.7, 0.7], minFaceSize: 20 } };
for (let round = 0; round < 12; round++) {
  const pool = new TaskPool('native', 2);
  await pool.run('load', {});
  await Promise.all([pool.run('faces', task), pool.run('faces', task)]);
  await pool.close();
  const garbage = [];
  for (let i = 0; i < 50000; i++) garbage.push({ i, text: 'x' + i });
}
`,
  );
  const runs = [1, 2, 3].map(() => spawnSync(process.execPath, [script], { encoding: 'utf8' }));
  const failed = runs.filter((run) => run.status !== 0 || run.stderr !== '');
  assert.deepEqual(
    failed.map((run) => `${run.status ?? run.signal}: ${run.stderr.trim().split('\n').slice(0, 3).join(' | ')}`),
    [],
  );
});

/** A script that opens one 2-worker native pool, detects on one frame in each worker, and closes it. */
function onePoolScript(): string {
  const script = join(scratchDir('native-copy'), 'pool.mjs');
  const pool = pathToFileURL(join(packageRoot, 'dist', 'src', 'workers', 'pool.js')).href;
  writeFileSync(
    script,
    `import { TaskPool } from '${pool}';
const frame = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 3).map((_, i) => (i * 37) % 251) };
const task = { frames: [frame], options: { thresholds: [0.6, 0.7, 0.7], minFaceSize: 20 } };
const pool = new TaskPool('native', 2);
await pool.run('load', {});
await Promise.all([pool.run('faces', task), pool.run('faces', task)]);
await pool.close();
`,
  );
  return script;
}

/**
 * The workers' copies of the binding go to the temporary folder, or, where it cannot take them (it
 * is absent, read-only, or mounted noexec as hardened clusters do), to the next place that can;
 * nothing stays behind in any of them, and what a process killed while loading left is removed.
 */
await nativeTest('the native engine loads in workers whatever the temporary folder is, and leaves no copy in it', (t) => {
  const script = onePoolScript();
  const run = (tmp: string) => spawnSync(process.execPath, [script], { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp } });

  const absent = join(scratchDir('native-copy-absent'), 'absent');
  const withoutTmp = run(absent);
  assert.equal(withoutTmp.status, 0, withoutTmp.stderr);

  // What a process killed while loading (kill -9 in the milliseconds a copy exists) leaves, beside the
  // copy of a process that still runs (this one): the first is removed by the next load, the second not.
  const tmp = scratchDir('native-copy-tmp');
  const host = hostname().replace(/[^A-Za-z0-9.-]/g, '_');
  const dead = join(tmp, `dfdc-ort-${host}-${2 ** 22 + 4321}-AbCdEf`);
  const live = join(tmp, `dfdc-ort-${host}-${process.pid}-AbCdEf`);
  for (const folder of [dead, live]) {
    mkdirSync(folder);
    writeFileSync(join(folder, 'onnxruntime_binding.node'), 'x');
  }
  const usual = run(tmp);
  assert.equal(usual.status, 0, usual.stderr);
  assert.deepEqual(readdirSync(tmp), [`dfdc-ort-${host}-${process.pid}-AbCdEf`], 'a copy of the binding was left in the temporary folder, or a live one removed');
  assert.ok(existsSync(live) && !existsSync(dead));

  // A noexec mount needs root: in CI (root) it is made and undone here; elsewhere without root, skipped.
  const noexec = join(scratchDir('native-copy-noexec'), 'mnt');
  mkdirSync(noexec);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'noexec,size=64m', 'dfdc-test-noexec', noexec], { encoding: 'utf8' });
  if (mounted.status !== 0) {
    if (inCi) assert.fail(`could not mount a noexec tmpfs in CI: ${mounted.stderr.trim()}`);
    t.diagnostic(`the noexec case is skipped: mounting a tmpfs needs root (${mounted.stderr.trim()})`);
    return;
  }
  try {
    const hardened = run(noexec);
    assert.equal(hardened.status, 0, hardened.stderr);
    assert.deepEqual(readdirSync(noexec), [], 'a copy of the binding was left in the noexec folder');
  } finally {
    spawnSync('umount', ['-l', noexec]);
  }
});
