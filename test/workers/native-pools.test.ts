import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/util/package-root.js';
import { scratchDir } from '../helpers/cli.js';
import { nativeTest } from '../helpers/shared.js';

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
