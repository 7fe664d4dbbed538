import assert from 'node:assert/strict';
import { loadNativeNetworks } from '../../src/mtcnn/native-nets.js';
import { loadMtcnnWeights } from '../../src/mtcnn/weights.js';
import { nativeTest } from '../helpers/shared.js';

/**
 * The native engine hands the binding's output arrays to the detector without copying them
 * (src/mtcnn/native-nets.ts): that is only right while each run's output is memory of its own,
 * which later runs do not overwrite. Checked on R-Net, whose outputs are small enough to compare.
 */
await nativeTest("a native network's output stays as it was after later runs", async () => {
  const nets = await loadNativeNetworks(loadMtcnnWeights());
  const input = (seed: number) => Float32Array.from({ length: 3 * 24 * 24 * 3 }, (_, i) => Math.sin(i * seed) * 0.9);
  const first = await nets.rnet(input(1), 3);
  const kept = Float32Array.from(first);
  for (let k = 2; k < 8; k++) await nets.rnet(input(k), 3);
  assert.deepEqual(first, kept);
  assert.notDeepEqual(await nets.rnet(input(2), 3), kept);
  await nets.dispose();
});
