import { registerGoldenTests } from './golden-parity.js';

// All 18 golden cases on the default backend.
registerGoldenTests('wasm');
