import type { MtcnnNetworks } from './engine.js';
import { FatalError } from '../util/errors.js';
import type { NetName } from './onnx-graph.js';
import { loadOrtBinding, type BindingSession } from './ort-binding.js';
import type { MtcnnWeights } from './weights.js';

/**
 * The native engine: P-Net, R-Net and O-Net as ONNX models (onnx-graph.ts) on ONNX Runtime's CPU
 * execution provider, through onnxruntime-node, an optional dependency (README "Why each
 * dependency"). Its kernels (MLAS) pick the CPU's widest vector instructions at run time, which
 * 128-bit WebAssembly SIMD cannot. One session per network and thread, each with one intra-op
 * thread: dfdc's worker threads are the parallelism (measured faster than ONNX Runtime's own threads
 * on these small networks, docs/mtcnn.md §14), and a sum computed by one thread in one order is
 * the same whatever the worker count, so outputs are byte-identical for any --workers.
 */

export interface NativeEngineStatus {
  available: boolean;
  /** e.g. `ONNX Runtime 1.16.3 (onnxruntime-node), CPU` */
  description: string;
  /** Why it is not available. */
  reason: string;
}

/** Whether the native engine loads in this process, and what it is. */
export async function nativeEngineStatus(): Promise<NativeEngineStatus> {
  const load = loadOrtBinding();
  return load.binding
    ? { available: true, description: `ONNX Runtime ${load.version} (onnxruntime-node), CPU`, reason: '' }
    : { available: false, description: '', reason: load.reason };
}

/**
 * No memory pattern: with it, ONNX Runtime plans one block for all of a run's tensors per input
 * shape and keeps it in its arena, and P-Net sees a new shape at every pyramid level and batch
 * count. Without it a 2-worker `dfdc detect` of a 1080p clip peaked at 0.80 GB instead of 1.01 GB,
 * at the same speed (docs/mtcnn.md §14). Memory planning does not change any sum: same bytes.
 */
const sessionOptions = {
  executionProviders: ['cpu'],
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  enableMemPattern: false,
};

class NativeNetworks implements MtcnnNetworks {
  constructor(private readonly sessions: Record<NetName, BindingSession>) {}

  private async run(net: NetName, input: Float32Array, shape: readonly number[]): Promise<{ values: Float32Array; dims: readonly number[] }> {
    const { output } = this.sessions[net].run({ input: { type: 'float32', dims: shape, data: input } }, { output: null });
    // The binding copies the output into a fresh ArrayBuffer of its own size: the caller may keep it.
    return { values: output!.data, dims: output!.dims };
  }

  async pnet(input: Float32Array, shape: readonly [number, number, number, number]) {
    const { values, dims } = await this.run('pnet', input, shape);
    return { values, outHeight: dims[1]!, outWidth: dims[2]! };
  }

  async rnet(input: Float32Array, count: number): Promise<Float32Array> {
    return (await this.run('rnet', input, [count, 24, 24, 3])).values;
  }

  async onet(input: Float32Array, count: number): Promise<Float32Array> {
    return (await this.run('onet', input, [count, 48, 48, 3])).values;
  }

  /** The binding frees a session when it is collected; it has no call for it. */
  async dispose(): Promise<void> {}
}

/** One line for a `--backend native` that cannot load, with the fix its reason calls for. */
function nativeUnavailable(reason: string): FatalError {
  const installed = !/is not installed|has no library for/.test(reason);
  return new FatalError(
    installed
      ? `the native MTCNN engine cannot load (${reason}); use --backend wasm, which needs nothing else`
      : `the native MTCNN engine cannot load (${reason}); use --backend wasm, which needs nothing else, or reinstall dfdc with its optional dependency onnxruntime-node`,
  );
}

/** The three networks on ONNX Runtime, or one clear line when it cannot load. */
export async function loadNativeNetworks(weights: MtcnnWeights): Promise<MtcnnNetworks> {
  const load = loadOrtBinding();
  if (!load.binding) throw nativeUnavailable(load.reason);
  const { InferenceSession } = load.binding;
  // Imported here: its protobuf writer is only needed to build the models, not to say whether the engine loads.
  const { mtcnnOnnxModel } = await import('./onnx-graph.js');
  const create = (net: NetName): BindingSession => {
    const model = mtcnnOnnxModel(weights, net);
    const session = new InferenceSession();
    session.loadModel(model.buffer, model.byteOffset, model.byteLength, sessionOptions);
    return session;
  };
  try {
    return new NativeNetworks({ pnet: create('pnet'), rnet: create('rnet'), onet: create('onet') });
  } catch (error) {
    throw nativeUnavailable(`ONNX Runtime refused the MTCNN models: ${(error as Error).message.split('\n')[0]}`);
  }
}
