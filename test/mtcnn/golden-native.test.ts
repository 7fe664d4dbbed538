import { test } from 'node:test';
import { nativeEngineStatus } from '../../src/mtcnn/native-nets.js';
import { inCi } from '../helpers/shared.js';
import { registerGoldenTests } from './golden-parity.js';

// All 18 golden cases on the native engine (ONNX Runtime), at the same tolerances as on wasm. It is an
// optional dependency: outside CI a machine without it skips these with the reason; CI installs it
// with `npm ci`, so there its absence is a failure.
const status = await nativeEngineStatus();
if (status.available) registerGoldenTests('native');
else if (inCi) test('the native MTCNN engine loads in CI', () => { throw new Error(status.reason); });
else test('MTCNN golden cases on native', { skip: `the native engine is not available here: ${status.reason}` }, () => {});
