import { tfjsBackendNames, useBackend, type TfjsBackendName } from '../tfjs/backend.js';
import { loadNativeNetworks, nativeEngineStatus } from './native-nets.js';
import type { MtcnnWeights } from './weights.js';

/**
 * The engines MTCNN's three networks can run on, behind one interface (MtcnnNetworks):
 * - `native`: ONNX Runtime's CPU kernels (onnxruntime-node, an optional dependency), which use the
 *   CPU's full vector width (AVX2, AVX-512, NEON); see native-nets.ts;
 * - `wasm`, `cpu`, `tensorflow`: TF.js backends (src/tfjs/backend.ts);
 * - `auto` (the default): `native` where it loads, else `wasm`.
 * Engines agree only within float noise (docs/mtcnn.md §14), so the engine a run resolves to is a
 * setting that shapes outputs: provenance records and compares it.
 */

export const backendChoices = ['auto', 'native', ...tfjsBackendNames] as const;
/** What `--backend` accepts. */
export type BackendChoice = (typeof backendChoices)[number];
/** What a run actually uses, once `auto` is resolved. */
export type MtcnnBackend = Exclude<BackendChoice, 'auto'>;

/** A network's raw output: rows of logits and regressions (see nets.ts for the columns). */
export interface MtcnnNetworks {
  /** `[B, H, W, 3]` normalized pyramid level -> `[B, Ho, Wo, 6]`. */
  pnet(input: Float32Array, shape: readonly [number, number, number, number]): Promise<{ values: Float32Array; outHeight: number; outWidth: number }>;
  /** `[N, 24, 24, 3]` -> `[N, 6]`. */
  rnet(input: Float32Array, count: number): Promise<Float32Array>;
  /** `[N, 48, 48, 3]` -> `[N, 16]`. */
  onet(input: Float32Array, count: number): Promise<Float32Array>;
  /** Frees the engine's weights and buffers. */
  dispose(): Promise<void>;
}

/** `auto` -> `native` where onnxruntime-node loads on this machine, else `wasm`; other choices as they are. */
export async function resolveBackend(choice: BackendChoice): Promise<MtcnnBackend> {
  if (choice !== 'auto') return choice;
  return (await nativeEngineStatus()).available ? 'native' : 'wasm';
}

/** The engine `--backend auto` would use here, in words, for `--help` and the run's first lines. */
export async function describeAutoBackend(): Promise<string> {
  const status = await nativeEngineStatus();
  return status.available ? `native (${status.description})` : `wasm (the native engine is not available: ${status.reason})`;
}

/** The networks on `backend`, with `weights` (per thread: each worker loads its own). */
export async function loadNetworks(backend: MtcnnBackend, weights: MtcnnWeights): Promise<MtcnnNetworks> {
  if (backend === 'native') return loadNativeNetworks(weights);
  await useBackend(backend as TfjsBackendName);
  // Imported here: it loads TF.js, which a run on the native engine never needs.
  const { TfjsNetworks } = await import('./nets.js');
  return new TfjsNetworks(weights);
}
