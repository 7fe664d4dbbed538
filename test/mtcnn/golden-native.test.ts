import { nativeEngineStatus } from '../../src/mtcnn/native-nets.js';
import { nativeTest } from '../helpers/shared.js';
import { registerGoldenTests } from './golden-parity.js';

// All 18 golden cases on the native engine (ONNX Runtime), at the same tolerances as on wasm. Where it
// does not load, one test says why: skipped outside CI, failed in CI (which installs it).
if ((await nativeEngineStatus()).available) registerGoldenTests('native');
else await nativeTest('MTCNN golden cases on native', () => {});
