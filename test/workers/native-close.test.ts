import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/util/package-root.js';
import { scratchDir } from '../helpers/cli.js';
import { nativeTest } from '../helpers/shared.js';

/**
 * Closing the pool while the native engine computes (a SIGTERM mid-batch) must not crash the process:
 * terminating a worker thread inside an ONNX Runtime run aborts it (SIGABRT), so the pool closes
 * its workers gracefully (src/workers/protocol.ts). A child process closes a 2-worker native pool at
 * a different moment of a detection each time; every one must exit 0.
 */
await nativeTest('closing a native pool mid-detection never aborts the process', () => {
  const script = join(scratchDir('native-close'), 'close.mjs');
  const pool = pathToFileURL(join(packageRoot, 'dist', 'src', 'workers', 'pool.js')).href;
  writeFileSync(
    script,
    `import { TaskPool } from '${pool}';
const frame = () => ({ width: 960, height: 540, data: new Uint8Array(960 * 540 * 3).map((_, i) => (i * 37) % 251) });
const task = { frames: [frame(), frame(), frame()], options: { thresholds: [0.6, 0.7, 0.7], minFaceSize: 20 } };
const pool = new TaskPool('native', 2);
await pool.run('load', {});
const running = [pool.run('faces', task), pool.run('faces', task), pool.run('faces', task)].map((p) => p.catch(() => undefined));
await new Promise((resolve) => setTimeout(resolve, Number(process.argv[2])));
await pool.close();
await Promise.all(running);
`,
  );
  const codes = [0, 20, 45, 70, 100, 140, 190, 250].map((delay) => {
    const run = spawnSync(process.execPath, [script, String(delay)], { encoding: 'utf8' });
    return `${delay} ms: ${run.status ?? run.signal}${run.stderr ? ` ${run.stderr.trim().split('\n')[0]}` : ''}`;
  });
  assert.deepEqual(codes.filter((line) => !/: 0$/.test(line)), [], codes.join('\n'));
});
