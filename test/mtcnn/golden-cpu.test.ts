import { registerGoldenTests } from './golden-parity.js';

// The plain-JS backend is ~30x slower: the small images only (the stage-3 crop and the two DFDC half frames).
registerGoldenTests('cpu', (name) => name.startsWith('crop_realvideoa') || name.startsWith('realvideoa_frame'));
